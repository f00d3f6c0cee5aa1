/* Events that happened elsewhere (another node): the state changes as
 * the event says, whoever may, and the event reaches its audience here,
 * as the command that made it would have delivered it; observers do not
 * see it (where it was made, they did). The users it names exist here:
 * MSG_CONNECT made them, as remote users whom nothing reaches from here. */
#include <string.h>

#include "chat/hub.h"
#include "chat/hub_emit.h"
#include "chat/hub_state.h"

static void
nothing(struct user *u, struct msg *m)
{
	(void)u;
	(void)m;
}

static void
not_here(struct user *u, const char *reason)
{
	/* Its own node closes its connection; the KILL reaches it there. */
	(void)u;
	(void)reason;
}

const struct user_ops hub_remote_ops = {
	.deliver = nothing,
	.disconnect = not_here,
};

/* A user of another node, named as the event says. */
static enum hub_status
connected(struct hub *hub, struct msg *m, struct user **made)
{
	/* Another node checked; what is kept here is bounded all the same. */
	if (!name_nick_valid(m->from, NICK_LEN_MAX))
		return HUB_EBADNICK;
	if (hub_user_find(hub, m->from) != NULL)
		return HUB_ENICKINUSE;
	struct user *u = hub_add_user(hub, m->from, &hub_remote_ops, NULL,
	    m->ident ? m->ident : "", m->host ? m->host : "", m->text ? m->text : "");
	if (u == NULL)
		return HUB_ENOMEM;
	u->remote = 1;
	u->signon = (time_t)(m->at_ms / 1000);
	u->last_active = m->at_ms;
	u->one_line = m->one_line;
	/* Logged in before it came (SASL): its account comes with it, as a
	 * later login's MSG_ACCOUNT does. */
	if (memchr(m->account, '\0', sizeof m->account) != NULL)
		memcpy(u->account, m->account, sizeof u->account);
	if (m->from_bot)
		hub_set_umodes(hub, u, UMODE_BOT, 1);
	*made = u;
	return HUB_OK;
}

static enum hub_status
umodes(struct hub *hub, struct user *u, const char *text)
{
	if (text == NULL || (text[0] != '+' && text[0] != '-'))
		return HUB_EUNKNOWNMODE;
	uint8_t bits = 0;
	for (const char *p = text + 1; *p; p++)
		bits |= hub_umode_bit(*p);
	hub_set_umodes(hub, u, bits, text[0] == '+');
	return HUB_OK;
}

enum hub_status
hub_apply(struct hub *hub, struct msg *m)
{
	struct user *u = NULL, *target = NULL;
	struct room *room = NULL;
	if (m->kind == MSG_MODE && hub_from_service(m))
		return hub_room_service_mode(hub, m);
	if (m->kind != MSG_CONNECT && (u = hub_user_find(hub, m->from)) == NULL)
		return HUB_ENONICK;
	if (m->room != NULL && m->kind != MSG_JOIN && (room = hub_room_find(hub, m->room)) == NULL)
		return HUB_ENOROOM;
	if (m->target != NULL && m->kind != MSG_NICK && m->kind != MSG_CHGHOST &&
	    (target = hub_user_find(hub, m->target)) == NULL)
		return HUB_ENONICK;
	/* The events that leave a room are told before the leaving, as their
	 * commands do, so that who leaves hears it too. */
	struct audience to = { .shape = AUD_ROOM, .room = room, .except = u };
	enum hub_status st = HUB_OK;
	switch (m->kind) {
	case MSG_CONNECT:
		if ((st = connected(hub, m, &u)) != HUB_OK)
			return st;
		to = (struct audience){ .shape = AUD_NOBODY, .user = u };
		break;
	case MSG_UMODE:
		if ((st = umodes(hub, u, m->text)) != HUB_OK)
			return st;
		to = (struct audience){ .shape = AUD_NOBODY, .user = u };
		break;
	case MSG_SAY:
	case MSG_ACTION:
	case MSG_NOTICE:
	case MSG_TAGMSG:
	case MSG_PRIVATE:
		if (room == NULL && target == NULL)
			return HUB_ENONICK;
		if (room == NULL)
			to = (struct audience){ .shape = AUD_USER, .user = target };
		break;
	case MSG_JOIN:
		if (m->room == NULL || !name_room_valid(m->room, ROOM_LEN_MAX))
			return HUB_EBADROOM;
		room = hub_room_find(hub, m->room);
		if (room != NULL && hub_is_member(room, u))
			return HUB_EUSERON;
		if (u->nrooms >= HUB_ROOMS_PER_USER)
			return HUB_ETOOMANY;
		if ((st = hub_enter(hub, u, &room, m->room, NULL)) != HUB_OK)
			return st;
		to = (struct audience){ .shape = AUD_ROOM, .room = room };
		break;
	case MSG_PART:
	case MSG_KICK: {
		struct user *leaver = m->kind == MSG_KICK ? target : u;
		if (room == NULL || leaver == NULL || !hub_is_member(room, leaver))
			return HUB_EUSERNOTIN;
		to.except = NULL;
		hub_deliver(hub, m, &to);
		hub_leave(hub, leaver, room);
		return HUB_OK;
	}
	case MSG_QUIT:
		hub_deliver(hub, m, &(struct audience){ .shape = AUD_NEIGHBOURS, .user = u });
		hub_remove_user(hub, u);
		return HUB_OK;
	case MSG_NICK:
		if (m->target == NULL || !name_nick_valid(m->target, NICK_LEN_MAX))
			return HUB_EBADNICK;
		if ((target = hub_user_find(hub, m->target)) != NULL && target != u)
			return HUB_ENICKINUSE;
		hub_rename(hub, u, m->target);
		to = (struct audience){ .shape = AUD_NEIGHBOURS, .user = u, .self = 1 };
		break;
	case MSG_TOPIC: {
		if (room == NULL)
			return HUB_ENOROOM;
		char mask[HUB_MASK_MAX];
		hub_user_mask(u, mask);
		if (hub_set_topic(hub, room, m->text, mask, (time_t)(m->at_ms / 1000)) < 0)
			return HUB_ENOMEM;
		to.except = NULL;
		break;
	}
	case MSG_MODE:
		if (room == NULL || m->text == NULL)
			return HUB_ENOROOM;
		hub_modes_apply(hub, u, room, m->text);
		to.except = NULL;
		break;
	case MSG_INVITE:
		if (room == NULL || target == NULL)
			return HUB_ENONICK;
		/* Only an operator's invitation opens +i, so only that one is
		 * kept. */
		if (hub_is_op(room, u) && hub_add_invite(target, room) < 0)
			return HUB_ENOMEM;
		to = (struct audience){ .shape = AUD_INVITE, .user = target, .room = room,
		    .except = u };
		break;
	case MSG_AWAY:
		if (hub_set_away(u, m->text) < 0)
			return HUB_ENOMEM;
		/* Told to a room when it came back into one, else to everyone
		 * near. */
		if (room == NULL)
			to = (struct audience){ .shape = AUD_NEIGHBOURS, .user = u, .watchers = 1 };
		break;
	case MSG_SETNAME:
		if (m->text == NULL || hub_set_realname(u, m->text) < 0)
			return HUB_ENOMEM;
		to = (struct audience){ .shape = AUD_NEIGHBOURS, .user = u, .self = 1,
		    .watchers = 1 };
		break;
	case MSG_CHGHOST:
		if (m->target == NULL || m->text == NULL ||
		    !name_host_valid(m->text, USER_HOST_MAX))
			return HUB_EBADHOST;
		hub_set_host(u, m->target, m->text);
		to = (struct audience){ .shape = AUD_NEIGHBOURS, .user = u, .self = 1,
		    .watchers = 1 };
		break;
	case MSG_REDACT:
		if (room == NULL && target == NULL)
			return HUB_ENONICK;
		if (room != NULL)
			to.except = NULL;
		else
			to = (struct audience){ .shape = AUD_USER, .user = target, .also = u };
		break;
	case MSG_REGISTER:
	case MSG_UNREGISTER:
		st = hub_room_registered(hub, m);
		if (st == HUB_OK)
			hub_room_stamp(hub_room_find(hub, m->room), m, 0);
		return st;
	case MSG_ACCOUNT:
		if (memchr(m->account, '\0', sizeof m->account) == NULL)
			return HUB_EBADNICK;
		memcpy(u->account, m->account, sizeof u->account);
		/* The account exists: its nickname is its own here now, as on
		 * the node that registered it, not only once this node reads
		 * the accounts again (accounts.c's sync, within a second). */
		if (m->account[0] != '\0' && hub_account_owner(hub, m->account) == NULL &&
		    hub_account_add(hub, m->account) == 0)
			hub_account_enforce(hub, m->account);
		to = (struct audience){ .shape = AUD_NEIGHBOURS, .user = u, .self = 1 };
		break;
	}
	hub_room_stamp(room, m, 0);
	hub_deliver(hub, m, &to);
	return HUB_OK;
}
