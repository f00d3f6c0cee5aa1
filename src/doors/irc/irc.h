/* The IRC front door's insides, shared by its files: the per-connection
 * session, capabilities, and the ways to send a reply. */
#ifndef PARLEY_IRC_H
#define PARLEY_IRC_H

#include <stdarg.h>

#include "chat/hub.h"
#include "doors/irc/irc_parse.h"
#include "net/conn.h"
#include "doors/door.h"

/* IRCv3 capabilities, in the order CAP LS lists them. */
enum irc_cap {
	CAP_AWAY_NOTIFY = 1 << 0,
	CAP_BATCH = 1 << 1,
	CAP_CAP_NOTIFY = 1 << 2,
	CAP_ECHO_MESSAGE = 1 << 3,
	CAP_EXTENDED_JOIN = 1 << 4,
	CAP_INVITE_NOTIFY = 1 << 5,
	CAP_LABELED_RESPONSE = 1 << 6,
	CAP_MESSAGE_TAGS = 1 << 7,
	CAP_MULTI_PREFIX = 1 << 8,
	CAP_SERVER_TIME = 1 << 9,
	CAP_SETNAME = 1 << 10,
	CAP_USERHOST_IN_NAMES = 1 << 11,
	CAP_NO_IMPLICIT_NAMES = 1 << 12,
	CAP_STANDARD_REPLIES = 1 << 13,
	CAP_CHGHOST = 1 << 14,
	CAP_MULTILINE = 1 << 15,
	CAP_MESSAGE_REDACTION = 1 << 16,
	CAP_EXTENDED_MONITOR = 1 << 17,
};

#define IRC_TARGETS_MAX 4    /* nicks or channels per PRIVMSG, NOTICE, KICK, NAMES (TARGMAX) */
#define IRC_LABEL_MAX 64
#define IRC_PENDING_MAX 64  /* lines held for one labeled reply */
/* Bytes held for one labeled reply: well under a page of a long reply
 * (see conn_page), so what is held never pushes a conn past its sendq
 * when it is let go at once. */
#define IRC_PENDING_BYTES 1024

struct irc_multiline;

struct irc_session {
	char nick[NICK_LEN_MAX + 1];  /* chosen before registration, or "" */
	char ident[USER_IDENT_MAX + 1];
	char *realname;
	unsigned caps;
	unsigned cap_version;         /* 302 when the client said CAP LS 302 */
	uint8_t negotiating;          /* CAP LS/REQ seen, no CAP END yet */
	uint8_t got_user;
	uint8_t pass_ok;
	struct irc_multiline *ml;     /* a draft/multiline batch being received, or NULL */
};

static inline struct irc_session *
irc_session(struct conn *c)
{
	return c->door_state;
}

/* The nick numerics are addressed to: the user's, the chosen one, or "*". */
const char *irc_target(struct conn *c);
const char *irc_server_name(const struct conn *c);

/* Sends one line (no CR LF in fmt: it is added); labeled replies are held. */
void irc_send(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ":server NUM target " then fmt. */
void irc_numeric(struct conn *c, const char *num, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One line, at most 512 bytes with its CR LF (added), cut between
 * characters when fmt's expansion is longer. */
struct wire *irc_wire_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* before, text and after into buf (HUB_REASON_MAX + 1 bytes), text cut
 * between characters to fit: a QUIT or KILL reason. */
void irc_reason(char *buf, const char *before, const char *text, const char *after);
/* An error of a command or feature no specification gives a numeric or a
 * standard reply: "FAIL cmd code [context] :text" for clients with
 * standard-replies, a server NOTICE with the text for the others. context
 * may be NULL. */
void irc_fail_vendor(struct conn *c, const char *cmd, const char *code,
    const char *context, const char *text);
/* A server NOTICE to c. */
void irc_notice(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queues a ready line (CR LF included) to c, through the label buffer. */
void irc_send_wire(struct conn *c, struct wire *tags, struct wire *body);
/* Delivers a hub event to c as its caps say (also for echo-message). */
void irc_deliver_to(struct conn *c, struct msg *m);
/* labeled-response: c's replies from now until its command is done are
 * held for label (the client's tag value), when c may have one. */
void irc_label_begin(struct conn *c, const char *label);
/* The value of tag key on m ("" when it has none), or NULL. */
const char *irc_tag_value(const struct irc_message *m, const char *key);

/* PRIVMSG, NOTICE and TAGMSG (irc_message.c). The message's client-only
 * tags, escaped again for relaying: "+a=b;+c", or NULL when there are
 * none. */
const char *irc_client_tags(const struct irc_message *m, char *buf, size_t cap);
/* Sends text to one target (a channel or a nick) as c's user, with the
 * error numerics (none when quiet), the away reply and the echo. */
void irc_send_message(struct conn *c, const char *target, enum msg_kind kind,
    const char *text, const char *tags, int quiet);

/* draft/multiline (irc_multiline.c): a batch of lines sent as one message. */
#define IRC_MULTILINE_MAX_BYTES 4096  /* max-bytes: the message's text, newlines counted */
#define IRC_MULTILINE_MAX_LINES 32    /* max-lines: PRIVMSG or NOTICE lines in a batch */
#define IRC_MULTILINE_CAP "max-bytes=4096,max-lines=32"
/* A line that carries a batch tag: a part of c's open batch, or an error. */
void irc_multiline_line(struct conn *c, struct irc_message *m, const char *ref);
void irc_multiline_free(struct conn *c);
/* The forms a multiline message takes: the batch (with draft/multiline),
 * or its lines one by one, the lines after the first with no tags, with
 * rest_tags in front. */
struct wire *irc_multiline_batch(const struct msg *m, const char *src, const char *cmd);
struct wire *irc_multiline_lines(const struct msg *m, const char *src, const char *cmd,
    const char *rest_tags);

/* Commands, in irc_cmd_*.c. Each gets the parsed message. */
typedef void irc_cmd_fn(struct conn *c, struct irc_message *m);
irc_cmd_fn irc_cmd_join, irc_cmd_part, irc_cmd_topic, irc_cmd_names,
    irc_cmd_list, irc_cmd_kick, irc_cmd_invite, irc_cmd_mode, irc_cmd_privmsg,
    irc_cmd_notice, irc_cmd_who, irc_cmd_whois, irc_cmd_whowas, irc_cmd_ison,
    irc_cmd_userhost, irc_cmd_lusers, irc_cmd_motd, irc_cmd_version,
    irc_cmd_time, irc_cmd_admin, irc_cmd_info, irc_cmd_oper, irc_cmd_kill,
    irc_cmd_away, irc_cmd_setname, irc_cmd_tagmsg, irc_cmd_chghost, irc_cmd_batch,
    irc_cmd_redact, irc_cmd_monitor, irc_cmd_help;

/* MONITOR's user ops (irc_monitor.c). */
void irc_monitor_presence(struct user *u, const char *nick, const struct user *who);
void irc_monitor_watched(struct user *u, struct msg *m);

/* Parts of the welcome burst that are commands too. */
void irc_send_lusers(struct conn *c);
void irc_send_isupport(struct conn *c);
void irc_send_motd(struct conn *c);
void irc_send_names(struct conn *c, struct room *room);

/* A long reply (NAMES, WHO, LIST of thousands), made as the client takes
 * it (see struct conn_pager); lines it makes after the command that asked
 * keep to that command's labeled-response batch. Embedded first in the
 * reply's own state, which fill and free are given. */
struct irc_pager {
	struct conn_pager base;
	int (*fill)(struct conn *c, struct irc_pager *p);
	void (*free)(struct irc_pager *p); /* NULL: free(p) */
	unsigned batch;               /* the labeled-response batch, or 0 */
	uint8_t later;                /* the command is done: fills come later */
};
/* Starts the reply p (its fill and free set), from inside its command. */
void irc_page(struct conn *c, struct irc_pager *p);
/* The prefix characters of a member ("@", "+", "@+" with multi-prefix). */
void irc_member_prefix(struct conn *c, const struct member *mem, char *buf);
/* Tells c why the hub said no, with the numeric IRC uses for it. */
void irc_hub_error(struct conn *c, enum hub_status st, const char *name,
    const char *room);

#endif
