/* One row of the columns every query reads (PG_COLUMNS) made a store
 * event: what the queries (pg_query.c) and SEARCH (pg_search.c) both
 * return, in its own file so that neither calls back into the other. */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
col_size(const PGresult *r, int row, int i)
{
	return PQgetisnull(r, row, i) ? 0 : (size_t)PQgetlength(r, row, i) + 1;
}

static const char *
col_put(const PGresult *r, int row, int i, char **at)
{
	if (PQgetisnull(r, row, i))
		return NULL;
	size_t n = (size_t)PQgetlength(r, row, i);
	char *d = *at;
	memcpy(d, PQgetvalue(r, row, i), n);
	d[n] = '\0';
	*at += n + 1;
	return d;
}

int
pg_row_event(const PGresult *r, int row, struct store_event *e)
{
	memset(e, 0, sizeof *e);
	snprintf(e->msgid, sizeof e->msgid, "%s", PQgetvalue(r, row, 0));
	e->at_ms = strtoll(PQgetvalue(r, row, 1), NULL, 10);
	e->kind = (enum store_kind)atoi(PQgetvalue(r, row, 3));
	e->bot = PQgetvalue(r, row, 9)[0] == 't';
	e->redacted = PQgetvalue(r, row, 10)[0] == 't';
	size_t n = 1;
	for (int i = 2; i <= 8; i++)
		if (i != 3)
			n += col_size(r, row, i);
	char *at = malloc(n);
	if (at == NULL)
		return -1;
	e->target = col_put(r, row, 2, &at);
	if (e->target == NULL) {
		*at = '\0';
		e->target = at++;
	}
	e->sender = col_put(r, row, 4, &at);
	e->account = col_put(r, row, 5, &at);
	e->text = col_put(r, row, 6, &at);
	e->extra = col_put(r, row, 7, &at);
	e->tags = col_put(r, row, 8, &at);
	return 0;
}
