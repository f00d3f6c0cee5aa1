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
 *                  until the pending epoch is finished, or the newest one
 *                  in flight it waits for is, or go now when none holds
 *                  anything it shows
 *   gate_sealed    the pending events became epoch E, now in flight
 *   gate_finished  every epoch up to E is finished (committed, or given
 *                  up after a failure): the conns they held are released
 *
 * A conn's sendq numbers its bytes (sendq.pushed) and writes only those
 * below its release, on every path to the socket (send, TLS, WebSocket).
 * Up to GATE_INFLIGHT_MAX epochs are in flight at once: the loop seals
 * the next while the writer commits the last (the writer takes every
 * epoch queued into its next transaction, so they still group-commit),
 * and with that many in flight, events pile into the pending one until
 * the oldest is done. Each epoch has a slot, in a ring of GATE_SLOTS (the
 * ones in flight, then the pending one); a conn keeps a mark per slot it
 * waits for (gate_mark[i]: its bytes up to there show events of slot i's
 * epoch or older) and sits on the list of the oldest of them. When that
 * epoch is finished its release rises to that mark and it moves to the
 * list of the next it waits for: its bytes go exactly when the epoch
 * holding their events is done, never earlier. Off (history off) every
 * release is SENDQ_UNGATED: nothing is held and nothing here runs.
 *
 * A stream is another way out for events: a cluster node's publishes to
 * Redis, which the other nodes deliver to their clients at once. Its
 * bytes are counted by its owner (pushed) and held as a conn's are: the
 * owner tells the gate how far it has pushed once a pass (before the
 * pending events are sealed), and hears through released how far it may
 * write, once the epochs holding what it shows are finished. So no
 * client on any node gets an event before it is committed. */
#ifndef PARLEY_GATE_H
#define PARLEY_GATE_H

#include <stdint.h>

struct conn;
struct conn_set;

#define GATE_INFLIGHT_MAX 4
#define GATE_SLOTS (GATE_INFLIGHT_MAX + 1)

struct gate_stream {
	uint8_t wait;                   /* the slots it waits for */
	uint64_t mark[GATE_SLOTS];      /* its bytes up to there show events
	                                 * of that slot's epoch or older */
	uint64_t release;               /* it may write up to here */
	void (*released)(void *ctx, uint64_t release);  /* release grew */
	void *ctx;
};

struct conn_gate {
	uint8_t on;                     /* history: output waits for its epoch */
	uint8_t head;                   /* the slot of the oldest epoch in flight */
	uint8_t inflight;               /* epochs in flight, in slots head.. on;
	                                 * the pending one's slot comes next */
	uint64_t epoch[GATE_SLOTS];     /* an in-flight slot's epoch number */
	struct conn *list[GATE_SLOTS];  /* conns whose oldest wait is that slot */
	struct gate_stream *stream;     /* NULL, or the one stream held */
};

/* The release a new conn starts with: nothing until the gate has seen it. */
uint64_t gate_initial_release(const struct conn_gate *g);
/* c has fresh output; pending: events wait to be sealed. */
void gate_touched(struct conn_gate *g, struct conn *c, int pending);
/* The stream has pushed this far (its count only grows), and events are
 * pending or not: as gate_touched, for the gate's stream; once a pass,
 * before the pending events are sealed. */
void gate_stream_touched(struct conn_gate *g, uint64_t pushed, int pending);
/* The oldest epoch in flight, which the next release waits for; 0 when
 * none is. */
uint64_t gate_oldest(const struct conn_gate *g);
/* Whether another epoch may go in flight now. */
int gate_can_seal(const struct conn_gate *g);
/* The pending events are now epoch (numbers only grow), in flight. Only
 * when gate_can_seal; 0 (nothing sealed) changes nothing. */
void gate_sealed(struct conn_set *set, uint64_t epoch);
/* Every epoch up to finished is done: who waited for them may write up
 * to their marks (they go on the flush list). */
void gate_finished(struct conn_set *set, uint64_t finished);
/* c is going: off the gate's lists. */
void gate_forget(struct conn_gate *g, struct conn *c);

#endif
