/* The one set of rules for nicknames and room names, for every door.
 * Names compare ignoring ASCII case ("ascii" casemapping). */
#ifndef PARLEY_NAMES_H
#define PARLEY_NAMES_H

#include <stddef.h>

/* The most nick-len may be. Not a buffer's size but a line's: with it,
 * "nick!ident@host KICK #room nick :reason" still fits the 512 bytes of
 * an IRC line (bounds.h), and 32 is what Ergo allows by default. */
#define NICK_LEN_MAX 32   /* bytes */
#define ROOM_LEN_MAX 50   /* bytes, '#' included */

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

#endif
