/* The one exit of the hub: every event is delivered here to the users it
 * concerns (its audience), in one of a few shapes, and then shown to the
 * observers (history, a cluster's publisher, metrics), each once. Below
 * the commands and hub_apply.c; calls nothing above it, only the users'
 * ops and MONITOR's watchers (hub_monitor.c). */
#include "chat/hub_emit.h"
#include "chat/hub_monitor.h"
#include "chat/hub_state.h"

#include <string.h>

int
hub_observe(struct hub *hub, hub_observer *fn, void *ctx)
{
	if (hub->nobservers >= HUB_OBSERVERS_MAX)
		return -1;
	hub->observers[hub->nobservers++] = (struct hub_observer_slot){ fn, ctx };
	return 0;
}

static void
deliver(struct user *u, struct msg *m)
{
	u->ops->deliver(u, m);
}

/* A member a few places ahead is asked for while this one is served: in a
 * large room the users are not in the cache, and each would be a stall. */
#define ROOM_SEND_AHEAD 4

static void
room_send(const struct room *room, struct msg *m, const struct user *except)
{
	for (uint32_t i = 0; i < room->nmembers; i++) {
		if (i + ROOM_SEND_AHEAD < room->nmembers)
			__builtin_prefetch(&room->members[i + ROOM_SEND_AHEAD].user->door);
		if (room->members[i].user != except)
			deliver(room->members[i].user, m);
	}
}

/* m once to every user who shares a room with u, and to u itself when
 * self is set. Marks each with the hub's stamp (MONITOR looks at it). */
static void
neighbours_send(struct hub *hub, struct user *u, struct msg *m, int self)
{
	uint32_t stamp = ++hub->stamp;
	u->stamp = stamp;
	if (self)
		deliver(u, m);
	for (int r = 0; r < u->nrooms; r++) {
		const struct room *room = u->rooms[r];
		for (uint32_t i = 0; i < room->nmembers; i++) {
			struct user *other = room->members[i].user;
			if (other->stamp == stamp)
				continue;
			other->stamp = stamp;
			deliver(other, m);
		}
	}
}

/* MONITOR: who took a nickname and who left one, as the event says. */
static void
presence(struct hub *hub, const struct msg *m, const struct audience *to)
{
	switch (m->kind) {
	case MSG_CONNECT:
		hub_monitor_presence(hub, m->from, to->user);
		break;
	case MSG_QUIT:
		hub_monitor_presence(hub, m->from, NULL);
		break;
	case MSG_NICK: {
		/* A change of case only is no change of nickname. */
		char old[NICK_LEN_MAX + 1], new[NICK_LEN_MAX + 1];
		if (strlen(m->from) > NICK_LEN_MAX || strlen(m->target) > NICK_LEN_MAX)
			break;
		name_fold(old, m->from);
		name_fold(new, m->target);
		if (strcmp(old, new) != 0) {
			hub_monitor_presence(hub, m->from, NULL);
			hub_monitor_presence(hub, m->target, to->user);
		}
		break;
	}
	default:
		break;
	}
}

void
hub_deliver(struct hub *hub, struct msg *m, const struct audience *to)
{
	switch (to->shape) {
	case AUD_ROOM:
		room_send(to->room, m, to->except);
		break;
	case AUD_NEIGHBOURS:
		neighbours_send(hub, to->user, m, to->self);
		if (to->watchers)
			hub_monitor_tell(hub, to->user, m);
		break;
	case AUD_USER:
		deliver(to->user, m);
		if (to->also != NULL && to->also != to->user)
			deliver(to->also, m);
		break;
	case AUD_INVITE:
		deliver(to->user, m);
		/* Ops of the room hear of it too (IRCv3 invite-notify). */
		for (uint32_t i = 0; i < to->room->nmembers; i++) {
			const struct member *mem = &to->room->members[i];
			if ((mem->modes & MEMBER_OP) && mem->user != to->except)
				deliver(mem->user, m);
		}
		break;
	case AUD_NOBODY:
		break;
	}
	presence(hub, m, to);
}

/* A registered room's version orders the snapshots of its state that
 * the nodes of a cluster save (store/rooms.c): a snapshot is kept only
 * over an older one, so one written late (held back while its node's
 * database was away) never replaces what another node saved after it.
 * It is an event's msgid made a number, its milliseconds and its node
 * (the 64 high bits), so two nodes' versions differ. A change heard from
 * another node raises the room's version to at least the event's; one
 * made here goes past the room's version, borrowing the next
 * millisecond when this node's clock is behind it: so a snapshot made
 * after hearing a change is newer than that change's snapshot, whatever
 * the clocks say. Changes no node had heard of when it made its own are
 * ordered by their msgids' time. */
void
hub_room_stamp(struct room *room, const struct msg *m, int here)
{
	if (m->kind != MSG_TOPIC && m->kind != MSG_MODE && m->kind != MSG_REGISTER &&
	    m->kind != MSG_UNREGISTER)
		return;
	uint64_t ms;
	uint16_t node;
	if (room == NULL || room->reg == NULL || msgid_read(m->id, &ms, &node, NULL) != 0)
		return;
	uint64_t v = ms << 16 | node;
	if (here && v <= room->reg->version)
		v = ((room->reg->version >> 16) + 1) << 16 | node;
	if (v > room->reg->version)
		room->reg->version = v;
}

void
hub_emit(struct hub *hub, struct msg *m, const struct audience *to)
{
	hub_deliver(hub, m, to);
	hub_room_stamp(to->room, m, 1);
	for (unsigned i = 0; i < hub->nobservers; i++)
		hub->observers[i].fn(hub->observers[i].ctx, m, to);
}
