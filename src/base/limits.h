/* The bounds the configuration is checked against, below every layer
 * that uses them: config.c takes an option only up to these, and the
 * chat (chat/names.h, chat/bounds.h) sizes its buffers from them. Every
 * other bound of what a user may make the server hold is in
 * chat/bounds.h. */
#ifndef PARLEY_LIMITS_H
#define PARLEY_LIMITS_H

/* The most nick-len may be. Not a buffer's size but a line's: with it,
 * "nick!ident@host KICK #room nick :reason" still fits the 512 bytes of
 * an IRC line (chat/bounds.h), and 32 is what Ergo allows by default. */
#define NICK_LEN_MAX 32   /* bytes */
#define ROOM_LEN_MAX 50   /* bytes, '#' included */
/* An account's name is the nickname it was registered with (issue 13):
 * the same bound, so a name fits wherever a nick does. */
#define ACCOUNT_LEN_MAX NICK_LEN_MAX

/* The server's own name (server-name): a hostname, as in every IRC line. */
#define SERVER_NAME_MAX 63

/* The most topic-len may be (TOPICLEN): with "server 332 nick #room :"
 * (at most 155 bytes) a topic fits one 512-byte IRC line. */
#define HUB_TOPIC_MAX 390

/* web-title and web-description, put into the web page's landing page
 * (escaped) with every request for it: a name and a sentence or two. */
#define WEB_TITLE_MAX 80          /* bytes */
#define WEB_DESCRIPTION_MAX 500   /* bytes */

#endif
