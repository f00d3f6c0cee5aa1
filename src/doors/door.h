/* A front door: turns lines from a connection into calls on the hub, and
 * hub events into lines in its own wire format. It sees a conn only through
 * conn.h, never a socket. */
#ifndef PARLEY_DOOR_H
#define PARLEY_DOOR_H

#include <stddef.h>

#include "net/conn.h"

struct config;
struct door;
struct hub;
struct loop;
struct worker_pool;

/* What a door may reach of the server, and nothing more: the server fills
 * one and gives it to every conn (conn->env), so no door needs to know
 * the server's insides. */
struct door_env {
	struct hub *hub;
	const struct config *cfg;
	struct loop *loop;              /* loop_now, for idle times */
	struct worker_pool *workers;    /* slow work off the loop, or NULL */
	const unsigned long *nconns;    /* connections now, for LUSERS */
	const char *started;            /* when the server started, for RPL_CREATED */
	const struct door *const *doors; /* every door, NULL-terminated: door_find */
};

/* The door called name ("irc"), or NULL: for a door that hands a conn to
 * another (the web door's WebSocket upgrade). */
const struct door *door_find(const struct door_env *env, const char *name);

static inline const struct door_env *
door_env(const struct conn *c)
{
	return c->env;
}

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
	/* Longest line this door reads (0: the max-line option). */
	size_t max_line;
	/* HTTP: no flood control and no sendq bound (it sends our own files),
	 * and the request is on the handshake deadline. */
	int unmetered;
	/* A connection was accepted: greet it, make its user. */
	void (*open)(struct conn *c);
	/* One complete line, NUL-terminated, ending removed. */
	void (*line)(struct conn *c, char *line, size_t len);
	/* A line over max-line bytes was discarded. */
	void (*overlong)(struct conn *c);
	/* The connection is ending for reason: drop the user from the hub. */
	void (*closed)(struct conn *c, const char *reason);
	/* The server is going down: say so (the conn then closes). */
	void (*shutdown)(struct conn *c);
	/* The server is closing this one connection for reason (a timeout, a
	 * KILL): the last line it gets. */
	void (*farewell)(struct conn *c, const char *reason);
	/* The client has been silent for ping-interval: ask it (NULL: the
	 * door has no way to, and only idle-timeout applies). */
	void (*ping)(struct conn *c);
	/* The server will not take a connection (why: "the server is full"):
	 * what tells the client so in the door's own words, into buf, as
	 * snprintf does. The listener writes it once, without waiting, and
	 * closes. */
	int (*refuse)(char *buf, size_t cap, const char *host, const char *why);
	/* The conn's door state is no longer needed (NULL: none kept). */
	void (*free)(struct conn *c);
};

extern const struct door plain_door;
extern const struct door irc_door;
extern const struct door web_door;

#endif
