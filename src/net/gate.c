/* The durability gate (gate.h): which conns wait for which epoch, and
 * how far each may write once it is finished. */
#include "net/gate.h"

#include <stdlib.h>

#include "net/conn.h"
#include "net/conn_set.h"

/* n at most GATE_SLOTS: one subtraction, not a division (this runs
 * several times for every conn with output, every pass). */
static unsigned
slot_after(unsigned slot, unsigned n)
{
	unsigned s = slot + n;
	return s >= GATE_SLOTS ? s - GATE_SLOTS : s;
}

/* The slot the pending events will be sealed in. */
static unsigned
pending_slot(const struct conn_gate *g)
{
	return slot_after(g->head, g->inflight);
}

/* Of the slots c waits for, the oldest (or with newest, the newest), in
 * ring order from the oldest epoch in flight to the pending one. */
static unsigned
slot_of(const struct conn_gate *g, unsigned wait, int newest)
{
	for (unsigned k = 0; k <= g->inflight; k++) {
		unsigned s = newest ? slot_after(g->head, g->inflight - k) : slot_after(g->head, k);
		if (wait & (1u << s))
			return s;
	}
	abort();  /* a conn or stream waits for a slot not in use */
}

static unsigned
wait_slot(const struct conn_gate *g, const struct conn *c, int newest)
{
	return slot_of(g, c->gate_wait, newest);
}

static void
gate_link(struct conn_gate *g, unsigned slot, struct conn *c)
{
	c->gate_list = (uint8_t)slot;
	c->gate_prev = NULL;
	c->gate_next = g->list[slot];
	if (g->list[slot] != NULL)
		g->list[slot]->gate_prev = c;
	g->list[slot] = c;
}

static void
gate_unlink(struct conn_gate *g, struct conn *c)
{
	unsigned slot = c->gate_list;
	if (c->gate_prev != NULL)
		c->gate_prev->gate_next = c->gate_next;
	else
		g->list[slot] = c->gate_next;
	if (c->gate_next != NULL)
		c->gate_next->gate_prev = c->gate_prev;
	c->gate_prev = c->gate_next = NULL;
}

uint64_t
gate_initial_release(const struct conn_gate *g)
{
	return g->on ? 0 : SENDQ_UNGATED;
}

void
gate_touched(struct conn_gate *g, struct conn *c, int pending)
{
	if (!g->on)
		return;
	uint64_t pushed = c->out.pushed;
	if (c->gate_wait == 0) {
		if (!pending) {
			c->out.release = pushed;
			return;
		}
		if (pushed <= c->out.release)
			return;  /* nothing new that could show a pending event */
		unsigned p = pending_slot(g);
		c->gate_wait = (uint8_t)(1u << p);
		c->gate_mark[p] = pushed;
		gate_link(g, p, c);
		return;
	}
	unsigned newest = wait_slot(g, c, 1);
	if (pushed <= c->gate_mark[newest])
		return;
	if (pending) {
		/* Its new bytes may show a pending event: they wait for the
		 * pending epoch (what waits for older ones still goes first). */
		unsigned p = pending_slot(g);
		c->gate_wait |= (uint8_t)(1u << p);
		c->gate_mark[p] = pushed;
	} else {
		/* Nothing new to wait for, but behind what waits. */
		c->gate_mark[newest] = pushed;
	}
}

void
gate_stream_touched(struct conn_gate *g, uint64_t pushed, int pending)
{
	struct gate_stream *s = g->stream;
	if (!g->on || s == NULL)
		return;
	unsigned p = pending_slot(g);
	if (s->wait == 0) {
		if (pushed <= s->release)
			return;
		if (!pending) {
			s->release = pushed;
			s->released(s->ctx, pushed);
			return;
		}
		s->wait = (uint8_t)(1u << p);
		s->mark[p] = pushed;
		return;
	}
	unsigned newest = slot_of(g, s->wait, 1);
	if (pushed <= s->mark[newest])
		return;
	/* As a conn's bytes: behind what waits, for the pending epoch when
	 * there is one. */
	unsigned slot = pending ? p : newest;
	s->wait |= (uint8_t)(1u << slot);
	s->mark[slot] = pushed;
}

uint64_t
gate_oldest(const struct conn_gate *g)
{
	return g->inflight > 0 ? g->epoch[g->head] : 0;
}

int
gate_can_seal(const struct conn_gate *g)
{
	return g->inflight < GATE_INFLIGHT_MAX;
}

void
gate_sealed(struct conn_set *set, uint64_t epoch)
{
	struct conn_gate *g = &set->gate;
	if (epoch == 0)
		return;
	if (!gate_can_seal(g))
		abort();  /* the owner seals only while there is room */
	/* Who waited for the pending slot waits for this epoch now: the
	 * slot is the same, only its number is known. */
	g->epoch[pending_slot(g)] = epoch;
	g->inflight++;
}

void
gate_finished(struct conn_set *set, uint64_t finished)
{
	struct conn_gate *g = &set->gate;
	struct gate_stream *s = g->stream;
	uint64_t was = s != NULL ? s->release : 0;
	while (g->inflight > 0 && g->epoch[g->head] <= finished) {
		unsigned slot = g->head;
		g->head = (uint8_t)slot_after(slot, 1);
		g->inflight--;
		if (s != NULL && (s->wait & (1u << slot))) {
			if (s->mark[slot] > s->release)
				s->release = s->mark[slot];
			s->wait &= (uint8_t)~(1u << slot);
		}
		struct conn *c;
		while ((c = g->list[slot]) != NULL) {
			/* The next conn's lines are asked for while this one's
			 * are used: a list of a thousand receivers is a walk of
			 * cold lines otherwise. */
			struct conn *next = c->gate_next;
			if (next != NULL) {
				__builtin_prefetch(&next->gate_mark[slot]);
				__builtin_prefetch(&next->gate_next);
				__builtin_prefetch(&next->out);
			}
			gate_unlink(g, c);
			if (c->gate_mark[slot] > c->out.release)
				c->out.release = c->gate_mark[slot];
			c->gate_wait &= (uint8_t)~(1u << slot);
			/* Bytes after the mark wait for a later epoch still. */
			if (c->gate_wait != 0)
				gate_link(g, wait_slot(g, c, 0), c);
			conn_set_flush_later(set, c);
		}
	}
	if (s != NULL && s->release > was)
		s->released(s->ctx, s->release);
}

void
gate_forget(struct conn_gate *g, struct conn *c)
{
	if (c->gate_wait == 0)
		return;
	gate_unlink(g, c);
	c->gate_wait = 0;
}
