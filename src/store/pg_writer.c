/* The write path on PostgreSQL. The loop copies events into the pending
 * batch and seals it as an epoch; the writer thread, with a connection
 * of its own, commits the epochs queued in one transaction (group
 * commit), sent in libpq's pipeline mode: BEGIN, every op's statements
 * and COMMIT go out at once and their results come back at once, one
 * round trip however many events the loop gathered. Then the loop is
 * told (the eventfd) and what waited for the epoch goes out: a message
 * is committed before any client receives it.
 *
 * When the database goes away (a commit finds the connection broken, or
 * it cannot be made), chat goes on: each epoch is finished at once and
 * its ops held back, in order, up to PG_HELD_MAX events (past it new
 * events are dropped and counted), and the writer reconnects with
 * backoff (PG_RETRY_MIN_MS doubling to PG_RETRY_MAX_MS). When it is back
 * the held ops are written first, then the epochs as before. While it is
 * away the contract is weaker, and the log says so: a message delivered
 * then is only held in memory, and lost if parleyd dies before the
 * database returns. A statement that fails on a working connection (a
 * constraint, say) drops its epoch as SQLite's writer does. Replaying is
 * safe: an event stored already (a COMMIT whose answer was lost) is
 * left as it is (ON CONFLICT DO NOTHING), and a registered room's save
 * or drop is kept only over an older version of the room (below: in a
 * cluster another node may have saved a newer one meanwhile). */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/worker.h"

#define MS_PER_DAY (24 * 60 * 60 * 1000LL)

/* ---- The loop's side (epochs.c) ---- */

int
pg_append(struct store *st, const struct store_event *e)
{
	return epochs_append(&pg_of(st)->q, e);
}

int
pg_redact(struct store *st, const char *target, const char *msgid)
{
	return epochs_redact(&pg_of(st)->q, target, msgid);
}

int
pg_room_save(struct store *st, const struct store_room *r)
{
	return epochs_room_save(&pg_of(st)->q, r);
}

int
pg_room_forget(struct store *st, const char *name, uint64_t version)
{
	return epochs_room_forget(&pg_of(st)->q, name, version);
}

int
pg_pending(const struct store *st)
{
	return epochs_pending(&pg_of(st)->q);
}

uint64_t
pg_seal(struct store *st)
{
	return epochs_seal(&pg_of(st)->q);
}

uint64_t
pg_finished(struct store *st)
{
	struct pg_store *s = pg_of(st);
	uint64_t finished = epochs_finished(&s->q);
	pthread_mutex_lock(&s->q.lock);
	uint64_t lost = s->lost, back = s->back, dropped = s->q.dropped;
	char why[sizeof s->q.last_error];
	memcpy(why, s->q.last_error, sizeof why);
	pthread_mutex_unlock(&s->q.lock);
	/* Logged here, on the loop, once per change: the writer never logs. */
	if (lost > s->seen_lost && !s->logged_lost) {
		log_error("history: the database is away (%s): chat goes on; history and logins"
		    " fail until it is back; events are held back in memory (at most %d) and"
		    " written when it returns", why, PG_HELD_MAX);
		s->logged_lost = 1;
	}
	if (back > s->seen_back && s->logged_lost) {
		log_warn("history: the database is back: held-back events written"
		    " (%llu events dropped in all)", (unsigned long long)dropped);
		s->logged_lost = 0;
	}
	s->seen_lost = lost;
	s->seen_back = back;
	return finished;
}

uint64_t
pg_finished_peek(const struct store *st)
{
	return epochs_finished_peek(&pg_of(st)->q);
}

size_t
pg_unfinished(const struct store *st)
{
	return epochs_unfinished(&pg_of(st)->q);
}

uint64_t
pg_epoch_now(const struct store *st)
{
	return epochs_now(&pg_of(st)->q);
}

void
pg_wait_finished(struct store *st, uint64_t epoch, unsigned ms)
{
	epochs_wait(&pg_of(st)->q, epoch, ms);
}

void
pg_pending_free(struct pg_store *s)
{
	epochs_free(s->held_head);
	s->held_head = NULL;
	s->held_tail = &s->held_head;
	for (size_t i = 0; i < s->ntouched; i++)
		free(s->touched[i]);
	free(s->touched);
	s->touched = NULL;
	s->ntouched = 0;
}

/* ---- The writer's statements ---- */

static const char sql_conversation[] =
    "INSERT INTO conversations (account, target) VALUES ($1, $2) ON CONFLICT DO NOTHING";
static const char sql_redact[] =
    "UPDATE events SET text = NULL, tags = NULL, redacted = true"
    " WHERE target = $1 AND msgid = $2";

static int
send_params(PGconn *c, const char *sql, int n, const char *const *params)
{
	return PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 0) ? 1 : -1;
}

/* A registered room's rows are one snapshot of its state, and a node
 * may write one late (held back while the database was away): another
 * node may have saved a newer one meanwhile. So each carries its
 * version (hub_room_stamp: after every change its node had heard of),
 * and the rooms row is replaced only by a newer version; a forget leaves
 * the row, dropped, as a tombstone at its version, so that an older save
 * written after it does not bring the room back. A room's masks and
 * operators are replaced only by the save (or forget) that the rooms
 * row now holds the version of: "mine" below. */
#define ROOM_MINE "EXISTS (SELECT 1 FROM rooms WHERE key = $1 AND version = $2::bigint)"

static int
send_room_lists_cleared(PGconn *c, const char *key, const char *version)
{
	const char *p[2] = { key, version };
	if (send_params(c, "DELETE FROM room_masks WHERE room = $1 AND " ROOM_MINE, 2, p) < 0 ||
	    send_params(c, "DELETE FROM room_ops WHERE room = $1 AND " ROOM_MINE, 2, p) < 0)
		return -1;
	return 2;
}

int
pg_room_forget_send(PGconn *c, const char *name, uint64_t version)
{
	char key[ROOM_LEN_MAX + 1], v[24];
	store_fold(key, name, sizeof key);
	snprintf(v, sizeof v, "%llu", (unsigned long long)version);
	const char *p[3] = { key, name, v };
	if (send_params(c, "INSERT INTO rooms (key, name, founder, version, dropped)"
	    " VALUES ($1, $2, '', $3, true) ON CONFLICT (key) DO UPDATE SET founder = '',"
	    " topic = NULL, topic_by = NULL, modes = '', password = NULL, topic_at = 0, lim = 0,"
	    " created = 0, version = EXCLUDED.version, dropped = true"
	    " WHERE rooms.version < EXCLUDED.version", 3, p) < 0)
		return -1;
	int n = send_room_lists_cleared(c, key, v);
	return n < 0 ? -1 : 1 + n;
}

int
pg_room_send(PGconn *c, const struct store_room *r)
{
	char key[ROOM_LEN_MAX + 1], topic_at[24], lim[24], created[24], v[24];
	store_fold(key, r->name, sizeof key);
	snprintf(topic_at, sizeof topic_at, "%lld", (long long)r->topic_at);
	snprintf(lim, sizeof lim, "%lu", (unsigned long)r->limit);
	snprintf(created, sizeof created, "%lld", (long long)r->created);
	snprintf(v, sizeof v, "%llu", (unsigned long long)r->version);
	const char *p[11] = { key, r->name, r->founder, r->topic, r->topic_by,
		r->modes != NULL ? r->modes : "", r->password, topic_at, lim, created, v };
	if (send_params(c, "INSERT INTO rooms (key, name, founder, topic, topic_by, modes,"
	    " password, topic_at, lim, created, version, dropped) VALUES ($1, $2, $3, $4, $5,"
	    " $6, $7, $8, $9, $10, $11, false) ON CONFLICT (key) DO UPDATE SET"
	    " name = EXCLUDED.name, founder = EXCLUDED.founder, topic = EXCLUDED.topic,"
	    " topic_by = EXCLUDED.topic_by, modes = EXCLUDED.modes, password = EXCLUDED.password,"
	    " topic_at = EXCLUDED.topic_at, lim = EXCLUDED.lim, created = EXCLUDED.created,"
	    " version = EXCLUDED.version, dropped = false WHERE rooms.version < EXCLUDED.version",
	    11, p) < 0)
		return -1;
	int sent = send_room_lists_cleared(c, key, v);
	if (sent < 0)
		return -1;
	sent++;
	for (size_t i = 0; i < r->nmasks; i++) {
		const struct store_room_mask *m = &r->masks[i];
		char letter[2] = { m->letter, '\0' }, at[24];
		snprintf(at, sizeof at, "%lld", (long long)m->at);
		const char *mp[6] = { key, v, letter, m->mask, m->by, at };
		if (send_params(c, "INSERT INTO room_masks (room, letter, mask, by, at)"
		    " SELECT $1::text, $3::text, $4::text, $5::text, $6::bigint WHERE " ROOM_MINE
		    " ON CONFLICT DO NOTHING", 6, mp) < 0)
			return -1;
		sent++;
	}
	for (size_t i = 0; i < r->nops; i++) {
		char acc[ACCOUNT_LEN_MAX + 1];
		store_fold(acc, r->ops[i], sizeof acc);
		const char *op[3] = { key, v, acc };
		if (send_params(c, "INSERT INTO room_ops (room, account) SELECT $1::text, $3::text"
		    " WHERE " ROOM_MINE " ON CONFLICT DO NOTHING", 3, op) < 0)
			return -1;
		sent++;
	}
	return sent;
}

/* A private conversation's key under both its accounts ("@a b"). */
static int
send_conversation(PGconn *c, const char *target)
{
	char a[ACCOUNT_LEN_MAX + 1];
	const char *b;
	if (store_pair_accounts(target, a, &b) != 0)
		return 0;
	const char *p1[2] = { a, target }, *p2[2] = { b, target };
	if (send_params(c, sql_conversation, 2, p1) < 0 ||
	    send_params(c, sql_conversation, 2, p2) < 0)
		return -1;
	return 2;
}

/* A growing text: one column's array literal being built. */
struct text {
	char *p;
	size_t n, cap;
	int failed;
};

static void
text_put(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->n + n + 1 > t->cap) {
		size_t cap = (t->n + n + 1) * 2;
		char *p = realloc(t->p, cap);
		if (p == NULL) {
			t->failed = 1;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = '\0';
}

/* One element of an array literal: NULL, or s quoted. */
static void
text_element(struct text *t, const char *s)
{
	text_put(t, t->n > 1 ? "," : "", t->n > 1);
	if (s == NULL) {
		text_put(t, "NULL", 4);
		return;
	}
	text_put(t, "\"", 1);
	for (const char *r = s; *r != '\0'; r++) {
		if (*r == '"' || *r == '\\')
			text_put(t, "\\", 1);
		text_put(t, r, 1);
	}
	text_put(t, "\"", 1);
}

#define EVENT_COLUMNS 11
static const char sql_insert_rows[] =
    "INSERT INTO events (msgid, at_ms, target, kind, sender, account, text, extra, tags,"
    " bot, redacted) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[],"
    " $4::smallint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
    " $10::boolean[], $11::boolean[]) ON CONFLICT (target, msgid) DO NOTHING";

/* Where write_epochs is in the epochs' ops. */
struct cursor {
	const struct store_epoch *ep;
	const struct store_op *op;
};

static const struct store_op *
cursor_op(struct cursor *k)
{
	while (k->ep != NULL && k->op == NULL && (k->ep = k->ep->next) != NULL)
		k->op = k->ep->ops;
	return k->op;
}

/* The events from the cursor on (at most PG_INSERT_ROWS, up to the
 * next op of another kind) in one INSERT of arrays, then their private
 * conversations' rows: one statement for many rows, not one each. The
 * statements sent, or -1. */
static int
send_events(PGconn *c, struct cursor *k)
{
	struct text col[EVENT_COLUMNS];
	memset(col, 0, sizeof col);
	for (int i = 0; i < EVENT_COLUMNS; i++)
		text_put(&col[i], "{", 1);
	const struct store_op *op, *pairs[PG_INSERT_ROWS];
	size_t n = 0, npairs = 0;
	for (; (op = cursor_op(k)) != NULL && op->type == OP_EVENT && n < PG_INSERT_ROWS;
	    k->op = op->next, n++) {
		const struct store_event *e = &op->e;
		if (STORE_TARGET_IS_PAIR(e->target))
			pairs[npairs++] = op;
		char at[24], kind[8];
		snprintf(at, sizeof at, "%lld", (long long)e->at_ms);
		snprintf(kind, sizeof kind, "%d", (int)e->kind);
		const char *v[EVENT_COLUMNS] = { e->msgid, at, e->target, kind,
			e->sender != NULL ? e->sender : "", e->account, e->redacted ? NULL : e->text,
			e->extra, e->tags, e->bot ? "t" : "f", e->redacted ? "t" : "f" };
		for (int i = 0; i < EVENT_COLUMNS; i++)
			text_element(&col[i], v[i]);
	}
	int failed = 0;
	const char *params[EVENT_COLUMNS];
	for (int i = 0; i < EVENT_COLUMNS; i++) {
		text_put(&col[i], "}", 1);
		failed |= col[i].failed;
		params[i] = col[i].p;
	}
	int sent = failed ? -1 : send_params(c, sql_insert_rows, EVENT_COLUMNS, params);
	for (int i = 0; i < EVENT_COLUMNS; i++)
		free(col[i].p);
	for (size_t i = 0; sent >= 0 && i < npairs; i++) {
		int m = send_conversation(c, pairs[i]->e.target);
		sent = m < 0 ? -1 : sent + m;
	}
	return sent;
}

/* A redaction's or a room's statements, sent: how many, or -1 (events
 * go by send_events). */
static int
send_op(PGconn *c, const struct store_op *op)
{
	const struct store_event *e = &op->e;
	switch (op->type) {
	case OP_REDACT: {
		const char *p[2] = { e->target, e->msgid };
		return send_params(c, sql_redact, 2, p);
	}
	case OP_ROOM_SAVE:
		return pg_room_send(c, &op->room);
	case OP_ROOM_FORGET:
		return pg_room_forget_send(c, op->room.name, op->room.version);
	case OP_EVENT:
		break;
	}
	return -1;
}

enum write_result { WRITE_OK, WRITE_FAILED, WRITE_LOST };

/* The results of sent statements and of the sync after them: *failed
 * set (and why, the first error) when one failed. 0, or -1 when the
 * connection broke. */
static int
read_results(PGconn *c, long sent, int *failed, char *why, size_t whylen)
{
	for (long i = 0; i < sent; i++) {
		PGresult *r;
		while ((r = PQgetResult(c)) != NULL) {
			ExecStatusType st = PQresultStatus(r);
			if (st == PGRES_FATAL_ERROR && !*failed)
				snprintf(why, whylen, "%s", PQresultErrorMessage(r));
			if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED)
				*failed = 1;
			PQclear(r);
		}
		if (PQstatus(c) == CONNECTION_BAD)
			return -1;
	}
	PGresult *r = PQgetResult(c);  /* the sync's: PGRES_PIPELINE_SYNC */
	int ok = r != NULL && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
	PQclear(r);
	return ok && PQstatus(c) != CONNECTION_BAD ? 0 : -1;
}

/* The epochs from first on, in one transaction, pipelined: statements go
 * out in chunks of PG_PIPELINE_CHUNK, each followed by a sync whose
 * results are read before the next chunk is sent (a sync inside BEGIN
 * does not end the transaction). With no bound, the server could block
 * writing results we do not read while we block writing statements it
 * does not read. The COMMIT goes with the last chunk: one round trip for
 * an epoch of up to a few hundred events. */
static enum write_result
write_epochs(struct pg_store *s, const struct store_epoch *first, char *why, size_t whylen)
{
	PGconn *c = s->wconn;
	why[0] = '\0';
	if (!PQenterPipelineMode(c)) {
		snprintf(why, whylen, "%s", PQerrorMessage(c));
		return PQstatus(c) == CONNECTION_BAD ? WRITE_LOST : WRITE_FAILED;
	}
	int failed = 0, lost = 0;
	long sent = send_params(c, "BEGIN", 0, NULL) > 0;
	failed = sent == 0;
	struct cursor k = { .ep = first, .op = first != NULL ? first->ops : NULL };
	for (;;) {
		const struct store_op *op = cursor_op(&k);
		int last = op == NULL;
		if (!failed && !last) {
			int n;
			if (op->type == OP_EVENT) {
				n = send_events(c, &k);
			} else {
				n = send_op(c, op);
				k.op = op->next;
			}
			failed = n < 0;
			sent += n > 0 ? n : 0;
		}
		if (!failed && last)
			failed = send_params(c, "COMMIT", 0, NULL) < 0;
		else if (!failed && sent < PG_PIPELINE_CHUNK)
			continue;
		if (failed && why[0] == '\0')
			snprintf(why, whylen, "%s", PQerrorMessage(c));
		if (PQpipelineSync(c) != 1 ||
		    read_results(c, sent + (!failed && last), &failed, why, whylen) != 0) {
			lost = 1;
			break;
		}
		sent = 0;
		if (last || failed)
			break;
	}
	if (!lost)
		PQexitPipelineMode(c);
	if (lost || PQstatus(c) == CONNECTION_BAD) {
		if (why[0] == '\0')
			snprintf(why, whylen, "%s", PQerrorMessage(c));
		pg_one_line(why);
		return WRITE_LOST;
	}
	pg_one_line(why);
	if (failed) {
		PQclear(PQexec(c, "ROLLBACK"));
		return PQstatus(c) == CONNECTION_BAD ? WRITE_LOST : WRITE_FAILED;
	}
	return WRITE_OK;
}

/* ---- The writer's connection ---- */

/* The connection is gone: retry after a while; pooled calls probe one
 * at a time meanwhile (pg.c, pg_take). */
static void
went_away(struct pg_store *s, const char *why)
{
	uint64_t now = pg_now_ms();
	int was_up = s->wconn != NULL;
	if (s->wconn != NULL) {
		PQfinish(s->wconn);
		s->wconn = NULL;
	}
	s->retry_ms = s->retry_ms == 0 ? PG_RETRY_MIN_MS :
	    s->retry_ms * 2 > PG_RETRY_MAX_MS ? PG_RETRY_MAX_MS : s->retry_ms * 2;
	s->retry_at = now + s->retry_ms;
	pthread_mutex_lock(&s->q.lock);
	if (was_up) {
		s->lost++;
		snprintf(s->q.last_error, sizeof s->q.last_error, "%s", why);
	}
	s->pool_down = 1;
	pthread_mutex_unlock(&s->q.lock);
}

static void
reconnect(struct pg_store *s)
{
	char err[256];
	PGconn *c = pg_connect(s->url, s->password, err, sizeof err);
	if (c == NULL) {
		went_away(s, err);
		return;
	}
	s->wconn = c;
	s->retry_ms = 0;
	pthread_mutex_lock(&s->q.lock);
	s->pool_down = 0;
	pthread_mutex_unlock(&s->q.lock);
}

/* ---- Holding back ---- */

/* ep (its ops) kept for when the database is back, or dropped past the
 * bound; counted either way. ep is the holder's (or freed). */
static void
hold(struct pg_store *s, struct store_epoch *ep)
{
	ep->next = NULL;
	if (s->held_events + ep->nappends > PG_HELD_MAX ||
	    s->held_bytes + ep->bytes > PG_HELD_BYTES_MAX) {
		pthread_mutex_lock(&s->q.lock);
		s->q.dropped += ep->nappends;
		pthread_mutex_unlock(&s->q.lock);
		epochs_free(ep);
		return;
	}
	*s->held_tail = ep;
	s->held_tail = &ep->next;
	s->held_events += ep->nappends;
	s->held_bytes += ep->bytes;
	pthread_mutex_lock(&s->q.lock);
	s->held_now = s->held_events;
	pthread_mutex_unlock(&s->q.lock);
}

/* What was held back, written now that there is a connection. */
static void
write_held(struct pg_store *s)
{
	char why[256];
	enum write_result r = write_epochs(s, s->held_head, why, sizeof why);
	if (r == WRITE_LOST) {
		went_away(s, why);
		return;
	}
	size_t n = s->held_events;
	pthread_mutex_lock(&s->q.lock);
	if (r == WRITE_OK) {
		s->q.committed += n;
		s->back++;
	} else {
		s->q.dropped += n;
		s->q.commits_failed++;
		s->back++;
		snprintf(s->q.last_error, sizeof s->q.last_error, "%s", why);
	}
	s->held_now = 0;
	pthread_mutex_unlock(&s->q.lock);
	epochs_free(s->held_head);
	s->held_head = NULL;
	s->held_tail = &s->held_head;
	s->held_events = s->held_bytes = 0;
}

/* ---- Retention ---- */

static void
touch(struct pg_store *s, const char *target)
{
	if (s->touched_all || s->opt.max_rows == 0)
		return;
	for (size_t i = s->ntouched; i > 0 && i + 8 > s->ntouched; i--)
		if (strcmp(s->touched[i - 1], target) == 0)
			return;  /* the same few rooms again: the common case */
	if (s->ntouched >= PG_TOUCHED_MAX) {
		s->touched_all = 1;
		return;
	}
	char **grown = realloc(s->touched, (s->ntouched + 1) * sizeof *grown);
	char *t = strdup(target);
	if (grown == NULL || t == NULL) {
		if (grown != NULL)
			s->touched = grown;
		free(t);
		s->touched_all = 1;
		return;
	}
	s->touched = grown;
	s->touched[s->ntouched++] = t;
}

/* One statement's rows deleted, added to pruned; -1 when it fails. */
static int
prune_exec(struct pg_store *s, const char *sql, int n, const char *const *p, long *deleted)
{
	PGresult *r = pg_exec(s->wconn, sql, n, p);
	int ok = pg_ok(r);
	*deleted = ok ? atol(PQcmdTuples(r)) : 0;
	PQclear(r);
	if (!ok)
		return -1;
	pthread_mutex_lock(&s->q.lock);
	s->q.pruned += (uint64_t)*deleted;
	pthread_mutex_unlock(&s->q.lock);
	return 0;
}

/* Rows past history-max-age, a batch; past history-max-rows in the
 * targets touched (all of them after a start). 1 when there is more. */
static int
prune(struct pg_store *s, uint64_t now)
{
	long deleted = 0;
	char batch[24];
	snprintf(batch, sizeof batch, "%d", PG_PRUNE_BATCH);
	if (s->opt.max_age_days > 0 && now >= s->age_check_at) {
		char cutoff[24];
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long long wall = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		snprintf(cutoff, sizeof cutoff, "%lld", wall - (long long)s->opt.max_age_days * MS_PER_DAY);
		const char *p[2] = { cutoff, batch };
		if (prune_exec(s, "DELETE FROM events WHERE id IN (SELECT id FROM events"
		    " WHERE at_ms < $1 ORDER BY at_ms LIMIT $2)", 2, p, &deleted) != 0)
			return 0;
		if (deleted >= PG_PRUNE_BATCH)
			return 1;
		s->age_check_at = now + PG_AGE_CHECK_MS;
	}
	if (s->opt.max_rows == 0)
		return 0;
	char max[24];
	snprintf(max, sizeof max, "%lu", (unsigned long)s->opt.max_rows);
	if (s->touched_all) {
		/* Every target: those past the bound, found by one scan. */
		const char *p[1] = { max };
		PGresult *r = pg_exec(s->wconn, "SELECT target FROM events GROUP BY target"
		    " HAVING count(*) > $1", 1, p);
		s->touched_all = 0;
		for (int i = 0; pg_ok(r) && i < PQntuples(r); i++)
			touch(s, PQgetvalue(r, i, 0));
		PQclear(r);
	}
	if (s->ntouched == 0)
		return 0;
	char *t = s->touched[--s->ntouched];
	const char *p[2] = { t, max };
	prune_exec(s, "DELETE FROM events WHERE target = $1 AND msgid <= (SELECT msgid"
	    " FROM events WHERE target = $1 ORDER BY msgid DESC OFFSET $2 LIMIT 1)", 2, p,
	    &deleted);
	free(t);
	return s->ntouched > 0;
}

/* ---- The thread ---- */

/* The epochs taken from the queue: written (after what was held back),
 * held back, or dropped; then finished, and the loop told. */
static void
write_batch(struct pg_store *s, struct store_epoch *batch)
{
	uint64_t now = pg_now_ms();
	if (s->wconn == NULL && now >= s->retry_at)
		reconnect(s);
	int held = s->held_head != NULL;
	if (s->wconn != NULL && held)
		write_held(s);
	if (batch == NULL) {
		/* The loop logs that the database is back now, not at the
		 * next epoch's end. */
		if (held && s->held_head == NULL)
			epochs_tell_loop(&s->q);
		return;
	}
	enum write_result r = WRITE_LOST;
	char why[256] = "";
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (s->wconn != NULL && s->held_head == NULL) {
		r = write_epochs(s, batch, why, sizeof why);
		if (r == WRITE_LOST)
			went_away(s, why);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	uint64_t us = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000 +
	    (uint64_t)((b.tv_nsec - a.tv_nsec) / 1000);
	pthread_mutex_lock(&s->q.lock);
	epochs_done(&s->q, batch, r == WRITE_OK ? EPOCHS_COMMITTED :
	    r == WRITE_FAILED ? EPOCHS_FAILED : EPOCHS_HELD, why, us);
	pthread_mutex_unlock(&s->q.lock);
	if (r == WRITE_OK) {
		for (const struct store_epoch *ep = batch; ep != NULL; ep = ep->next)
			for (const struct store_op *op = ep->ops; op != NULL; op = op->next)
				if (op->type == OP_EVENT)
					touch(s, op->e.target);
		epochs_free(batch);
	} else if (r == WRITE_FAILED) {
		epochs_free(batch);
	} else {
		while (batch != NULL) {
			struct store_epoch *next = batch->next;
			hold(s, batch);
			batch = next;
		}
	}
	epochs_tell_loop(&s->q);
}

/* When the writer next has something to do with no epoch: a retry while
 * ops are held back, or pruning once idle. UINT64_MAX: nothing. */
static uint64_t
next_due(const struct pg_store *s, int prune_more)
{
	uint64_t due = UINT64_MAX;
	if (s->wconn == NULL || s->held_head != NULL)
		due = s->held_head != NULL ? s->retry_at : UINT64_MAX;
	if (s->wconn != NULL && (s->opt.max_rows > 0 || s->opt.max_age_days > 0)) {
		uint64_t p = prune_more ? 0 : s->idle_at;
		if (s->ntouched == 0 && !s->touched_all && !prune_more) {
			p = s->opt.max_age_days > 0 ? (s->age_check_at > s->idle_at ?
			    s->age_check_at : s->idle_at) : UINT64_MAX;
		}
		if (p < due)
			due = p;
	}
	return due;
}

static void *
writer_main(void *arg)
{
	struct pg_store *s = arg;
	int prune_more = 0;
	pthread_mutex_lock(&s->q.lock);
	for (;;) {
		while (!s->q.stopping && s->q.q_head == NULL) {
			if (s->seen_back_pool && s->wconn == NULL)
				break;
			uint64_t due = next_due(s, prune_more), now = pg_now_ms();
			if (due <= now)
				break;
			if (due == UINT64_MAX) {
				pthread_cond_wait(&s->q.wake, &s->q.lock);
				continue;
			}
			struct timespec ts;
			clock_deadline_in(&ts, due - now);
			pthread_cond_timedwait(&s->q.wake, &s->q.lock, &ts);
		}
		struct store_epoch *batch = epochs_take(&s->q);
		int stopping = s->q.stopping;
		if (s->seen_back_pool) {
			/* A pooled call connected: no need to wait out the backoff. */
			s->seen_back_pool = 0;
			s->retry_at = 0;
		}
		pthread_mutex_unlock(&s->q.lock);
		if (batch != NULL || s->held_head != NULL) {
			write_batch(s, batch);
			s->idle_at = pg_now_ms() + PG_IDLE_MS;
			prune_more = 0;
		} else if (!stopping && s->wconn != NULL) {
			prune_more = prune(s, pg_now_ms());
			if (!prune_more)
				s->idle_at = pg_now_ms() + PG_IDLE_MS;
		} else if (!stopping && s->wconn == NULL && pg_now_ms() >= s->retry_at) {
			reconnect(s);
		}
		pthread_mutex_lock(&s->q.lock);
		if (stopping && s->q.q_head == NULL)
			break;
	}
	pthread_mutex_unlock(&s->q.lock);
	/* What is still held back is lost with the process: counted. */
	if (s->held_head != NULL) {
		pthread_mutex_lock(&s->q.lock);
		s->q.dropped += s->held_events;
		s->held_now = 0;
		pthread_mutex_unlock(&s->q.lock);
	}
	return NULL;
}

int
pg_writer_start(struct pg_store *s, char *err, size_t errlen)
{
	s->idle_at = pg_now_ms() + PG_IDLE_MS;
	s->age_check_at = s->idle_at;
	s->touched_all = s->opt.max_rows > 0;
	if (thread_start(&s->writer, writer_main, s) != 0) {
		snprintf(err, errlen, "store: cannot start the writer thread");
		return -1;
	}
	s->writer_running = 1;
	return 0;
}

void
pg_writer_stop(struct pg_store *s)
{
	if (!s->writer_running)
		return;
	epochs_stop(&s->q);
	pthread_join(s->writer, NULL);
	s->writer_running = 0;
	if (s->held_head != NULL)
		log_warn("history: %zu events held back while the database was away are lost:"
		    " it did not return before parleyd stopped", s->held_events);
}
