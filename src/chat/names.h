/* The one set of rules for nicknames and room names, for every door.
 * Names compare ignoring ASCII case ("ascii" casemapping). */
#ifndef PARLEY_NAMES_H
#define PARLEY_NAMES_H

#include <stddef.h>

#include "base/limits.h"   /* NICK_LEN_MAX, ROOM_LEN_MAX */

/* 1 when nick (NUL-terminated) is a valid nickname of at most max bytes. */
int name_nick_valid(const char *nick, size_t max);
/* 1 when nick is the name of a service that clients talk to (NickServ,
 * ChanServ, ...), ignoring case: nobody may take one, so that what a
 * client sends to "NickServ" (a password, say) reaches no user. */
int name_nick_reserved(const char *nick);
/* 1 when room (NUL-terminated, '#' included) is a valid room name of at
 * most max bytes. */
int name_room_valid(const char *room, size_t max);
/* 1 when host is a host name a user may be given (a vhost): 1 to max
 * bytes of letters, digits and . - : / _, not starting with ':' or '-',
 * so that it is one IRC parameter and fits in nick!user@host. */
int name_host_valid(const char *host, size_t max);
/* Writes the room name for what a user typed into dst (ROOM_LEN_MAX + 1
 * bytes): a missing '#' is added. Returns -1 when it cannot be valid. */
int name_room_from_input(char *dst, const char *typed, size_t max);
/* ASCII-lowercases src into dst (at least strlen(src) + 1 bytes). */
void name_fold(char *dst, const char *src);
/* c ASCII-lowercased: the one case folding of names and masks. */
static inline char
name_fold_char(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

#endif
