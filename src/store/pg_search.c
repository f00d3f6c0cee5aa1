/* SEARCH on PostgreSQL: the newest matches of a text in one room or
 * several, by a plan chosen from what the rows hold, not from the
 * planner's estimate of it.
 *
 * There are two ways to find a room's newest matches, and each is cheap
 * where the other is dear. Walking the room's rows newest first (its
 * (target, msgid) index) stops at the limit-th match: a few hundred rows
 * for a common word, the whole room for a word it never holds. The GIN
 * index of (target, words) reads the room's matches only, all of them:
 * nothing for a word the room lacks, 150,000 rows for its commonest.
 * PostgreSQL's planner picks one by its estimate of the matches, which
 * multiplies the word's share of the whole table by the room's: a word
 * in every message of the other rooms, none of this one, was walked
 * through 1,100,000 rows (4.1 s, bench/results/2026-12-02-pgstore-1m.md).
 *
 * So both, in turn, each forced (planner settings local to the query's
 * transaction): first each room's newest rows are walked, PG_SEARCH_WALK
 * in all, keeping its first limit matches; a room that gives limit is
 * done (they are its newest). The rooms that give fewer hold the word in
 * less than one row in PG_SEARCH_WALK / limit, so few rows hold it: the
 * GIN index gives them all and the newest are kept. Either step reads at
 * most about PG_SEARCH_WALK rows of a room whose matches are spread
 * evenly; a word common in a room's old messages only and rare since is
 * the case that reads more (all its matches, once).
 *
 * The newest are those of the highest msgids (the order CHATHISTORY
 * gives, the same on every node), answered oldest first: SQLite's
 * answer, whose rowids are in msgid order on one node. */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows walked (step 1) in all the rooms searched, shared evenly, and
 * never fewer than the limit a room. Balances the two steps' worst
 * cases for a room of a million rows and a limit of 100:
 * sqrt(limit * rows). */
#define PG_SEARCH_WALK 10000
/* The longest text looked for (as sqlite_query.c's). */
#define PG_SEARCH_TEXT_MAX 1024

/* A row of e (the step's alias) that the search wants: $1 the tsquery,
 * $3 the sender's LIKE pattern or NULL. */
#define MATCHES(e) \
	e ".words @@ to_tsquery('simple'::regconfig, $1) AND " e ".kind IN " \
	PG_MESSAGE_KINDS " AND NOT " e ".redacted AND ($3::text IS NULL OR " e \
	".sender ILIKE $3)"

/* Step 1: each room of $2 walked newest first through its (target,
 * msgid) index, $5 rows at most, its first $4 matches. */
static const char sql_walk[] =
    "SELECT " PG_COLUMNS " FROM unnest($2::text[]) AS t(name) CROSS JOIN LATERAL"
    " (SELECT w.* FROM (SELECT * FROM events r WHERE r.target = t.name"
    " ORDER BY r.msgid DESC LIMIT $5) w WHERE " MATCHES("w")
    " ORDER BY w.msgid DESC LIMIT $4) e";
static const char set_walk[] =
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off";

/* Step 2: the rooms of $2 through the GIN index (a bitmap: no index
 * walked in order), the newest $4 of all their matches. */
static const char sql_matches[] =
    "SELECT " PG_COLUMNS " FROM events e WHERE " MATCHES("e")
    " AND e.target = ANY ($2::text[]) ORDER BY e.msgid DESC LIMIT $4";
static const char set_matches[] =
    "SET LOCAL enable_bitmapscan = on; SET LOCAL enable_indexscan = off;"
    " SET LOCAL enable_indexonlyscan = off";

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* The tsquery of a SEARCH: every word of text (whitespace between), each
 * quoted so that no character is an operator (a word the parser splits,
 * "col:on", becomes a phrase), ANDed; a word ending in '*' matches as a
 * prefix. NULL when there is no word (or memory fails). */
static char *
tsquery_of(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(4 * n + 16), *o = out;
	if (out == NULL)
		return NULL;
	const char *p = text;
	int words = 0;
	for (;;) {
		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
		const char *w = p;
		while (*p != '\0' && !is_space(*p))
			p++;
		size_t len = (size_t)(p - w);
		int prefix = len > 1 && w[len - 1] == '*';
		if (prefix)
			len--;
		if (words++ > 0)
			o += sprintf(o, " & ");
		*o++ = '\'';
		for (size_t i = 0; i < len; i++) {
			if (w[i] == '\'' || w[i] == '\\')
				*o++ = w[i];
			*o++ = w[i];
		}
		*o++ = '\'';
		if (prefix)
			o += sprintf(o, ":*");
	}
	*o = '\0';
	if (words == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* nick!%: the nick's own LIKE characters escaped; any case, as SQLite's
 * LIKE. NULL when memory fails. */
static char *
like_of(const char *from)
{
	size_t n = strlen(from);
	char *like = malloc(2 * n + 3), *o = like;
	if (like == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (from[i] == '%' || from[i] == '_' || from[i] == '\\')
			*o++ = '\\';
		*o++ = from[i];
	}
	strcpy(o, "!%");
	return like;
}

/* One row of a step's result. */
struct hit {
	const PGresult *r;
	int row;
};

static int
cmp_newest_first(const void *x, const void *y)
{
	const struct hit *a = x, *b = y;
	return strcmp(PQgetvalue(b->r, b->row, 0), PQgetvalue(a->r, a->row, 0));
}

static int
cmp_oldest_first(const void *x, const void *y)
{
	const struct store_event *a = x, *b = y;
	return strcmp(a->msgid, b->msgid);
}

/* Runs settings, then sql; its rows, or NULL (the database failed). */
static PGresult *
step(PGconn *c, const char *settings, const char *sql, int n, const char *const *p)
{
	PGresult *r = PQexec(c, settings);
	int ok = pg_ok(r);
	PQclear(r);
	if (!ok)
		return NULL;
	r = pg_exec(c, sql, n, p);
	if (!pg_ok(r)) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* The targets of walked that gave fewer than limit rows (the walk
 * stopped short of their limit-th match), in a new array of *n. */
static const char **
short_of(const PGresult *walked, const char *const *targets, size_t ntargets,
    uint32_t limit, size_t *n)
{
	size_t *got = calloc(ntargets, sizeof *got);
	const char **out = calloc(ntargets, sizeof *out);
	*n = 0;
	if (got == NULL || out == NULL) {
		free(got);
		free(out);
		return NULL;
	}
	for (int i = 0; i < PQntuples(walked); i++)
		for (size_t k = 0; k < ntargets; k++)
			if (strcmp(PQgetvalue(walked, i, 2), targets[k]) == 0) {
				got[k]++;
				break;
			}
	for (size_t k = 0; k < ntargets; k++)
		if (got[k] < limit)
			out[(*n)++] = targets[k];
	free(got);
	return out;
}

/* The newest limit of the walk's rows of the rooms not in rest, and of
 * every row of matched (rest's), added to out oldest first. */
static int
merge(const PGresult *walked, const char *const *rest, size_t nrest,
    const PGresult *matched, uint32_t limit, struct store_result *out)
{
	size_t cap = (size_t)PQntuples(walked) + (matched ? (size_t)PQntuples(matched) : 0);
	struct hit *hits = calloc(cap ? cap : 1, sizeof *hits);
	if (hits == NULL)
		return -1;
	size_t n = 0;
	for (int i = 0; i < PQntuples(walked); i++) {
		int in_rest = 0;
		for (size_t k = 0; k < nrest && !in_rest; k++)
			in_rest = strcmp(PQgetvalue(walked, i, 2), rest[k]) == 0;
		if (!in_rest)
			hits[n++] = (struct hit){ walked, i };
	}
	for (int i = 0; matched != NULL && i < PQntuples(matched); i++)
		hits[n++] = (struct hit){ matched, i };
	qsort(hits, n, sizeof *hits, cmp_newest_first);
	int rc = 0;
	for (size_t i = 0; i < n && out->n < limit && rc == 0; i++) {
		if (pg_row_event(hits[i].r, hits[i].row, &out->events[out->n]) != 0)
			rc = -1;
		else
			out->n++;
	}
	free(hits);
	qsort(out->events, out->n, sizeof *out->events, cmp_oldest_first);
	return rc;
}

int
pg_search(PGconn *c, const struct store_query *q, uint32_t limit, struct store_result *out)
{
	const char *one[1] = { q->target };
	const char *const *targets = q->target != NULL ? one : q->targets;
	size_t ntargets = q->target != NULL ? 1 : q->ntargets;
	if (targets == NULL || ntargets == 0 || q->text == NULL ||
	    strlen(q->text) > PG_SEARCH_TEXT_MAX)
		return 0;
	char *tsq = tsquery_of(q->text);
	if (tsq == NULL)
		return 0;  /* no word: nothing matches */
	char *names = pg_text_array(targets, ntargets), *like = NULL, *rest_names = NULL;
	const char **rest = NULL;
	PGresult *walked = NULL, *matched = NULL;
	int rc = -1;
	if (names == NULL || (q->from != NULL && (like = like_of(q->from)) == NULL))
		goto done;
	size_t walk = PG_SEARCH_WALK / ntargets;
	char lim[16], walk_s[24];
	snprintf(lim, sizeof lim, "%u", limit);
	snprintf(walk_s, sizeof walk_s, "%zu", walk > limit ? walk : (size_t)limit);
	const char *p[5] = { tsq, names, like, lim, walk_s };
	if ((walked = step(c, set_walk, sql_walk, 5, p)) == NULL)
		goto done;
	size_t nrest;
	if ((rest = short_of(walked, targets, ntargets, limit, &nrest)) == NULL)
		goto done;
	if (nrest > 0) {
		if ((rest_names = pg_text_array(rest, nrest)) == NULL)
			goto done;
		p[1] = rest_names;
		if ((matched = step(c, set_matches, sql_matches, 4, p)) == NULL)
			goto done;
	}
	rc = merge(walked, rest, nrest, matched, limit, out);
done:
	PQclear(matched);
	PQclear(walked);
	free(rest_names);
	free(rest);
	free(like);
	free(names);
	free(tsq);
	return rc;
}
