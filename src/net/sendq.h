/* A connection's output queue: references to shared wire buffers plus how
 * far the first one has been written. Flushed with writev. Its size in bytes
 * is what the `sendq` limit bounds; the caller decides what to do past it. */
#ifndef PARLEY_SENDQ_H
#define PARLEY_SENDQ_H

#include <stddef.h>
#include <sys/types.h>

#include "net/wire.h"

struct sendq {
	struct wire **ring;  /* circular; NULL until the first push */
	unsigned cap;        /* slots in ring, a power of two, 0 when empty */
	unsigned head;       /* index of the oldest entry */
	unsigned count;      /* entries queued */
	unsigned offset;     /* bytes of ring[head] already written */
	size_t bytes;        /* unwritten bytes in the queue */
};

void sendq_init(struct sendq *q);
/* Drops every entry and frees the ring. */
void sendq_clear(struct sendq *q);
/* Takes a new reference to w. -1 on allocation failure. */
int sendq_push(struct sendq *q, struct wire *w);
/* Writes as much as the fd takes. Returns bytes written, or -1 with errno
 * set (EAGAIN included when nothing could be written). */
ssize_t sendq_flush(struct sendq *q, int fd);
/* The unwritten bytes of the oldest entry: their length, and *p; 0 when
 * the queue is empty. For writers that cannot take an iovec (TLS). */
size_t sendq_peek(const struct sendq *q, const char **p);
/* Moves every entry of from (none of it written yet) to the end of q,
 * leaving from empty. -1 on allocation failure (nothing moved). */
int sendq_append(struct sendq *q, struct sendq *from);
/* Accounts n written bytes: drops what was fully written. */
void sendq_consume(struct sendq *q, size_t n);

#endif
