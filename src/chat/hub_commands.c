/* What users do: each command checks who may, changes the state
 * (hub_state.h), then emits the event through the one exit (hub_emit.c)
 * to the audience it concerns. An event is lost (not the change it tells
 * of) when memory runs out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/text.h"
#include "chat/hub.h"
#include "chat/hub_emit.h"
#include "chat/hub_monitor.h"
#include "chat/hub_recent.h"
#include "chat/hub_state.h"

/* Emits m (if made) to to, and drops it. */
static void
tell(struct hub *hub, struct msg *m, const struct audience *to)
{
	if (m == NULL)
		return;
	hub_emit(hub, m, to);
	msg_unref(m);
}

static void
tell_room(struct hub *hub, struct room *room, enum msg_kind kind, const struct user *from,
    const char *target, const char *text, const struct user *except)
{
	tell(hub, hub_msg(hub, kind, from, room->name, target, text),
	    &(struct audience){ .shape = AUD_ROOM, .room = room, .except = except });
}

static void
tell_neighbours(struct hub *hub, struct user *u, struct msg *m, int self, int watchers)
{
	tell(hub, m, &(struct audience){ .shape = AUD_NEIGHBOURS, .user = u,
	    .self = (uint8_t)self, .watchers = (uint8_t)watchers });
}

/* Users. */

/* A user came: MONITOR and observers hear of it. */
static struct user *
arrived(struct hub *hub, struct user *u)
{
	tell(hub, hub_msg(hub, MSG_CONNECT, u, NULL, NULL, u->realname),
	    &(struct audience){ .shape = AUD_NOBODY, .user = u });
	return u;
}

/* A guest nickname nobody has and no account owns. */
static void
guest_nick(struct hub *hub, char nick[NICK_LEN_MAX + 1])
{
	do
		snprintf(nick, NICK_LEN_MAX + 1, "guest%u", ++hub->guests);
	while (hub_user_find(hub, nick) != NULL || hub_account_owner(hub, nick) != NULL);
}

struct user *
hub_user_new(struct hub *hub, const struct user_ops *ops, void *door,
    const char *ident, const char *host, const char *realname)
{
	char nick[NICK_LEN_MAX + 1];
	guest_nick(hub, nick);
	struct user *u = hub_add_user(hub, nick, ops, door, ident, host, realname);
	return u != NULL ? arrived(hub, u) : NULL;
}

enum hub_status
hub_nick_guest(struct hub *hub, struct user *u)
{
	char nick[NICK_LEN_MAX + 1];
	guest_nick(hub, nick);
	return hub_nick(hub, u, nick);
}

struct user *
hub_user_new_named(struct hub *hub, const char *nick, const struct user_ops *ops,
    void *door, const char *ident, const char *host, const char *realname,
    enum hub_status *st)
{
	return hub_user_new_as(hub, nick, NULL, ops, door, ident, host, realname, st);
}

struct user *
hub_user_new_as(struct hub *hub, const char *nick, const char *account,
    const struct user_ops *ops, void *door, const char *ident, const char *host,
    const char *realname, enum hub_status *st)
{
	*st = hub_nick_available(hub, nick, NULL);
	const char *owner = hub_account_owner(hub, nick);
	if (*st == HUB_EOWNED && account != NULL && strcasecmp(owner, account) == 0)
		*st = HUB_OK;
	if (*st != HUB_OK)
		return NULL;
	struct user *u = hub_add_user(hub, nick, ops, door, ident, host, realname);
	if (u == NULL) {
		*st = HUB_ENOMEM;
		return NULL;
	}
	if (account != NULL)
		snprintf(u->account, sizeof u->account, "%s", account);
	return arrived(hub, u);
}

void
hub_user_quit(struct hub *hub, struct user *u, const char *reason)
{
	char cut[HUB_REASON_MAX + 1];
	/* What u watched goes first: u hears nothing of its own going. */
	hub_monitor_clear(hub, u);
	tell_neighbours(hub, u, hub_msg(hub, MSG_QUIT, u, NULL, NULL,
	    text_cut(reason, HUB_REASON_MAX, cut)), 0, 0);
	hub_remove_user(hub, u);
}

void
hub_umode(struct hub *hub, struct user *u, uint8_t bits, int on)
{
	uint8_t changed = hub_set_umodes(hub, u, bits, on);
	if (changed == 0)
		return;
	char text[HUB_UMODE_TEXT_MAX];
	hub_umode_text(changed, on, text);
	tell(hub, hub_msg(hub, MSG_UMODE, u, NULL, NULL, text),
	    &(struct audience){ .shape = AUD_NOBODY, .user = u });
}

enum hub_status
hub_nick(struct hub *hub, struct user *u, const char *nick)
{
	enum hub_status st = hub_nick_available(hub, nick, u);
	if (st != HUB_OK)
		return st;
	if (strcmp(u->nick, nick) == 0)
		return HUB_OK;
	struct msg *m = hub_msg(hub, MSG_NICK, u, NULL, nick, NULL);
	hub_rename(hub, u, nick);
	tell_neighbours(hub, u, m, 1, 0);
	return HUB_OK;
}

enum hub_status
hub_away(struct hub *hub, struct user *u, const char *text)
{
	if (hub_set_away(u, text) < 0)
		return HUB_ENOMEM;
	tell_neighbours(hub, u, hub_msg(hub, MSG_AWAY, u, NULL, NULL, u->away), 0, 1);
	return HUB_OK;
}

enum hub_status
hub_setname(struct hub *hub, struct user *u, const char *realname)
{
	if (hub_set_realname(u, realname) < 0)
		return HUB_ENOMEM;
	tell_neighbours(hub, u, hub_msg(hub, MSG_SETNAME, u, NULL, NULL, u->realname), 1, 1);
	return HUB_OK;
}

enum hub_status
hub_chghost(struct hub *hub, struct user *u, const char *host)
{
	if (!name_host_valid(host, USER_HOST_MAX))
		return HUB_EBADHOST;
	if (strcmp(host, u->host) == 0)
		return HUB_OK;
	/* The event names the old host, so it is made before the change. */
	struct msg *m = hub_msg(hub, MSG_CHGHOST, u, NULL, u->ident, host);
	hub_set_host(u, u->ident, host);
	tell_neighbours(hub, u, m, 1, 1);
	return HUB_OK;
}

/* Rooms. */

/* Why u may not join room, or HUB_OK. An invitation passes +i, and only
 * +i, as Modern IRC and the major servers have it: bans, the key and the
 * limit hold for the invited too. */
static enum hub_status
join_check(const struct room *room, struct user *u, const char *key)
{
	if (hub_is_banned(room, u))
		return HUB_EBANNED;
	/* A registered room's own accounts get +o on joining: its +i, key
	 * and limit, which they could lift, do not keep them out. */
	if (room->reg != NULL && hub_room_op_account(room, u->account))
		return HUB_OK;
	if ((room->modes & RMODE_INVITE) && hub_invite_index(u, room) < 0 &&
	    !hub_is_invex(room, u))
		return HUB_EINVITEONLY;
	if (room->password != NULL && (key == NULL || strcmp(key, room->password) != 0))
		return HUB_EBADKEY;
	if (room->limit > 0 && room->nmembers >= room->limit)
		return HUB_EFULL;
	return HUB_OK;
}

enum hub_status
hub_join(struct hub *hub, struct user *u, const char *name)
{
	return hub_join_key(hub, u, name, NULL);
}

enum hub_status
hub_join_key(struct hub *hub, struct user *u, const char *name, const char *key)
{
	struct room *room = hub_room_find(hub, name);
	if (room != NULL) {
		if (hub_is_member(room, u)) {
			hub_focus(u, room);
			return HUB_EALREADY;
		}
		enum hub_status st = join_check(room, u, key);
		if (st != HUB_OK)
			return st;
	}
	if (u->nrooms >= HUB_ROOMS_PER_USER)
		return HUB_ETOOMANY;
	if (room == NULL && hub->max_rooms > 0 && hub->nrooms >= hub->max_rooms)
		return HUB_EROOMS;
	if (room == NULL && u->nmade >= HUB_ROOMS_MADE_PER_USER)
		return HUB_EMADE;
	enum hub_status st = hub_enter(hub, u, &room, name, u);
	if (st != HUB_OK)
		return st;
	tell_room(hub, room, MSG_JOIN, u, NULL, u->realname, NULL);
	if (u->away != NULL)
		tell_room(hub, room, MSG_AWAY, u, NULL, u->away, u);
	if (room->reg != NULL)
		hub_room_joined(hub, room, u);
	return HUB_OK;
}

enum hub_status
hub_part(struct hub *hub, struct user *u, struct room *room, const char *reason)
{
	if (!hub_is_member(room, u))
		return HUB_ENOTIN;
	char cut[HUB_REASON_MAX + 1];
	/* Told before it leaves, so that it hears it too. */
	tell_room(hub, room, MSG_PART, u, NULL, text_cut(reason, HUB_REASON_MAX, cut), NULL);
	hub_leave(hub, u, room);
	return HUB_OK;
}

enum hub_status
hub_topic(struct hub *hub, struct user *u, struct room *room, const char *text)
{
	if (!hub_is_member(room, u))
		return HUB_ENOTIN;
	if ((room->modes & RMODE_TOPIC) && !hub_is_op(room, u))
		return HUB_ECHANOP;
	char mask[HUB_MASK_MAX];
	hub_user_mask(u, mask);
	if (hub_set_topic(hub, room, text, mask, clock_now_s()) < 0)
		return HUB_ENOMEM;
	tell_room(hub, room, MSG_TOPIC, u, NULL, room->topic, NULL);
	return HUB_OK;
}

enum hub_status
hub_kick(struct hub *hub, struct user *op, struct room *room, const char *nick,
    const char *reason)
{
	if (!hub_is_member(room, op))
		return HUB_ENOTIN;
	if (!hub_is_op(room, op))
		return HUB_ECHANOP;
	struct user *target = hub_user_find(hub, nick);
	if (target == NULL)
		return HUB_ENONICK;
	if (!hub_is_member(room, target))
		return HUB_EUSERNOTIN;
	char cut[HUB_REASON_MAX + 1];
	tell_room(hub, room, MSG_KICK, op, target->nick, text_cut(reason, HUB_REASON_MAX, cut),
	    NULL);
	hub_leave(hub, target, room);
	return HUB_OK;
}

enum hub_status
hub_invite(struct hub *hub, struct user *u, struct room *room, const char *nick,
    struct user **to)
{
	struct user *target = hub_user_find(hub, nick);
	if (target == NULL)
		return HUB_ENONICK;
	if (!hub_is_member(room, u))
		return HUB_ENOTIN;
	int op = hub_is_op(room, u);
	if ((room->modes & RMODE_INVITE) && !op)
		return HUB_ECHANOP;
	if (hub_is_member(room, target))
		return HUB_EUSERON;
	/* Anyone in a room that is not +i may say "come in"; only an
	 * operator's word opens +i, so only that one is kept. */
	if (op && hub_add_invite(target, room) < 0)
		return HUB_ENOMEM;
	tell(hub, hub_msg(hub, MSG_INVITE, u, room->name, target->nick, NULL),
	    &(struct audience){ .shape = AUD_INVITE, .user = target, .room = room,
	    .except = u });
	*to = target;
	return HUB_OK;
}

/* Messages. */

/* Whether u may speak in room: +n keeps outsiders out, +m everyone but
 * ops and voiced members, and a ban silences members too. */
static enum hub_status
speak_check(const struct room *room, const struct user *u)
{
	const struct member *me = hub_member(room, u);
	if (me == NULL)
		return (room->modes & RMODE_NOEXTERNAL) ? HUB_ENOTIN : HUB_OK;
	if (me->modes & (MEMBER_OP | MEMBER_VOICE))
		return HUB_OK;
	if (room->modes & RMODE_MODERATED)
		return HUB_ECANNOTSEND;
	if (hub_is_banned(room, u))
		return HUB_ECANNOTSEND;
	return HUB_OK;
}

/* A msg with the sender's client-only tags. */
static struct msg *
tagged_msg(struct hub *hub, enum msg_kind kind, const struct user *u,
    const char *room, const char *target, const char *text, const char *client_tags)
{
	struct msg *m = hub_msg(hub, kind, u, room, target, text);
	if (m != NULL && client_tags != NULL &&
	    (m->client_tags = strdup(client_tags)) == NULL) {
		msg_unref(m);
		return NULL;
	}
	return m;
}

/* Emits a message, and keeps it for the caller (sent) or drops it. */
static void
send_msg(struct hub *hub, struct msg *m, const struct audience *to, struct msg **sent)
{
	hub_emit(hub, m, to);
	if (sent != NULL)
		*sent = m;
	else
		msg_unref(m);
}

enum hub_status
hub_say_msg(struct hub *hub, struct user *u, struct room *room,
    enum msg_kind kind, const char *text, const char *client_tags, struct msg **sent)
{
	enum hub_status st = speak_check(room, u);
	if (st != HUB_OK)
		return st;
	struct msg *m = tagged_msg(hub, kind, u, room->name, NULL, text, client_tags);
	if (m == NULL)
		return HUB_ENOMEM;
	hub_recent_note(hub, m->id, u->serial, room->serial, 0);
	send_msg(hub, m, &(struct audience){ .shape = AUD_ROOM, .room = room, .except = u },
	    sent);
	return HUB_OK;
}

enum hub_status
hub_say(struct hub *hub, struct user *u, struct room *room, enum msg_kind kind,
    const char *text)
{
	return hub_say_msg(hub, u, room, kind, text, NULL, NULL);
}

enum hub_status
hub_private(struct hub *hub, struct user *u, const char *nick, enum msg_kind kind,
    const char *text, const char *client_tags, struct user **to, struct msg **sent)
{
	struct user *target = hub_user_find(hub, nick);
	if (target == NULL)
		return HUB_ENONICK;
	if (kind == MSG_SAY)
		kind = MSG_PRIVATE;
	struct msg *m = tagged_msg(hub, kind, u, NULL, target->nick, text, client_tags);
	if (m == NULL)
		return HUB_ENOMEM;
	hub_recent_note(hub, m->id, u->serial, target->serial, 1);
	*to = target;
	send_msg(hub, m, &(struct audience){ .shape = AUD_USER, .user = target }, sent);
	return HUB_OK;
}
