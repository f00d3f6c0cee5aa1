/* The conns one owner holds (the server), and what they share: the loop,
 * the limits every conn obeys, and the work left for the owner's
 * before-sleep step (conns with fresh output, conns to reap). A conn puts
 * itself on these lists; the owner takes it off and flushes or reaps it,
 * so a conn never disappears under a caller's feet. */
#ifndef PARLEY_CONN_SET_H
#define PARLEY_CONN_SET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/conn_stats.h"
#include "net/gate.h"

struct conn;
struct loop;

/* Conns linked through their prev and next. */
struct conn_list {
	struct conn *head, *tail;
};

/* What every conn of a set obeys (the configuration's, named once here). */
struct conn_limits {
	size_t sendq;                 /* bytes queued per conn (sendq_bound doors) */
	size_t max_line;              /* longest line, for doors that name none */
	double flood_rate;            /* lines per second; 0: no flood control */
	double flood_burst;           /* lines taken at once */
	uint64_t handshake_ms;        /* for TLS, a PROXY header, an HTTP request */
};

struct conn_set {
	struct loop *loop;
	struct conn_limits limits;
	/* A registered conn moves to the tail on input, so the list is
	 * ordered by last input and an idle sweep stops at the first conn
	 * that is not idle. An unregistered one stays where it came in, so
	 * that list is ordered by arrival, the order of the registration
	 * deadlines. */
	struct conn_list registered;
	struct conn_list unregistered;
	unsigned long count;
	/* Conns with fresh output, in the order they got it: the receivers
	 * of the first message read in a pass are written first. */
	struct conn *flush_list;
	struct conn *flush_tail;      /* its last, to append in O(1) */
	struct conn *reap_list;       /* conns to close and free */
	struct conn *reap_kept;       /* ... that were on the flush list too */
	int going_away;               /* the owner is shutting down */
	struct conn_stats stats;      /* what they have done, for the metrics */
	struct conn_gate gate;        /* output waits for the events it shows to be
	                               * stored (gate.h); off without history */
	/* The owner's say when a trusted proxy names a conn's client (ss, or
	 * NULL: the proxy speaks for itself): 0, or -1 when it will not take
	 * that one (and has closed c). */
	int (*readdress)(void *owner, struct conn *c, const struct sockaddr_storage *ss);
	void *owner;
	/* The owner's say whether a chat door's lines must wait now (the
	 * store is behind: server.c), or NULL. A conn that found so waits
	 * (its lines_wait) until conn_set_lines_go. */
	int (*lines_wait)(void *ctx);
	void *lines_ctx;
	int lines_waiting;            /* some conn waits for conn_set_lines_go */
};

void conn_set_init(struct conn_set *set, struct loop *loop, const struct conn_limits *limits);

/* c joins the set, unregistered; conn_set_remove takes it out. */
void conn_set_add(struct conn_set *set, struct conn *c);
void conn_set_remove(struct conn_set *set, struct conn *c);
/* c had input: to the tail of the registered list. */
void conn_set_touched(struct conn_set *set, struct conn *c);
/* c's door has made its user: the registration deadline is met. */
void conn_set_registered(struct conn_set *set, struct conn *c);
/* Every conn in the registered list, for what concerns them all (a
 * shutdown). */
void conn_set_merge(struct conn_set *set);

/* For the before-sleep step. */
void conn_set_flush_later(struct conn_set *set, struct conn *c);
/* Whatever lines_wait held back goes on, at the flush step. */
void conn_set_lines_go(struct conn_set *set);
void conn_set_reap_later(struct conn_set *set, struct conn *c);
/* Whether either list has work. */
int conn_set_busy(const struct conn_set *set);
/* The next conn to flush, taken off the list, or NULL. */
struct conn *conn_set_next_flush(struct conn_set *set);
/* Every conn on the flush list is shown to keep, in order; those it
 * says 0 for leave the list (they are put back when they have work). */
void conn_set_flush_sift(struct conn_set *set, int (*keep)(struct conn *c, void *arg),
    void *arg);
/* The next conn to reap, taken off the list, or NULL; a conn still on
 * the flush list waits for the next round (it is back on the list then). */
struct conn *conn_set_next_reap(struct conn_set *set);

#endif
