/* A connection's output queue: references to shared wire buffers plus how
 * far the first one has been written. Flushed with send or sendmsg. Its size in bytes
 * is what the `sendq` limit bounds; the caller decides what to do past it.
 *
 * Bytes are numbered as they are pushed (pushed counts them all, ever), so
 * that a gate above can say "up to byte N may be written" (release): the
 * durability gate (net/gate.h) holds back what shows events not yet stored.
 * Ungated, release is SENDQ_UNGATED and everything may be written. */
#ifndef PARLEY_SENDQ_H
#define PARLEY_SENDQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/wire.h"

struct sendq {
	/* The entries, oldest at head. One entry needs no allocation: it sits
	 * in one, where the ring's pointer would be (most receivers of a
	 * message have nothing else queued when it comes). More get a ring,
	 * given back when it drains, so an idle conn costs no ring. */
	union {
		struct wire **ring;  /* cap > 1: circular, allocated */
		struct wire *one;    /* cap == 1: the one slot, inline */
	};
	unsigned cap;        /* slots, a power of two: 1 inline, else the ring's */
	unsigned head;       /* index of the oldest entry */
	unsigned count;      /* entries queued */
	unsigned offset;     /* bytes of ring[head] already written */
	size_t bytes;        /* unwritten bytes in the queue */
	uint64_t pushed;     /* bytes ever pushed (written: pushed - bytes) */
	uint64_t release;    /* bytes numbered below it may be written */
};

#define SENDQ_UNGATED UINT64_MAX

/* The unwritten bytes that may be written now: bytes, or fewer when the
 * release holds some back. */
static inline size_t
sendq_writable(const struct sendq *q)
{
	uint64_t allowed = q->release - (q->pushed - q->bytes);
	return allowed >= q->bytes ? q->bytes : (size_t)allowed;
}

/* Whether a flush has something to do: bytes it may write, or empty
 * entries to drop. */
static inline int
sendq_ready(const struct sendq *q)
{
	return q->count > 0 && (q->bytes == 0 || sendq_writable(q) > 0);
}

/* Empty, ungated. */
void sendq_init(struct sendq *q);
/* Drops every entry and frees any ring (the numbering and release stay:
 * what was dropped counts as written). */
void sendq_clear(struct sendq *q);
/* sendq_push when every slot is taken: grows the ring first. */
int sendq_push_grow(struct sendq *q, struct wire *w);

/* Takes a new reference to w. -1 on allocation failure. Inline: it is
 * the one step of a delivery that every recipient takes. */
static inline int
sendq_push(struct sendq *q, struct wire *w)
{
	if (q->count == q->cap)
		return sendq_push_grow(q, w);
	struct wire **slots = q->cap > 1 ? q->ring : &q->one;
	slots[(q->head + q->count) & (q->cap - 1)] = wire_ref(w);
	q->count++;
	q->bytes += w->len;
	q->pushed += w->len;
	return 0;
}
/* Writes as much as the fd takes, up to the release. Returns bytes
 * written, or -1 with errno set (EAGAIN included when nothing could be
 * written); 0 when the release holds everything back. */
ssize_t sendq_flush(struct sendq *q, int fd);
/* The unwritten bytes of the oldest entry that may be written (up to the
 * release): their length, and *p; 0 when there are none. For writers that
 * cannot take an iovec (TLS). */
size_t sendq_peek(const struct sendq *q, const char **p);
/* Moves every entry of from (none of it written yet) to the end of q,
 * leaving from empty. -1 on allocation failure (nothing moved). */
int sendq_append(struct sendq *q, struct sendq *from);
/* Accounts n written bytes: drops what was fully written. */
void sendq_consume(struct sendq *q, size_t n);

#endif
