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
 * So the rows are asked first, each step forced (planner settings local
 * to the query's transaction):
 *
 *   1. each room's newest PG_SEARCH_PROBE rows are walked; a room that
 *      gives its limit of matches there is done (they are its newest);
 *   2. a room that gave some, few enough that the rows its limit needs
 *      (the probe's density, with half again to spare) are at most
 *      PG_SEARCH_WALK, is walked that far; done if that gives its limit;
 *   3. every other room (none in the probe, or too few to walk for) is
 *      read through the GIN index: its matches are few (under one row in
 *      PG_SEARCH_WALK / limit, as far as the probe can tell), all of
 *      them are read and the newest kept.
 *
 * A room of evenly spread matches costs at most about PG_SEARCH_WALK rows
 * walked or a like number of matches read; a word common in a room's old
 * messages only and rare since is what costs more (all its matches).
 *
 * The newest are those of the highest msgids (the order CHATHISTORY
 * gives, the same on every node), answered oldest first: SQLite's
 * answer, whose rowids are in msgid order on one node. */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of a room walked by step 1, and at most by step 2: shared by the
 * rooms searched, never fewer than the limit a room. A walked row costs
 * about a tenth of a matching row read through the GIN index (0.35 and
 * ~4 µs, bench/results/2026-12-02-pg-search.md). */
#define PG_SEARCH_PROBE 2000
#define PG_SEARCH_WALK 50000
/* The longest text looked for (as sqlite_query.c's). */
#define PG_SEARCH_TEXT_MAX 1024

/* A step's statement: for each room (t.name) of unnest(arrays) AS
 * t(columns), the newest $4 of rows (a subquery of t's events) that the
 * search wants: $1 the tsquery, $3 the sender's LIKE pattern or NULL,
 * after and before the times (ms) they may not be older or newer than,
 * or NULL. */
#define STEP_SQL(arrays, columns, rows, after, before) \
	"SELECT " PG_COLUMNS " FROM unnest(" arrays ") AS t(" columns ") CROSS JOIN LATERAL" \
	" (SELECT x.* FROM (" rows ") x WHERE x.words @@ to_tsquery('simple'::regconfig, $1)" \
	" AND x.kind IN " PG_MESSAGE_KINDS " AND NOT x.redacted" \
	" AND ($3::text IS NULL OR x.sender ILIKE $3)" \
	" AND (" after "::bigint IS NULL OR x.at_ms >= " after ")" \
	" AND (" before "::bigint IS NULL OR x.at_ms <= " before ")" \
	" ORDER BY x.msgid DESC LIMIT $4) e"

/* Steps 1 and 2: among each room's newest rows, as many as its number
 * in $5, walked newest first through its (target, msgid) index; the
 * times in $6, $7. A walk the bounds thin out settles fewer rooms: step
 * 3 reads the rest. */
static const char sql_walk[] = STEP_SQL("$2::text[], $5::bigint[]", "name, n",
    "SELECT * FROM events r WHERE r.target = t.name ORDER BY r.msgid DESC LIMIT t.n",
    "$6", "$7");
static const char set_walk[] =
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off";

/* Step 3: among all of each room's rows, through the GIN index of
 * (target, words) (a bitmap: no index walked in order; the subquery is
 * flattened into the one above). One room at a time: the index takes
 * target = one name, not = ANY of several, which would read every
 * room's matches. */
static const char sql_matches[] = STEP_SQL("$2::text[]", "name",
    "SELECT * FROM events r WHERE r.target = t.name", "$5", "$6");
static const char set_matches[] =
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = on;"
    " SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off";

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Whether the len bytes at w (a prefix or not) were in text before w
 * already, as a word of their own. */
static int
seen_before(const char *text, const char *w, size_t len, int prefix)
{
	for (const char *p = text; p < w;) {
		while (p < w && is_space(*p))
			p++;
		const char *v = p;
		while (p < w && !is_space(*p))
			p++;
		size_t vn = (size_t)(p - v);
		int vprefix = vn > 1 && v[vn - 1] == '*';
		if (vprefix == prefix && vn - (size_t)vprefix == len && memcmp(v, w, len) == 0)
			return 1;
	}
	return 0;
}

/* The tsquery of a SEARCH: every word of text (whitespace between), each
 * quoted so that no character is an operator (a word the parser splits,
 * "col:on", becomes a phrase), ANDed; a word ending in '*' matches as a
 * prefix. A word repeated is one; more than STORE_SEARCH_PREFIX_MAX
 * distinct prefixes find nothing, as on SQLite. NULL when nothing can
 * match (no word, too many prefixes, or memory fails). */
static char *
tsquery_of(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(4 * n + 16), *o = out;
	if (out == NULL)
		return NULL;
	const char *p = text;
	int words = 0, prefixes = 0;
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
		if (seen_before(text, w, len, prefix))
			continue;
		if (prefix && ++prefixes > STORE_SEARCH_PREFIX_MAX) {
			free(out);
			return NULL;
		}
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

/* A search under way: the rooms, and for each the step whose rows are
 * its answer (0 while none is). */
struct search {
	const char *const *targets;
	size_t ntargets;
	uint32_t limit;
	const char *p[7];           /* sql_walk's parameters ($1..$7) */
	int *settled_by;            /* per room: 1, 2 or 3 */
	size_t *got;                /* per room: rows of the last step */
	PGresult *rows[4];          /* each step's, [1..3] */
};

static int
target_index(const struct search *s, const char *target)
{
	for (size_t k = 0; k < s->ntargets; k++)
		if (strcmp(target, s->targets[k]) == 0)
			return (int)k;
	return -1;
}

/* Runs settings, then sql with the search's parameters (n of them) as
 * step's; counts each room's rows. 0, or -1 when the database fails. */
static int
run_step(PGconn *c, struct search *s, int step, const char *settings, const char *sql, int n,
    const char *const *params)
{
	PGresult *r = PQexec(c, settings);
	int ok = pg_ok(r);
	PQclear(r);
	if (!ok)
		return -1;
	r = pg_exec(c, sql, n, params);
	if (!pg_ok(r)) {
		PQclear(r);
		return -1;
	}
	s->rows[step] = r;
	memset(s->got, 0, s->ntargets * sizeof *s->got);
	for (int i = 0; i < PQntuples(r); i++) {
		int k = target_index(s, PQgetvalue(r, i, 2));
		if (k >= 0)
			s->got[k]++;
	}
	return 0;
}

/* The rooms not settled yet that pick(s, k) wants, as the statements'
 * arrays: names (and, with walks, each one's rows to walk). 0 rooms:
 * 0 with *names NULL; -1 when memory fails. */
static int
unsettled(struct search *s, size_t (*pick)(const struct search *, size_t), char **names,
    char **walks)
{
	const char **list = calloc(s->ntargets, sizeof *list);
	char *w = walks != NULL ? malloc(s->ntargets * 24 + 3) : NULL;
	*names = NULL;
	if (list == NULL || (walks != NULL && w == NULL)) {
		free(list);
		free(w);
		return -1;
	}
	size_t n = 0, o = 0;
	if (w != NULL)
		w[o++] = '{';
	for (size_t k = 0; k < s->ntargets; k++) {
		size_t rows;
		if (s->settled_by[k] != 0 || (rows = pick(s, k)) == 0)
			continue;
		if (w != NULL)
			o += (size_t)sprintf(w + o, "%s%zu", n > 0 ? "," : "", rows);
		list[n++] = s->targets[k];
	}
	if (w != NULL)
		strcpy(w + o, "}");
	int rc = 0;
	if (n > 0 && (*names = pg_text_array(list, n)) == NULL)
		rc = -1;
	free(list);
	if (walks != NULL && *names != NULL)
		*walks = w;
	else
		free(w);
	return rc;
}

/* Rows a room's walk takes: step 1's probe, step 2's walk. */
static size_t
probe_rows(const struct search *s, size_t k)
{
	(void)k;
	size_t n = PG_SEARCH_PROBE / s->ntargets;
	return n > s->limit ? n : s->limit;
}

static size_t
walk_rows(const struct search *s, size_t k)
{
	if (s->got[k] == 0)
		return 0;
	size_t most = PG_SEARCH_WALK / s->ntargets;
	if (most < s->limit)
		most = s->limit;
	/* The probe's density, half again to spare. */
	double need = 1.5 * (double)s->limit * (double)probe_rows(s, k) / (double)s->got[k];
	return need <= (double)most ? (size_t)need : 0;
}

static size_t
every_room(const struct search *s, size_t k)
{
	(void)s;
	(void)k;
	return 1;
}

/* The rooms that got their limit in step settle there. */
static void
settle(struct search *s, int step)
{
	for (size_t k = 0; k < s->ntargets; k++)
		if (s->settled_by[k] == 0 && (step == 3 || s->got[k] >= s->limit))
			s->settled_by[k] = step;
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

/* Each room's rows from the step that settled it, the newest limit of
 * them added to out, oldest first. */
static int
merge(const struct search *s, struct store_result *out)
{
	size_t cap = 1;
	for (int step = 1; step <= 3; step++)
		if (s->rows[step] != NULL)
			cap += (size_t)PQntuples(s->rows[step]);
	struct hit *hits = calloc(cap, sizeof *hits);
	if (hits == NULL)
		return -1;
	size_t n = 0;
	for (int step = 1; step <= 3; step++) {
		const PGresult *r = s->rows[step];
		for (int i = 0; r != NULL && i < PQntuples(r); i++) {
			int k = target_index(s, PQgetvalue(r, i, 2));
			if (k >= 0 && s->settled_by[k] == step)
				hits[n++] = (struct hit){ r, i };
		}
	}
	qsort(hits, n, sizeof *hits, cmp_newest_first);
	int rc = 0;
	for (size_t i = 0; i < n && out->n < s->limit && rc == 0; i++) {
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
	struct search s = { .targets = q->target != NULL ? one : q->targets,
		.ntargets = q->target != NULL ? 1 : q->ntargets, .limit = limit };
	if (s.targets == NULL || s.ntargets == 0 || q->text == NULL ||
	    strlen(q->text) > PG_SEARCH_TEXT_MAX)
		return 0;
	char *tsq = tsquery_of(q->text);
	if (tsq == NULL)
		return 0;  /* no word: nothing matches */
	char *like = NULL, *names = NULL, *walks = NULL, lim[16], after[24], before[24];
	int rc = -1;
	s.settled_by = calloc(s.ntargets, sizeof *s.settled_by);
	s.got = calloc(s.ntargets, sizeof *s.got);
	if (s.settled_by == NULL || s.got == NULL ||
	    (q->from != NULL && (like = like_of(q->from)) == NULL))
		goto done;
	snprintf(lim, sizeof lim, "%u", limit);
	s.p[0] = tsq;
	s.p[2] = like;
	s.p[3] = lim;
	snprintf(after, sizeof after, "%lld", (long long)q->a.at_ms);
	snprintf(before, sizeof before, "%lld", (long long)q->b.at_ms);
	s.p[5] = q->a.set ? after : NULL;
	s.p[6] = q->b.set ? before : NULL;
	static const struct {
		size_t (*pick)(const struct search *, size_t);
		int walk;
	} steps[4] = { { NULL, 0 }, { probe_rows, 1 }, { walk_rows, 1 }, { every_room, 0 } };
	for (int step = 1; step <= 3; step++) {
		free(names);
		free(walks);
		names = walks = NULL;
		if (unsettled(&s, steps[step].pick, &names, steps[step].walk ? &walks : NULL) != 0)
			goto done;
		if (names == NULL)
			continue;
		s.p[1] = names;
		s.p[4] = walks;
		const char *const pm[6] = { s.p[0], s.p[1], s.p[2], s.p[3], s.p[5], s.p[6] };
		if (steps[step].walk ? run_step(c, &s, step, set_walk, sql_walk, 7, s.p) != 0 :
		    run_step(c, &s, step, set_matches, sql_matches, 6, pm) != 0)
			goto done;
		settle(&s, step);
	}
	rc = merge(&s, out);
done:
	for (int step = 1; step <= 3; step++)
		PQclear(s.rows[step]);
	free(s.settled_by);
	free(s.got);
	free(names);
	free(walks);
	free(like);
	free(tsq);
	return rc;
}
