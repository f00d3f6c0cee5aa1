/* Splits a byte stream into lines ending in LF (a CR before the LF is
 * dropped). Holds at most `limit` bytes; a line longer than `max_line` is
 * reported once as overlong and discarded up to its LF, holding nothing of
 * it, so input that never ends costs neither memory nor a busy loop. */
#ifndef PARLEY_FRAMER_H
#define PARLEY_FRAMER_H

#include <stddef.h>
#include <stdint.h>

struct framer {
	char *buf;        /* NULL while nothing is held */
	/* 32 bits each: a line is at most a few MiB, and every connection
	 * carries a framer. */
	uint32_t start;     /* first unconsumed byte */
	uint32_t len;       /* bytes in buf, consumed ones included */
	uint32_t cap;       /* bytes allocated */
	uint32_t max_line;  /* longest line, ending excluded */
	uint32_t limit;     /* most bytes held: lines waiting plus one partial */
	uint32_t discarding; /* inside an overlong line, dropping up to its LF */
};

enum framer_status {
	FRAMER_EMPTY,     /* no complete line held */
	FRAMER_LINE,      /* *line, *len: valid until the next framer call */
	FRAMER_OVERLONG,  /* a line was over max_line and has been dropped */
};

/* limit must be at least max_line + 2 (the line, CR and LF), and below
 * 4 GiB. */
void framer_init(struct framer *f, size_t max_line, size_t limit);
void framer_free(struct framer *f);
/* Takes as much of data as fits; returns how much (n when it all fits,
 * less when the buffer is full of lines not yet taken), or -1 when out of
 * memory. */
long framer_feed(struct framer *f, const char *data, size_t n);
enum framer_status framer_next(struct framer *f, char **line, size_t *len);
/* Frees the buffer if it holds nothing: an idle connection keeps none.
 * framer_next does it too, but callers stop calling it once nothing is
 * held. */
void framer_release_if_empty(struct framer *f);
/* Bytes held (waiting lines and the partial one). */
size_t framer_held(const struct framer *f);
/* Bytes framer_feed would take now. */
size_t framer_room(const struct framer *f);

#endif
