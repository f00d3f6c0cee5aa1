/* IRCv3 draft/multiline, sent: a multiline message (text with '\n'
 * between its lines and '\r' before one that continues the one before,
 * as msg.h says) as a batch for clients with the capability, or as its
 * lines one by one for the others. Each form is made once per message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "doors/irc/irc.h"


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
		put(o, ";" IRC_MULTILINE_CONCAT_TAG, strlen(";" IRC_MULTILINE_CONCAT_TAG));
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
	size_t room = irc_text_room((size_t)hn, 0);
	if (room == 0)
		room = IRC_TEXT_ROOM_MIN; /* never: every name in head is bounded */
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
	snprintf(open, sizeof open, "%s BATCH +ml%s %s %s\r\n", src, m->id,
	    IRC_MULTILINE_BATCH_TYPE, m->room ? m->room : m->target);
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
