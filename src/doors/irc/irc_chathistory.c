/* A room's history over IRC: CHATHISTORY (IRCv3 draft/chathistory, with
 * draft/event-playback), SEARCH (soju.im/search), and the replay of a
 * room's last messages on JOIN to a client with batch and server-time
 * but not draft/chathistory (which asks for itself).
 *
 * The store is read on the worker pool (doors/door_history.h): a command
 * keeps its reply (irc_reply_keep), so its label and batch hold and what
 * the client is sent meanwhile waits behind the answer; the job's done
 * sends it on the loop. A stored event is made a msg again and rendered
 * by irc_render.c as it was live, with its time and msgid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/names.h"
#include "doors/door_history.h"
#include "doors/irc/irc.h"
#include "doors/irc/irc_history_parse.h"

/* A history reply takes at most this share of the client's sendq: the
 * events past it are left for the next page (the client asks again from
 * the last one it got), never a disconnection for asking. */
#define IRC_HISTORY_SENDQ_SHARE 2
/* "@batch=ch4294967295;" */
#define IRC_HISTORY_BATCH_TAG_MAX 24
#define IRC_HISTORY_BATCH "chathistory"
#define IRC_HISTORY_TARGETS_BATCH "draft/chathistory-targets"
#define IRC_SEARCH_BATCH "soju.im/search"
#define IRC_HISTORY_FAIL_TEXT "Messages could not be retrieved"

static const char *const sub_names[] = {
	[SQ_LATEST] = "LATEST", [SQ_BEFORE] = "BEFORE", [SQ_AFTER] = "AFTER",
	[SQ_AROUND] = "AROUND", [SQ_BETWEEN] = "BETWEEN", [SQ_TARGETS] = "TARGETS",
	[SQ_SEARCH] = "SEARCH",
};

static size_t
budget_of(struct conn *c)
{
	return door_cfg(c)->sendq / IRC_HISTORY_SENDQ_SHARE;
}

/* A growing byte buffer for one batch, made into one wire at the end:
 * the batch goes out whole, so a label lands on its BATCH line and the
 * lines inside carry only the batch's own tag. */
struct batch_buf {
	char *data;
	size_t len, cap;
	int failed;
};

static void
bb_put(struct batch_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (d == NULL) {
			b->failed = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static void
bb_printf(struct batch_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
bb_printf(struct batch_buf *b, const char *fmt, ...)
{
	char line[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	size_t n = irc_vformat(line, "", fmt, ap);
	va_end(ap);
	bb_put(b, line, n);
}

/* tags with "batch=ID" in front ("@batch=ID " when there are none). */
static void
bb_tags(struct batch_buf *b, unsigned id, const struct wire *tags)
{
	char head[IRC_HISTORY_BATCH_TAG_MAX];
	int n = snprintf(head, sizeof head, "@batch=ch%u%s", id, tags ? ";" : " ");
	bb_put(b, head, (size_t)n);
	if (tags != NULL)
		bb_put(b, tags->data + 1, tags->len - 1);
}

/* Opens a batch of type (and param) in b; returns its id, or 0 when c
 * did not ask for batches: then the lines go out one by one. */
static unsigned
batch_open(struct conn *c, struct batch_buf *b, const char *type, const char *param)
{
	if (!(irc_session(c)->caps & CAP_BATCH))
		return 0;
	unsigned id = ++irc_session(c)->batches;
	bb_printf(b, ":%s BATCH +ch%u %s%s%s", irc_server_name(c), id, type,
	    param ? " " : "", param ? param : "");
	return id;
}

static void
batch_close(struct conn *c, struct batch_buf *b, unsigned id)
{
	if (id == 0)
		return;
	bb_printf(b, ":%s BATCH -ch%u", irc_server_name(c), id);
	if (b->failed) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
	} else {
		struct wire *w = wire_new(b->data, b->len);
		if (w == NULL)
			conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		irc_send_wire(c, NULL, w);
		wire_unref(w);
	}
	free(b->data);
}

/* The name a stored target is shown by: its room's, while it exists, or
 * the other account's of a private conversation; into buf. */
static const char *
shown_name(struct conn *c, const struct door_hquery *q, const char *target, char *buf)
{
	if (q->name[0] != '\0')
		return q->name;
	door_history_shown(door_hub(c), c->user, target, buf);
	return buf;
}

/* The answer's events as c is shown them, in a batch of type (param:
 * the room, or NULL), as many as budget_of(c) holds. */
static void
send_events(struct conn *c, const struct door_hquery *q, const char *type,
    const char *param)
{
	size_t count = q->r.n;
	struct msg **msgs = calloc(count ? count : 1, sizeof *msgs);
	size_t *sizes = calloc(count ? count : 1, sizeof *sizes);
	if (msgs == NULL || sizes == NULL) {
		free(msgs);
		free(sizes);
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const struct store_event *e = &q->r.events[i];
		struct wire *tags, *body;
		char shown[ROOM_LEN_MAX + 1];
		msgs[i] = door_history_msg(e, shown_name(c, q, e->target, shown));
		if (msgs[i] != NULL && irc_render_for(c, msgs[i], &tags, &body) == 0) {
			sizes[i] = body->len + (tags ? tags->len : 0) + IRC_HISTORY_BATCH_TAG_MAX;
		} else {
			msg_unref(msgs[i]);
			msgs[i] = NULL;
		}
	}
	size_t from, n;
	door_history_window(&q->q, sizes, count, budget_of(c), &from, &n);
	struct batch_buf b = { 0 };
	unsigned id = batch_open(c, &b, type, param);
	for (size_t i = from; i < from + n; i++) {
		struct wire *tags, *body;
		if (msgs[i] == NULL || irc_render_for(c, msgs[i], &tags, &body) < 0)
			continue;
		if (id == 0) {
			irc_send_wire(c, tags, body);
			continue;
		}
		bb_tags(&b, id, tags);
		bb_put(&b, body->data, body->len);
	}
	batch_close(c, &b, id);
	for (size_t i = 0; i < count; i++)
		msg_unref(msgs[i]);
	free(msgs);
	free(sizes);
}

/* TARGETS: a target and the time of its latest message, a line each, in
 * the store's order (from the first timestamp's side). */
static void
send_targets(struct conn *c, const struct door_hquery *q)
{
	struct batch_buf b = { 0 };
	unsigned id = batch_open(c, &b, IRC_HISTORY_TARGETS_BATCH, NULL);
	for (size_t i = 0; i < q->r.n; i++) {
		const struct store_event *e = &q->r.events[i];
		if (e->target == NULL)
			continue;
		char when[IH_TIME_LEN + 1];
		ih_time_write(e->at_ms, when);
		char shown[ROOM_LEN_MAX + 1];
		const char *name = shown_name(c, q, e->target, shown);
		if (id == 0)
			irc_send(c, ":%s CHATHISTORY TARGETS %s %s", irc_server_name(c), name, when);
		else
			bb_printf(&b, "@batch=ch%u :%s CHATHISTORY TARGETS %s %s", id,
			    irc_server_name(c), name, when);
	}
	batch_close(c, &b, id);
}

/* An answer with nothing in it, at once. */
static void
send_empty(struct conn *c, const char *target)
{
	struct batch_buf b = { 0 };
	batch_close(c, &b, batch_open(c, &b, IRC_HISTORY_BATCH, target));
}

static void
history_fail(struct conn *c, const char *cmd, const char *code, const char *sub,
    const char *param, const char *text)
{
	char context[IRC_LINE_MAX];
	snprintf(context, sizeof context, "%s%s%s", sub, param ? " " : "", param ? param : "");
	irc_fail(c, cmd, code, context, text);
}

/* A job of c's is in flight: at DOOR_HJOBS_MAX, c's next lines wait. */
static void
hjob_started(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	if (++s->hjobs == DOOR_HJOBS_MAX)
		s->hjobs_held = conn_hold(c) == 0;
}

/* A job of the reply r's is done (first thing in its done: r's conn is
 * known until the reply is). The lines it held go on at the flush step. */
static void
hjob_ended(struct irc_reply *r)
{
	struct conn *c = irc_reply_conn(r);
	struct irc_session *s = c != NULL ? irc_session(c) : NULL;
	if (s == NULL || s->hjobs == 0)
		return;
	if (s->hjobs-- == DOOR_HJOBS_MAX && s->hjobs_held) {
		s->hjobs_held = 0;
		conn_unhold(c);
	}
}

/* The job is done: its answer goes out where the command's reply waits. */
static void
chathistory_done(struct door_hjob *j, int cancelled)
{
	struct irc_reply *r = j->ctx;
	hjob_ended(r);
	struct conn *c = cancelled ? NULL : irc_reply_resume(r);
	if (c != NULL) {
		const struct door_hquery *q = &j->q[0];
		const char *sub = sub_names[q->q.kind];
		if (q->r.failed)
			history_fail(c, "CHATHISTORY", "MESSAGE_ERROR", sub,
			    q->q.kind == SQ_TARGETS ? NULL : q->name, IRC_HISTORY_FAIL_TEXT);
		else if (q->q.kind == SQ_TARGETS)
			send_targets(c, q);
		else
			send_events(c, q, IRC_HISTORY_BATCH, q->name);
	}
	irc_reply_done(r);
	door_hjob_free(j);
}

/* Hands j to a worker, c's reply kept for done; on failure (the pool's
 * queue is full) 0 is returned to say so and j is freed. */
static int
history_submit(struct conn *c, struct door_hjob *j, door_hjob_done *done)
{
	struct irc_reply *r = irc_reply_keep(c);
	if (r == NULL) {
		door_hjob_free(j);
		return 1; /* the conn is closing */
	}
	if (door_hjob_submit(c, j, done, r) < 0) {
		irc_reply_done(r);
		door_hjob_free(j);
		return 0;
	}
	hjob_started(c);
	return 1;
}

/* The request's refusal as the specification words it. */
static void
chathistory_refuse(struct conn *c, enum ih_status st, const struct ih_request *req)
{
	const char *sub = req->sub ? req->sub : "*";
	switch (st) {
	case IH_UNKNOWN:
		history_fail(c, "CHATHISTORY", "INVALID_PARAMS", sub, NULL, "Unknown command");
		break;
	case IH_NEED_MORE:
		history_fail(c, "CHATHISTORY", "INVALID_PARAMS", sub, NULL,
		    "Insufficient parameters");
		break;
	case IH_TOO_MANY:
		history_fail(c, "CHATHISTORY", "INVALID_PARAMS", sub, NULL, "Too many parameters");
		break;
	case IH_BAD_TIME:
		history_fail(c, "CHATHISTORY", "INVALID_PARAMS", sub, req->bad, "Invalid timestamp");
		break;
	case IH_BAD_REF:
		history_fail(c, "CHATHISTORY", "INVALID_PARAMS", sub, req->bad,
		    "Invalid message reference");
		break;
	case IH_BAD_LIMIT:
		history_fail(c, "CHATHISTORY", "INVALID_PARAMS", sub, req->bad, "Invalid limit");
		break;
	case IH_OK:
		break;
	}
}

void
irc_cmd_chathistory(struct conn *c, struct irc_message *m)
{
	const struct config *cfg = door_cfg(c);
	if (door_env(c)->store == NULL) {
		irc_num(c, ERR_UNKNOWNCOMMAND, m->command);
		return;
	}
	struct ih_request req;
	enum ih_status st = ih_chathistory_parse(m->nparams, m->params,
	    (uint32_t)cfg->chathistory_max, &req);
	if (st != IH_OK) {
		chathistory_refuse(c, st, &req);
		return;
	}
	const char *sub = sub_names[req.kind];
	struct room *room = NULL;
	struct door_hquery pair = { 0 };
	if (req.kind != SQ_TARGETS) {
		room = door_history_room(door_hub(c), c->user, req.target);
		if (room == NULL && req.target[0] != '#' &&
		    name_nick_valid(req.target, NICK_LEN_MAX)) {
			/* Private conversations are kept for logged-in users
			 * only, and read by their accounts only: else nothing
			 * to show. */
			if (req.foreign ||
			    door_hquery_private(door_hub(c), &pair, c->user, req.target) < 0) {
				send_empty(c, req.target);
				return;
			}
		} else if (room == NULL) {
			history_fail(c, "CHATHISTORY", "INVALID_TARGET", sub, req.target,
			    IRC_HISTORY_FAIL_TEXT);
			return;
		}
		if (room != NULL && req.foreign) {
			send_empty(c, room->name);
			return;
		}
	}
	struct door_hjob *j = door_hjob_one(req.kind, room, c->user, req.limit);
	if (j == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	struct door_hquery *q = &j->q[0];
	if (pair.q.target != NULL) {
		memcpy(q->target, pair.target, sizeof q->target);
		memcpy(q->name, pair.name, sizeof q->name);
		q->q.target = q->target;
	}
	if (req.kind == SQ_TARGETS && c->user->account[0] != '\0') {
		/* The worker reads the job's own copy. */
		memcpy(j->account, c->user->account, sizeof j->account);
		q->q.account = j->account;
	}
	q->q.a = req.a;
	q->q.b = req.b;
	q->q.events = (irc_session(c)->caps & CAP_EVENT_PLAYBACK) != 0;
	if (!history_submit(c, j, chathistory_done))
		history_fail(c, "CHATHISTORY", "MESSAGE_ERROR", sub, room ? room->name : NULL,
		    "The server is busy; try again");
}

/* SEARCH (soju.im/search). */

static void
search_done(struct door_hjob *j, int cancelled)
{
	struct irc_reply *r = j->ctx;
	hjob_ended(r);
	struct conn *c = cancelled ? NULL : irc_reply_resume(r);
	if (c != NULL) {
		const struct door_hquery *q = &j->q[0];
		if (q->r.failed)
			irc_fail(c, "SEARCH", "INTERNAL_ERROR", NULL, "The search could not be run");
		else
			send_events(c, q, IRC_SEARCH_BATCH, NULL);
	}
	irc_reply_done(r);
	door_hjob_free(j);
}

void
irc_cmd_search(struct conn *c, struct irc_message *m)
{
	if (door_env(c)->store == NULL) {
		irc_num(c, ERR_UNKNOWNCOMMAND, m->command);
		return;
	}
	struct ih_search s;
	enum ih_status st = ih_search_parse(m->params[0],
	    (uint32_t)door_cfg(c)->chathistory_max, &s);
	/* The full-text index is how the store searches: no words, no search. */
	if (st == IH_OK && s.text == NULL) {
		st = IH_NEED_MORE;
		s.bad = "text";
	}
	if (st != IH_OK) {
		irc_fail(c, "SEARCH", "INVALID_PARAMS", s.bad, "Invalid parameters");
		return;
	}
	struct room *room = NULL;
	if (s.in != NULL && (room = door_history_room(door_hub(c), c->user, s.in)) == NULL) {
		irc_fail(c, "SEARCH", "INVALID_PARAMS", "in", "You may not search there");
		return;
	}
	struct door_hjob *j = door_hjob_one(SQ_SEARCH, room, c->user, s.limit);
	if (j == NULL || door_hquery_search(&j->q[0], s.text, s.from) < 0) {
		door_hjob_free(j);
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	struct door_hquery *q = &j->q[0];
	q->q.a = s.after;
	q->q.b = s.before;
	/* Its results may come from several rooms: each line says which. */
	q->name[0] = '\0';
	if (!history_submit(c, j, search_done))
		irc_fail(c, "SEARCH", "INTERNAL_ERROR", NULL, "The server is busy; try again");
}

/* Replay on join. */

int
irc_replay_wanted(struct conn *c)
{
	unsigned need = CAP_BATCH | CAP_SERVER_TIME, caps_on = irc_session(c)->caps;
	return door_env(c)->store != NULL && door_cfg(c)->history_replay > 0 &&
	    (caps_on & need) == need && !(caps_on & CAP_CHATHISTORY);
}

static void
replay_done(struct door_hjob *j, int cancelled)
{
	struct irc_reply *r = j->ctx;
	hjob_ended(r);
	struct conn *c = cancelled ? NULL : irc_reply_resume(r);
	for (size_t i = 0; c != NULL && i < j->n; i++) {
		const struct door_hquery *q = &j->q[i];
		/* Nothing to replay, or no way to: nothing is said. */
		if (!q->r.failed && q->r.n > 0)
			send_events(c, q, IRC_HISTORY_BATCH, q->name);
	}
	irc_reply_done(r);
	door_hjob_free(j);
}

void
irc_replay(struct conn *c, struct room *const *rooms, size_t n)
{
	struct door_hjob *j = door_hjob_new(n);
	if (j == NULL)
		return; /* no replay is no harm */
	j->n = n;
	for (size_t i = 0; i < n; i++) {
		struct door_hquery *q = &j->q[i];
		door_hquery_room(q, rooms[i]);
		door_hquery_until_now(q, door_hub(c));
		q->q.limit = (uint32_t)door_cfg(c)->history_replay;
	}
	history_submit(c, j, replay_done);
}

/* After JOIN: markers (and NAMES behind them), then replay, from one job. */

static void
join_done(struct door_hjob *j, int cancelled)
{
	struct irc_reply *r = j->ctx;
	hjob_ended(r);
	struct conn *c = cancelled ? NULL : irc_reply_resume(r);
	for (size_t i = 0; c != NULL && i < j->nmarks; i++) {
		const struct door_hmark *mk = &j->marks[i];
		irc_markread_send(c, mk->name, mk->st == STORE_OK ? mk->at_ms : -1);
		struct room *room = mk->names ? hub_room_find(door_hub(c), mk->name) : NULL;
		if (room != NULL && hub_is_member(room, c->user))
			irc_send_names_held(c, room);
	}
	for (size_t i = 0; c != NULL && i < j->n; i++) {
		const struct door_hquery *q = &j->q[i];
		if (!q->r.failed && q->r.n > 0)
			send_events(c, q, IRC_HISTORY_BATCH, q->name);
	}
	irc_reply_done(r);
	door_hjob_free(j);
}

void
irc_join_later(struct conn *c, struct room *const *rooms, const uint8_t *names, size_t n,
    int marks, int replay)
{
	struct door_hjob *j = door_hjob_new(replay ? n : 0);
	if (j != NULL && marks && (j->marks = calloc(n ? n : 1, sizeof *j->marks)) == NULL) {
		door_hjob_free(j);
		j = NULL;
	}
	if (j == NULL) {
		/* No markers is no harm; the names are owed. */
		for (size_t i = 0; i < n; i++)
			if (names[i])
				irc_send_names(c, rooms[i]);
		return;
	}
	if (marks) {
		memcpy(j->account, c->user->account, sizeof j->account);
		j->nmarks = n;
		for (size_t i = 0; i < n; i++) {
			struct door_hmark *mk = &j->marks[i];
			snprintf(mk->name, sizeof mk->name, "%s", rooms[i]->name);
			name_fold(mk->target, rooms[i]->name);
			mk->names = names[i];
		}
	}
	if (replay) {
		j->n = n;
		for (size_t i = 0; i < n; i++) {
			struct door_hquery *q = &j->q[i];
			door_hquery_room(q, rooms[i]);
			door_hquery_until_now(q, door_hub(c));
			q->q.limit = (uint32_t)door_cfg(c)->history_replay;
		}
	}
	if (!history_submit(c, j, join_done) && marks) {
		/* The pool is full: the names are owed still, the markers are
		 * none known. */
		for (size_t i = 0; i < n; i++) {
			irc_markread_send(c, rooms[i]->name, -1);
			if (names[i])
				irc_send_names(c, rooms[i]);
		}
	}
}
