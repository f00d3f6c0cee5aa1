/* A room's history on the plain door (see the header). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "doors/door_history.h"
#include "doors/irc/irc_history_parse.h"
#include "doors/plain_history.h"
#include "doors/plain_render.h"

enum plain_history_kind { PH_HISTORY, PH_SEARCH, PH_REPLAY };

/* One answer, shared by the job (until its done) and its place in the
 * conn's output (until the conn takes it all, or goes). */
struct plain_wait {
	struct conn_pager base;
	unsigned refs;
	struct conn *conn;            /* NULL once the pager is gone */
	enum plain_history_kind kind;
	struct door_hjob *job;        /* the answer, once done */
	int failed;                   /* cancelled, or the store failed */
	size_t next;                  /* the next event to show */
	unsigned shown;
	uint8_t held;                 /* the conn_hold of the DOOR_HJOBS_MAX-th */
};

static void
wait_unref(struct plain_wait *w)
{
	if (--w->refs > 0)
		return;
	door_hjob_free(w->job);
	free(w);
}

/* A private message as its reader saw it live: "*bob* hi" from the
 * other, "-> *bob* hi" as sent by the reader itself (any connection of
 * its account). */
static struct wire *
private_line(struct conn *c, const struct store_event *e)
{
	if (e->text == NULL || e->extra == NULL || e->sender == NULL)
		return NULL;
	int mine = e->account != NULL && c->user != NULL && hub_logged_in_as(c->user, e->account);
	size_t nick = strcspn(e->sender, "!");
	const char *text = e->text;
	int action = e->kind == SK_ACTION;
	if (mine)
		return wire_printf("-> *%s* %s%s\n", e->extra, action ? "* " : "", text);
	return wire_printf("*%.*s* %s%s\n", (int)nick, e->sender, action ? "* " : "", text);
}

/* e's live line, each line of it behind "<< TIME ". */
static void
send_event(struct conn *c, const struct store_event *e, const char *room)
{
	struct wire *live = NULL;
	if (STORE_TARGET_IS_PAIR(e->target)) {
		live = private_line(c, e);
	} else {
		struct msg *m = door_history_msg(e, room);
		live = m != NULL ? plain_render(m) : NULL;
		msg_unref(m);
	}
	if (live == NULL)
		return;
	char when[IH_TIME_LEN + 1];
	ih_time_write(e->at_ms, when);
	for (size_t at = 0; at < live->len;) {
		const char *line = live->data + at;
		const char *nl = memchr(line, '\n', live->len - at);
		size_t n = nl ? (size_t)(nl - line) : live->len - at;
		conn_sendf(c, "<< %.19sZ %.*s\n", when, (int)n, line);
		at += n + 1;
	}
	wire_unref(live);
}

static int
wait_fill(struct conn *c, struct conn_pager *base)
{
	struct plain_wait *w = (struct plain_wait *)base;
	const struct door_hquery *q = w->job ? &w->job->q[0] : NULL;
	if (q == NULL || w->failed || q->r.failed) {
		if (w->kind != PH_REPLAY)
			conn_sendf(c, "!! server-error: the history could not be read\n");
		return 0;
	}
	while (w->next < q->r.n) {
		if (conn_page_full(c))
			return 1;
		const struct store_event *e = &q->r.events[w->next++];
		if (e->redacted)
			continue;
		send_event(c, e, q->name);
		w->shown++;
	}
	const char *s = w->shown == 1 ? "" : "s";
	if (w->kind == PH_SEARCH)
		conn_sendf(c, "-- %s: %u message%s found\n", q->name, w->shown, s);
	else if (w->kind == PH_HISTORY || w->shown > 0)
		conn_sendf(c, "-- %s: %u earlier message%s\n", q->name, w->shown, s);
	return 0;
}

static void
wait_free(struct conn_pager *base)
{
	struct plain_wait *w = (struct plain_wait *)base;
	w->conn = NULL;
	wait_unref(w);
}

static void
wait_done(struct door_hjob *j, int cancelled)
{
	struct plain_wait *w = j->ctx;
	w->job = j;
	w->failed = cancelled;
	if (w->conn != NULL && w->held)
		conn_unhold(w->conn);
	if (w->conn != NULL)
		conn_page_resume(w->conn, &w->base);
	wait_unref(w);
}

/* c's answers still being looked up. */
static unsigned
in_flight(const struct conn *c)
{
	unsigned n = 0;
	for (const struct conn_pager *p = c->pagers; p != NULL; p = p->next)
		n += p->fill == wait_fill && ((const struct plain_wait *)p)->job == NULL;
	return n;
}

static enum plain_history_status
ask(struct conn *c, const struct room *room, enum plain_history_kind kind, uint32_t n,
    const char *text, const char *nick)
{
	if (door_env(c)->store == NULL)
		return PH_OFF;
	struct door_hjob *j;
	if (nick != NULL) {
		/* A private conversation: none kept unless you are logged in. */
		if ((j = door_hjob_new(1)) != NULL) {
			j->n = 1;
			j->q[0].q.kind = SQ_BEFORE;
			j->q[0].q.limit = n;
			if (door_hquery_private(door_hub(c), &j->q[0], c->user, nick) < 0) {
				door_hjob_free(j);
				conn_sendf(c, "-- %s: 0 earlier messages\n", nick);
				return PH_OK;
			}
		}
	} else {
		j = door_hjob_one(kind == PH_SEARCH ? SQ_SEARCH : SQ_BEFORE, room, NULL, n);
	}
	struct plain_wait *w = calloc(1, sizeof *w);
	if (j == NULL || w == NULL || (kind == PH_SEARCH &&
	    door_hquery_search(&j->q[0], text, NULL) < 0)) {
		door_hjob_free(j);
		free(w);
		return PH_NOMEM;
	}
	if (kind != PH_SEARCH)
		door_hquery_until_now(&j->q[0], door_hub(c));
	w->kind = kind;
	w->refs = 2; /* the job's and the pager's */
	w->conn = c;
	if (door_hjob_submit(c, j, wait_done, w) < 0) {
		door_hjob_free(j);
		free(w);
		return PH_BUSY;
	}
	/* The last one c may have in flight: its next lines wait for it. */
	if (in_flight(c) + 1 >= DOOR_HJOBS_MAX)
		w->held = conn_hold(c) == 0;
	w->base.fill = wait_fill;
	w->base.free = wait_free;
	w->base.parked = 1;
	conn_page(c, &w->base);
	return PH_OK;
}

enum plain_history_status
plain_history_ask(struct conn *c, const struct room *room, uint32_t n, const char *text)
{
	return ask(c, room, text != NULL ? PH_SEARCH : PH_HISTORY, n, text, NULL);
}

enum plain_history_status
plain_history_private(struct conn *c, const char *nick, uint32_t n)
{
	return ask(c, NULL, PH_HISTORY, n, NULL, nick);
}

void
plain_history_replay(struct conn *c, const struct room *room)
{
	unsigned long n = door_cfg(c)->history_replay;
	if (n > 0)
		(void)ask(c, room, PH_REPLAY, (uint32_t)n, NULL, NULL);
}
