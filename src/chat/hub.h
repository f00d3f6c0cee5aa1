/* The chat itself: users, their unique nicknames, rooms and membership,
 * room modes and privileges, and the routing of events to the users they
 * concern. Knows nothing about sockets or protocols: a user is reached
 * through its ops. One rule set serves every front door.
 *
 * Commands (hub_join, hub_say, ...) check who may, change the state, and
 * emit the event: every event leaves through one exit (hub_emit.c), which
 * delivers it to its audience here and then shows it to each observer
 * (hub_observe) once. hub_apply takes an event that happened elsewhere
 * (another node): it changes the state as the event says and delivers it
 * here, and observers do not see it again. */
#ifndef PARLEY_HUB_H
#define PARLEY_HUB_H

#include <stdint.h>
#include <time.h>
#include <uthash.h>

#include "chat/bounds.h"
#include "chat/msg.h"
#include "chat/names.h"


struct user;

struct user_ops {
	/* Hands one event to the user's front door. It must not change the
	 * hub (no join, part or quit) from inside: the hub may be walking a
	 * room. A door that must drop its user defers it. */
	void (*deliver)(struct user *u, struct msg *m);
	/* The user must go (KILL): the door says why to the user, and closes
	 * the connection after flushing that; the hub is told now. Never
	 * called from inside a fan-out. */
	void (*disconnect)(struct user *u, const char *reason);
	/* MONITOR: someone took nick, a nickname u watches (who), or nobody
	 * has it any more (who NULL). NULL: the door has no MONITOR. */
	void (*presence)(struct user *u, const char *nick, const struct user *who);
	/* MONITOR: an event about whoever has a nickname u watches (away,
	 * real name, host), when u shares no room with them
	 * (extended-monitor). NULL: the door does not want these. */
	void (*watched)(struct user *u, struct msg *m);
	/* The user's next commands wait (on 1) until what decides its last
	 * one is known (on 0: one hold ends): a cluster's answer from Redis.
	 * -1 when it cannot wait (nothing is held then). NULL: the user has
	 * no input to hold. */
	int (*hold)(struct user *u, int on);
};

/* The ops of a user of another node (hub_apply): nothing reaches it from
 * here. */
extern const struct user_ops hub_remote_ops;

struct watch;

struct room;

/* User modes. A bot (IRCv3 bot-mode) says so of itself; others see it in
 * WHO, WHOIS and a tag on what it sends. */
enum { UMODE_INVISIBLE = 1, UMODE_OPER = 2, UMODE_BOT = 4 };

/* A user: what the hub and other users may ask of it. Its front door's
 * state behind it (a connection) is the door's business: door is opaque
 * here, and no code outside that door looks behind it. */
struct user {
	char nick[NICK_LEN_MAX + 1];
	char key[NICK_LEN_MAX + 1];  /* nick folded, the hash key */
	UT_hash_handle hh;
	const struct user_ops *ops;
	void *door;                  /* its door's state (the connection); opaque */
	char ident[USER_IDENT_MAX + 1];
	char host[USER_HOST_MAX + 1]; /* as others see it: addr, or a host given by
	                              * hub_chghost */
	char addr[USER_HOST_MAX + 1]; /* where it connects from */
	char *realname;
	char *away;                  /* NULL when here */
	time_t signon;
	int64_t last_active;         /* wall ms of its last input (WHOIS idle): its
	                              * door sets it */
	uint8_t umodes;              /* UMODE_* */
	uint8_t remote;              /* connected to another node (hub_apply):
	                              * ops hub_remote_ops, door NULL (or its
	                              * cluster's own, which reach its node) */
	uint16_t node;               /* remote: the id of the node it is on (its
	                              * cluster sets it); 0 here */
	uint8_t vhost;               /* host was given by hub_chghost */
	uint8_t secure;              /* connected over TLS: its door sets it */
	/* Its door reads lines that fit one IRC line (IRC): its messages are
	 * relayed to IRC cut to one line, not split into several. */
	uint8_t one_line;
	struct room **rooms;         /* oldest first; the last is the current one */
	uint16_t nrooms, caprooms;
	uint32_t stamp;              /* marks who already got a fan-out */
	uint32_t serial;             /* unique per server run, never reused */
	uint32_t order;              /* a serial given whenever it goes to the end of
	                              * hub->users (made, renamed): grows along it */
	struct invite *invites;      /* HUB_INVITES_PER_USER once invited, or NULL */
	uint8_t ninvites;
	uint8_t nwatching, capwatching;
	struct watch **watching;     /* the nicknames it MONITORs, or NULL */
	uint8_t nmade;
	struct room **made;          /* HUB_ROOMS_MADE_PER_USER once it made one, or NULL:
	                              * the rooms it made that still exist */
	char account[ACCOUNT_LEN_MAX + 1]; /* the account it is logged in as, as
	                              * registered; "" when none (hub_account) */
};

/* An operator's invitation into a room (past its +i), held by the invited
 * user: it goes with the user, not the nickname, and ends with it. */
struct invite {
	uint32_t room;               /* the room's serial: a room made again is another */
	time_t expires;
};

enum { MEMBER_OP = 1, MEMBER_VOICE = 2 };

struct member {
	struct user *user;
	uint8_t modes;               /* MEMBER_* */
	uint32_t seq;                /* a serial, at joining: grows along members[] */
};

/* Room modes, as IRC names them. */
enum {
	RMODE_INVITE = 1,      /* i: join by invitation only */
	RMODE_MODERATED = 2,   /* m: only ops and voiced users speak */
	RMODE_NOEXTERNAL = 4,  /* n: only members speak */
	RMODE_SECRET = 8,      /* s: hidden from lists of rooms */
	RMODE_TOPIC = 16,      /* t: only ops set the topic */
};

/* One entry of a room's +b, +e or +I list. */
struct ban {
	char *mask;                  /* nick!ident@host with * and ?, HUB_LIST_MASK_MAX */
	time_t at;
	char by[NICK_LEN_MAX + 1];   /* the nick of who set it */
};

/* A registered room (issue 13): kept when empty, and across restarts
 * (store/rooms.c saves it). Its founder's account, and the accounts an
 * operator gave +o while registered, get +o on joining. */
#define HUB_ROOM_OPS_MAX 32
struct room_reg {
	char founder[ACCOUNT_LEN_MAX + 1];   /* as registered */
	time_t at;                           /* when it was registered */
	uint64_t version;                    /* its state's newest change here:
	                                      * hub_room_stamp's */
	uint8_t nops;
	uint8_t listed;                      /* hub_rooms_registered_only's mark */
	char ops[HUB_ROOM_OPS_MAX][ACCOUNT_LEN_MAX + 1];
};

struct room {
	char name[ROOM_LEN_MAX + 1]; /* as its creator spelled it */
	char key[ROOM_LEN_MAX + 1];
	UT_hash_handle hh;
	char *topic;                 /* NULL when none */
	char *topic_by;              /* nick!ident@host of who set it */
	time_t topic_at;
	time_t created;
	uint8_t modes;               /* RMODE_* */
	char *password;              /* +k, or NULL */
	uint32_t limit;              /* +l, 0 for none */
	struct ban *bans;            /* +b: who may not join or speak */
	uint32_t nbans;
	struct ban *excepts;         /* +e: whom no ban applies to */
	uint32_t nexcepts;
	struct ban *invexes;         /* +I: who may join +i uninvited */
	uint32_t ninvexes;
	uint32_t serial;             /* unique per server run, never reused */
	struct user *maker;          /* who made it, while connected, or NULL */
	struct member *members;      /* in order of joining */
	uint32_t nmembers, capmembers;
	uint32_t nlocal;             /* members who are not remote: a cluster's node
	                              * hears the room's traffic while it has some */
	struct room_reg *reg;        /* registered, or NULL */
};

struct whowas {
	char nick[NICK_LEN_MAX + 1];
	char ident[USER_IDENT_MAX + 1];
	char host[USER_HOST_MAX + 1];
	char realname[USER_REALNAME_MAX + 1];
	time_t at;
};

/* Who gets an event here: one of the shapes events have. An observer is
 * shown it too; room and users are valid during the call only. */
enum audience_shape {
	AUD_ROOM,        /* room's members, but except (NULL: all) */
	AUD_NEIGHBOURS,  /* once each, who shares a room with user, and user
	                  * when self; and user's MONITOR watchers who heard
	                  * nothing else, when watchers (extended-monitor) */
	AUD_USER,        /* user, and also when not NULL (once) */
	AUD_INVITE,      /* user, and room's operators but except (invite-notify) */
	AUD_NOBODY,      /* nobody here but MONITOR (user: who came) */
};

struct audience {
	enum audience_shape shape;
	uint8_t self, watchers;     /* AUD_NEIGHBOURS */
	struct room *room;          /* AUD_ROOM, AUD_INVITE; AUD_NOBODY: a
	                             * (un)registration's room */
	struct user *user;          /* AUD_NEIGHBOURS, AUD_USER, AUD_INVITE, AUD_NOBODY */
	struct user *also;          /* AUD_USER */
	const struct user *except;  /* AUD_ROOM, AUD_INVITE */
};

/* Sees every event made here once, after its local delivery: history, a
 * cluster's publisher, metrics. It may keep m (a reference: m->refs++,
 * msg_unref later) but must not change the hub from inside. */
typedef void hub_observer(void *ctx, struct msg *m, const struct audience *to);

#define HUB_OBSERVERS_MAX 8

struct hub_observer_slot {
	hub_observer *fn;
	void *ctx;
};

/* A registered name (issue 13): the nickname an account was registered
 * with belongs to it (hub_nick_available). */
struct hub_account {
	char key[ACCOUNT_LEN_MAX + 1];   /* folded: the hash key */
	char name[ACCOUNT_LEN_MAX + 1];  /* as registered */
	UT_hash_handle hh;
};

struct hub {
	struct user *users;          /* uthash by key */
	struct room *rooms;          /* uthash by key */
	uint32_t nusers;
	uint32_t nopers;             /* users with UMODE_OPER */
	uint32_t ninvisible;         /* users with UMODE_INVISIBLE */
	uint32_t nrooms;
	uint32_t max_rooms;          /* the most rooms at once (max-rooms); 0: no bound */
	uint32_t nmasks;             /* +b, +e and +I masks of all rooms */
	uint32_t max_users;          /* most at once since start */
	uint32_t nlocal;             /* users of this node (not remote) */
	uint32_t max_local;          /* most of them at once since start */
	uint32_t stamp;
	uint32_t guests;             /* last guest number handed out */
	struct msgid_gen ids;        /* msgids: this node's, in time order */
	uint32_t serials;            /* last user, room, order or join serial handed out */
	struct watch *watches;       /* uthash by folded nick: who MONITORs what */
	uint32_t nwatch_links;       /* entries in all MONITOR lists */
	struct hub_recent *recent;   /* HUB_RECENT entries, or NULL before any message */
	uint64_t nrecent;            /* messages ever noted there (hub_recent.h) */
	size_t topic_len;            /* longest topic kept, in bytes */
	size_t nick_len;             /* longest nickname allowed */
	struct whowas whowas[HUB_WHOWAS];
	uint32_t nwhowas;            /* entries ever written; ring index mod */
	struct hub_observer_slot observers[HUB_OBSERVERS_MAX];
	uint8_t nobservers;
	struct hub_account *accounts; /* uthash by key: every registered name */
	uint32_t naccounts;
	uint32_t reg_changes;        /* rooms registered or dropped, here or
	                              * applied: a reload of the registrations
	                              * read before one is stale */
};

enum hub_status {
	HUB_OK = 0,
	HUB_ENOMEM,
	HUB_EBADNICK,
	HUB_ENICKINUSE,
	HUB_ERESERVED,  /* a service's nickname: nobody's */
	HUB_ENONICK,
	HUB_EBADROOM,
	HUB_ENOROOM,
	HUB_ENOTIN,
	HUB_EALREADY,   /* already in the room: it became the current one */
	HUB_ETOOMANY,   /* in HUB_ROOMS_PER_USER rooms already */
	HUB_EMADE,      /* made HUB_ROOMS_MADE_PER_USER rooms that still exist */
	HUB_ENOCURRENT, /* in no room at all */
	HUB_ECHANOP,    /* needs room operator */
	HUB_EBANNED,
	HUB_EINVITEONLY,
	HUB_EBADKEY,
	HUB_EFULL,      /* +l reached */
	HUB_ECANNOTSEND,
	HUB_EUSERNOTIN, /* the target is not in the room */
	HUB_EUSERON,    /* the target is in the room already */
	HUB_EUNKNOWNMODE,
	HUB_ENEEDARG,   /* a mode that needs an argument had none, or a bad one */
	HUB_EBANLIST,   /* HUB_MASKS_PER_ROOM (or HUB_MASKS_TOTAL) reached */
	HUB_EROOMS,     /* the server holds max-rooms rooms already */
	HUB_ENOPRIV,    /* needs server operator */
	HUB_EBADHOST,   /* not a host name a user may be given */
	HUB_EUNKNOWNMSG, /* no such message there, or it is too old */
	HUB_ENOTYOURS,  /* not a message this user may take back */
	HUB_EOWNED,     /* the nickname is registered to an account the user
	                 * is not logged in as */
	HUB_ENOACCOUNT, /* needs the user logged in */
};

/* A hub of node 0 (hub_set_node). */
void hub_init(struct hub *hub, size_t topic_len, size_t nick_len);
/* The node id its msgids carry (node-id): unique among the nodes that
 * share users and rooms, so that their msgids are too. */
void hub_set_node(struct hub *hub, uint16_t node);
/* Frees every room and user without telling anyone (at exit). */
void hub_clear(struct hub *hub);
/* fn(ctx, m, to) for every event made from now on, after the others
 * registered before it. -1 when HUB_OBSERVERS_MAX are. */
int hub_observe(struct hub *hub, hub_observer *fn, void *ctx);
/* An event that happened elsewhere (another node, whose observers saw
 * it): the state changes as it says, and it reaches its audience here;
 * no observer sees it. A user it names must exist here (MSG_CONNECT makes
 * one, remote); HUB_ENONICK, HUB_ENOROOM or HUB_EUSERNOTIN when not,
 * HUB_ENICKINUSE when a MSG_NICK's nickname is taken here, HUB_ENOMEM. */
enum hub_status hub_apply(struct hub *hub, struct msg *m);

/* A new user with a free guest nickname, in no room. NULL when out of
 * memory. ident and host (its address, copied: at most USER_HOST_MAX
 * bytes) say where it comes from; door is its door's state behind it. */
struct user *hub_user_new(struct hub *hub, const struct user_ops *ops, void *door,
    const char *ident, const char *host, const char *realname);
/* The same with a chosen nickname; *st says why when NULL. */
struct user *hub_user_new_named(struct hub *hub, const char *nick,
    const struct user_ops *ops, void *door, const char *ident, const char *host,
    const char *realname, enum hub_status *st);
/* The same, logged in as account from the start (NULL or "": not): it
 * may take its account's own nickname, and nobody is told of a login (a
 * door that checked the credentials before the user came: SASL). */
struct user *hub_user_new_as(struct hub *hub, const char *nick, const char *account,
    const struct user_ops *ops, void *door, const char *ident, const char *host,
    const char *realname, enum hub_status *st);
/* Tells everyone who shares a room with u, leaves every room and frees u. */
void hub_user_quit(struct hub *hub, struct user *u, const char *reason);

struct user *hub_user_find(struct hub *hub, const char *nick);
/* The i-th room u is in, oldest first (the last is the current one), or
 * NULL past the last: for (i = 0; (r = hub_user_room(u, i)); i++). */
struct room *hub_user_room(const struct user *u, unsigned i);
struct room *hub_room_find(struct hub *hub, const char *name);
/* The room u joined (or focused) last, or NULL. */
struct room *hub_current_room(const struct user *u);
int hub_is_member(const struct room *room, const struct user *u);
/* u's member entry in room, or NULL. */
struct member *hub_member(const struct room *room, const struct user *u);
/* nick!ident@host into buf (at least HUB_MASK_MAX bytes). */
#define HUB_MASK_MAX (NICK_LEN_MAX + USER_IDENT_MAX + USER_HOST_MAX + 3)
void hub_user_mask(const struct user *u, char *buf);
/* Whether u matches a ban of room and no ban exception (+e). */
int hub_is_banned(const struct room *room, const struct user *u);
/* The mask list of a list mode ('b', 'e' or 'I'): sets *list and *n and
 * returns 0, or -1 for any other letter. */
int hub_room_list(struct room *room, char letter, struct ban ***list, uint32_t **n);
/* IRC wildcard match (* and ?), ignoring ASCII case. */
int hub_mask_match(const char *mask, const char *s);
/* 1 when a and b share a room. */
int hub_share_room(const struct user *a, const struct user *b);

/* What a user may see, one rule for every door. A secret (+s) room is seen
 * (listed, its topic and members shown, named in WHOIS) only by its
 * members; to anyone else it is as if it did not exist. In a room it sees,
 * a viewer sees every member when it is one itself, else only the members
 * who are not invisible (+i). Among all users (WHO with a mask), an
 * invisible user is seen only by who shares a room with it. */
int hub_room_visible(const struct user *viewer, const struct room *room);
int hub_member_visible(const struct user *viewer, const struct room *room,
    const struct user *member);
int hub_user_visible(const struct user *viewer, const struct user *u);
/* The room named name if viewer may see it, else NULL: how a door looks up
 * a room a user asks about (all but JOIN, which may create it, and
 * messages, which follow +n). */
struct room *hub_room_seen(struct hub *hub, const struct user *viewer, const char *name);

/* Sets or clears a user mode, keeping the hub's counts (for LUSERS, sent to
 * every client that registers, so it must not walk every user); a change
 * is an event (MSG_UMODE) that only observers see. */
void hub_umode(struct hub *hub, struct user *u, uint8_t bits, int on);
/* The bit of a user mode letter (i, o, B), or 0. */
uint8_t hub_umode_bit(char letter);
/* "+iB" (on) or "-o": the letters of bits, into buf (HUB_UMODE_TEXT_MAX). */
#define HUB_UMODE_TEXT_MAX 8
void hub_umode_text(uint8_t bits, int on, char *buf);
enum hub_status hub_nick(struct hub *hub, struct user *u, const char *nick);
/* u takes a free guest nickname, as hub_user_new gives (a nick change,
 * told as any): for a user who must let go of a registered nickname
 * (logged out of the account that owns it). */
enum hub_status hub_nick_guest(struct hub *hub, struct user *u);
/* Whether self (or a new user, when NULL) may take nick: HUB_OK, or
 * HUB_EBADNICK, HUB_ERESERVED, HUB_ENICKINUSE, or HUB_EOWNED (registered
 * to an account self is not logged in as). */
enum hub_status hub_nick_available(struct hub *hub, const char *nick,
    const struct user *self);
/* name must already be a valid room name; key may be NULL. */
enum hub_status hub_join(struct hub *hub, struct user *u, const char *name);
enum hub_status hub_join_key(struct hub *hub, struct user *u, const char *name,
    const char *key);
enum hub_status hub_part(struct hub *hub, struct user *u, struct room *room,
    const char *reason);
/* kind is MSG_SAY, MSG_ACTION or MSG_NOTICE. The sender does not get it
 * back unless echo is set. */
enum hub_status hub_say(struct hub *hub, struct user *u, struct room *room,
    enum msg_kind kind, const char *text);
/* The same with the sender's client-only tags (or NULL) and the sent msg
 * handed back (referenced) for echoing. kind may also be MSG_TAGMSG. */
enum hub_status hub_say_msg(struct hub *hub, struct user *u, struct room *room,
    enum msg_kind kind, const char *text, const char *client_tags, struct msg **sent);
/* kind as for hub_say_msg; *to is set to the recipient on success; *sent
 * (if not NULL) gets a reference to the msg. */
enum hub_status hub_private(struct hub *hub, struct user *u, const char *nick,
    enum msg_kind kind, const char *text, const char *client_tags, struct user **to,
    struct msg **sent);
/* text NULL clears the topic. */
enum hub_status hub_topic(struct hub *hub, struct user *u, struct room *room,
    const char *text);
enum hub_status hub_kick(struct hub *hub, struct user *op, struct room *room,
    const char *nick, const char *reason);
/* Tells nick that u invites it into room. An invitation from an operator
 * of the room also lets it in past +i (only: bans, the key and the limit
 * still apply) once, within HUB_INVITE_TTL; into a +i room only operators
 * may invite (Modern IRC). */
enum hub_status hub_invite(struct hub *hub, struct user *u, struct room *room,
    const char *nick, struct user **to);
/* text NULL: back. Tells neighbours (for away-notify). */
enum hub_status hub_away(struct hub *hub, struct user *u, const char *text);
enum hub_status hub_setname(struct hub *hub, struct user *u, const char *realname);
/* Gives u another displayed host (a vhost), keeping its ident; tells u and
 * everyone who shares a room with u (MSG_CHGHOST). Who may do it is the
 * caller's business. */
enum hub_status hub_chghost(struct hub *hub, struct user *u, const char *host);

/* One room mode change: letter as IRC names it, on or off, its argument
 * (nick for o and v, mask for b, key for k, count for l). */
struct hub_mode {
	char letter;
	int on;
	const char *arg;
	enum hub_status result;   /* set by hub_room_modes */
	char num[12];             /* the argument as announced, when the hub rewrites it */
};
/* Applies the changes u may make, each result telling; tells the room
 * what changed (MSG_MODE, text like "+o-v bob carol": one, or several
 * when the text would pass HUB_MODE_TEXT_MAX). */
void hub_room_modes(struct hub *hub, struct user *u, struct room *room,
    struct hub_mode *modes, int n);
/* "+nt" and its arguments ("+ntkl key 10"; the key only when show_key)
 * into buf of size cap. */
void hub_room_mode_string(const struct room *room, int show_key, char *buf, size_t cap);

/* Remembers u for WHOWAS (on quit and nick change). */
void hub_whowas_add(struct hub *hub, const struct user *u);
/* The newest entries first: calls fn for each entry of nick, at most max. */
int hub_whowas_find(const struct hub *hub, const char *nick, int max,
    void (*fn)(const struct whowas *w, void *data), void *data);

/* REDACT (IRCv3 message-redaction): u takes back message id, sent to
 * target (a room u is in, or a nick u talks with). u may take back what it
 * sent; a room's operators and server operators anything said in the
 * room. Everyone in the room (both ends of a private message) gets a
 * MSG_REDACT. Without history the hub knows only the last HUB_RECENT
 * events; history, once it exists, answers instead and drops or marks the
 * message when it sees the MSG_REDACT. reason may be NULL. */
enum hub_status hub_redact(struct hub *hub, struct user *u, const char *target,
    const char *id, const char *reason);

/* Where a reply given a piece at a time (LIST, WHO, NAMES of thousands)
 * stands in one of the hub's lists: the serial of the last one given.
 * Rooms are listed in the order they were made, users in the order they
 * came or were renamed, members in the order they joined (the serials
 * grow along each list), so whatever comes or goes between two pieces,
 * the rest is given once and nothing twice (who came meanwhile comes at
 * the end; a user renamed meanwhile may come again, under the new name).
 * Each call gives the next and moves the cursor past it; NULL at the end. */
struct hub_cursor {
	uint32_t serial;             /* of the last one given; 0: none yet */
	char name[ROOM_LEN_MAX + 1]; /* its name, to find it again at once */
};
struct room *hub_cursor_room(struct hub *hub, struct hub_cursor *cur);
struct user *hub_cursor_user(struct hub *hub, struct hub_cursor *cur);
const struct member *hub_cursor_member(const struct room *room, struct hub_cursor *cur);

/* ---- Accounts (issue 13) ----
 * The hub knows which names are registered (so that nobody else takes
 * them) and who is logged in as what; passwords, hashes and the database
 * are accounts/'s and store/'s business. The accounts service keeps the
 * registry true: it loads every name at start, adds one when an account
 * is registered, removes one when dropped, and syncs when another
 * process (the admin command line) changed the database. */

/* Registers name (as spelled; an existing entry is respelled). -1 when
 * out of memory or not a valid name. */
int hub_account_add(struct hub *hub, const char *name);
/* Unregisters name; whoever is logged in as it is logged out
 * (MSG_ACCOUNT). Nobody loses a nickname: it is free now. */
void hub_account_remove(struct hub *hub, const char *name);
/* Makes the registry exactly names[0..n) (a reload): the others are
 * removed as by hub_account_remove. -1 when out of memory (the registry
 * then holds at least what it held and what was added). */
int hub_account_sync(struct hub *hub, const char *const *names, size_t n);
/* Whoever holds name's nickname without being logged in as name gets a
 * guest's (hub_nick_guest): after name was registered (once its
 * registering user is logged in), or came from another process. Never
 * left holding it. */
void hub_account_enforce(struct hub *hub, const char *name);
/* The registered spelling of the account that owns nick, or NULL. */
const char *hub_account_owner(const struct hub *hub, const char *nick);
/* Logs u in as account (the registered spelling), or out (NULL or ""),
 * and tells u and everyone who shares a room with u (MSG_ACCOUNT, for
 * account-notify); nothing when it is already so. The caller checked the
 * credentials. */
void hub_account(struct hub *hub, struct user *u, const char *account);
/* 1 when u is logged in as account (ASCII case ignored). */
int hub_logged_in_as(const struct user *u, const char *account);

/* ---- Registered rooms (issue 13) ----
 * A room registered by a logged-in operator stays when empty; the
 * accounts it names get +o on joining (a MODE from the service ChanServ,
 * hub_service). Saving it is an observer's (store/rooms.c): it sees the
 * MSG_TOPIC and MSG_MODE of registered rooms, and is told of a
 * registration or drop by its caller. */

/* The user events of the room service come from: ChanServ. */
extern const struct user hub_service;
/* u registers room (u's account the founder). HUB_ENOACCOUNT when u is
 * not logged in, HUB_ENOTIN, HUB_ECHANOP, HUB_EALREADY when it is. */
enum hub_status hub_room_register(struct hub *hub, struct user *u, struct room *room);
/* u unregisters room: u must be logged in as its founder, or a server
 * operator (HUB_ENOTYOURS else; HUB_ENOROOM when not registered). An
 * empty room goes. */
enum hub_status hub_room_drop(struct hub *hub, struct user *u, struct room *room);
/* What a registered room keeps besides its lists. */
struct hub_room_state {
	const char *topic, *topic_by;  /* NULL: none */
	time_t topic_at, created;
	const char *modes;             /* flag letters: "nt" */
	const char *key;               /* NULL: none */
	uint32_t limit;
};
/* At start: the registered room name (founded by founder), made empty
 * with state st if it does not exist (an existing room keeps its own).
 * NULL when out of memory or not a room name. */
struct room *hub_room_restore(struct hub *hub, const char *name, const char *founder,
    const struct hub_room_state *st);
/* room's state becomes st, whatever it was (a cluster's node loading
 * the shared state): topic (NULL: none), created (0: kept), modes, key,
 * limit. No event. */
void hub_room_load(struct hub *hub, struct room *room, const struct hub_room_state *st);
/* Adds a mask to a list mode ('b', 'e', 'I') of room as restored (no
 * event). -1 when it does not fit the bounds. */
int hub_room_restore_mask(struct hub *hub, struct room *room, char letter, const char *mask,
    const char *by, time_t at);
/* Empties room's +b, +e and +I lists (no event): before they are loaded
 * again from elsewhere (a cluster's shared state). */
void hub_room_clear_masks(struct hub *hub, struct room *room);
/* 1 when account gets +o on joining room. */
int hub_room_op_account(const struct room *room, const char *account);
/* Another node's MSG_REGISTER or MSG_UNREGISTER (hub_apply's): the room
 * is registered to m's account (made, empty, if it is not here), or is
 * not any more. Two registrations of one room: the earlier holds. */
enum hub_status hub_room_registered(struct hub *hub, const struct msg *m);
/* The registered rooms are at most those named in names[0..n) (a
 * reload from the database): any other is registered no more, and goes
 * if empty. No event: every node reloads from the same database. */
void hub_rooms_registered_only(struct hub *hub, const char *const *names, size_t n);
/* 1 when m comes from the service (ChanServ). */
int hub_from_service(const struct msg *m);
/* Another node's MSG_MODE from the service: applied (and delivered here)
 * only when it is the +o of a member whose account the registered room
 * names, as this hub would have given it. */
enum hub_status hub_room_service_mode(struct hub *hub, struct msg *m);

/* The msg carrying an event, with its id and time set (and from's
 * account copied). */
struct msg *hub_msg(struct hub *hub, enum msg_kind kind, const struct user *from,
    const char *room, const char *target, const char *text);

#endif
