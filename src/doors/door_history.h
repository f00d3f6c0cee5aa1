/* A room's history as the doors read it: who may read what, the queries
 * a door hands to the worker pool, and a stored event made a msg again so
 * that each door's own renderer shows it as it showed it live.
 *
 * Who may read: the members of a room, all of its history (from before
 * they joined too: that is what replay on join and scrolling back are
 * for). Nobody else, not even of a public room: joining is free there,
 * and members see who joins, so whoever reads a room's past is as
 * visible to the room as whoever listens to its present. docs/protocol.md
 * says so to users. */
#ifndef PARLEY_DOOR_HISTORY_H
#define PARLEY_DOOR_HISTORY_H

#include <stddef.h>

#include "chat/bounds.h"
#include "chat/hub.h"
#include "chat/msg.h"
#include "doors/door.h"
#include "store/store.h"

/* One query and its answer. Everything a worker reads is the job's own. */
struct door_hquery {
	struct store_query q;
	struct store_result r;
	char target[STORE_TARGET_MAX + 1]; /* the room folded, or a private
	                                 * conversation's key: the store's key */
	char name[ROOM_LEN_MAX + 1];     /* the room as it is spelled (or the nick
	                                 * asked about), to show */
	char *text, *from;               /* SEARCH's, owned */
	char **targets;                  /* TARGETS, SEARCH of every room: owned */
	size_t ntargets;
};

struct door_hjob;
/* On the loop, when the job is done (cancelled: the server stops and
 * nothing ran); it frees the job (door_hjob_free). */
typedef void door_hjob_done(struct door_hjob *j, int cancelled);

/* A read marker looked up beside the queries (draft/read-marker). */
struct door_hmark {
	char target[STORE_TARGET_MAX + 1]; /* as the marker is kept (folded) */
	char name[ROOM_LEN_MAX + 1];     /* as shown */
	int64_t at_ms;
	enum store_status st;            /* STORE_NOT_FOUND: none set */
	uint8_t names;                   /* JOIN: NAMES follows it */
};

/* History jobs one conn may have in flight: at the last, its next lines
 * wait (conn_hold) until one is done. Without it a client's pipelined
 * queries each took a place in the pool's one queue (1,024 for the
 * whole server) and held it after the client had gone: one conn filled
 * it, and everyone's history and replay were refused "busy"
 * (bench/results/2026-12-02-s11-attack.md). */
#define DOOR_HJOBS_MAX 4
/* A query waits this long at most on its worker for the events said
 * before it was asked to be committed (door_hjob_submit). */
#define DOOR_HJOB_WAIT_MS 2000

struct door_hjob {
	struct store *store;
	door_hjob_done *done;
	void *ctx;                       /* the door's: whom the answer is for */
	struct histogram *latency;       /* where its time is counted, or NULL */
	uint64_t asked_us;               /* when it was submitted */
	uint64_t epoch;                  /* what it must see: the events said before it */
	char account[ACCOUNT_LEN_MAX + 1]; /* whose markers */
	struct door_hmark *marks;        /* nmarks of them, owned, or NULL */
	size_t nmarks;
	size_t n;
	struct door_hquery q[];
};

/* A job of n queries (at most HUB_ROOMS_PER_USER; none is a job of
 * markers only), zeroed; NULL when out of memory. */
struct door_hjob *door_hjob_new(size_t n);
void door_hjob_free(struct door_hjob *j);
/* A job of one query of kind, at most limit events, about room, or when
 * room is NULL about every room u is in; NULL when out of memory. */
struct door_hjob *door_hjob_one(enum store_query_kind kind, const struct room *room,
    const struct user *u, uint32_t limit);
/* Runs every query of j on a worker, then j->done on the loop. -1 when
 * the server keeps no history or the pool's queue is full (it never
 * waits): j is still the caller's then. It reads what was said before it
 * was asked: `hello` then `/history` in one write shows the hello (its
 * worker waits for the epoch holding it to be committed, at most
 * DOOR_HJOB_WAIT_MS; before, the query often ran first). The pool takes the jobs of c's
 * address in turn with everyone else's (worker_submit_for): one address
 * asking a thousand slow searches delays another's query by one. */
int door_hjob_submit(const struct conn *c, struct door_hjob *j, door_hjob_done *done,
    void *ctx);

/* q asks about u's private conversation with nick: with the account of
 * the user called nick, or else of the registered name nick; else the
 * one-sided one with the nick, kept for u's account alone. -1 when u is
 * not logged in: nothing is kept for u then. */
int door_hquery_private(struct hub *hub, struct door_hquery *q, const struct user *u,
    const char *nick);
/* The name a stored target is shown by to viewer: a room's name as
 * spelled (while it exists), or the other account of a private
 * conversation as registered, or the nick of a one-sided one; into out
 * (ROOM_LEN_MAX + 1). */
void door_history_shown(struct hub *hub, const struct user *viewer, const char *target,
    char *out);

/* The room called name if u may read its history, else NULL. */
struct room *door_history_room(struct hub *hub, const struct user *u, const char *name);
/* q asks about room. */
void door_hquery_room(struct door_hquery *q, const struct room *room);
/* q asks about every room u is in (TARGETS; SEARCH with no room): 0,
 * or -1 when out of memory. */
int door_hquery_user_rooms(struct door_hquery *q, const struct user *u);
/* q asks for the newest events up to now: BEFORE the msgid after the
 * last one hub gave, so what happens after, even in the same millisecond,
 * is only sent live, after the answer (replay on join). */
void door_hquery_until_now(struct door_hquery *q, const struct hub *hub);
/* q looks for text (and from, if not NULL): 0, or -1 out of memory. */
int door_hquery_search(struct door_hquery *q, const char *text, const char *from);

/* A stored event of the room called room, made a msg for a renderer
 * (its msgid, time, sender, bot and client tags as they were; a private
 * one to the nick it was sent to then, room ignored); NULL when
 * it was taken back (REDACT), is of a kind no door shows, or out of
 * memory. */
struct msg *door_history_msg(const struct store_event *e, const char *room);

/* Of an answer's events, those a reply of at most budget bytes keeps
 * when each costs size(i): the first *from, *n of them, counted from the
 * end the query started at (BEFORE and LATEST keep the newest, AFTER and
 * BETWEEN forward the oldest), so that the next page goes on from there. */
void door_history_window(const struct store_query *q, const size_t *sizes, size_t count,
    size_t budget, size_t *from, size_t *n);

#endif
