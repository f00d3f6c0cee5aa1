#include "chat/hub.h"
#include "chat/hub_monitor.h"
#include "chat/hub_recent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/text.h"

void
hub_init(struct hub *hub, size_t topic_len, size_t nick_len)
{
	memset(hub, 0, sizeof *hub);
	hub->topic_len = topic_len > HUB_TOPIC_MAX ? HUB_TOPIC_MAX : topic_len;
	hub->nick_len = nick_len > NICK_LEN_MAX ? NICK_LEN_MAX : nick_len;
	msgid_init(&hub->ids, 0);
}

void
hub_set_node(struct hub *hub, uint16_t node)
{
	hub->ids.node = node;
}

/* The maker no longer answers for room (it is gone, or the maker is). */
static void
room_unmake(struct room *room)
{
	struct user *maker = room->maker;
	if (maker == NULL)
		return;
	for (int i = 0; i < maker->nmade; i++)
		if (maker->made[i] == room) {
			maker->made[i] = maker->made[--maker->nmade];
			break;
		}
	room->maker = NULL;
}

static void
room_free(struct hub *hub, struct room *room)
{
	room_unmake(room);
	free(room->topic);
	free(room->topic_by);
	free(room->password);
	struct ban *lists[] = { room->bans, room->excepts, room->invexes };
	uint32_t counts[] = { room->nbans, room->nexcepts, room->ninvexes };
	for (int l = 0; l < 3; l++) {
		for (uint32_t i = 0; i < counts[l]; i++)
			free(lists[l][i].mask);
		free(lists[l]);
		hub->nmasks -= counts[l];
	}
	free(room->members);
	free(room);
}

static void
user_free(struct user *u)
{
	free(u->rooms);
	free(u->invites);
	free(u->made);
	free(u->realname);
	free(u->away);
	free(u->watching);
	free(u);
}

void
hub_clear(struct hub *hub)
{
	struct room *room, *rtmp;
	HASH_ITER(hh, hub->rooms, room, rtmp) {
		HASH_DEL(hub->rooms, room);
		hub->nrooms--;
		room_free(hub, room);
	}
	struct user *u, *utmp;
	HASH_ITER(hh, hub->users, u, utmp) {
		HASH_DEL(hub->users, u);
		user_free(u);
	}
	hub->nusers = hub->nopers = hub->ninvisible = hub->nrooms = 0;
	hub_monitor_free_all(hub);
	hub_recent_free(hub);
}

struct user *
hub_user_find(struct hub *hub, const char *nick)
{
	char key[NICK_LEN_MAX + 1];
	if (strlen(nick) > NICK_LEN_MAX)
		return NULL;
	name_fold(key, nick);
	struct user *u;
	HASH_FIND_STR(hub->users, key, u);
	return u;
}

struct room *
hub_room_find(struct hub *hub, const char *name)
{
	char key[ROOM_LEN_MAX + 1];
	if (strlen(name) > ROOM_LEN_MAX)
		return NULL;
	name_fold(key, name);
	struct room *room;
	HASH_FIND_STR(hub->rooms, key, room);
	return room;
}

struct room *
hub_current_room(const struct user *u)
{
	return u->nrooms > 0 ? u->rooms[u->nrooms - 1] : NULL;
}

static int
user_room_index(const struct user *u, const struct room *room)
{
	for (int i = 0; i < u->nrooms; i++)
		if (u->rooms[i] == room)
			return i;
	return -1;
}

int
hub_is_member(const struct room *room, const struct user *u)
{
	return user_room_index(u, room) >= 0;
}

struct member *
hub_member(const struct room *room, const struct user *u)
{
	if (!hub_is_member(room, u))
		return NULL;
	for (uint32_t i = 0; i < room->nmembers; i++)
		if (room->members[i].user == u)
			return &room->members[i];
	return NULL;
}

int
hub_share_room(const struct user *a, const struct user *b)
{
	for (int i = 0; i < a->nrooms; i++)
		if (hub_is_member(a->rooms[i], b))
			return 1;
	return 0;
}

int
hub_room_visible(const struct user *viewer, const struct room *room)
{
	return !(room->modes & RMODE_SECRET) || hub_is_member(room, viewer);
}

int
hub_member_visible(const struct user *viewer, const struct room *room,
    const struct user *member)
{
	if (!hub_room_visible(viewer, room))
		return 0;
	return member == viewer || !(member->umodes & UMODE_INVISIBLE) ||
	    hub_is_member(room, viewer);
}

int
hub_user_visible(const struct user *viewer, const struct user *u)
{
	return u == viewer || !(u->umodes & UMODE_INVISIBLE) || hub_share_room(u, viewer);
}

struct room *
hub_room_seen(struct hub *hub, const struct user *viewer, const char *name)
{
	struct room *room = hub_room_find(hub, name);
	return room != NULL && hub_room_visible(viewer, room) ? room : NULL;
}

void
hub_user_mask(const struct user *u, char *buf)
{
	snprintf(buf, HUB_MASK_MAX, "%s!%s@%s", u->nick, u->ident, u->host);
}

int
hub_mask_match(const char *mask, const char *s)
{
	/* Iterative glob with one backtrack point: linear enough for masks,
	 * and no recursion for a hostile mask like "****...a" to exploit. */
	const char *star = NULL, *retry = NULL;
	while (*s != '\0') {
		if (*mask == '*') {
			star = mask++;
			retry = s;
		} else if (*mask == '?' || (*mask != '\0' && name_fold_char(*mask) == name_fold_char(*s))) {
			mask++;
			s++;
		} else if (star != NULL) {
			mask = star + 1;
			s = ++retry;
		} else
			return 0;
	}
	while (*mask == '*')
		mask++;
	return *mask == '\0';
}

static int
mask_list_match(const struct ban *list, uint32_t n, const char *mask)
{
	for (uint32_t i = 0; i < n; i++)
		if (hub_mask_match(list[i].mask, mask))
			return 1;
	return 0;
}

int
hub_is_banned(const struct room *room, const struct user *u)
{
	if (room->nbans == 0)
		return 0;
	char mask[HUB_MASK_MAX];
	hub_user_mask(u, mask);
	return mask_list_match(room->bans, room->nbans, mask) &&
	    !mask_list_match(room->excepts, room->nexcepts, mask);
}

/* Whether u may join room while it is +i without an invitation. */
static int
is_invex(const struct room *room, const struct user *u)
{
	if (room->ninvexes == 0)
		return 0;
	char mask[HUB_MASK_MAX];
	hub_user_mask(u, mask);
	return mask_list_match(room->invexes, room->ninvexes, mask);
}

static void
set_nick(struct user *u, const char *nick)
{
	snprintf(u->nick, sizeof u->nick, "%s", nick);
	name_fold(u->key, u->nick);
}

static struct user *
user_alloc(const struct user_ops *ops, void *door, const char *ident,
    const char *host, const char *realname)
{
	struct user *u = calloc(1, sizeof *u);
	if (u == NULL)
		return NULL;
	u->ops = ops;
	u->door = door;
	u->last_active = clock_now_ms();
	u->signon = (time_t)(u->last_active / 1000);
	snprintf(u->ident, sizeof u->ident, "%s", ident);
	snprintf(u->addr, sizeof u->addr, "%s", host);
	memcpy(u->host, u->addr, sizeof u->host);
	u->realname = text_ndup(realname, USER_REALNAME_MAX);
	if (u->realname == NULL) {
		free(u);
		return NULL;
	}
	return u;
}

static void
user_add(struct hub *hub, struct user *u)
{
	u->order = ++hub->serials;
	HASH_ADD_STR(hub->users, key, u);
	if (++hub->nusers > hub->max_users)
		hub->max_users = hub->nusers;
	hub_monitor_presence(hub, u->nick, u);
}

struct user *
hub_user_new(struct hub *hub, const struct user_ops *ops, void *door,
    const char *ident, const char *host, const char *realname)
{
	struct user *u = user_alloc(ops, door, ident, host, realname);
	if (u == NULL)
		return NULL;
	u->serial = ++hub->serials;
	char nick[NICK_LEN_MAX + 1];
	do
		snprintf(nick, sizeof nick, "guest%u", ++hub->guests);
	while (hub_user_find(hub, nick) != NULL);
	set_nick(u, nick);
	user_add(hub, u);
	return u;
}

enum hub_status
hub_nick_available(struct hub *hub, const char *nick, const struct user *self)
{
	if (!name_nick_valid(nick, hub->nick_len ? hub->nick_len : NICK_LEN_MAX))
		return HUB_EBADNICK;
	if (name_nick_reserved(nick))
		return HUB_ERESERVED;
	struct user *holder = hub_user_find(hub, nick);
	if (holder != NULL && holder != self)
		return HUB_ENICKINUSE;
	return HUB_OK;
}

struct user *
hub_user_new_named(struct hub *hub, const char *nick, const struct user_ops *ops,
    void *door, const char *ident, const char *host, const char *realname,
    enum hub_status *st)
{
	if ((*st = hub_nick_available(hub, nick, NULL)) != HUB_OK)
		return NULL;
	struct user *u = user_alloc(ops, door, ident, host, realname);
	if (u == NULL) {
		*st = HUB_ENOMEM;
		return NULL;
	}
	u->serial = ++hub->serials;
	set_nick(u, nick);
	user_add(hub, u);
	*st = HUB_OK;
	return u;
}

struct msg *
hub_msg(struct hub *hub, enum msg_kind kind, const struct user *from,
    const char *room, const char *target, const char *text)
{
	struct msg *m = msg_new(kind, from->nick, from->ident, from->host,
	    room, target, text);
	if (m != NULL) {
		m->at_ms = clock_now_ms();
		msgid_next(&hub->ids, m->at_ms, m->id);
		m->from_bot = (from->umodes & UMODE_BOT) != 0;
		m->one_line = from->one_line;
	}
	return m;
}

/* Delivery. */

static void
deliver(struct user *u, struct msg *m)
{
	u->ops->deliver(u, m);
}

static void
room_send(struct room *room, struct msg *m, const struct user *except)
{
	for (uint32_t i = 0; i < room->nmembers; i++)
		if (room->members[i].user != except)
			deliver(room->members[i].user, m);
}

/* Sends m once to every user who shares a room with u, and to u itself
 * when self is set. */
static void
neighbours_send(struct hub *hub, struct user *u, struct msg *m, int self)
{
	uint32_t stamp = ++hub->stamp;
	u->stamp = stamp;
	if (self)
		deliver(u, m);
	for (int r = 0; r < u->nrooms; r++) {
		struct room *room = u->rooms[r];
		for (uint32_t i = 0; i < room->nmembers; i++) {
			struct user *other = room->members[i].user;
			if (other->stamp == stamp)
				continue;
			other->stamp = stamp;
			deliver(other, m);
		}
	}
}

/* Creates, sends and drops one event. The event is lost (not the change
 * it tells of) when memory runs out. */
static void
announce_room(struct hub *hub, struct room *room, enum msg_kind kind,
    const struct user *from, const char *target, const char *text,
    const struct user *except)
{
	struct msg *m = hub_msg(hub, kind, from, room->name, target, text);
	if (m == NULL)
		return;
	room_send(room, m, except);
	msg_unref(m);
}

/* Membership. */

static void
room_remove_member(struct hub *hub, struct room *room, struct user *u)
{
	for (uint32_t i = 0; i < room->nmembers; i++) {
		if (room->members[i].user != u)
			continue;
		memmove(&room->members[i], &room->members[i + 1],
		    (room->nmembers - i - 1) * sizeof room->members[0]);
		room->nmembers--;
		break;
	}
	if (room->nmembers == 0) {
		HASH_DEL(hub->rooms, room);
		hub->nrooms--;
		room_free(hub, room);
	}
}

static void
user_remove_room(struct user *u, int index)
{
	memmove(&u->rooms[index], &u->rooms[index + 1],
	    (size_t)(u->nrooms - index - 1) * sizeof u->rooms[0]);
	u->nrooms--;
}

/* Takes u out of room without telling anyone. */
static void
leave(struct hub *hub, struct user *u, struct room *room)
{
	int index = user_room_index(u, room);
	if (index < 0)
		return;
	user_remove_room(u, index);
	room_remove_member(hub, room, u);
}

static struct room *
room_new(struct hub *hub, struct user *maker, const char *name)
{
	if (maker->made == NULL &&
	    (maker->made = calloc(HUB_ROOMS_MADE_PER_USER, sizeof *maker->made)) == NULL)
		return NULL;
	struct room *room = calloc(1, sizeof *room);
	if (room == NULL)
		return NULL;
	room->maker = maker;
	maker->made[maker->nmade++] = room;
	snprintf(room->name, sizeof room->name, "%s", name);
	room->serial = ++hub->serials;
	name_fold(room->key, room->name);
	room->created = clock_now_s();
	/* What IRC users expect of a new channel. */
	room->modes = RMODE_NOEXTERNAL | RMODE_TOPIC;
	HASH_ADD_STR(hub->rooms, key, room);
	hub->nrooms++;
	return room;
}

/* u's unexpired invitation into room, or -1. Expired ones are dropped on
 * the way. */
static int
invite_index(struct user *u, const struct room *room)
{
	time_t now = clock_now_s();
	for (int i = 0; i < u->ninvites;) {
		if (u->invites[i].expires <= now) {
			u->invites[i] = u->invites[--u->ninvites];
			continue;
		}
		if (u->invites[i].room == room->serial)
			return i;
		i++;
	}
	return -1;
}

/* Why u may not join room, or HUB_OK. An invitation passes +i, and only
 * +i, as Modern IRC and the major servers have it: bans, the key and the
 * limit hold for the invited too. */
static enum hub_status
join_check(const struct room *room, struct user *u,
    const char *key)
{
	if (hub_is_banned(room, u))
		return HUB_EBANNED;
	if ((room->modes & RMODE_INVITE) && invite_index(u, room) < 0 &&
	    !is_invex(room, u))
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
		int index = user_room_index(u, room);
		if (index >= 0) {
			user_remove_room(u, index);
			u->rooms[u->nrooms++] = room;
			return HUB_EALREADY;
		}
		enum hub_status st = join_check(room, u, key);
		if (st != HUB_OK)
			return st;
	}
	if (u->nrooms >= HUB_ROOMS_PER_USER)
		return HUB_ETOOMANY;
	size_t cap = u->caprooms;
	struct room **rooms = buf_grow(u->rooms, &cap, u->nrooms + 1u, sizeof *rooms, 1);
	if (rooms == NULL)
		return HUB_ENOMEM;
	u->rooms = rooms;
	u->caprooms = (uint16_t)cap;
	int created = room == NULL;
	if (created && hub->max_rooms > 0 && hub->nrooms >= hub->max_rooms)
		return HUB_EROOMS;
	if (created && u->nmade >= HUB_ROOMS_MADE_PER_USER)
		return HUB_EMADE;
	if (created && (room = room_new(hub, u, name)) == NULL)
		return HUB_ENOMEM;
	cap = room->capmembers;
	struct member *members = buf_grow(room->members, &cap, room->nmembers + 1u,
	    sizeof *members, 4);
	if (members == NULL) {
		if (created) {
			HASH_DEL(hub->rooms, room);
			hub->nrooms--;
			room_free(hub, room);
		}
		return HUB_ENOMEM;
	}
	room->members = members;
	room->capmembers = (uint32_t)cap;
	/* An invitation is good for one join. */
	int invited = created ? -1 : invite_index(u, room);
	if (invited >= 0)
		u->invites[invited] = u->invites[--u->ninvites];
	room->members[room->nmembers++] = (struct member){
		.user = u, .modes = created ? MEMBER_OP : 0, .seq = ++hub->serials,
	};
	u->rooms[u->nrooms++] = room;
	announce_room(hub, room, MSG_JOIN, u, NULL, u->realname, NULL);
	if (u->away != NULL)
		announce_room(hub, room, MSG_AWAY, u, NULL, u->away, u);
	return HUB_OK;
}

enum hub_status
hub_part(struct hub *hub, struct user *u, struct room *room, const char *reason)
{
	if (!hub_is_member(room, u))
		return HUB_ENOTIN;
	char cut[HUB_REASON_MAX + 1];
	announce_room(hub, room, MSG_PART, u, NULL, text_cut(reason, HUB_REASON_MAX, cut), NULL);
	leave(hub, u, room);
	return HUB_OK;
}

void
hub_whowas_add(struct hub *hub, const struct user *u)
{
	struct whowas *w = &hub->whowas[hub->nwhowas++ % HUB_WHOWAS];
	snprintf(w->nick, sizeof w->nick, "%s", u->nick);
	snprintf(w->ident, sizeof w->ident, "%s", u->ident);
	snprintf(w->host, sizeof w->host, "%s", u->host);
	snprintf(w->realname, sizeof w->realname, "%s", u->realname);
	w->at = clock_now_s();
}

int
hub_whowas_find(const struct hub *hub, const char *nick, int max,
    void (*fn)(const struct whowas *w, void *data), void *data)
{
	char key[NICK_LEN_MAX + 1], other[NICK_LEN_MAX + 1];
	if (strlen(nick) > NICK_LEN_MAX)
		return 0;
	name_fold(key, nick);
	uint32_t n = hub->nwhowas < HUB_WHOWAS ? hub->nwhowas : HUB_WHOWAS;
	int found = 0;
	for (uint32_t i = 0; i < n && (max <= 0 || found < max); i++) {
		const struct whowas *w = &hub->whowas[(hub->nwhowas - 1 - i) % HUB_WHOWAS];
		name_fold(other, w->nick);
		if (strcmp(key, other) == 0) {
			fn(w, data);
			found++;
		}
	}
	return found;
}

void
hub_user_quit(struct hub *hub, struct user *u, const char *reason)
{
	char cut[HUB_REASON_MAX + 1];
	struct msg *m = hub_msg(hub, MSG_QUIT, u, NULL, NULL, text_cut(reason, HUB_REASON_MAX, cut));
	if (m != NULL) {
		neighbours_send(hub, u, m, 0);
		msg_unref(m);
	}
	hub_whowas_add(hub, u);
	for (int i = 0; i < u->nrooms; i++)
		room_remove_member(hub, u->rooms[i], u);
	while (u->nmade > 0)
		room_unmake(u->made[0]);
	HASH_DEL(hub->users, u);
	hub->nusers--;
	hub_monitor_clear(hub, u);
	hub_monitor_presence(hub, u->nick, NULL);
	hub_umode(hub, u, UMODE_OPER | UMODE_INVISIBLE, 0);
	user_free(u);
}

void
hub_umode(struct hub *hub, struct user *u, uint8_t bits, int on)
{
	uint8_t changed = on ? (uint8_t)(bits & ~u->umodes) : (uint8_t)(bits & u->umodes);
	int delta = on ? 1 : -1;
	if (changed & UMODE_OPER)
		hub->nopers += (uint32_t)delta;
	if (changed & UMODE_INVISIBLE)
		hub->ninvisible += (uint32_t)delta;
	if (on)
		u->umodes |= changed;
	else
		u->umodes &= (uint8_t)~changed;
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
	hub_whowas_add(hub, u);
	char old[NICK_LEN_MAX + 1], old_key[NICK_LEN_MAX + 1];
	memcpy(old, u->nick, sizeof old);
	memcpy(old_key, u->key, sizeof old_key);
	HASH_DEL(hub->users, u);
	set_nick(u, nick);
	u->order = ++hub->serials;
	HASH_ADD_STR(hub->users, key, u);
	if (m != NULL) {
		neighbours_send(hub, u, m, 1);
		msg_unref(m);
	}
	/* MONITOR: a change of case only is no change of nickname. */
	if (strcmp(old_key, u->key) != 0) {
		hub_monitor_presence(hub, old, NULL);
		hub_monitor_presence(hub, u->nick, u);
	}
	return HUB_OK;
}

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
	room_send(room, m, u);
	if (sent != NULL)
		*sent = m;
	else
		msg_unref(m);
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
	deliver(target, m);
	*to = target;
	if (sent != NULL)
		*sent = m;
	else
		msg_unref(m);
	return HUB_OK;
}

static int
is_op(const struct room *room, const struct user *u)
{
	const struct member *me = hub_member(room, u);
	return me != NULL && (me->modes & MEMBER_OP);
}

enum hub_status
hub_topic(struct hub *hub, struct user *u, struct room *room, const char *text)
{
	if (!hub_is_member(room, u))
		return HUB_ENOTIN;
	if ((room->modes & RMODE_TOPIC) && !is_op(room, u))
		return HUB_ECHANOP;
	char *topic = NULL, *by = NULL;
	if (text != NULL) {
		char mask[HUB_MASK_MAX];
		hub_user_mask(u, mask);
		if ((topic = text_ndup(text, hub->topic_len)) == NULL ||
		    (by = strdup(mask)) == NULL) {
			free(topic);
			return HUB_ENOMEM;
		}
	}
	free(room->topic);
	free(room->topic_by);
	room->topic = topic;
	room->topic_by = by;
	room->topic_at = clock_now_s();
	announce_room(hub, room, MSG_TOPIC, u, NULL, topic, NULL);
	return HUB_OK;
}

enum hub_status
hub_kick(struct hub *hub, struct user *op, struct room *room, const char *nick,
    const char *reason)
{
	if (!hub_is_member(room, op))
		return HUB_ENOTIN;
	if (!is_op(room, op))
		return HUB_ECHANOP;
	struct user *target = hub_user_find(hub, nick);
	if (target == NULL)
		return HUB_ENONICK;
	if (!hub_is_member(room, target))
		return HUB_EUSERNOTIN;
	char cut[HUB_REASON_MAX + 1];
	announce_room(hub, room, MSG_KICK, op, target->nick, text_cut(reason, HUB_REASON_MAX, cut),
	    NULL);
	leave(hub, target, room);
	return HUB_OK;
}

/* Gives target an invitation into room, replacing an older one into the
 * same room, or else the one that expires first when it holds the most. */
static int
invite_record(struct user *target, const struct room *room)
{
	if (target->invites == NULL &&
	    (target->invites = calloc(HUB_INVITES_PER_USER, sizeof *target->invites)) == NULL)
		return -1;
	int i = invite_index(target, room);
	if (i < 0 && target->ninvites < HUB_INVITES_PER_USER)
		i = target->ninvites++;
	else if (i < 0) {
		i = 0;
		for (int k = 1; k < target->ninvites; k++)
			if (target->invites[k].expires < target->invites[i].expires)
				i = k;
	}
	target->invites[i] = (struct invite){
		.room = room->serial, .expires = clock_now_s() + HUB_INVITE_TTL,
	};
	return 0;
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
	int op = is_op(room, u);
	if ((room->modes & RMODE_INVITE) && !op)
		return HUB_ECHANOP;
	if (hub_is_member(room, target))
		return HUB_EUSERON;
	/* Anyone in a room that is not +i may say "come in"; only an
	 * operator's word opens +i, so only that one is kept. */
	if (op && invite_record(target, room) < 0)
		return HUB_ENOMEM;
	struct msg *m = hub_msg(hub, MSG_INVITE, u, room->name, target->nick, NULL);
	if (m != NULL) {
		deliver(target, m);
		/* Ops of the room hear of it too (IRCv3 invite-notify). */
		for (uint32_t i = 0; i < room->nmembers; i++)
			if ((room->members[i].modes & MEMBER_OP) && room->members[i].user != u)
				deliver(room->members[i].user, m);
		msg_unref(m);
	}
	*to = target;
	return HUB_OK;
}

enum hub_status
hub_away(struct hub *hub, struct user *u, const char *text)
{
	char *away = NULL;
	if (text != NULL && (away = text_ndup(text, HUB_AWAY_MAX)) == NULL)
		return HUB_ENOMEM;
	free(u->away);
	u->away = away;
	struct msg *m = hub_msg(hub, MSG_AWAY, u, NULL, NULL, away);
	if (m != NULL) {
		neighbours_send(hub, u, m, 0);
		hub_monitor_tell(hub, u, m);
		msg_unref(m);
	}
	return HUB_OK;
}

enum hub_status
hub_setname(struct hub *hub, struct user *u, const char *realname)
{
	char *name = text_ndup(realname, USER_REALNAME_MAX);
	if (name == NULL)
		return HUB_ENOMEM;
	free(u->realname);
	u->realname = name;
	struct msg *m = hub_msg(hub, MSG_SETNAME, u, NULL, NULL, name);
	if (m != NULL) {
		neighbours_send(hub, u, m, 1);
		hub_monitor_tell(hub, u, m);
		msg_unref(m);
	}
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
	snprintf(u->host, sizeof u->host, "%s", host);
	u->vhost = 1;
	if (m != NULL) {
		neighbours_send(hub, u, m, 1);
		hub_monitor_tell(hub, u, m);
		msg_unref(m);
	}
	return HUB_OK;
}
