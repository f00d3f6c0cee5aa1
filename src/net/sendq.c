#include "net/sendq.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Lines in one write: as many as the kernel takes (IOV_MAX), so that a
 * conn that has fallen behind catches up in few calls. */
#define SENDQ_IOV_MAX IOV_MAX
/* The first ring's slots: a conn that gets more than one message in a
 * pass (a busy room: W1's receivers get tens) gets them, or a welcome
 * burst, in one allocation rather than a chain of doublings; the ring is
 * given back when it drains, so idle conns do not keep it. */
#define SENDQ_MIN_SLOTS 16
#define SENDQ_GROWTH 4

/* The slots: the ring, or the one inline. Indexed with & (cap - 1),
 * which is always 0 inline. */
static inline struct wire **
sendq_slots(struct sendq *q)
{
	return q->cap > 1 ? q->ring : &q->one;
}

static inline struct wire *
sendq_at(const struct sendq *q, unsigned i)
{
	struct wire *const *slots = q->cap > 1 ? q->ring : &q->one;
	return slots[(q->head + i) & (q->cap - 1)];
}

/* Empty, with no ring; the numbering and the release go on. */
static void
sendq_empty(struct sendq *q)
{
	if (q->cap > 1)
		free(q->ring);
	q->one = NULL;
	q->cap = 1;
	q->head = q->count = q->offset = 0;
	q->bytes = 0;
}

void
sendq_init(struct sendq *q)
{
	q->cap = 1;
	sendq_empty(q);
	q->pushed = 0;
	q->release = SENDQ_UNGATED;
}

void
sendq_clear(struct sendq *q)
{
	for (unsigned i = 0; i < q->count; i++)
		wire_unref(sendq_at(q, i));
	sendq_empty(q);
}

/* Room for at least want entries: a ring of four times the slots, or
 * more (from the inline slot, SENDQ_MIN_SLOTS at once). Four: a receiver
 * of a busy room gets tens of lines a pass, each pass from an empty
 * queue, and every step is a malloc, a copy and a free. */
static int
sendq_grow(struct sendq *q, unsigned want)
{
	unsigned cap = q->cap > 1 ? q->cap : SENDQ_MIN_SLOTS / SENDQ_GROWTH;
	do {
		if (cap > UINT_MAX / SENDQ_GROWTH)
			return -1;
		cap *= SENDQ_GROWTH;
	} while (cap < want);
	struct wire **ring = malloc(cap * sizeof *ring);
	if (ring == NULL)
		return -1;
	/* The entries in order, from head to the ring's end, then from its
	 * start: at most two copies. */
	struct wire **slots = sendq_slots(q);
	unsigned first = q->cap - q->head < q->count ? q->cap - q->head : q->count;
	memcpy(ring, slots + q->head, first * sizeof *ring);
	memcpy(ring + first, slots, (q->count - first) * sizeof *ring);
	if (q->cap > 1)
		free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
	return 0;
}

int
sendq_push_grow(struct sendq *q, struct wire *w)
{
	if (sendq_grow(q, q->count + 1) < 0)
		return -1;
	return sendq_push(q, w);
}

int
sendq_append(struct sendq *q, struct sendq *from)
{
	if (from->count == 0)
		return 0;
	if (q->cap - q->count < from->count &&
	    sendq_grow(q, q->count + from->count) < 0)
		return -1;
	struct wire **slots = sendq_slots(q);
	for (unsigned i = 0; i < from->count; i++) {
		slots[(q->head + q->count) & (q->cap - 1)] = sendq_at(from, i);
		q->count++;
	}
	q->bytes += from->bytes;
	q->pushed += from->bytes;
	from->count = 0;  /* the references moved with the entries */
	sendq_empty(from);
	return 0;
}

void
sendq_consume(struct sendq *q, size_t n)
{
	q->bytes -= n;
	/* Runs on with n == 0 to drop fully written (and empty) entries: a
	 * zero-length one left at the head would make sendq_flush spin. */
	struct wire **slots = sendq_slots(q);
	while (q->count > 0) {
		struct wire *w = slots[q->head];
		size_t left = w->len - q->offset;
		if (n < left) {
			q->offset += (unsigned)n;
			return;
		}
		n -= left;
		wire_unref(w);
		q->head = (q->head + 1) & (q->cap - 1);
		q->count--;
		q->offset = 0;
	}
	/* An idle connection should cost no ring: give it back. */
	if (q->count == 0)
		sendq_empty(q);
}

/* One write of n pieces to fd. A socket gets send (one piece, W2's and
 * W3's usual flush) or sendmsg, not writev: they reach the same TCP
 * send, but writev's way there (the file-position lock, the checks made
 * for files) cost 4-8% more a call on this machine's loopback, a cost
 * paid once a delivery when each receiver gets one line a pass
 * (bench/results/2026-12-02-w3irc.md). Anything else (a pipe) is no
 * socket and gets writev. A socket whose peer is gone says EPIPE, with
 * no SIGPIPE (MSG_NOSIGNAL). */
static ssize_t
write_pieces(int fd, struct iovec *iov, unsigned n)
{
	ssize_t w;
	if (n == 1)
		w = send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
	else
		w = sendmsg(fd, &(struct msghdr){ .msg_iov = iov, .msg_iovlen = n }, MSG_NOSIGNAL);
	if (w < 0 && errno == ENOTSOCK)
		w = writev(fd, iov, (int)n);
	return w;
}

ssize_t
sendq_flush(struct sendq *q, int fd)
{
	ssize_t total = 0;
	size_t allowed;
	if (q->count > 0 && q->bytes == 0)
		sendq_consume(q, 0); /* empty entries only: nothing to write */
	while ((allowed = sendq_writable(q)) > 0) {
		struct iovec iov[SENDQ_IOV_MAX];
		unsigned n = q->count < SENDQ_IOV_MAX ? q->count : SENDQ_IOV_MAX;
		size_t want = 0;
		struct wire **slots = sendq_slots(q);
		unsigned mask = q->cap - 1;
		for (unsigned i = 0; i < n; i++) {
			struct wire *w = slots[(q->head + i) & mask];
			size_t skip = i == 0 ? q->offset : 0;
			iov[i].iov_base = w->data + skip;
			iov[i].iov_len = w->len - skip;
			/* The release ends on a wire's boundary or inside one. */
			if (iov[i].iov_len >= allowed - want) {
				iov[i].iov_len = allowed - want;
				want = allowed;
				n = i + 1;
				break;
			}
			want += iov[i].iov_len;
		}
		ssize_t written = write_pieces(fd, iov, n);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return total > 0 ? total : -1;
		}
		total += written;
		sendq_consume(q, (size_t)written);
		if ((size_t)written < want)
			break; /* the socket is full; the next write would say EAGAIN */
	}
	return total;
}

size_t
sendq_peek(const struct sendq *q, const char **p)
{
	if (q->count == 0) {
		*p = NULL;
		return 0;
	}
	const struct wire *w = sendq_at(q, 0);
	size_t n = w->len - q->offset, allowed = sendq_writable(q);
	*p = w->data + q->offset;
	return n < allowed ? n : allowed;
}
