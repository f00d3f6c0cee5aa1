/* A room's history as the doors read it (see the header). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/worker.h"
#include "chat/names.h"
#include "doors/door_history.h"

struct door_hjob *
door_hjob_new(size_t n)
{
	if (n > HUB_ROOMS_PER_USER)
		return NULL;
	return calloc(1, sizeof(struct door_hjob) + n * sizeof(struct door_hquery));
}

void
door_hjob_free(struct door_hjob *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->n; i++) {
		struct door_hquery *q = &j->q[i];
		store_result_free(&q->r);
		free(q->text);
		free(q->from);
		for (size_t k = 0; k < q->ntargets; k++)
			free(q->targets[k]);
		free(q->targets);
	}
	free(j->marks);
	free(j);
}

struct door_hjob *
door_hjob_one(enum store_query_kind kind, const struct room *room, const struct user *u,
    uint32_t limit)
{
	struct door_hjob *j = door_hjob_new(1);
	if (j == NULL)
		return NULL;
	j->n = 1;
	struct door_hquery *q = &j->q[0];
	q->q.kind = kind;
	q->q.limit = limit;
	if (room != NULL)
		door_hquery_room(q, room);
	else if (door_hquery_user_rooms(q, u) < 0) {
		door_hjob_free(j);
		return NULL;
	}
	return j;
}

/* On a worker thread: only the job's own bytes, and the store's
 * per-thread read connection. */
static void
hjob_work(void *arg)
{
	struct door_hjob *j = arg;
	store_wait_finished(j->store, j->epoch, DOOR_HJOB_WAIT_MS);
	for (size_t i = 0; i < j->n; i++)
		store_query(j->store, &j->q[i].q, &j->q[i].r);
	for (size_t i = 0; i < j->nmarks; i++)
		j->marks[i].st = store_marker_get(j->store, j->account, j->marks[i].target,
		    &j->marks[i].at_ms);
}

static void
hjob_done(void *arg, int cancelled)
{
	struct door_hjob *j = arg;
	if (!cancelled && j->latency != NULL)
		histogram_observe(j->latency, clock_mono_us() - j->asked_us);
	j->done(j, cancelled);
}

int
door_hjob_submit(const struct conn *c, struct door_hjob *j, door_hjob_done *done,
    void *ctx)
{
	const struct door_env *env = door_env(c);
	if (env->store == NULL || env->workers == NULL)
		return -1;
	j->store = env->store;
	j->done = done;
	j->ctx = ctx;
	j->latency = env->stats != NULL ? &env->stats->history_query_us : NULL;
	j->asked_us = clock_mono_us();
	j->epoch = store_epoch_now(env->store);
	return worker_submit_for(env->workers, door_address_key(c), hjob_work, hjob_done, j);
}

int
door_hquery_private(struct hub *hub, struct door_hquery *q, const struct user *u,
    const char *nick)
{
	if (u->account[0] == '\0')
		return -1;
	const struct user *peer = hub_user_find(hub, nick);
	const char *account = peer != NULL && peer->account[0] != '\0' ? peer->account :
	    hub_account_owner(hub, nick);
	if (account != NULL)
		store_pair_target(u->account, account, q->target);
	else
		store_half_target(u->account, nick, q->target);
	snprintf(q->name, sizeof q->name, "%s", nick);
	q->q.target = q->target;
	return 0;
}

void
door_history_shown(struct hub *hub, const struct user *viewer, const char *target,
    char *out)
{
	char peer[ACCOUNT_LEN_MAX + 1];
	const char *name = target;
	if (STORE_TARGET_IS_PAIR(target)) {
		if (store_pair_peer(target, viewer->account, peer) == 0) {
			const char *owner = hub_account_owner(hub, peer);
			name = owner != NULL ? owner : peer;
		} else if (store_half_peer(target, viewer->account, peer) == 0) {
			name = peer;
		}
	} else {
		struct room *room = hub_room_find(hub, target);
		if (room != NULL)
			name = room->name;
	}
	snprintf(out, ROOM_LEN_MAX + 1, "%s", name);
}

struct room *
door_history_room(struct hub *hub, const struct user *u, const char *name)
{
	struct room *room = hub_room_find(hub, name);
	if (room == NULL || !hub_is_member(room, u))
		return NULL;
	return room;
}

void
door_hquery_room(struct door_hquery *q, const struct room *room)
{
	memcpy(q->name, room->name, sizeof q->name);
	name_fold(q->target, room->name);
	q->q.target = q->target;
}

int
door_hquery_user_rooms(struct door_hquery *q, const struct user *u)
{
	size_t n = 0;
	while (hub_user_room(u, (unsigned)n) != NULL)
		n++;
	q->targets = calloc(n ? n : 1, sizeof *q->targets);
	if (q->targets == NULL)
		return -1;
	struct room *room;
	for (unsigned i = 0; (room = hub_user_room(u, i)) != NULL; i++) {
		if ((q->targets[i] = malloc(ROOM_LEN_MAX + 1)) == NULL)
			return -1;
		name_fold(q->targets[i], room->name);
		q->ntargets++;
	}
	q->q.targets = (const char *const *)q->targets;
	q->q.ntargets = q->ntargets;
	return 0;
}

void
door_hquery_until_now(struct door_hquery *q, const struct hub *hub)
{
	q->q.kind = SQ_BEFORE;
	memset(&q->q.a, 0, sizeof q->q.a);
	q->q.a.set = 1;
	/* The id right after the last: a millisecond's bound would take in
	 * what the rest of it brings. */
	if (msgid_after_last(&hub->ids, q->q.a.msgid) < 0)
		q->q.a.at_ms = clock_now_ms() + 1;  /* none given yet */
	else
		q->q.a.bound = 1;
}

int
door_hquery_search(struct door_hquery *q, const char *text, const char *from)
{
	if ((text != NULL && (q->text = strdup(text)) == NULL) ||
	    (from != NULL && (q->from = strdup(from)) == NULL))
		return -1;
	q->q.text = q->text;
	q->q.from = q->from;
	return 0;
}

static const enum msg_kind kinds[] = {
	[SK_PRIVMSG] = MSG_SAY, [SK_ACTION] = MSG_ACTION, [SK_NOTICE] = MSG_NOTICE,
	[SK_JOIN] = MSG_JOIN, [SK_PART] = MSG_PART, [SK_QUIT] = MSG_QUIT,
	[SK_NICK] = MSG_NICK, [SK_TOPIC] = MSG_TOPIC, [SK_KICK] = MSG_KICK,
	[SK_MODE] = MSG_MODE, [SK_TAGMSG] = MSG_TAGMSG,
};

struct msg *
door_history_msg(const struct store_event *e, const char *room)
{
	if (e->redacted || (unsigned)e->kind == 0 ||
	    (unsigned)e->kind >= sizeof kinds / sizeof kinds[0] || e->sender == NULL)
		return NULL;
	/* nick!ident@host as it was then. */
	char mask[HUB_MASK_MAX + 1];
	size_t n = strlen(e->sender);
	if (n >= sizeof mask)
		n = sizeof mask - 1;
	memcpy(mask, e->sender, n);
	mask[n] = '\0';
	char *ident = strchr(mask, '!'), *host = NULL;
	if (ident != NULL) {
		*ident++ = '\0';
		if ((host = strchr(ident, '@')) != NULL)
			*host++ = '\0';
	}
	enum msg_kind kind = kinds[e->kind];
	const char *target = kind == MSG_NICK || kind == MSG_KICK ? e->extra : NULL;
	if (e->target != NULL && STORE_TARGET_IS_PAIR(e->target)) {
		/* A private message: to whom it was sent, in no room. */
		if (e->extra == NULL || (!STORE_KIND_IS_MESSAGE(e->kind) && e->kind != SK_TAGMSG))
			return NULL;
		if (kind == MSG_SAY)
			kind = MSG_PRIVATE;
		target = e->extra;
		room = NULL;
	}
	const char *text = e->text;
	if (kind == MSG_JOIN)
		text = "";  /* extended-join's real name: not kept */
	if ((kind == MSG_NICK || kind == MSG_KICK) && target == NULL)
		return NULL;
	struct msg *m = msg_new(kind, mask, ident, host, room, target, text);
	if (m == NULL)
		return NULL;
	memcpy(m->id, e->msgid, sizeof m->id);
	m->at_ms = e->at_ms;
	m->from_bot = e->bot;
	if (e->tags != NULL && *e->tags != '\0' && (m->client_tags = strdup(e->tags)) == NULL) {
		msg_unref(m);
		return NULL;
	}
	return m;
}

/* The millisecond a reference names. */
static int64_t
ref_ms(const struct store_ref *r)
{
	uint64_t ms;
	if (r->msgid[0] != '\0' && msgid_read(r->msgid, &ms, NULL, NULL) == 0)
		return (int64_t)ms;
	return r->at_ms;
}

void
door_history_window(const struct store_query *q, const size_t *sizes, size_t count,
    size_t budget, size_t *from, size_t *n)
{
	int newest = q->kind == SQ_LATEST || q->kind == SQ_BEFORE ||
	    q->kind == SQ_SEARCH ||
	    (q->kind == SQ_BETWEEN && ref_ms(&q->a) > ref_ms(&q->b));
	size_t used = 0, k = 0;
	while (k < count) {
		size_t i = newest ? count - 1 - k : k;
		if (used + sizes[i] > budget)
			break;
		used += sizes[i];
		k++;
	}
	*n = k;
	*from = newest ? count - k : 0;
}
