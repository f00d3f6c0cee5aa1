/* The tables, and how a database of any older version is brought to this
 * build's (PRAGMA user_version: 0 is an empty database). Each step runs
 * in one transaction with the version it reaches, so a crash midway
 * leaves the old version whole. docs/storage.md says what each column
 * holds and why the indexes are these. */
#include "store/sqlite_int.h"

#include <stdio.h>

/* Version 1: the events of every target; the index the paginated queries
 * walk (a target's events in msgid order, which is time order), unique:
 * one event is stored once per target, and a quit or a nick change is
 * one event stored in every room its user was in, under one msgid (as
 * every client saw it); msgid alone indexed for REDACT. The full-text
 * index of the message kinds' text is contentless (the text is stored
 * once, in events; no column sizes, which only ranking reads) and holds
 * each word as its room's own (sqlite_fts.c). The writer keeps it true
 * with a statement of its own beside each insert, redaction and prune,
 * not with triggers: a trigger that writes a virtual table makes SQLite
 * open a statement journal for every row, which costs more than the
 * row. */
static const char schema_v1[] =
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  msgid TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  target TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  account TEXT,"
    "  text TEXT,"
    "  extra TEXT,"
    "  tags TEXT,"
    "  bot INTEGER NOT NULL DEFAULT 0,"
    "  redacted INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE UNIQUE INDEX events_target ON events (target, msgid);"
    "CREATE INDEX events_msgid ON events (msgid);"
    "CREATE VIRTUAL TABLE events_fts USING fts5 ("
    "  text, content='', columnsize=0, tokenize='parley remove_diacritics 2'"
    ");";

/* Version 2: accounts (issue 13). An account is found by its folded
 * name (key: lower(), ASCII as name_fold) and keeps its name as
 * registered; the password as an argon2id string (libsodium's form, its
 * parameters inside) and SCRAM-SHA-256's salted credentials beside it,
 * never the password. Certificates by fingerprint, each one account's.
 * meta holds the counter every account write bumps: a running server
 * notices another process's change by it (store_accounts_serial). */
static const char schema_v2[] =
    "CREATE TABLE accounts ("
    "  key TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  pwhash TEXT NOT NULL,"
    "  scram_salt BLOB NOT NULL,"
    "  scram_iter INTEGER NOT NULL,"
    "  scram_stored_key BLOB NOT NULL,"
    "  scram_server_key BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE account_certs ("
    "  fp TEXT PRIMARY KEY,"
    "  account TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX account_certs_account ON account_certs (account);"
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES ('accounts_serial', 0);";

/* Version 3: what accounts unlock (issue 13). conversations: each
 * private conversation's key (events.target) under both its accounts
 * (folded), so that an account's conversations are one index range
 * (TARGETS). read_markers: per account and target, the time read up to
 * (draft/read-marker). rooms: a registered room (key: its folded name)
 * and what it keeps across restarts and while empty; room_masks its +b,
 * +e and +I lists, room_ops the accounts that get operator status on
 * joining (the founder does always). */
static const char schema_v3[] =
    "CREATE TABLE conversations ("
    "  account TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  PRIMARY KEY (account, target)"
    ") WITHOUT ROWID;"
    "CREATE TABLE read_markers ("
    "  account TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (account, target)"
    ") WITHOUT ROWID;"
    "CREATE TABLE rooms ("
    "  key TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  founder TEXT NOT NULL,"
    "  topic TEXT,"
    "  topic_by TEXT,"
    "  topic_at INTEGER NOT NULL DEFAULT 0,"
    "  modes TEXT NOT NULL DEFAULT '',"
    "  password TEXT,"
    "  lim INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;"
    "CREATE TABLE room_masks ("
    "  room TEXT NOT NULL,"
    "  letter TEXT NOT NULL,"
    "  mask TEXT NOT NULL,"
    "  by TEXT,"
    "  at INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (room, letter, mask)"
    ") WITHOUT ROWID;"
    "CREATE TABLE room_ops ("
    "  room TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  PRIMARY KEY (room, account)"
    ") WITHOUT ROWID;";

/* Version 4: the writer's speed (issue 12). The search index is
 * written after the commit that releases an epoch, in batches of its
 * own: meta's 'fts_indexed' is the highest events.id whose words are in
 * it (every row an older version stored is). The msgid-only index goes:
 * a REDACT names its target, so (target, msgid) finds its row, and
 * every row stored paid for a third B-tree nothing else read. */
static const char schema_v4[] =
    "DROP INDEX IF EXISTS events_msgid;"
    "INSERT OR REPLACE INTO meta (key, value)"
    "  VALUES ('fts_indexed', (SELECT coalesce(max(id), 0) FROM events));";

/* Version 5: the writer's speed again (issue 12). The search index
 * merges its segments 16 at a time, not 4 (FTS5's automerge, kept in
 * events_fts_config): each row's words are rewritten by a merge about
 * half as often (log16 against log4 of the segments), which took a fifth
 * off indexing a message (callgrind of store-bench), for up to 15
 * segments a level where a search looked at 3 (store-bench on 1,100,000
 * rows: every search shape's p50 as it was, under 1 ms). */
static const char schema_v5[] =
    "INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16);";

/* Version 6: the writer's speed again (issue 12). The search index
 * keeps no positions (detail=none): which rows hold a word, not where
 * in them; and its words carry a room's tag of 8 characters, not 16
 * (sqlite_fts.c): the terms hashed, sorted and written are shorter. A search's word that unicode61 splits ("don't", "foo-bar") is
 * a phrase; it asks the index for each part and checks the order in the
 * row's text (parley_phrases(), sqlite_fts.c). The index is made again:
 * the old one dropped, an empty one made, the mark at 0, and the writer
 * indexes every row in its batches, as it does rows left past the mark
 * by a crash (a search waits for them, STORE_FTS_WAIT_MS at most). */
static const char schema_v6[] =
    "DROP TABLE events_fts;"
    "CREATE VIRTUAL TABLE events_fts USING fts5 ("
    "  text, content='', columnsize=0, detail=none,"
    "  tokenize='parley remove_diacritics 2'"
    ");"
    "INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16);"
    "UPDATE meta SET value = 0 WHERE key = 'fts_indexed';";

/* Version 7: the writer's speed again (issue 12). A room's events are
 * found by events_room, (target, msgid) -> id, written as the search
 * index is: by the writer in batches behind its commits (meta's
 * 'room_indexed' is the highest events.id whose row is in it), so that
 * a commit appends rows to events alone and a batch of thousands of rows
 * rewrites each room's leaf once, not once a commit (the unique index on
 * events it replaces wrote some 1,900 bytes of WAL a message at W3-1000,
 * bench/results/2026-12-02-s10-w3-where.md). A row past the mark is found
 * by a scan of the rows past it (few: sqlite_int.h); a replay (a msgid
 * its target holds already) is a second row until the batch deletes it.
 * The rows are copied in the old index's order: each leaf written once. */
static const char schema_v7[] =
    "CREATE TABLE events_room ("
    "  target TEXT NOT NULL,"
    "  msgid TEXT NOT NULL,"
    "  id INTEGER NOT NULL,"
    "  PRIMARY KEY (target, msgid)"
    ") WITHOUT ROWID;"
    "INSERT INTO events_room (target, msgid, id)"
    "  SELECT target, msgid, id FROM events INDEXED BY events_target ORDER BY target, msgid;"
    "DROP INDEX events_target;"
    "INSERT OR REPLACE INTO meta (key, value)"
    "  VALUES ('room_indexed', (SELECT coalesce(max(id), 0) FROM events));";

/* The steps, from version i to i + 1 at index i. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	schema_v1,
	schema_v2,
	schema_v3,
	schema_v4,
	schema_v5,
	schema_v6,
	schema_v7,
};

static int
user_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_schema_migrate(sqlite3 *db, char *err, size_t errlen)
{
	int v = 0;
	if (user_version(db, &v) != SQLITE_OK) {
		snprintf(err, errlen, "database: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (v > STORE_SCHEMA_VERSION || v < 0) {
		snprintf(err, errlen,
		    "database schema version %d is newer than this parleyd knows (%d)",
		    v, STORE_SCHEMA_VERSION);
		return -1;
	}
	while (v < STORE_SCHEMA_VERSION) {
		char set[64];
		char *msg = NULL;
		/* The version is read again inside the step's transaction: another
		 * process (the server, the admin command line) may have taken the
		 * step since it was read. */
		int again = v;
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
		    user_version(db, &again) != SQLITE_OK)
			goto failed;
		if (again != v) {
			if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
				goto failed;
			if (again > STORE_SCHEMA_VERSION || again < v) {
				snprintf(err, errlen,
				    "database schema version %d is newer than this parleyd knows (%d)",
				    again, STORE_SCHEMA_VERSION);
				return -1;
			}
			v = again;
			continue;
		}
		snprintf(set, sizeof set, "PRAGMA user_version = %d;", v + 1);
		if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, set, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
			goto failed;
		v++;
		continue;
failed:
		snprintf(err, errlen, "database: upgrading the schema to version %d: %s",
		    v + 1, msg != NULL ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}
