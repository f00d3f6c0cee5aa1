/* The changes to the hub's state themselves (hub.c), for the chat's own
 * files only: a command (hub_commands.c, hub_modes.c) checks who may,
 * makes the change here, then emits the event; hub_apply.c makes the
 * change an event from elsewhere tells of, and delivers it. Nothing here
 * checks who may, and nothing here tells anyone. Not for doors. */
#ifndef PARLEY_HUB_STATE_H
#define PARLEY_HUB_STATE_H

#include "chat/hub.h"

/* A user named nick (valid and free), added to the users. NULL when out
 * of memory. */
struct user *hub_add_user(struct hub *hub, const char *nick, const struct user_ops *ops,
    void *door, const char *ident, const char *host, const char *realname);
/* u leaves every room (the rooms it made are nobody's), is remembered for
 * WHOWAS, stops watching, and is freed. */
void hub_remove_user(struct hub *hub, struct user *u);
/* u's nickname becomes nick (valid and free); the old one is remembered
 * for WHOWAS. */
void hub_rename(struct hub *hub, struct user *u, const char *nick);
/* Sets or clears user mode bits, keeping the hub's counts; the bits that
 * changed. */
uint8_t hub_set_umodes(struct hub *hub, struct user *u, uint8_t bits, int on);
/* text NULL: back. -1 when out of memory (nothing changed). */
int hub_set_away(struct user *u, const char *text);
int hub_set_realname(struct user *u, const char *realname);
/* A given host (a vhost), and the ident with it. */
void hub_set_host(struct user *u, const char *ident, const char *host);

/* u (in fewer than HUB_ROOMS_PER_USER rooms, not in this one) joins
 * *room, or a room made for it named name when *room is NULL, which u
 * then operates and maker (NULL: nobody here) answers for. Uses up u's
 * invitation into it. *room is set to the room. */
enum hub_status hub_enter(struct hub *hub, struct user *u, struct room **room,
    const char *name, struct user *maker);
/* room (which u is in) becomes u's current one. */
void hub_focus(struct user *u, struct room *room);
/* u leaves room; a room nobody is in is no more. */
void hub_leave(struct hub *hub, struct user *u, struct room *room);
/* text (cut to topic-len; NULL clears it), set by the mask by at at. -1
 * when out of memory (nothing changed). */
int hub_set_topic(struct hub *hub, struct room *room, const char *text, const char *by,
    time_t at);
int hub_is_op(const struct room *room, const struct user *u);
/* Whether u may join room while it is +i without an invitation. */
int hub_is_invex(const struct room *room, const struct user *u);
/* u's unexpired invitation into room, or -1. Expired ones are dropped on
 * the way. */
int hub_invite_index(struct user *u, const struct room *room);
/* Gives target an invitation into room, replacing an older one into the
 * same room, or else the one that expires first when it holds the most.
 * -1 when out of memory. */
int hub_add_invite(struct user *target, const struct room *room);

/* hub_accounts.c: the registry's entry for name (any case), or NULL;
 * and the registry emptied (hub_clear). */
struct hub_account *hub_registry_find(const struct hub *hub, const char *name);
void hub_accounts_free(struct hub *hub);

/* hub_rooms.c: the account name is gone (hub_login.c: the registry lost
 * it, dropped here or elsewhere). What it had in registered rooms goes
 * with it, so that the name registered again (someone else) inherits
 * none of it: a room it founded is unregistered (MSG_UNREGISTER from
 * the service, on which the store forgets it; an empty room goes), and
 * it leaves every room's operators. */
void hub_rooms_account_gone(struct hub *hub, const char *name);

/* Registered rooms: an empty room made (no maker, no member), and one
 * deleted; after u joined room, u's +o if its account is the room's
 * (hub_rooms.c); +o or -o given to target in room. */
struct room *hub_room_make(struct hub *hub, const char *name);
void hub_room_gone(struct hub *hub, struct room *room);
void hub_room_joined(struct hub *hub, struct room *room, struct user *u);
void hub_room_op_changed(struct room *room, const struct user *target, int on);
/* m (a TOPIC, MODE, REGISTER or UNREGISTER) changed room's state: when
 * it is registered, its version moves past m (hub_emit.c). here: made
 * on this node (the version then goes past the one it had, whatever the
 * clock), else another node's (applied: the version is at least m's).
 * room may be NULL. */
void hub_room_stamp(struct room *room, const struct msg *m, int here);

/* hub_modes.c: the changes a MODE event's text tells of ("+o-v bob
 * carol"), made by by in room, whoever may. */
void hub_modes_apply(struct hub *hub, struct user *by, struct room *room, const char *text);

/* What the hub takes from outside a client's line (the store, another
 * node) is held to a line's rules: hub_text_valid, a text of at most max
 * bytes, clean UTF-8 (text.h) with no line break; hub_word_valid, one
 * such word (no space, no control character), not empty; hub_key_valid,
 * a room key as MODE +k takes it. NULL is none of them. */
int hub_text_valid(const char *s, size_t max);
int hub_word_valid(const char *s, size_t max);
int hub_key_valid(const char *key);

#endif
