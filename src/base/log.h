/* One line per event to stderr, with a level. Nothing per message unless
 * the level is debug, so a busy server does not drown its own log.
 *
 * The log never waits for its reader: a line stderr cannot take now waits
 * in a bounded queue (LOG_QUEUE_MAX) that the server's loop writes out
 * when the fd is writable (log_fd, log_pending, log_flush: the loop asks,
 * the log never calls up). Past the bound whole lines are dropped and
 * counted, and once the reader is back one line says how many. */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_TEXT, LOG_JSON };

extern enum log_level log_threshold;

/* What a line is about, when it is about a connection: its id (never
 * reused in a run) and its address, NULL when unknown. */
struct log_about {
	uint64_t conn;
	const char *addr;
};

int log_level_parse(const char *name, enum log_level *out);
int log_format_parse(const char *name, enum log_format *out);
void log_set_format(enum log_format format);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const struct log_about *about, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { if (log_threshold >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

/* From here on stderr is written without ever blocking: a pipe or a
 * terminal through a descriptor of the log's own (non-blocking, so the
 * O_NONBLOCK flag does not reach whoever shares ours), a socket with
 * MSG_DONTWAIT; a regular file as ever. */
void log_open(void);
/* The descriptor to watch for writability while log_pending, or -1 when
 * there is none (a regular file: writes do not wait). */
int log_fd(void);
int log_pending(void);
/* Writes what the fd takes now of the queue (and the dropped lines'
 * count, once it is empty). */
void log_flush(void);
/* At exit: writes what is queued, waiting at most wait_ms for the reader;
 * then the log is stderr again, written at once. */
void log_close(unsigned wait_ms);

/* s as the inside of a JSON string into out (cap bytes, NUL-terminated,
 * cut at a character boundary when it does not fit): quotes, backslashes
 * and control characters escaped, C1 controls too, and each byte that is
 * not valid UTF-8 as U+FFFD. Returns the length written. */
size_t log_json_escape(char *out, size_t cap, const char *s);

#endif
