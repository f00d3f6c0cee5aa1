/* parleyd migrate --from sqlite:DIR --to postgresql://...: a single
 * node's SQLite database (its data-dir's) copied into PostgreSQL, for a
 * node that moves to the shared database. The SQLite side is brought to
 * its current schema first (as the server would) and read in one read
 * transaction, so the copy is of one moment even while a server runs on
 * it; the PostgreSQL side gets its schema from pg_schema.c and every row
 * with COPY, in one transaction that also checks the database holds no
 * history nor account yet (copying twice would double nothing, but
 * merging two nodes' accounts is not what this does). The search index
 * is PostgreSQL's own, computed from the text as it is copied. */
#include "store/pg_int.h"
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The events copied: every row but a replay's second copy, which a
 * crash may have left past the room index's mark (the writer deletes it
 * in its next batch; PostgreSQL's unique index would refuse it). Only
 * the few rows past the mark are looked at twice. */
#define EVENTS_ONCE "events e WHERE e.id <= " STORE_ROOM_MARK \
	" OR (NOT EXISTS (SELECT 1 FROM events_room r WHERE r.target = e.target" \
	" AND r.msgid = e.msgid) AND NOT EXISTS (SELECT 1 FROM events d" \
	" WHERE d.id > " STORE_ROOM_MARK " AND d.id < e.id AND d.target = e.target" \
	" AND d.msgid = e.msgid))"

/* What is copied: each table's columns, the same names on both sides
 * (docs/storage.md). */
static const struct {
	const char *table, *columns, *order;
} tables[] = {
	{ "events", "msgid, at_ms, target, kind, sender, account, text, extra, tags, bot, redacted",
	  "id" },
	{ "accounts", "key, name, pwhash, scram_salt, scram_iter, scram_stored_key,"
	  " scram_server_key, created_ms", "key" },
	{ "account_certs", "fp, account", "fp" },
	{ "conversations", "account, target", "account, target" },
	{ "read_markers", "account, target, at_ms", "account, target" },
	{ "rooms", "key, name, founder, topic, topic_by, topic_at, modes, password, lim, created",
	  "key" },
	{ "room_masks", "room, letter, mask, by, at", "room, letter, mask" },
	{ "room_ops", "room, account", "room, account" },
};
#define NTABLES (sizeof tables / sizeof tables[0])

/* A growing buffer for one COPY row (PostgreSQL's text format). */
struct line {
	char *p;
	size_t n, cap;
};

static int
put(struct line *l, const char *s, size_t n)
{
	if (l->n + n + 1 > l->cap) {
		size_t cap = (l->n + n + 1) * 2;
		char *p = realloc(l->p, cap);
		if (p == NULL)
			return -1;
		l->p = p;
		l->cap = cap;
	}
	memcpy(l->p + l->n, s, n);
	l->n += n;
	return 0;
}

/* Column i of st, as COPY's text format has it: \N for NULL, a blob as
 * bytea's hex form, text with its backslashes and controls escaped. */
static int
put_column(struct line *l, sqlite3_stmt *st, int i)
{
	int type = sqlite3_column_type(st, i);
	if (type == SQLITE_NULL)
		return put(l, "\\N", 2);
	if (type == SQLITE_BLOB) {
		static const char hex[] = "0123456789abcdef";
		const unsigned char *b = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		if (put(l, "\\\\x", 3) != 0)
			return -1;
		for (int k = 0; k < n; k++) {
			char two[2] = { hex[b[k] >> 4], hex[b[k] & 15] };
			if (put(l, two, 2) != 0)
				return -1;
		}
		return 0;
	}
	const char *t = (const char *)sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);
	for (int k = 0; k < n; k++) {
		char esc[2] = { '\\', 0 };
		switch (t[k]) {
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default: break;
		}
		if (put(l, esc[1] != 0 ? esc : &t[k], esc[1] != 0 ? 2 : 1) != 0)
			return -1;
	}
	return 0;
}

/* One table's rows from db into c (inside its transaction). */
static int
copy_table(sqlite3 *db, PGconn *c, size_t t, size_t *rows, char *err, size_t errlen)
{
	char sql[1024];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s ORDER BY %s", tables[t].columns,
	    strcmp(tables[t].table, "events") == 0 ? EVENTS_ONCE : tables[t].table,
	    tables[t].order);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: %s: %s", tables[t].table, sqlite3_errmsg(db));
		return -1;
	}
	snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN", tables[t].table, tables[t].columns);
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COPY_IN;
	PQclear(r);
	if (!ok) {
		snprintf(err, errlen, "database: %s: %s", tables[t].table, PQerrorMessage(c));
		sqlite3_finalize(st);
		return -1;
	}
	struct line l = { 0 };
	int rc, failed = 0;
	*rows = 0;
	while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		l.n = 0;
		for (int i = 0; !failed && i < sqlite3_column_count(st); i++)
			failed = (i > 0 && put(&l, "\t", 1) != 0) || put_column(&l, st, i) != 0;
		failed = failed || put(&l, "\n", 1) != 0 ||
		    PQputCopyData(c, l.p, (int)l.n) != 1;
		(*rows)++;
	}
	if (!failed && rc != SQLITE_DONE) {
		snprintf(err, errlen, "sqlite: %s: %s", tables[t].table, sqlite3_errmsg(db));
		failed = 1;
	}
	free(l.p);
	sqlite3_finalize(st);
	PQputCopyEnd(c, failed ? "parleyd migrate: reading the SQLite database failed" : NULL);
	r = PQgetResult(c);
	if (!failed && !pg_ok(r)) {
		snprintf(err, errlen, "database: %s: %s", tables[t].table, PQerrorMessage(c));
		failed = 1;
	}
	PQclear(r);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
	pg_one_line(err);
	return failed ? -1 : 0;
}

static int
exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	int ok = pg_ok(r);
	if (!ok) {
		snprintf(err, errlen, "database: %s", PQerrorMessage(c));
		pg_one_line(err);
	}
	PQclear(r);
	return ok ? 0 : -1;
}

int
store_migrate(const char *dir, const char *url, size_t counts[STORE_MIGRATE_TABLES],
    const char *names[STORE_MIGRATE_TABLES], char *err, size_t errlen)
{
	_Static_assert(NTABLES == STORE_MIGRATE_TABLES, "the tables migrated");
	char path[STORE_PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_NAME) >= sizeof path) {
		snprintf(err, errlen, "%s: the path is too long", dir);
		return -1;
	}
	/* Never created: a data-dir without a database is an error. */
	sqlite3 *db = store_db_open(path, SQLITE_OPEN_READWRITE, err, errlen);
	if (db == NULL)
		return -1;
	PGconn *c = NULL;
	int rc = -1;
	if (store_schema_migrate(db, err, errlen) != 0)
		goto out;
	if ((c = pg_connect(url, NULL, err, errlen)) == NULL || pg_schema_migrate(c, err, errlen) != 0)
		goto out;
	if (exec_ok(c, "BEGIN", err, errlen) != 0)
		goto out;
	PGresult *r = PQexec(c, "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM"
	    " accounts) + (SELECT count(*) FROM rooms)");
	int empty = pg_ok(r) && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "0") == 0;
	if (!pg_ok(r))
		snprintf(err, errlen, "database: %s", PQerrorMessage(c));
	else if (!empty)
		snprintf(err, errlen, "database: it holds history, accounts or rooms already:"
		    " migrate into an empty one");
	PQclear(r);
	if (!empty)
		goto out;
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t t = 0; t < NTABLES; t++) {
		names[t] = tables[t].table;
		if (copy_table(db, c, t, &counts[t], err, errlen) != 0)
			goto out;
	}
	sqlite3_stmt *st = NULL;
	char serial[32] = "0";
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'accounts_serial'", -1,
	    &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		snprintf(serial, sizeof serial, "%lld", (long long)sqlite3_column_int64(st, 0) + 1);
	sqlite3_finalize(st);
	const char *p[1] = { serial };
	r = pg_exec(c, "UPDATE meta SET value = $1 WHERE key = 'accounts_serial'", 1, p);
	int ok = pg_ok(r);
	PQclear(r);
	if (!ok || exec_ok(c, "COMMIT", err, errlen) != 0) {
		if (!ok)
			snprintf(err, errlen, "database: %s", PQerrorMessage(c));
		goto out;
	}
	rc = 0;
out:
	if (c != NULL) {
		if (rc != 0)
			PQclear(PQexec(c, "ROLLBACK"));
		PQfinish(c);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}
