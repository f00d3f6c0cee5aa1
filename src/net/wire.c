#include "net/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wire *
wire_alloc(size_t len)
{
	if (len > UINT32_MAX)
		return NULL;
	struct wire *w = malloc(sizeof *w + len);
	if (w == NULL)
		return NULL;
	w->refs = 1;
	w->len = (uint32_t)len;
	return w;
}

struct wire *
wire_new(const char *data, size_t len)
{
	struct wire *w = wire_alloc(len);
	if (w != NULL)
		memcpy(w->data, data, len);
	return w;
}

struct wire *
wire_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	struct wire *w = malloc(sizeof *w + (size_t)n + 1);
	if (w == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(w->data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->refs = 1;
	w->len = (uint32_t)n;
	return w;
}

void
wire_free(struct wire *w)
{
	free(w);
}
