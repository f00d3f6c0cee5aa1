/* The PostgreSQL tables, and how a database of any older version is
 * brought to this build's: schema_version holds the version (none: an
 * empty database), and each step runs in the one transaction that
 * records the version it reaches, under an advisory lock, so two nodes
 * starting at once upgrade once and a failure leaves the old version
 * whole. docs/storage.md says what each column holds.
 *
 * The tables are SQLite's (sqlite_schema.c), with PostgreSQL's types:
 * names and msgids compare as bytes (COLLATE "C"), as in SQLite, so a
 * target's range of msgids is its time order whatever the database's
 * locale; the search index is a GIN index of a tsvector column the
 * database computes itself from the text of the message kinds (the
 * 'simple' configuration: words lower-cased, no stemming, no stop
 * words), so redaction and pruning keep it true with no work of ours.
 *
 * Version 2 makes that index one of (target, words) (btree_gin, a
 * trusted extension Debian's postgresql ships): a search in one room reads
 * that room's matches only, not every room's (691 ms for a word common
 * elsewhere, bench/results/2026-12-02-pgstore.md). Where the extension
 * cannot be had, the step keeps the words-only index: search answers as
 * before, slower.
 *
 * Version 3 gives a registered room's row its version (hub_room_stamp)
 * and a mark for a room dropped: the nodes of a cluster each save whole
 * snapshots of a room, one may write its own late (held back while the
 * database was away), and only a newer version replaces a row
 * (pg_writer.c). Rows of before are version 0: any save replaces them. */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema_v1[] =
    "CREATE TABLE events ("
    "  id bigserial PRIMARY KEY,"
    "  msgid text COLLATE \"C\" NOT NULL,"
    "  at_ms bigint NOT NULL,"
    "  target text COLLATE \"C\" NOT NULL,"
    "  kind smallint NOT NULL,"
    "  sender text NOT NULL,"
    "  account text,"
    "  text text,"
    "  extra text,"
    "  tags text,"
    "  bot boolean NOT NULL DEFAULT false,"
    "  redacted boolean NOT NULL DEFAULT false,"
    "  words tsvector GENERATED ALWAYS AS (CASE WHEN kind IN (1, 2, 3) AND text IS NOT NULL"
    "    THEN to_tsvector('simple'::regconfig, text) END) STORED"
    ");"
    "CREATE UNIQUE INDEX events_target ON events (target, msgid);"
    "CREATE INDEX events_words ON events USING gin (words);"
    "CREATE INDEX events_at ON events (at_ms);"
    "CREATE TABLE accounts ("
    "  key text COLLATE \"C\" PRIMARY KEY,"
    "  name text NOT NULL,"
    "  pwhash text NOT NULL,"
    "  scram_salt bytea NOT NULL,"
    "  scram_iter bigint NOT NULL,"
    "  scram_stored_key bytea NOT NULL,"
    "  scram_server_key bytea NOT NULL,"
    "  created_ms bigint NOT NULL"
    ");"
    "CREATE TABLE account_certs ("
    "  fp text COLLATE \"C\" PRIMARY KEY,"
    "  account text COLLATE \"C\" NOT NULL"
    ");"
    "CREATE INDEX account_certs_account ON account_certs (account);"
    "CREATE TABLE meta ("
    "  key text PRIMARY KEY,"
    "  value bigint NOT NULL"
    ");"
    "INSERT INTO meta (key, value) VALUES ('accounts_serial', 0);"
    "CREATE TABLE conversations ("
    "  account text COLLATE \"C\" NOT NULL,"
    "  target text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (account, target)"
    ");"
    "CREATE TABLE read_markers ("
    "  account text COLLATE \"C\" NOT NULL,"
    "  target text COLLATE \"C\" NOT NULL,"
    "  at_ms bigint NOT NULL,"
    "  PRIMARY KEY (account, target)"
    ");"
    "CREATE TABLE rooms ("
    "  key text COLLATE \"C\" PRIMARY KEY,"
    "  name text NOT NULL,"
    "  founder text NOT NULL,"
    "  topic text,"
    "  topic_by text,"
    "  topic_at bigint NOT NULL DEFAULT 0,"
    "  modes text NOT NULL DEFAULT '',"
    "  password text,"
    "  lim bigint NOT NULL DEFAULT 0,"
    "  created bigint NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE room_masks ("
    "  room text COLLATE \"C\" NOT NULL,"
    "  letter text NOT NULL,"
    "  mask text NOT NULL,"
    "  by text,"
    "  at bigint NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (room, letter, mask)"
    ");"
    "CREATE TABLE room_ops ("
    "  room text COLLATE \"C\" NOT NULL,"
    "  account text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY (room, account)"
    ");"
    "CREATE INDEX room_ops_account ON room_ops (account);";

static const char schema_v2[] =
    "CREATE EXTENSION IF NOT EXISTS btree_gin;"
    "CREATE INDEX events_target_words ON events USING gin (target, words);"
    "DROP INDEX events_words;";
static const char schema_v3[] =
    "ALTER TABLE rooms ADD COLUMN version bigint NOT NULL DEFAULT 0;"
    "ALTER TABLE rooms ADD COLUMN dropped boolean NOT NULL DEFAULT false;";

/* The steps, from version i to i + 1 at index i; an optional one that
 * fails is undone (to a savepoint) and the version reached all the same. */
static const struct {
	const char *sql;
	int optional;
} migrations[PG_SCHEMA_VERSION] = {
	{ schema_v1, 0 },
	{ schema_v2, 1 },
	{ schema_v3, 0 },
};

static int
run(PGconn *c, const char *sql, char *err, size_t errlen)
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
pg_schema_migrate(PGconn *c, char *err, size_t errlen)
{
	/* The lock is the transaction's: it goes with the COMMIT. */
	if (run(c, "BEGIN", err, errlen) != 0)
		return -1;
	if (run(c, "SELECT pg_advisory_xact_lock(1886413676)", err, errlen) != 0 ||
	    run(c, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)",
	        err, errlen) != 0)
		goto fail;
	PGresult *r = PQexec(c, "SELECT max(version) FROM schema_version");
	if (!pg_ok(r) || PQntuples(r) != 1) {
		snprintf(err, errlen, "database: %s", PQerrorMessage(c));
		pg_one_line(err);
		PQclear(r);
		goto fail;
	}
	int version = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (version > PG_SCHEMA_VERSION) {
		snprintf(err, errlen, "database: its schema is version %d, newer than this"
		    " parleyd's (%d): run a newer parleyd", version, PG_SCHEMA_VERSION);
		goto fail;
	}
	for (int v = version; v < PG_SCHEMA_VERSION; v++) {
		if (!migrations[v].optional) {
			if (run(c, migrations[v].sql, err, errlen) != 0)
				goto fail;
			continue;
		}
		if (run(c, "SAVEPOINT step", err, errlen) != 0)
			goto fail;
		if (run(c, migrations[v].sql, err, errlen) != 0 &&
		    run(c, "ROLLBACK TO SAVEPOINT step", err, errlen) != 0)
			goto fail;
		err[0] = '\0';
	}
	if (version < PG_SCHEMA_VERSION) {
		char sql[96];
		snprintf(sql, sizeof sql, "DELETE FROM schema_version;"
		    " INSERT INTO schema_version (version) VALUES (%d)", PG_SCHEMA_VERSION);
		if (run(c, sql, err, errlen) != 0)
			goto fail;
	}
	return run(c, "COMMIT", err, errlen);
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}
