#include "server/sweep.h"

#include <stdio.h>

#include "accounts/accounts.h"
#include "net/conn.h"
#include "net/gate.h"
#include "server/server.h"

#define SWEEP_MS 1000
/* "Ping timeout: %lu seconds". */
#define SWEEP_REASON_MAX 64

/* How long c has been silent at now, counted from held_at if later
 * (silence_from). */
static uint64_t
silent_for(const struct conn *c, uint64_t now, uint64_t held_at)
{
	return now - (c->last_input > held_at ? c->last_input : held_at);
}

/* Registration: a connection that has not become a user within
 * registration-timeout of arriving holds a slot for nothing; the list is
 * in order of arrival, so the sweep looks only at those that are late.
 * Not while the store holds the chat back (silence_from): the answer to
 * its CAP LS waits with every reply, and the client's CAP END for it. */
static void
sweep_unregistered(struct server *srv, uint64_t now, uint64_t held_at)
{
	uint64_t limit = (uint64_t)srv->cfg->registration_timeout * 1000u;
	if (limit == 0)
		return;
	for (struct conn *c = srv->conns.unregistered.head; c != NULL; c = c->next) {
		if (silent_for(c, now, held_at) < limit)
			break;
		if (c->state == CONN_OPEN && c->handshake_by == 0) /* a handshake has its own deadline */
			conn_close(c, "Registration timed out",
			    CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_FAREWELL);
	}
}

/* When a client's silence starts counting: its last input, or the last
 * sweep that found the store holding the chat back, if later. The epoch
 * in flight at the last sweep still is: every client's output queued
 * since waits for it (net/gate.h), the PING this sweep would send with
 * the rest, and past STORE_BEHIND_MAX their lines wait too, unread once
 * their framer is full. No client can answer then; the silence is the
 * server's. Without it a database stalled for ping-timeout dropped every
 * client that was due a PING meanwhile ("Ping timeout"), idle-timeout
 * those it kept from being read, and registration-timeout a newcomer
 * waiting for its answer to CAP LS. A sweep's second late at most: the
 * first sweep of a stall still judges. */
static uint64_t
silence_from(struct server *srv, uint64_t now)
{
	uint64_t oldest = gate_oldest(&srv->conns.gate);
	if (oldest != 0 && oldest == srv->sweep_oldest)
		srv->sweep_held_at = now;
	srv->sweep_oldest = oldest;
	return srv->sweep_held_at;
}

/* Silence: the list is ordered by last input, so the sweep looks only at
 * conns that really are silent, and wakes once a second at most whatever
 * the number of clients. A door that can (IRC) asks a silent client with
 * PING and drops it if it stays silent; idle-timeout drops anyone. */
static void
on_sweep(struct loop *loop, struct loop_timer *timer)
{
	struct server *srv = timer->data;
	const struct config *cfg = srv->cfg;
	uint64_t idle_limit = (uint64_t)cfg->idle_timeout * 1000u;
	/* With no IRC listener (plain or over WebSocket), nobody can be
	 * pinged. */
	uint64_t ping_after = cfg->irc_listen.n || cfg->web_listen.n
	    ? (uint64_t)cfg->ping_interval * 1000u
	    : UINT64_MAX / 2;
	uint64_t ping_limit = ping_after + (uint64_t)cfg->ping_timeout * 1000u;
	uint64_t first = idle_limit && idle_limit < ping_after ? idle_limit : ping_after;
	uint64_t now = loop_now(loop);
	uint64_t held_at = silence_from(srv, now);
	sweep_unregistered(srv, now, held_at);
	/* The admin command line may have written the accounts: a counter
	 * read by a worker, the names only when it moved. */
	accounts_sync(srv->accounts);
	for (struct conn *c = srv->conns.registered.head; c != NULL; c = c->next) {
		uint64_t idle = silent_for(c, now, held_at);
		if (idle < first)
			break;
		if (c->state != CONN_OPEN || c->handshake_by != 0)
			continue; /* a handshake has its own deadline */
		if (idle_limit && idle >= idle_limit)
			conn_close(c, "Idle timeout", CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_FAREWELL);
		else if (c->door->ping == NULL)
			continue;
		else if (idle >= ping_limit) {
			char reason[SWEEP_REASON_MAX];
			snprintf(reason, sizeof reason, "Ping timeout: %lu seconds",
			    (unsigned long)(idle / 1000));
			conn_close(c, reason, CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_FAREWELL);
		} else if (!c->pinged) {
			c->pinged = 1;
			c->door->ping(c);
		}
	}
	loop_timer_start(loop, timer, SWEEP_MS);
}

void
server_sweep_start(struct server *srv)
{
	loop_timer_init(&srv->idle_sweep, on_sweep, srv);
	loop_timer_start(srv->loop, &srv->idle_sweep, SWEEP_MS);
}

void
server_sweep_stop(struct server *srv)
{
	loop_timer_stop(srv->loop, &srv->idle_sweep);
}
