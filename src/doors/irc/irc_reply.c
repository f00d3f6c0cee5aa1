/* Sending, and the reply of a command: everything the IRC door sends to a
 * client comes through here, so that what answers a labeled command
 * carries its label (IRCv3 labeled-response): one line gets the label,
 * several come in a labeled batch, none is an ACK.
 *
 * A reply is an object (struct irc_reply), made for a command when it has
 * a label or will finish later; a command with neither sends straight to
 * the conn. A reply finished later (irc_reply_keep: CHATHISTORY,
 * AUTHENTICATE, anything done by a worker) holds c's output behind it as
 * a long reply does (struct conn_pager, parked until it is done): the
 * client gets its replies in the order it asked, and whatever else it is
 * sent meanwhile (others' messages, later commands' replies) after them.
 * The reply reaches its conn only through that pager: when the conn goes,
 * the pager is freed and the reply forgets the conn, so a worker that
 * finishes late finds nobody to answer and drops what it made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "doors/irc/irc.h"

/* Lines held for one labeled reply before it becomes a batch that
 * streams: a reply of a line or two gets the label on its line. */
#define IRC_PENDING_MAX 64
/* Bytes held for one labeled reply: well under a page of a long reply
 * (see conn_page), so what is held never pushes a conn past its sendq
 * when it is let go at once. */
#define IRC_PENDING_BYTES 1024
/* Lines a waiting reply makes room for at first. */
#define IRC_REPLY_OUT_FIRST 16
/* "batch=lr" and an id. */
#define IRC_BATCH_TAG_MAX 32

struct reply_pager;

struct irc_reply {
	unsigned refs;
	struct conn *conn;            /* NULL once the conn is gone */
	char label[IRC_LABEL_MAX + 1]; /* until a line or the batch carries it; "" if none */
	struct wire *held[IRC_PENDING_MAX];      /* lines held for the label */
	struct wire *held_tags[IRC_PENDING_MAX]; /* their tags, or NULL */
	int nheld;
	size_t held_bytes;
	unsigned batch;               /* the labeled batch lines stream into, or 0 */
	uint8_t keep;                 /* irc_reply_keep: finished later */
	uint8_t waiting;              /* its command is done: it waits, c's output behind it */
	uint8_t resumed;              /* between irc_reply_resume and irc_reply_done */
	uint8_t finished;
	struct irc_reply *outer;      /* c's reply before irc_reply_resume */
	struct reply_pager *pager;    /* waiting: its place in c's output */
	struct wire **out;            /* waiting: what it says, in order */
	size_t nout, capout, sent, out_bytes;
};

/* A waiting reply's place in its conn's output. */
struct reply_pager {
	struct conn_pager base;
	struct irc_reply *r;
};

const char *
irc_target(struct conn *c)
{
	if (c->user != NULL)
		return c->user->nick;
	struct irc_session *s = irc_session(c);
	return s->nick[0] ? s->nick : "*";
}

static struct irc_reply *
reply_new(struct conn *c)
{
	struct irc_reply *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->refs = 1;
	r->conn = c;
	return r;
}

static void
held_drop(struct irc_reply *r, int i)
{
	wire_unref(r->held[i]);
	wire_unref(r->held_tags[i]);
	r->held[i] = r->held_tags[i] = NULL;
}

static void
reply_unref(struct irc_reply *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	for (int i = 0; i < r->nheld; i++)
		held_drop(r, i);
	for (size_t i = r->sent; i < r->nout; i++)
		wire_unref(r->out[i]);
	free(r->out);
	free(r);
}

/* A waiting reply keeps what it says until its pager lets it out:
 * bounded as the conn's own queue is. */
static void
out_push(struct irc_reply *r, struct conn *c, struct wire *w)
{
	if (w == NULL || r->conn == NULL)
		return;
	if (r->out_bytes + w->len > door_cfg(c)->sendq) {
		conn_close(c, "sendq exceeded", CONN_CLOSE_NOW);
		return;
	}
	struct wire **out = buf_grow(r->out, &r->capout, r->nout + 1, sizeof *out,
	    IRC_REPLY_OUT_FIRST);
	if (out == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	r->out = out;
	r->out[r->nout++] = wire_ref(w);
	r->out_bytes += w->len;
}

/* A line of r on its way: to the conn, or, while r waits, into r. */
static void
emit(struct irc_reply *r, struct conn *c, struct wire *tags, struct wire *body)
{
	if (r != NULL && r->waiting) {
		out_push(r, c, tags);
		out_push(r, c, body);
		return;
	}
	if (tags != NULL)
		conn_send(c, tags);
	conn_send(c, body);
}

static void
emitf(struct irc_reply *r, struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
emitf(struct irc_reply *r, struct conn *c, const char *fmt, ...)
{
	char line[IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	size_t n = irc_vformat(line, "", fmt, ap);
	va_end(ap);
	struct wire *w = wire_new(line, n);
	emit(r, c, NULL, w);
	wire_unref(w);
}

/* A tag prefix ("@a=b ") with one more tag in front, e.g. the label. */
static struct wire *
tags_with(const char *tag, const struct wire *tags)
{
	if (tags == NULL)
		return wire_printf("@%s ", tag);
	return wire_printf("@%s;%.*s", tag, (int)tags->len - 1, tags->data + 1);
}

static void reply_put(struct irc_reply *r, struct conn *c, struct wire *tags,
    struct wire *body);

/* More replies than can be held: the batch opens now and the rest of the
 * replies stream into it (NAMES or WHO of a large room). */
static void
open_batch(struct irc_reply *r, struct conn *c)
{
	char label[IRC_LABEL_TAG_MAX];
	irc_label_tag(label, r->label);
	r->label[0] = '\0';
	unsigned id = ++irc_session(c)->batches;
	struct wire *open = wire_printf("@%s :%s BATCH +lr%u labeled-response\r\n",
	    label, irc_server_name(c), id);
	emit(r, c, NULL, open);
	wire_unref(open);
	r->batch = id;
	for (int i = 0; i < r->nheld; i++) {
		reply_put(r, c, r->held_tags[i], r->held[i]);
		held_drop(r, i);
	}
	r->nheld = 0;
	r->held_bytes = 0;
}

static void
reply_put(struct irc_reply *r, struct conn *c, struct wire *tags, struct wire *body)
{
	if (r->batch) {
		char batch[IRC_BATCH_TAG_MAX];
		snprintf(batch, sizeof batch, "batch=lr%u", r->batch);
		struct wire *t = tags_with(batch, tags);
		emit(r, c, t, body);
		wire_unref(t);
		return;
	}
	if (r->label[0] != '\0') {
		/* Held for the labeled reply; the label joins the tags then. */
		size_t n = body->len + (tags ? tags->len : 0);
		if (r->nheld < IRC_PENDING_MAX &&
		    (r->nheld == 0 || r->held_bytes + n <= IRC_PENDING_BYTES)) {
			r->held_tags[r->nheld] = tags ? wire_ref(tags) : NULL;
			r->held[r->nheld++] = wire_ref(body);
			r->held_bytes += n;
			return;
		}
		open_batch(r, c);
		reply_put(r, c, tags, body);
		return;
	}
	emit(r, c, tags, body);
}

/* The reply is complete: one held line gets the label, several come in
 * a batch, none is an ACK; a batch that streamed is closed. */
static void
finish(struct irc_reply *r, struct conn *c)
{
	if (r->batch) {
		unsigned id = r->batch;
		r->batch = 0;
		emitf(r, c, ":%s BATCH -lr%u", irc_server_name(c), id);
		return;
	}
	if (r->label[0] == '\0')
		return;
	char label[IRC_LABEL_TAG_MAX];
	irc_label_tag(label, r->label);
	r->label[0] = '\0';
	int n = r->nheld;
	r->nheld = 0;
	r->held_bytes = 0;
	if (n == 0) {
		emitf(r, c, "@%s :%s ACK", label, irc_server_name(c));
		return;
	}
	if (n == 1) {
		struct wire *tags = tags_with(label, r->held_tags[0]);
		emit(r, c, tags, r->held[0]);
		wire_unref(tags);
		held_drop(r, 0);
		return;
	}
	unsigned id = ++irc_session(c)->batches;
	emitf(r, c, "@%s :%s BATCH +lr%u labeled-response", label, irc_server_name(c), id);
	char batch[IRC_BATCH_TAG_MAX];
	snprintf(batch, sizeof batch, "batch=lr%u", id);
	for (int i = 0; i < n; i++) {
		struct wire *tags = tags_with(batch, r->held_tags[i]);
		emit(r, c, tags, r->held[i]);
		wire_unref(tags);
		held_drop(r, i);
	}
	emitf(r, c, ":%s BATCH -lr%u", irc_server_name(c), id);
}

void
irc_label_begin(struct conn *c, const char *label)
{
	/* Labels need batch too for replies of several lines, as InspIRCd
	 * has it; a label longer than the bound is not ours to echo. Every
	 * reply of a registered client carries it, errors included. */
	struct irc_session *s = irc_session(c);
	unsigned need = CAP_LABELED_RESPONSE | CAP_BATCH;
	if (label == NULL || *label == '\0' || strlen(label) > IRC_LABEL_MAX ||
	    (s->caps & need) != need || c->user == NULL)
		return;
	if (s->reply == NULL && (s->reply = reply_new(c)) == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	snprintf(s->reply->label, sizeof s->reply->label, "%s", label);
}

/* Sending. */

void
irc_send_wire(struct conn *c, struct wire *tags, struct wire *body)
{
	if (body == NULL)
		return;
	struct irc_session *s = irc_session(c);
	if (s != NULL && s->reply != NULL) {
		reply_put(s->reply, c, tags, body);
		return;
	}
	if (tags != NULL)
		conn_send(c, tags);
	conn_send(c, body);
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
irc_fail(struct conn *c, const char *cmd, const char *code, const char *context,
    const char *text)
{
	irc_send(c, ":%s FAIL %s %s%s%s :%s", irc_server_name(c), cmd, code,
	    context ? " " : "", context ? context : "", text);
}

void
irc_fail_vendor(struct conn *c, const char *cmd, const char *code,
    const char *context, const char *text)
{
	if (!(irc_session(c)->caps & CAP_STANDARD_REPLIES)) {
		irc_notice(c, "%s: %s", cmd, text);
		return;
	}
	irc_fail(c, cmd, code, context, text);
}

void
irc_send_closing(struct conn *c, const char *reason)
{
	irc_send(c, IRC_CLOSING_LINK, c->host, reason);
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
	struct irc_session *s = irc_session(c);
	struct irc_reply *was = s->reply;
	struct irc_reply in_batch = { .batch = p->batch };
	s->reply = p->batch ? &in_batch : NULL;
	int more = p->fill(c, p);
	s->reply = was;
	return more;
}

static void
irc_pager_deferred(struct conn *c, struct conn_pager *base)
{
	struct irc_pager *p = (struct irc_pager *)base;
	struct irc_reply *r = irc_session(c)->reply;
	p->later = 1;
	if (r != NULL && r->label[0] != '\0')
		open_batch(r, c);
	p->batch = r != NULL ? r->batch : 0;
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

/* Replies finished later. */

static int
reply_fill(struct conn *c, struct conn_pager *base)
{
	struct irc_reply *r = ((struct reply_pager *)base)->r;
	if (!r->finished)
		return 1;
	while (r->sent < r->nout) {
		if (conn_page_full(c))
			return 1;
		struct wire *w = r->out[r->sent++];
		conn_send(c, w);
		wire_unref(w);
	}
	return 0;
}

static void
reply_pager_free(struct conn_pager *base)
{
	struct reply_pager *p = (struct reply_pager *)base;
	struct irc_reply *r = p->r;
	/* Gone while a worker's answer is being written (past its sendq):
	 * the conn's replies go back to what they were. */
	if (r->resumed && r->conn != NULL && irc_session(r->conn) != NULL) {
		irc_session(r->conn)->reply = r->outer;
		r->resumed = 0;
	}
	r->pager = NULL;
	r->conn = NULL;
	reply_unref(p->r);
	free(p);
}

/* The command is done but its reply is not: it takes its place in c's
 * output, and waits. */
static void
reply_wait(struct irc_reply *r, struct conn *c)
{
	struct reply_pager *p = calloc(1, sizeof *p);
	if (p == NULL) {
		r->conn = NULL;
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	r->waiting = 1;
	r->refs++;
	p->r = r;
	r->pager = p;
	p->base.fill = reply_fill;
	p->base.free = reply_pager_free;
	p->base.parked = 1;
	conn_page(c, &p->base);
}

void
irc_reply_end(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	struct irc_reply *r = s != NULL ? s->reply : NULL;
	if (r == NULL)
		return;
	s->reply = NULL;
	if (r->keep && !r->finished)
		reply_wait(r, c);
	else
		finish(r, c);
	reply_unref(r);
}

struct irc_reply *
irc_reply_keep(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	if (s->reply == NULL && (s->reply = reply_new(c)) == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return NULL;
	}
	s->reply->keep = 1;
	s->reply->refs++;
	return s->reply;
}

struct conn *
irc_reply_resume(struct irc_reply *r)
{
	struct conn *c = r->conn;
	if (c == NULL || !r->waiting || r->finished || r->resumed)
		return NULL;
	struct irc_session *s = irc_session(c);
	r->outer = s->reply;
	s->reply = r;
	r->resumed = 1;
	return c;
}

struct conn *
irc_reply_conn(const struct irc_reply *r)
{
	return r->conn;
}

void
irc_reply_done(struct irc_reply *r)
{
	struct conn *c = r->conn;
	if (!r->waiting) {
		/* Done before its command is: the command's end finishes it. */
		r->keep = 0;
	} else if (c != NULL && !r->finished) {
		finish(r, c);
		r->finished = 1;
		if (r->resumed) {
			irc_session(c)->reply = r->outer;
			r->resumed = 0;
		}
		if (r->pager != NULL)
			conn_page_resume(c, &r->pager->base);
	}
	reply_unref(r);
}

void
irc_reply_forget(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	if (s != NULL && s->reply != NULL && !s->reply->resumed) {
		reply_unref(s->reply);
		s->reply = NULL;
	}
}
