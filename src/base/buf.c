#include "base/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *
buf_grow(void *array, size_t *cap, size_t need, size_t size, size_t first)
{
	if (need <= *cap)
		return array;
	size_t n = *cap ? *cap : first ? first : 1;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return NULL;
		n *= 2;
	}
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	void *p = realloc(array, n * size);
	if (p == NULL)
		return NULL;
	*cap = n;
	return p;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (b->len + n < b->len)
		return -1;
	char *data = buf_grow(b->data, &b->cap, b->len + n, 1, 256);
	if (data == NULL)
		return -1;
	b->data = data;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}
