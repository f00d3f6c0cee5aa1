/* Every bound on what one user can make the server hold or send, in one
 * place (names: names.h; lines and queues: the config table). README's
 * "Limits and what happens at them" gives the reasoning for each. */
#ifndef PARLEY_BOUNDS_H
#define PARLEY_BOUNDS_H

#include "base/limits.h"  /* SERVER_NAME_MAX, NICK_LEN_MAX, ROOM_LEN_MAX, HUB_TOPIC_MAX */
#include "chat/names.h"

/* Who a user is. */
#define USER_IDENT_MAX 16       /* IRC USER name, ASCII, '~' included */
#define USER_HOST_MAX 63        /* an address as text (46 for IPv6) */
#define USER_REALNAME_MAX 128   /* bytes, cut between characters */
#define HUB_AWAY_MAX 300        /* AWAYLEN */

/* Texts others see. Each, with the longest prefix IRC puts in front of
 * it, fits one 512-byte IRC line: "nick!ident@host KICK #room nick :"
 * is at most 205 bytes with 32-byte nicks (NICK_LEN_MAX), "server 332
 * nick #room :" at most 155. */
/* HUB_TOPIC_MAX (TOPICLEN), the most topic-len may be: base/limits.h */
#define HUB_REASON_MAX 300      /* PART, QUIT and KICK reasons (KICKLEN) */
#define HUB_KEY_MAX 32          /* a room key, +k (KEYLEN) */
/* A MODE event's change ("+bb mask mask"): with "nick!ident@host MODE
 * #room " (at most 173 bytes) it fits one line; a longer change is told
 * in several MODE events. */
#define HUB_MODE_TEXT_MAX 330

/* The most +l may be: a room's member limit, as typed, is a number from
 * 1 to this (more members than a server can hold means no limit). */
#define HUB_LIMIT_MAX 1000000

/* What a room may hold: its +b, +e and +I masks together (MAXLIST=beI:),
 * each no longer than the longest nick!ident@host, which is all a mask
 * can usefully match. A room then holds at most 60 * 180 bytes of masks,
 * and the server at most HUB_MASKS_TOTAL * 180 (18 MB), however many
 * rooms there are (max-rooms). */
#define HUB_MASKS_PER_ROOM 60
#define HUB_LIST_MASK_MAX (NICK_LEN_MAX + USER_IDENT_MAX + USER_HOST_MAX + 2)
#define HUB_MASKS_TOTAL 100000

/* What a user may hold. */
#define HUB_ROOMS_PER_USER 50   /* rooms one user may be in (CHANLIMIT) */
/* Rooms one user made that still exist (until it quits): what makes a
 * room cost much (its masks, its topic) needs an operator, and the maker
 * is one, so this bounds what one connection alone can pile up. */
#define HUB_ROOMS_MADE_PER_USER 10
#define HUB_MONITOR_PER_USER 100 /* nicknames one user may MONITOR (MONITOR=) */
#define HUB_MONITOR_TOTAL 200000 /* MONITOR entries of all users together */
/* Invitations an operator gave a user, kept with that user: the oldest
 * gives way to a new one, so neither an inviter nor the invited can grow
 * them, and a JOIN looks at no more than these. */
#define HUB_INVITES_PER_USER 16
#define HUB_INVITE_TTL 3600     /* seconds an invitation is good for */

/* What the server remembers of messages: who sent each of the last
 * HUB_RECENT messages where, so REDACT can tell who may take one back
 * (28 bytes each, made on the first message; until history exists). */
#define HUB_RECENT 8192

/* What the server remembers of those who left. */
#define HUB_WHOWAS 256          /* nicknames remembered after they are gone */

#endif
