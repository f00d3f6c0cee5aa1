/* A wire buffer: the bytes of one rendered line, immutable once made and
 * reference-counted, so the same bytes sit on every recipient's sendq.
 * Fan-out to N members is N pointer appends, not N copies. */
#ifndef PARLEY_WIRE_H
#define PARLEY_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wire {
	uint32_t refs;
	uint32_t len;
	char data[];
};

/* NULL on allocation failure. */
struct wire *wire_new(const char *data, size_t len);
/* A wire of len bytes for its maker to fill before anyone else sees it
 * (a renderer that knows the length first: no buffer copied); it may
 * set a smaller len. NULL on allocation failure. */
struct wire *wire_alloc(size_t len);
struct wire *wire_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For wire_unref: the last reference is gone. */
void wire_free(struct wire *w);

/* Inline: every line written drops one. NULL is allowed. */
static inline void
wire_unref(struct wire *w)
{
	if (w != NULL && --w->refs == 0)
		wire_free(w);
}

/* Inline: it is taken once per delivery. */
static inline struct wire *
wire_ref(struct wire *w)
{
	w->refs++;
	return w;
}

#endif
