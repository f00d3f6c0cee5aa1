/* Splits what arrives on a file descriptor into lines ending in LF (a CR
 * before the LF is dropped). The buffer is fixed: a line longer than
 * LINES_MAX bytes is reported once and dropped up to its LF, so a peer that
 * never sends a newline costs neither memory nor a busy loop. */
#ifndef PARLEY_LINES_H
#define PARLEY_LINES_H

#include <stddef.h>
#include <sys/types.h>

/* Longest line kept, its ending excluded. */
#define LINES_MAX 65536

struct lines {
	char buf[LINES_MAX + 2]; /* the longest line, CR and LF */
	size_t start;            /* first byte not yet handed out */
	size_t len;              /* bytes in buf, handed-out ones included */
	int dropping;            /* inside an overlong line, up to its LF */
};

enum lines_status {
	LINES_NONE,     /* no complete line held */
	LINES_LINE,     /* *line, *len: one line, NUL-terminated in place of
	                 * its ending, valid until the next call */
	LINES_OVERLONG, /* a line was longer than LINES_MAX and was dropped */
};

void lines_init(struct lines *l);
/* One read(2) into the free space: returns what read returned (0 at end
 * of file, -1 with errno set on error, EAGAIN included), or -1 with
 * ENOBUFS when the buffer is full of lines not taken yet. */
ssize_t lines_read(struct lines *l, int fd);
/* The same, reading with fn(src, buf, n), which answers as read(2) does. */
typedef ssize_t lines_source_fn(void *src, void *buf, size_t n);
ssize_t lines_read_from(struct lines *l, lines_source_fn *fn, void *src);
enum lines_status lines_next(struct lines *l, char **line, size_t *len);
/* At end of file: the last line if it had no LF (LINES_LINE), else
 * LINES_NONE or LINES_OVERLONG. */
enum lines_status lines_rest(struct lines *l, char **line, size_t *len);

#endif
