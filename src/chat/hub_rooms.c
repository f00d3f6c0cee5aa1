/* Registered rooms (issue 13): kept by the hub when empty, their
 * founder's account and the accounts given +o get +o on joining. The
 * database is store/rooms.c's, an observer of this hub's events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "chat/hub.h"
#include "chat/hub_emit.h"
#include "chat/hub_state.h"

/* The service registered rooms' events come from. */
const struct user hub_service = {
	.nick = "ChanServ", .key = "chanserv", .ident = "ChanServ", .host = "services",
	.addr = "services", .ops = &hub_remote_ops,
};

int
hub_room_op_account(const struct room *room, const char *account)
{
	const struct room_reg *reg = room->reg;
	if (reg == NULL || account == NULL || account[0] == '\0')
		return 0;
	if (strcasecmp(reg->founder, account) == 0)
		return 1;
	for (int i = 0; i < reg->nops; i++)
		if (strcasecmp(reg->ops[i], account) == 0)
			return 1;
	return 0;
}

enum hub_status
hub_room_register(struct hub *hub, struct user *u, struct room *room)
{
	(void)hub;
	if (u->account[0] == '\0')
		return HUB_ENOACCOUNT;
	if (!hub_is_member(room, u))
		return HUB_ENOTIN;
	if (!hub_is_op(room, u))
		return HUB_ECHANOP;
	if (room->reg != NULL)
		return HUB_EALREADY;
	struct msg *m = hub_msg(hub, MSG_REGISTER, u, room->name, NULL, NULL);
	if (m == NULL || (room->reg = calloc(1, sizeof *room->reg)) == NULL) {
		msg_unref(m);
		return HUB_ENOMEM;
	}
	snprintf(room->reg->founder, sizeof room->reg->founder, "%s", u->account);
	hub->reg_changes++;
	/* The event's second: the same on every node that applies it. */
	room->reg->at = (time_t)(m->at_ms / 1000);
	/* The room rides along (no one hears it): hub_room_stamp's. */
	hub_emit(hub, m, &(struct audience){ .shape = AUD_NOBODY, .user = u, .room = room });
	msg_unref(m);
	return HUB_OK;
}

/* An empty room that nothing keeps any more goes (as when its last
 * member leaves). */
static void
room_maybe_gone(struct hub *hub, struct room *room)
{
	if (room->nmembers == 0 && room->reg == NULL)
		hub_room_gone(hub, room);
}

static void
unregister(struct hub *hub, struct room *room)
{
	free(room->reg);
	room->reg = NULL;
	hub->reg_changes++;
	room_maybe_gone(hub, room);
}

/* room unregistered by by, told first (no one hears it; the observers
 * do) while the room is there: an empty one goes with it. */
static void
unregister_told(struct hub *hub, const struct user *by, struct room *room)
{
	struct msg *m = hub_msg(hub, MSG_UNREGISTER, by, room->name, NULL, NULL);
	if (m != NULL)
		hub_emit(hub, m, &(struct audience){ .shape = AUD_NOBODY, .room = room });
	msg_unref(m);
	unregister(hub, room);
}

/* account off reg's ops list: 1 when it was on it. */
static int
ops_remove(struct room_reg *reg, const char *account)
{
	for (int i = 0; i < reg->nops; i++)
		if (strcasecmp(reg->ops[i], account) == 0) {
			memcpy(reg->ops[i], reg->ops[--reg->nops], sizeof reg->ops[i]);
			return 1;
		}
	return 0;
}

enum hub_status
hub_room_drop(struct hub *hub, struct user *u, struct room *room)
{
	if (room->reg == NULL)
		return HUB_ENOROOM;
	if (!hub_logged_in_as(u, room->reg->founder) && !(u->umodes & UMODE_OPER))
		return HUB_ENOTYOURS;
	unregister_told(hub, u, room);
	return HUB_OK;
}

void
hub_rooms_account_gone(struct hub *hub, const char *name)
{
	struct room *room, *tmp;
	HASH_ITER(hh, hub->rooms, room, tmp) {
		struct room_reg *reg = room->reg;
		if (reg == NULL)
			continue;
		if (strcasecmp(reg->founder, name) == 0) {
			/* Every node whose registry loses the name does this;
			 * one that heard another's first has nothing left to
			 * unregister. */
			unregister_told(hub, &hub_service, room);
			continue;
		}
		if (ops_remove(reg, name))
			hub->reg_changes++;
	}
}

enum hub_status
hub_room_registered(struct hub *hub, const struct msg *m)
{
	if (m->room == NULL)
		return HUB_ENOROOM;
	if (m->kind == MSG_UNREGISTER) {
		struct room *room = hub_room_find(hub, m->room);
		if (room == NULL || room->reg == NULL)
			return HUB_ENOROOM;
		unregister(hub, room);
		return HUB_OK;
	}
	if (!name_nick_valid(m->account, ACCOUNT_LEN_MAX))
		return HUB_ENOACCOUNT;
	struct room *room = hub_room_find(hub, m->room);
	/* Registered already (two nodes at once): the earlier registration
	 * holds, the same on every node whatever order they heard them in. */
	time_t at = (time_t)(m->at_ms / 1000);
	if (room != NULL && room->reg != NULL && (room->reg->at < at ||
	    (room->reg->at == at && strcmp(room->reg->founder, m->account) <= 0)))
		return HUB_EALREADY;
	if (room != NULL && room->reg != NULL)
		room->reg->nops = 0;
	if ((room = hub_room_restore(hub, m->room, m->account, NULL)) == NULL)
		return HUB_ENOMEM;
	room->reg->at = at;
	hub->reg_changes++;
	return HUB_OK;
}

void
hub_rooms_registered_only(struct hub *hub, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct room *room = hub_room_find(hub, names[i]);
		if (room != NULL && room->reg != NULL)
			room->reg->listed = 1;
	}
	struct room *room, *tmp;
	HASH_ITER(hh, hub->rooms, room, tmp) {
		if (room->reg == NULL)
			continue;
		if (room->reg->listed)
			room->reg->listed = 0;
		else
			unregister(hub, room);
	}
}

static const struct {
	char letter;
	uint8_t bit;
} flags[] = {
	{ 'i', RMODE_INVITE }, { 'm', RMODE_MODERATED }, { 'n', RMODE_NOEXTERNAL },
	{ 's', RMODE_SECRET }, { 't', RMODE_TOPIC },
};

void
hub_room_load(struct hub *hub, struct room *room, const struct hub_room_state *st)
{
	/* The state comes from outside this process (the store, or another
	 * node through Redis): it is held to the rules a client's TOPIC and
	 * MODE are, or left out, so nothing in it can forge a line. */
	const char *topic = st->topic, *by = st->topic_by;
	if (topic != NULL && !hub_text_valid(topic, HUB_TOPIC_MAX))
		topic = NULL;
	if (!hub_word_valid(by, HUB_LIST_MASK_MAX))
		by = hub_service.nick;
	(void)hub_set_topic(hub, room, topic, by, st->topic_at);
	if (st->created > 0)
		room->created = st->created;
	room->modes = 0;
	for (const char *p = st->modes ? st->modes : ""; *p; p++)
		for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
			if (flags[i].letter == *p)
				room->modes |= flags[i].bit;
	free(room->password);
	room->password = NULL;
	if (hub_key_valid(st->key))
		room->password = strdup(st->key);  /* none, when out of memory */
	if (st->limit <= HUB_LIMIT_MAX)
		room->limit = st->limit;
}

struct room *
hub_room_restore(struct hub *hub, const char *name, const char *founder,
    const struct hub_room_state *st)
{
	if (!name_room_valid(name, ROOM_LEN_MAX) || founder == NULL)
		return NULL;
	struct room *room = hub_room_find(hub, name);
	if (room == NULL) {
		if ((room = hub_room_make(hub, name)) == NULL)
			return NULL;
		if (st != NULL)
			hub_room_load(hub, room, st);
	}
	if (room->reg == NULL && (room->reg = calloc(1, sizeof *room->reg)) == NULL) {
		room_maybe_gone(hub, room);
		return NULL;
	}
	snprintf(room->reg->founder, sizeof room->reg->founder, "%s", founder);
	return room;
}

/* Called by hub_join_key after u joined a registered room: +o from the
 * service when its account is the room's. */
void
hub_room_joined(struct hub *hub, struct room *room, struct user *u)
{
	struct member *mem = hub_member(room, u);
	if (mem == NULL || (mem->modes & MEMBER_OP) || !hub_room_op_account(room, u->account))
		return;
	mem->modes |= MEMBER_OP;
	char change[NICK_LEN_MAX + 4];
	snprintf(change, sizeof change, "+o %s", u->nick);
	struct msg *m = hub_msg(hub, MSG_MODE, &hub_service, room->name, NULL, change);
	if (m == NULL)
		return;
	hub_emit(hub, m, &(struct audience){ .shape = AUD_ROOM, .room = room });
	msg_unref(m);
}

int
hub_from_service(const struct msg *m)
{
	return m->from != NULL && strcasecmp(m->from, hub_service.nick) == 0;
}

enum hub_status
hub_room_service_mode(struct hub *hub, struct msg *m)
{
	/* What the service ever says: "+o NICK" to an account the room
	 * names, as hub_room_joined does; nothing else is taken from
	 * another node in its name. */
	struct room *room = m->room != NULL ? hub_room_find(hub, m->room) : NULL;
	if (room == NULL || room->reg == NULL)
		return HUB_ENOROOM;
	if (m->text == NULL || strncmp(m->text, "+o ", 3) != 0)
		return HUB_EUNKNOWNMODE;
	struct user *u = hub_user_find(hub, m->text + 3);
	struct member *mem = u != NULL ? hub_member(room, u) : NULL;
	if (mem == NULL)
		return HUB_EUSERNOTIN;
	if (!hub_room_op_account(room, u->account))
		return HUB_ECHANOP;
	mem->modes |= MEMBER_OP;
	hub_deliver(hub, m, &(struct audience){ .shape = AUD_ROOM, .room = room });
	return HUB_OK;
}

/* +o or -o given to target in a registered room: its account gets (or
 * loses) +o on joining. The founder's is the founder's. */
void
hub_room_op_changed(struct room *room, const struct user *target, int on)
{
	struct room_reg *reg = room->reg;
	if (reg == NULL || target->account[0] == '\0' ||
	    strcasecmp(reg->founder, target->account) == 0)
		return;
	if (!on) {
		ops_remove(reg, target->account);
		return;
	}
	for (int i = 0; i < reg->nops; i++)
		if (strcasecmp(reg->ops[i], target->account) == 0)
			return;
	if (reg->nops < HUB_ROOM_OPS_MAX)
		snprintf(reg->ops[reg->nops++], sizeof reg->ops[0], "%s", target->account);
}
