/* Read markers (IRCv3 draft/read-marker): MARKREAD target [timestamp=T]
 * gets or sets how far its user has read a room or a conversation, and
 * the server tells it after every JOIN, before RPL_ENDOFNAMES.
 *
 * A logged-in user's markers are its account's, in the database: read
 * and written on the worker pool, the answer sent where the command's
 * reply waits; a marker set goes to every connection logged in as that
 * account with the capability, so reading on one device clears another's
 * unread count. A marker only moves forward: an older time gets the one
 * kept. Without an account (or without a database) a connection keeps
 * its own markers, IRC_MARKS_MAX of them, while it lasts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/worker.h"
#include "chat/names.h"
#include "doors/door_history.h"
#include "doors/irc/irc.h"
#include "doors/irc/irc_history_parse.h"

/* A connection's own markers: the oldest set goes first past this. */
#define IRC_MARKS_MAX 64

struct irc_marks {
	unsigned n;
	struct {
		char target[STORE_TARGET_MAX + 1];   /* folded */
		int64_t at_ms;
	} e[IRC_MARKS_MAX];
};

void
irc_markread_free(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	free(s->marks);
	s->marks = NULL;
}

/* "MARKREAD target timestamp=T" (at_ms >= 0) or "MARKREAD target *". */
void
irc_markread_send(struct conn *c, const char *target, int64_t at_ms)
{
	if (at_ms < 0) {
		irc_send(c, ":%s MARKREAD %s *", irc_server_name(c), target);
		return;
	}
	char when[IH_TIME_LEN + 1];
	ih_time_write(at_ms, when);
	irc_send(c, ":%s MARKREAD %s timestamp=%s", irc_server_name(c), target, when);
}

static int
marks_find(const struct irc_marks *m, const char *key)
{
	for (unsigned i = 0; m != NULL && i < m->n; i++)
		if (strcmp(m->e[i].target, key) == 0)
			return (int)i;
	return -1;
}

/* The connection's own marker of target: its time, or -1. */
static int64_t
own_get(struct conn *c, const char *target)
{
	char key[STORE_TARGET_MAX + 1];
	name_fold(key, target);
	const struct irc_marks *m = irc_session(c)->marks;
	int i = marks_find(m, key);
	return i >= 0 ? m->e[i].at_ms : -1;
}

/* Sets it (forward only); the marker after, or -1 out of memory. */
static int64_t
own_set(struct conn *c, const char *target, int64_t at_ms)
{
	struct irc_session *s = irc_session(c);
	if (s->marks == NULL && (s->marks = calloc(1, sizeof *s->marks)) == NULL)
		return -1;
	struct irc_marks *m = s->marks;
	char key[STORE_TARGET_MAX + 1];
	name_fold(key, target);
	int i = marks_find(m, key);
	if (i >= 0) {
		if (m->e[i].at_ms < at_ms)
			m->e[i].at_ms = at_ms;
		return m->e[i].at_ms;
	}
	if (m->n == IRC_MARKS_MAX) {
		memmove(&m->e[0], &m->e[1], (IRC_MARKS_MAX - 1) * sizeof m->e[0]);
		m->n--;
	}
	snprintf(m->e[m->n].target, sizeof m->e[0].target, "%s", key);
	m->e[m->n].at_ms = at_ms;
	return m->e[m->n++].at_ms;
}

/* Whether c's markers are its account's, in the database. */
static int
kept(struct conn *c)
{
	return c->user != NULL && c->user->account[0] != '\0' && door_env(c)->store != NULL &&
	    door_env(c)->workers != NULL;
}

int
irc_markread_joined(struct conn *c, const struct room *room)
{
	if (!(irc_session(c)->caps & CAP_READ_MARKER))
		return 0;
	if (kept(c))
		return 1;
	irc_markread_send(c, room->name, own_get(c, room->name));
	return 0;
}

/* ---- An account's markers, on a worker ---- */

struct mark_job {
	struct irc_reply *reply;
	struct hub *hub;
	struct cluster *cluster;             /* NULL: a single server */
	struct store *store;
	char account[ACCOUNT_LEN_MAX + 1];
	char target[STORE_TARGET_MAX + 1];   /* as asked */
	int64_t at_ms;                       /* set: the time given; then the marker */
	int set;
	enum store_status st;
};

static void
mark_work(void *arg)
{
	struct mark_job *j = arg;
	if (j->set)
		j->st = store_marker_set(j->store, j->account, j->target, j->at_ms, &j->at_ms);
	else
		j->st = store_marker_get(j->store, j->account, j->target, &j->at_ms);
}

/* A marker set: every connection logged in as account that has the
 * capability is told, but c (its reply says it; NULL: gone). One walk of
 * the users: the hub keeps no index of an account's users. Those of other
 * nodes are told by their node (cluster_marker_tell). */
static void
tell_others(struct hub *hub, struct conn *c, const char *account, const char *target,
    int64_t at_ms)
{
	struct hub_cursor cur = { 0 };
	struct user *u;
	while ((u = hub_cursor_user(hub, &cur)) != NULL) {
		struct conn *other = u->door;
		if (u->remote || other == NULL || other == c || other->door != &irc_door.conn ||
		    !hub_logged_in_as(u, account) || irc_session(other) == NULL ||
		    !(irc_session(other)->caps & CAP_READ_MARKER))
			continue;
		irc_markread_send(other, target, at_ms);
	}
}

void
irc_markread_heard(void *ctx, const char *account, const char *target, int64_t at_ms)
{
	tell_others(ctx, NULL, account, target, at_ms);
}

static void
mark_done(void *arg, int cancelled)
{
	struct mark_job *j = arg;
	struct conn *c = cancelled ? NULL : irc_reply_resume(j->reply);
	if (c != NULL) {
		if (j->st == STORE_FAILED)
			irc_fail(c, "MARKREAD", "INTERNAL_ERROR", j->target,
			    "The read marker could not be read or kept");
		else
			irc_markread_send(c, j->target, j->st == STORE_OK ? j->at_ms : -1);
	}
	/* The others are told even when the setter has gone. */
	if (!cancelled && j->set && j->st == STORE_OK) {
		tell_others(j->hub, c, j->account, j->target, j->at_ms);
		cluster_marker_tell(j->cluster, j->account, j->target, j->at_ms);
	}
	irc_reply_done(j->reply);
	free(j);
}

static int
submit(struct conn *c, const char *target, int set, int64_t at_ms)
{
	struct mark_job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return -1;
	j->store = door_env(c)->store;
	j->hub = door_hub(c);
	j->cluster = door_env(c)->cluster;
	j->set = set;
	j->at_ms = at_ms;
	memcpy(j->account, c->user->account, sizeof j->account);
	snprintf(j->target, sizeof j->target, "%s", target);
	if ((j->reply = irc_reply_keep(c)) == NULL) {
		free(j);
		return 0; /* the conn is closing */
	}
	if (worker_submit(door_env(c)->workers, mark_work, mark_done, j) < 0) {
		irc_reply_done(j->reply);
		free(j);
		return -1;
	}
	return 0;
}

void
irc_cmd_markread(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1) {
		irc_fail(c, "MARKREAD", "NEED_MORE_PARAMS", NULL, "Missing parameters");
		return;
	}
	const char *target = m->params[0];
	size_t nick_len = door_cfg(c)->nick_len;
	if (!name_room_valid(target, ROOM_LEN_MAX) && !name_nick_valid(target, nick_len)) {
		irc_fail(c, "MARKREAD", "INVALID_PARAMS", target, "Invalid target");
		return;
	}
	/* A room is shown as it is spelled. */
	struct room *room = hub_room_seen(door_hub(c), c->user, target);
	if (room != NULL)
		target = room->name;
	int set = m->nparams > 1;
	int64_t at_ms = -1;
	if (set && (strncmp(m->params[1], "timestamp=", 10) != 0 ||
	    ih_time_parse(m->params[1] + 10, &at_ms) != 0)) {
		irc_fail(c, "MARKREAD", "INVALID_PARAMS", m->params[1], "Invalid timestamp");
		return;
	}
	if (kept(c)) {
		if (submit(c, target, set, at_ms) < 0)
			irc_fail(c, "MARKREAD", "INTERNAL_ERROR", target, "The server is busy; try again");
		return;
	}
	if (set && (at_ms = own_set(c, target, at_ms)) < 0) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	irc_markread_send(c, target, set ? at_ms : own_get(c, target));
}
