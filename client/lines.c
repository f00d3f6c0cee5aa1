#include "lines.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void
lines_init(struct lines *l)
{
	l->start = 0;
	l->len = 0;
	l->dropping = 0;
}

static ssize_t
read_fd(void *fd, void *buf, size_t n)
{
	return read(*(int *)fd, buf, n);
}

ssize_t
lines_read(struct lines *l, int fd)
{
	return lines_read_from(l, read_fd, &fd);
}

ssize_t
lines_read_from(struct lines *l, lines_source_fn *fn, void *src)
{
	/* Lines handed out are dead once the caller asks for more bytes, so
	 * the partial line can move to the front and the whole buffer is
	 * free for the rest of it. */
	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->len - l->start);
		l->len -= l->start;
		l->start = 0;
	}
	/* Full means lines not taken yet: reading 0 bytes would look like
	 * the end of the file. */
	if (l->len == sizeof l->buf) {
		errno = ENOBUFS;
		return -1;
	}
	ssize_t n = fn(src, l->buf + l->len, sizeof l->buf - l->len);
	if (n > 0)
		l->len += (size_t)n;
	return n;
}

/* Ends the line of n bytes at p in place: drops a CR before its end and
 * writes the NUL. Returns its length. */
static size_t
line_end(char *p, size_t n)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	p[n] = '\0';
	return n;
}

enum lines_status
lines_next(struct lines *l, char **line, size_t *len)
{
	for (;;) {
		char *p = l->buf + l->start;
		size_t n = l->len - l->start;
		char *lf = memchr(p, '\n', n);

		if (l->dropping) {
			if (lf == NULL) {
				l->start = l->len = 0;
				return LINES_NONE;
			}
			l->start += (size_t)(lf - p) + 1;
			l->dropping = 0;
			continue;
		}
		if (lf == NULL) {
			if (n < sizeof l->buf)
				return LINES_NONE;
			/* A full buffer and no LF: the line cannot fit. */
			l->start = l->len = 0;
			l->dropping = 1;
			return LINES_OVERLONG;
		}
		l->start += (size_t)(lf - p) + 1;
		*len = line_end(p, (size_t)(lf - p));
		if (*len > LINES_MAX)
			return LINES_OVERLONG;
		*line = p;
		return LINES_LINE;
	}
}

enum lines_status
lines_rest(struct lines *l, char **line, size_t *len)
{
	char *p = l->buf + l->start;
	size_t n = l->len - l->start;

	if (l->dropping || n == 0)
		return LINES_NONE;
	l->start = l->len;
	if (n > LINES_MAX)
		return LINES_OVERLONG;
	/* n <= LINES_MAX, so the NUL fits. */
	*len = line_end(p, n);
	*line = p;
	return LINES_LINE;
}
