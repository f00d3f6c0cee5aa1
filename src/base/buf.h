/* Growing an array by doubling: the one way the server's growable arrays
 * grow. Each caller bounds its array itself. */
#ifndef PARLEY_BUF_H
#define PARLEY_BUF_H

#include <stddef.h>

/* array (NULL, or *cap elements of size bytes) grown to hold at least
 * need elements: *cap doubles from first (or from *cap) until it does.
 * Returns the array, moved or not, with *cap updated; NULL when out of
 * memory (or the size overflows), with array and *cap as they were. */
void *buf_grow(void *array, size_t *cap, size_t need, size_t size, size_t first);

/* A run of bytes that grows as it is appended to: { 0 } is an empty one.
 * Its holder owns data (buf_free) and bounds len itself. */
struct buf {
	char *data;
	size_t len, cap;
};

/* n bytes of p after the others. -1 when out of memory (b unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
/* Frees data; b is empty again. */
void buf_free(struct buf *b);

#endif
