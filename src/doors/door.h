/* A front door: turns lines from a connection into calls on the hub, and
 * hub events into lines in its own wire format. It sees a conn only through
 * conn.h, never a socket. */
#ifndef PARLEY_DOOR_H
#define PARLEY_DOOR_H

#include <stddef.h>

struct conn;

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
