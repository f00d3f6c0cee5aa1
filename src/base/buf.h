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

#endif
