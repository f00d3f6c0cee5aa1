/* The two wire formats: registration and join for IRC and for Parley's
 * plain door, the message each sender sends, and recognising that message
 * when it is delivered.
 *
 * A bench message's text is "S<sender> Q<seq> T<ns> xxxx...", padded with
 * x to --size bytes: who sent it, its place in that sender's sequence, and
 * its send time on CLOCK_MONOTONIC (bench and server share the machine). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bench.h"

/* "PRIVMSG #benchNNNNN :<payload>" fits in 512 bytes. A server adding a long
 * prefix may cut or split the relayed line; the header is at the front, so
 * the message still counts. */
#define IRC_SIZE_MAX 450
#define PLAIN_SIZE_MAX 4000 /* under parleyd's default max-line, 4096 */

size_t
proto_max_size(enum proto p)
{
	return p == PROTO_IRC ? IRC_SIZE_MAX : PLAIN_SIZE_MAX;
}

static char *
put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

static char *
put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* Digits at p, at most 19 of them so they fit; NULL if there are none.
 * This is most of the bench's user-space work per delivery (~25 digits):
 * a plain loop with one unsigned compare per digit measured faster here
 * than parsing 8 digits at a time (SWAR), whose constants cost more than
 * they save on numbers this short. */
static const char *
get_u64(const char *p, const char *end, uint64_t *v)
{
	const char *start = p;
	uint64_t x = 0;
	for (; p < end; p++) {
		unsigned d = (unsigned)(unsigned char)*p - '0';
		if (d > 9)
			break;
		x = x * 10 + d;
	}
	if (p == start || p - start > 19)
		return NULL;
	*v = x;
	return p;
}

/* "S<n> Q<n> T<n>" followed by a space or the end. */
static bool
parse_payload(const char *p, const char *end, uint64_t *s, uint64_t *q, uint64_t *t)
{
	if (end - p < 8 || p[0] != 'S')
		return false;
	if (!(p = get_u64(p + 1, end, s)) || end - p < 3 || p[0] != ' ' || p[1] != 'Q')
		return false;
	if (!(p = get_u64(p + 2, end, q)) || end - p < 3 || p[0] != ' ' || p[1] != 'T')
		return false;
	if (!(p = get_u64(p + 2, end, t)))
		return false;
	return p == end || *p == ' ';
}

static bool
deliver(struct bench *b, struct conn *c, const char *p, const char *end)
{
	uint64_t s, q, t;
	if (!parse_payload(p, end, &s, &q, &t))
		return false;
	bench_on_message(b, c, s, q, t);
	return true;
}

/* Our nickname for this attempt: prefix, client index, and after a
 * collision a letter suffix (a, b, ... z, aa, ab, ...). Short, because some
 * IRC servers allow only 9 characters. */
static void
want_nick(const struct bench *b, const struct conn *c, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s%u", b->opt.nick_prefix, c->id);
	char suffix[8];
	int k = 0;
	for (unsigned t = c->nick_tries; t && k < 7; t = (t - 1) / 26)
		suffix[k++] = (char)('a' + (t - 1) % 26);
	while (k && n + 1 < (int)outsz)
		out[n++] = suffix[--k];
	out[n] = '\0';
}

static bool
word_eq(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && strncasecmp(p, s, len) == 0;
}

static void
set_nick(struct conn *c, const char *p, size_t len)
{
	if (len >= sizeof c->nick)
		len = sizeof c->nick - 1;
	memcpy(c->nick, p, len);
	c->nick[len] = '\0';
}

static void
send_str(struct bench *b, struct conn *c, const char *s)
{
	conn_write(b, c, s, strlen(s));
}

/* ------------------------------------------------------------------ IRC */

#define IRC_MAX_ARGS 16

/* One IRC line cut into source, command and arguments, pointing into it. */
struct irc_line {
	const char *src;
	size_t src_len;             /* 0 if there was no source */
	const char *cmd;
	size_t cmd_len;
	int nargs;
	const char *arg[IRC_MAX_ARGS];
	size_t arg_len[IRC_MAX_ARGS];
};

static const char *
skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

static const char *
next_word(const char *p, const char *end)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	return sp ? sp : end;
}

static bool
irc_split(const char *p, size_t len, struct irc_line *m)
{
	const char *end = p + len;
	m->src = p;
	m->src_len = 0;
	m->nargs = 0;
	if (p < end && *p == '@')   /* tags: we ask for none, but tolerate them */
		p = skip_spaces(next_word(p, end), end);
	if (p < end && *p == ':') {
		const char *w = next_word(p, end);
		m->src = p + 1;
		m->src_len = (size_t)(w - p - 1);
		p = skip_spaces(w, end);
	}
	if (p == end)
		return false;
	const char *w = next_word(p, end);
	m->cmd = p;
	m->cmd_len = (size_t)(w - p);
	p = skip_spaces(w, end);
	while (p < end && m->nargs < IRC_MAX_ARGS) {
		if (*p == ':') {
			m->arg[m->nargs] = p + 1;
			m->arg_len[m->nargs++] = (size_t)(end - p - 1);
			break;
		}
		w = next_word(p, end);
		m->arg[m->nargs] = p;
		m->arg_len[m->nargs++] = (size_t)(w - p);
		p = skip_spaces(w, end);
	}
	return true;
}

/* The nickname part of a source "nick!user@host". */
static size_t
src_nick_len(const struct irc_line *m)
{
	const char *bang = memchr(m->src, '!', m->src_len);
	return bang ? (size_t)(bang - m->src) : m->src_len;
}

static void
irc_send_nick(struct bench *b, struct conn *c)
{
	char nick[32], line[96];
	want_nick(b, c, nick, sizeof nick);
	snprintf(line, sizeof line, "NICK %s\r\n", nick);
	send_str(b, c, line);
}

static void
irc_send_join(struct bench *b, struct conn *c)
{
	char line[64];
	snprintf(line, sizeof line, "JOIN #bench%u\r\n", c->room);
	send_str(b, c, line);
}

/* PONG with the PING's own token, in every phase: servers drop clients
 * that do not answer, and a dropped client would read as lost messages. */
static void
irc_pong(struct bench *b, struct conn *c, const struct irc_line *m)
{
	char *p = conn_reserve(b, c, 16 + (m->nargs ? m->arg_len[m->nargs - 1] : 0));
	char *start = p;
	p = put_str(p, "PONG :");
	if (m->nargs) {
		memcpy(p, m->arg[m->nargs - 1], m->arg_len[m->nargs - 1]);
		p += m->arg_len[m->nargs - 1];
	}
	p = put_str(p, "\r\n");
	conn_commit(c, (size_t)(p - start));
}

/* Numerics that mean this client cannot register or join. */
static bool
irc_setup_fatal(int code)
{
	switch (code) {
	case 403: case 405: case 432: case 451: case 461: case 464: case 465:
	case 471: case 473: case 474: case 475: case 476: case 477:
		return true;
	}
	return false;
}

static int
irc_numeric(const struct irc_line *m)
{
	if (m->cmd_len != 3 || m->cmd[0] < '0' || m->cmd[0] > '9' ||
	    m->cmd[1] < '0' || m->cmd[1] > '9' || m->cmd[2] < '0' || m->cmd[2] > '9')
		return -1;
	return (m->cmd[0] - '0') * 100 + (m->cmd[1] - '0') * 10 + (m->cmd[2] - '0');
}

static bool
irc_is_our_join(const struct conn *c, const struct irc_line *m)
{
	char room[32];
	snprintf(room, sizeof room, "#bench%u", c->room);
	if (m->nargs < 1 || !m->src_len)
		return false;
	return word_eq(m->src, src_nick_len(m), c->nick) &&
	    word_eq(m->arg[0], m->arg_len[0], room);
}

static void
irc_on_numeric(struct bench *b, struct conn *c, const struct irc_line *m, int code)
{
	const char *text = m->nargs ? m->arg[m->nargs - 1] : "";
	int text_len = m->nargs ? (int)m->arg_len[m->nargs - 1] : 0;
	if (code == 1 && c->state == CONN_REGISTERING) {
		/* The server may have changed (cut) our nickname: 001 says. */
		if (m->nargs)
			set_nick(c, m->arg[0], m->arg_len[0]);
		c->state = CONN_JOINING;
		irc_send_join(b, c);
	} else if ((code == 433 || code == 436 || code == 437) &&
	    c->state == CONN_REGISTERING) {
		c->nick_tries++;
		irc_send_nick(b, c);
	} else if (irc_setup_fatal(code) && c->state != CONN_READY) {
		conn_fail(b, c, "server refused: %d %.*s", code, text_len, text);
	} else if (code >= 400 && code < 600 && c->state == CONN_READY) {
		bench_error(b, "client %u (%s): %d %.*s", c->id, c->nick, code,
		    text_len, text);
	}
}

/* ":src PRIVMSG target :text" without cutting the whole line up: this is
 * nearly every line once the bench is running. */
static bool
irc_fast_privmsg(struct bench *b, struct conn *c, const char *line, size_t len)
{
	const char *end = line + len;
	if (len < 16 || line[0] != ':')
		return false;
	const char *sp = memchr(line, ' ', len);
	if (!sp || end - sp < 12 || memcmp(sp + 1, "PRIVMSG ", 8) != 0)
		return false;
	const char *target = sp + 9;
	sp = memchr(target, ' ', (size_t)(end - target));
	if (!sp || end - sp < 2 || sp[1] != ':')
		return false;
	return deliver(b, c, sp + 2, end);
}

static void
irc_on_line(struct bench *b, struct conn *c, const char *line, size_t len)
{
	if (c->state == CONN_READY && irc_fast_privmsg(b, c, line, len))
		return;
	struct irc_line m;
	if (!irc_split(line, len, &m))
		return;
	if (word_eq(m.cmd, m.cmd_len, "PRIVMSG")) {
		if (m.nargs == 2 && c->state == CONN_READY)
			deliver(b, c, m.arg[1], m.arg[1] + m.arg_len[1]);
		return;
	}
	if (word_eq(m.cmd, m.cmd_len, "PING")) {
		irc_pong(b, c, &m);
		return;
	}
	int code = irc_numeric(&m);
	if (code >= 0) {
		irc_on_numeric(b, c, &m, code);
		return;
	}
	if (word_eq(m.cmd, m.cmd_len, "JOIN") && c->state == CONN_JOINING &&
	    irc_is_our_join(c, &m)) {
		c->joined = true;
		bench_conn_ready(b, c);
		return;
	}
	if (word_eq(m.cmd, m.cmd_len, "ERROR"))
		conn_fail(b, c, "ERROR %.*s", m.nargs ? (int)m.arg_len[0] : 0,
		    m.nargs ? m.arg[0] : "");
}

/* ---------------------------------------------------------------- plain */

static bool
has_prefix(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(p, prefix, n) == 0;
}

static void
plain_send_nick(struct bench *b, struct conn *c)
{
	char nick[32], line[64];
	want_nick(b, c, nick, sizeof nick);
	snprintf(line, sizeof line, "/nick %s\n", nick);
	send_str(b, c, line);
}

/* "-- you are NICK; change it ...": leave #lobby first (so our nick change
 * and join are not fanned out to everyone there), then take our nickname
 * and join the bench room, all in one write. Replies come back in order,
 * so the join echo names whichever nickname we had when it was handled. */
static void
plain_on_welcome(struct bench *b, struct conn *c, const char *p, size_t len)
{
	const char *semi = memchr(p, ';', len);
	if (!semi)
		return;
	set_nick(c, p, (size_t)(semi - p));
	char line[64];
	send_str(b, c, "/part #lobby\n");
	plain_send_nick(b, c);
	snprintf(line, sizeof line, "/join #bench%u\n", c->room);
	send_str(b, c, line);
	c->state = CONN_JOINING;
}

/* "-- OLD is now known as NEW": ours if OLD is the nickname we have. */
static void
plain_on_nick_change(struct bench *b, struct conn *c, const char *p, const char *end)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	static const char mid[] = " is now known as ";
	size_t mid_len = sizeof mid - 1;
	if (!sp || (size_t)(end - sp) <= mid_len || memcmp(sp, mid, mid_len) != 0)
		return;
	if (!word_eq(p, (size_t)(sp - p), c->nick))
		return;
	set_nick(c, sp + mid_len, (size_t)(end - sp - mid_len));
	char want[32];
	want_nick(b, c, want, sizeof want);
	if (strcasecmp(c->nick, want) == 0) {
		c->nick_ok = true;
		if (c->joined)
			bench_conn_ready(b, c);
	}
}

/* "#room -- NICK joined" for our room and nickname. */
static void
plain_on_room_event(struct bench *b, struct conn *c, const char *room, size_t room_len,
    const char *p, const char *end)
{
	char ours[32];
	snprintf(ours, sizeof ours, "#bench%u", c->room);
	if (!word_eq(room, room_len, ours))
		return;
	size_t nick_len = strlen(c->nick);
	if ((size_t)(end - p) != nick_len + 7 || strncasecmp(p, c->nick, nick_len) != 0 ||
	    memcmp(p + nick_len, " joined", 7) != 0)
		return;
	c->joined = true;
	if (c->nick_ok)
		bench_conn_ready(b, c);
}

/* "!! code: text" */
static void
plain_on_error(struct bench *b, struct conn *c, const char *p, size_t len)
{
	if (c->state != CONN_READY) {
		if (has_prefix(p, len, "not-in-room"))     /* no #lobby to leave */
			return;
		if (has_prefix(p, len, "nick-in-use")) {
			c->nick_tries++;
			plain_send_nick(b, c);
			return;
		}
		conn_fail(b, c, "server refused: %.*s", (int)len, p);
		return;
	}
	bench_error(b, "client %u (%s): %.*s", c->id, c->nick, (int)len, p);
}

static void
plain_on_line(struct bench *b, struct conn *c, const char *line, size_t len)
{
	const char *end = line + len;
	if (len && line[0] == '#') {
		const char *sp = memchr(line, ' ', len);
		if (!sp || end - sp < 3)
			return;
		if (sp[1] == '<') {
			/* "#room <nick> text": nicknames hold no '>'. */
			const char *gt = memchr(sp + 2, '>', (size_t)(end - sp - 2));
			if (gt && end - gt >= 2 && gt[1] == ' ' && c->state == CONN_READY)
				deliver(b, c, gt + 2, end);
		} else if (sp[1] == '-' && sp[2] == '-' && end - sp > 4 &&
		    c->state == CONN_JOINING) {
			plain_on_room_event(b, c, line, (size_t)(sp - line), sp + 4, end);
		}
		return;
	}
	if (has_prefix(line, len, "-- ")) {
		if (c->state == CONN_REGISTERING && has_prefix(line, len, "-- you are "))
			plain_on_welcome(b, c, line + 11, len - 11);
		else if (c->state == CONN_JOINING)
			plain_on_nick_change(b, c, line + 3, end);
		return;
	}
	if (has_prefix(line, len, "!! "))
		plain_on_error(b, c, line + 3, len - 3);
}

/* ----------------------------------------------------------------- both */

void
proto_on_connected(struct bench *b, struct conn *c)
{
	if (b->opt.proto == PROTO_PLAIN)
		return;  /* the server speaks first */
	char nick[32], line[128];
	want_nick(b, c, nick, sizeof nick);
	set_nick(c, nick, strlen(nick));
	snprintf(line, sizeof line, "NICK %s\r\nUSER %s 0 * :parley-bench\r\n", nick, nick);
	send_str(b, c, line);
}

void
proto_on_line(struct bench *b, struct conn *c, char *line, size_t len)
{
	if (b->opt.proto == PROTO_IRC)
		irc_on_line(b, c, line, len);
	else
		plain_on_line(b, c, line, len);
}

/* Formats one message straight into the sender's output buffer. */
void
proto_send_message(struct bench *b, struct conn *c, uint32_t sender,
    uint64_t seq, uint64_t sent_ns)
{
	size_t size = b->opt.size;
	char *start = conn_reserve(b, c, size + 96);
	char *p = start;
	if (b->opt.proto == PROTO_IRC) {
		p = put_str(p, "PRIVMSG #bench");
		p = put_u64(p, c->room);
		p = put_str(p, " :");
	}
	char *payload = p;
	*p++ = 'S';
	p = put_u64(p, sender);
	*p++ = ' ';
	*p++ = 'Q';
	p = put_u64(p, seq);
	*p++ = ' ';
	*p++ = 'T';
	p = put_u64(p, sent_ns);
	size_t have = (size_t)(p - payload);
	if (have + 1 < size) {
		*p++ = ' ';
		memset(p, 'x', size - have - 1);
		p += size - have - 1;
	}
	if (b->opt.proto == PROTO_IRC)
		*p++ = '\r';
	*p++ = '\n';
	conn_commit(c, (size_t)(p - start));
}
