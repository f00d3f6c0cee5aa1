/* The durability gate (gate.h): which conns wait for which epoch, and
 * how far each may write once it is finished. */
#include "net/gate.h"

#include "net/conn.h"
#include "net/conn_set.h"

static void
gate_link(struct conn_gate *g, int i, struct conn *c)
{
	if (c->gate_on & (1u << i))
		return;
	c->gate_on |= (uint8_t)(1u << i);
	c->gate_prev[i] = NULL;
	c->gate_next[i] = g->list[i];
	if (g->list[i] != NULL)
		g->list[i]->gate_prev[i] = c;
	g->list[i] = c;
}

static void
gate_unlink(struct conn_gate *g, int i, struct conn *c)
{
	if (!(c->gate_on & (1u << i)))
		return;
	c->gate_on &= (uint8_t)~(1u << i);
	if (c->gate_prev[i] != NULL)
		c->gate_prev[i]->gate_next[i] = c->gate_next[i];
	else
		g->list[i] = c->gate_next[i];
	if (c->gate_next[i] != NULL)
		c->gate_next[i]->gate_prev[i] = c->gate_prev[i];
	c->gate_prev[i] = c->gate_next[i] = NULL;
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
	if (pending) {
		/* Its bytes may show a pending event: they wait for the next
		 * epoch (what waits for the one in flight still goes first). */
		c->gate_mark[GATE_NEXT] = pushed;
		gate_link(g, GATE_NEXT, c);
	} else if (c->gate_on & (1u << GATE_NEXT)) {
		/* Cannot be: the next epoch's conns are sealed with it, and
		 * nothing was pending only when there were none. Held on. */
		c->gate_mark[GATE_NEXT] = pushed;
	} else if (c->gate_on & (1u << GATE_SEALED)) {
		/* Nothing new to wait for, but behind what waits. */
		c->gate_mark[GATE_SEALED] = pushed;
	} else
		c->out.release = pushed;
}

/* Those waiting for the sealed epoch may write what it held back. */
static void
gate_release(struct conn_set *set)
{
	struct conn_gate *g = &set->gate;
	struct conn *c;
	g->epoch = 0;
	while ((c = g->list[GATE_SEALED]) != NULL) {
		gate_unlink(g, GATE_SEALED, c);
		if (c->gate_mark[GATE_SEALED] > c->out.release)
			c->out.release = c->gate_mark[GATE_SEALED];
		conn_set_flush_later(set, c);
	}
}

void
gate_sealed(struct conn_set *set, uint64_t epoch)
{
	struct conn_gate *g = &set->gate;
	struct conn *c;
	while ((c = g->list[GATE_NEXT]) != NULL) {
		gate_unlink(g, GATE_NEXT, c);
		c->gate_mark[GATE_SEALED] = c->gate_mark[GATE_NEXT];
		gate_link(g, GATE_SEALED, c);
	}
	g->epoch = epoch;
	if (epoch == 0)
		gate_release(set);
}

void
gate_finished(struct conn_set *set, uint64_t finished)
{
	if (set->gate.epoch != 0 && finished >= set->gate.epoch)
		gate_release(set);
}

void
gate_forget(struct conn_gate *g, struct conn *c)
{
	for (int i = 0; i < GATE_LISTS; i++)
		gate_unlink(g, i, c);
}
