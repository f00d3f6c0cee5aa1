/* Registered rooms, kept (rooms.h). */
#include "store/rooms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/worker.h"
#include "chat/hub.h"
#include "store/store.h"

struct rooms {
	struct hub *hub;
	struct store *store;
	struct worker_pool *pool;
	int loading;                 /* the load job is out: rooms_free waits */
	int again;                   /* load again when it is back */
	int freed;
};

/* The room's flag letters ("nt") from hub_room_mode_string's "+ntkl k 5". */
static void
flag_letters(const struct room *room, char *out, size_t cap)
{
	char all[64];
	hub_room_mode_string(room, 0, all, sizeof all);
	size_t n = 0;
	for (const char *p = all; *p != '\0' && *p != ' ' && n + 1 < cap; p++)
		if (*p != '+' && *p != 'k' && *p != 'l')
			out[n++] = *p;
	out[n] = '\0';
}

int
rooms_save(struct store *s, const struct room *room)
{
	const struct room_reg *reg = room->reg;
	if (s == NULL || reg == NULL)
		return -1;
	char modes[16];
	flag_letters(room, modes, sizeof modes);
	uint32_t nmasks = room->nbans + room->nexcepts + room->ninvexes;
	struct store_room_mask *masks = calloc(nmasks ? nmasks : 1, sizeof *masks);
	char *ops[HUB_ROOM_OPS_MAX];
	if (masks == NULL)
		return -1;
	size_t k = 0;
	const struct ban *lists[3] = { room->bans, room->excepts, room->invexes };
	const uint32_t counts[3] = { room->nbans, room->nexcepts, room->ninvexes };
	const char letters[3] = { 'b', 'e', 'I' };
	for (int l = 0; l < 3; l++)
		for (uint32_t i = 0; i < counts[l]; i++, k++)
			masks[k] = (struct store_room_mask){ .letter = letters[l],
				.mask = lists[l][i].mask, .by = (char *)lists[l][i].by,
				.at = lists[l][i].at };
	for (int i = 0; i < reg->nops; i++)
		ops[i] = (char *)reg->ops[i];
	const struct store_room r = {
		.name = (char *)room->name, .founder = (char *)reg->founder,
		.topic = room->topic, .topic_by = room->topic_by,
		.topic_at = room->topic_at, .created = room->created, .modes = modes,
		.password = room->password, .limit = room->limit,
		.masks = masks, .nmasks = k, .ops = ops, .nops = reg->nops,
		.version = reg->version,
	};
	int rc = store_room_save(s, &r);
	free(masks);
	return rc;
}

/* A registered room's topic or modes changed: it is saved whole (a room
 * holds at most HUB_MASKS_PER_ROOM masks and HUB_ROOM_OPS_MAX accounts).
 * Dropped (MSG_UNREGISTER, its room still registered while it is
 * shown): forgotten, at the version of the drop, which hub_emit has
 * just stamped. */
static void
rooms_observe(void *ctx, struct msg *m, const struct audience *to)
{
	struct rooms *r = ctx;
	if (m->kind == MSG_UNREGISTER && to->room != NULL && to->room->reg != NULL) {
		(void)store_room_forget(r->store, to->room->name, to->room->reg->version);
		return;
	}
	if ((m->kind != MSG_TOPIC && m->kind != MSG_MODE) || to->shape != AUD_ROOM ||
	    to->room == NULL || to->room->reg == NULL)
		return;
	/* A full batch loses the change; the next one saves it all again. */
	(void)rooms_save(r->store, to->room);
}

/* ---- Loading: at start, and again when asked (a cluster's node back
 * from an outage: rooms_reload) ---- */

struct load_job {
	struct rooms *rooms;
	struct store_room *list;
	size_t n;
	enum store_status st;
	uint32_t changes;            /* the hub's reg_changes when it was asked */
};

static void
load_work(void *arg)
{
	struct load_job *j = arg;
	j->st = store_rooms_load(j->rooms->store, &j->list, &j->n);
}

static void
restore(struct hub *hub, const struct store_room *sr)
{
	const struct hub_room_state st = {
		.topic = sr->topic, .topic_by = sr->topic_by, .topic_at = (time_t)sr->topic_at,
		.created = (time_t)sr->created, .modes = sr->modes, .key = sr->password,
		.limit = sr->limit,
	};
	int fresh = hub_room_find(hub, sr->name) == NULL;
	struct room *room = hub_room_restore(hub, sr->name, sr->founder, &st);
	if (room == NULL) {
		log_warn("rooms: cannot restore %s", sr->name);
		return;
	}
	for (size_t i = 0; fresh && i < sr->nmasks; i++)
		(void)hub_room_restore_mask(hub, room, sr->masks[i].letter, sr->masks[i].mask,
		    sr->masks[i].by, (time_t)sr->masks[i].at);
	/* The database's version, or this node's when newer: what it saves
	 * next goes past both. */
	if (sr->version > room->reg->version)
		room->reg->version = sr->version;
	/* The database's accounts, whatever the room held. */
	room->reg->nops = 0;
	for (size_t i = 0; i < sr->nops && room->reg->nops < HUB_ROOM_OPS_MAX; i++)
		snprintf(room->reg->ops[room->reg->nops++], sizeof room->reg->ops[0], "%s",
		    sr->ops[i]);
}

/* The database's registrations, exactly: each room restored (its
 * founder and accounts), and a room registered here that it does not
 * hold (dropped on another node while this one did not hear it) is
 * registered no more. */
static void
apply(struct rooms *r, const struct load_job *j)
{
	const char **names = calloc(j->n ? j->n : 1, sizeof *names);
	if (names == NULL) {
		log_error("rooms: the registered rooms could not be restored: out of memory");
		return;
	}
	for (size_t i = 0; i < j->n; i++) {
		restore(r->hub, &j->list[i]);
		names[i] = j->list[i].name;
	}
	hub_rooms_registered_only(r->hub, names, j->n);
	free(names);
}

static void load_submit(struct rooms *r);

static void
load_done(void *arg, int cancelled)
{
	struct load_job *j = arg;
	struct rooms *r = j->rooms;
	r->loading = 0;
	if (!cancelled && !r->freed) {
		if (j->st != STORE_OK) {
			log_error("rooms: the registered rooms could not be read");
		} else if (j->changes != r->hub->reg_changes) {
			/* A registration came meanwhile: what was read may miss
			 * it (not committed yet), so it is read again. */
			r->again = 1;
		} else {
			apply(r, j);
			if (j->n > 0)
				log_info("rooms: %zu registered room%s restored", j->n,
				    j->n == 1 ? "" : "s");
		}
	}
	store_rooms_free(j->list, j->n);
	free(j);
	if (r->freed) {
		free(r);
		return;
	}
	if (r->again && !cancelled) {
		r->again = 0;
		load_submit(r);
	}
}

/* The registered rooms read on a worker (the database is never read on
 * the loop); restored in load_done. */
static void
load_submit(struct rooms *r)
{
	struct load_job *j = calloc(1, sizeof *j);
	if (j == NULL) {
		log_error("rooms: the registered rooms could not be loaded: out of memory");
		return;
	}
	j->rooms = r;
	j->changes = r->hub->reg_changes;
	r->loading = 1;
	if (r->pool == NULL || worker_submit(r->pool, load_work, load_done, j) < 0) {
		log_error("rooms: the registered rooms could not be loaded (no worker)");
		r->loading = 0;
		free(j);
	}
}

void
rooms_reload(struct rooms *r)
{
	if (r == NULL || r->freed)
		return;
	if (r->loading)
		r->again = 1;   /* what is read now may be from before */
	else
		load_submit(r);
}

struct rooms *
rooms_new(struct hub *hub, struct store *s, struct worker_pool *pool)
{
	struct rooms *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->hub = hub;
	r->store = s;
	r->pool = pool;
	if (hub_observe(hub, rooms_observe, r) < 0) {
		free(r);
		return NULL;
	}
	load_submit(r);
	return r;
}

void
rooms_free(struct rooms *r)
{
	if (r == NULL)
		return;
	if (r->loading) {
		r->freed = 1;  /* the load's done frees it */
		return;
	}
	free(r);
}
