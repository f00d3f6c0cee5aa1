/* IRCv3 draft/multiline: a client sends several lines as one message, in
 * a batch (BATCH +ref draft/multiline target, PRIVMSG or NOTICE lines
 * tagged batch=ref, BATCH -ref); the server checks it against max-bytes
 * and max-lines and hands the hub one message whose text keeps the lines
 * ('\n' between them, '\r' before one that continues the one before, as
 * msg.h says). Recipients with the capability get it back as a batch;
 * others get its lines one by one; plain users get each line as a line.
 *
 * A batch being received lives in the session, bounded by max-bytes, and
 * is freed when it ends, fails or the connection closes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/text.h"
#include "doors/irc/irc.h"

#define BATCH_TYPE "draft/multiline"
#define CONCAT_TAG "draft/multiline-concat"
#define IRC_BATCH_REF_MAX 64
#define IRC_ML_TARGET_MAX 64   /* longer than any nick or room name */

struct irc_multiline {
	char ref[IRC_BATCH_REF_MAX + 1];
	char target[IRC_ML_TARGET_MAX + 1];
	char label[IRC_LABEL_MAX + 1];  /* of the BATCH +, for the answer */
	char *client_tags;              /* of the BATCH +, or NULL */
	int kind;                       /* MSG_SAY or MSG_NOTICE, -1 before a line */
	uint8_t failed;                 /* told FAIL: the rest is ignored */
	uint16_t lines;
	size_t bytes;                   /* counted as max-bytes counts */
	size_t len;                     /* of text, markers included */
	char text[IRC_MULTILINE_MAX_BYTES + IRC_MULTILINE_MAX_LINES + 1];
};

void
irc_multiline_free(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	if (s->ml == NULL)
		return;
	free(s->ml->client_tags);
	free(s->ml);
	s->ml = NULL;
}

/* FAIL BATCH code [context] :text (multiline and client-batch both say
 * FAIL, whatever the client's caps), with the batch's label. The batch,
 * if any, is failed: what else comes of it is dropped. */
static void
batch_fail(struct conn *c, const char *code, const char *context, const char *text)
{
	struct irc_multiline *ml = irc_session(c)->ml;
	if (ml != NULL && !ml->failed) {
		irc_label_begin(c, ml->label);
		ml->label[0] = '\0';
		ml->failed = 1;
	}
	irc_send(c, ":%s FAIL BATCH %s%s%s :%s", irc_server_name(c), code,
	    context ? " " : "", context ? context : "", text);
}

static int
ref_valid(const char *ref)
{
	size_t n = strlen(ref);
	if (n == 0 || n > IRC_BATCH_REF_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)ref[i];
		if (ch <= ' ' || ch == ';' || ch == '=' || ch >= 0x7F)
			return 0;
	}
	return 1;
}

/* BATCH + that cannot open is answered now, with its own label. */
static void
open_fail(struct conn *c, const char *label, const char *code, const char *context,
    const char *text)
{
	irc_label_begin(c, label);
	batch_fail(c, code, context, text);
}

/* BATCH +ref type target. A batch that opens is answered when it closes. */
static void
batch_open(struct conn *c, struct irc_message *m, const char *ref)
{
	struct irc_session *s = irc_session(c);
	const char *label = irc_tag_value(m, "label");
	if (s->ml != NULL) {
		/* One batch at a time: a second one drops the first. */
		batch_fail(c, "MULTILINE_INVALID", NULL, "Batches may not overlap");
		irc_multiline_free(c);
		return;
	}
	if (!ref_valid(ref)) {
		open_fail(c, label, "INVALID_REFTAG", ref[0] ? ref : "*",
		    "Invalid batch reference tag");
		return;
	}
	if (m->nparams < 3 || strcmp(m->params[1], BATCH_TYPE) != 0) {
		open_fail(c, label, "UNKNOWN_TYPE", m->nparams > 1 ? m->params[1] : "*",
		    "Unknown batch type");
		return;
	}
	if (!(s->caps & CAP_MULTILINE)) {
		open_fail(c, label, "MULTILINE_INVALID", NULL,
		    "Multiline batches need the draft/multiline capability");
		return;
	}
	const char *target = m->params[2];
	if (strlen(target) > IRC_ML_TARGET_MAX) {
		irc_label_begin(c, label);
		irc_numeric(c, "401", "%.*s :No such nick/channel", IRC_ML_TARGET_MAX, target);
		return;
	}
	struct irc_multiline *ml = calloc(1, sizeof *ml);
	char tagbuf[IRC_TAGS_LEN_MAX];
	const char *tags = irc_client_tags(m, tagbuf, sizeof tagbuf);
	if (ml == NULL || (tags != NULL && (ml->client_tags = strdup(tags)) == NULL)) {
		free(ml);
		open_fail(c, label, "TEMPORARILY_UNAVAILABLE", NULL, "Out of memory");
		return;
	}
	snprintf(ml->ref, sizeof ml->ref, "%s", ref);
	snprintf(ml->target, sizeof ml->target, "%s", target);
	snprintf(ml->label, sizeof ml->label, "%s",
	    label && strlen(label) <= IRC_LABEL_MAX ? label : "");
	ml->kind = -1;
	s->ml = ml;
}

/* The batch ends: the message goes to the hub as one, answered with the
 * batch's label (the echo is the reply). */
static void
batch_close(struct conn *c, const char *ref)
{
	struct irc_multiline *ml = irc_session(c)->ml;
	if (ml == NULL || strcmp(ml->ref, ref) != 0) {
		batch_fail(c, "MULTILINE_INVALID", NULL, "No such batch is open");
		return;
	}
	if (ml->failed) {
		irc_multiline_free(c);
		return;
	}
	ml->text[ml->len] = '\0';
	if (ml->lines == 0 || strspn(ml->text, "\n") == ml->len) {
		batch_fail(c, "MULTILINE_INVALID", NULL, "A multiline message may not be blank");
		irc_multiline_free(c);
		return;
	}
	irc_label_begin(c, ml->label);
	irc_send_message(c, ml->target, (enum msg_kind)ml->kind, ml->text, ml->client_tags,
	    ml->kind == MSG_NOTICE);
	irc_multiline_free(c);
}

void
irc_cmd_batch(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1 || (m->params[0][0] != '+' && m->params[0][0] != '-')) {
		irc_label_begin(c, irc_tag_value(m, "label"));
		irc_numeric(c, "461", "BATCH :Not enough parameters");
		return;
	}
	if (m->params[0][0] == '+')
		batch_open(c, m, m->params[0] + 1);
	else
		batch_close(c, m->params[0] + 1);
}

void
irc_multiline_line(struct conn *c, struct irc_message *m, const char *ref)
{
	struct irc_multiline *ml = irc_session(c)->ml;
	if (ml == NULL || strcmp(ml->ref, ref) != 0) {
		batch_fail(c, "MULTILINE_INVALID", NULL, "No such batch is open");
		return;
	}
	if (ml->failed)
		return;
	int kind = strcasecmp(m->command, "PRIVMSG") == 0 ? MSG_SAY :
	    strcasecmp(m->command, "NOTICE") == 0 ? MSG_NOTICE : -1;
	if (kind < 0 || (ml->kind >= 0 && kind != ml->kind) || m->nparams < 2) {
		batch_fail(c, "MULTILINE_INVALID", NULL, "Invalid multiline batch");
		return;
	}
	if (strcasecmp(m->params[0], ml->target) != 0) {
		char context[2 * IRC_ML_TARGET_MAX + 2];
		snprintf(context, sizeof context, "%s %.*s", ml->target, IRC_ML_TARGET_MAX,
		    m->params[0]);
		batch_fail(c, "MULTILINE_INVALID_TARGET", context, "Invalid multiline target");
		return;
	}
	const char *text = m->params[1];
	size_t n = strlen(text);
	int concat = ml->lines > 0 && irc_tag_value(m, CONCAT_TAG) != NULL;
	if (concat && n == 0) {
		batch_fail(c, "MULTILINE_INVALID", NULL,
		    "Invalid multiline batch with concatenated blank line");
		return;
	}
	if (ml->lines == IRC_MULTILINE_MAX_LINES) {
		char limit[16];
		snprintf(limit, sizeof limit, "%d", IRC_MULTILINE_MAX_LINES);
		batch_fail(c, "MULTILINE_MAX_LINES", limit, "Multiline batch max-lines exceeded");
		return;
	}
	/* A line feed between lines counts toward max-bytes; the marker of
	 * a continued line does not. */
	size_t add = n + (ml->lines > 0 && !concat);
	if (ml->bytes + add > IRC_MULTILINE_MAX_BYTES) {
		char limit[16];
		snprintf(limit, sizeof limit, "%d", IRC_MULTILINE_MAX_BYTES);
		batch_fail(c, "MULTILINE_MAX_BYTES", limit, "Multiline batch max-bytes exceeded");
		return;
	}
	if (ml->lines > 0)
		ml->text[ml->len++] = concat ? '\r' : '\n';
	memcpy(ml->text + ml->len, text, n);
	ml->len += n;
	ml->bytes += add;
	ml->lines++;
	ml->kind = kind;
}

/* Rendering. */

/* Output counted first (buf NULL), then written. */
struct out {
	char *buf;
	size_t len;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->buf != NULL)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* The room a line's text has after head and before CR LF. */
static size_t
text_room(size_t head)
{
	return head + 2 + 16 < IRC_LINE_MAX ? IRC_LINE_MAX - head - 2 : 16;
}

/* Each line of m's text in pieces that fit behind head: fn gets each
 * piece, whether it continues the piece before (a continued line, or the
 * rest of a line too long for one), and whether its line is blank. */
static void
each_piece(const char *text, size_t room, struct out *o,
    void (*fn)(struct out *o, const char *p, size_t n, int cont, void *arg), void *arg)
{
	const char *p = text;
	int cont = 0;
	for (;;) {
		size_t n = strcspn(p, "\n\r");
		size_t at = 0;
		do {
			size_t k = utf8_fit(p + at, n - at, room);
			fn(o, p + at, k, cont || at > 0, arg);
			at += k;
		} while (at < n);
		if (p[n] == '\0')
			return;
		cont = p[n] == '\r';
		p += n + 1;
	}
}

struct render {
	const char *head;       /* ":src CMD target :" */
	size_t headlen;
	const char *batch_tag;  /* "@batch=mlN", or NULL for the lines form */
	const char *rest;       /* the lines form: tags of the lines after the first */
	int first;
};

static void
put_batch_piece(struct out *o, const char *p, size_t n, int cont, void *arg)
{
	struct render *r = arg;
	put(o, r->batch_tag, strlen(r->batch_tag));
	if (cont)
		put(o, ";" CONCAT_TAG, strlen(";" CONCAT_TAG));
	put(o, " ", 1);
	put(o, r->head, r->headlen);
	put(o, p, n);
	put(o, "\r\n", 2);
}

static void
put_line_piece(struct out *o, const char *p, size_t n, int cont, void *arg)
{
	struct render *r = arg;
	(void)cont;
	if (n == 0)
		return;   /* no blank lines for clients without multiline */
	if (!r->first)
		put(o, r->rest, strlen(r->rest));
	r->first = 0;
	put(o, r->head, r->headlen);
	put(o, p, n);
	put(o, "\r\n", 2);
}

static struct wire *
render(const struct msg *m, const char *src, const char *cmd, struct render *r,
    const char *open, const char *close,
    void (*fn)(struct out *o, const char *p, size_t n, int cont, void *arg))
{
	char head[IRC_LINE_MAX];
	int hn = snprintf(head, sizeof head, "%s %s %s :", src, cmd,
	    m->room ? m->room : m->target);
	if (hn < 0 || (size_t)hn >= sizeof head)
		return NULL;
	r->head = head;
	r->headlen = (size_t)hn;
	size_t room = text_room((size_t)hn);
	struct out o = { NULL, 0 };
	for (int pass = 0; pass < 2; pass++) {
		r->first = 1;
		put(&o, open, strlen(open));
		each_piece(m->text, room, &o, fn, r);
		put(&o, close, strlen(close));
		if (pass == 0) {
			if ((o.buf = malloc(o.len)) == NULL)
				return NULL;
			o.len = 0;
		}
	}
	struct wire *w = wire_new(o.buf, o.len);
	free(o.buf);
	return w;
}

struct wire *
irc_multiline_batch(const struct msg *m, const char *src, const char *cmd)
{
	/* The reference is the msgid's: unique, so one rendering serves
	 * every recipient. */
	char tag[48], open[IRC_LINE_MAX], close[IRC_LINE_MAX];
	snprintf(tag, sizeof tag, "@batch=ml%s", m->id);
	snprintf(open, sizeof open, "%s BATCH +ml%s %s %s\r\n", src, m->id, BATCH_TYPE,
	    m->room ? m->room : m->target);
	snprintf(close, sizeof close, "%s BATCH -ml%s\r\n", src, m->id);
	struct render r = { .batch_tag = tag };
	return render(m, src, cmd, &r, open, close, put_batch_piece);
}

struct wire *
irc_multiline_lines(const struct msg *m, const char *src, const char *cmd,
    const char *rest_tags)
{
	struct render r = { .rest = rest_tags };
	return render(m, src, cmd, &r, "", "", put_line_piece);
}
