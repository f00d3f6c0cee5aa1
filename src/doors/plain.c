/* The plain-text front door: lines a person types in nc, telnet or parley,
 * and lines a person can read. docs/protocol.md is its specification. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/text.h"
#include "chat/hub.h"
#include "cluster/cluster.h"
#include "doors/door.h"
#include "doors/plain_accounts.h"
#include "doors/plain_error.h"
#include "doors/plain_history.h"
#include "doors/plain_rooms.h"
#include "store/rooms.h"
#include "doors/plain_parse.h"
#include "doors/plain_render.h"
#include "net/conn.h"

#define PLAIN_FIRST_ROOM "#lobby"
/* How a plain user looks to IRC users: nick!plain@ADDRESS. */
#define PLAIN_IDENT "plain"
#define PLAIN_REALNAME "plain-text user"
/* Bytes of nicknames per /who line, so a huge room gives many short lines. */
#define PLAIN_WHO_LINE 400
/* A line up to this long is cleaned on the stack, a longer one on the heap. */
#define PLAIN_LINE_ON_STACK 1024

static void
plain_deliver(struct user *u, struct msg *m)
{
	if (m->rendered[FMT_PLAIN] == NULL)
		m->rendered[FMT_PLAIN] = plain_render(m);
	if (m->rendered[FMT_PLAIN] != NULL)
		conn_send(u->door, m->rendered[FMT_PLAIN]);
}

static const struct user_ops plain_user_ops = {
	.deliver = plain_deliver,
	.disconnect = door_disconnect_user,
	.hold = door_hold_user,
};

static void
hub_error(struct conn *c, enum hub_status st, const char *name)
{
	switch (st) {
	case HUB_OK:
	case HUB_EALREADY:
		return;
	case HUB_ENOMEM:
		plain_err(c, PLAIN_ERR_NOMEM);
		return;
	case HUB_EBADNICK:
		plain_err(c, PLAIN_ERR_BAD_NICK, name, (int)door_hub(c)->nick_len);
		return;
	case HUB_ERESERVED:
		plain_err(c, PLAIN_ERR_NICK_RESERVED, name);
		return;
	case HUB_ENICKINUSE:
		plain_err(c, PLAIN_ERR_NICK_IN_USE, name);
		return;
	case HUB_EOWNED:
		plain_err(c, PLAIN_ERR_NICK_OWNED, name, name);
		return;
	case HUB_ENONICK:
		plain_err(c, PLAIN_ERR_NO_SUCH_NICK, name);
		return;
	case HUB_EBADROOM:
		plain_err(c, PLAIN_ERR_BAD_ROOM, name, ROOM_LEN_MAX - 1);
		return;
	case HUB_ENOROOM:
		plain_err(c, PLAIN_ERR_NO_SUCH_ROOM, name);
		return;
	case HUB_ENOTIN:
		plain_err(c, PLAIN_ERR_NOT_IN_ROOM, name);
		return;
	case HUB_ETOOMANY:
		plain_err(c, PLAIN_ERR_TOO_MANY_ROOMS, HUB_ROOMS_PER_USER);
		return;
	case HUB_EMADE:
		plain_err(c, PLAIN_ERR_TOO_MANY_MADE, HUB_ROOMS_MADE_PER_USER);
		return;
	case HUB_EROOMS:
		plain_err(c, PLAIN_ERR_NO_MORE_ROOMS, door_hub(c)->max_rooms);
		return;
	case HUB_ENOCURRENT:
		plain_err(c, PLAIN_ERR_NO_ROOM);
		return;
	case HUB_ECHANOP:
		plain_err(c, PLAIN_ERR_NOT_ROOM_OP, name);
		return;
	case HUB_EBANNED:
		plain_err(c, PLAIN_ERR_BANNED, name);
		return;
	case HUB_EINVITEONLY:
		plain_err(c, PLAIN_ERR_INVITE_ONLY, name);
		return;
	case HUB_EBADKEY:
		plain_err(c, PLAIN_ERR_BAD_KEY, name, name);
		return;
	case HUB_EFULL:
		plain_err(c, PLAIN_ERR_ROOM_FULL, name);
		return;
	case HUB_ECANNOTSEND:
		plain_err(c, PLAIN_ERR_CANNOT_SEND, name);
		return;
	case HUB_EUSERNOTIN:
	case HUB_EUSERON:
	case HUB_EUNKNOWNMODE:
	case HUB_ENEEDARG:
	case HUB_EBANLIST:
	case HUB_ENOPRIV:
	case HUB_EBADHOST:
	case HUB_EUNKNOWNMSG:
	case HUB_ENOTYOURS:
		plain_err(c, PLAIN_ERR_UNEXPECTED);
		return;
	case HUB_ENOACCOUNT:
		plain_err(c, PLAIN_ERR_NOT_LOGGED_IN);
		return;
	}
}

static void usage(struct conn *c, const char *command);

static struct hub *
hub_of(struct conn *c)
{
	return door_hub(c);
}

/* Resolves what the user typed as a room name; on failure the error has
 * been sent. */
static struct room *
room_arg(struct conn *c, const char *typed, int must_exist)
{
	char name[ROOM_LEN_MAX + 1];
	if (name_room_from_input(name, typed, door_cfg(c)->channel_len) < 0) {
		hub_error(c, HUB_EBADROOM, typed);
		return NULL;
	}
	/* A room the user may not see does not exist, for it. */
	struct room *room = hub_room_seen(hub_of(c), c->user, name);
	if (room == NULL && must_exist)
		hub_error(c, HUB_ENOROOM, name);
	return room;
}

static struct room *
current_room(struct conn *c)
{
	struct room *room = hub_current_room(c->user);
	if (room == NULL)
		hub_error(c, HUB_ENOCURRENT, NULL);
	return room;
}

static void
topic_line(struct conn *c, const struct room *room)
{
	char *copy;
	const char *topic = plain_shown(room->topic, 0, &copy);
	if (topic != NULL)
		conn_sendf(c, "-- %s topic: %s\n", room->name, topic);
	free(copy);
}

static void
say(struct conn *c, enum msg_kind kind, const char *text)
{
	struct room *room = current_room(c);
	if (room != NULL)
		hub_error(c, hub_say(hub_of(c), c->user, room, kind, text), room->name);
}

/* Commands. Each gets the rest of the line after the command word. */

/* /nick in a cluster (cluster/cluster.h): the cluster gives the nickname
 * first, and the answer is a parked reply in the conn's output, as an
 * account's is (plain_accounts.c): the user is renamed when the answer
 * comes, while its conn is here, and what it gets meanwhile waits
 * behind. A nickname given to a conn that went is given back. */
struct nick_wait {
	struct conn_pager base;
	unsigned refs;                /* the cluster's call and the pager */
	struct conn *conn;            /* NULL once the pager is gone */
	struct cluster *cl;
	uint64_t owner;
	enum hub_status status;
	uint8_t busy;                 /* Redis is not keeping up */
	uint8_t held;                 /* the conn's lines wait for the answer */
	char nick[NICK_LEN_MAX + 1];
};

static void
nick_error(struct conn *c, const struct nick_wait *w)
{
	if (w->busy)
		plain_err(c, PLAIN_ERR_BUSY);
	else
		hub_error(c, w->status, w->nick);
}

static void
nick_wait_unref(struct nick_wait *w)
{
	if (--w->refs == 0)
		free(w);
}

static void
nick_wait_free(struct conn_pager *base)
{
	struct nick_wait *w = (struct nick_wait *)base;
	w->conn = NULL;
	nick_wait_unref(w);
}

static int
nick_wait_fill(struct conn *c, struct conn_pager *base)
{
	nick_error(c, (struct nick_wait *)base);
	return 0;
}

static void
nick_answer(struct nick_wait *w, enum cluster_claim result)
{
	struct conn *c = w->conn;
	w->status = result == CLUSTER_CLAIM_OK ? HUB_OK : HUB_ENICKINUSE;
	w->busy = result == CLUSTER_CLAIM_BUSY;
	if (c != NULL && c->state == CONN_OPEN && c->user != NULL) {
		if (result == CLUSTER_CLAIM_OK &&
		    (w->status = hub_nick(hub_of(c), c->user, w->nick)) != HUB_OK)
			cluster_release(w->cl, w->nick, w->owner);
	} else if (result == CLUSTER_CLAIM_OK) {
		cluster_release(w->cl, w->nick, w->owner);
	}
}

static void
nick_done(void *ctx, enum cluster_claim result)
{
	struct nick_wait *w = ctx;
	nick_answer(w, result);
	/* The resumed pager may be done and freed at once: w->conn NULL. */
	struct conn *c = w->conn;
	if (c != NULL) {
		conn_page_resume(c, &w->base);
		if (w->held)
			conn_unhold(c);
	}
	nick_wait_unref(w);
}

/* /nicks of one conn waiting for the cluster at once: past it, busy. */
#define PLAIN_CLAIMS_MAX 4

static unsigned
nicks_waiting(const struct conn *c)
{
	unsigned n = 0;
	for (const struct conn_pager *p = c->pagers; p != NULL; p = p->next)
		n += p->fill == nick_wait_fill;
	return n;
}

/* 0 when the hub decides now (no cluster, a change of case, or what the
 * hub refuses anyway); 1 when the cluster was asked. */
static int
nick_claim(struct conn *c, const char *nick)
{
	struct cluster *cl = door_env(c)->cluster;
	if (cl == NULL || hub_nick_available(hub_of(c), nick, c->user) != HUB_OK ||
	    hub_user_find(hub_of(c), nick) == c->user)
		return 0;
	if (nicks_waiting(c) >= PLAIN_CLAIMS_MAX) {
		plain_err(c, PLAIN_ERR_BUSY);
		return 1;
	}
	struct nick_wait *w = calloc(1, sizeof *w);
	if (w == NULL) {
		plain_err(c, PLAIN_ERR_NOMEM);
		return 1;
	}
	*w = (struct nick_wait){ .conn = c, .cl = cl, .owner = c->id, .refs = 2 };
	snprintf(w->nick, sizeof w->nick, "%s", nick);
	enum cluster_claim r = cluster_claim(cl, nick, c->id, nick_done, w);
	if (r != CLUSTER_CLAIM_PENDING) {
		w->refs = 1;
		nick_answer(w, r);
		nick_error(c, w);
		free(w);
		return 1;
	}
	w->base.fill = nick_wait_fill;
	w->base.free = nick_wait_free;
	w->base.parked = 1;
	/* The lines behind the /nick wait for its answer: "hi" sent right
	 * after goes out under the new name. */
	w->held = conn_hold(c) == 0;
	conn_page(c, &w->base);
	return 1;
}

static void
cmd_nick(struct conn *c, char *args)
{
	char *nick = text_word(&args);
	if (nick == NULL) {
		conn_sendf(c, "-- you are %s; /nick NAME changes it\n", c->user->nick);
		return;
	}
	if (!nick_claim(c, nick))
		hub_error(c, hub_nick(hub_of(c), c->user, nick), nick);
}

static void
join_room(struct conn *c, const char *name, const char *key)
{
	enum hub_status st = hub_join_key(hub_of(c), c->user, name, key);
	struct room *room = hub_current_room(c->user);
	if (st == HUB_EALREADY)
		conn_sendf(c, "-- now talking in %s\n", room->name);
	else if (st == HUB_OK) {
		topic_line(c, room);
		plain_history_replay(c, room);
	}
	else
		hub_error(c, st, name);
}

static void
cmd_join(struct conn *c, char *args)
{
	char *typed = text_word(&args);
	char *key = text_word(&args);
	if (typed == NULL) {
		usage(c, "join");
		return;
	}
	char name[ROOM_LEN_MAX + 1];
	if (name_room_from_input(name, typed, door_cfg(c)->channel_len) < 0) {
		hub_error(c, HUB_EBADROOM, typed);
		return;
	}
	join_room(c, name, key);
}

/* For commands whose room is optional ("/part [ROOM] [REASON]"): a first
 * word starting with '#' is the room, else the current room is meant.
 * Advances *args past the room; NULL (the error sent) when there is none. */
static struct room *
leading_room(struct conn *c, char **args)
{
	while (**args == ' ')
		(*args)++;
	if (**args == '#')
		return room_arg(c, text_word(args), 1);
	return current_room(c);
}

void
plain_register_room(struct conn *c, const char *typed)
{
	struct room *room = room_arg(c, typed, 1);
	if (room == NULL)
		return;
	enum hub_status st = hub_room_register(hub_of(c), c->user, room);
	if (st == HUB_EALREADY) {
		plain_err(c, PLAIN_ERR_ROOM_REGISTERED, room->name, room->reg->founder);
		return;
	}
	if (st != HUB_OK) {
		hub_error(c, st, room->name);
		return;
	}
	/* Saved with the events around it; if the batch is full, with the
	 * room's next change. */
	(void)rooms_save(door_env(c)->store, room);
	conn_sendf(c, "-- %s is registered to %s\n", room->name, room->reg->founder);
}

/* "/part #room reason", "/part reason" or "/part". */
static void
cmd_part(struct conn *c, char *args)
{
	struct room *room = leading_room(c, &args);
	if (room == NULL)
		return;
	const char *reason = text_rest(&args);
	struct room *was_current = hub_current_room(c->user);
	char name[ROOM_LEN_MAX + 1];
	memcpy(name, room->name, sizeof name);
	enum hub_status st = hub_part(hub_of(c), c->user, room, reason);
	if (st != HUB_OK) {
		hub_error(c, st, name);
		return;
	}
	struct room *now = hub_current_room(c->user);
	if (was_current == room && now != NULL)
		conn_sendf(c, "-- now talking in %s\n", now->name);
}

static void
cmd_msg(struct conn *c, char *args)
{
	char *nick = text_word(&args);
	char *text = text_rest(&args);
	if (nick == NULL || text == NULL) {
		usage(c, "msg");
		return;
	}
	struct user *to;
	enum hub_status st = hub_private(hub_of(c), c->user, nick, MSG_SAY, text, NULL, &to, NULL);
	if (st == HUB_OK)
		conn_sendf(c, "-> *%s* %s\n", to->nick, text);
	else
		hub_error(c, st, nick);
}

static void
cmd_me(struct conn *c, char *args)
{
	char *text = text_rest(&args);
	if (text == NULL) {
		usage(c, "me");
		return;
	}
	say(c, MSG_ACTION, text);
}

/* /who and /rooms: replies made as the client takes them, so that the
 * users of a room of thousands, or thousands of rooms, never cost the
 * asker its connection. Each ends with its count. */
struct list_pager {
	struct conn_pager base;
	struct hub_cursor cur;
	unsigned shown;
	char room[ROOM_LEN_MAX + 1];  /* /who's room; "" for /rooms */
	size_t len;                   /* of the /who line being filled */
	char line[PLAIN_WHO_LINE + NICK_LEN_MAX + 2];
};

static void
who_emit(struct conn *c, struct list_pager *p)
{
	conn_sendf(c, "-- %s users: %.*s\n", p->room, (int)p->len, p->line);
	p->len = 0;
}

static int
who_fill(struct conn *c, struct conn_pager *base)
{
	struct list_pager *p = (struct list_pager *)base;
	struct room *room = hub_room_find(hub_of(c), p->room);
	for (;;) {
		if (conn_page_full(c))
			return 1;
		const struct member *m = room ? hub_cursor_member(room, &p->cur) : NULL;
		if (m == NULL)
			break;
		if (!hub_member_visible(c->user, room, m->user))
			continue;
		p->shown++;
		size_t n = strlen(m->user->nick);
		if (p->len > 0 && p->len + 1 + n > PLAIN_WHO_LINE)
			who_emit(c, p);
		if (p->len > 0)
			p->line[p->len++] = ' ';
		memcpy(p->line + p->len, m->user->nick, n);
		p->len += n;
	}
	if (p->len > 0)
		who_emit(c, p);
	conn_sendf(c, "-- %s: %u user%s\n", p->room, p->shown, p->shown == 1 ? "" : "s");
	return 0;
}

static int
rooms_fill(struct conn *c, struct conn_pager *base)
{
	struct list_pager *p = (struct list_pager *)base;
	for (;;) {
		if (conn_page_full(c))
			return 1;
		struct room *r = hub_cursor_room(hub_of(c), &p->cur);
		if (r == NULL)
			break;
		if (!hub_room_visible(c->user, r))
			continue;
		p->shown++;
		const char *s = r->nmembers == 1 ? "" : "s";
		char *copy;
		const char *topic = plain_shown(r->topic, 0, &copy);
		if (topic != NULL)
			conn_sendf(c, "-- %s: %u user%s: %s\n", r->name, r->nmembers, s, topic);
		else
			conn_sendf(c, "-- %s: %u user%s\n", r->name, r->nmembers, s);
		free(copy);
	}
	conn_sendf(c, "-- %u room%s\n", p->shown, p->shown == 1 ? "" : "s");
	return 0;
}

static void
list_free(struct conn_pager *p)
{
	free(p);
}

static void
list_page(struct conn *c, const struct room *room)
{
	struct list_pager *p = calloc(1, sizeof *p);
	if (p == NULL) {
		plain_err(c, PLAIN_ERR_NOMEM);
		return;
	}
	if (room != NULL)
		snprintf(p->room, sizeof p->room, "%s", room->name);
	p->base.fill = room != NULL ? who_fill : rooms_fill;
	p->base.free = list_free;
	conn_page(c, &p->base);
}

static void
cmd_who(struct conn *c, char *args)
{
	char *typed = text_word(&args);
	struct room *room = typed ? room_arg(c, typed, 1) : current_room(c);
	if (room != NULL)
		list_page(c, room);
}

static void
cmd_rooms(struct conn *c, char *args)
{
	(void)args;
	list_page(c, NULL);
}

/* "/topic", "/topic #room", "/topic TEXT", "/topic #room TEXT"; TEXT "-"
 * clears it. */
static void
cmd_topic(struct conn *c, char *args)
{
	struct room *room = leading_room(c, &args);
	if (room == NULL)
		return;
	char *text = text_rest(&args);
	if (text == NULL) {
		if (room->topic != NULL)
			topic_line(c, room);
		else
			conn_sendf(c, "-- %s has no topic\n", room->name);
		return;
	}
	if (strcmp(text, "-") == 0)
		text = NULL;
	hub_error(c, hub_topic(hub_of(c), c->user, room, text), room->name);
}

/* /history and /search: a room the user is in (no one else reads its
 * history: see door_history.h), the current one unless named. */
static struct room *
history_room(struct conn *c, char **args)
{
	struct room *room = leading_room(c, args);
	if (room != NULL && !hub_is_member(room, c->user)) {
		hub_error(c, HUB_ENOTIN, room->name);
		return NULL;
	}
	return room;
}

static void
history_error(struct conn *c, enum plain_history_status st)
{
	if (st == PH_OFF)
		plain_err(c, PLAIN_ERR_NO_HISTORY);
	else if (st == PH_BUSY)
		plain_err(c, PLAIN_ERR_BUSY);
	else if (st == PH_NOMEM)
		plain_err(c, PLAIN_ERR_NOMEM);
}

/* "/history [ROOM] [N]": N up to chathistory-max. */
#define PLAIN_HISTORY_DEFAULT 20

/* The room the user is in that "/history WORD" names without its '#'
 * ("/history rust" is #rust's when in it), or NULL. */
static struct room *
history_bare_room(struct conn *c, const char *word)
{
	char room[ROOM_LEN_MAX + 2];
	snprintf(room, sizeof room, "#%s", word);
	struct room *r = hub_room_find(hub_of(c), room);
	return r != NULL && hub_is_member(r, c->user) ? r : NULL;
}

static void
cmd_history(struct conn *c, char *args)
{
	char nick[NICK_LEN_MAX + 1] = "";
	struct room *room = NULL;
	size_t w = args != NULL ? strcspn(args + strspn(args, " "), " ") : 0;
	if (w > 0 && w <= NICK_LEN_MAX) {
		char *at = args + strspn(args, " ");
		memcpy(nick, at, w);
		nick[w] = '\0';
		if (nick[0] != '#' && name_nick_valid(nick, NICK_LEN_MAX)) {
			/* A word without '#': a room the user is in, else a nick. */
			args = at + w;
			if ((room = history_bare_room(c, nick)) != NULL)
				nick[0] = '\0';
		} else {
			nick[0] = '\0';
		}
	}
	if (room == NULL && nick[0] == '\0')
		room = history_room(c, &args);
	if (room == NULL && nick[0] == '\0')
		return;
	char *count = text_word(&args);
	unsigned long max = door_cfg(c)->chathistory_max, n = PLAIN_HISTORY_DEFAULT;
	if (count != NULL) {
		char *end;
		n = strtoul(count, &end, 10);
		if (*end != '\0' || n == 0 || count[0] == '-' || text_word(&args) != NULL) {
			usage(c, "history");
			return;
		}
	}
	uint32_t limit = (uint32_t)(n < max ? n : max);
	if (nick[0] != '\0')
		history_error(c, plain_history_private(c, nick, limit));
	else
		history_error(c, plain_history_ask(c, room, limit, NULL));
}

/* "/search [ROOM] TEXT". */
static void
cmd_search(struct conn *c, char *args)
{
	struct room *room = history_room(c, &args);
	if (room == NULL)
		return;
	const char *text = text_rest(&args);
	if (text == NULL) {
		usage(c, "search");
		return;
	}
	history_error(c, plain_history_ask(c, room, (uint32_t)door_cfg(c)->chathistory_max,
	    text));
}

static void
cmd_ping(struct conn *c, char *args)
{
	char *text = text_rest(&args);
	conn_sendf(c, "-- pong%s%s\n", text ? " " : "", text ? text : "");
}

static void
cmd_quit(struct conn *c, char *args)
{
	char *reason = text_rest(&args);
	conn_sendf(c, "-- goodbye\n");
	conn_close(c, reason ? reason : "Quit", CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_QUIT);
}

static void
cmd_pass(struct conn *c, char *args)
{
	(void)args;
	plain_err(c, PLAIN_ERR_PASS_AGAIN);
}

static void cmd_help(struct conn *c, char *args);

static const struct command {
	const char *name;
	void (*fn)(struct conn *c, char *args);
	const char *usage;
	const char *help;
} commands[] = {
	{ "nick", cmd_nick, "/nick NAME", "change your nickname" },
	{ "join", cmd_join, "/join ROOM [KEY]", "join a room and talk there" },
	{ "part", cmd_part, "/part [ROOM] [REASON]", "leave a room (default: the current one)" },
	{ "msg", cmd_msg, "/msg NICK TEXT", "send a private message" },
	{ "me", cmd_me, "/me TEXT", "act in the current room" },
	{ "who", cmd_who, "/who [ROOM]", "list who is in a room" },
	{ "rooms", cmd_rooms, "/rooms", "list the rooms" },
	{ "topic", cmd_topic, "/topic [ROOM] [TEXT]", "show or set a room's topic (- clears it)" },
	{ "history", cmd_history, "/history [ROOM|NICK] [N]", "the last N messages (default 20)" },
	{ "search", cmd_search, "/search [ROOM] TEXT", "the room's messages with these words" },
	{ "register", plain_register, "/register PASSWORD|#ROOM", "register your nickname (or a room)" },
	{ "login", plain_login, "/login NAME PASSWORD", "log in to your account" },
	{ "logout", plain_logout, "/logout", "log out of your account" },
	{ "passwd", plain_passwd, "/passwd OLD NEW", "change your account's password" },
	{ "ping", cmd_ping, "/ping [TEXT]", "the server answers pong" },
	{ "quit", cmd_quit, "/quit [REASON]", "leave the server" },
	{ "pass", cmd_pass, "/pass PASSWORD", "the server's password, first, when it asks" },
	{ "help", cmd_help, "/help", "this list" },
};

static void
cmd_help(struct conn *c, char *args)
{
	(void)args;
	conn_sendf(c, "-- a line not starting with / goes to your current room; //text sends /text\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		conn_sendf(c, "-- %-22s %s\n", commands[i].usage, commands[i].help);
}

/* "!! usage: " and how the command is used. */
static void
usage(struct conn *c, const char *command)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, command) == 0)
			plain_err(c, PLAIN_ERR_USAGE, commands[i].usage);
}

static void
run_command(struct conn *c, const char *name, char *args)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcasecmp(name, commands[i].name) == 0) {
			commands[i].fn(c, args);
			return;
		}
	}
	plain_err(c, PLAIN_ERR_UNKNOWN_COMMAND, name);
}

/* The door. */

/* Into the chat: a user with a guest nickname, in the first room. */
static void
plain_enter(struct conn *c)
{
	c->user = hub_user_new(hub_of(c), &plain_user_ops, c, PLAIN_IDENT, c->host,
	    PLAIN_REALNAME);
	if (c->user == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	c->user->secure = (uint8_t)conn_secure(c);
	conn_sendf(c, "-- you are %s; change it with /nick NAME\n", c->user->nick);
	conn_sendf(c, "-- type /help for commands\n");
	join_room(c, PLAIN_FIRST_ROOM, NULL);
}

static void
plain_open(struct conn *c)
{
	const struct config *cfg = door_cfg(c);
	conn_sendf(c, "-- welcome to %s (parley %s)\n", cfg->server_name, PARLEY_VERSION);
	if (cfg->password != NULL)
		conn_sendf(c, "-- this server needs a password: /pass PASSWORD\n");
	else
		plain_enter(c);
}

/* Before the password: only /pass and /quit. Nobody sees the connection
 * (it has no user) until the password is right; a wrong one ends it, as
 * on the IRC door. */
static void
before_password(struct conn *c, const struct plain_input *in)
{
	if (in->kind == PLAIN_COMMAND && strcasecmp(in->name, "quit") == 0) {
		cmd_quit(c, in->args);
		return;
	}
	if (in->kind != PLAIN_COMMAND || strcasecmp(in->name, "pass") != 0) {
		if (in->kind != PLAIN_EMPTY)
			plain_err(c, PLAIN_ERR_PASSWORD_REQUIRED);
		return;
	}
	char *args = in->args;
	const char *given = text_rest(&args);
	if (given == NULL) {
		usage(c, "pass");
		return;
	}
	if (!config_password_ok(door_cfg(c), given)) {
		plain_err(c, PLAIN_ERR_BAD_PASSWORD);
		conn_close(c, "Bad password", CONN_CLOSE_AFTER_FLUSH);
		return;
	}
	plain_enter(c);
}

static void
plain_line(struct conn *c, char *line, size_t len)
{
	if (!c->spoke && door_foreign_line(line, len)) {
		/* Nothing of it is said: not the request, nor what follows. */
		plain_err(c, PLAIN_ERR_WRONG_PROTOCOL);
		conn_close(c, "Not plain text", CONN_CLOSE_AFTER_FLUSH);
		return;
	}
	if (c->user != NULL)
		c->user->last_active = clock_now_ms();  /* WHOIS idle */
	char small[PLAIN_LINE_ON_STACK];
	size_t need = TEXT_CLEAN_MAX(len) + 1;
	char *text = need <= sizeof small ? small : malloc(need);
	if (text == NULL) {
		plain_err(c, PLAIN_ERR_LINE_NOMEM);
		return;
	}
	text_clean(text, line, len);
	struct plain_input in;
	plain_parse(text, &in);
	if (c->user == NULL)
		before_password(c, &in);
	else
		switch (in.kind) {
		case PLAIN_EMPTY:
			break;
		case PLAIN_SAY:
			say(c, MSG_SAY, in.text);
			break;
		case PLAIN_COMMAND:
			run_command(c, in.name, in.args);
			break;
		case PLAIN_NOCOMMAND:
			plain_err(c, PLAIN_ERR_LONE_SLASH);
			break;
		}
	if (text != small)
		free(text);
}

static void
plain_overlong(struct conn *c)
{
	plain_err(c, PLAIN_ERR_LINE_TOO_LONG, door_cfg(c)->max_line);
}

static void
plain_closed(struct conn *c, const char *reason)
{
	if (c->user != NULL)
		hub_user_quit(hub_of(c), c->user, reason);
}

static void
plain_shutdown(struct conn *c)
{
	conn_sendf(c, "-- server shutting down\n");
}

static void
plain_farewell(struct conn *c, const char *reason)
{
	conn_sendf(c, "-- disconnected: %s\n", reason);
}

static int
plain_refuse(char *buf, size_t cap, const char *host, const char *why)
{
	(void)host;
	char text[PLAIN_REFUSAL_MAX];
	snprintf(text, sizeof text, PLAIN_ERR_FMT(PLAIN_ERR_SERVER_FULL), why);
	return snprintf(buf, cap, PLAIN_ERROR_LINE, PLAIN_ERR_CODE(PLAIN_ERR_SERVER_FULL), text);
}

const struct door plain_door = {
	.name = "plain",
	.conn = {
		.stats_slot = DOOR_SLOT_PLAIN,
		.flood_control = 1,
		.sendq_bound = 1,
		.open = plain_open,
		.line = plain_line,
		.overlong = plain_overlong,
		.closed = plain_closed,
		.shutdown = plain_shutdown,
		.farewell = plain_farewell,
		.refuse = plain_refuse,
		.who = door_who,
	},
};
