#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hub_init(struct hub *hub, size_t topic_len)
{
	memset(hub, 0, sizeof *hub);
	hub->topic_len = topic_len;
}

static void
room_free(struct room *room)
{
	free(room->topic);
	free(room->members);
	free(room);
}

void
hub_clear(struct hub *hub)
{
	struct room *room, *rtmp;
	HASH_ITER(hh, hub->rooms, room, rtmp) {
		HASH_DEL(hub->rooms, room);
		room_free(room);
	}
	struct user *u, *utmp;
	HASH_ITER(hh, hub->users, u, utmp) {
		HASH_DEL(hub->users, u);
		free(u->rooms);
		free(u);
	}
	hub->nusers = 0;
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

static void
set_nick(struct user *u, const char *nick)
{
	snprintf(u->nick, sizeof u->nick, "%s", nick);
	name_fold(u->key, u->nick);
}

struct user *
hub_user_new(struct hub *hub, const struct user_ops *ops, void *owner)
{
	struct user *u = calloc(1, sizeof *u);
	if (u == NULL)
		return NULL;
	u->ops = ops;
	u->owner = owner;
	char nick[NICK_LEN_MAX + 1];
	do
		snprintf(nick, sizeof nick, "guest%u", ++hub->guests);
	while (hub_user_find(hub, nick) != NULL);
	set_nick(u, nick);
	HASH_ADD_STR(hub->users, key, u);
	hub->nusers++;
	return u;
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
		if (room->members[i] != except)
			deliver(room->members[i], m);
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
			struct user *other = room->members[i];
			if (other->stamp == stamp)
				continue;
			other->stamp = stamp;
			deliver(other, m);
		}
	}
}

/* Membership. */

static void
room_remove_member(struct hub *hub, struct room *room, struct user *u)
{
	for (uint32_t i = 0; i < room->nmembers; i++) {
		if (room->members[i] != u)
			continue;
		memmove(&room->members[i], &room->members[i + 1],
		    (room->nmembers - i - 1) * sizeof room->members[0]);
		room->nmembers--;
		break;
	}
	if (room->nmembers == 0) {
		HASH_DEL(hub->rooms, room);
		room_free(room);
	}
}

static void
user_remove_room(struct user *u, int index)
{
	memmove(&u->rooms[index], &u->rooms[index + 1],
	    (size_t)(u->nrooms - index - 1) * sizeof u->rooms[0]);
	u->nrooms--;
}

static int
grow(void **array, uint32_t *cap, uint32_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	uint32_t newcap = *cap ? *cap * 2 : 4;
	while (newcap < need)
		newcap *= 2;
	void *p = realloc(*array, newcap * size);
	if (p == NULL)
		return -1;
	*array = p;
	*cap = newcap;
	return 0;
}

static struct room *
room_new(struct hub *hub, const char *name)
{
	struct room *room = calloc(1, sizeof *room);
	if (room == NULL)
		return NULL;
	snprintf(room->name, sizeof room->name, "%s", name);
	name_fold(room->key, room->name);
	HASH_ADD_STR(hub->rooms, key, room);
	return room;
}

enum hub_status
hub_join(struct hub *hub, struct user *u, const char *name)
{
	struct room *room = hub_room_find(hub, name);
	if (room != NULL) {
		int index = user_room_index(u, room);
		if (index >= 0) {
			user_remove_room(u, index);
			u->rooms[u->nrooms++] = room;
			return HUB_EALREADY;
		}
	}
	if (u->nrooms >= HUB_ROOMS_PER_USER)
		return HUB_ETOOMANY;
	uint32_t cap = u->caprooms;
	if (grow((void **)&u->rooms, &cap, u->nrooms + 1u, sizeof *u->rooms) < 0)
		return HUB_ENOMEM;
	u->caprooms = (uint16_t)cap;
	int created = room == NULL;
	if (created && (room = room_new(hub, name)) == NULL)
		return HUB_ENOMEM;
	if (grow((void **)&room->members, &room->capmembers, room->nmembers + 1,
	    sizeof *room->members) < 0) {
		if (created) {
			HASH_DEL(hub->rooms, room);
			room_free(room);
		}
		return HUB_ENOMEM;
	}
	room->members[room->nmembers++] = u;
	u->rooms[u->nrooms++] = room;

	struct msg *m = msg_new(MSG_JOIN, u->nick, room->name, NULL, NULL);
	if (m == NULL)
		return HUB_OK; /* joined; only the notice is lost */
	room_send(room, m, NULL);
	msg_unref(m);
	return HUB_OK;
}

enum hub_status
hub_part(struct hub *hub, struct user *u, struct room *room, const char *reason)
{
	int index = user_room_index(u, room);
	if (index < 0)
		return HUB_ENOTIN;
	struct msg *m = msg_new(MSG_PART, u->nick, room->name, NULL, reason);
	if (m != NULL) {
		room_send(room, m, NULL);
		msg_unref(m);
	}
	user_remove_room(u, index);
	room_remove_member(hub, room, u);
	return HUB_OK;
}

void
hub_user_quit(struct hub *hub, struct user *u, const char *reason)
{
	struct msg *m = msg_new(MSG_QUIT, u->nick, NULL, NULL, reason);
	if (m != NULL) {
		neighbours_send(hub, u, m, 0);
		msg_unref(m);
	}
	for (int i = 0; i < u->nrooms; i++)
		room_remove_member(hub, u->rooms[i], u);
	HASH_DEL(hub->users, u);
	hub->nusers--;
	free(u->rooms);
	free(u);
}

enum hub_status
hub_nick(struct hub *hub, struct user *u, const char *nick)
{
	if (!name_nick_valid(nick, NICK_LEN_MAX))
		return HUB_EBADNICK;
	struct user *holder = hub_user_find(hub, nick);
	if (holder != NULL && holder != u)
		return HUB_ENICKINUSE;
	if (strcmp(u->nick, nick) == 0)
		return HUB_OK;
	struct msg *m = msg_new(MSG_NICK, u->nick, NULL, nick, NULL);
	HASH_DEL(hub->users, u);
	set_nick(u, nick);
	HASH_ADD_STR(hub->users, key, u);
	if (m != NULL) {
		neighbours_send(hub, u, m, 1);
		msg_unref(m);
	}
	return HUB_OK;
}

enum hub_status
hub_say(struct hub *hub, struct user *u, struct room *room, enum msg_kind kind,
    const char *text)
{
	(void)hub;
	if (!hub_is_member(room, u))
		return HUB_ENOTIN;
	struct msg *m = msg_new(kind, u->nick, room->name, NULL, text);
	if (m == NULL)
		return HUB_ENOMEM;
	room_send(room, m, u);
	msg_unref(m);
	return HUB_OK;
}

enum hub_status
hub_private(struct hub *hub, struct user *u, const char *nick, const char *text,
    struct user **to)
{
	struct user *target = hub_user_find(hub, nick);
	if (target == NULL)
		return HUB_ENONICK;
	struct msg *m = msg_new(MSG_PRIVATE, u->nick, NULL, target->nick, text);
	if (m == NULL)
		return HUB_ENOMEM;
	deliver(target, m);
	msg_unref(m);
	*to = target;
	return HUB_OK;
}

enum hub_status
hub_topic(struct hub *hub, struct user *u, struct room *room, const char *text)
{
	if (!hub_is_member(room, u))
		return HUB_ENOTIN;
	char *topic = NULL;
	if (text != NULL) {
		size_t n = strlen(text);
		if (n > hub->topic_len) {
			n = hub->topic_len;
			/* Never cut a UTF-8 sequence in two. */
			while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
				n--;
		}
		if ((topic = strndup(text, n)) == NULL)
			return HUB_ENOMEM;
	}
	free(room->topic);
	room->topic = topic;
	struct msg *m = msg_new(MSG_TOPIC, u->nick, room->name, NULL, topic);
	if (m != NULL) {
		room_send(room, m, NULL);
		msg_unref(m);
	}
	return HUB_OK;
}
