/* Unit tests for the sendq: shared wire buffers queued by reference,
 * partial writes accounted exactly, order kept through ring growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/sendq.h"
#include "net/wire.h"

/* The entry i places after the head: in the ring, or inline. */
static struct wire *
entry(const struct sendq *q, unsigned i)
{
	assert_true(i < q->count);
	if (q->cap == 1)
		return q->one;
	return q->ring[(q->head + i) & (q->cap - 1)];
}

/* Holds no ring: its one slot inline, empty. */
static void
assert_no_ring(const struct sendq *q)
{
	assert_int_equal(q->cap, 1);
	assert_null(q->one);
}

/* bytes must be what the entries hold, less what was written of the
 * first; the ring a power of two that holds them all. */
static void
check_consistent(const struct sendq *q)
{
	if (q->count == 0) {
		assert_int_equal(q->bytes, 0);
		assert_int_equal(q->offset, 0);
		return;
	}
	if (q->cap > 1)
		assert_non_null(q->ring);
	assert_true(q->cap >= q->count);
	assert_int_equal(q->cap & (q->cap - 1), 0);
	assert_true(q->head < q->cap);
	assert_true(q->offset < entry(q, 0)->len);
	size_t sum = 0;
	for (unsigned i = 0; i < q->count; i++)
		sum += entry(q, i)->len;
	assert_int_equal(q->bytes, sum - q->offset);
}

static void
nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	assert_true(flags >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

/* sv[0] writes, sv[1] reads; both non-blocking. */
static void
make_pair(int sv[2], int sndbuf)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblocking(sv[0]);
	nonblocking(sv[1]);
	if (sndbuf > 0)
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF,
		    &sndbuf, sizeof sndbuf), 0);
}

/* Reads what is available from fd onto the end of buf. */
static size_t
drain(int fd, char *buf, size_t have, size_t cap)
{
	for (;;) {
		assert_true(have < cap + 1);
		char tmp[8192];
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			return have;
		}
		assert_true(n > 0);
		assert_true(have + (size_t)n <= cap);
		memcpy(buf + have, tmp, (size_t)n);
		have += (size_t)n;
	}
}

static void
test_init_empty(void **state)
{
	(void)state;
	struct sendq q;
	memset(&q, 0xA5, sizeof q);
	sendq_init(&q);
	assert_no_ring(&q);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.bytes, 0);
	sendq_clear(&q);
	assert_no_ring(&q);
}

static void
test_push_shares_wire(void **state)
{
	(void)state;
	struct sendq a, b;
	sendq_init(&a);
	sendq_init(&b);
	struct wire *w = wire_new("hello\n", 6);
	assert_non_null(w);
	assert_int_equal(w->refs, 1);

	assert_int_equal(sendq_push(&a, w), 0);
	assert_int_equal(w->refs, 2);
	assert_int_equal(sendq_push(&b, w), 0);
	assert_int_equal(sendq_push(&b, w), 0);
	assert_int_equal(w->refs, 4);
	/* The very same buffer, not a copy. */
	assert_ptr_equal(entry(&a, 0), w);
	assert_ptr_equal(entry(&b, 0), w);
	assert_ptr_equal(entry(&b, 1), w);
	assert_int_equal(a.count, 1);
	assert_int_equal(a.bytes, 6);
	assert_int_equal(b.count, 2);
	assert_int_equal(b.bytes, 12);
	check_consistent(&a);
	check_consistent(&b);

	sendq_consume(&a, 6);
	assert_int_equal(w->refs, 3);
	assert_no_ring(&a);
	sendq_clear(&b);
	assert_int_equal(w->refs, 1);
	wire_unref(w);
}

static void
test_consume_across_entries(void **state)
{
	(void)state;
	struct sendq q;
	sendq_init(&q);
	struct wire *w[3] = {
		wire_new("abc", 3), wire_new("defg", 4), wire_new("hi", 2),
	};
	for (int i = 0; i < 3; i++) {
		assert_non_null(w[i]);
		assert_int_equal(sendq_push(&q, w[i]), 0);
	}
	assert_int_equal(q.bytes, 9);

	sendq_consume(&q, 2);            /* "ab" */
	assert_int_equal(q.count, 3);
	assert_int_equal(q.offset, 2);
	assert_int_equal(q.bytes, 7);
	assert_int_equal(w[0]->refs, 2);
	check_consistent(&q);

	sendq_consume(&q, 3);            /* "c", "de" */
	assert_int_equal(q.count, 2);
	assert_ptr_equal(entry(&q, 0), w[1]);
	assert_int_equal(q.offset, 2);
	assert_int_equal(q.bytes, 4);
	assert_int_equal(w[0]->refs, 1);
	check_consistent(&q);

	sendq_consume(&q, 2);            /* "fg": exactly the rest of w[1] */
	assert_int_equal(q.count, 1);
	assert_ptr_equal(entry(&q, 0), w[2]);
	assert_int_equal(q.offset, 0);
	assert_int_equal(q.bytes, 2);
	assert_int_equal(w[1]->refs, 1);
	check_consistent(&q);

	sendq_consume(&q, 0);
	assert_int_equal(q.count, 1);
	assert_int_equal(q.bytes, 2);

	sendq_consume(&q, 2);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.bytes, 0);
	/* An idle queue holds no ring. */
	assert_no_ring(&q);
	assert_int_equal(w[2]->refs, 1);

	for (int i = 0; i < 3; i++)
		wire_unref(w[i]);
}

/* What is no socket (a pipe) is written too: send and sendmsg refuse it
 * (ENOTSOCK), and the flush falls back to writev, for one line and for
 * several, partial entry included. */
static void
test_flush_to_a_pipe(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	nonblocking(p[0]);
	nonblocking(p[1]);
	struct sendq q;
	sendq_init(&q);
	struct wire *a = wire_new("one\n", 4), *b = wire_new("two\n", 4);
	assert_int_equal(sendq_push(&q, a), 0);
	assert_int_equal(sendq_flush(&q, p[1]), 4);
	assert_int_equal(q.count, 0);
	assert_int_equal(sendq_push(&q, a), 0);
	assert_int_equal(sendq_push(&q, b), 0);
	sendq_consume(&q, 1);
	assert_int_equal(sendq_flush(&q, p[1]), 7);
	assert_int_equal(q.count, 0);
	char buf[16];
	assert_int_equal(drain(p[0], buf, 0, sizeof buf), 11);
	assert_memory_equal(buf, "one\nne\ntwo\n", 11);
	assert_int_equal(a->refs, 1);
	assert_int_equal(b->refs, 1);
	wire_unref(a);
	wire_unref(b);
	close(p[0]);
	close(p[1]);
}

static void
test_consume_within_entry(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct sendq q;
	sendq_init(&q);
	struct wire *w = wire_new("abcdefgh", 8);
	assert_int_equal(sendq_push(&q, w), 0);
	/* Several partial writes of one entry add up. */
	sendq_consume(&q, 2);
	assert_int_equal(q.offset, 2);
	sendq_consume(&q, 3);
	assert_int_equal(q.offset, 5);
	assert_int_equal(q.bytes, 3);
	assert_int_equal(q.count, 1);
	check_consistent(&q);
	assert_int_equal(sendq_flush(&q, sv[0]), 3);
	char buf[8];
	assert_int_equal(drain(sv[1], buf, 0, sizeof buf), 3);
	assert_memory_equal(buf, "fgh", 3);
	assert_int_equal(q.count, 0);
	assert_int_equal(w->refs, 1);
	wire_unref(w);
	close(sv[0]);
	close(sv[1]);
}

static void
test_consume_several_whole_entries(void **state)
{
	(void)state;
	struct sendq q;
	sendq_init(&q);
	struct wire *w = wire_new("xyz", 3);
	assert_non_null(w);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sendq_push(&q, w), 0);
	assert_int_equal(w->refs, 6);
	sendq_consume(&q, 10);           /* three whole entries and one byte */
	assert_int_equal(q.count, 2);
	assert_int_equal(q.offset, 1);
	assert_int_equal(q.bytes, 5);
	assert_int_equal(w->refs, 3);
	check_consistent(&q);
	sendq_clear(&q);
	assert_int_equal(w->refs, 1);
	wire_unref(w);
}

static void
test_clear_drops_references(void **state)
{
	(void)state;
	struct sendq q;
	sendq_init(&q);
	struct wire *w = wire_new("shared\n", 7);
	struct wire *v = wire_printf("%s-%d\n", "other", 42);
	assert_non_null(w);
	assert_non_null(v);
	assert_int_equal(v->len, 9);
	assert_memory_equal(v->data, "other-42\n", 9);
	wire_ref(w);                     /* another holder, as on a second conn */
	for (int i = 0; i < 7; i++) {
		assert_int_equal(sendq_push(&q, w), 0);
		assert_int_equal(sendq_push(&q, v), 0);
	}
	assert_int_equal(w->refs, 2 + 7);
	assert_int_equal(v->refs, 1 + 7);
	sendq_consume(&q, 3);            /* a partly written head */
	sendq_clear(&q);
	assert_int_equal(w->refs, 2);
	assert_int_equal(v->refs, 1);
	assert_no_ring(&q);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.bytes, 0);
	assert_int_equal(q.offset, 0);
	wire_unref(w);
	wire_unref(w);
	wire_unref(v);
}

static void
test_flush_empty(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct sendq q;
	sendq_init(&q);
	assert_int_equal(sendq_flush(&q, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
}

static void
test_flush_all_fits(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct sendq q;
	sendq_init(&q);
	struct wire *a = wire_new("first\n", 6);
	struct wire *b = wire_new("second\n", 7);
	assert_int_equal(sendq_push(&q, a), 0);
	assert_int_equal(sendq_push(&q, b), 0);
	assert_int_equal(sendq_push(&q, a), 0);
	assert_int_equal(sendq_flush(&q, sv[0]), 19);
	assert_int_equal(q.count, 0);
	assert_int_equal(q.bytes, 0);
	assert_no_ring(&q);
	assert_int_equal(a->refs, 1);
	assert_int_equal(b->refs, 1);
	char buf[64];
	size_t got = drain(sv[1], buf, 0, sizeof buf);
	assert_int_equal(got, 19);
	assert_memory_equal(buf, "first\nsecond\nfirst\n", 19);
	wire_unref(a);
	wire_unref(b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_partial_writes(void **state)
{
	(void)state;
	enum { N = 400 };
	int sv[2];
	make_pair(sv, 4096);
	struct sendq q;
	sendq_init(&q);

	/* More entries than one writev takes, more bytes than the socket. */
	static char expect[N * 128];
	size_t total = 0;
	size_t starts[N + 1];
	for (unsigned i = 0; i < N; i++) {
		struct wire *w = wire_printf("line %04u %.*s\n", i, (int)(i % 97),
		    "................................................................"
		    "................................................................");
		assert_non_null(w);
		starts[i] = total;
		memcpy(expect + total, w->data, w->len);
		total += w->len;
		assert_int_equal(sendq_push(&q, w), 0);
		wire_unref(w);               /* the queue holds the only ref */
	}
	starts[N] = total;
	assert_int_equal(q.bytes, total);
	check_consistent(&q);

	ssize_t r = sendq_flush(&q, sv[0]);
	assert_true(r > 0);
	assert_true((size_t)r < total);
	assert_int_equal(q.bytes, total - (size_t)r);
	check_consistent(&q);
	/* The head is the entry holding byte r, written up to it. */
	unsigned first = N - q.count;
	assert_true(starts[first] <= (size_t)r && (size_t)r < starts[first + 1]);
	assert_int_equal(q.offset, (size_t)r - starts[first]);
	assert_memory_equal(entry(&q, 0)->data, expect + starts[first],
	    starts[first + 1] - starts[first]);

	/* Still full: nothing written, nothing changed. */
	size_t before = q.bytes;
	unsigned offset = q.offset;
	errno = 0;
	assert_int_equal(sendq_flush(&q, sv[0]), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_int_equal(q.bytes, before);
	assert_int_equal(q.offset, offset);

	static char got[sizeof expect];
	size_t have = 0;
	size_t written = (size_t)r;
	int rounds = 0;
	while (q.count > 0) {
		have = drain(sv[1], got, have, sizeof got);
		assert_int_equal(have, written);
		r = sendq_flush(&q, sv[0]);
		assert_true(r > 0);
		written += (size_t)r;
		assert_int_equal(q.bytes, total - written);
		check_consistent(&q);
		assert_true(++rounds < 100000);
	}
	assert_true(rounds > 1);
	assert_no_ring(&q);
	have = drain(sv[1], got, have, sizeof got);
	assert_int_equal(written, total);
	assert_int_equal(have, total);
	assert_memory_equal(got, expect, total);
	close(sv[0]);
	close(sv[1]);
}

static void
test_flush_error_keeps_queue(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	close(sv[1]);
	struct sendq q;
	sendq_init(&q);
	struct wire *w = wire_new("lost\n", 5);
	assert_int_equal(sendq_push(&q, w), 0);
	errno = 0;
	assert_int_equal(sendq_flush(&q, sv[0]), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(q.count, 1);
	assert_int_equal(q.bytes, 5);
	sendq_clear(&q);
	assert_int_equal(w->refs, 1);
	wire_unref(w);
	close(sv[0]);
}

/* One entry sits inline (no allocation: the common case of a receiver
 * with nothing else queued); a second moves both into a ring, in order,
 * the first one's partial write kept; drained, the ring is given back. */
static void
test_one_entry_inline(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct sendq q;
	sendq_init(&q);
	struct wire *a = wire_new("first\n", 6), *b = wire_new("second\n", 7);
	assert_int_equal(sendq_push(&q, a), 0);
	assert_int_equal(q.cap, 1);
	assert_ptr_equal(q.one, a);
	check_consistent(&q);
	sendq_consume(&q, 2);                   /* "fi" written */
	assert_int_equal(sendq_push(&q, b), 0); /* to a ring */
	assert_true(q.cap >= 4);
	assert_ptr_equal(entry(&q, 0), a);
	assert_ptr_equal(entry(&q, 1), b);
	assert_int_equal(q.offset, 2);
	check_consistent(&q);
	assert_int_equal(sendq_flush(&q, sv[0]), 11);
	assert_no_ring(&q);
	char buf[32];
	assert_int_equal(drain(sv[1], buf, 0, sizeof buf), 11);
	assert_memory_equal(buf, "rst\nsecond\n", 11);

	/* Appending: inline onto inline needs a ring; an empty from is a
	 * no-op; from is left empty with no ring. */
	struct sendq from;
	sendq_init(&from);
	assert_int_equal(sendq_append(&q, &from), 0);
	assert_no_ring(&q);
	assert_int_equal(sendq_push(&q, a), 0);
	assert_int_equal(sendq_push(&from, b), 0);
	assert_int_equal(sendq_append(&q, &from), 0);
	assert_no_ring(&from);
	assert_int_equal(from.count, 0);
	assert_int_equal(q.count, 2);
	assert_ptr_equal(entry(&q, 0), a);
	assert_ptr_equal(entry(&q, 1), b);
	check_consistent(&q);
	assert_int_equal(a->refs, 2);
	assert_int_equal(b->refs, 2);
	sendq_clear(&q);
	assert_no_ring(&q);
	assert_int_equal(a->refs, 1);
	assert_int_equal(b->refs, 1);
	wire_unref(a);
	wire_unref(b);
	close(sv[0]);
	close(sv[1]);
}

/* A full ring, its head partly written and wrapped round, grows to twice
 * its slots with the entries in order and the partial write kept. */
static void
test_grow_keeps_partial_head(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct sendq q;
	sendq_init(&q);
	/* Lines "0\n", "1\n", ... until the first ring is full. */
	char want[4096];
	size_t have = 0;
	unsigned pushed = 0;
	do {
		struct wire *w = wire_printf("%u\n", pushed++);
		assert_int_equal(sendq_push(&q, w), 0);
		memcpy(want + have, w->data, w->len);
		have += w->len;
		wire_unref(w);
	} while (q.count < q.cap || q.cap == 1);
	unsigned cap = q.cap;
	assert_true(cap >= 4);
	sendq_consume(&q, 3);            /* "0\n" and "1" */
	/* Wrap the ring before it grows. */
	struct wire *e = wire_printf("%u\n", pushed++);
	assert_int_equal(sendq_push(&q, e), 0);
	memcpy(want + have, e->data, e->len);
	have += e->len;
	wire_unref(e);
	assert_int_equal(q.cap, cap);
	assert_int_equal(q.count, cap);
	assert_true(q.head + q.count > q.cap);
	struct wire *w = wire_new("zeta\n", 5);
	assert_int_equal(sendq_push(&q, w), 0);  /* grows */
	memcpy(want + have, w->data, w->len);
	have += w->len;
	wire_unref(w);
	assert_int_equal(q.cap, cap * 4);  /* SENDQ_GROWTH */
	assert_int_equal(q.offset, 1);
	check_consistent(&q);
	assert_int_equal(q.bytes, have - 3);
	assert_int_equal(sendq_flush(&q, sv[0]), (ssize_t)(have - 3));
	char buf[4096];
	assert_int_equal(drain(sv[1], buf, 0, sizeof buf), have - 3);
	assert_memory_equal(buf, want + 3, have - 3);
	close(sv[0]);
	close(sv[1]);
}

static void
test_ring_wraparound_order(void **state)
{
	(void)state;
	enum { ROUNDS = 2000, MODEL = 4096 };
	struct sendq q;
	sendq_init(&q);
	static unsigned model[MODEL];    /* sequence numbers, a FIFO */
	unsigned mhead = 0, mcount = 0, next = 0;
	int wrapped = 0, grew = 0;
	unsigned last_cap = 0;
	srand(12345);
	for (int round = 0; round < ROUNDS; round++) {
		/* Pushes slightly outpace consumes, so the ring grows slowly
		 * while head keeps moving round it. */
		int pushes = rand() % 6;
		for (int i = 0; i < pushes; i++) {
			struct wire *w = wire_printf("%u\n", next);
			assert_non_null(w);
			assert_int_equal(sendq_push(&q, w), 0);
			wire_unref(w);
			assert_true(mcount < MODEL);
			model[(mhead + mcount++) % MODEL] = next++;
		}
		int pops = rand() % 5;
		for (int i = 0; i < pops && mcount > 0; i++) {
			/* Consume the head entry in two steps, as partial writes
			 * would. */
			struct wire *w = entry(&q, 0);
			char want[16];
			int n = snprintf(want, sizeof want, "%u\n", model[mhead]);
			assert_int_equal(w->len, (uint32_t)n);
			assert_memory_equal(w->data, want, (size_t)n);
			sendq_consume(&q, 1);
			if (n > 1) {
				assert_int_equal(q.offset, 1);
				sendq_consume(&q, (size_t)n - 1);
			}
			mhead = (mhead + 1) % MODEL;
			mcount--;
		}
		assert_int_equal(q.count, mcount);
		check_consistent(&q);
		if (q.count > 0 && q.head + q.count > q.cap)
			wrapped = 1;
		if (q.cap > last_cap && last_cap >= 4)
			grew = 1;
		if (q.cap > 0)
			last_cap = q.cap;
		for (unsigned i = 0; i < mcount; i++) {
			char want[16];
			int n = snprintf(want, sizeof want, "%u\n",
			    model[(mhead + i) % MODEL]);
			assert_int_equal(entry(&q, i)->len, (uint32_t)n);
			assert_memory_equal(entry(&q, i)->data, want, (size_t)n);
		}
	}
	assert_true(wrapped);
	assert_true(grew);
	assert_true(q.cap > 4);

	/* What is left comes out of a socket in order too. */
	int sv[2];
	make_pair(sv, 0);
	size_t left = q.bytes;
	static char got[65536];
	assert_true(left < sizeof got);
	assert_int_equal(sendq_flush(&q, sv[0]), (ssize_t)left);
	size_t have = drain(sv[1], got, 0, sizeof got);
	assert_int_equal(have, left);
	size_t at = 0;
	for (unsigned i = 0; i < mcount; i++) {
		char want[16];
		int n = snprintf(want, sizeof want, "%u\n", model[(mhead + i) % MODEL]);
		assert_memory_equal(got + at, want, (size_t)n);
		at += (size_t)n;
	}
	assert_int_equal(at, have);
	assert_no_ring(&q);
	close(sv[0]);
	close(sv[1]);
}

static void
test_empty_wire_does_not_stall(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct sendq q;
	sendq_init(&q);
	struct wire *empty = wire_new("", 0);
	struct wire *w = wire_new("x\n", 2);
	assert_int_equal(sendq_push(&q, empty), 0);
	assert_int_equal(sendq_push(&q, w), 0);
	assert_int_equal(sendq_push(&q, empty), 0);
	assert_int_equal(q.bytes, 2);
	/* Must return, having written everything, and leave nothing. */
	assert_int_equal(sendq_flush(&q, sv[0]), 2);
	assert_int_equal(q.count, 0);
	assert_no_ring(&q);
	assert_int_equal(empty->refs, 1);
	assert_int_equal(w->refs, 1);

	assert_int_equal(sendq_push(&q, empty), 0);
	assert_int_equal(sendq_flush(&q, sv[0]), 0);
	assert_int_equal(q.count, 0);
	assert_int_equal(empty->refs, 1);

	char buf[8];
	assert_int_equal(drain(sv[1], buf, 0, sizeof buf), 2);
	assert_memory_equal(buf, "x\n", 2);
	wire_unref(empty);
	wire_unref(w);
	close(sv[0]);
	close(sv[1]);
}

/* The durability gate's release: only bytes numbered below it are
 * written, by writev and by peek alike; the numbering goes on through an
 * empty queue, and a held queue is not "ready" (no busy loop). */
static void
test_release_holds_back(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct sendq q;
	sendq_init(&q);
	assert_true(q.release == SENDQ_UNGATED);
	q.release = 0;
	struct wire *a = wire_new("alpha\n", 6), *b = wire_new("beta\n", 5);
	assert_int_equal(sendq_push(&q, a), 0);
	assert_int_equal(sendq_push(&q, b), 0);
	assert_int_equal(q.pushed, 11);
	assert_int_equal(sendq_writable(&q), 0);
	assert_false(sendq_ready(&q));
	const char *p;
	assert_int_equal(sendq_peek(&q, &p), 0);
	assert_int_equal(sendq_flush(&q, sv[0]), 0);
	char buf[64];
	assert_int_equal(drain(sv[1], buf, 0, sizeof buf), 0);

	/* Released up to a wire's middle: that much, no more. */
	q.release = 8;
	assert_true(sendq_ready(&q));
	assert_int_equal(sendq_writable(&q), 8);
	assert_int_equal(sendq_flush(&q, sv[0]), 8);
	assert_int_equal(drain(sv[1], buf, 0, sizeof buf), 8);
	assert_memory_equal(buf, "alpha\nbe", 8);
	assert_int_equal(sendq_peek(&q, &p), 0);
	check_consistent(&q);

	q.release = q.pushed;
	assert_int_equal(sendq_peek(&q, &p), 3);
	assert_int_equal(sendq_flush(&q, sv[0]), 3);
	assert_int_equal(q.count, 0);
	/* Emptied: the ring is given back, the numbering and release stay. */
	assert_int_equal(q.pushed, 11);
	assert_int_equal(q.release, 11);
	assert_int_equal(sendq_push(&q, a), 0);
	assert_int_equal(q.pushed, 17);
	assert_int_equal(sendq_writable(&q), 0);
	sendq_clear(&q);
	assert_int_equal(q.pushed, 17);
	wire_unref(a);
	wire_unref(b);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	/* A write to a closed peer must come back as EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* A flush that never returns fails the run instead of hanging it. */
	alarm(60);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_push_shares_wire),
		cmocka_unit_test(test_consume_across_entries),
		cmocka_unit_test(test_consume_within_entry),
		cmocka_unit_test(test_consume_several_whole_entries),
		cmocka_unit_test(test_clear_drops_references),
		cmocka_unit_test(test_flush_empty),
		cmocka_unit_test(test_flush_all_fits),
		cmocka_unit_test(test_partial_writes),
		cmocka_unit_test(test_flush_error_keeps_queue),
		cmocka_unit_test(test_one_entry_inline),
		cmocka_unit_test(test_flush_to_a_pipe),
		cmocka_unit_test(test_grow_keeps_partial_head),
		cmocka_unit_test(test_ring_wraparound_order),
		cmocka_unit_test(test_empty_wire_does_not_stall),
		cmocka_unit_test(test_release_holds_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
