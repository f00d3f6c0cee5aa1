/* Unit tests for the durability gate (net/gate.h) with several epochs in
 * flight: each conn's bytes are released exactly when the epoch holding
 * the events they show is finished, never earlier, in order, across the
 * ring of slots, and a conn that goes is forgotten. The conns are bare
 * structs: the gate reads and writes only their sendq numbering, its own
 * fields and the set's flush list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "net/conn_set.h"
#include "net/gate.h"

struct fixture {
	struct conn_set set;
	struct conn *c[3];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->set.gate.on = 1;
	for (int i = 0; i < 3; i++) {
		f->c[i] = calloc(1, sizeof *f->c[i]);
		assert_non_null(f->c[i]);
		f->c[i]->set = &f->set;
		f->c[i]->out.release = gate_initial_release(&f->set.gate);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 3; i++)
		free(f->c[i]);
	free(f);
	return 0;
}

/* n more bytes queued on c this pass, then the before-sleep step's look
 * at it (pending: events were appended this pass). */
static void
queue(struct fixture *f, struct conn *c, uint64_t n, int pending)
{
	c->out.pushed += n;
	gate_touched(&f->set.gate, c, pending);
}

/* Whether c is on the set's flush list; the list is emptied. */
static int
flushed(struct fixture *f, struct conn *c)
{
	int found = 0;
	struct conn *x;
	while ((x = conn_set_next_flush(&f->set)) != NULL)
		found |= x == c;
	return found;
}

static void
test_off_holds_nothing(void **state)
{
	(void)state;
	struct conn_gate g = { 0 };
	struct conn c;
	memset(&c, 0, sizeof c);
	c.out.release = gate_initial_release(&g);
	assert_true(c.out.release == SENDQ_UNGATED);
	c.out.pushed = 100;
	gate_touched(&g, &c, 1);
	assert_true(c.out.release == SENDQ_UNGATED);
	assert_int_equal(c.gate_wait, 0);
}

/* Output that shows no pending event goes at once; output that may
 * waits for its epoch, sealed and then finished. */
static void
test_one_epoch(void **state)
{
	struct fixture *f = *state;
	struct conn *a = f->c[0];
	queue(f, a, 10, 0);
	assert_int_equal(a->out.release, 10);
	queue(f, a, 5, 1);
	assert_int_equal(a->out.release, 10);
	gate_sealed(&f->set, 1);
	assert_int_equal(a->out.release, 10);
	gate_finished(&f->set, 0);
	assert_int_equal(a->out.release, 10);
	assert_false(flushed(f, a));
	gate_finished(&f->set, 1);
	assert_int_equal(a->out.release, 15);
	assert_true(flushed(f, a));
	assert_int_equal(a->gate_wait, 0);
	assert_int_equal(f->set.gate.inflight, 0);
}

/* Three epochs in flight, finishing in order: a is touched in epochs 1
 * and 3, b in 2. Each finish releases exactly its own marks. */
static void
test_pipelined_in_order(void **state)
{
	struct fixture *f = *state;
	struct conn *a = f->c[0], *b = f->c[1];
	assert_int_equal(gate_oldest(&f->set.gate), 0);
	queue(f, a, 10, 1);
	gate_sealed(&f->set, 1);
	queue(f, b, 5, 1);
	gate_sealed(&f->set, 2);
	queue(f, a, 7, 1);
	gate_sealed(&f->set, 3);
	assert_int_equal(f->set.gate.inflight, 3);
	assert_int_equal(a->out.release, 0);
	assert_int_equal(b->out.release, 0);

	/* While 3 is in flight, bytes that show nothing pending queue behind
	 * a's wait for it, not behind 1's. */
	queue(f, a, 3, 0);
	assert_int_equal(a->out.release, 0);

	assert_int_equal(gate_oldest(&f->set.gate), 1);
	gate_finished(&f->set, 1);
	assert_int_equal(a->out.release, 10);
	assert_int_equal(b->out.release, 0);
	assert_true(flushed(f, a));
	/* What the loop looks for in the middle of its writes. */
	assert_int_equal(gate_oldest(&f->set.gate), 2);

	gate_finished(&f->set, 2);
	assert_int_equal(a->out.release, 10);
	assert_int_equal(b->out.release, 5);
	assert_true(flushed(f, b));

	gate_finished(&f->set, 3);
	assert_int_equal(a->out.release, 20);
	assert_int_equal(b->out.release, 5);
	assert_int_equal(a->gate_wait, 0);
	assert_int_equal(b->gate_wait, 0);
	assert_int_equal(f->set.gate.inflight, 0);
	assert_int_equal(gate_oldest(&f->set.gate), 0);
}

/* The writer commits several epochs in one transaction and says the
 * newest: every one up to it is finished at once. */
static void
test_finished_several_at_once(void **state)
{
	struct fixture *f = *state;
	struct conn *a = f->c[0], *b = f->c[1];
	queue(f, a, 4, 1);
	gate_sealed(&f->set, 1);
	queue(f, b, 6, 1);
	queue(f, a, 4, 1);
	gate_sealed(&f->set, 2);
	queue(f, a, 4, 1);
	gate_sealed(&f->set, 3);
	gate_finished(&f->set, 2);
	assert_int_equal(a->out.release, 8);
	assert_int_equal(b->out.release, 6);
	assert_int_equal(f->set.gate.inflight, 1);
	gate_finished(&f->set, 3);
	assert_int_equal(a->out.release, 12);
}

/* At GATE_INFLIGHT_MAX in flight no more is sealed: what the loop
 * appends then waits in the pending slot, and goes in flight once the
 * oldest is done. Many rounds of this carry the slots round the ring. */
static void
test_full_then_wraps(void **state)
{
	struct fixture *f = *state;
	struct conn *a = f->c[0], *b = f->c[1];
	uint64_t epoch = 0, finished = 0;
	for (int i = 0; i < GATE_INFLIGHT_MAX; i++) {
		assert_true(gate_can_seal(&f->set.gate));
		queue(f, a, 1, 1);
		gate_sealed(&f->set, ++epoch);
	}
	assert_false(gate_can_seal(&f->set.gate));
	/* b's output waits while nothing can be sealed. */
	queue(f, b, 9, 1);
	queue(f, a, 1, 1);
	/* a has a byte in every epoch; b's is the first sealed after the
	 * ring was full. */
	for (int round = 0; round < 3 * GATE_SLOTS; round++) {
		gate_finished(&f->set, ++finished);
		assert_int_equal(a->out.release, finished);
		assert_int_equal(b->out.release, finished > GATE_INFLIGHT_MAX ? 9 : 0);
		assert_true(gate_can_seal(&f->set.gate));
		gate_sealed(&f->set, ++epoch);
		assert_false(gate_can_seal(&f->set.gate));
		queue(f, a, 1, 1);
	}
	gate_finished(&f->set, epoch);
	assert_int_equal(a->out.release, epoch);
	assert_int_equal(a->out.pushed, epoch + 1);  /* pending still */
	gate_sealed(&f->set, ++epoch);
	gate_finished(&f->set, epoch);
	assert_int_equal(a->out.release, a->out.pushed);
	assert_int_equal(a->gate_wait, 0);
	assert_int_equal(f->set.gate.inflight, 0);
}

/* A conn that goes is off every list: finishing its epochs touches it
 * no more, and the others on the same lists are released as before. */
static void
test_forget(void **state)
{
	struct fixture *f = *state;
	struct conn *a = f->c[0], *b = f->c[1], *c = f->c[2];
	queue(f, a, 3, 1);
	queue(f, b, 3, 1);
	queue(f, c, 3, 1);
	gate_sealed(&f->set, 1);
	queue(f, b, 3, 1);
	gate_sealed(&f->set, 2);
	gate_forget(&f->set.gate, b);
	assert_int_equal(b->gate_wait, 0);
	gate_finished(&f->set, 2);
	assert_int_equal(a->out.release, 3);
	assert_int_equal(c->out.release, 3);
	assert_int_equal(b->out.release, 0);
	struct conn *x;
	while ((x = conn_set_next_flush(&f->set)) != NULL)
		assert_ptr_not_equal(x, b);
}

/* A conn with nothing new is not held for the pending epoch: a finished
 * epoch's release, touched again while others' events are pending, stays
 * where it is and waits for nothing. */
static void
test_nothing_new_waits_for_nothing(void **state)
{
	struct fixture *f = *state;
	struct conn *a = f->c[0];
	queue(f, a, 8, 1);
	gate_sealed(&f->set, 1);
	gate_finished(&f->set, 1);
	assert_int_equal(a->out.release, 8);
	queue(f, a, 0, 1);
	assert_int_equal(a->gate_wait, 0);
	assert_int_equal(a->out.release, 8);
}

/* The stream (a cluster node's publishes): its bytes are released with
 * the epoch holding the events they show, as a conn's, and bytes with
 * nothing pending behind them go at once, or behind what waits. */
static uint64_t stream_told;

static void
stream_released(void *ctx, uint64_t release)
{
	(void)ctx;
	stream_told = release;
}

static void
test_stream(void **state)
{
	struct fixture *f = *state;
	struct conn_gate *g = &f->set.gate;
	struct gate_stream s = { .released = stream_released };
	g->stream = &s;
	stream_told = 0;
	/* Nothing pending, nothing in flight: out at once. */
	gate_stream_touched(g, 10, 0);
	assert_int_equal(s.release, 10);
	assert_int_equal(stream_told, 10);
	/* Events pending: held until their epoch (1) is finished. */
	gate_stream_touched(g, 25, 1);
	gate_sealed(&f->set, 1);
	assert_int_equal(s.release, 10);
	/* Then more pending, sealed as 2 while 1 is in flight. */
	gate_stream_touched(g, 40, 1);
	gate_sealed(&f->set, 2);
	/* Bytes with nothing pending wait behind epoch 2. */
	gate_stream_touched(g, 45, 0);
	gate_finished(&f->set, 1);
	assert_int_equal(s.release, 25);
	assert_int_equal(stream_told, 25);
	stream_told = 0;
	gate_finished(&f->set, 1);  /* nothing new: not told */
	assert_int_equal(stream_told, 0);
	gate_finished(&f->set, 2);
	assert_int_equal(s.release, 45);
	assert_int_equal(stream_told, 45);
	/* Nothing pushed since: nothing to tell. */
	stream_told = 0;
	gate_stream_touched(g, 45, 0);
	assert_int_equal(stream_told, 0);
	g->stream = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_holds_nothing),
		cmocka_unit_test_setup_teardown(test_one_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finished_several_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_then_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_new_waits_for_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
