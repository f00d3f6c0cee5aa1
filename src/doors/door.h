/* A front door: turns lines from a connection into calls on the hub, and
 * hub events into lines in its own wire format. It sees a conn only through
 * conn.h, never a socket: its conns call it through the conn_handler it
 * embeds (net/conn.h). */
#ifndef PARLEY_DOOR_H
#define PARLEY_DOOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/histogram.h"
#include "net/conn.h"

struct accounts;
struct cluster;
struct config;
struct conn_set;
struct door;
struct hub;
struct store;
struct user;
struct worker_pool;

/* Each door's counters in its conns' set (conn_handler.stats_slot). */
enum door_slot { DOOR_SLOT_PLAIN, DOOR_SLOT_IRC, DOOR_SLOT_HTTP, DOOR_SLOT_METRICS };

/* What the doors count themselves, for the metrics door: plain counters
 * on the loop's thread. */
struct door_stats {
	struct histogram history_query_us; /* a history job, asked to answered */
	uint64_t messages_room;         /* said in rooms (hub events seen by the */
	uint64_t messages_private;      /* metrics' observer), and privately */
	unsigned metrics_conns;         /* the metrics door's conns now */
};

/* What a door may reach of the server, and nothing more: the server fills
 * one and gives it to every conn (conn->env), so no door needs to know
 * the server's insides. */
struct door_env {
	struct hub *hub;
	const struct config *cfg;
	struct worker_pool *workers;    /* slow work off the loop, or NULL */
	struct store *store;            /* history (store/store.h): queries go to
	                                 * workers; NULL with history off */
	struct accounts *accounts;      /* accounts/accounts.h: every call answers
	                                 * on the loop; NULL: no accounts */
	struct cluster *cluster;        /* cluster/cluster.h: the node's link to the
	                                 * others (nicknames are claimed there
	                                 * first); NULL: a single server */
	const unsigned long *nconns;    /* connections now, for LUSERS */
	const char *started;            /* when the server started, for RPL_CREATED */
	const struct door *const *doors; /* every door, NULL-terminated: door_find */
	struct door_stats *stats;       /* the doors' counters */
	/* For the metrics door only: the conns (their counters, and each
	 * one's door and transport) and the loop's passes. */
	const struct conn_set *conns;
};

/* The door called name ("irc"), or NULL: for a door that hands a conn to
 * another (the web door's WebSocket upgrade). */
const struct door *door_find(const struct door_env *env, const char *name);

static inline const struct door_env *
door_env(const struct conn *c)
{
	return c->env;
}

/* c's address as a key (never 0: the server's own), for what is shared
 * out by address (worker_submit_for). */
uintptr_t door_address_key(const struct conn *c);

static inline struct hub *
door_hub(const struct conn *c)
{
	return door_env(c)->hub;
}

static inline const struct config *
door_cfg(const struct conn *c)
{
	return door_env(c)->cfg;
}

struct door {
	const char *name;
	struct conn_handler conn;     /* what its conns call */
};

extern const struct door plain_door;
extern const struct door irc_door;
extern const struct door web_door;
extern const struct door metrics_door;

/* A read marker set for account on another node of a cluster: told to
 * the account's IRC connections here (irc_markread.c; ctx: the hub). */
void irc_markread_heard(void *ctx, const char *account, const char *target, int64_t at_ms);

/* Shared by the doors whose conns carry a user (plain, IRC). */

/* user_ops.disconnect: the user's conn says why and closes. */
void door_disconnect_user(struct user *u, const char *reason);
/* user_ops.hold for a user with a conn: its lines wait (conn_hold). */
int door_hold_user(struct user *u, int on);
/* conn_handler.who: the user's nickname, or NULL before it has one. */
const char *door_who(const struct conn *c);
/* Whether a conn's first line (raw, len bytes) is another protocol's: a
 * TLS record (a TLS client at a plain port) or an HTTP request line (a
 * browser, or a web page's request sent here, its body lines that a
 * chat door would take for a client's: cross-protocol requests). */
int door_foreign_line(const char *line, size_t len);

#endif
