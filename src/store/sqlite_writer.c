/* The write path. The loop copies events into the pending batch and
 * seals it as an epoch; the writer thread, with a connection of its own,
 * commits each epoch in one transaction (group commit: however many
 * events the loop gathered in one pass cost one COMMIT), in order, and
 * tells the loop through the eventfd. An epoch that cannot be committed
 * (disk full, I/O error) is dropped and counted, and finishes all the
 * same: chat goes on, and history resumes with the next commit that
 * works. When nothing is queued the writer prunes old rows, a small
 * batch per transaction. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/worker.h"

/* How often the writer looks for rows past history-max-age when nothing
 * else wakes it. */
#define STORE_AGE_CHECK_MS 60000

#define MS_PER_DAY (24 * 60 * 60 * 1000LL)

/* ---- The loop's side (epochs.c) ---- */

int
sqlite_append(struct store *s, const struct store_event *e)
{
	return epochs_append(&s->q, e);
}

int
sqlite_redact(struct store *s, const char *target, const char *msgid)
{
	return epochs_redact(&s->q, target, msgid);
}

int
sqlite_room_save(struct store *s, const struct store_room *r)
{
	return epochs_room_save(&s->q, r);
}

int
sqlite_room_forget(struct store *s, const char *name, uint64_t version)
{
	return epochs_room_forget(&s->q, name, version);
}

int
sqlite_pending(const struct store *s)
{
	return epochs_pending(&s->q);
}

uint64_t
sqlite_seal(struct store *s)
{
	return epochs_seal(&s->q);
}

uint64_t
sqlite_finished(struct store *s)
{
	return epochs_finished(&s->q);
}

uint64_t
sqlite_finished_peek(const struct store *s)
{
	return epochs_finished_peek(&s->q);
}

size_t
sqlite_unfinished(const struct store *s)
{
	return epochs_unfinished(&s->q);
}

uint64_t
sqlite_epoch_now(const struct store *s)
{
	return epochs_now(&s->q);
}

void
sqlite_wait_finished(struct store *s, uint64_t epoch, unsigned ms)
{
	epochs_wait(&s->q, epoch, ms);
}

void
store_pending_free(struct store *s)
{
	struct store_touched *t, *tmp;
	HASH_ITER(hh, s->touched, t, tmp) {
		HASH_DEL(s->touched, t);
		free(t);
	}
	free(s->prune_target);
	s->prune_target = NULL;
	free(s->prune_scan);
	s->prune_scan = NULL;
}

/* ---- The writer thread ---- */

static int
bind_text(sqlite3_stmt *st, int i, const char *p)
{
	return p != NULL ? sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* The search index holds the text of the message kinds. */
static int
indexed(int kind, const char *text)
{
	return STORE_KIND_IS_MESSAGE(kind) && text != NULL;
}

/* Rows found by st (id, kind, text, target, msgid), at most
 * STORE_PRUNE_BATCH, gone from the search index, the room index and
 * events (sqlite_rows.c). -1 when the database fails. */
static int
delete_rows(struct store *s, sqlite3_stmt *st, uint64_t *deleted)
{
	const struct store_rows_del d = { .fts_delete = s->w_fts_delete,
		.row_delete = s->w_delete, .room_delete = s->w_room_delete,
		.fts_hwm = s->fts_hwm, .room_hwm = s->room_hwm };
	return store_rows_delete(&d, st, deleted);
}

/* The row of msgid in target out of the search index (when it is in
 * it yet), then its text and tags gone. A msgid not stored is nothing
 * to take back. */
static int
write_redact(struct store *s, const char *target, const char *msgid)
{
	sqlite3_stmt *st = s->w_find;
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, msgid, -1, SQLITE_STATIC);
	int rc, fail = 0;
	while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 2);
		fail = indexed(sqlite3_column_int(st, 1), text) && id <= s->fts_hwm &&
		    store_fts_unindex(s->w_fts_delete, id, target, text) != 0;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (fail || rc != SQLITE_DONE)
		return -1;
	sqlite3_bind_text(s->w_redact, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->w_redact, 2, msgid, -1, SQLITE_STATIC);
	return store_step_done(s->w_redact);
}

/* A private conversation's key under both its accounts ("@a b"). */
static int
write_conversation(struct store *s, const char *target)
{
	char a[ACCOUNT_LEN_MAX + 1];
	const char *b;
	if (store_pair_accounts(target, a, &b) != 0)
		return 0;
	const char *accounts[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st = s->w_conversation;
		bind_text(st, 1, accounts[i]);
		bind_text(st, 2, target);
		if (store_step_done(st) != 0)
			return -1;
	}
	return 0;
}

/* The columns most events hold the same value in (kind, account, extra,
 * tags, bot, redacted: a small int or NULL) are bound only when it
 * changes. A parameter keeps its value across sqlite3_reset (insert
 * statements are never cleared), and each bind costs some 70 to 80
 * instructions (callgrind): some 440 of a row's 9,100 in
 * write_events went to binding again what was bound already. Each
 * insert statement remembers what those parameters hold, KEPT_COLUMNS a
 * row; text is bound at every row (it points into the epoch, freed
 * after the commit), and its slot says so. */
#define KEPT_COLUMNS 6
#define KEPT_UNKNOWN INT64_MIN         /* bound to text, or never bound */
#define KEPT_NULL (INT64_MIN + 1)

static void
bind_kept_int(sqlite3_stmt *st, int i, int64_t *kept, int v)
{
	if (*kept == v)
		return;
	sqlite3_bind_int(st, i, v);
	*kept = v;
}

static void
bind_kept_text(sqlite3_stmt *st, int i, int64_t *kept, const char *p)
{
	if (p != NULL) {
		sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC);
		*kept = KEPT_UNKNOWN;
	} else if (*kept != KEPT_NULL) {
		sqlite3_bind_null(st, i);
		*kept = KEPT_NULL;
	}
}

/* One event's parameters, at ?(at + 1) to ?(at + STORE_EVENT_COLUMNS)
 * (SQL_INSERT_HEAD's order), the kept ones against kept[0 .. KEPT_COLUMNS).
 * Every parameter holds this event's value afterwards: nothing to
 * clear. */
static void
bind_event(sqlite3_stmt *st, int at, int64_t *kept, const struct store_event *e)
{
	sqlite3_bind_text(st, at + 1, e->msgid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, at + 2, e->at_ms);
	bind_text(st, at + 3, e->target);
	bind_kept_int(st, at + 4, &kept[0], (int)e->kind);
	bind_text(st, at + 5, e->sender != NULL ? e->sender : "");
	bind_kept_text(st, at + 6, &kept[1], e->account);
	bind_text(st, at + 7, e->redacted ? NULL : e->text);
	bind_kept_text(st, at + 8, &kept[2], e->extra);
	bind_kept_text(st, at + 9, &kept[3], e->tags);
	bind_kept_int(st, at + 10, &kept[4], e->bot);
	bind_kept_int(st, at + 11, &kept[5], e->redacted);
}

/* Where commit_epochs is in the epochs' ops: the next op, over epoch
 * boundaries (NULL at the end). */
struct cursor {
	const struct store_epoch *ep;
	const struct store_op *op;
};

static const struct store_op *
cursor_op(struct cursor *k)
{
	while (k->op == NULL && k->ep != NULL && (k->ep = k->ep->next) != NULL)
		k->op = k->ep->ops;
	return k->op;
}

#define SQL_INSERT_HEAD \
    "INSERT INTO events (msgid, at_ms, target, kind, sender, account, text, extra," \
    " tags, bot, redacted) VALUES "
#define SQL_INSERT_ROW "(?,?,?,?,?,?,?,?,?,?,?)"

/* The statement that inserts n events (1 to STORE_INSERT_ROWS), prepared
 * the first time it is needed; NULL when it cannot be. */
static sqlite3_stmt *
insert_rows(struct store *s, int n)
{
	sqlite3_stmt **st = &s->w_insert_rows[n - 1];
	if (*st != NULL)
		return *st;
	int64_t *kept = malloc((size_t)n * KEPT_COLUMNS * sizeof *kept);
	if (kept == NULL)
		return NULL;
	for (int i = 0; i < n * KEPT_COLUMNS; i++)
		kept[i] = KEPT_UNKNOWN;
	char sql[sizeof SQL_INSERT_HEAD + STORE_INSERT_ROWS * sizeof SQL_INSERT_ROW];
	char *at = stpcpy(sql, SQL_INSERT_HEAD);
	for (int i = 0; i < n; i++)
		at = stpcpy(stpcpy(at, i > 0 ? "," : ""), SQL_INSERT_ROW);
	if (sqlite3_prepare_v3(s->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		free(kept);
		return NULL;
	}
	s->w_insert_kept[n - 1] = kept;
	return *st;
}

/* The events from the cursor on (up to the next op of another kind, over
 * epochs) stored: STORE_INSERT_ROWS to a statement while that many are
 * left, then one by one. Their room index and words are written after
 * the commit (room_step, fts_step); a msgid a target holds already (a
 * replay) is a second row until room_step deletes it. */
static int
write_events(struct store *s, struct cursor *k)
{
	for (;;) {
		const struct store_op *run[STORE_INSERT_ROWS], *op;
		int n = 0;
		for (; (op = cursor_op(k)) != NULL && op->type == OP_EVENT &&
		    n < STORE_INSERT_ROWS; k->op = op->next)
			run[n++] = op;
		if (n == 0)
			return 0;
		sqlite3_stmt *st = insert_rows(s, n);
		if (st == NULL)
			return -1;
		for (int r = 0; r < n; r++)
			bind_event(st, r * STORE_EVENT_COLUMNS, &s->w_insert_kept[n - 1][r * KEPT_COLUMNS],
			    &run[r]->e);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return -1;
		int64_t id = sqlite3_last_insert_rowid(s->wdb);
		if (id > s->w_top)
			s->w_top = id;
		/* Kept under both accounts (a replay finds them there). */
		for (int i = 0; i < n; i++)
			if (STORE_TARGET_IS_PAIR(run[i]->e.target) &&
			    write_conversation(s, run[i]->e.target) != 0)
				return -1;
	}
}

static int
write_op(struct store *s, const struct store_op *op)
{
	const struct store_event *e = &op->e;
	if (op->type == OP_REDACT)
		return write_redact(s, e->target, e->msgid);
	if (op->type == OP_ROOM_SAVE)
		return store_room_write(s->wdb, &op->room);
	if (op->type == OP_ROOM_FORGET)
		return store_room_delete(s->wdb, op->room.name);
	return -1;  /* events go by write_events */
}

/* Before the transaction's rows: when the newest rows were deleted since
 * the indexes took them (an account's conversations), SQLite gives
 * their ids again, to rows the indexes do not hold; each mark goes back
 * to the highest id there is, in this transaction, so that they are
 * indexed as any other. */
static int
mark_ids(struct store *s)
{
	sqlite3_stmt *st = s->w_top_id;
	int rc = sqlite3_step(st);
	int64_t top = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (top < 0)
		return -1;
	/* The highest id committed is this one's, not the last commit's: an
	 * index's batch takes the ids up to it as done (room_step). */
	s->w_top = top;
	if (top < s->room_hwm) {
		sqlite3_bind_int64(s->w_room_mark, 1, top);
		if (store_step_done(s->w_room_mark) != 0)
			return -1;
		s->room_hwm = top;
	}
	if (top < s->fts_hwm) {
		sqlite3_bind_int64(s->w_fts_mark, 1, top);
		if (store_step_done(s->w_fts_mark) != 0)
			return -1;
		s->fts_hwm = top;
	}
	return 0;
}

static void
touch(struct store *s, const char *target)
{
	if (s->touched_all || target == NULL)
		return;
	struct store_touched *t;
	HASH_FIND_STR(s->touched, target, t);
	if (t == NULL) {
		if (HASH_COUNT(s->touched) >= STORE_TOUCHED_MAX) {
			s->touched_all = 1;
			return;
		}
		size_t n = strlen(target) + 1;
		t = malloc(sizeof *t + n);
		if (t == NULL) {
			s->touched_all = 1;
			return;
		}
		t->added = 0;
		memcpy(t->name, target, n);
		HASH_ADD_STR(s->touched, name, t);
	}
	t->added++;
}

/* A touched target that took enough to be worth a check, taken out of
 * the set; NULL when none has. */
static char *
touched_take(struct store *s)
{
	struct store_touched *t, *tmp;
	HASH_ITER(hh, s->touched, t, tmp) {
		if (t->added < STORE_PRUNE_SLACK(s->opt.max_rows))
			continue;
		HASH_DEL(s->touched, t);
		char *name = strdup(t->name);
		free(t);
		return name;
	}
	return NULL;
}

/* The epochs queued, in one transaction: while the writer commits, the
 * loop may seal several more, and they all go in the next COMMIT, so
 * the commits a second stay few however short the loop's passes. 0, or
 * -1 with the reason in why. */
static int
commit_epochs(struct store *s, const struct store_epoch *first, char *why, size_t whylen)
{
	s->w_top = s->max_id;
	if (store_step_done(s->w_begin) != 0)
		goto fail;
	if (mark_ids(s) != 0)
		goto fail;
	struct cursor k = { .ep = first, .op = first != NULL ? first->ops : NULL };
	for (const struct store_op *op; (op = cursor_op(&k)) != NULL; ) {
		if (op->type == OP_EVENT) {
			if (write_events(s, &k) != 0)
				goto fail;
		} else {
			if (write_op(s, op) != 0)
				goto fail;
			k.op = op->next;
		}
	}
	if (store_step_done(s->w_commit) != 0)
		goto fail;
	s->max_id = s->w_top;
	if (s->opt.max_rows > 0)
		for (const struct store_epoch *ep = first; ep != NULL; ep = ep->next)
			for (const struct store_op *op = ep->ops; op != NULL; op = op->next)
				if (op->type == OP_EVENT)
					touch(s, op->e.target);
	return 0;
fail:
	snprintf(why, whylen, "%s", sqlite3_errmsg(s->wdb));
	if (!sqlite3_get_autocommit(s->wdb))
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* One small batch of rows past history-max-rows in one target. 1 when
 * there may be more to do, 0 when none is left. */
static int
prune_rows_step(struct store *s, uint64_t *deleted)
{
	sqlite3_stmt *st;
	if (s->prune_target == NULL) {
		/* Which target next: the next name of all of them (after a start
		 * or when too many were touched), else one touched. */
		char *next = NULL;
		if (s->touched_all) {
			st = s->w_next_target;
			sqlite3_bind_text(st, 1, s->prune_scan != NULL ? s->prune_scan : "", -1,
			    SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				next = strdup((const char *)sqlite3_column_text(st, 0));
			sqlite3_reset(st);
			if (next == NULL) {
				s->touched_all = 0;
				free(s->prune_scan);
				s->prune_scan = NULL;
				return 1;  /* the touched ones next */
			}
			free(s->prune_scan);
			s->prune_scan = strdup(next);
			if (s->prune_scan == NULL) {
				free(next);
				s->touched_all = 0;
				return 0;
			}
		} else if ((next = touched_take(s)) == NULL) {
			return 0;
		}
		/* The newest msgid past the bound, if the target has so many. */
		st = s->w_cutoff;
		sqlite3_bind_text(st, 1, next, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, s->opt.max_rows);
		int found = sqlite3_step(st) == SQLITE_ROW;
		if (found)
			snprintf(s->prune_cutoff, sizeof s->prune_cutoff, "%s",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		if (!found) {
			free(next);
			return 1;
		}
		s->prune_target = next;
	}
	st = s->w_prune_rows;
	sqlite3_bind_text(st, 1, s->prune_target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->prune_cutoff, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, STORE_PRUNE_BATCH);
	uint64_t before = *deleted;
	int rc = delete_rows(s, st, deleted);
	if (rc != 0 || *deleted - before < STORE_PRUNE_BATCH) {
		free(s->prune_target);
		s->prune_target = NULL;
	}
	return rc == 0;
}

/* One small batch of the oldest rows (by rowid, which is the order they
 * came in) past history-max-age. 1 when a batch was deleted. */
static int
prune_age_step(struct store *s, uint64_t *deleted)
{
	sqlite3_stmt *st = s->w_prune_age;
	sqlite3_bind_int64(st, 1, clock_now_ms() - (int64_t)s->opt.max_age_days * MS_PER_DAY);
	sqlite3_bind_int(st, 2, STORE_PRUNE_BATCH);
	uint64_t before = *deleted;
	if (delete_rows(s, st, deleted) != 0)
		return 0;
	return *deleted > before;
}

/* One batch of retention in its own transaction. 1 when there is more. */
static int
prune_step(struct store *s)
{
	uint64_t deleted = 0;
	int more = 0;
	if (store_step_done(s->w_begin) != 0)
		return 0;
	if (s->opt.max_rows > 0)
		more = prune_rows_step(s, &deleted);
	if (!more && s->opt.max_age_days > 0)
		more = prune_age_step(s, &deleted);
	/* A batch that failed midway is rolled back whole. */
	if (store_step_done(s->w_commit) != 0) {
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
		return 0;  /* tried again at the next idle time */
	}
	pthread_mutex_lock(&s->q.lock);
	s->q.pruned += deleted;
	s->prune_batches++;
	pthread_mutex_unlock(&s->q.lock);
	return more;
}

/* The rows past the room index's mark, ids up to STORE_ROOM_BATCH past
 * it, into it with one statement, and the mark moved in the same
 * transaction (a crash leaves both as they were). A row whose msgid its
 * target holds already is a replay's second copy: deleted (never in the
 * search index, which takes only rows at or below this mark); when the
 * rows inserted are as many as there are, there is none to look for. A
 * statement a row cost as much again as its B-tree work (callgrind of
 * W3-1000: 0.2 statements a delivery). 1 when rows are left past the
 * mark, 0 when none are, -1 when the database failed. */
static int
room_step(struct store *s)
{
	int64_t lo = s->room_hwm;
	int64_t hi = s->max_id - lo > STORE_ROOM_BATCH ? lo + STORE_ROOM_BATCH : s->max_id;
	if (store_step_done(s->w_begin) != 0)
		return -1;
	sqlite3_stmt *count = s->w_unroomed;
	sqlite3_bind_int64(count, 1, lo);
	sqlite3_bind_int64(count, 2, hi);
	int fail = sqlite3_step(count) != SQLITE_ROW;
	int64_t rows = fail ? 0 : sqlite3_column_int64(count, 0);
	sqlite3_reset(count);
	sqlite3_stmt *st[2] = { s->w_room_insert, s->w_room_copies };
	for (int i = 0; i < 2 && !fail; i++) {
		sqlite3_bind_int64(st[i], 1, lo);
		sqlite3_bind_int64(st[i], 2, hi);
		fail = store_step_done(st[i]) != 0;
		if (!fail && i == 0 && sqlite3_changes(s->wdb) == rows)
			break;
	}
	if (!fail) {
		sqlite3_bind_int64(s->w_room_mark, 1, hi);
		fail = store_step_done(s->w_room_mark) != 0;
	}
	if (fail || store_step_done(s->w_commit) != 0) {
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	s->room_hwm = hi;
	return hi < s->max_id;
}

/* The rows past the search index's mark, ids up to s->fts_batch past
 * it (and not past the room index's), into it with one statement, and
 * the mark moved in the same transaction: a crash leaves both as they
 * were, and those rows are indexed after the next start. A statement a
 * row (its row read back, bound, stepped) cost the writer some 1,150
 * instructions a row more (callgrind of store-bench). An index of
 * s->fts_segs_max segments or more takes a merge step first
 * (sqlite_ftsmerge.c): a load that leaves no idle time bounds them.
 * 1 when rows are left past the mark, 0 when none are, -1 when the
 * database failed (tried again after STORE_IDLE_MS). */
static int
fts_step(struct store *s)
{
	int64_t lo = s->fts_hwm;
	int64_t hi = s->room_hwm - lo > s->fts_batch ? lo + s->fts_batch : s->room_hwm;
	if (store_step_done(s->w_begin) != 0)
		return -1;
	int fail = store_fts_segments(s->w_fts_struct) >= s->fts_segs_max &&
	    store_fts_merge_step(s->w_fts_merge, STORE_FTS_MERGE_PAGES) < 0;
	if (!fail) {
		sqlite3_bind_int64(s->w_fts_batch, 1, lo);
		sqlite3_bind_int64(s->w_fts_batch, 2, hi);
		fail = store_step_done(s->w_fts_batch) != 0;
	}
	if (!fail) {
		sqlite3_bind_int64(s->w_fts_mark, 1, hi);
		fail = store_step_done(s->w_fts_mark) != 0;
	}
	if (fail || store_step_done(s->w_commit) != 0) {
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	s->fts_hwm = hi;
	return hi < s->room_hwm;
}

/* Idle: one step of the index's merges, in a transaction of its own.
 * 1 when there may be more to merge, 0 when there is none, -1 when the
 * database failed (tried again once the index changes). */
static int
fts_merge_idle(struct store *s)
{
	int rc = store_fts_merge_step(s->w_fts_merge, STORE_FTS_MERGE_PAGES);
	store_writer_checkpoint(s);
	return rc;
}

static void
apply_test_pages(struct store *s, int64_t pages)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
	    (long long)(pages > 0 ? pages : 0xfffffffe));
	sqlite3_exec(s->wdb, sql, NULL, NULL, NULL);
}

/* Whether an index is due now: rows wait past its mark hwm, up to upto,
 * and a search waits for them or lag_max of them do (even with epochs
 * queued), or no epoch is queued and the writer is stopping or none came
 * for STORE_FTS_IDLE_MS. hold (tests): only a search makes it due, and
 * only with no epoch queued. Under s->q.lock. */
static int
index_due(const struct store *s, int64_t hwm, int64_t upto, int hold,
    int64_t lag_max, int queued, uint64_t now)
{
	if (hwm >= upto || now < s->fts_retry_at)
		return 0;
	int asked = s->fts_want > hwm;
	if (hold)
		return asked && !queued;
	if (asked || s->max_id - hwm >= lag_max)
		return 1;
	return !queued && (s->q.stopping || now >= s->fts_idle_at);
}

/* Whether either index has rows to take once idle. Under s->q.lock. */
static int
index_waits(const struct store *s)
{
	return (s->room_hwm < s->max_id && !s->test_room_hold) ||
	    (s->fts_hwm < s->room_hwm && !s->test_fts_hold);
}

static void *
writer_main(void *arg)
{
	struct store *s = arg;
	int64_t pages_applied = 0;
	int retention = s->opt.max_rows > 0 || s->opt.max_age_days > 0;
	uint64_t prune_at = retention ? clock_mono_ms() + STORE_IDLE_MS : 0;
	/* Rows left past the mark by the last run: indexed once idle. */
	s->fts_idle_at = clock_mono_ms() + STORE_FTS_IDLE_MS;
	int fts_ran = 0;             /* the last thing done was a batch of an index */
	pthread_mutex_lock(&s->q.lock);
	for (;;) {
		if (s->test_max_pages != pages_applied) {
			pages_applied = s->test_max_pages;
			apply_test_pages(s, pages_applied);
		}
		s->fts_batch = s->test_fts_batch > 0 ? s->test_fts_batch : STORE_FTS_BATCH;
		s->fts_segs_max = s->test_fts_segs_max > 0 ? s->test_fts_segs_max : STORE_FTS_SEGS_MAX;
		struct store_epoch *taken = s->q.q_head;
		uint64_t now = clock_mono_ms();
		/* Epochs queued after a batch of an index go first: a search
		 * or the lag's bound never holds them back for more than one.
		 * The room index first: the search index takes only rows in
		 * it, so a search waits for the room index first. */
		int queued = taken != NULL, room = 0;
		if (!(fts_ran && queued) &&
		    ((room = index_due(s, s->room_hwm, s->max_id, s->test_room_hold,
		    STORE_ROOM_LAG_MAX, queued, now)) ||
		    index_due(s, s->fts_hwm, s->room_hwm, s->test_fts_hold,
		    STORE_FTS_LAG_MAX, queued, now))) {
			fts_ran = 1;
			pthread_mutex_unlock(&s->q.lock);
			int rc = room ? room_step(s) : fts_step(s);
			pthread_mutex_lock(&s->q.lock);
			s->fts_done = s->fts_hwm;
			s->fts_failing = rc < 0;
			s->fts_merge_due |= rc >= 0;
			/* A failure is tried again later, not at once. */
			if (rc < 0)
				s->fts_retry_at = now + STORE_IDLE_MS;
			pthread_cond_broadcast(&s->fts_cond);
			continue;
		}
		if (taken != NULL) {
			fts_ran = 0;
			epochs_take(&s->q);
			pthread_mutex_unlock(&s->q.lock);
			char why[sizeof s->q.last_error];
			uint64_t began = clock_mono_us();
			int rc = commit_epochs(s, taken, why, sizeof why);
			uint64_t took = clock_mono_us() - began;
			pthread_mutex_lock(&s->q.lock);
			epochs_done(&s->q, taken, rc == 0 ? EPOCHS_COMMITTED : EPOCHS_FAILED, why, took);
			if (s->fts_done > s->fts_hwm)
				s->fts_done = s->fts_hwm;  /* the mark went back (mark_ids) */
			/* Before the loop hears of it: a search after a delivery
			 * waits for the index to reach what was delivered. */
			s->last_id = s->max_id;
			if (retention && prune_at == 0)
				prune_at = clock_mono_ms() + STORE_IDLE_MS;
			s->fts_idle_at = clock_mono_ms() + STORE_FTS_IDLE_MS;
			pthread_mutex_unlock(&s->q.lock);
			epochs_tell_loop(&s->q);
			epochs_free(taken);
			store_writer_checkpoint(s);
			pthread_mutex_lock(&s->q.lock);
			continue;
		}
		if (s->q.stopping)
			break;
		if (s->prune_now && prune_at == 0)
			prune_at = now;
		if (prune_at != 0 && (now >= prune_at || s->prune_now)) {
			pthread_mutex_unlock(&s->q.lock);
			int more = prune_step(s);
			pthread_mutex_lock(&s->q.lock);
			if (!more) {
				prune_at = s->opt.max_age_days > 0 ? now + STORE_AGE_CHECK_MS : 0;
				s->prune_now = 0;
				pthread_cond_broadcast(&s->idle);
			}
			continue;
		}
		/* The index caught up and nothing else to do: its merges, a
		 * step at a time, an epoch first whenever one comes. */
		int merge = s->fts_merge_due && s->fts_hwm >= s->max_id && !s->test_fts_hold;
		if (merge && now >= s->fts_idle_at) {
			pthread_mutex_unlock(&s->q.lock);
			int rc = fts_merge_idle(s);
			pthread_mutex_lock(&s->q.lock);
			if (rc <= 0) {
				s->fts_merge_due = 0;
				pthread_cond_broadcast(&s->idle);
			}
			continue;
		}
		/* Asleep until an epoch, a search or stop wakes it, or until the
		 * next of pruning, indexing and merging is due. */
		uint64_t wake_at = prune_at;
		if (index_waits(s) || merge) {
			uint64_t at = s->fts_idle_at > s->fts_retry_at ? s->fts_idle_at : s->fts_retry_at;
			if (merge)
				at = s->fts_idle_at;
			if (wake_at == 0 || at < wake_at)
				wake_at = at;
		}
		if (wake_at != 0) {
			struct timespec ts;
			clock_deadline_in(&ts, wake_at > now ? wake_at - now : 0);
			pthread_cond_timedwait(&s->q.wake, &s->q.lock, &ts);
		} else {
			pthread_cond_wait(&s->q.wake, &s->q.lock);
		}
	}
	pthread_mutex_unlock(&s->q.lock);
	return NULL;
}

static const char sql_top_id[] =
    "SELECT coalesce(max(id), 0) FROM events";
/* fts_step's, over the ids in (?1, ?2]: the message kinds' text. */
static const char sql_fts_batch[] =
    "INSERT INTO events_fts (rowid, text) SELECT id, parley_fts_text(target, text)"
    " FROM events WHERE id > ?1 AND id <= ?2 AND " STORE_SQL_IS_MESSAGE("kind")
    " AND text IS NOT NULL";
/* A room's rows are found by the room index up to its mark and by a
 * scan of the rows past it (sqlite_int.h), both in one statement. */
#define TAIL "FROM events WHERE id > " STORE_ROOM_MARK " AND target = ?1"
/* Every copy of msgid in target (a replay's second one until room_step). */
static const char sql_find[] =
    "SELECT e.id, e.kind, e.text FROM events_room r CROSS JOIN events e ON e.id = r.id"
    " WHERE r.target = ?1 AND r.msgid = ?2"
    " UNION ALL SELECT id, kind, text " TAIL " AND msgid = ?2";
static const char sql_redact[] =
    "UPDATE events SET text = NULL, tags = NULL, redacted = 1 WHERE id IN"
    " (SELECT id FROM events_room WHERE target = ?1 AND msgid = ?2"
    " UNION ALL SELECT id " TAIL " AND msgid = ?2)";
static const char sql_next_target[] = STORE_SQL_NEXT_TARGET;
/* The arms of a compound SELECT with ORDER BY are merged, each in its
 * order: the index's walked from its end, the tail's sorted. */
static const char sql_cutoff[] =
    "SELECT msgid FROM events_room WHERE target = ?1"
    " UNION ALL SELECT msgid " TAIL " ORDER BY 1 DESC LIMIT 1 OFFSET ?2";
static const char sql_prune_rows[] =
    "SELECT e.id, e.kind, e.text, e.target, r.msgid FROM events_room r"
    " CROSS JOIN events e ON e.id = r.id WHERE r.target = ?1 AND r.msgid <= ?2"
    " UNION ALL SELECT id, kind, text, target, msgid " TAIL " AND msgid <= ?2"
    " ORDER BY 5 LIMIT ?3";
/* The first rows in the order they came (rowid), of which those past
 * the age: a look at a batch's worth of rows, never a walk of them all. */
static const char sql_prune_age[] =
    "SELECT id, kind, text, target, msgid FROM (SELECT id, kind, text, target, msgid, at_ms"
    " FROM events ORDER BY id LIMIT ?2) WHERE at_ms < ?1";
/* room_step's, over the ids in (?1, ?2]. */
static const char sql_unroomed[] =
    "SELECT count(*) FROM events WHERE id > ?1 AND id <= ?2";
static const char sql_room_insert[] =
    "INSERT OR IGNORE INTO events_room (target, msgid, id)"
    " SELECT target, msgid, id FROM events WHERE id > ?1 AND id <= ?2 ORDER BY id";
static const char sql_room_copies[] =
    "DELETE FROM events WHERE id > ?1 AND id <= ?2 AND NOT EXISTS (SELECT 1 FROM events_room r"
    " WHERE r.target = events.target AND r.msgid = events.msgid AND r.id = events.id)";
static const char sql_room_mark[] =
    "INSERT OR REPLACE INTO meta (key, value) VALUES ('room_indexed', ?1)";

static const char sql_conversation[] =
    "INSERT OR IGNORE INTO conversations (account, target) VALUES (?1, ?2)";
static const char sql_fts_mark[] =
    "INSERT OR REPLACE INTO meta (key, value) VALUES ('fts_indexed', ?1)";

#define WRITER_STMTS 21

static void
writer_stmts(struct store *s, struct store_stmt out[WRITER_STMTS])
{
	const struct store_stmt list[WRITER_STMTS] = {
		{ sql_fts_batch, &s->w_fts_batch },
		{ STORE_SQL_FTS_DELETE, &s->w_fts_delete },
		{ sql_find, &s->w_find },
		{ sql_redact, &s->w_redact },
		{ STORE_SQL_ROW_DELETE, &s->w_delete },
		{ STORE_SQL_ROOM_DELETE, &s->w_room_delete },
		{ sql_unroomed, &s->w_unroomed },
		{ sql_room_insert, &s->w_room_insert },
		{ sql_room_copies, &s->w_room_copies },
		{ sql_room_mark, &s->w_room_mark },
		{ sql_next_target, &s->w_next_target },
		{ sql_cutoff, &s->w_cutoff },
		{ sql_prune_rows, &s->w_prune_rows },
		{ sql_prune_age, &s->w_prune_age },
		{ sql_conversation, &s->w_conversation },
		{ sql_fts_mark, &s->w_fts_mark },
		{ STORE_SQL_FTS_MERGE, &s->w_fts_merge },
		{ STORE_SQL_FTS_STRUCT, &s->w_fts_struct },
		{ sql_top_id, &s->w_top_id },
		/* Prepared once: sqlite3_exec compiles its text at every call. */
		{ "BEGIN IMMEDIATE", &s->w_begin },
		{ "COMMIT", &s->w_commit },
	};
	memcpy(out, list, sizeof list);
}

/* Where the rows and the search index stand, as the last run left them. */
static int
writer_marks(struct store *s)
{
	static const char sql[] =
	    "SELECT (SELECT coalesce(max(id), 0) FROM events),"
	    " (SELECT value FROM meta WHERE key = 'fts_indexed'), " STORE_ROOM_MARK;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->wdb, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		s->max_id = s->last_id = sqlite3_column_int64(st, 0);
		s->fts_hwm = s->fts_done = sqlite3_column_int64(st, 1);
		s->room_hwm = sqlite3_column_int64(st, 2);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

int
store_writer_start(struct store *s, char *err, size_t errlen)
{
	struct store_stmt list[WRITER_STMTS];
	writer_stmts(s, list);
	if (store_fts_merge_setup(s->wdb) != 0 ||
	    store_stmts_prepare(s->wdb, list, WRITER_STMTS) != 0 ||
	    writer_marks(s) != 0) {
		snprintf(err, errlen, "database: %s", sqlite3_errmsg(s->wdb));
		return -1;
	}
	/* After a start every target is checked against history-max-rows
	 * once: the bound may have been lowered. */
	s->touched_all = s->opt.max_rows > 0;
	/* What the last run left unmerged is merged once idle. */
	s->fts_merge_due = 1;
	int rc = thread_start(&s->writer, writer_main, s);
	if (rc != 0) {
		snprintf(err, errlen, "store: cannot start the writer: %s", strerror(rc));
		return -1;
	}
	s->writer_running = 1;
	return 0;
}

/* Every queued epoch is committed first: the writer stops only once its
 * queue is empty. */
void
store_writer_stop(struct store *s)
{
	if (s->writer_running) {
		epochs_stop(&s->q);
		pthread_join(s->writer, NULL);
		s->writer_running = 0;
	}
}

void
store_writer_close(struct store *s)
{
	struct store_stmt list[WRITER_STMTS];
	writer_stmts(s, list);
	store_stmts_finalize(list, WRITER_STMTS);
	for (int i = 0; i < STORE_INSERT_ROWS; i++) {
		sqlite3_finalize(s->w_insert_rows[i]);
		s->w_insert_rows[i] = NULL;
		free(s->w_insert_kept[i]);
		s->w_insert_kept[i] = NULL;
	}
	if (s->wdb != NULL)
		sqlite3_close(s->wdb);
	s->wdb = NULL;
}

void
store_test_max_pages(struct store *s, int64_t pages)
{
	pthread_mutex_lock(&s->q.lock);
	s->test_max_pages = pages;
	pthread_mutex_unlock(&s->q.lock);
}

void
store_test_fts_hold(struct store *s, int hold)
{
	pthread_mutex_lock(&s->q.lock);
	s->test_fts_hold = hold;
	pthread_cond_signal(&s->q.wake);
	pthread_mutex_unlock(&s->q.lock);
}

void
store_test_fts_policy(struct store *s, int batch, int segs_max)
{
	pthread_mutex_lock(&s->q.lock);
	s->test_fts_batch = batch;
	s->test_fts_segs_max = segs_max;
	pthread_mutex_unlock(&s->q.lock);
}

void
store_test_fts_merged(struct store *s)
{
	pthread_mutex_lock(&s->q.lock);
	pthread_cond_signal(&s->q.wake);
	while (s->writer_running && !s->q.stopping && !s->fts_failing &&
	    (s->fts_merge_due || s->fts_done < s->last_id))
		pthread_cond_wait(&s->idle, &s->q.lock);
	pthread_mutex_unlock(&s->q.lock);
}

void
store_test_room_hold(struct store *s, int hold)
{
	pthread_mutex_lock(&s->q.lock);
	s->test_room_hold = hold;
	pthread_cond_signal(&s->q.wake);
	pthread_mutex_unlock(&s->q.lock);
}

void
store_fts_wait(struct store *s)
{
	if (!s->writer_running)
		return;
	pthread_mutex_lock(&s->q.lock);
	int64_t want = s->last_id;
	if (s->fts_done < want && !s->fts_failing) {
		if (s->fts_want < want)
			s->fts_want = want;
		pthread_cond_signal(&s->q.wake);
		struct timespec ts;
		clock_deadline_in(&ts, STORE_FTS_WAIT_MS);
		while (s->fts_done < want && !s->fts_failing && !s->q.stopping &&
		    pthread_cond_timedwait(&s->fts_cond, &s->q.lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&s->q.lock);
}

uint64_t
store_test_prune(struct store *s)
{
	pthread_mutex_lock(&s->q.lock);
	s->prune_now = 1;
	pthread_cond_signal(&s->q.wake);
	while (s->prune_now)
		pthread_cond_wait(&s->idle, &s->q.lock);
	uint64_t n = s->prune_batches;
	pthread_mutex_unlock(&s->q.lock);
	return n;
}
