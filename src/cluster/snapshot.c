/* A node that starts later: it mirrors the users and rooms that exist
 * before its own users come, from the shared state in Redis.
 *
 * The order makes the snapshot and the stream meet without a gap or an
 * event applied twice: the pub/sub link subscribes to the users' channel
 * first; once Redis confirms it, one script reads the global sequence and
 * every user and room at once (scripts.c: a script runs alone, so no
 * change falls between the sequence and the keys). What the channels
 * bring meanwhile is held, in order; the snapshot is applied, then the
 * held events, but those of a sequence the snapshot has already.
 *
 * At start the listeners open once it is loaded (cluster_start waits, at
 * most CLUSTER_LOAD_WAIT_MS); the log says when. */
#include "cluster/cluster_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

static void
held_free(struct cluster *cl)
{
	struct cluster_held *h = cl->held, *next;
	for (; h != NULL; h = next) {
		next = h->next;
		free(h);
	}
	cl->held = NULL;
	cl->held_tail = &cl->held;
	cl->held_bytes = 0;
}

void
cluster_load_free(struct cluster *cl)
{
	held_free(cl);
}

void
cluster_load_hold(struct cluster *cl, const char *p, size_t n)
{
	if (cl->load_overflow)
		return;
	struct cluster_held *h = NULL;
	if (cl->held_bytes + n > CLUSTER_LOAD_BUFFER_MAX ||
	    (h = malloc(sizeof *h + n)) == NULL) {
		/* The snapshot is read again once this one comes: it holds
		 * what is dropped now. */
		cl->load_overflow = 1;
		held_free(cl);
		return;
	}
	h->next = NULL;
	h->len = n;
	memcpy(h->bytes, p, n);
	if (cl->held_tail == NULL)
		cl->held_tail = &cl->held;
	*cl->held_tail = h;
	cl->held_tail = &h->next;
	cl->held_bytes += n;
}

/* The value of field in a flat HGETALL reply, or NULL. */
static const char *
field(const redisReply *h, const char *name)
{
	if (h->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < h->elements; i += 2)
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    h->element[i + 1]->type == REDIS_REPLY_STRING &&
		    strcmp(h->element[i]->str, name) == 0)
			return h->element[i + 1]->str;
	return NULL;
}

static long long
number(const char *s)
{
	return s != NULL ? strtoll(s, NULL, 10) : 0;
}

static int
load_user(struct cluster *cl, const redisReply *r)
{
	struct cluster_event ev = { 0 };
	if (r->type != REDIS_REPLY_STRING || cluster_decode(r->str, r->len, &ev) < 0) {
		cl->stats.garbage++;
		return 0;
	}
	/* This node's own users from a life before (lane D reaps them) are
	 * not mirrored as remote ones. */
	int ok = ev.msg->kind == MSG_CONNECT && ev.node != cl->node &&
	    cluster_apply_event(cl, &ev) == HUB_OK;
	cluster_event_clear(&ev);
	return ok;
}

/* Each member (nick folded -> "<node> <modes>") joins name, as its JOIN
 * would have it; the room is made by the first. */
static void
load_members(struct cluster *cl, const char *name, const redisReply *m)
{
	for (size_t i = 0; m->type == REDIS_REPLY_ARRAY && i + 1 < m->elements; i += 2) {
		const redisReply *k = m->element[i], *v = m->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		struct user *u = hub_user_find(cl->hub, k->str);
		unsigned node, modes;
		if (u == NULL || !u->remote || sscanf(v->str, "%u %u", &node, &modes) != 2 ||
		    node != u->node)
			continue;
		struct msg *j = hub_msg(cl->hub, MSG_JOIN, u, name, NULL, NULL);
		if (j == NULL)
			continue;
		if (hub_apply(cl->hub, j) == HUB_OK) {
			struct member *mem = hub_member(hub_room_find(cl->hub, name), u);
			if (mem != NULL)
				mem->modes = (uint8_t)(modes & (MEMBER_OP | MEMBER_VOICE));
		}
		msg_unref(j);
	}
}

/* room's state as r ({hash, members, +b, +e, +I}) has it: its lists
 * replaced when again (a room this node had already). */
static void
room_state(struct cluster *cl, struct room *room, const redisReply *r, int again)
{
	const char *topic = field(r->element[0], "topic");
	struct hub_room_state st = {
		.topic = topic,
		.topic_by = field(r->element[0], "topic_by"),
		.topic_at = (time_t)number(field(r->element[0], "topic_at")),
		.created = (time_t)number(field(r->element[0], "created")),
		.modes = field(r->element[0], "modes"),
		.key = field(r->element[0], "key"),
		.limit = (uint32_t)number(field(r->element[0], "limit")),
	};
	hub_room_load(cl->hub, room, &st);
	if (again)
		hub_room_clear_masks(cl->hub, room);
	static const char letters[] = "beI";
	for (int l = 0; l < 3; l++) {
		const redisReply *list = r->element[2 + l];
		for (size_t i = 0; list->type == REDIS_REPLY_ARRAY && i + 1 < list->elements;
		    i += 2) {
			const redisReply *k = list->element[i], *v = list->element[i + 1];
			if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
				continue;
			char *by = strchr(v->str, ' ');
			(void)hub_room_restore_mask(cl->hub, room, letters[l], k->str,
			    by != NULL ? by + 1 : NULL, (time_t)number(v->str));
		}
	}
}

/* One room: {hash, members, +b, +e, +I}. */
static int
load_room(struct cluster *cl, const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 5)
		return 0;
	const char *name = field(r->element[0], "name");
	if (name == NULL)
		return 0;
	load_members(cl, name, r->element[1]);
	struct room *room = hub_room_find(cl->hub, name);
	if (room == NULL)
		return 0;   /* none of its members is known here */
	room_state(cl, room, r, 0);
	return 1;
}

/* ---- A link that blipped: the rooms' state read again ---- */

/* The most times the rooms are read again because a newer state event
 * was applied before the read's answer came (it would undo that). */
#define ROOMS_TRIES_MAX 3

static void on_rooms(redisAsyncContext *ac, void *reply, void *data);

static void
ask_rooms(struct cluster *cl)
{
	/* EVAL: rare, and never refused for a script Redis forgot. */
	if (cl->cmd.up && redisAsyncCommand(cl->cmd.ac, on_rooms, cl, "EVAL %s 0 %s %s",
	    cluster_script_text(SCRIPT_ROOMS), CLUSTER_PREFIX, "") == REDIS_OK)
		cl->inflight++;
}

static void
on_rooms(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct cluster *cl = data;
	cl->inflight--;
	redisReply *r = reply;
	if (cl->closing || r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[2]->type != REDIS_REPLY_ARRAY)
		return;   /* the link went (read again when it is back), or no answer */
	uint64_t seq = (uint64_t)r->element[0]->integer;
	if (cl->heard_seq > seq && ++cl->rooms_tries < ROOMS_TRIES_MAX) {
		/* Something applied here is newer than what was read. */
		ask_rooms(cl);
		return;
	}
	unsigned n = 0;
	const redisReply *rooms = r->element[2];
	for (size_t i = 0; i < rooms->elements; i++) {
		const redisReply *one = rooms->element[i];
		if (one->type != REDIS_REPLY_ARRAY || one->elements != 5)
			continue;
		const char *name = field(one->element[0], "name");
		struct room *room = name != NULL ? hub_room_find(cl->hub, name) : NULL;
		if (room == NULL)
			continue;   /* its members, told again, make it */
		room_state(cl, room, one, 1);
		n++;
	}
	log_info("cluster: read the state of %u rooms again from Redis (sequence %llu)", n,
	    (unsigned long long)seq);
}

void
cluster_rooms_reload(struct cluster *cl)
{
	cl->rooms_tries = 0;
	ask_rooms(cl);
}

static void
on_snapshot(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct cluster *cl = data;
	cl->inflight--;
	redisReply *r = reply;
	if (r == NULL) {
		/* The link went: asked again when it is back. */
		cl->load = LOAD_WAIT;
		return;
	}
	if (cl->load_overflow) {
		log_warn("cluster: too many events while loading the shared state; reading "
		    "it again");
		cl->load_overflow = 0;
		held_free(cl);
		cl->load = LOAD_WAIT;
		cluster_load_step(cl);
		return;
	}
	uint64_t seq = 0;
	unsigned users = 0, rooms = 0;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER &&
	    r->element[1]->type == REDIS_REPLY_ARRAY && r->element[2]->type == REDIS_REPLY_ARRAY) {
		seq = (uint64_t)r->element[0]->integer;
		for (size_t i = 0; i < r->element[1]->elements; i++)
			users += (unsigned)load_user(cl, r->element[1]->element[i]);
		for (size_t i = 0; i < r->element[2]->elements; i++)
			rooms += (unsigned)load_room(cl, r->element[2]->element[i]);
		log_info("cluster: loaded the shared state: %u users and %u rooms of other "
		    "nodes (sequence %llu)", users, rooms, (unsigned long long)seq);
	} else {
		log_error("cluster: could not read the shared state from Redis (%s); this "
		    "node mirrors only what happens from now on",
		    r->type == REDIS_REPLY_ERROR ? r->str : "not a snapshot");
	}
	cl->load = LOAD_DONE;
	struct cluster_held *h = cl->held;
	cl->held = NULL;
	for (struct cluster_held *next; h != NULL; h = next) {
		next = h->next;
		cluster_apply_payload(cl, h->bytes, h->len, seq);
		free(h);
	}
	held_free(cl);
	if (cl->starting)
		loop_stop(cl->loop);   /* the start goes on: cluster_start */
	else
		cluster_heard_again(cl);   /* a load after the start's wait */
}

void
cluster_load_step(struct cluster *cl)
{
	if (cl->load != LOAD_WAIT || !cl->cmd.up || !cl->sub.up || !cl->heard_users)
		return;
	/* EVAL, not EVALSHA: once a start, and never refused for a script
	 * Redis forgot. */
	const char *text = cluster_script_text(SCRIPT_SNAPSHOT);
	if (redisAsyncCommand(cl->cmd.ac, on_snapshot, cl, "EVAL %s 0 %s %s", text,
	    CLUSTER_PREFIX, "") != REDIS_OK)
		return;
	cl->inflight++;
	cl->load = LOAD_ASKED;
}

void
cluster_back_listen(struct cluster *cl, cluster_back_fn *fn, void *ctx)
{
	if (cl == NULL)
		return;
	cl->on_back = fn;
	cl->back_ctx = ctx;
	/* Loaded already (cluster_start waits for it, and the server asks
	 * after): told now. */
	if (cl->load == LOAD_DONE)
		cluster_heard_again(cl);
}

void
cluster_heard_again(struct cluster *cl)
{
	if (cl->on_back != NULL)
		cl->on_back(cl->back_ctx);
}

/* What the pub/sub link hears (but the SUBSCRIBE answers: cluster.c):
 * held while the snapshot loads, applied (apply.c) after. */
void
cluster_on_push(struct redis_link *link, redisReply *r)
{
	struct cluster *cl = link->data;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return;
	const char *kind = r->element[0]->str;
	if (strcmp(kind, "message") != 0 && strcmp(kind, "smessage") != 0)
		return;   /* ssubscribe, (s)unsubscribe: nothing to do */
	const redisReply *payload = r->element[2];
	if (payload->type != REDIS_REPLY_STRING) {
		cl->stats.garbage++;
		return;
	}
	/* A request for a user here (kill.c), not an event. */
	if (cluster_on_request(cl, payload->str, payload->len))
		return;
	if (cl->load != LOAD_DONE)
		cluster_load_hold(cl, payload->str, payload->len);
	else
		cluster_apply_payload(cl, payload->str, payload->len, 0);
}
