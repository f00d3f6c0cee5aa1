/* The hub's state: users and their nicknames, rooms and who is in them,
 * and the changes to them (hub_state.h). Who may make a change, and who
 * is told of it, is the business of the files above: the commands
 * (hub_commands.c, hub_modes.c, hub_redact.c) and hub_apply.c. */
#include "chat/hub.h"
#include "chat/hub_monitor.h"
#include "chat/hub_recent.h"
#include "chat/hub_state.h"

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
	free(room->reg);
	free(room);
}

static void
room_delete(struct hub *hub, struct room *room)
{
	HASH_DEL(hub->rooms, room);
	hub->nrooms--;
	room_free(hub, room);
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
	HASH_ITER(hh, hub->rooms, room, rtmp)
		room_delete(hub, room);
	struct user *u, *utmp;
	HASH_ITER(hh, hub->users, u, utmp) {
		HASH_DEL(hub->users, u);
		user_free(u);
	}
	hub->nusers = hub->nopers = hub->ninvisible = hub->nrooms = hub->nlocal = 0;
	hub_monitor_free_all(hub);
	hub_recent_free(hub);
	hub_accounts_free(hub);
}

/* Looking things up. */

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
hub_is_op(const struct room *room, const struct user *u)
{
	const struct member *me = hub_member(room, u);
	return me != NULL && (me->modes & MEMBER_OP);
}

int
hub_share_room(const struct user *a, const struct user *b)
{
	for (int i = 0; i < a->nrooms; i++)
		if (hub_is_member(a->rooms[i], b))
			return 1;
	return 0;
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
		} else if (*mask == '?' ||
		    (*mask != '\0' && name_fold_char(*mask) == name_fold_char(*s))) {
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

int
hub_is_invex(const struct room *room, const struct user *u)
{
	if (room->ninvexes == 0)
		return 0;
	char mask[HUB_MASK_MAX];
	hub_user_mask(u, mask);
	return mask_list_match(room->invexes, room->ninvexes, mask);
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
	const char *owner = hub_account_owner(hub, nick);
	if (owner != NULL && (self == NULL || !hub_logged_in_as(self, owner)))
		return HUB_EOWNED;
	return HUB_OK;
}

/* Events. */

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
		memcpy(m->account, from->account, sizeof m->account);
		m->one_line = from->one_line;
	}
	return m;
}

/* Users. */

static void
set_nick(struct user *u, const char *nick)
{
	snprintf(u->nick, sizeof u->nick, "%s", nick);
	name_fold(u->key, u->nick);
}

struct user *
hub_add_user(struct hub *hub, const char *nick, const struct user_ops *ops, void *door,
    const char *ident, const char *host, const char *realname)
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
	u->serial = ++hub->serials;
	set_nick(u, nick);
	u->order = ++hub->serials;
	HASH_ADD_STR(hub->users, key, u);
	if (++hub->nusers > hub->max_users)
		hub->max_users = hub->nusers;
	/* Another node's users are made by hub_apply, with its ops. */
	if (ops != &hub_remote_ops && ++hub->nlocal > hub->max_local)
		hub->max_local = hub->nlocal;
	return u;
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

static void
room_remove_member(struct hub *hub, struct room *room, struct user *u)
{
	for (uint32_t i = 0; i < room->nmembers; i++) {
		if (room->members[i].user != u)
			continue;
		memmove(&room->members[i], &room->members[i + 1],
		    (room->nmembers - i - 1) * sizeof room->members[0]);
		room->nmembers--;
		if (!u->remote)
			room->nlocal--;
		break;
	}
	/* A registered room stays when empty (hub_rooms.c). */
	if (room->nmembers == 0 && room->reg == NULL)
		room_delete(hub, room);
}

void
hub_room_gone(struct hub *hub, struct room *room)
{
	room_delete(hub, room);
}

void
hub_remove_user(struct hub *hub, struct user *u)
{
	hub_whowas_add(hub, u);
	for (int i = 0; i < u->nrooms; i++)
		room_remove_member(hub, u->rooms[i], u);
	while (u->nmade > 0)
		room_unmake(u->made[0]);
	HASH_DEL(hub->users, u);
	hub->nusers--;
	if (!u->remote)
		hub->nlocal--;
	hub_monitor_clear(hub, u);
	hub_set_umodes(hub, u, UMODE_OPER | UMODE_INVISIBLE, 0);
	user_free(u);
}

/* The letters of user modes, as IRC names them and MSG_UMODE tells them. */
static const struct {
	char letter;
	uint8_t bit;
} umode_letters[] = {
	{ 'i', UMODE_INVISIBLE }, { 'o', UMODE_OPER }, { 'B', UMODE_BOT },
};

#define NUMODES (sizeof umode_letters / sizeof umode_letters[0])

uint8_t
hub_umode_bit(char letter)
{
	for (size_t i = 0; i < NUMODES; i++)
		if (umode_letters[i].letter == letter)
			return umode_letters[i].bit;
	return 0;
}

void
hub_umode_text(uint8_t bits, int on, char *buf)
{
	size_t n = 0;
	buf[n++] = on ? '+' : '-';
	for (size_t i = 0; i < NUMODES; i++)
		if (bits & umode_letters[i].bit)
			buf[n++] = umode_letters[i].letter;
	buf[n] = '\0';
}

uint8_t
hub_set_umodes(struct hub *hub, struct user *u, uint8_t bits, int on)
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
	return changed;
}

void
hub_rename(struct hub *hub, struct user *u, const char *nick)
{
	hub_whowas_add(hub, u);
	HASH_DEL(hub->users, u);
	set_nick(u, nick);
	u->order = ++hub->serials;
	HASH_ADD_STR(hub->users, key, u);
}

int
hub_set_away(struct user *u, const char *text)
{
	char *away = NULL;
	if (text != NULL && (away = text_ndup(text, HUB_AWAY_MAX)) == NULL)
		return -1;
	free(u->away);
	u->away = away;
	return 0;
}

int
hub_set_realname(struct user *u, const char *realname)
{
	char *name = text_ndup(realname, USER_REALNAME_MAX);
	if (name == NULL)
		return -1;
	free(u->realname);
	u->realname = name;
	return 0;
}

void
hub_set_host(struct user *u, const char *ident, const char *host)
{
	if (ident != u->ident)
		snprintf(u->ident, sizeof u->ident, "%s", ident);
	snprintf(u->host, sizeof u->host, "%s", host);
	u->vhost = 1;
}

/* Rooms and membership. */

static struct room *
room_new(struct hub *hub, struct user *maker, const char *name)
{
	if (maker != NULL && maker->made == NULL &&
	    (maker->made = calloc(HUB_ROOMS_MADE_PER_USER, sizeof *maker->made)) == NULL)
		return NULL;
	struct room *room = calloc(1, sizeof *room);
	if (room == NULL)
		return NULL;
	if (maker != NULL) {
		room->maker = maker;
		maker->made[maker->nmade++] = room;
	}
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

struct room *
hub_room_make(struct hub *hub, const char *name)
{
	return room_new(hub, NULL, name);
}

int
hub_invite_index(struct user *u, const struct room *room)
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

int
hub_add_invite(struct user *target, const struct room *room)
{
	if (target->invites == NULL &&
	    (target->invites = calloc(HUB_INVITES_PER_USER, sizeof *target->invites)) == NULL)
		return -1;
	int i = hub_invite_index(target, room);
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
hub_enter(struct hub *hub, struct user *u, struct room **roomp, const char *name,
    struct user *maker)
{
	struct room *room = *roomp;
	size_t cap = u->caprooms;
	struct room **rooms = buf_grow(u->rooms, &cap, u->nrooms + 1u, sizeof *rooms, 1);
	if (rooms == NULL)
		return HUB_ENOMEM;
	u->rooms = rooms;
	u->caprooms = (uint16_t)cap;
	int created = room == NULL;
	if (created && (room = room_new(hub, maker, name)) == NULL)
		return HUB_ENOMEM;
	cap = room->capmembers;
	struct member *members = buf_grow(room->members, &cap, room->nmembers + 1u,
	    sizeof *members, 4);
	if (members == NULL) {
		if (created)
			room_delete(hub, room);
		return HUB_ENOMEM;
	}
	room->members = members;
	room->capmembers = (uint32_t)cap;
	/* An invitation is good for one join. */
	int invited = created ? -1 : hub_invite_index(u, room);
	if (invited >= 0)
		u->invites[invited] = u->invites[--u->ninvites];
	room->members[room->nmembers++] = (struct member){
		.user = u, .modes = created ? MEMBER_OP : 0, .seq = ++hub->serials,
	};
	if (!u->remote)
		room->nlocal++;
	u->rooms[u->nrooms++] = room;
	*roomp = room;
	return HUB_OK;
}

void
hub_focus(struct user *u, struct room *room)
{
	int index = user_room_index(u, room);
	if (index < 0)
		return;
	memmove(&u->rooms[index], &u->rooms[index + 1],
	    (size_t)(u->nrooms - index - 1) * sizeof u->rooms[0]);
	u->rooms[u->nrooms - 1] = room;
}

void
hub_leave(struct hub *hub, struct user *u, struct room *room)
{
	int index = user_room_index(u, room);
	if (index < 0)
		return;
	memmove(&u->rooms[index], &u->rooms[index + 1],
	    (size_t)(u->nrooms - index - 1) * sizeof u->rooms[0]);
	u->nrooms--;
	room_remove_member(hub, room, u);
}

int
hub_text_valid(const char *s, size_t max)
{
	return s != NULL && text_is_line(s, strnlen(s, max + 1), max);
}

int
hub_word_valid(const char *s, size_t max)
{
	if (s == NULL || *s == '\0' || !hub_text_valid(s, max))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7F)
			return 0;
	return 1;
}

/* A key must survive being typed in a JOIN: no spaces, no commas (JOIN
 * lists keys with them), no control characters (RFC 2812's grammar). */
int
hub_key_valid(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n == 0 || n > HUB_KEY_MAX)
		return 0;
	for (; *key; key++)
		if ((unsigned char)*key <= ' ' || *key == ',' || *key == 0x7F)
			return 0;
	return 1;
}

int
hub_set_topic(struct hub *hub, struct room *room, const char *text, const char *by,
    time_t at)
{
	char *topic = NULL, *setter = NULL;
	if (text != NULL && ((topic = text_ndup(text, hub->topic_len)) == NULL ||
	    (setter = strdup(by)) == NULL)) {
		free(topic);
		return -1;
	}
	free(room->topic);
	free(room->topic_by);
	room->topic = topic;
	room->topic_by = setter;
	room->topic_at = at;
	return 0;
}
