/* Hub events as IRC lines, each rendering made once per event and shared
 * by every IRC recipient that takes the same form; and what a recipient
 * gets of an event, as its capabilities say. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "doors/irc/irc.h"

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

/* Appends s to buf (n bytes so far, cap in all), cut to fit with its NUL;
 * returns the new length. Every message is rendered with these, once per
 * event: a printf costs more than the rest of its fan-out to a room. */
static size_t
cat(char *buf, size_t cap, size_t n, const char *s)
{
	size_t len = strlen(s);
	if (len > cap - 1 - n)
		len = cap - 1 - n;
	memcpy(buf + n, s, len);
	buf[n + len] = '\0';
	return n + len;
}

/* ":nick!ident@host" into src (HUB_MASK_MAX + 1 bytes). */
static void
source_of(const struct msg *m, char *src)
{
	size_t cap = HUB_MASK_MAX + 1;
	size_t n = cat(src, cap, 0, ":");
	n = cat(src, cap, n, m->from);
	n = cat(src, cap, n, "!");
	n = cat(src, cap, n, ident_of(m));
	n = cat(src, cap, n, "@");
	cat(src, cap, n, host_of(m));
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
	size_t hn = cat(head, sizeof head, 0, src);
	hn = cat(head, sizeof head, hn, " ");
	hn = cat(head, sizeof head, hn, cmd);
	hn = cat(head, sizeof head, hn, " ");
	hn = cat(head, sizeof head, hn, to != NULL ? to : "*");
	hn = cat(head, sizeof head, hn, " :");
	hn = cat(head, sizeof head, hn, pre);
	size_t tail = strlen(post) + 2;
	size_t room = irc_text_room(hn, strlen(post));
	if (room == 0)
		return NULL;
	size_t len = strlen(text), pieces = 0;
	for (size_t at = 0; at < len || pieces == 0; pieces++)
		at += utf8_fit(text + at, len - at, room);
	if (one_line) {
		pieces = 1;
		len = utf8_fit(text, len, room);
	}
	size_t total = pieces * (hn + tail) + len;
	struct wire *w = wire_alloc(total);
	if (w == NULL)
		return NULL;
	char *buf = w->data;
	size_t out = 0;
	for (size_t at = 0, i = 0; i < pieces; i++) {
		size_t n = utf8_fit(text + at, len - at, room);
		memcpy(buf + out, head, hn);
		out += hn;
		memcpy(buf + out, text + at, n);
		out += n;
		memcpy(buf + out, post, tail - 2);
		out += tail - 2;
		memcpy(buf + out, "\r\n", 2);
		out += 2;
		at += n;
	}
	w->len = (uint32_t)out;
	return w;
}

static struct wire *
irc_render(const struct msg *m, int alt)
{
	char src[HUB_MASK_MAX + 1];
	source_of(m, src);
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
			return irc_wire_line("%s JOIN %s %s :%s", src, m->room,
			    m->account[0] ? m->account : "*", text);
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
	case MSG_ACCOUNT:
		return irc_wire_line("%s ACCOUNT %s", src, m->account[0] ? m->account : "*");
	case MSG_CONNECT:
	case MSG_UMODE:
	case MSG_REGISTER:
	case MSG_UNREGISTER:
		return NULL;  /* reach no user (hub.h) */
	}
	return NULL;
}

/* "@time=... " and, with all, the msgid (when with_id), the bot tag and
 * the sender's client-only tags. */
/* Whether the user behind c wants to hear of m at all. */
static int
irc_wants(struct conn *c, const struct msg *m)
{
	unsigned caps_on = irc_session(c)->caps;
	switch (m->kind) {
	case MSG_AWAY:
		return caps_on & CAP_AWAY_NOTIFY;
	case MSG_ACCOUNT:
		return caps_on & CAP_ACCOUNT_NOTIFY;
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
	struct wire *tags = irc_tags_for(c, m);
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
			irc_send(c, ":%s JOIN %s %s :%s", mask, room->name,
			    u->account[0] ? u->account : "*", u->realname);
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
		irc_num(c, RPL_VISIBLEHOST, m->text);
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
	source_of(m, src);
	const char *cmd = m->kind == MSG_NOTICE ? "NOTICE" : "PRIVMSG";
	if (f == FMT_IRC_BATCH) {
		m->rendered[f] = irc_multiline_batch(m, src, cmd);
		return m->rendered[f];
	}
	char rest[IRC_TAGS_LEN_MAX + IRC_OUR_TAGS_MAX] = "";
	if (f != FMT_IRC) {
		struct wire *t = irc_tags_render(m, 1, f == FMT_IRC_LINES_TAGS, 0, 0);
		if (t != NULL)
			snprintf(rest, sizeof rest, "%.*s", (int)t->len, t->data);
		wire_unref(t);
	}
	m->rendered[f] = irc_multiline_lines(m, src, cmd, rest);
	return m->rendered[f];
}

/* The tags of m that c's capabilities ask for; NULL without any (most of
 * a large room's members: they cost no call). */
static inline struct wire *
tags_for(struct conn *c, struct msg *m, unsigned caps_on)
{
	if (!(caps_on & (CAP_MESSAGE_TAGS | CAP_SERVER_TIME | CAP_ACCOUNT_TAG)))
		return NULL;
	return irc_tags_for(c, m);
}

/* irc_render_for, inlined into every delivery. */
static inline int
render_for(struct conn *c, struct msg *m, struct wire **tags, struct wire **body)
{
	if (!irc_wants(c, m))
		return -1;
	unsigned caps_on = irc_session(c)->caps;
	*tags = tags_for(c, m, caps_on);
	if (m->multiline) {
		*body = multiline_form(c, m);
		return *body != NULL ? 0 : -1;
	}
	int alt = m->kind == MSG_JOIN && (caps_on & CAP_EXTENDED_JOIN);
	enum wire_format f = alt ? FMT_IRC_ALT : FMT_IRC;
	if (m->rendered[f] == NULL)
		m->rendered[f] = irc_render(m, alt);
	*body = m->rendered[f];
	return *body != NULL ? 0 : -1;
}

int
irc_render_for(struct conn *c, struct msg *m, struct wire **tags, struct wire **body)
{
	return render_for(c, m, tags, body);
}

static inline void
deliver_to(struct conn *c, struct msg *m)
{
	if (c->user == NULL)
		return;
	if (m->kind == MSG_CHGHOST && chghost_delivered(c, m))
		return;
	struct wire *tags, *body;
	if (render_for(c, m, &tags, &body) < 0)
		return;
	if (irc_session(c)->reply != NULL) {
		irc_send_wire(c, tags, body); /* into the reply */
		return;
	}
	if (tags != NULL)
		conn_send(c, tags);
	conn_send(c, body);
}

void
irc_deliver_to(struct conn *c, struct msg *m)
{
	deliver_to(c, m);
}

/* What a message said to a room or a user is, to a client that asked for
 * no tags: the one line made for all of them (render_for's answer, with
 * its checks known beforehand). */
static inline int
plain_line_for(const struct irc_session *s, const struct msg *m)
{
	return (m->kind == MSG_SAY || m->kind == MSG_ACTION || m->kind == MSG_NOTICE ||
	    m->kind == MSG_PRIVATE) && !m->multiline && m->rendered[FMT_IRC] != NULL &&
	    !(s->caps & (CAP_MESSAGE_TAGS | CAP_SERVER_TIME | CAP_ACCOUNT_TAG));
}

/* Every member of a room, for every event: one call, down to the sendq.
 * Most are a message to a member with no reply open and no tags asked
 * for, who gets the line already made: that takes no more than a look at
 * its caps (W1: a fifth of the instructions of a delivery). */
void
irc_deliver(struct user *u, struct msg *m)
{
	struct conn *c = u->door;
	struct irc_session *s = irc_session(c);
	if (s != NULL && s->reply == NULL && c->user != NULL && plain_line_for(s, m)) {
		conn_send(c, m->rendered[FMT_IRC]);
		return;
	}
	/* A message a labeled command sent to its own author is not a reply
	 * to the label (only the echo-message copy is): it goes out as it is. */
	if (s != NULL && s->reply != NULL && (m->kind == MSG_SAY || m->kind == MSG_PRIVATE ||
	    m->kind == MSG_ACTION || m->kind == MSG_NOTICE || m->kind == MSG_TAGMSG)) {
		struct irc_reply *r = s->reply;
		s->reply = NULL;
		deliver_to(c, m);
		s->reply = r;
		return;
	}
	deliver_to(c, m);
}


void
irc_member_prefix(struct conn *c, const struct member *mem, char *buf)
{
	int multi = irc_session(c)->caps & CAP_MULTI_PREFIX;
	size_t n = 0;
	if (mem->modes & MEMBER_OP)
		buf[n++] = '@';
	if ((mem->modes & MEMBER_VOICE) && (multi || n == 0))
		buf[n++] = '+';
	buf[n] = '\0';
}
