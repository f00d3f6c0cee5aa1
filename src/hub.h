/* The chat itself: users, their unique nicknames, rooms and membership, and
 * the routing of events to the users they concern. Knows nothing about
 * sockets or protocols: a user is reached through its ops. */
#ifndef PARLEY_HUB_H
#define PARLEY_HUB_H

#include <stdint.h>
#include <uthash.h>

#include "msg.h"
#include "names.h"

#define HUB_ROOMS_PER_USER 50

struct user;

struct user_ops {
	/* Hands one event to the user's front door. It must not change the
	 * hub (no join, part or quit) from inside: the hub may be walking a
	 * room. A door that must drop its user defers it. */
	void (*deliver)(struct user *u, struct msg *m);
};

struct room;

struct user {
	char nick[NICK_LEN_MAX + 1];
	char key[NICK_LEN_MAX + 1];  /* nick folded, the hash key */
	UT_hash_handle hh;
	const struct user_ops *ops;
	void *owner;                 /* the connection behind the user */
	struct room **rooms;         /* oldest first; the last is the current one */
	uint16_t nrooms, caprooms;
	uint32_t stamp;              /* marks who already got a fan-out */
};

struct room {
	char name[ROOM_LEN_MAX + 1]; /* as its creator spelled it */
	char key[ROOM_LEN_MAX + 1];
	UT_hash_handle hh;
	char *topic;                 /* NULL when none */
	struct user **members;       /* in order of joining */
	uint32_t nmembers, capmembers;
};

struct hub {
	struct user *users;          /* uthash by key */
	struct room *rooms;          /* uthash by key */
	uint32_t nusers;
	uint32_t stamp;
	uint32_t guests;             /* last guest number handed out */
	size_t topic_len;            /* longest topic kept, in bytes */
};

enum hub_status {
	HUB_OK = 0,
	HUB_ENOMEM,
	HUB_EBADNICK,
	HUB_ENICKINUSE,
	HUB_ENONICK,
	HUB_EBADROOM,
	HUB_ENOROOM,
	HUB_ENOTIN,
	HUB_EALREADY,   /* already in the room: it became the current one */
	HUB_ETOOMANY,   /* in HUB_ROOMS_PER_USER rooms already */
	HUB_ENOCURRENT, /* in no room at all */
};

void hub_init(struct hub *hub, size_t topic_len);
/* Frees every room and user without telling anyone (at exit). */
void hub_clear(struct hub *hub);

/* A new user with a free guest nickname, in no room. NULL when out of
 * memory. */
struct user *hub_user_new(struct hub *hub, const struct user_ops *ops, void *owner);
/* Tells everyone who shares a room with u, leaves every room and frees u. */
void hub_user_quit(struct hub *hub, struct user *u, const char *reason);

struct user *hub_user_find(struct hub *hub, const char *nick);
struct room *hub_room_find(struct hub *hub, const char *name);
/* The room u joined (or focused) last, or NULL. */
struct room *hub_current_room(const struct user *u);
int hub_is_member(const struct room *room, const struct user *u);

enum hub_status hub_nick(struct hub *hub, struct user *u, const char *nick);
/* name must already be a valid room name. */
enum hub_status hub_join(struct hub *hub, struct user *u, const char *name);
enum hub_status hub_part(struct hub *hub, struct user *u, struct room *room,
    const char *reason);
/* kind is MSG_SAY or MSG_ACTION. The sender does not get it back. */
enum hub_status hub_say(struct hub *hub, struct user *u, struct room *room,
    enum msg_kind kind, const char *text);
/* *to is set to the recipient on success. */
enum hub_status hub_private(struct hub *hub, struct user *u, const char *nick,
    const char *text, struct user **to);
/* text NULL clears the topic. */
enum hub_status hub_topic(struct hub *hub, struct user *u, struct room *room,
    const char *text);

#endif
