/* The durability gate: a message is stored before anyone receives it, so
 * that no crash can lose a message somebody saw (issue 12). Fan-out is not
 * held up: the hub queues events on every sendq at once, as without
 * history. What waits is the writing of those bytes to the sockets.
 *
 * The store (store/store.h) takes events in epochs: the loop seals what
 * was appended since the last seal as epoch E, a writer thread commits
 * it, and the loop hears that E is finished. Net knows epochs only as
 * numbers, and the owner (the server) tells the gate what happens:
 *
 *   gate_touched   a conn has fresh output (it is on the flush list), and
 *                  events are pending or not: its bytes so far are held
 *                  until the next epoch is finished, or the one in flight
 *                  is, or go now when neither holds anything it shows
 *   gate_sealed    the pending events became epoch E (0: none after all)
 *   gate_finished  every epoch up to E is finished (committed, or given
 *                  up after a failure): the conns it held are released
 *
 * A conn's sendq numbers its bytes (sendq.pushed) and writes only those
 * below its release, on every path to the socket (writev, TLS, WebSocket).
 * One epoch is in flight at a time; the next is sealed when it is done,
 * so events pile into one larger commit while the disk is busy (group
 * commit) and a conn waits for at most two epochs: the one in flight (up
 * to gate_mark[GATE_SEALED]) and the next (up to gate_mark[GATE_NEXT]).
 * Off (history off) every release is SENDQ_UNGATED: nothing is held and
 * nothing here runs. */
#ifndef PARLEY_GATE_H
#define PARLEY_GATE_H

#include <stdint.h>

struct conn;
struct conn_set;

enum { GATE_SEALED = 0, GATE_NEXT = 1, GATE_LISTS = 2 };

struct conn_gate {
	uint8_t on;                     /* history: output waits for its epoch */
	uint64_t epoch;                 /* the epoch in flight, or 0 */
	struct conn *list[GATE_LISTS];  /* conns waiting for it, for the next */
};

/* The release a new conn starts with: nothing until the gate has seen it. */
uint64_t gate_initial_release(const struct conn_gate *g);
/* c has fresh output; pending: events wait to be sealed. */
void gate_touched(struct conn_gate *g, struct conn *c, int pending);
/* The pending events are now epoch (it is in flight), or were nothing
 * (0: what waited for them goes now). Only with no epoch in flight. */
void gate_sealed(struct conn_set *set, uint64_t epoch);
/* Every epoch up to finished is done: who waited for them may write
 * (they go on the flush list). */
void gate_finished(struct conn_set *set, uint64_t finished);
/* c is going: off the gate's lists. */
void gate_forget(struct conn_gate *g, struct conn *c);

#endif
