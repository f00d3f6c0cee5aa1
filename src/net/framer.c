#include "net/framer.h"

#include <stdlib.h>
#include <string.h>

#define FRAMER_MIN_CAP 256

void
framer_init(struct framer *f, size_t max_line, size_t limit)
{
	memset(f, 0, sizeof *f);
	f->max_line = (uint32_t)max_line;
	f->limit = (uint32_t)(limit < max_line + 2 ? max_line + 2 : limit);
}

void
framer_free(struct framer *f)
{
	free(f->buf);
	f->buf = NULL;
	f->start = f->len = f->cap = 0;
}

size_t
framer_held(const struct framer *f)
{
	return f->len - f->start;
}

size_t
framer_room(const struct framer *f)
{
	return f->limit - framer_held(f);
}

/* Makes room for n more bytes, moving held bytes to the front first. */
static int
framer_reserve(struct framer *f, size_t n)
{
	if (f->start > 0) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->start = 0;
	}
	if (f->len + n <= f->cap)
		return 0;
	size_t cap = f->cap ? f->cap : FRAMER_MIN_CAP;
	while (cap < f->len + n)
		cap *= 2;
	if (cap > f->limit)
		cap = f->limit;
	char *buf = realloc(f->buf, cap);
	if (buf == NULL)
		return -1;
	f->buf = buf;
	f->cap = (uint32_t)cap;
	return 0;
}

/* While discarding, drops input up to and including the next LF. Returns
 * how many bytes of data it used. */
static size_t
framer_skip(struct framer *f, const char *data, size_t n)
{
	const char *lf = memchr(data, '\n', n);
	if (lf == NULL)
		return n;
	f->discarding = 0;
	return (size_t)(lf - data) + 1;
}

long
framer_feed(struct framer *f, const char *data, size_t n)
{
	size_t used = 0;
	if (f->discarding)
		used = framer_skip(f, data, n);
	size_t room = framer_room(f);
	size_t take = n - used < room ? n - used : room;
	if (take == 0)
		return (long)used;
	if (framer_reserve(f, take) < 0)
		return -1;
	memcpy(f->buf + f->len, data + used, take);
	f->len += (uint32_t)take;
	return (long)(used + take);
}

void
framer_release_if_empty(struct framer *f)
{
	if (f->start == f->len)
		framer_free(f);
}

enum framer_status
framer_next(struct framer *f, char **line, size_t *len)
{
	size_t held = framer_held(f);
	if (held == 0) {
		framer_release_if_empty(f);
		return FRAMER_EMPTY;
	}
	char *p = f->buf + f->start;
	char *lf = memchr(p, '\n', held);
	if (lf == NULL) {
		/* max_line bytes and a CR may still end well. */
		if (held <= f->max_line + 1)
			return FRAMER_EMPTY;
		f->start = f->len;
		f->discarding = 1;
		framer_release_if_empty(f);
		return FRAMER_OVERLONG;
	}
	size_t n = (size_t)(lf - p);
	f->start += (uint32_t)(n + 1);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > f->max_line)
		return FRAMER_OVERLONG;
	p[n] = '\0';
	*line = p;
	*len = n;
	return FRAMER_LINE;
}
