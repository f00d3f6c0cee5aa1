/* The IRC front door: registration, capability negotiation, dispatch, and
 * the rendering of hub events as IRC lines (with IRCv3 tags when asked).
 * Modern IRC (modern.ircdocs.horse) is its specification, RFC 2812 where
 * that is silent. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "doors/door.h"
#include "doors/irc/irc.h"

/* The capabilities CAP LS offers. A capability with a value writes it
 * (e.g. "max-bytes=4096") and may decline to be offered to c at all;
 * one without a bit is only a policy to read, never to request (sts). */
typedef int cap_value_fn(struct conn *c, char *value, size_t cap);

/* IRCv3 sts, when configured: a plain connection is told to move to the
 * TLS port; a TLS one that asked for the server's name (SNI) is told how
 * long to stay (not one that came by another name or an address, as the
 * specification advises). WebSocket clients are not offered it: their
 * browser cannot take a TLS IRC port, and HTTPS has its own policy. */
static int
cap_sts(struct conn *c, char *value, size_t cap)
{
	const struct config *cfg = door_cfg(c);
	if (cfg->sts_duration == NULL || conn_websocket(c))
		return 0;
	if (!conn_secure(c)) {
		snprintf(value, cap, "port=%lu,duration=%s", cfg->sts_port, cfg->sts_duration);
		return 1;
	}
	const char *sni = conn_tls_servername(c);
	if (sni == NULL || strcasecmp(sni, cfg->server_name) != 0)
		return 0;
	snprintf(value, cap, "duration=%s", cfg->sts_duration);
	return 1;
}

/* draft/multiline: its limits. */
static int
cap_multiline(struct conn *c, char *value, size_t cap)
{
	(void)c;
	snprintf(value, cap, "%s", IRC_MULTILINE_CAP);
	return 1;
}

static const struct {
	const char *name;
	unsigned bit;
	cap_value_fn *value;    /* NULL: always offered, no value */
} caps[] = {
	{ "away-notify", CAP_AWAY_NOTIFY, NULL },
	{ "batch", CAP_BATCH, NULL },
	{ "cap-notify", CAP_CAP_NOTIFY, NULL },
	{ "chghost", CAP_CHGHOST, NULL },
	{ "draft/message-redaction", CAP_MESSAGE_REDACTION, NULL },
	{ "draft/multiline", CAP_MULTILINE, cap_multiline },
	{ "echo-message", CAP_ECHO_MESSAGE, NULL },
	{ "extended-join", CAP_EXTENDED_JOIN, NULL },
	{ "extended-monitor", CAP_EXTENDED_MONITOR, NULL },
	{ "invite-notify", CAP_INVITE_NOTIFY, NULL },
	{ "labeled-response", CAP_LABELED_RESPONSE, NULL },
	{ "message-tags", CAP_MESSAGE_TAGS, NULL },
	{ "multi-prefix", CAP_MULTI_PREFIX, NULL },
	{ "no-implicit-names", CAP_NO_IMPLICIT_NAMES, NULL },
	{ "server-time", CAP_SERVER_TIME, NULL },
	{ "setname", CAP_SETNAME, NULL },
	{ "standard-replies", CAP_STANDARD_REPLIES, NULL },
	{ "sts", 0, cap_sts },
	{ "userhost-in-names", CAP_USERHOST_IN_NAMES, NULL },
};
#define NCAPS (sizeof caps / sizeof caps[0])

const char *
irc_server_name(const struct conn *c)
{
	return door_cfg(c)->server_name;
}

const char *
irc_target(struct conn *c)
{
	if (c->user != NULL)
		return c->user->nick;
	struct irc_session *s = irc_session(c);
	return s->nick[0] ? s->nick : "*";
}

/* labeled-response. One command is handled at a time, so at most one
 * labeled reply is open: its state lives here, not in every session. */
static struct {
	struct conn *conn;            /* handling a labeled command, or NULL */
	char label[IRC_LABEL_MAX + 1];
	struct wire *pending[IRC_PENDING_MAX];      /* replies held back */
	struct wire *pending_tags[IRC_PENDING_MAX]; /* their tags, or NULL */
	int npending;
	size_t pending_bytes;
	unsigned streaming;           /* the batch already open, or 0 */
	unsigned batches;             /* batch ids handed out */
} lr;

/* Whether c's replies are being held for a label. */
static int
holding(const struct conn *c)
{
	return lr.conn == c && lr.label[0] != '\0';
}

/* Sending. */

/* A tag prefix ("@a=b ") with one more tag in front, e.g. the label. */
static struct wire *
tags_with(const char *tag, const struct wire *tags)
{
	if (tags == NULL)
		return wire_printf("@%s ", tag);
	return wire_printf("@%s;%.*s", tag, (int)tags->len - 1, tags->data + 1);
}

static void
pending_drop(int i)
{
	wire_unref(lr.pending[i]);
	wire_unref(lr.pending_tags[i]);
	lr.pending[i] = lr.pending_tags[i] = NULL;
}

/* More replies than can be held: the batch opens now and the rest of the
 * replies stream into it (NAMES or WHO of a large room). */
static void
label_open_batch(struct conn *c)
{
	char label[IRC_LABEL_MAX * 2 + 8] = "label=";
	irc_tag_escape(label + 6, sizeof label - 6, lr.label);
	lr.label[0] = '\0';
	unsigned id = ++lr.batches;
	struct wire *open = wire_printf("@%s :%s BATCH +lr%u labeled-response\r\n",
	    label, irc_server_name(c), id);
	conn_send(c, open);
	wire_unref(open);
	lr.streaming = id;
	for (int i = 0; i < lr.npending; i++) {
		irc_send_wire(c, lr.pending_tags[i], lr.pending[i]);
		pending_drop(i);
	}
	lr.npending = 0;
	lr.pending_bytes = 0;
}

void
irc_send_wire(struct conn *c, struct wire *tags, struct wire *body)
{
	if (body == NULL)
		return;
	if (lr.conn == c && lr.streaming) {
		char batch[32];
		snprintf(batch, sizeof batch, "batch=lr%u", lr.streaming);
		struct wire *t = tags_with(batch, tags);
		conn_send(c, t);
		conn_send(c, body);
		wire_unref(t);
		return;
	}
	if (holding(c)) {
		/* Held for the labeled reply; the label joins the tags then. */
		size_t n = body->len + (tags ? tags->len : 0);
		if (lr.npending < IRC_PENDING_MAX &&
		    (lr.npending == 0 || lr.pending_bytes + n <= IRC_PENDING_BYTES)) {
			lr.pending_tags[lr.npending] = tags ? wire_ref(tags) : NULL;
			lr.pending[lr.npending++] = wire_ref(body);
			lr.pending_bytes += n;
			return;
		}
		label_open_batch(c);
		irc_send_wire(c, tags, body);
		return;
	}
	if (tags != NULL)
		conn_send(c, tags);
	conn_send(c, body);
}

/* Formats one IRC line into line (IRC_LINE_MAX bytes): fmt's expansion
 * after prefix, cut between UTF-8 characters to leave room for CR LF,
 * which is added. Returns the length, CR LF included. Whatever went in,
 * the line is at most 512 bytes: only a trailing text can be long (every
 * name before it is bounded), so only a trailing text is ever cut. */
static size_t
irc_vformat(char *line, const char *prefix, const char *fmt, va_list ap)
{
	size_t max = IRC_LINE_MAX - 2;
	int p = snprintf(line, IRC_LINE_MAX, "%s", prefix);
	size_t n = p < 0 ? 0 : (size_t)p < max ? (size_t)p : max;
	int b = vsnprintf(line + n, IRC_LINE_MAX - n, fmt, ap);
	if (b > 0)
		n += (size_t)b < IRC_LINE_MAX - 1 - n ? (size_t)b : IRC_LINE_MAX - 1 - n;
	/* The cut at the end drops a character it would split. */
	for (size_t k = 1; k <= 3 && k <= n; k++) {
		size_t len;
		unsigned char lo, hi;
		if (((unsigned char)line[n - k] & 0xC0) == 0x80)
			continue;
		if (utf8_lead((unsigned char)line[n - k], &len, &lo, &hi) && len > k)
			n -= k;
		break;
	}
	/* Inside, a name cut short with %.*s may end inside a character: the
	 * line is repaired, so every reply is valid UTF-8 whatever went in. */
	if (!text_is_clean(line, n)) {
		char fixed[TEXT_CLEAN_MAX(IRC_LINE_MAX) + 1];
		size_t fn = text_clean(fixed, line, n);
		n = utf8_fit(fixed, fn, max);
		memcpy(line, fixed, n);
	}
	n = utf8_fit(line, n, max);
	memcpy(line + n, "\r\n", 2);
	return n + 2;
}

struct wire *
irc_wire_line(const char *fmt, ...)
{
	char line[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	size_t n = irc_vformat(line, "", fmt, ap);
	va_end(ap);
	return wire_new(line, n);
}

void
irc_reason(char *buf, const char *before, const char *text, const char *after)
{
	size_t nb = strlen(before), na = strlen(after), max = HUB_REASON_MAX;
	if (nb + na > max)
		nb = na = 0;
	size_t nt = utf8_fit(text, strlen(text), max - nb - na);
	memcpy(buf, before, nb);
	memcpy(buf + nb, text, nt);
	memcpy(buf + nb + nt, after, na);
	buf[nb + nt + na] = '\0';
}

static void
irc_vsend(struct conn *c, const char *prefix, const char *fmt, va_list ap)
{
	char line[IRC_LINE_MAX];
	size_t n = irc_vformat(line, prefix, fmt, ap);
	struct wire *w = wire_new(line, n);
	irc_send_wire(c, NULL, w);
	wire_unref(w);
}

void
irc_send(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	irc_vsend(c, "", fmt, ap);
	va_end(ap);
}

void
irc_numeric(struct conn *c, const char *num, const char *fmt, ...)
{
	/* The prefix is data, never a format: no name can inject a %. */
	char head[IRC_LINE_MAX];
	snprintf(head, sizeof head, ":%s %s %s ", irc_server_name(c), num, irc_target(c));
	va_list ap;
	va_start(ap, fmt);
	irc_vsend(c, head, fmt, ap);
	va_end(ap);
}

void
irc_notice(struct conn *c, const char *fmt, ...)
{
	char text[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	irc_send(c, ":%s NOTICE %s :%s", irc_server_name(c), irc_target(c), text);
}

void
irc_fail_vendor(struct conn *c, const char *cmd, const char *code,
    const char *context, const char *text)
{
	if (!(irc_session(c)->caps & CAP_STANDARD_REPLIES)) {
		irc_notice(c, "%s: %s", cmd, text);
		return;
	}
	irc_send(c, ":%s FAIL %s %s%s%s :%s", irc_server_name(c), cmd, code,
	    context ? " " : "", context ? context : "", text);
}

/* Long replies. The first page is made inside the command, where its
 * lines are held for the label like any reply's; if there is more, the
 * batch opens then, and the later pages' lines are put in it. */

static int
irc_pager_fill(struct conn *c, struct conn_pager *base)
{
	struct irc_pager *p = (struct irc_pager *)base;
	if (!p->later)
		return p->fill(c, p);
	struct conn *was_conn = lr.conn;
	unsigned was_streaming = lr.streaming;
	char was_label = lr.label[0];
	lr.conn = p->batch ? c : NULL;
	lr.streaming = p->batch;
	lr.label[0] = '\0';
	int more = p->fill(c, p);
	lr.conn = was_conn;
	lr.streaming = was_streaming;
	lr.label[0] = was_label;
	return more;
}

static void
irc_pager_deferred(struct conn *c, struct conn_pager *base)
{
	struct irc_pager *p = (struct irc_pager *)base;
	p->later = 1;
	if (holding(c))
		label_open_batch(c);
	p->batch = lr.conn == c ? lr.streaming : 0;
}

static void
irc_pager_free(struct conn_pager *base)
{
	struct irc_pager *p = (struct irc_pager *)base;
	if (p->free != NULL)
		p->free(p);
	else
		free(p);
}

void
irc_page(struct conn *c, struct irc_pager *p)
{
	p->base.fill = irc_pager_fill;
	p->base.deferred = irc_pager_deferred;
	p->base.free = irc_pager_free;
	p->batch = 0;
	p->later = 0;
	conn_page(c, &p->base);
}

/* labeled-response: one reply gets the label; several come in a batch;
 * none gets an ACK. */
static void
label_finish(struct conn *c)
{
	if (lr.streaming) {
		unsigned id = lr.streaming;
		lr.streaming = 0;
		lr.conn = NULL;
		irc_send(c, ":%s BATCH -lr%u", irc_server_name(c), id);
		return;
	}
	char label[IRC_LABEL_MAX * 2 + 8] = "label=";
	irc_tag_escape(label + 6, sizeof label - 6, lr.label);
	lr.label[0] = '\0';
	lr.conn = NULL;
	int n = lr.npending;
	lr.npending = 0;
	lr.pending_bytes = 0;
	if (n == 0) {
		irc_send(c, "@%s :%s ACK", label, irc_server_name(c));
		return;
	}
	if (n == 1) {
		struct wire *tags = tags_with(label, lr.pending_tags[0]);
		irc_send_wire(c, tags, lr.pending[0]);
		wire_unref(tags);
		pending_drop(0);
		return;
	}
	unsigned id = ++lr.batches;
	irc_send(c, "@%s :%s BATCH +lr%u labeled-response", label,
	    irc_server_name(c), id);
	char batch[32];
	snprintf(batch, sizeof batch, "batch=lr%u", id);
	for (int i = 0; i < n; i++) {
		struct wire *tags = tags_with(batch, lr.pending_tags[i]);
		irc_send_wire(c, tags, lr.pending[i]);
		wire_unref(tags);
		pending_drop(i);
	}
	irc_send(c, ":%s BATCH -lr%u", irc_server_name(c), id);
}

/* Rendering hub events. */

static const char *
ident_of(const struct msg *m)
{
	return m->ident ? m->ident : "unknown";
}

static const char *
host_of(const struct msg *m)
{
	return m->host ? m->host : "unknown";
}

/* A message as one or more lines of at most 512 bytes: a plain user may
 * send far longer lines than IRC carries, and nothing is to be lost. Cuts
 * fall between UTF-8 characters, so a piece may be shorter than the room
 * a line leaves: the pieces are counted first, and the buffer is sized
 * from that count, never from the text's length alone. The pieces go out
 * in one wire. A message from an IRC client (one_line) was one line when
 * it was sent: it stays one, cut to fit behind the longer prefix. */
static struct wire *
render_split(const char *src, const char *cmd, const char *to, const char *pre,
    const char *text, const char *post, int one_line)
{
	char head[IRC_LINE_MAX];
	int hn = snprintf(head, sizeof head, "%s %s %s :%s", src, cmd, to, pre);
	size_t tail = strlen(post) + 2;
	if (hn < 0 || (size_t)hn + tail + 16 > IRC_LINE_MAX)
		return NULL;
	size_t room = IRC_LINE_MAX - (size_t)hn - tail;
	size_t len = strlen(text), pieces = 0;
	for (size_t at = 0; at < len || pieces == 0; pieces++)
		at += utf8_fit(text + at, len - at, room);
	if (one_line) {
		pieces = 1;
		len = utf8_fit(text, len, room);
	}
	size_t total = pieces * ((size_t)hn + tail) + len;
	char *buf = malloc(total);
	if (buf == NULL)
		return NULL;
	size_t out = 0;
	for (size_t at = 0, i = 0; i < pieces; i++) {
		size_t n = utf8_fit(text + at, len - at, room);
		memcpy(buf + out, head, (size_t)hn);
		out += (size_t)hn;
		memcpy(buf + out, text + at, n);
		out += n;
		memcpy(buf + out, post, tail - 2);
		out += tail - 2;
		memcpy(buf + out, "\r\n", 2);
		out += 2;
		at += n;
	}
	struct wire *w = wire_new(buf, out);
	free(buf);
	return w;
}

static struct wire *
irc_render(const struct msg *m, int alt)
{
	char src[HUB_MASK_MAX + 1];
	snprintf(src, sizeof src, ":%s!%s@%s", m->from, ident_of(m), host_of(m));
	const char *to = m->room ? m->room : m->target;
	const char *text = m->text ? m->text : "";
	switch (m->kind) {
	case MSG_SAY:
	case MSG_PRIVATE:
		return render_split(src, "PRIVMSG", to, "", text, "", m->one_line);
	case MSG_ACTION:
		return render_split(src, "PRIVMSG", to, "\001ACTION ", text, "\001", m->one_line);
	case MSG_NOTICE:
		return render_split(src, "NOTICE", to, "", text, "", m->one_line);
	case MSG_JOIN:
		if (alt)
			return irc_wire_line("%s JOIN %s * :%s", src, m->room, text);
		return irc_wire_line("%s JOIN %s", src, m->room);
	case MSG_PART:
		if (m->text == NULL)
			return irc_wire_line("%s PART %s", src, m->room);
		return irc_wire_line("%s PART %s :%s", src, m->room, text);
	case MSG_QUIT:
		return irc_wire_line("%s QUIT :%s", src, text);
	case MSG_NICK:
		return irc_wire_line("%s NICK %s", src, m->target);
	case MSG_TOPIC:
		return irc_wire_line("%s TOPIC %s :%s", src, m->room, text);
	case MSG_KICK:
		return irc_wire_line("%s KICK %s %s :%s", src, m->room, m->target,
		    m->text ? m->text : m->from);
	case MSG_MODE:
		return irc_wire_line("%s MODE %s %s", src, m->room, text);
	case MSG_INVITE:
		return irc_wire_line("%s INVITE %s %s", src, m->target, m->room);
	case MSG_AWAY:
		if (m->text == NULL)
			return irc_wire_line("%s AWAY", src);
		return irc_wire_line("%s AWAY :%s", src, text);
	case MSG_SETNAME:
		return irc_wire_line("%s SETNAME :%s", src, text);
	case MSG_TAGMSG:
		return irc_wire_line("%s TAGMSG %s", src, to);
	case MSG_CHGHOST:
		return irc_wire_line("%s CHGHOST %s %s", src, m->target, m->text);
	case MSG_REDACT:
		if (m->text == NULL)
			return irc_wire_line("%s REDACT %s %s", src, to, m->ref);
		return irc_wire_line("%s REDACT %s %s :%s", src, to, m->ref, m->text);
	}
	return NULL;
}

/* "@time=... " and, with all, the msgid (when with_id), the bot tag and
 * the sender's client-only tags. */
static struct wire *
tags_render(const struct msg *m, int all, int with_id)
{
	time_t secs = (time_t)(m->at_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char stamp[32], id[32] = "";
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!all)
		return wire_printf("@time=%s.%03dZ ", stamp, (int)(m->at_ms % 1000));
	if (with_id)
		snprintf(id, sizeof id, ";msgid=%s", m->id);
	return wire_printf("@time=%s.%03dZ%s%s%s%s ", stamp, (int)(m->at_ms % 1000), id,
	    m->from_bot ? ";bot" : "", m->client_tags ? ";" : "",
	    m->client_tags ? m->client_tags : "");
}

static struct wire *
irc_tags(struct msg *m, int all)
{
	enum msg_tags t = all ? TAGS_ALL : TAGS_TIME;
	if (m->tags[t] == NULL)
		m->tags[t] = tags_render(m, all, 1);
	return m->tags[t];
}

/* Whether the user behind c wants to hear of m at all. */
static int
irc_wants(struct conn *c, const struct msg *m)
{
	unsigned caps_on = irc_session(c)->caps;
	switch (m->kind) {
	case MSG_AWAY:
		return caps_on & CAP_AWAY_NOTIFY;
	case MSG_SETNAME:
		return caps_on & CAP_SETNAME;
	case MSG_TAGMSG:
		return caps_on & CAP_MESSAGE_TAGS;
	case MSG_REDACT:
		/* No fallback: what a client showed stays shown. */
		return caps_on & CAP_MESSAGE_REDACTION;
	case MSG_INVITE:
		/* Others than the invited hear of it only with invite-notify. */
		return strcasecmp(m->target, c->user->nick) == 0 ||
		    (caps_on & CAP_INVITE_NOTIFY);
	default:
		return 1;
	}
}

/* A user's new host for a client without chghost: the specification's
 * fallback, as if the user quit and came back into every room the client
 * shares with it, with its modes (and away message) restored. */
static void
chghost_fallback(struct conn *c, struct msg *m, struct user *u)
{
	unsigned caps_on = irc_session(c)->caps;
	struct wire *tags = (caps_on & CAP_MESSAGE_TAGS) ? irc_tags(m, 1) :
	    (caps_on & CAP_SERVER_TIME) ? irc_tags(m, 0) : NULL;
	struct wire *quit = irc_wire_line(":%s!%s@%s QUIT :Changing host", m->from,
	    ident_of(m), host_of(m));
	irc_send_wire(c, tags, quit);
	wire_unref(quit);
	char mask[HUB_MASK_MAX];
	hub_user_mask(u, mask);
	struct room *room;
	for (unsigned i = 0; (room = hub_user_room(u, i)) != NULL; i++) {
		if (!hub_is_member(room, c->user))
			continue;
		if (caps_on & CAP_EXTENDED_JOIN)
			irc_send(c, ":%s JOIN %s * :%s", mask, room->name, u->realname);
		else
			irc_send(c, ":%s JOIN %s", mask, room->name);
		const struct member *mem = hub_member(room, u);
		if (mem->modes & MEMBER_OP && mem->modes & MEMBER_VOICE)
			irc_send(c, ":%s MODE %s +ov %s %s", irc_server_name(c), room->name,
			    u->nick, u->nick);
		else if (mem->modes & (MEMBER_OP | MEMBER_VOICE))
			irc_send(c, ":%s MODE %s +%c %s", irc_server_name(c), room->name,
			    (mem->modes & MEMBER_OP) ? 'o' : 'v', u->nick);
		if (u->away != NULL && (caps_on & CAP_AWAY_NOTIFY))
			irc_send(c, ":%s AWAY :%s", mask, u->away);
	}
}

/* A host change: the user whose host it is hears 396 (and CHGHOST if it
 * asked for it); others without chghost get the fallback. 1 when that
 * was all. */
static int
chghost_delivered(struct conn *c, struct msg *m)
{
	struct user *u = hub_user_find(door_hub(c), m->from);
	int cap = irc_session(c)->caps & CAP_CHGHOST;
	if (u == c->user) {
		irc_numeric(c, "396", "%s :is now your displayed host", m->text);
		return !cap;
	}
	if (!cap && u != NULL)
		chghost_fallback(c, m, u);
	return !cap;
}

/* A multiline message (draft/multiline) in the form c takes: the batch,
 * or the lines one by one, those after the first with tags as c's caps
 * say, but no msgid (the specification's fallback). Each form is made
 * once per message and shared, like every other rendering. */
static struct wire *
multiline_form(struct conn *c, struct msg *m)
{
	unsigned caps_on = irc_session(c)->caps;
	unsigned batch = CAP_MULTILINE | CAP_BATCH;
	enum wire_format f = (caps_on & batch) == batch ? FMT_IRC_BATCH :
	    (caps_on & CAP_MESSAGE_TAGS) ? FMT_IRC_LINES_TAGS :
	    (caps_on & CAP_SERVER_TIME) ? FMT_IRC_LINES_TIME : FMT_IRC;
	if (m->rendered[f] != NULL)
		return m->rendered[f];
	char src[HUB_MASK_MAX + 1];
	snprintf(src, sizeof src, ":%s!%s@%s", m->from, ident_of(m), host_of(m));
	const char *cmd = m->kind == MSG_NOTICE ? "NOTICE" : "PRIVMSG";
	if (f == FMT_IRC_BATCH) {
		m->rendered[f] = irc_multiline_batch(m, src, cmd);
		return m->rendered[f];
	}
	char rest[IRC_TAGS_LEN_MAX + 64] = "";
	if (f != FMT_IRC) {
		struct wire *t = tags_render(m, f == FMT_IRC_LINES_TAGS, 0);
		if (t != NULL)
			snprintf(rest, sizeof rest, "%.*s", (int)t->len, t->data);
		wire_unref(t);
	}
	m->rendered[f] = irc_multiline_lines(m, src, cmd, rest);
	return m->rendered[f];
}

void
irc_deliver_to(struct conn *c, struct msg *m)
{
	if (c->user == NULL)
		return;
	if (m->kind == MSG_CHGHOST && chghost_delivered(c, m))
		return;
	if (!irc_wants(c, m))
		return;
	unsigned caps_on = irc_session(c)->caps;
	struct wire *tags = NULL;
	if (caps_on & CAP_MESSAGE_TAGS)
		tags = irc_tags(m, 1);
	else if (caps_on & CAP_SERVER_TIME)
		tags = irc_tags(m, 0);
	if (m->multiline) {
		irc_send_wire(c, tags, multiline_form(c, m));
		return;
	}
	int alt = m->kind == MSG_JOIN && (caps_on & CAP_EXTENDED_JOIN);
	enum wire_format f = alt ? FMT_IRC_ALT : FMT_IRC;
	if (m->rendered[f] == NULL)
		m->rendered[f] = irc_render(m, alt);
	irc_send_wire(c, tags, m->rendered[f]);
}

static void
irc_deliver(struct user *u, struct msg *m)
{
	struct conn *c = u->door;
	/* A message a labeled command sent to its own author is not a reply
	 * to the label (only the echo-message copy is): it goes out as it is. */
	int message = m->kind == MSG_SAY || m->kind == MSG_PRIVATE ||
	    m->kind == MSG_ACTION || m->kind == MSG_NOTICE || m->kind == MSG_TAGMSG;
	if (message && lr.conn == c) {
		lr.conn = NULL;
		irc_deliver_to(c, m);
		lr.conn = c;
		return;
	}
	irc_deliver_to(c, m);
}

static const struct user_ops irc_user_ops = {
	.deliver = irc_deliver,
	.disconnect = conn_disconnect_user,
	.presence = irc_monitor_presence,
	.watched = irc_monitor_watched,
};

/* Capability negotiation (IRCv3 capability-negotiation, CAP 302). */

static unsigned
cap_find(const char *name)
{
	for (size_t i = 0; i < NCAPS; i++)
		if (strcmp(caps[i].name, name) == 0)
			return caps[i].bit;
	return 0;
}

/* CAP LS (every capability offered to c, with values for 302) or CAP
 * LIST (those in which). A 302 client gets as many lines as the list
 * needs, each but the last marked with "*". */
static void
cap_list(struct conn *c, const char *sub, int ls, unsigned which)
{
	struct irc_session *s = irc_session(c);
	char head[IRC_LINE_MAX];
	int hn = snprintf(head, sizeof head, ":%s CAP %s %s ", irc_server_name(c),
	    irc_target(c), sub);
	/* Room for "* :" and CR LF after the head. */
	size_t budget = hn > 0 && (size_t)hn + 5 < IRC_LINE_MAX ?
	    IRC_LINE_MAX - (size_t)hn - 5 : 0;
	char list[IRC_LINE_MAX] = "";
	size_t len = 0;
	for (size_t i = 0; i < NCAPS; i++) {
		char value[128] = "", item[sizeof value + 64];
		if (ls && caps[i].value != NULL &&
		    !caps[i].value(c, value, sizeof value))
			continue;
		if (!ls && !(which & caps[i].bit))
			continue;
		int n = snprintf(item, sizeof item, "%s%s%s", caps[i].name,
		    ls && s->cap_version >= 302 && value[0] ? "=" : "",
		    ls && s->cap_version >= 302 ? value : "");
		if (n < 0 || (size_t)n >= sizeof item)
			continue;
		if (len + 1 + (size_t)n > budget) {
			/* Before 302 a client reads one line only; ours fits. */
			if (s->cap_version < 302 || len == 0)
				break;
			irc_send(c, "%s* :%s", head, list);
			len = 0;
		}
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
		    len ? " " : "", item);
	}
	irc_send(c, "%s:%s", head, list);
}

static void try_register(struct conn *c);

static void
cmd_cap(struct conn *c, struct irc_message *m)
{
	struct irc_session *s = irc_session(c);
	if (m->nparams < 1) {
		irc_numeric(c, "461", "CAP :Not enough parameters");
		return;
	}
	const char *sub = m->params[0];
	if (strcasecmp(sub, "LS") == 0) {
		if (c->user == NULL)
			s->negotiating = 1;
		if (m->nparams > 1 && atoi(m->params[1]) >= 302) {
			s->cap_version = 302;
			s->caps |= CAP_CAP_NOTIFY; /* implied by 302 */
		}
		cap_list(c, "LS", 1, 0);
	} else if (strcasecmp(sub, "LIST") == 0) {
		cap_list(c, "LIST", 0, s->caps);
	} else if (strcasecmp(sub, "REQ") == 0) {
		if (c->user == NULL)
			s->negotiating = 1;
		const char *req = m->nparams > 1 ? m->params[1] : "";
		char copy[IRC_LINE_MAX], *p = copy, *word;
		snprintf(copy, sizeof copy, "%s", req);
		unsigned on = 0, off = 0;
		int ok = 1;
		while ((word = text_word(&p)) != NULL) {
			int remove = word[0] == '-';
			unsigned bit = cap_find(word + remove);
			if (bit == 0 || (remove && bit == CAP_CAP_NOTIFY && s->cap_version >= 302))
				ok = 0;
			else if (remove)
				off |= bit;
			else
				on |= bit;
		}
		/* All or nothing, as the specification says. */
		if (ok) {
			s->caps = (s->caps | on) & ~off;
			irc_send(c, ":%s CAP %s ACK :%s", irc_server_name(c), irc_target(c), req);
		} else
			irc_send(c, ":%s CAP %s NAK :%s", irc_server_name(c), irc_target(c), req);
	} else if (strcasecmp(sub, "END") == 0) {
		if (c->user == NULL) {
			s->negotiating = 0;
			try_register(c);
		}
	} else
		irc_numeric(c, "410", "%s :Invalid CAP command", sub);
}

/* Registration. */

/* ISUPPORT (005). A line carries at most 15 parameters: the nick, the
 * tokens and the closing text, so the tokens go out a dozen at a time. */
#define ISUPPORT_PER_LINE 12
#define ISUPPORT_MAX 32
#define ISUPPORT_TOKEN_MAX 80

void
irc_send_isupport(struct conn *c)
{
	const struct config *cfg = door_cfg(c);
	char tok[ISUPPORT_MAX][ISUPPORT_TOKEN_MAX];
	int n = 0;
	/* More tokens than the array holds is a mistake here, not input. */
#define TOKEN(...) (n < ISUPPORT_MAX ? (void)snprintf(tok[n++], sizeof tok[0], \
	__VA_ARGS__) : abort())
	TOKEN("AWAYLEN=%d", HUB_AWAY_MAX);
	TOKEN("BOT=B");
	TOKEN("CASEMAPPING=ascii");
	TOKEN("CHANLIMIT=#:%d", HUB_ROOMS_PER_USER);
	TOKEN("CHANMODES=beI,k,l,imnst");
	TOKEN("CHANNELLEN=%lu", cfg->channel_len);
	TOKEN("CHANTYPES=#");
	TOKEN("ELIST=CMNTU");
	TOKEN("HOSTLEN=%d", USER_HOST_MAX);
	TOKEN("KEYLEN=%d", HUB_KEY_MAX);
	TOKEN("KICKLEN=%d", HUB_REASON_MAX);
	TOKEN("EXCEPTS=e");
	TOKEN("INVEX=I");
	TOKEN("MAXLIST=beI:%d", HUB_MASKS_PER_ROOM);
	TOKEN("MODES=4");
	TOKEN("MONITOR=%d", HUB_MONITOR_PER_USER);
	TOKEN("NETWORK=Parley");
	TOKEN("NICKLEN=%lu", cfg->nick_len);
	TOKEN("PREFIX=(ov)@+");
	TOKEN("TARGMAX=JOIN:,KICK:%d,NAMES:%d,NOTICE:%d,PART:,PRIVMSG:%d,WHOIS:1",
	    IRC_TARGETS_MAX, IRC_TARGETS_MAX, IRC_TARGETS_MAX, IRC_TARGETS_MAX);
	TOKEN("TOPICLEN=%lu", cfg->topic_len);
	TOKEN("USERLEN=%d", USER_IDENT_MAX);
	TOKEN("UTF8ONLY");
	TOKEN("WHOX");
#undef TOKEN
	for (int i = 0; i < n; i += ISUPPORT_PER_LINE) {
		char line[ISUPPORT_PER_LINE * ISUPPORT_TOKEN_MAX] = "";
		size_t len = 0;
		for (int j = i; j < n && j < i + ISUPPORT_PER_LINE; j++)
			len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
			    len ? " " : "", tok[j]);
		irc_numeric(c, "005", "%s :are supported by this server", line);
	}
}

static void
welcome(struct conn *c)
{
	struct user *u = c->user;
	const char *sn = irc_server_name(c);
	irc_numeric(c, "001", ":Welcome to the Parley IRC Network %s!%s@%s",
	    u->nick, u->ident, u->host);
	irc_numeric(c, "002", ":Your host is %s, running version parley-%s", sn, PARLEY_VERSION);
	irc_numeric(c, "003", ":This server was created %s", door_env(c)->started);
	irc_numeric(c, "004", "%s parley-%s Bio Ibeklmnostv Ibeklov", sn, PARLEY_VERSION);
	irc_send_isupport(c);
	irc_send_lusers(c);
	irc_send_motd(c);
}

static void
try_register(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	const struct config *cfg = door_cfg(c);
	if (c->user != NULL || s->negotiating || !s->got_user || s->nick[0] == '\0')
		return;
	if (cfg->password != NULL && !s->pass_ok) {
		irc_numeric(c, "464", ":Password incorrect");
		irc_send(c, "ERROR :Closing Link: %s (Bad password)", c->host);
		conn_quit(c, "Bad password");
		return;
	}
	enum hub_status st;
	c->user = hub_user_new_named(door_hub(c), s->nick, &irc_user_ops, c,
	    s->ident, c->host, s->realname, &st);
	if (c->user == NULL) {
		irc_hub_error(c, st, s->nick, NULL);
		s->nick[0] = '\0';
		return;
	}
	c->user->one_line = 1;
	c->user->secure = (uint8_t)conn_secure(c);
	/* The hub keeps its own copy; an idle session should hold nothing. */
	free(s->realname);
	s->realname = NULL;
	log_info("%s %s: registered (IRC)", conn_addr(c), c->user->nick);
	welcome(c);
}

static void
cmd_pass(struct conn *c, struct irc_message *m)
{
	const struct config *cfg = door_cfg(c);
	if (c->user != NULL) {
		irc_numeric(c, "462", ":You may not reregister");
		return;
	}
	if (m->nparams < 1) {
		irc_numeric(c, "461", "PASS :Not enough parameters");
		return;
	}
	irc_session(c)->pass_ok = cfg->password != NULL &&
	    config_password_ok(cfg, m->params[0]);
}

static void
cmd_nick(struct conn *c, struct irc_message *m)
{
	struct irc_session *s = irc_session(c);
	struct hub *hub = door_hub(c);
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		irc_numeric(c, "431", ":No nickname given");
		return;
	}
	const char *nick = m->params[0];
	if (c->user != NULL) {
		irc_hub_error(c, hub_nick(hub, c->user, nick), nick, NULL);
		return;
	}
	enum hub_status st = hub_nick_available(hub, nick, NULL);
	if (st != HUB_OK) {
		irc_hub_error(c, st, nick, NULL);
		return;
	}
	snprintf(s->nick, sizeof s->nick, "%s", nick);
	try_register(c);
}

static void
cmd_user(struct conn *c, struct irc_message *m)
{
	struct irc_session *s = irc_session(c);
	if (c->user != NULL || s->got_user) {
		irc_numeric(c, "462", ":You may not reregister");
		return;
	}
	/* Modern IRC: an empty username or realname is as good as none. */
	if (m->nparams < 4 || m->params[0][0] == '\0' || m->params[3][0] == '\0') {
		irc_numeric(c, "461", "USER :Not enough parameters");
		return;
	}
	/* No ident lookup: the name is the client's word, marked with ~, cut
	 * between characters. */
	char ident[IRC_LINE_MAX];
	size_t n = 0;
	ident[n++] = '~';
	for (const char *p = m->params[0]; *p && n < sizeof ident - 1; p++)
		if (*p != '@' && *p != '!' && (unsigned char)*p > ' ')
			ident[n++] = *p;
	ident[n] = '\0';
	n = utf8_fit(ident, n, USER_IDENT_MAX);
	snprintf(s->ident, sizeof s->ident, "%.*s", (int)n, ident);
	free(s->realname);
	s->realname = text_ndup(m->params[3], USER_REALNAME_MAX);
	if (s->realname == NULL) {
		conn_kill(c, "Out of memory");
		return;
	}
	s->got_user = 1;
	try_register(c);
}

static void
cmd_ping(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1) {
		irc_numeric(c, "409", ":No origin specified");
		return;
	}
	irc_send(c, ":%s PONG %s :%s", irc_server_name(c), irc_server_name(c), m->params[0]);
}

static void
cmd_pong(struct conn *c, struct irc_message *m)
{
	(void)c;
	(void)m; /* any input resets the silence timer already */
}

static void
cmd_quit(struct conn *c, struct irc_message *m)
{
	char reason[HUB_REASON_MAX + 1];
	if (m->nparams > 0)
		irc_reason(reason, "Quit: ", m->params[0], "");
	else
		snprintf(reason, sizeof reason, "Quit");
	/* The label's answer must go out before the link closes. */
	if (lr.conn == c)
		label_finish(c);
	irc_send(c, "ERROR :Closing Link: %s (%s)", c->host, reason);
	conn_quit(c, reason);
}

/* Dispatch. */

static const struct irc_command {
	const char *name;
	irc_cmd_fn *fn;
	int before_registration;  /* allowed before the welcome */
} commands[] = {
	{ "ADMIN", irc_cmd_admin, 0 },
	{ "AWAY", irc_cmd_away, 0 },
	{ "BATCH", irc_cmd_batch, 0 },
	{ "CAP", cmd_cap, 1 },
	{ "CHGHOST", irc_cmd_chghost, 0 },
	{ "HELP", irc_cmd_help, 0 },
	{ "HELPOP", irc_cmd_help, 0 },
	{ "INFO", irc_cmd_info, 0 },
	{ "INVITE", irc_cmd_invite, 0 },
	{ "ISON", irc_cmd_ison, 0 },
	{ "JOIN", irc_cmd_join, 0 },
	{ "KICK", irc_cmd_kick, 0 },
	{ "KILL", irc_cmd_kill, 0 },
	{ "LIST", irc_cmd_list, 0 },
	{ "LUSERS", irc_cmd_lusers, 0 },
	{ "MODE", irc_cmd_mode, 0 },
	{ "MONITOR", irc_cmd_monitor, 0 },
	{ "MOTD", irc_cmd_motd, 0 },
	{ "NAMES", irc_cmd_names, 0 },
	{ "NICK", cmd_nick, 1 },
	{ "NOTICE", irc_cmd_notice, 0 },
	{ "OPER", irc_cmd_oper, 0 },
	{ "PART", irc_cmd_part, 0 },
	{ "PASS", cmd_pass, 1 },
	{ "PING", cmd_ping, 1 },
	{ "PONG", cmd_pong, 1 },
	{ "PRIVMSG", irc_cmd_privmsg, 0 },
	{ "REDACT", irc_cmd_redact, 0 },
	{ "QUIT", cmd_quit, 1 },
	{ "SETNAME", irc_cmd_setname, 0 },
	{ "TAGMSG", irc_cmd_tagmsg, 0 },
	{ "TIME", irc_cmd_time, 0 },
	{ "TOPIC", irc_cmd_topic, 0 },
	{ "USER", cmd_user, 1 },
	{ "USERHOST", irc_cmd_userhost, 0 },
	{ "VERSION", irc_cmd_version, 0 },
	{ "WHO", irc_cmd_who, 0 },
	{ "WHOIS", irc_cmd_whois, 0 },
	{ "WHOWAS", irc_cmd_whowas, 0 },
};

static const struct irc_command *
command_find(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const char *
irc_tag_value(const struct irc_message *m, const char *key)
{
	for (int i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].key, key) == 0)
			return m->tags[i].value ? m->tags[i].value : "";
	return NULL;
}

static char *
remove_nul(char *line, size_t len)
{
	char *out = line;
	for (size_t i = 0; i < len; i++)
		if (line[i] != '\0')
			*out++ = line[i];
	*out = '\0';
	return out;
}

/* s as valid UTF-8: itself when it is, else a repaired copy at *at. */
static char *
repair(char *s, char **at)
{
	size_t n = strlen(s);
	if (text_is_clean(s, n))
		return s;
	char *copy = *at;
	*at += text_clean(copy, s, n) + 1;
	return copy;
}

static void utf8_warn(struct conn *c, const char *command);
static void command_run(struct conn *c, const struct irc_command *cmd,
    struct irc_message *m, int modified);

static void
irc_line(struct conn *c, char *line, size_t len)
{
	if (c->user != NULL)
		c->user->last_active = clock_now_ms();  /* WHOIS idle */
	/* NUL bytes go first (that only shrinks the line); the length rules
	 * then apply to what the client sent, and only the parts others will
	 * see are repaired to valid UTF-8, where they may grow. */
	len = (size_t)(remove_nul(line, len) - line);
	struct irc_message m;
	memset(&m, 0, sizeof m);
	enum irc_parse_status st = irc_parse(line, len, &m);
	switch (st) {
	case IRC_PARSE_OK:
	case IRC_PARSE_BAD_COMMAND:  /* answered below, with its label */
		break;
	case IRC_PARSE_EMPTY:
		return;
	case IRC_PARSE_TOO_LONG:
	case IRC_PARSE_TAGS_TOO_LONG:
		irc_numeric(c, "417", ":Input line was too long");
		return;
	case IRC_PARSE_NO_COMMAND:
		irc_numeric(c, "421", "* :Unknown command");
		return;
	}
	char repaired[TEXT_CLEAN_MAX(IRC_TAGS_LEN_MAX + IRC_LINE_MAX) + IRC_PARAMS_MAX +
	    IRC_TAGS_MAX];
	char *at = repaired;
	for (int i = 0; i < m.nparams; i++)
		m.params[i] = repair(m.params[i], &at);
	for (int i = 0; i < m.ntags; i++)
		if (m.tags[i].value != NULL)
			m.tags[i].value = repair(m.tags[i].value, &at);
	int modified = at != repaired;
	const struct irc_command *cmd = st == IRC_PARSE_OK ? command_find(m.command) : NULL;
	/* draft/multiline: a line of a client's batch is kept, not run; the
	 * batch is answered at its end, with the label of its BATCH +. */
	const char *ref = irc_tag_value(&m, "batch");
	if (ref != NULL && c->user != NULL && st == IRC_PARSE_OK) {
		if (modified && cmd != NULL)
			utf8_warn(c, cmd->name);
		irc_multiline_line(c, &m, ref);
	} else {
		if (cmd == NULL || cmd->fn != irc_cmd_batch)
			irc_label_begin(c, irc_tag_value(&m, "label"));
		command_run(c, cmd, &m, modified);
	}
	if (lr.conn == c)
		label_finish(c);
}

void
irc_label_begin(struct conn *c, const char *label)
{
	/* Labels need batch too for replies of several lines, as InspIRCd
	 * has it; a label longer than the bound is not ours to echo. Every
	 * reply of a registered client carries it, errors included. */
	unsigned need = CAP_LABELED_RESPONSE | CAP_BATCH;
	if (label != NULL && *label && strlen(label) <= IRC_LABEL_MAX &&
	    (irc_session(c)->caps & need) == need && c->user != NULL) {
		snprintf(lr.label, sizeof lr.label, "%s", label);
		lr.conn = c;
	}
}

static void
utf8_warn(struct conn *c, const char *command)
{
	irc_send(c, ":%s WARN %s INVALID_UTF8 :Your message was not correctly "
	    "encoded as UTF-8 and had to be modified", irc_server_name(c), command);
}

static void
command_run(struct conn *c, const struct irc_command *cmd, struct irc_message *m,
    int modified)
{
	if (cmd == NULL)
		irc_numeric(c, "421", "%s :Unknown command",
		    text_is_clean(m->command, strlen(m->command)) ? m->command : "*");
	else if (c->user == NULL && !cmd->before_registration)
		irc_numeric(c, "451", ":You have not registered");
	else {
		/* UTF8ONLY: what others see is valid UTF-8. A line that was not
		 * is repaired rather than refused, and its sender told so first. */
		if (modified)
			utf8_warn(c, cmd->name);
		cmd->fn(c, m);
	}
}

/* The door. */

static void
irc_open(struct conn *c)
{
	struct irc_session *s = calloc(1, sizeof *s);
	if (s == NULL) {
		conn_kill(c, "Out of memory");
		return;
	}
	c->door_state = s;
}

static void
irc_overlong(struct conn *c)
{
	irc_numeric(c, "417", ":Input line was too long");
}

static void
irc_closed(struct conn *c, const char *reason)
{
	if (c->user != NULL)
		hub_user_quit(door_hub(c), c->user, reason);
}

static void
irc_shutdown(struct conn *c)
{
	irc_send(c, "ERROR :Closing Link: %s (Server shutting down)", c->host);
}

static void
irc_farewell(struct conn *c, const char *reason)
{
	irc_send(c, "ERROR :Closing Link: %s (%s)", c->host, reason);
}

/* As ircds close a link they will not take: ERROR, then the close. */
static int
irc_refuse(char *buf, size_t cap, const char *host, const char *why)
{
	return snprintf(buf, cap, "ERROR :Closing Link: %s (%c%s)\r\n", host,
	    toupper((unsigned char)why[0]), why + 1);
}

static void
irc_ping(struct conn *c)
{
	irc_send(c, "PING :%s", irc_server_name(c));
}

static void
irc_free(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	if (s == NULL)
		return;
	irc_multiline_free(c);
	free(s->realname);
	free(s);
	c->door_state = NULL;
}

const struct door irc_door = {
	.name = "irc",
	/* Tags, then a 512-byte message: the parser tells which was too long. */
	.max_line = IRC_TAGS_LEN_MAX + IRC_LINE_MAX,
	.open = irc_open,
	.line = irc_line,
	.overlong = irc_overlong,
	.closed = irc_closed,
	.shutdown = irc_shutdown,
	.farewell = irc_farewell,
	.refuse = irc_refuse,
	.ping = irc_ping,
	.free = irc_free,
};
