/* One chat event: a room message, join, part, quit, nick change, topic
 * change, private message... (msg_kind): all a door, an observer or
 * another node needs to know of it. Immutable and reference-counted. Each front door
 * renders it at most once into its wire format; the rendered bytes are then
 * queued by reference on every recipient of that door. */
#ifndef PARLEY_MSG_H
#define PARLEY_MSG_H

#include <stdint.h>

#include "base/limits.h"
#include "chat/msgid.h"
#include "net/wire.h"

enum msg_kind {
	MSG_SAY,      /* room: text */
	MSG_ACTION,   /* room: text (/me) */
	MSG_PRIVATE,  /* target: recipient nick, text */
	MSG_JOIN,     /* room */
	MSG_PART,     /* room, text: reason or NULL */
	MSG_QUIT,     /* text: reason */
	MSG_NICK,     /* target: the new nick */
	MSG_TOPIC,    /* room, text: new topic or NULL when cleared */
	MSG_NOTICE,   /* room, or target for a private one; text */
	MSG_KICK,     /* room, target: who was kicked, text: reason */
	MSG_MODE,     /* room, text: the change, e.g. "+o-v bob carol" */
	MSG_INVITE,   /* room, target: who was invited */
	MSG_AWAY,     /* text: away message, NULL when back */
	MSG_SETNAME,  /* text: the new real name */
	MSG_TAGMSG,   /* room or target: tags only (IRCv3 message-tags) */
	MSG_CHGHOST,  /* target: the new ident, text: the new host (ident and
	               * host are the old ones) */
	MSG_REDACT,   /* room, or target: the recipient of a private message;
	               * ref: the msgid taken back; text: the reason or NULL */
	MSG_CONNECT,  /* a user came (from, ident, host); text: its real name.
	               * Delivered to nobody: MONITOR and observers hear of it */
	MSG_UMODE,    /* text: its user modes changed, e.g. "+i", "-o" (i
	               * invisible, o operator, B bot). Delivered to nobody */
	MSG_ACCOUNT,  /* from logged in (account: the account's name) or out
	               * (account ""): to its neighbours and itself
	               * (IRCv3 account-notify) */
	MSG_REGISTER, /* room registered (ChanServ) by from, its founder
	               * (account). Delivered to nobody: the nodes of a
	               * cluster hear of it */
	MSG_UNREGISTER, /* room registered no more (from dropped it).
	               * Delivered to nobody */
};

/* A door may keep other renderings: IRC's extended-join form; a
 * multiline message as an IRCv3 batch, and as lines whose tags follow
 * the recipient's capabilities. */
enum wire_format {
	FMT_PLAIN, FMT_IRC, FMT_IRC_ALT, FMT_IRC_BATCH, FMT_IRC_LINES_TIME,
	FMT_IRC_LINES_TAGS, FMT_COUNT
};
/* IRCv3 tag prefixes: only server-time, or every tag (message-tags);
 * each with the sender's account (account-tag) too, or that alone. */
enum msg_tags {
	TAGS_TIME, TAGS_ALL, TAGS_TIME_ACCOUNT, TAGS_ALL_ACCOUNT, TAGS_ACCOUNT, TAGS_COUNT
};

struct msg {
	uint32_t refs;
	enum msg_kind kind;
	const char *from;     /* nick of who did it, as it was then */
	const char *room;     /* NULL for events that are not about one room */
	const char *target;   /* see msg_kind, or NULL */
	const char *text;     /* see msg_kind, or NULL. A message may hold several
	                       * lines (IRCv3 multiline): '\n' between lines, and
	                       * '\r' before a line that continues the one before
	                       * (multiline-concat); no other text holds either */
	const char *ident;    /* from's ident and host, as it was then */
	const char *host;
	char id[MSGID_LEN + 1];  /* the IRCv3 msgid (msgid.h) */
	char ref[MSGID_LEN + 1]; /* MSG_REDACT: the msgid of the message taken back */
	char account[ACCOUNT_LEN_MAX + 1]; /* from's account as it was then ("" when
	                       * not logged in): account-tag, history */
	uint8_t from_bot;     /* from had bot mode (IRCv3 bot tag) */
	uint8_t multiline;    /* text holds several lines */
	int64_t at_ms;        /* wall-clock time it happened, for server-time */
	uint8_t one_line;     /* IRC gets the text cut to one line, not split */
	char *client_tags;    /* "+a=b;+c", escaped, from the sender, or NULL */
	struct wire *rendered[FMT_COUNT]; /* filled on first use */
	struct wire *tags[TAGS_COUNT];    /* "@time=...;msgid=... ", on first use */
	char strings[];       /* the bytes behind from, room, target and text */
};

/* Copies the strings; any but from may be NULL (ident and host are the
 * sender's). Its id and time are the maker's to set (hub_msg). NULL when
 * out of memory. */
struct msg *msg_new(enum msg_kind kind, const char *from, const char *ident,
    const char *host, const char *room, const char *target, const char *text);
void msg_unref(struct msg *m);

#endif
