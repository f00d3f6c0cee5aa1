/* The read path: queries on the worker pool's threads, each on a read
 * connection taken from a small pool (store_options.readers of them,
 * opened when first needed). In WAL mode a reader sees the last commit
 * before its query began and never waits for the writer.
 *
 * Every query but SEARCH walks the room index, events_room (target,
 * msgid): a target's events in msgid order, which is time order, up to
 * its mark; and, in the same statement, scans the few rows past it
 * (sqlite_int.h), each arm ordered and limited. A replay's second copy
 * may be among those until the writer's next batch deletes it: the
 * tail's copies are one row, and a msgid in both arms comes from both
 * in msgid order, the first copy (the lower id, the index's) first: a
 * row of the msgid just taken is skipped (collect). A reference becomes an
 * exclusive bound on msgid: a msgid is itself; a time T is the first id
 * of millisecond T from above (msgid_write(T, 0, 0): everything before
 * T) and the last id of millisecond T from below (everything after T). */
#include "store/sqlite_int.h"

#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds past every msgid: "" sorts before them all, "~" after (ids are
 * digits and capitals). */
#define LOWEST ""
#define HIGHEST "~"

/* The most a query returns whatever limit it asks for (and the size of
 * the batch a query allocates at once). */
#define STORE_QUERY_MAX 10000
/* The most one-sided conversations of an account TARGETS looks at. */
#define STORE_HALVES_MAX 10000
/* The longest text a SEARCH looks for (longer: nothing found). */
#define STORE_SEARCH_TEXT_MAX 1024
#define STORE_MS_MAX ((INT64_C(1) << 48) - 1)

#define COLUMNS "e.msgid, e.at_ms, e.target, e.kind, e.sender, e.account, e.text, e.extra," \
	" e.tags, e.bot, e.redacted"
#define MESSAGE_KINDS "(1, 2, 3)"

/* A target's events in (?2, ?3) (?2 included: GE ">="), ?5 of them
 * from the low end or the high end (ORDER "" or " DESC"): the room
 * index's and the tail's, each ?5 distinct msgids at most, merged; the
 * caller takes the first ?5 distinct msgids of the merge, which are
 * the ?5 nearest that end of the room's (an arm holds each msgid once,
 * so one within them is within its arm's ?5). The tail's copies of a
 * msgid are one row, the first's (min(id)); its rows are grouped and
 * sorted as (msgid, id) alone, and only the ?5 kept are read whole: a
 * room that holds most of the tail sorts a few thousand short records,
 * not its rows (store-bench, bench/results/2026-12-02-s10-roomidx.md). */
#define RANGE_INDEXED(GE, ORDER) \
	"SELECT * FROM (SELECT " COLUMNS ", e.id AS id FROM events_room r" \
	" CROSS JOIN events e ON e.id = r.id WHERE r.target = ?1 AND r.msgid " GE " ?2" \
	" AND r.msgid < ?3 AND (?4 OR e.kind IN " MESSAGE_KINDS ")" \
	" ORDER BY r.msgid" ORDER " LIMIT ?5)"
#define RANGE_TAIL(GE, ORDER) \
	"SELECT * FROM (SELECT " COLUMNS ", e.id AS id FROM events e WHERE e.id IN" \
	" (SELECT min(id) FROM events WHERE id > " STORE_ROOM_MARK " AND target = ?1" \
	" AND msgid " GE " ?2 AND msgid < ?3 AND (?4 OR kind IN " MESSAGE_KINDS ")" \
	" GROUP BY msgid ORDER BY msgid" ORDER " LIMIT ?5)" \
	" ORDER BY e.msgid" ORDER " LIMIT ?5)"
#define RANGE(GE, ORDER) \
	"SELECT msgid, at_ms, target, kind, sender, account, text, extra, tags, bot, redacted" \
	" FROM (" RANGE_INDEXED(GE, ORDER) " UNION ALL " RANGE_TAIL(GE, ORDER) ")" \
	" ORDER BY msgid" ORDER ", id"

static const char *const sql_range[2][2] = {
	{ RANGE(">", ""), RANGE(">=", "") },
	{ RANGE(">", " DESC"), RANGE(">=", " DESC") },
};
static const char sql_exists[] =
    "SELECT 1 FROM events_room WHERE target = ?1 AND msgid = ?2"
    " UNION ALL SELECT 1 FROM events WHERE id > " STORE_ROOM_MARK
    " AND target = ?1 AND msgid = ?2 LIMIT 1";
static const char sql_next_target[] = STORE_SQL_NEXT_TARGET;
/* The next name in the room index alone, and the names of the tail's
 * rows in [?1, ?2): an account's one-sided conversations are walked in
 * the index, one seek each, and the tail scanned once, not once a name. */
static const char sql_next_indexed[] =
    "SELECT target FROM events_room WHERE target > ?1 ORDER BY target LIMIT 1";
static const char sql_tail_targets[] =
    "SELECT DISTINCT target FROM events WHERE id > " STORE_ROOM_MARK
    " AND target >= ?1 AND target < ?2 ORDER BY target";
/* The full-text index first (CROSS JOIN keeps it the outer loop), walked
 * from its newest rowid down; its words are the targets' own, so its
 * matches are theirs (the join on target drops a hash's collision) and
 * the walk stops at the limit-th. */
static const char sql_search[] =
    "SELECT " COLUMNS " FROM events_fts f CROSS JOIN events e ON e.id = f.rowid"
    " WHERE events_fts MATCH ?1 AND e.target IN (SELECT value FROM json_each(?2))"
    " AND e.kind IN " MESSAGE_KINDS " AND e.redacted = 0"
    " AND (?3 IS NULL OR e.sender LIKE ?3 ESCAPE '\\')"
    " AND (?5 IS NULL OR parley_phrases(e.text, ?5))"
    " AND (?6 IS NULL OR e.at_ms >= ?6) AND (?7 IS NULL OR e.at_ms <= ?7)"
    " ORDER BY f.rowid DESC LIMIT ?4";

static const char sql_conversations[] =
    "SELECT target FROM conversations WHERE account = ?1 ORDER BY target";

#define READER_STMTS 10

static void
reader_stmts(struct store_reader *r, struct store_stmt out[READER_STMTS])
{
	const struct store_stmt list[READER_STMTS] = {
		{ sql_range[0][0], &r->range[0][0] },
		{ sql_range[0][1], &r->range[0][1] },
		{ sql_range[1][0], &r->range[1][0] },
		{ sql_range[1][1], &r->range[1][1] },
		{ sql_exists, &r->exists },
		{ sql_next_target, &r->next_target },
		{ sql_next_indexed, &r->next_indexed },
		{ sql_tail_targets, &r->tail_targets },
		{ sql_search, &r->search },
		{ sql_conversations, &r->conversations },
	};
	memcpy(out, list, sizeof list);
}

static void
reader_close(struct store_reader *r)
{
	struct store_stmt list[READER_STMTS];
	reader_stmts(r, list);
	store_stmts_finalize(list, READER_STMTS);
	store_fts_words_free(r->words);
	sqlite3_close(r->db);
	memset(r, 0, sizeof *r);
}

static int
reader_open(struct store *s, struct store_reader *r)
{
	char err[256];
	r->db = store_db_open(s->db_path, SQLITE_OPEN_READONLY, err, sizeof err);
	if (r->db == NULL)
		return -1;
	struct store_stmt list[READER_STMTS];
	reader_stmts(r, list);
	r->words = store_fts_words_new(r->db);
	if (r->words == NULL || store_stmts_prepare(r->db, list, READER_STMTS) != 0) {
		reader_close(r);
		return -1;
	}
	return 0;
}

int
store_readers_init(struct store *s)
{
	s->nreaders = s->opt.readers;
	s->readers = calloc(s->nreaders, sizeof *s->readers);
	return s->readers != NULL ? 0 : -1;
}

void
store_readers_free(struct store *s)
{
	for (unsigned i = 0; s->readers != NULL && i < s->nreaders; i++)
		if (s->readers[i].db != NULL)
			reader_close(&s->readers[i]);
	free(s->readers);
	s->readers = NULL;
}

/* A read connection for this query: an open idle one, else one opened
 * now, else the wait for one to come back. NULL when none can open. */
static struct store_reader *
reader_take(struct store *s)
{
	struct store_reader *r = NULL;
	pthread_mutex_lock(&s->rlock);
	for (;;) {
		struct store_reader *unopened = NULL;
		for (unsigned i = 0; i < s->nreaders && r == NULL; i++) {
			if (s->readers[i].busy)
				continue;
			if (s->readers[i].db != NULL)
				r = &s->readers[i];
			else if (unopened == NULL)
				unopened = &s->readers[i];
		}
		if (r == NULL && unopened != NULL) {
			if (reader_open(s, unopened) != 0)
				break;
			r = unopened;
		}
		if (r != NULL) {
			r->busy = 1;
			break;
		}
		pthread_cond_wait(&s->rfree, &s->rlock);
	}
	pthread_mutex_unlock(&s->rlock);
	return r;
}

static void
reader_give(struct store *s, struct store_reader *r)
{
	pthread_mutex_lock(&s->rlock);
	r->busy = 0;
	pthread_cond_signal(&s->rfree);
	pthread_mutex_unlock(&s->rlock);
}

/* ---- Results ---- */

static size_t
col_size(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : (size_t)sqlite3_column_bytes(st, i) + 1;
}

static const char *
col_put(sqlite3_stmt *st, int i, char **at)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	const unsigned char *p = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	char *d = *at;
	memcpy(d, p, n);
	d[n] = '\0';
	*at += n + 1;
	return d;
}

/* The row as an event whose strings are one block, target first: the
 * block store_result_free frees. */
static int
row_event(sqlite3_stmt *st, struct store_event *e)
{
	memset(e, 0, sizeof *e);
	const unsigned char *id = sqlite3_column_text(st, 0);
	snprintf(e->msgid, sizeof e->msgid, "%s", id != NULL ? (const char *)id : "");
	e->at_ms = sqlite3_column_int64(st, 1);
	e->kind = (enum store_kind)sqlite3_column_int(st, 3);
	e->bot = (uint8_t)sqlite3_column_int(st, 9);
	e->redacted = (uint8_t)sqlite3_column_int(st, 10);
	size_t n = 1;
	for (int i = 2; i <= 8; i++)
		n += col_size(st, i);
	char *at = malloc(n);
	if (at == NULL)
		return -1;
	e->target = col_put(st, 2, &at);
	if (e->target == NULL) {
		*at = '\0';
		e->target = at++;
	}
	e->sender = col_put(st, 4, &at);
	e->account = col_put(st, 5, &at);
	e->text = col_put(st, 6, &at);
	e->extra = col_put(st, 7, &at);
	e->tags = col_put(st, 8, &at);
	return 0;
}

/* Appends st's rows to out (at most max in all); with once, a row of
 * the msgid of the row before it (rows in msgid order: a replay's second
 * copy, not yet deleted) is skipped. -1 when the database or memory
 * fails. */
static int
collect(sqlite3_stmt *st, struct store_result *out, size_t max, int once)
{
	int rc;
	size_t first = out->n;
	while (out->n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msgid = (const char *)sqlite3_column_text(st, 0);
		if (once && out->n > first && msgid != NULL &&
		    strcmp(out->events[out->n - 1].msgid, msgid) == 0)
			continue;
		if (row_event(st, &out->events[out->n]) != 0) {
			sqlite3_reset(st);
			return -1;
		}
		out->n++;
	}
	if (out->n >= max)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
reverse(struct store_event *ev, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct store_event t = ev[i];
		ev[i] = ev[n - 1 - i];
		ev[n - 1 - i] = t;
	}
}

/* ---- Bounds ---- */

/* A reference as an exclusive bound: from below (lower) or above. -1
 * when it is a msgid the target does not hold. */
static int
ref_bound(struct store_reader *r, const char *target, const struct store_ref *ref,
    int lower, char out[MSGID_LEN + 1])
{
	if (ref->msgid[0] != '\0' && !ref->bound) {
		sqlite3_stmt *st = r->exists;
		sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ref->msgid, -1, SQLITE_STATIC);
		int found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (!found)
			return -1;
	}
	if (ref->msgid[0] != '\0') {
		memcpy(out, ref->msgid, MSGID_LEN + 1);
		return 0;
	}
	/* A msgid holds 48 bits of milliseconds. */
	int64_t t = ref->at_ms < 0 ? 0 : ref->at_ms > STORE_MS_MAX ? STORE_MS_MAX : ref->at_ms;
	if (lower)
		msgid_write((uint64_t)t, UINT16_MAX, UINT16_MAX, out);
	else
		msgid_write((uint64_t)t, 0, 0, out);
	return 0;
}

/* The events of target in (lo, hi) (lo included when incl), limit of
 * them from the low end (desc 0) or the high end (desc 1), added to out
 * oldest first. */
static int
range(struct store_reader *r, const struct store_query *q, const char *target,
    const char *lo, int incl, const char *hi, int desc, uint32_t limit,
    struct store_result *out)
{
	if (limit == 0)
		return 0;
	sqlite3_stmt *st = r->range[desc][incl];
	sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, q->events != 0);
	sqlite3_bind_int(st, 5, (int)limit);
	size_t first = out->n;
	if (collect(st, out, first + limit, 1) != 0)
		return -1;
	if (desc)
		reverse(out->events + first, out->n - first);
	return 0;
}

/* ---- The shapes ---- */

static int
query_history(struct store_reader *r, const struct store_query *q, uint32_t limit,
    struct store_result *out)
{
	char a[MSGID_LEN + 1];
	const struct store_ref *ra = &q->a, *rb = &q->b;
	switch (q->kind) {
	case SQ_LATEST:
		if (!ra->set)
			return range(r, q, q->target, LOWEST, 0, HIGHEST, 1, limit, out);
		if (ref_bound(r, q->target, ra, 1, a) != 0)
			goto not_found;
		return range(r, q, q->target, a, 0, HIGHEST, 1, limit, out);
	case SQ_BEFORE:
		if (ref_bound(r, q->target, ra, 0, a) != 0)
			goto not_found;
		return range(r, q, q->target, LOWEST, 0, a, 1, limit, out);
	case SQ_AFTER:
		if (ref_bound(r, q->target, ra, 1, a) != 0)
			goto not_found;
		return range(r, q, q->target, a, 0, HIGHEST, 0, limit, out);
	case SQ_AROUND: {
		/* Half before the reference, the rest from it on (a msgid
		 * reference is itself in the answer). */
		if (ref_bound(r, q->target, ra, 0, a) != 0)
			goto not_found;
		uint32_t before = limit / 2;
		if (range(r, q, q->target, LOWEST, 0, a, 1, before, out) != 0)
			return -1;
		return range(r, q, q->target, a, 1, HIGHEST, 0, limit - (uint32_t)out->n, out);
	}
	case SQ_BETWEEN: {
		/* Which end is a is found after both become bounds: a time's
		 * bound depends on the side it bounds. */
		char a_lo[MSGID_LEN + 1], a_hi[MSGID_LEN + 1], b_lo[MSGID_LEN + 1], b_hi[MSGID_LEN + 1];
		if (ref_bound(r, q->target, ra, 1, a_lo) != 0 || ref_bound(r, q->target, ra, 0, a_hi) != 0 ||
		    ref_bound(r, q->target, rb, 1, b_lo) != 0 || ref_bound(r, q->target, rb, 0, b_hi) != 0)
			goto not_found;
		if (strcmp(a_lo, b_hi) < 0)
			return range(r, q, q->target, a_lo, 0, b_hi, 0, limit, out);
		if (strcmp(b_lo, a_hi) < 0)
			return range(r, q, q->target, b_lo, 0, a_hi, 1, limit, out);
		return 0;
	}
	default:
		break;
	}
	return 0;
not_found:
	out->not_found = 1;
	return 0;
}

static int
cmp_newest_first(const void *x, const void *y)
{
	const struct store_event *a = x, *b = y;
	return strcmp(b->msgid, a->msgid);
}

/* The target after `after` in the database (st: next_target) or in the
 * room index alone (next_indexed), malloc'd, into *out; NULL past the
 * last. -1 when the database or memory fails. */
static int
target_after(sqlite3_stmt *st, const char *after, char **out)
{
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	*out = step == SQLITE_ROW ? strdup((const char *)sqlite3_column_text(st, 0)) : NULL;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return step == SQLITE_ROW ? (*out != NULL ? 0 : -1) : step == SQLITE_DONE ? 0 : -1;
}

/* Appends t (malloc'd; NULL: memory failed) to *list, which then owns it. */
static int
list_push(char ***list, size_t *n, char *t)
{
	char **grown = t != NULL ? realloc(*list, (*n + 1) * sizeof *grown) : NULL;
	if (grown == NULL) {
		free(t);
		return -1;
	}
	*list = grown;
	(*list)[(*n)++] = t;
	return 0;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The keys of account's private conversations, into *list (malloc'd):
 * with accounts (its rows of conversations), then one-sided (the
 * targets that start with "@account!": in the room index, one seek
 * each, and in its tail, one scan; at most STORE_HALVES_MAX of them: a
 * nick is cheap to change, and each asks for a seek here). */
static int
conversations(struct store_reader *r, const char *account, char ***list, size_t *n)
{
	char prefix[STORE_TARGET_MAX + 1];
	store_half_target(account, "", prefix);
	size_t plen = strlen(prefix);
	/* The account folded: the prefix without its '@' and separator. */
	char acc[ACCOUNT_LEN_MAX + 1];
	snprintf(acc, sizeof acc, "%.*s", (int)(plen - 2), prefix + 1);
	sqlite3_stmt *st = r->conversations;
	sqlite3_bind_text(st, 1, acc, -1, SQLITE_STATIC);
	int rc, failed = 0;
	while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW)
		failed = list_push(list, n, strdup((const char *)sqlite3_column_text(st, 0))) != 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	failed = failed || rc != SQLITE_DONE;
	const char *at = prefix;
	size_t first = *n;
	for (size_t halves = 0; !failed && halves < STORE_HALVES_MAX; halves++) {
		char *next;
		if (target_after(r->next_indexed, at, &next) != 0) {
			failed = 1;
		} else if (next == NULL || strncmp(next, prefix, plen) != 0) {
			free(next);
			break;
		} else if (list_push(list, n, next) != 0) {
			failed = 1;
		} else {
			at = next;
		}
	}
	/* The tail's, that the index does not name yet (those are sorted). */
	char end[STORE_TARGET_MAX + 1];
	memcpy(end, prefix, plen + 1);
	end[plen - 1]++;
	size_t indexed = *n - first;
	st = r->tail_targets;
	rc = SQLITE_DONE;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, end, -1, SQLITE_STATIC);
	while (!failed && *n - first < STORE_HALVES_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (indexed == 0 || bsearch(&t, *list + first, indexed, sizeof **list, cmp_str) == NULL)
			failed = list_push(list, n, strdup(t)) != 0;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	failed = failed || (rc != SQLITE_DONE && rc != SQLITE_ROW);
	if (failed) {
		for (size_t k = 0; k < *n; k++)
			free((*list)[k]);
		free(*list);
		*list = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

static int
cmp_oldest_first(const void *x, const void *y)
{
	return cmp_newest_first(y, x);
}

/* Sorts ev from the first bound's side and keeps the limit nearest it. */
static void
targets_keep(struct store_result *out, int desc, uint32_t limit)
{
	qsort(out->events, out->n, sizeof *out->events, desc ? cmp_newest_first : cmp_oldest_first);
	while (out->n > limit)
		store_event_free(&out->events[--out->n]);
}

/* TARGETS as the specification has it: each target whose newest message
 * of all is strictly between a and b (a target with a later one is not
 * listed: it is where its newest message is), with that message, in the
 * order of those messages counted from a (a before b: earliest first; a
 * after b: latest first), the limit nearest a. Without a list of
 * targets, every target in the database, found one index seek at a
 * time. */
static int
query_targets(struct store_reader *r, const struct store_query *q, uint32_t limit,
    struct store_result *out, size_t cap)
{
	/* TARGETS takes times only; a missing one is the end of time. */
	struct store_ref ra = q->a, rb = q->b;
	ra.msgid[0] = rb.msgid[0] = '\0';
	int desc = ra.set && rb.set && ra.at_ms > rb.at_ms;
	if (desc) {
		struct store_ref t = ra;
		ra = rb;
		rb = t;
	}
	char lo_id[MSGID_LEN + 1], hi_id[MSGID_LEN + 1];
	const char *lo = LOWEST, *hi = HIGHEST;
	if (ra.set) {
		ref_bound(r, NULL, &ra, 1, lo_id);
		lo = lo_id;
	}
	if (rb.set) {
		ref_bound(r, NULL, &rb, 0, hi_id);
		hi = hi_id;
	}
	/* The asker's rooms, and its account's private conversations. */
	char **conv = NULL;
	size_t nconv = 0;
	if (q->account != NULL && conversations(r, q->account, &conv, &nconv) != 0)
		return -1;
	/* A target's time is its latest message's, whatever else the asker
	 * is sent (event-playback): a join is no conversation. */
	struct store_query messages = *q;
	messages.events = 0;
	char *scan = NULL;
	size_t i = 0;
	int rc = 0;
	for (;;) {
		const char *t;
		if (q->targets != NULL || q->account != NULL) {
			if (i < q->ntargets)
				t = q->targets[i++];
			else if (i < q->ntargets + nconv)
				t = conv[i++ - q->ntargets];
			else
				break;
		} else {
			char *next;
			if (target_after(r->next_target, scan != NULL ? scan : "", &next) != 0)
				rc = -1;
			free(scan);
			scan = next;
			if (next == NULL)
				break;
			t = next;
		}
		if (out->n >= cap)
			targets_keep(out, desc, limit);
		/* The target's newest message, kept when it is in the window. */
		size_t at = out->n;
		if (range(r, &messages, t, LOWEST, 0, HIGHEST, 1, 1, out) != 0) {
			rc = -1;
			break;
		}
		if (out->n > at && (strcmp(out->events[at].msgid, lo) <= 0 ||
		    strcmp(out->events[at].msgid, hi) >= 0))
			store_event_free(&out->events[--out->n]);
	}
	free(scan);
	for (size_t k = 0; k < nconv; k++)
		free(conv[k]);
	free(conv);
	targets_keep(out, desc, limit);
	return rc;
}

/* One FTS5 string: the target's tag, the separator, and a word, quoted
 * (its quotes doubled: an operator character in it is only a character). */
static size_t
fts_phrase(char *out, const char *tag, const char *w, size_t n)
{
	size_t o = 0;
	out[o++] = '"';
	memcpy(out + o, tag, STORE_FTS_TAG_LEN);
	o += STORE_FTS_TAG_LEN;
	out[o++] = STORE_FTS_SEP;
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '"')
			out[o++] = '"';
		out[o++] = w[i];
	}
	out[o++] = '"';
	return o;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The next word of *p (its start, and its length in *n), *p moved past
 * it; NULL when none is left. */
static const char *
next_word(const char **p, size_t *n)
{
	const char *w = *p;
	while (is_space(*w))
		w++;
	if (*w == '\0')
		return NULL;
	const char *e = w;
	while (*e != '\0' && !is_space(*e))
		e++;
	*n = (size_t)(e - w);
	*p = e;
	return w;
}

/* A search's words as the index is asked for them: terms, each a
 * string FTS5 gets with the room's tag (a user's word, or one part of
 * a word unicode61 splits), and the phrases parley_phrases() checks. */
struct search_terms {
	struct buf terms;             /* each: '*' (a prefix) or ' ', the term, '\0' */
	size_t nterms, bytes;         /* bytes: of the terms, unquoted */
	size_t nprefix;               /* the terms that are prefixes */
	struct buf phrases;           /* as parley_phrases() reads them */
	int failed;
};

struct split_ctx {
	const char *word;
	struct buf parts;             /* the word's parts, each '\0'-ended */
	struct buf raw;               /* each as the word has it, '\0'-ended */
	size_t n;
};

static int
add_part(void *p, const char *w, size_t n, size_t start, size_t end)
{
	struct split_ctx *c = p;
	if (buf_append(&c->parts, w, n) != 0 || buf_append(&c->parts, "", 1) != 0 ||
	    buf_append(&c->raw, c->word + start, end - start) != 0 ||
	    buf_append(&c->raw, "", 1) != 0)
		return SQLITE_NOMEM;
	c->n++;
	return SQLITE_OK;
}

/* A term once, however often the text repeats it: each is an iterator
 * FTS5 steps through every row it walks. */
static void
add_term(struct search_terms *t, const char *w, size_t n, int prefix)
{
	char mark = prefix ? '*' : ' ';
	for (size_t at = 0; at < t->terms.len;) {
		const char *have = t->terms.data + at;
		size_t hn = strlen(have + 1);
		if (have[0] == mark && hn == n && memcmp(have + 1, w, n) == 0)
			return;
		at += hn + 2;
	}
	t->nprefix += prefix != 0;
	if (buf_append(&t->terms, prefix ? "*" : " ", 1) != 0 ||
	    buf_append(&t->terms, w, n) != 0 || buf_append(&t->terms, "", 1) != 0)
		t->failed = 1;
	t->nterms++;
	t->bytes += n;
}

/* One word of a search (n bytes, a trailing '*' taken off: prefix). A
 * word of one part or none is one term, as the user wrote it (the
 * tokenizer makes of it what it makes of the text); a word of several
 * ("don't") is a term a part and a phrase to check. A part's term is
 * its bytes in the word, which the tokenizer makes the part of again:
 * the part itself, folded and cut, could be read as another word (cut
 * inside a character, a shorter one). */
static void
add_word(struct search_terms *t, struct store_fts_words *words, const char *w, size_t n,
    int prefix)
{
	struct split_ctx c = { .word = w };
	if (store_fts_words_split(words, w, n, add_part, &c) != 0) {
		t->failed = 1;
	} else if (c.n <= 1) {
		add_term(t, w, n, prefix);
	} else {
		if (t->phrases.len > 0 &&
		    buf_append(&t->phrases, (char[]){ STORE_FTS_PHRASE_SEP }, 1) != 0)
			t->failed = 1;
		if (prefix && buf_append(&t->phrases, "*", 1) != 0)
			t->failed = 1;
		const char *part = c.parts.data, *raw = c.raw.data;
		for (size_t i = 0; i < c.n; i++) {
			size_t pn = strlen(part), rn = strlen(raw);
			add_term(t, raw, rn, prefix && i == c.n - 1);
			if ((i > 0 && buf_append(&t->phrases, (char[]){ STORE_FTS_SEP }, 1) != 0) ||
			    buf_append(&t->phrases, part, pn) != 0)
				t->failed = 1;
			part += pn + 1;
			raw += rn + 1;
		}
	}
	buf_free(&c.parts);
	buf_free(&c.raw);
}

/* The FTS5 query of a SEARCH: for each target, every term of text as
 * that target's word (sqlite_fts.c); any target. A word ending in '*'
 * matches as a prefix. *phrases: the phrases the rows must hold too
 * (NULL: none). NULL when text has no word (or memory fails: *failed). */
static char *
match_query(struct store_fts_words *words, const char *text, const char *const *targets,
    size_t ntargets, char **phrases, int *failed)
{
	struct search_terms t = { 0 };
	const char *w;
	size_t n;
	*phrases = NULL;
	for (const char *p = text; (w = next_word(&p, &n)) != NULL;) {
		int prefix = n > 1 && w[n - 1] == '*';
		add_word(&t, words, w, prefix ? n - 1 : n, prefix);
	}
	char *out = NULL;
	if (t.failed || t.nterms == 0 || ntargets == 0 || t.nprefix > STORE_SEARCH_PREFIX_MAX)
		goto done;
	/* Per target: "(" ")" " OR ", and per term the tag, the separator,
	 * the quotes, a space, '*', every byte maybe doubled. */
	size_t per = 6 + t.nterms * (STORE_FTS_TAG_LEN + 5) + 2 * t.bytes;
	out = malloc(ntargets * per + 1);
	if (out == NULL) {
		t.failed = 1;
		goto done;
	}
	size_t o = 0;
	for (size_t i = 0; i < ntargets; i++) {
		char tag[STORE_FTS_TAG_LEN + 1];
		store_fts_tag(targets[i], tag);
		if (i > 0) {
			memcpy(out + o, " OR ", 4);
			o += 4;
		}
		out[o++] = '(';
		const char *term = t.terms.data;
		for (size_t k = 0; k < t.nterms; k++) {
			size_t tn = strlen(term + 1);
			if (k > 0)
				out[o++] = ' ';
			o += fts_phrase(out + o, tag, term + 1, tn);
			if (term[0] == '*')
				out[o++] = '*';
			term += tn + 2;
		}
		out[o++] = ')';
	}
	out[o] = '\0';
	if (t.phrases.len > 0) {
		if (buf_append(&t.phrases, "", 1) != 0) {
			t.failed = 1;
			free(out);
			out = NULL;
			goto done;
		}
		*phrases = t.phrases.data;
		t.phrases.data = NULL;
	}
done:
	*failed = t.failed;
	buf_free(&t.terms);
	buf_free(&t.phrases);
	return out;
}

/* A JSON array of strings, for json_each. -1 when it does not fit. */
static char *
json_targets(const char *const *targets, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += 6 * strlen(targets[i]) + 3;
	char *j = malloc(cap), *o = j;
	if (j == NULL)
		return NULL;
	*o++ = '[';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		*o++ = '"';
		for (const unsigned char *p = (const unsigned char *)targets[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\') {
				*o++ = '\\';
				*o++ = (char)*p;
			} else if (*p < 0x20) {
				o += sprintf(o, "\\u%04x", *p);
			} else {
				*o++ = (char)*p;
			}
		}
		*o++ = '"';
	}
	*o++ = ']';
	*o = '\0';
	return j;
}

static int
query_search(struct store_reader *r, const struct store_query *q, uint32_t limit,
    struct store_result *out)
{
	const char *one[1] = { q->target };
	const char *const *targets = q->target != NULL ? one : q->targets;
	size_t ntargets = q->target != NULL ? 1 : q->ntargets;
	if (targets == NULL || ntargets == 0 || q->text == NULL)
		return 0;
	if (strlen(q->text) > STORE_SEARCH_TEXT_MAX)
		return 0;
	char *phrases = NULL;
	int failed = 0;
	char *match = match_query(r->words, q->text, targets, ntargets, &phrases, &failed);
	if (match == NULL)
		return failed ? -1 : 0;  /* no word: nothing matches */
	char *json = json_targets(targets, ntargets);
	char *like = NULL;
	if (json == NULL) {
		free(phrases);
		free(match);
		return -1;
	}
	if (q->from != NULL) {
		/* nick!%: the nick's own LIKE characters escaped. */
		size_t n = strlen(q->from);
		like = malloc(2 * n + 3);
		if (like == NULL) {
			free(json);
			free(phrases);
			free(match);
			return -1;
		}
		char *o = like;
		for (size_t i = 0; i < n; i++) {
			if (q->from[i] == '%' || q->from[i] == '_' || q->from[i] == '\\')
				*o++ = '\\';
			*o++ = q->from[i];
		}
		strcpy(o, "!%");
	}
	sqlite3_stmt *st = r->search;
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
	if (like != NULL)
		sqlite3_bind_text(st, 3, like, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int(st, 4, (int)limit);
	if (phrases != NULL)
		sqlite3_bind_text(st, 5, phrases, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	/* after= and before= before the limit: the newest matches first,
	 * then the bounds, would leave out every older one. */
	if (q->a.set)
		sqlite3_bind_int64(st, 6, q->a.at_ms);
	else
		sqlite3_bind_null(st, 6);
	if (q->b.set)
		sqlite3_bind_int64(st, 7, q->b.at_ms);
	else
		sqlite3_bind_null(st, 7);
	int rc = collect(st, out, limit, 0);
	free(json);
	free(like);
	free(phrases);
	free(match);
	/* Newest first from the index; oldest first for the answer, and by
	 * msgid (the index's order is the order of arrival). */
	qsort(out->events, out->n, sizeof *out->events, cmp_newest_first);
	reverse(out->events, out->n);
	return rc;
}

void
sqlite_query(struct store *s, const struct store_query *q, struct store_result *out)
{
	memset(out, 0, sizeof *out);
	uint32_t limit = q->limit < STORE_QUERY_MAX ? q->limit : STORE_QUERY_MAX;
	if (limit == 0)
		return;
	if (q->kind != SQ_TARGETS && q->kind != SQ_SEARCH && q->target == NULL)
		return;
	/* TARGETS keeps a few more than it returns while it looks. */
	size_t cap = q->kind == SQ_TARGETS ? 2 * (size_t)limit : limit;
	out->events = calloc(cap, sizeof *out->events);
	if (out->events == NULL) {
		out->failed = 1;
		return;
	}
	/* The words of rows committed so far, up to this moment, are in the
	 * search index before it is read (the writer indexes them after the
	 * commit that released them). */
	if (q->kind == SQ_SEARCH)
		store_fts_wait(s);
	struct store_reader *r = reader_take(s);
	if (r == NULL) {
		store_result_free(out);
		out->failed = 1;
		return;
	}
	int rc;
	/* One read transaction for the whole query: a reference checked and
	 * the rows read are of the same moment. */
	sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL);
	if (q->kind == SQ_TARGETS)
		rc = query_targets(r, q, limit, out, cap);
	else if (q->kind == SQ_SEARCH)
		rc = query_search(r, q, limit, out);
	else
		rc = query_history(r, q, limit, out);
	sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	reader_give(s, r);
	if (rc != 0) {
		store_result_free(out);
		out->failed = 1;
	}
}
