/* libFuzzer: the whole server, stateful. A real server (server_init with
 * no listener) gets up to CLIENTS_MAX clients on every door: plain, IRC,
 * and IRC over WebSocket (text and binary, through the HTTP door's real
 * upgrade). Each conn writes into a pipe whose other end is the client,
 * so its output takes the real path (sendq, writev, WebSocket framing)
 * and is read back; input goes straight to the door's line handler, as
 * the framer would hand it over (flood control aside).
 *
 * The input is a script. Its first byte picks a configuration; then each
 * step is a connect, a line from a client, a hang-up, an error, a stall
 * (the client stops reading, so its sendq fills and it is dropped in the
 * middle of a fan-out) and so on. A line is a command word of its door
 * then argument tokens: words from a small dictionary (rooms, nicks,
 * modes, masks), the nick of another client, raw bytes, a byte repeated
 * up to thousands of times, UTF-8 fragments good and bad, controls.
 *
 * After every step, once everything queued has been written and read,
 * what the clients got and what the hub holds are checked:
 * - IRC: CR LF lines, each at most 512 bytes after its tags (at most
 *   8191), no NUL, CR or LF inside; over WebSocket, final unmasked frames
 *   of one such line each, of the negotiated type, nothing after a close;
 * - plain: LF lines; and everything valid UTF-8, as the README promises;
 * - nothing is left queued for a client that reads (no conn forgot to
 *   wait for its socket);
 * - the hub: its counts (users, rooms, opers, invisible) match what it
 *   holds, every user's room list and every room's member list agree,
 *   names are stored folded as their keys, every user belongs to a live
 *   conn of ours and every registered conn's user is in the hub;
 * - the hub's one exit: an observer sees every event once, in the order
 *   made (msgids grow), with an audience that fits it; and a second hub
 *   that applies each event it sees (hub_apply), as another node would
 *   hear it (through the cluster codec), holds the same users and rooms
 *   as the server's.
 * Teardown frees everything (LeakSanitizer). */
#include <assert.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "chat/hub.h"
#include "chat/msgid.h"
#include "cluster/codec.h"
#include "doors/door.h"
#include "doors/irc/irc_parse.h"
#include "net/conn.h"
#include "net/transport.h"
#include "net/ws.h"
#include "server/server.h"

#include "../unit/hub_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CLIENTS_MAX 8
#define STEPS_MAX 256
/* IRCv3 message-tags: what a server may put before a message. */
#define TAGS_SERVER_MAX 8191
/* Small pipes: writes are cut short, and a client that stops reading
 * fills its sendq soon. */
#define PIPE_BYTES 4096
/* A line being built: past the door's max-line it is overlong anyway. */
#define LINE_CAP (1 << 16)

/* The script. */

struct script {
	const uint8_t *p;
	size_t n;
};

static uint8_t
next(struct script *s)
{
	if (s->n == 0)
		return 0;
	s->n--;
	return *s->p++;
}

/* Clients. */

enum kind { K_PLAIN, K_IRC, K_WS_TEXT, K_WS_BINARY };

struct client {
	int used;
	enum kind kind;
	struct conn *c;     /* NULL once the server has destroyed it */
	int rfd;            /* the client's end of the pipe */
	int stalled;        /* not reading */
	int head_done;      /* WebSocket: the 101's head has been read */
	int close_seen;     /* WebSocket: a close frame came */
	char *in;           /* read, not yet checked */
	size_t inlen, incap;
};

static struct server srv;
/* What the server's hub emits, applied (hub_apply): it must end up the
 * same. */
static struct hub shadow;
static char last_msgid[MSGID_LEN + 1];
static struct config cfg;
static struct client clients[CLIENTS_MAX];
static unsigned nick_seq;
/* FUZZ_SERVER_TRACE=1: what each step did and what each client got, on
 * stderr, to read a crash's script. */
static int trace;
/* FUZZ_SERVER_NO_OUTPUT=1: what clients get is not checked, to look past
 * a known finding for crashes. */
static int no_output_checks;

static void
trace_bytes(const char *what, int who, const char *p, size_t n)
{
	if (!trace)
		return;
	fprintf(stderr, "%s %d (%zu): \"", what, who, n);
	for (size_t i = 0; i < n && i < 600; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"')
			fputc(ch, stderr);
		else
			fprintf(stderr, "\\x%02x", ch);
	}
	fprintf(stderr, "%s\"\n", n > 600 ? "..." : "");
}

/* Checking what a client got. */

static void
check_irc_line(const char *p, size_t n)
{
	if (no_output_checks)
		return;
	/* Valid UTF-8, no NUL, no CR; no LF either, in one line. */
	assert(text_is_clean(p, n));
	assert(memchr(p, '\n', n) == NULL);
	const char *body = p;
	if (n > 0 && p[0] == '@') {
		const char *sp = memchr(p, ' ', n);
		assert(sp != NULL);
		assert((size_t)(sp - p) + 1 <= TAGS_SERVER_MAX);
		body = sp + 1;
	}
	size_t bn = n - (size_t)(body - p);
	assert(bn > 0 && body[0] != ' ');
	assert(bn + 2 <= IRC_LINE_MAX);
}

static void
check_plain_line(const char *p, size_t n)
{
	if (no_output_checks)
		return;
	assert(text_is_clean(p, n));
}

/* Checks the whole lines (or frames) of cl->in and drops them. */
static void
check_input(struct client *cl)
{
	size_t at = 0;
	if (cl->kind == K_PLAIN || cl->kind == K_IRC) {
		for (;;) {
			char *lf = memchr(cl->in + at, '\n', cl->inlen - at);
			if (lf == NULL)
				break;
			size_t n = (size_t)(lf - (cl->in + at));
			if (cl->kind == K_IRC) {
				assert(n > 0 && cl->in[at + n - 1] == '\r');
				check_irc_line(cl->in + at, n - 1);
			} else
				check_plain_line(cl->in + at, n);
			at += n + 1;
		}
	} else {
		if (!cl->head_done) {
			char *end = memmem(cl->in, cl->inlen, "\r\n\r\n", 4);
			if (end == NULL)
				return;
			assert(strncmp(cl->in, "HTTP/1.1 101 ", 13) == 0);
			at = (size_t)(end - cl->in) + 4;
			cl->head_done = 1;
		}
		for (;;) {
			const uint8_t *h = (const uint8_t *)cl->in + at;
			size_t have = cl->inlen - at;
			if (have < 2)
				break;
			assert(!cl->close_seen);
			/* Final, no extension bits, unmasked. */
			assert((h[0] & 0xF0) == 0x80);
			assert((h[1] & 0x80) == 0);
			unsigned op = h[0] & 0x0F;
			uint64_t len = h[1] & 0x7F;
			size_t hn = 2;
			if (len == 126) {
				if (have < 4)
					break;
				len = (uint64_t)h[2] << 8 | h[3];
				hn = 4;
				assert(len >= 126);
			} else if (len == 127) {
				if (have < 10)
					break;
				len = 0;
				for (int i = 2; i < 10; i++)
					len = len << 8 | h[i];
				hn = 10;
				assert(len > 0xFFFF);
			}
			if (have - hn < len)
				break;
			const char *pl = (const char *)h + hn;
			if (op == WS_CLOSE) {
				assert(len == 0 || len >= 2);
				cl->close_seen = 1;
			} else {
				assert(op == (cl->kind == K_WS_TEXT ? WS_TEXT : WS_BINARY));
				check_irc_line(pl, (size_t)len);
			}
			at += hn + (size_t)len;
		}
	}
	memmove(cl->in, cl->in + at, cl->inlen - at);
	cl->inlen -= at;
}

/* Reads what the pipe holds; 1 when something came. */
static int
client_read(struct client *cl)
{
	int got = 0;
	for (;;) {
		if (cl->incap - cl->inlen < 4096) {
			cl->incap = cl->incap ? cl->incap * 2 : 16384;
			cl->in = realloc(cl->in, cl->incap);
			assert(cl->in != NULL);
		}
		ssize_t n = read(cl->rfd, cl->in + cl->inlen, cl->incap - cl->inlen);
		if (n <= 0)
			break;
		trace_bytes("  got", (int)(cl - clients), cl->in + cl->inlen, (size_t)n);
		cl->inlen += (size_t)n;
		got = 1;
	}
	if (got)
		check_input(cl);
	return got;
}

/* Whether the server has closed (and freed) the conn: its end of the
 * pipe is closed, which the client sees as a hang-up. */
static int
client_hung_up(const struct client *cl)
{
	struct pollfd pfd = { .fd = cl->rfd, .events = POLLIN };
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP);
}

static void
client_free(struct client *cl)
{
	close(cl->rfd);
	free(cl->in);
	memset(cl, 0, sizeof *cl);
}

/* What the loop would do until nothing more happens: flush and reap,
 * the clients read (but the stalled), the conns that wait to write are
 * told they may (the pipe has room again). */
static void
settle(void)
{
	for (;;) {
		server_settle(&srv);
		int progress = 0;
		for (int i = 0; i < CLIENTS_MAX; i++) {
			struct client *cl = &clients[i];
			if (!cl->used)
				continue;
			if (cl->c != NULL && client_hung_up(cl))
				cl->c = NULL;
			if (!cl->stalled || cl->c == NULL)
				progress |= client_read(cl);
			/* Gone: what came last may be cut (a conn killed with
			 * output queued), so the rest is not checked. */
			if (cl->c == NULL)
				client_free(cl);
		}
		for (int i = 0; i < CLIENTS_MAX; i++) {
			struct client *cl = &clients[i];
			if (cl->used && !cl->stalled && (cl->c->io.mask & LOOP_WRITE))
				conn_flush(cl->c);
		}
		if (!progress && !conn_set_busy(&srv.conns))
			break;
	}
	/* Nothing is left behind for a client that reads: no output the
	 * conn forgot to wait for the socket to write. */
	for (int i = 0; i < CLIENTS_MAX; i++) {
		struct client *cl = &clients[i];
		if (!cl->used || cl->stalled)
			continue;
		assert(cl->c->out.count == 0);
		assert(cl->c->tp == NULL || !transport_unsent(cl->c->tp));
	}
}

/* Checking the hub. */

static struct client *
client_of(const struct conn *c)
{
	for (int i = 0; i < CLIENTS_MAX; i++)
		if (clients[i].used && clients[i].c == c)
			return &clients[i];
	return NULL;
}

static void
check_hub(void)
{
	struct hub *hub = &srv.hub;
	char key[ROOM_LEN_MAX + NICK_LEN_MAX + 1];
	uint32_t nusers = 0, nopers = 0, ninvisible = 0, nrooms = 0;
	size_t memberships = 0, members = 0, masks = 0, watching = 0;
	for (struct user *u = hub->users; u != NULL; u = u->hh.next) {
		nusers++;
		nopers += (u->umodes & UMODE_OPER) != 0;
		ninvisible += (u->umodes & UMODE_INVISIBLE) != 0;
		name_fold(key, u->nick);
		assert(strcmp(key, u->key) == 0);
		struct user *found;
		HASH_FIND_STR(hub->users, u->key, found);
		assert(found == u);
		/* Every user is a live, open conn's, and that conn's user. */
		struct conn *c = u->door;
		assert(!u->remote && u->ops != &hub_remote_ops);
		assert(client_of(c) != NULL);
		assert(strlen(u->host) <= USER_HOST_MAX && strlen(u->addr) <= USER_HOST_MAX);
		assert(u->vhost || strcmp(u->host, u->addr) == 0);
		assert(c->user == u && c->state == CONN_OPEN);
		assert(u->nrooms <= HUB_ROOMS_PER_USER && u->nrooms <= u->caprooms);
		/* What a user holds is bounded, and what others see of it is
		 * valid UTF-8. */
		assert(strlen(u->realname) <= USER_REALNAME_MAX);
		assert(text_is_clean(u->realname, strlen(u->realname)));
		assert(u->away == NULL || (strlen(u->away) <= HUB_AWAY_MAX &&
		    text_is_clean(u->away, strlen(u->away))));
		assert(u->ninvites <= HUB_INVITES_PER_USER);
		assert(u->nwatching <= HUB_MONITOR_PER_USER);
		watching += u->nwatching;
		assert(u->nmade <= HUB_ROOMS_MADE_PER_USER);
		for (int i = 0; i < u->nmade; i++) {
			struct room *r;
			HASH_FIND_STR(hub->rooms, u->made[i]->key, r);
			assert(r == u->made[i] && r->maker == u);
		}
		for (int i = 0; i < u->nrooms; i++) {
			struct room *r = u->rooms[i], *rf;
			HASH_FIND_STR(hub->rooms, r->key, rf);
			assert(rf == r);
			assert(hub_member(r, u) != NULL);
			for (int j = 0; j < i; j++)
				assert(u->rooms[j] != r);
		}
		memberships += u->nrooms;
	}
	for (struct room *r = hub->rooms; r != NULL; r = r->hh.next) {
		nrooms++;
		name_fold(key, r->name);
		assert(strcmp(key, r->key) == 0);
		assert(r->nmembers > 0 && r->nmembers <= r->capmembers);
		uint32_t nmasks = r->nbans + r->nexcepts + r->ninvexes;
		assert(nmasks <= HUB_MASKS_PER_ROOM);
		masks += nmasks;
		const struct ban *lists[] = { r->bans, r->excepts, r->invexes };
		const uint32_t counts[] = { r->nbans, r->nexcepts, r->ninvexes };
		for (int k = 0; k < 3; k++)
			for (uint32_t i = 0; i < counts[k]; i++)
				assert(strlen(lists[k][i].mask) <= HUB_LIST_MASK_MAX);
		assert(r->topic == NULL || (strlen(r->topic) <= hub->topic_len &&
		    strlen(r->topic) <= HUB_TOPIC_MAX && text_is_clean(r->topic, strlen(r->topic))));
		assert(r->password == NULL || strlen(r->password) <= HUB_KEY_MAX);
		assert(r->maker == NULL || hub_user_find(hub, r->maker->nick) == r->maker);
		for (uint32_t i = 0; i < r->nmembers; i++) {
			struct user *u = r->members[i].user, *uf;
			HASH_FIND_STR(hub->users, u->key, uf);
			assert(uf == u);
			int in = 0;
			for (int j = 0; j < u->nrooms; j++)
				in += u->rooms[j] == r;
			assert(in == 1);
			for (uint32_t j = 0; j < i; j++)
				assert(r->members[j].user != u);
		}
		members += r->nmembers;
	}
	assert(nusers == hub->nusers && nusers == HASH_COUNT(hub->users));
	assert(nrooms == hub->nrooms && nrooms == HASH_COUNT(hub->rooms));
	assert(nopers == hub->nopers);
	assert(ninvisible == hub->ninvisible);
	assert(hub->max_users >= hub->nusers);
	assert(memberships == members);
	assert(masks == hub->nmasks && masks <= HUB_MASKS_TOTAL);
	assert(watching == hub->nwatch_links && watching <= HUB_MONITOR_TOTAL);
	assert(hub->max_rooms == 0 || nrooms <= hub->max_rooms);
	/* Every open, registered conn's user is in the hub. */
	for (int i = 0; i < CLIENTS_MAX; i++) {
		struct client *cl = &clients[i];
		if (!cl->used || cl->c == NULL || cl->c->user == NULL)
			continue;
		struct user *found;
		HASH_FIND_STR(hub->users, cl->c->user->key, found);
		assert(found == cl->c->user);
	}
}

/* An event's bytes, as the cluster sends them (reused). */
static struct buf cluster_buf;

/* The observer: each event once, in order, with an audience that fits
 * it; and the shadow hub applies it. */
static void
observe(void *ctx, struct msg *m, const struct audience *to)
{
	(void)ctx;
	assert(strlen(m->id) == MSGID_LEN && strcmp(m->id, last_msgid) > 0);
	memcpy(last_msgid, m->id, sizeof last_msgid);
	switch (to->shape) {
	case AUD_ROOM:
		assert(m->room != NULL && strcmp(m->room, to->room->name) == 0);
		break;
	case AUD_NEIGHBOURS:
		assert(m->room == NULL && to->user != NULL);
		break;
	case AUD_USER:
		assert(m->room == NULL && m->target != NULL && to->user != NULL);
		break;
	case AUD_INVITE:
		assert(m->kind == MSG_INVITE && to->room != NULL && to->user != NULL);
		break;
	case AUD_NOBODY:
		assert(m->kind == MSG_CONNECT || m->kind == MSG_UMODE ||
		    m->kind == MSG_REGISTER || m->kind == MSG_UNREGISTER);
		break;
	}
	/* The shadow hears it as another node would: through the cluster's
	 * codec, which must take every event the server makes. */
	struct cluster_event ev = { .node = 1, .msg = m }, heard;
	cluster_buf.len = 0;
	if (cluster_encode(&ev, &cluster_buf) < 0 ||
	    cluster_decode(cluster_buf.data, cluster_buf.len, &heard) < 0) {
		fprintf(stderr, "the cluster codec refused kind %d from %s\n", (int)m->kind,
		    m->from);
		abort();
	}
	enum hub_status st = hub_apply(&shadow, heard.msg);
	cluster_event_clear(&heard);
	if (st != HUB_OK) {
		fprintf(stderr, "hub_apply of kind %d from %s: status %d\n", (int)m->kind,
		    m->from, (int)st);
		abort();
	}
}

static void
check_shadow(void)
{
	char why[256];
	if (!hub_same(&srv.hub, &shadow, why, sizeof why)) {
		fprintf(stderr, "the hub and the one that applied its events differ: %s\n", why);
		abort();
	}
}

/* Driving a client. */

/* One line to the conn's door, as the framer hands it over: over its
 * max-line, the door hears only that it was too long. */
static void
send_line(struct client *cl, const char *line, size_t len)
{
	struct conn *c = cl->c;
	if (c == NULL || c->state != CONN_OPEN)
		return;
	conn_set_touched(&srv.conns, c);
	size_t max = c->door->max_line ? c->door->max_line : cfg.max_line;
	if (len > max) {
		trace_bytes("overlong", (int)(cl - clients), line, 40);
		c->door->overlong(c);
		return;
	}
	trace_bytes("line", (int)(cl - clients), line, len);
	static char buf[LINE_CAP + 1];
	memcpy(buf, line, len);
	buf[len] = '\0';
	c->door->line(c, buf, len);
}

static void
send_str(struct client *cl, const char *s)
{
	send_line(cl, s, strlen(s));
}

static const char *const cap_sets[] = {
	"message-tags", "server-time", "echo-message", "labeled-response batch",
	"extended-join multi-prefix userhost-in-names no-implicit-names",
	"away-notify invite-notify setname chghost extended-monitor",
	"draft/multiline draft/message-redaction standard-replies", "draft/bogus",
};

/* Registers an IRC client with the caps whose bits are set, and joins
 * #lobby, where plain users start; flags bit 0: leaves it unregistered
 * (for the script to finish), bit 1: joins nothing. */
static void
irc_register(struct client *cl, uint8_t caps_on, uint8_t flags)
{
	char line[512];
	if (cfg.password != NULL)
		send_str(cl, "PASS secret");
	if (caps_on) {
		send_str(cl, "CAP LS 302");
		char caps[400] = "";
		for (int b = 0; b < 8; b++)
			if (caps_on & (1 << b)) {
				strcat(caps, caps[0] ? " " : "");
				strcat(caps, cap_sets[b]);
			}
		snprintf(line, sizeof line, "CAP REQ :%s", caps);
		send_str(cl, line);
	}
	if (flags & 1)
		return;
	snprintf(line, sizeof line, "NICK u%u", ++nick_seq);
	send_str(cl, line);
	send_str(cl, "USER u 0 * :a fuzzed user");
	if (caps_on)
		send_str(cl, "CAP END");
	if (!(flags & 2))
		send_str(cl, "JOIN #lobby");
}

static const char *const hosts[] = { "127.0.0.1", "0::1", "203.0.113.7", "2001:db8::1" };

static void
client_connect(enum kind kind, struct script *s)
{
	uint8_t flags = next(s);
	uint8_t caps_on = kind == K_PLAIN ? 0 : next(s);
	struct client *cl = NULL;
	for (int i = 0; i < CLIENTS_MAX && cl == NULL; i++)
		if (!clients[i].used)
			cl = &clients[i];
	if (cl == NULL)
		return;
	int fds[2];
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return;
	fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES);
	const struct door *door = kind == K_PLAIN ? &plain_door :
	    kind == K_IRC ? &irc_door : &web_door;
	struct conn *c = conn_new(&srv.conns, fds[1], &door->conn, hosts[flags >> 6], 40000, NULL);
	if (c == NULL) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	memset(cl, 0, sizeof *cl);
	cl->used = 1;
	cl->kind = kind;
	cl->c = c;
	cl->rfd = fds[0];
	server_conn_add(&srv, c);
	conn_open(c);
	if (kind == K_WS_TEXT || kind == K_WS_BINARY) {
		send_str(cl, "GET /ws HTTP/1.1");
		send_str(cl, "Host: localhost");
		send_str(cl, "Upgrade: websocket");
		send_str(cl, "Connection: Upgrade");
		send_str(cl, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
		send_str(cl, "Sec-WebSocket-Version: 13");
		send_str(cl, kind == K_WS_TEXT ? "Sec-WebSocket-Protocol: text.ircv3.net" :
		    "Sec-WebSocket-Protocol: binary.ircv3.net");
		send_str(cl, "");
		/* A good handshake upgrades. */
		assert(c->state == CONN_OPEN && c->door == &irc_door.conn);
		assert(conn_websocket(c) == (kind == K_WS_BINARY ? WS_BINARY : WS_TEXT));
	}
	if (kind != K_PLAIN)
		irc_register(cl, caps_on, flags);
}

/* Lines. */

static const char *const plain_words[] = {
	"", "", "", "/nick ", "/join ", "/part ", "/msg ", "/me ", "/who ", "/rooms",
	"/topic ", "/ping ", "/quit ", "/help", "//", "/", "/JOIN ", "/pass ", "/bogus ",
	"/pass secret",
};

static const char *const irc_words[] = {
	"PRIVMSG ", "NOTICE ", "JOIN ", "PART ", "TOPIC ", "NAMES ", "LIST ", "KICK ",
	"INVITE ", "MODE ", "WHO ", "WHOIS ", "WHOWAS ", "ISON ", "USERHOST ", "LUSERS",
	"MOTD", "VERSION", "TIME", "ADMIN", "INFO", "OPER ", "KILL ", "AWAY ", "SETNAME ",
	"TAGMSG ", "NICK ", "USER ", "PASS ", "PING ", "PONG ", "QUIT ", "CAP ",
	"@label=L1 PRIVMSG ", "@label=L2 WHO ", "@label=L3 NAMES ", "@label=L4 JOIN ",
	"@+typing=active;label=L5 TAGMSG ", "@+draft/reply=1 PRIVMSG ", ":x!y@z PRIVMSG ",
	"privmsg ", "BOGUS ", "", "MONITOR + ", "MONITOR - ", "MONITOR L", "MONITOR S",
	"MONITOR C", "REDACT ", "BATCH +m draft/multiline ", "@batch=m PRIVMSG ",
	"@batch=m;draft/multiline-concat PRIVMSG ", "BATCH -m", "CHGHOST ", "WHO * %tcuhnfdar,42 ",
};

/* Arguments: at most 64, the byte that picks one is below 0x40. */
static const char *const words[] = {
	"#lobby", "#a", "#A", "#b", "#a,#b", "#lobby,#a,#c", "#", "#\xc3\xa9t\xc3\xa9",
	"lobby", "&x", "0", "alice", "Bob", "u1", "u2", "NickServ",
	"*", "-", "9x", "+o", "-o", "+v", "+b", "-b",
	"b", "+k", "+l", "+i", "-i", "+s", "+m", "+imnst",
	"+ov", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "+e", "*!*@*", "u*!*@*", "*!plain@*", "1", "-1",
	"4294967296", "admin", "secret", "LS", "REQ", "END", "302", "message-tags",
	":echo-message server-time", ":", "\001ACTION", "\x01", "\x01VERSION\x01", "@",
	";", "\\", ":hello world", "+x", "+I", ":*", "-k", "+t",
};

static const char *const fragments[] = {
	"\xff", "\xc3\xa9", "\xe2\x82", "\xed\xa0\x80", "\xf0\x9f\x98\x80", "\xc0\xaf",
	"\x1b[31m", "\x1b]0;x\x07", "", "\r", "\t", "\x01", "\x7f", "\xc2\x85",
	"\xe2\x80\xae", "\x80", "\xf4\x90\x80\x80", "\xef\xbf\xbd", "\x02", "\0034,5",
	"\x0f", "\x1d", "\x1f", "\x16", "\x08", "\x0c", "\x0b", "\xe2\x80\xa8", " ", ",",
	":", "\x00x",
};

#define N(a) (sizeof (a) / sizeof (a)[0])

struct line {
	char *b;
	size_t n, max;     /* max: past it the line is overlong; stop there */
};

static void
put(struct line *l, const char *p, size_t n)
{
	for (size_t i = 0; i < n && l->n <= l->max; i++)
		if (p[i] != '\n')  /* the framer ends a line at LF */
			l->b[l->n++] = p[i];
}

/* A nickname to name: a client's, as the hub knows it. */
static const char *
nick_of(uint8_t k)
{
	for (int i = 0; i < CLIENTS_MAX; i++) {
		struct client *cl = &clients[(k + i) % CLIENTS_MAX];
		if (cl->used && cl->c != NULL && cl->c->user != NULL)
			return cl->c->user->nick;
	}
	return "nobody";
}

static void
build_line(struct script *s, struct line *l, int plain)
{
	uint8_t w = next(s);
	const char *cmd = plain ? plain_words[w % N(plain_words)] : irc_words[w % N(irc_words)];
	put(l, cmd, strlen(cmd));
	int first = 1;
	while (s->n > 0) {
		uint8_t t = next(s);
		if (t < 0x40) {
			if (!first)
				put(l, " ", 1);
			const char *word = words[t % N(words)];
			put(l, word, strlen(word));
		} else if (t < 0x60) {
			if (!first)
				put(l, " ", 1);
			const char *nick = nick_of(t);
			put(l, nick, strlen(nick));
		} else if (t < 0x70) {
			put(l, t & 1 ? " :" : " ", t & 1 ? 2 : 1);
		} else if (t < 0x90) {
			size_t n = (size_t)(t & 0x1F) + 1;
			if (n > s->n)
				n = s->n;
			put(l, (const char *)s->p, n);
			s->p += n;
			s->n -= n;
		} else if (t < 0xA0) {
			char ch = (char)next(s);
			size_t count = next(s);
			count |= (size_t)next(s) << 8;
			count %= 9000;
			for (size_t i = 0; i < count && l->n <= l->max; i++)
				put(l, &ch, 1);
		} else if (t < 0xE0) {
			const char *f = fragments[t % N(fragments)];
			/* "\x00x": the NUL is meant. */
			put(l, f, f[0] == '\0' && t % N(fragments) == N(fragments) - 1 ? 2 : strlen(f));
		} else
			break;
		first = 0;
	}
}

static struct client *
pick(struct script *s)
{
	uint8_t k = next(s);
	for (int i = 0; i < CLIENTS_MAX; i++) {
		struct client *cl = &clients[(k + i) % CLIENTS_MAX];
		if (cl->used && cl->c != NULL)
			return cl;
	}
	return NULL;
}

static void
step(struct script *s)
{
	uint8_t op = next(s);
	struct client *cl;
	if (trace)
		fprintf(stderr, "step %u\n", op % 16);
	switch (op % 16) {
	case 0:
		client_connect(K_PLAIN, s);
		break;
	case 1:
		client_connect(K_IRC, s);
		break;
	case 2:
		client_connect(op & 0x10 ? K_WS_BINARY : K_WS_TEXT, s);
		break;
	case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10:
		if ((cl = pick(s)) == NULL)
			break;
		static char buf[LINE_CAP + 2];
		struct line l = { buf, 0, 0 };
		struct conn *c = cl->c;
		l.max = c->door->max_line ? c->door->max_line : cfg.max_line;
		if (l.max > LINE_CAP)
			l.max = LINE_CAP;
		build_line(s, &l, cl->kind == K_PLAIN);
		send_line(cl, l.b, l.n);
		break;
	case 11:
		/* The client hangs up: EOF, its lines all handled. */
		if ((cl = pick(s)) != NULL && cl->c->state == CONN_OPEN)
			conn_close(cl->c, "Connection closed", CONN_CLOSE_AFTER_FLUSH);
		break;
	case 12:
		if ((cl = pick(s)) != NULL)
			conn_close(cl->c, "Connection reset by peer", CONN_CLOSE_NOW);
		break;
	case 13:
		if ((cl = pick(s)) != NULL)
			cl->stalled = !cl->stalled;
		break;
	case 14:
		/* Silence: the door's ping, or the timeout after it. */
		if ((cl = pick(s)) == NULL || cl->c->state != CONN_OPEN)
			break;
		if (op & 0x10 && cl->c->door->ping != NULL)
			cl->c->door->ping(cl->c);
		else
			conn_close(cl->c, op & 0x20 ? "Idle timeout" : "Ping timeout: 180 seconds",
			    CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_FAREWELL);
		break;
	case 15:
		/* A line of thousands of one byte: the cheapest way there. */
		if ((cl = pick(s)) == NULL)
			break;
		{
			static char big[LINE_CAP];
			size_t n = ((size_t)next(s) << 4) % LINE_CAP;
			uint8_t ch = next(s);
			memset(big, ch == '\n' ? ' ' : ch, n);
			send_line(cl, big, n);
		}
		break;
	}
}

/* The configurations: bits of the first byte. */
static void
config_for(uint8_t how)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = "parleyd";
	argv[argc++] = "--log-level";
	argv[argc++] = "error";
	argv[argc++] = "--server-name";
	argv[argc++] = "fuzz.example";
	argv[argc++] = "--oper";
	argv[argc++] = "admin:secret";
	/* No database: the fuzzer drives the conns without the loop, which
	 * would hear that each epoch of history is stored (net/gate.h). */
	argv[argc++] = "--history";
	argv[argc++] = "off";
	if (how & 1) {
		argv[argc++] = "--password";
		argv[argc++] = "secret";
	}
	if (how & 2) {
		argv[argc++] = "--sendq";
		argv[argc++] = "4096";
	}
	if (how & 4) {
		argv[argc++] = "--nick-len";
		argv[argc++] = "9";
		argv[argc++] = "--channel-len";
		argv[argc++] = "10";
		argv[argc++] = "--topic-len";
		argv[argc++] = "20";
	}
	if (how & 8) {
		argv[argc++] = "--max-line";
		argv[argc++] = "64";
	}
	if (how & 16) {
		argv[argc++] = "--topic-len";
		argv[argc++] = "390";
	}
	argv[argc] = NULL;
	enum config_result r = config_load(&cfg, argc, argv);
	assert(r == CONFIG_RUN);
	/* No listener: the clients are ours. */
	for (int i = 0; i < cfg.listen.n; i++)
		free(cfg.listen.v[i]);
	cfg.listen.n = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s = { data, size };
	trace = getenv("FUZZ_SERVER_TRACE") != NULL;
	no_output_checks = getenv("FUZZ_SERVER_NO_OUTPUT") != NULL;
	config_for(next(&s));
	/* server_init applies it (server/reload.c). */
	cfg.log_level = trace ? LOG_INFO : LOG_ERROR;
	/* server_init blocks the signals it handles; libFuzzer wants its
	 * own (SIGINT to stop), so they are given back. */
	sigset_t mask;
	sigprocmask(SIG_BLOCK, NULL, &mask);
	int rc = server_init(&srv, &cfg);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	assert(rc == 0);
	hub_init(&shadow, cfg.topic_len, cfg.nick_len);
	last_msgid[0] = '\0';
	rc = hub_observe(&srv.hub, observe, NULL);
	assert(rc == 0);
	nick_seq = 0;
	for (int i = 0; i < STEPS_MAX && s.n > 0; i++) {
		step(&s);
		settle();
		check_hub();
		check_shadow();
	}
	server_free(&srv);
	hub_clear(&shadow);
	buf_free(&cluster_buf);
	for (int i = 0; i < CLIENTS_MAX; i++)
		if (clients[i].used) {
			client_read(&clients[i]);
			client_free(&clients[i]);
		}
	config_free(&cfg);
	return 0;
}
