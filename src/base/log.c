#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/text.h"

/* Bytes of log lines waiting for a reader that is slow or gone: past it,
 * whole lines are dropped (and counted), never the server stopped. */
#define LOG_QUEUE_MAX (256 * 1024)
/* A message, as formatted; longer ones are cut. */
#define LOG_MESSAGE_MAX 1024
/* A whole line: the message escaped for JSON (a byte may take six), the
 * time, level and fields. */
#define LOG_LINE_MAX (LOG_MESSAGE_MAX * 6 + 512)

enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const char *const format_names[] = { "text", "json" };

/* How lines reach the reader. */
enum log_sink {
	SINK_DIRECT,   /* write(2) to stderr as it is: before log_open, a regular file */
	SINK_OWN_FD,   /* a non-blocking descriptor of our own on stderr's pipe or tty
	                * (fd 2 itself, made non-blocking, when /proc is not there) */
	SINK_SOCKET,   /* stderr is a socket (journald's): send with MSG_DONTWAIT */
};

/* Everything below is the log's, under lock: a line may come from any
 * thread (today only the loop's logs; the workers' and the store writer's
 * results are logged by the loop). */
static struct {
	pthread_mutex_t lock;
	enum log_format format;
	enum log_sink sink;
	int fd;                        /* where lines go */
	char q[LOG_QUEUE_MAX];         /* a ring of bytes not written yet */
	size_t head, len;
	unsigned long dropped;         /* whole lines not queued since the last note */
} lg = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = STDERR_FILENO };

/* The index of name in names (n of them), or -1. */
static int
name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	int i = name_index(level_names, sizeof level_names / sizeof level_names[0], name);
	if (i < 0)
		return -1;
	*out = (enum log_level)i;
	return 0;
}

int
log_format_parse(const char *name, enum log_format *out)
{
	int i = name_index(format_names, sizeof format_names / sizeof format_names[0], name);
	if (i < 0)
		return -1;
	*out = (enum log_format)i;
	return 0;
}

void
log_set_format(enum log_format format)
{
	pthread_mutex_lock(&lg.lock);
	lg.format = format;
	pthread_mutex_unlock(&lg.lock);
}

/* Escaping. */

/* Appends n bytes of s to out (cap) at *at, or nothing when they do not
 * all fit (with the NUL): a character is never cut. */
static int
put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
	if (*at + n + 1 > cap)
		return -1;
	memcpy(out + *at, s, n);
	*at += n;
	return 0;
}

size_t
log_json_escape(char *out, size_t cap, const char *s)
{
	size_t at = 0;
	if (cap == 0)
		return 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p != '\0') {
		char esc[8];
		size_t len;
		unsigned char lo, hi;
		int rc;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			rc = put(out, cap, &at, esc, 2);
			len = 1;
		} else if (*p < 0x20 || *p == 0x7F) {
			const char *named = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" :
			    *p == '\r' ? "\\r" : NULL;
			if (named == NULL)
				snprintf(esc, sizeof esc, "\\u%04x", *p);
			rc = put(out, cap, &at, named ? named : esc, strlen(named ? named : esc));
			len = 1;
		} else if (*p < 0x80) {
			rc = put(out, cap, &at, (const char *)p, 1);
			len = 1;
		} else if (!utf8_lead(*p, &len, &lo, &hi) || p[1] < lo || p[1] > hi ||
		    (len > 2 && (p[2] < 0x80 || p[2] > 0xBF)) ||
		    (len > 3 && (p[3] < 0x80 || p[3] > 0xBF))) {
			/* Not UTF-8 (a NUL ends the checks above, being < 0x80). */
			rc = put(out, cap, &at, "\\ufffd", 6);
			len = 1;
		} else if (len == 2 && p[0] == 0xC2 && p[1] <= 0x9F) {
			/* A C1 control: valid, but a terminal may act on it. */
			snprintf(esc, sizeof esc, "\\u%04x", p[1]);
			rc = put(out, cap, &at, esc, 6);
		} else
			rc = put(out, cap, &at, (const char *)p, len);
		if (rc < 0)
			break;
		p += len;
	}
	out[at] = '\0';
	return at;
}

/* Lines in either format. */

/* The line for a message into out (LOG_LINE_MAX): its length. */
static size_t
format_line(char *out, enum log_format format, enum log_level level,
    const struct log_about *about, const char *message)
{
	char when[48], stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when, sizeof when, "%s.%03ldZ", stamp, ts.tv_nsec / 1000000L);
	int n;
	if (format == LOG_JSON) {
		char msg[LOG_MESSAGE_MAX * 6 + 1], addr[256], fields[320] = "";
		log_json_escape(msg, sizeof msg, message);
		if (about != NULL) {
			int k = snprintf(fields, sizeof fields, ",\"conn\":%llu",
			    (unsigned long long)about->conn);
			if (about->addr != NULL && k > 0) {
				log_json_escape(addr, sizeof addr, about->addr);
				snprintf(fields + k, sizeof fields - (size_t)k, ",\"addr\":\"%s\"", addr);
			}
		}
		n = snprintf(out, LOG_LINE_MAX, "{\"time\":\"%s\",\"level\":\"%s\"%s,\"msg\":\"%s\"}\n",
		    when, level_names[level], fields, msg);
	} else {
		/* Lines hold what clients sent (an OPER name, a KILL reason): an
		 * escape sequence in them must not reach the terminal of
		 * whoever reads the log. Control characters become '?'. */
		char msg[LOG_MESSAGE_MAX];
		snprintf(msg, sizeof msg, "%s", message);
		for (unsigned char *p = (unsigned char *)msg; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7F)
				*p = '?';
			else if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
				p[0] = p[1] = '?';
		char conn[32] = "";
		if (about != NULL)
			snprintf(conn, sizeof conn, "conn=%llu ", (unsigned long long)about->conn);
		n = snprintf(out, LOG_LINE_MAX, "%s %s %s%s\n", when, level_names[level], conn, msg);
	}
	if (n < 0)
		return 0;
	if ((size_t)n >= LOG_LINE_MAX) {
		out[LOG_LINE_MAX - 2] = '\n';
		return LOG_LINE_MAX - 1;
	}
	return (size_t)n;
}

/* Writing, under lg.lock. */

/* One write without waiting: bytes taken, 0 when none could be now, -1
 * when the reader is gone for good (what is queued is then dropped). */
static ssize_t
sink_write(const char *s, size_t n)
{
	ssize_t w;
	do {
		if (lg.sink == SINK_SOCKET)
			w = send(lg.fd, s, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(lg.fd, s, n);
	} while (w < 0 && errno == EINTR);
	if (w >= 0)
		return w;
	return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
}

static void
queue_put(const char *s, size_t n)
{
	size_t tail = (lg.head + lg.len) % LOG_QUEUE_MAX;
	size_t first = LOG_QUEUE_MAX - tail < n ? LOG_QUEUE_MAX - tail : n;
	memcpy(lg.q + tail, s, first);
	memcpy(lg.q, s + first, n - first);
	lg.len += n;
}

/* Writes from the queue until it is empty or the fd full. */
static void
queue_write(void)
{
	while (lg.len > 0) {
		size_t run = LOG_QUEUE_MAX - lg.head < lg.len ? LOG_QUEUE_MAX - lg.head : lg.len;
		ssize_t w = sink_write(lg.q + lg.head, run);
		if (w < 0) {
			lg.head = lg.len = 0;
			return;
		}
		if (w == 0)
			return;
		lg.head = (lg.head + (size_t)w) % LOG_QUEUE_MAX;
		lg.len -= (size_t)w;
	}
	lg.head = 0;
}

/* A line goes out now if nothing waits before it, else is queued; whole,
 * or dropped and counted. */
static void
line_out(const char *s, size_t n)
{
	if (lg.len == 0 && lg.dropped == 0) {
		ssize_t w = sink_write(s, n);
		if (w < 0 || (size_t)w == n)
			return;
		s += w;
		n -= (size_t)w;
	}
	if (lg.len + n > LOG_QUEUE_MAX) {
		lg.dropped++;
		return;
	}
	queue_put(s, n);
}

/* Once the queue is empty again, the reader hears what it missed. */
static void
dropped_note(void)
{
	if (lg.dropped == 0 || lg.len > 0)
		return;
	char note[LOG_MESSAGE_MAX], line[LOG_LINE_MAX];
	snprintf(note, sizeof note, "log: %lu lines dropped, its reader did not keep up",
	    lg.dropped);
	size_t n = format_line(line, lg.format, LOG_WARN, NULL, note);
	lg.dropped = 0;
	line_out(line, n);
}

void
log_vmsg(enum log_level level, const struct log_about *about, const char *fmt, va_list ap)
{
	if (level > log_threshold)
		return;
	char message[LOG_MESSAGE_MAX], line[LOG_LINE_MAX];
	vsnprintf(message, sizeof message, fmt, ap);
	pthread_mutex_lock(&lg.lock);
	size_t n = format_line(line, lg.format, level, about, message);
	queue_write();
	dropped_note();
	line_out(line, n);
	pthread_mutex_unlock(&lg.lock);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}

/* The loop's side. */

void
log_open(void)
{
	struct stat st;
	pthread_mutex_lock(&lg.lock);
	if (lg.sink != SINK_DIRECT || fstat(STDERR_FILENO, &st) < 0 || S_ISREG(st.st_mode)) {
		pthread_mutex_unlock(&lg.lock);
		return;
	}
	if (S_ISSOCK(st.st_mode)) {
		lg.sink = SINK_SOCKET;
	} else {
		/* Opening the pipe or terminal again makes a file description
		 * of our own, whose O_NONBLOCK nobody else sees: set on fd 2
		 * itself it would be the shell's or the supervisor's too. */
		int fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		int flags;
		if (fd >= 0) {
			lg.fd = fd;
			lg.sink = SINK_OWN_FD;
		} else if ((flags = fcntl(STDERR_FILENO, F_GETFL)) >= 0 &&
		    fcntl(STDERR_FILENO, F_SETFL, flags | O_NONBLOCK) == 0) {
			/* No /proc (a chroot): the shared description it is. */
			lg.sink = SINK_OWN_FD;
		}
	}
	pthread_mutex_unlock(&lg.lock);
}

int
log_fd(void)
{
	pthread_mutex_lock(&lg.lock);
	int fd = lg.sink == SINK_DIRECT ? -1 : lg.fd;
	pthread_mutex_unlock(&lg.lock);
	return fd;
}

int
log_pending(void)
{
	pthread_mutex_lock(&lg.lock);
	int pending = lg.len > 0 || lg.dropped > 0;
	pthread_mutex_unlock(&lg.lock);
	return pending;
}

void
log_flush(void)
{
	pthread_mutex_lock(&lg.lock);
	queue_write();
	dropped_note();
	queue_write();
	pthread_mutex_unlock(&lg.lock);
}

void
log_close(unsigned wait_ms)
{
	uint64_t until = clock_mono_ms() + wait_ms;
	for (;;) {
		log_flush();
		if (!log_pending())
			break;
		uint64_t now = clock_mono_ms();
		if (now >= until)
			break;
		struct pollfd p = { .fd = log_fd(), .events = POLLOUT };
		if (p.fd < 0 || poll(&p, 1, (int)(until - now)) < 0)
			break;
	}
	pthread_mutex_lock(&lg.lock);
	if (lg.sink == SINK_OWN_FD && lg.fd != STDERR_FILENO)
		close(lg.fd);
	lg.fd = STDERR_FILENO;
	lg.sink = SINK_DIRECT;
	lg.head = lg.len = 0;
	pthread_mutex_unlock(&lg.lock);
}
