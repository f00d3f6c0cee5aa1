/* What the client knows about itself on the server, learnt only from what
 * the server says: its nickname, the rooms it is in and the current room.
 * That is enough to label what the user types and to rebuild the session
 * after a reconnect. */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include <stddef.h>

/* The server allows 30-byte nicknames, 50-byte room names and 50 rooms;
 * the caps leave room for a server configured more loosely. Anything
 * beyond them is simply not tracked. */
#define SESSION_NICK_MAX 64
#define SESSION_ROOM_MAX 128
#define SESSION_ROOMS_MAX 128

struct session {
	char nick[SESSION_NICK_MAX + 1];      /* "" until the server says */
	char want_nick[SESSION_NICK_MAX + 1]; /* asked for after a reconnect */
	char rooms[SESSION_ROOMS_MAX][SESSION_ROOM_MAX + 1];
	size_t nrooms;
	char current[SESSION_ROOM_MAX + 1];   /* "" when in no room */
	int welcomed;                         /* the server told us our nick */
};

/* Starts empty; want_nick may be NULL. */
void session_init(struct session *s, const char *want_nick);
/* Forgets the server's state (nick, rooms) after the connection is gone,
 * keeping want_nick. */
void session_clear(struct session *s);
/* Learns from one line from the server. Returns 1 when the nickname or
 * the current room changed. */
int session_observe(struct session *s, const char *line);

/* 1 when a and b are the same name for the server (ASCII case ignored). */
int session_same_name(const char *a, const char *b);

#endif
