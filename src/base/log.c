#include "base/log.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Lines that could not be written at once: the server never waits for
 * its log's reader (a pipe nobody empties would stop everyone), it drops
 * lines and says how many when the reader is back. */
static unsigned long dropped;

/* One write of a whole line (under PIPE_BUF, so a pipe takes it whole or
 * not at all), if stderr can take it now. */
static int
log_put(const char *s, size_t n)
{
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return -1;
	return write(STDERR_FILENO, s, n) == (ssize_t)n ? 0 : -1;
}

/* A line for the log at time stamp; first, if lines were dropped, one
 * that says so. */
static void
log_write(const char *stamp, const char *s, size_t n)
{
	if (dropped > 0) {
		char note[128];
		int k = snprintf(note, sizeof note,
		    "%s warn log: %lu lines dropped, its reader did not keep up\n", stamp, dropped);
		if (log_put(note, (size_t)k) < 0) {
			dropped++;
			return;
		}
		dropped = 0;
	}
	if (log_put(s, n) < 0)
		dropped++;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > log_threshold)
		return;

	char stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

	/* One fprintf per line keeps concurrent writers (tests reading our
	 * stderr) from seeing half lines. */
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* Lines hold what clients sent (an OPER name, a KILL reason): an
	 * escape sequence in them must not reach the terminal of whoever
	 * reads the log. Control characters become '?'. */
	for (unsigned char *p = (unsigned char *)line; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7F)
			*p = '?';
		else if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			p[0] = p[1] = '?';
	char when[48], out[sizeof line + 64];
	snprintf(when, sizeof when, "%s.%03ldZ", stamp, ts.tv_nsec / 1000000L);
	int n = snprintf(out, sizeof out, "%s %s %s\n", when, level_names[level], line);
	if (n > 0)
		log_write(when, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
}
