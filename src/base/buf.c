#include "base/buf.h"

#include <stdint.h>
#include <stdlib.h>

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
