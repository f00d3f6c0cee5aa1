/* The read path on PostgreSQL: queries on the worker pool's threads, each
 * on a pooled connection, in one read-only REPEATABLE READ transaction
 * (a reference checked and the rows read are of the same moment). The
 * answers are SQLite's (sqlite_query.c says what each shape returns):
 * the same bounds from references, the same index (target, msgid)
 * walked, TARGETS in one statement (a LATERAL probe per target);
 * SEARCH is pg_search.c's. */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds past every msgid: "" sorts before them all, "~" after (bytes:
 * the columns are COLLATE "C"). */
#define LOWEST ""
#define HIGHEST "~"

/* As sqlite_query.c's. */
#define PG_QUERY_MAX 10000
#define PG_HALVES_MAX 10000
#define PG_MS_MAX ((INT64_C(1) << 48) - 1)


/* ---- Results ---- */

/* Appends r's rows to out (at most max in all); -1 when r failed or
 * memory did. r is cleared. */
static int
collect(PGresult *r, struct store_result *out, size_t max)
{
	int rc = pg_ok(r) ? 0 : -1;
	for (int i = 0; rc == 0 && i < PQntuples(r) && out->n < max; i++) {
		if (pg_row_event(r, i, &out->events[out->n]) != 0)
			rc = -1;
		else
			out->n++;
	}
	PQclear(r);
	return rc;
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

/* A reference as an exclusive bound, from below (lower) or above; -1
 * when it is a msgid target does not hold, -2 when the database fails. */
static int
ref_bound(PGconn *c, const char *target, const struct store_ref *ref, int lower,
    char out[MSGID_LEN + 1])
{
	if (ref->msgid[0] != '\0' && !ref->bound) {
		const char *p[2] = { target, ref->msgid };
		PGresult *r = pg_exec(c, "SELECT 1 FROM events WHERE target = $1 AND msgid = $2",
		    2, p);
		int ok = pg_ok(r), found = ok && PQntuples(r) > 0;
		PQclear(r);
		if (!ok)
			return -2;
		if (!found)
			return -1;
	}
	if (ref->msgid[0] != '\0') {
		memcpy(out, ref->msgid, MSGID_LEN + 1);
		return 0;
	}
	int64_t t = ref->at_ms < 0 ? 0 : ref->at_ms > PG_MS_MAX ? PG_MS_MAX : ref->at_ms;
	if (lower)
		msgid_write((uint64_t)t, UINT16_MAX, UINT16_MAX, out);
	else
		msgid_write((uint64_t)t, 0, 0, out);
	return 0;
}

/* The events of target in (lo, hi) (lo included when incl), limit of
 * them from the low end (desc 0) or the high end, added oldest first. */
static int
range(PGconn *c, const struct store_query *q, const char *target, const char *lo, int incl,
    const char *hi, int desc, uint32_t limit, struct store_result *out)
{
	if (limit == 0)
		return 0;
	char sql[512], lim[16];
	snprintf(sql, sizeof sql, "SELECT " PG_COLUMNS " FROM events e WHERE e.target = $1"
	    " AND e.msgid %s $2 AND e.msgid < $3 AND ($4::boolean OR e.kind IN " PG_MESSAGE_KINDS ")"
	    " ORDER BY e.msgid %s LIMIT $5", incl ? ">=" : ">", desc ? "DESC" : "ASC");
	snprintf(lim, sizeof lim, "%u", limit);
	const char *p[5] = { target, lo, hi, q->events ? "t" : "f", lim };
	size_t first = out->n;
	if (collect(pg_exec(c, sql, 5, p), out, first + limit) != 0)
		return -1;
	if (desc)
		reverse(out->events + first, out->n - first);
	return 0;
}

/* ---- The shapes ---- */

static int
query_history(PGconn *c, const struct store_query *q, uint32_t limit, struct store_result *out)
{
	char a[MSGID_LEN + 1];
	const struct store_ref *ra = &q->a, *rb = &q->b;
	int rc;
	switch (q->kind) {
	case SQ_LATEST:
		if (!ra->set)
			return range(c, q, q->target, LOWEST, 0, HIGHEST, 1, limit, out);
		if ((rc = ref_bound(c, q->target, ra, 1, a)) != 0)
			goto bad;
		return range(c, q, q->target, a, 0, HIGHEST, 1, limit, out);
	case SQ_BEFORE:
		if ((rc = ref_bound(c, q->target, ra, 0, a)) != 0)
			goto bad;
		return range(c, q, q->target, LOWEST, 0, a, 1, limit, out);
	case SQ_AFTER:
		if ((rc = ref_bound(c, q->target, ra, 1, a)) != 0)
			goto bad;
		return range(c, q, q->target, a, 0, HIGHEST, 0, limit, out);
	case SQ_AROUND:
		if ((rc = ref_bound(c, q->target, ra, 0, a)) != 0)
			goto bad;
		if (range(c, q, q->target, LOWEST, 0, a, 1, limit / 2, out) != 0)
			return -1;
		return range(c, q, q->target, a, 1, HIGHEST, 0, limit - (uint32_t)out->n, out);
	case SQ_BETWEEN: {
		char a_lo[MSGID_LEN + 1], a_hi[MSGID_LEN + 1], b_lo[MSGID_LEN + 1], b_hi[MSGID_LEN + 1];
		if ((rc = ref_bound(c, q->target, ra, 1, a_lo)) != 0 ||
		    (rc = ref_bound(c, q->target, ra, 0, a_hi)) != 0 ||
		    (rc = ref_bound(c, q->target, rb, 1, b_lo)) != 0 ||
		    (rc = ref_bound(c, q->target, rb, 0, b_hi)) != 0)
			goto bad;
		if (strcmp(a_lo, b_hi) < 0)
			return range(c, q, q->target, a_lo, 0, b_hi, 0, limit, out);
		if (strcmp(b_lo, a_hi) < 0)
			return range(c, q, q->target, b_lo, 0, a_hi, 1, limit, out);
		return 0;
	}
	default:
		return 0;
	}
bad:
	if (rc == -2)
		return -1;
	out->not_found = 1;
	return 0;
}

/* Each target's newest message, kept when it is in (lo, hi), the limit
 * nearest the first bound: the targets are the list, the account's
 * conversations with accounts and its one-sided ones, or (neither given)
 * every target in the database, found by a skip scan of the index. */
#define TARGETS_PROBE \
	" CROSS JOIN LATERAL (SELECT " PG_COLUMNS " FROM events e WHERE e.target = names.name" \
	" AND e.kind IN " PG_MESSAGE_KINDS " ORDER BY e.msgid DESC LIMIT 1) e" \
	" WHERE e.msgid > $1 AND e.msgid < $2 ORDER BY e.msgid %s LIMIT $3"
static const char sql_targets_listed[] =
    "WITH names AS (SELECT unnest($4::text[]) AS name"
    " UNION SELECT target FROM conversations WHERE account = $5"
    " UNION (SELECT DISTINCT target FROM events WHERE target > $6 AND target < $7"
    " LIMIT " "10000" "))"
    " SELECT " PG_COLUMNS " FROM names" TARGETS_PROBE;
static const char sql_targets_all[] =
    "WITH RECURSIVE names(name) AS (SELECT min(target) FROM events"
    " UNION ALL SELECT (SELECT min(target) FROM events WHERE target > names.name)"
    " FROM names WHERE names.name IS NOT NULL)"
    " SELECT " PG_COLUMNS " FROM names" TARGETS_PROBE;

static int
query_targets(PGconn *c, const struct store_query *q, uint32_t limit, struct store_result *out)
{
	struct store_ref ra = q->a, rb = q->b;
	ra.msgid[0] = rb.msgid[0] = '\0';
	int desc = ra.set && rb.set && ra.at_ms > rb.at_ms;
	if (desc) {
		struct store_ref t = ra;
		ra = rb;
		rb = t;
	}
	char lo[MSGID_LEN + 1] = LOWEST, hi[MSGID_LEN + 1] = HIGHEST, lim[16];
	if (ra.set)
		ref_bound(c, NULL, &ra, 1, lo);
	if (rb.set)
		ref_bound(c, NULL, &rb, 0, hi);
	snprintf(lim, sizeof lim, "%u", limit);
	char sql[sizeof sql_targets_listed + 16];
	PGresult *r;
	if (q->targets != NULL || q->account != NULL) {
		char acc[ACCOUNT_LEN_MAX + 1] = "", half_lo[STORE_TARGET_MAX + 1] = "",
		    half_hi[STORE_TARGET_MAX + 1] = "";
		if (q->account != NULL) {
			store_fold(acc, q->account, sizeof acc);
			snprintf(half_lo, sizeof half_lo, "@%s%c", acc, STORE_HALF_SEP);
			snprintf(half_hi, sizeof half_hi, "@%s%c", acc, STORE_HALF_SEP + 1);
		}
		char *names = pg_text_array(q->targets, q->targets != NULL ? q->ntargets : 0);
		if (names == NULL)
			return -1;
		const char *p[7] = { lo, hi, lim, names, q->account != NULL ? acc : NULL,
			half_lo, half_hi };
		snprintf(sql, sizeof sql, sql_targets_listed, desc ? "DESC" : "ASC");
		r = pg_exec(c, sql, 7, p);
		free(names);
	} else {
		const char *p[3] = { lo, hi, lim };
		snprintf(sql, sizeof sql, sql_targets_all, desc ? "DESC" : "ASC");
		r = pg_exec(c, sql, 3, p);
	}
	return collect(r, out, limit);
}

void
pg_query(struct store *st, const struct store_query *q, struct store_result *out)
{
	struct pg_store *s = pg_of(st);
	memset(out, 0, sizeof *out);
	uint32_t limit = q->limit < PG_QUERY_MAX ? q->limit : PG_QUERY_MAX;
	if (limit == 0)
		return;
	if (q->kind != SQ_TARGETS && q->kind != SQ_SEARCH && q->target == NULL)
		return;
	out->events = calloc(limit, sizeof *out->events);
	if (out->events == NULL) {
		out->failed = 1;
		return;
	}
	int rc = -1;
	for (int tries = 0; tries < 2; tries++) {
		PGconn *c = pg_take(s);
		if (c == NULL)
			break;
		PGresult *b = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
		if (pg_ok(b)) {
			if (q->kind == SQ_TARGETS)
				rc = query_targets(c, q, limit, out);
			else if (q->kind == SQ_SEARCH)
				rc = pg_search(c, q, limit, out);
			else
				rc = query_history(c, q, limit, out);
		}
		PQclear(b);
		PQclear(PQexec(c, "COMMIT"));
		/* A pooled connection the database dropped (it restarted)
		 * fails its first query: once more, on a new one. */
		if (!pg_give(s, c) || rc == 0)
			break;
		for (size_t i = 0; i < out->n; i++)
			store_event_free(&out->events[i]);
		out->n = 0;
		out->not_found = 0;
	}
	if (rc != 0) {
		store_result_free(out);
		out->failed = 1;
	}
}
