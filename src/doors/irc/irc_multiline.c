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
	irc_fail(c, "BATCH", code, context, text);
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
	if (m->nparams < 3 || strcmp(m->params[1], IRC_MULTILINE_BATCH_TYPE) != 0) {
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
		char cut[IRC_ML_TARGET_MAX + 1];
		snprintf(cut, sizeof cut, "%.*s", IRC_ML_TARGET_MAX, target);
		irc_num(c, ERR_NOSUCHNICK, cut);
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
		irc_num(c, ERR_NEEDMOREPARAMS, "BATCH");
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
	int concat = ml->lines > 0 && irc_tag_value(m, IRC_MULTILINE_CONCAT_TAG) != NULL;
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

