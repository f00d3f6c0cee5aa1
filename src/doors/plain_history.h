/* A room's history on the plain door: /history, /search, and the replay
 * of a room's last messages when a plain user joins it. Each line of
 * history is the line it was live, behind "<< TIME " (server-time, UTC),
 * so that no program takes it for something happening now; a count line
 * ends each answer. The answer is read on the worker pool and takes its
 * place in the conn's output at once: what the user is sent meanwhile
 * comes after it. */
#ifndef PARLEY_PLAIN_HISTORY_H
#define PARLEY_PLAIN_HISTORY_H

#include <stdint.h>

#include "chat/hub.h"
#include "net/conn.h"

enum plain_history_status {
	PH_OK,
	PH_OFF,      /* the server keeps no history */
	PH_BUSY,     /* the worker pool's queue is full: try again */
	PH_NOMEM,
};

/* The last n messages of room (a member's: the caller checked), and,
 * when text is not NULL, only those that match it (/search). */
enum plain_history_status plain_history_ask(struct conn *c, const struct room *room,
    uint32_t n, const char *text);
/* The last n messages between c's user's account and nick's (the
 * account of the user called nick, or the registered name nick): none
 * unless both are accounts. */
enum plain_history_status plain_history_private(struct conn *c, const char *nick,
    uint32_t n);
/* After c's user joined room: its last history-replay messages, if the
 * server keeps any; nothing when there are none. */
void plain_history_replay(struct conn *c, const struct room *room);

#endif
