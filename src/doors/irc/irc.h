/* The IRC front door's insides, shared by its files: the per-connection
 * session, capabilities, and the ways to send a reply.
 *
 * The files are layered; each calls only those below it:
 *   irc_door.c       the door: open, close, ping, refuse
 *   irc_dispatch.c   a line: parse, repair, the command table, the reply
 *   commands         irc_caps.c irc_register.c irc_channel.c irc_multiline.c
 *                    (over irc_message.c) irc_query.c irc_user.c
 *                    irc_monitor.c irc_help.c irc_debug.c, over irc_welcome.c;
 *                    irc_sasl.c and irc_account_register.c over irc_register.c,
 *                    they and irc_nickserv.c over irc_account.c (logging in
 *                    and out, calls to the accounts service);
 *                    irc_channel.c's JOIN over irc_chathistory.c (CHATHISTORY,
 *                    SEARCH, replay; its parameters: irc_history_parse.c)
 *   irc_render.c     hub events as IRC lines (irc_render_multiline.c)
 *   irc_numeric.c    what the hub's refusals are called in IRC
 *   irc_tags.c       IRCv3 tags: server-time, msgid, bot, client tags
 *   irc_reply.c      sending: the reply of a command, labeled-response, batch
 *   irc_line.c       one line: the one place that knows its limit
 *   irc_parse.c      reading a line */
#ifndef PARLEY_IRC_H
#define PARLEY_IRC_H

#include <stdarg.h>

#include "base/config.h"
#include "chat/hub.h"
#include "cluster/cluster.h"
#include "doors/door.h"
#include "doors/irc/irc_numeric.h"
#include "doors/irc/irc_parse.h"
#include "doors/irc/irc_sasl_parse.h"
#include "net/conn.h"

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
	CAP_CHATHISTORY = 1 << 18,     /* draft/chathistory */
	CAP_EVENT_PLAYBACK = 1 << 19,  /* draft/event-playback */
	CAP_SEARCH = 1 << 20,          /* soju.im/search */
	CAP_SASL = 1 << 21,
	CAP_ACCOUNT_NOTIFY = 1 << 22,
	CAP_ACCOUNT_TAG = 1 << 23,
	CAP_ACCOUNT_REGISTRATION = 1 << 24, /* draft/account-registration */
	CAP_READ_MARKER = 1 << 28,     /* draft/read-marker */
};

#define IRC_TARGETS_MAX 4    /* nicks or channels per PRIVMSG, NOTICE, KICK, NAMES (TARGMAX) */
#define IRC_LABEL_MAX 64
/* A list (of channels, nicks, capabilities) in one reply line: room for
 * the longest head in front of it, whatever the names in that head. */
#define IRC_LIST_LINE 400
/* A room's modes and their arguments, as hub_room_mode_string writes them. */
#define IRC_MODES_MAX 160
/* The tags the server puts on an event besides the sender's: time,
 * msgid, bot. */
#define IRC_OUR_TAGS_MAX 64

struct irc_marks;
struct irc_multiline;
struct irc_reply;
struct irc_sasl;

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
	struct irc_reply *reply;      /* where c's replies go now (irc_reply.c), or NULL */
	uint8_t hjobs;                /* history jobs in flight (irc_chathistory.c) */
	uint8_t hjobs_held;           /* at DOOR_HJOBS_MAX: a conn_hold of them */
	unsigned batches;             /* labeled-response batch ids handed out */
	struct irc_sasl *sasl;        /* an AUTHENTICATE exchange under way, or NULL */
	unsigned sasl_gen;            /* exchanges begun or ended: a late answer to
	                               * one that is over is dropped */
	uint8_t account_busy;         /* a login or REGISTER is being checked:
	                               * registration waits for its answer */
	char account[ACCOUNT_LEN_MAX + 1]; /* logged in before registration ("" if
	                               * not): the user is made logged in */
	uint8_t claims;               /* nicknames asked of the cluster, not yet
	                               * answered: registration waits for them */
	char claimed[NICK_LEN_MAX + 1]; /* before registration, the nickname the
	                               * cluster gave this conn, or "" */
	char asked_nick[NICK_LEN_MAX + 1]; /* the last NICK before registration,
	                               * taken or not (REGISTER's "*") */
	struct irc_marks *marks;      /* read markers of a connection without an
	                               * account (irc_markread.c), or NULL */
};

static inline struct irc_session *
irc_session(struct conn *c)
{
	return c->door_state;
}

static inline const char *
irc_server_name(const struct conn *c)
{
	return door_cfg(c)->server_name;
}

/* One line (irc_line.c). */

/* One line, at most IRC_LINE_MAX bytes with its CR LF (added), cut
 * between characters when fmt's expansion is longer. */
struct wire *irc_wire_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As irc_wire_line, with prefix (data, never a format) in front, into
 * line (IRC_LINE_MAX bytes); returns the length, CR LF included. */
size_t irc_vformat(char *line, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* before, text and after into buf (HUB_REASON_MAX + 1 bytes), text cut
 * between characters to fit: a QUIT or KILL reason. */
void irc_reason(char *buf, const char *before, const char *text, const char *after);
/* The room for text in a line whose head (before the text) is head
 * bytes and whose tail (after it) is tail bytes, CR LF not counted; 0
 * when there is none worth having. */
size_t irc_text_room(size_t head, size_t tail);
#define IRC_TEXT_ROOM_MIN 16
/* How a link ends (RFC 2812 ERROR): the host, then why. */
#define IRC_CLOSING_LINK "ERROR :Closing Link: %s (%s)"

/* Sending (irc_reply.c). Everything sent to a client goes through here,
 * so the reply of a labeled command gets its label. */

/* The nick numerics are addressed to: the user's, the chosen one, or "*". */
const char *irc_target(struct conn *c);
/* Sends one line (no CR LF in fmt: it is added). */
void irc_send(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ":server NUM target " then fmt: use irc_num with a name from
 * irc_numeric.h, which gives both. */
void irc_numeric(struct conn *c, const char *num, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define irc_num(c, ...) irc_numeric(c, __VA_ARGS__)
/* A server NOTICE to c. */
void irc_notice(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An IRCv3 standard reply "FAIL cmd code [context] :text" (context may
 * be NULL), to any client. */
void irc_fail(struct conn *c, const char *cmd, const char *code, const char *context,
    const char *text);
/* An error of a command or feature no specification gives a numeric or a
 * standard reply: FAIL for clients with standard-replies, a server NOTICE
 * with the text for the others. */
void irc_fail_vendor(struct conn *c, const char *cmd, const char *code,
    const char *context, const char *text);
/* ERROR, the last line of a link. */
void irc_send_closing(struct conn *c, const char *reason);
/* Queues a ready line (CR LF included) and its tags (or NULL) to c. */
void irc_send_wire(struct conn *c, struct wire *tags, struct wire *body);

/* The reply of one command (irc_reply.c). labeled-response: the lines
 * of a labeled command's reply carry its label (one line), come in a
 * labeled batch (several) or are an ACK (none). A reply may be finished
 * later than its command (irc_reply_keep), its label and batch intact.
 *
 * c's replies from now until the command is done are for label (the
 * client's tag value), when c may have one. */
void irc_label_begin(struct conn *c, const char *label);
/* The command is done: its reply is finished now, or, when kept, waits
 * for irc_reply_done with everything c gets meanwhile held behind it. */
void irc_reply_end(struct conn *c);
/* From inside a command: its reply will be finished later. Returns a
 * reference, for irc_reply_resume and irc_reply_done; NULL when out of
 * memory (the conn is then killed). */
struct irc_reply *irc_reply_keep(struct conn *c);
/* On the loop, later: c's output goes to the reply r until
 * irc_reply_done, and c is returned; NULL when the conn is gone. */
struct conn *irc_reply_resume(struct irc_reply *r);
/* r's conn while it is open and r waits for its answer; else NULL. */
struct conn *irc_reply_conn(const struct irc_reply *r);
/* Finishes r (label, batch), lets out what c got meanwhile, and drops
 * the reference irc_reply_keep gave. */
void irc_reply_done(struct irc_reply *r);
/* The session ends: the reply open now, if any, is dropped. */
void irc_reply_forget(struct conn *c);

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

/* Tags (irc_tags.c). */

/* The tags a hub event carries to c: server-time, or all of them with
 * message-tags (the msgid, the bot tag, the sender's client tags); NULL
 * for a client that asked for none. Made once per event and shared. */
struct wire *irc_tags_for(struct conn *c, struct msg *m);
/* "@time=... " (when time) and, with all, the msgid (when with_id), the
 * bot tag and the sender's client-only tags, and the sender's account
 * (when account, and it has one): a new wire, or NULL when that is no
 * tag at all. */
struct wire *irc_tags_render(const struct msg *m, int time, int all, int with_id,
    int account);
/* The value of tag key on m ("" when it has none), or NULL. */
const char *irc_tag_value(const struct irc_message *m, const char *key);
/* The message's client-only tags, escaped again for relaying: "+a=b;+c",
 * or NULL when there are none. */
const char *irc_client_tags(const struct irc_message *m, char *buf, size_t cap);
/* "label=VALUE" with VALUE escaped, into buf (IRC_LABEL_TAG_MAX bytes). */
#define IRC_LABEL_TAG_MAX (IRC_LABEL_MAX * 2 + 8)
void irc_label_tag(char *buf, const char *label);

/* Rendering hub events (irc_render.c). */

/* Delivers a hub event to c as its caps say (also for echo-message). */
void irc_deliver_to(struct conn *c, struct msg *m);
/* What c is sent of m, as irc_deliver_to sends it: its tags (NULL for
 * none) and its body, m's own renderings (shared, not referenced for the
 * caller); -1 when c is sent nothing of it. A stored event comes back
 * through here (irc_chathistory.c), so history looks as live did. */
int irc_render_for(struct conn *c, struct msg *m, struct wire **tags, struct wire **body);
/* user_ops.deliver. */
void irc_deliver(struct user *u, struct msg *m);
/* The prefix characters of a member ("@", "+", "@+" with multi-prefix). */
void irc_member_prefix(struct conn *c, const struct member *mem, char *buf);
/* The forms a multiline message takes (irc_render_multiline.c): the
 * batch (with draft/multiline), or its lines one by one, the lines after
 * the first with no tags, with rest_tags in front. */
struct wire *irc_multiline_batch(const struct msg *m, const char *src, const char *cmd);
struct wire *irc_multiline_lines(const struct msg *m, const char *src, const char *cmd,
    const char *rest_tags);

/* What the hub's refusals are called (irc_numeric.c). */

/* Tells c why the hub said no, with the numeric IRC uses for it. */
void irc_hub_error(struct conn *c, enum hub_status st, const char *name,
    const char *room);

/* Commands. Each gets the parsed message, with at least as many
 * parameters as the command table says (irc_dispatch.c). */
typedef void irc_cmd_fn(struct conn *c, struct irc_message *m);
irc_cmd_fn irc_cmd_cap, irc_cmd_nick, irc_cmd_user, irc_cmd_pass, irc_cmd_ping,
    irc_cmd_pong, irc_cmd_quit, irc_cmd_join, irc_cmd_part, irc_cmd_topic,
    irc_cmd_names, irc_cmd_list, irc_cmd_kick, irc_cmd_invite, irc_cmd_mode,
    irc_cmd_privmsg, irc_cmd_notice, irc_cmd_who, irc_cmd_whois, irc_cmd_whowas,
    irc_cmd_ison, irc_cmd_userhost, irc_cmd_lusers, irc_cmd_motd, irc_cmd_version,
    irc_cmd_time, irc_cmd_admin, irc_cmd_info, irc_cmd_oper, irc_cmd_kill,
    irc_cmd_away, irc_cmd_setname, irc_cmd_tagmsg, irc_cmd_chghost, irc_cmd_batch,
    irc_cmd_redact, irc_cmd_monitor, irc_cmd_help, irc_cmd_debug, irc_cmd_chathistory,
    irc_cmd_search, irc_cmd_authenticate, irc_cmd_register, irc_cmd_verify,
    irc_cmd_nickserv, irc_cmd_markread, irc_cmd_chanserv;

/* Replay on join (irc_chathistory.c): whether c is to be shown a room's
 * last messages when it joins (batch and server-time, and not
 * draft/chathistory, with which it asks for them itself), and the replay
 * of rooms just joined, from inside the JOIN: after its lines, before
 * whatever c is sent next. */
int irc_replay_wanted(struct conn *c);
void irc_replay(struct conn *c, struct room *const *rooms, size_t n);

/* After JOIN (irc_channel.c), for rooms whose read marker or history
 * comes from the database: one job, whose answer gives each room its
 * MARKREAD (when marks) and its NAMES (names[i]), then the replay
 * (when replay). */
void irc_join_later(struct conn *c, struct room *const *rooms, const uint8_t *names,
    size_t n, int marks, int replay);

/* Read markers (irc_markread.c). */
void irc_markread_send(struct conn *c, const char *target, int64_t at_ms);
/* After c joined room: its MARKREAD sent now (0), or to come from the
 * database (1: irc_join_later); 0 and nothing sent without the cap. */
int irc_markread_joined(struct conn *c, const struct room *room);
void irc_markread_free(struct conn *c);

/* Registered rooms (irc_chanserv.c): a PRIVMSG to ChanServ. */
void irc_chanserv(struct conn *c, char *text);
#define IRC_CHANSERV "ChanServ"

/* Registration (irc_register.c): registers c once it has all it needs
 * and no login is being checked (a SASL exchange still waiting for the
 * client is aborted, 906). */
void irc_try_register(struct conn *c);

/* Nicknames in a cluster (irc_claim.c): asked of the cluster (c's env
 * has one) before the hub takes them. fn(c, nick, result) runs when it
 * answers (now, or on a later pass, inside the command's reply kept
 * meanwhile) if c is still open; it returns 1 when it kept a nickname it
 * was given, 0 when it did not (given back). Counted in claims until. */
typedef int irc_claim_fn(struct conn *c, const char *nick, enum cluster_claim result);
void irc_claim(struct conn *c, const char *nick, irc_claim_fn *fn);

/* Accounts (irc_account.c), over accounts/accounts.h. */

/* The account c is logged in as ("" when none), before registration too. */
const char *irc_account_of(struct conn *c);
/* c is now logged in as account (its registered spelling), or out (NULL):
 * 900 or 901 (tell), then account-notify to whom it concerns, and a nick
 * that is another account's given up for a guest one (apply). SASL puts
 * its 903 between the two, as clients expect 900 and 903 together. */
void irc_account_set(struct conn *c, const char *account);
void irc_account_tell(struct conn *c, const char *account);
void irc_account_apply(struct conn *c, const char *account);
/* A call to the accounts service, answered later: on the loop, fn gets c
 * (still connected; its output goes into the command's reply) and the
 * result. The job is the caller's to fill (arg, word) before the call. */
struct account_result;
struct irc_account_job;
typedef void irc_account_fn(struct conn *c, const struct account_result *r,
    struct irc_account_job *j);
struct irc_account_job {
	struct irc_reply *reply;
	irc_account_fn *fn;
	unsigned gen;                 /* c's sasl_gen when asked */
	uint8_t busy;                 /* counted in account_busy */
	char word[32];                /* what was asked (a NickServ command) */
	char name[ACCOUNT_LEN_MAX + 1];
};
/* What the service calls back with a job (its ctx). */
void irc_account_done(void *ctx, const struct account_result *r);
/* A job for fn, its reply kept; NULL when out of memory (c is closing). */
struct irc_account_job *irc_account_job(struct conn *c, irc_account_fn *fn);
/* After the call that was given j: its status. PENDING: fn runs later;
 * anything else: fn runs now with that status. Either way j is the
 * service's no more. */
void irc_account_wait(struct conn *c, struct irc_account_job *j, int status);
/* Whether REGISTER is taken before registration (before-connect). */
int irc_register_early(struct conn *c);
/* The accounts service, or NULL when the server keeps no accounts. */
struct accounts *irc_accounts(struct conn *c);
/* c's address, for throttling. */
const char *irc_account_addr(struct conn *c);

/* An AUTHENTICATE exchange under way (irc_sasl.c). */
enum irc_sasl_mech { MECH_PLAIN, MECH_SCRAM, MECH_EXTERNAL };
struct account_scram;
struct irc_sasl {
	enum irc_sasl_mech mech;
	uint8_t step;                 /* SCRAM: its step (irc_sasl.c) */
	uint8_t busy;                 /* a check under way: the client waits */
	struct account_scram *scram;  /* SCRAM's exchange, or NULL */
	char account[ACCOUNT_LEN_MAX + 1]; /* SCRAM: who proved it, until the last
	                              * step; EXTERNAL: the name asked for, or "" */
	char fp[CONN_FINGERPRINT_MAX]; /* EXTERNAL: the certificate's fingerprint */
	struct sasl_buf buf;          /* the payload as its chunks come */
};
/* The exchange is over (irc_account.c): a check still under way is
 * answered to nobody; what it held is wiped. */
void irc_sasl_end(struct conn *c);
/* The mechanisms, as the sasl capability's value lists them. */
#define IRC_SASL_MECHS "PLAIN,SCRAM-SHA-256,EXTERNAL"

/* NickServ (irc_nickserv.c): a PRIVMSG to it. */
void irc_nickserv(struct conn *c, char *text);
/* The service's name, as it signs its NOTICEs. */
#define IRC_NICKSERV "NickServ"


/* PRIVMSG, NOTICE and TAGMSG (irc_message.c): sends text to one target
 * (a channel or a nick) as c's user, with the error numerics (none when
 * quiet), the away reply and the echo. */
void irc_send_message(struct conn *c, const char *target, enum msg_kind kind,
    const char *text, const char *tags, int quiet);

/* draft/multiline (irc_multiline.c): a batch of lines sent as one message. */
#define IRC_MULTILINE_MAX_BYTES 4096  /* max-bytes: the message's text, newlines counted */
#define IRC_MULTILINE_MAX_LINES 32    /* max-lines: PRIVMSG or NOTICE lines in a batch */
#define IRC_MULTILINE_CAP "max-bytes=4096,max-lines=32"
#define IRC_MULTILINE_BATCH_TYPE "draft/multiline"
#define IRC_MULTILINE_CONCAT_TAG "draft/multiline-concat"
/* A line that carries a batch tag: a part of c's open batch, or an error. */
void irc_multiline_line(struct conn *c, struct irc_message *m, const char *ref);
void irc_multiline_free(struct conn *c);

/* MONITOR's user ops (irc_monitor.c). */
void irc_monitor_presence(struct user *u, const char *nick, const struct user *who);
void irc_monitor_watched(struct user *u, struct msg *m);

/* The welcome burst (irc_welcome.c), parts of which are commands too. */
void irc_welcome(struct conn *c);
void irc_send_lusers(struct conn *c);
void irc_send_isupport(struct conn *c);
void irc_send_motd(struct conn *c);

/* NAMES of one room, then its 366 (irc_names.c). */
void irc_send_names(struct conn *c, struct room *room);
/* The same, from inside a reply answered later (a job's done): the 353
 * lines held in the reply, not paged after it. */
void irc_send_names_held(struct conn *c, struct room *room);
/* The 353 lines alone, as the client takes them (NAMES of several rooms
 * ends with one 366). */
void irc_names_lines(struct conn *c, struct room *room);

/* A line from the client (irc_dispatch.c). */
void irc_dispatch(struct conn *c, char *line, size_t len);

#endif
