/* What is kept for an account besides the account itself goes with it
 * (sqlite_accounts.c's delete): its private conversations, for both
 * sides, and its one-sided ones (with nicks), its read markers, its
 * place among the accounts registered rooms give +o, and the rooms it
 * founded (unregistered: a name registered again is someone else, who
 * founded nothing). The conversations' rows first, in batches of
 * transactions of their own while the account is there (its name is
 * nobody else's: a crash between two leaves rows only it reads); the
 * rest in the transaction that deletes the account. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdint.h>

/* The targets of the account's conversations: its pairs (by the
 * conversations table, ?1 its key), and its one-sided ones (the keys
 * strictly between ?2 "@key!" and ?3 "@key\"", by the room index). */
#define ACCOUNT_TARGETS "(target IN (SELECT target FROM conversations WHERE account = ?1)" \
	" OR (target > ?2 AND target < ?3))"
/* Their events' ids: by the room index, and the rows past its mark
 * (sqlite_int.h). */
#define ACCOUNT_EVENTS "(SELECT id FROM events_room WHERE " ACCOUNT_TARGETS \
	" UNION ALL SELECT id FROM events WHERE id > " STORE_ROOM_MARK " AND " ACCOUNT_TARGETS ")"

/* lo and hi: the one-sided conversations' keys are strictly between. */
static void
half_bounds(const char *key, char lo[STORE_TARGET_MAX + 1], char hi[STORE_TARGET_MAX + 1])
{
	snprintf(lo, STORE_TARGET_MAX + 1, "@%s%c", key, STORE_HALF_SEP);
	snprintf(hi, STORE_TARGET_MAX + 1, "@%s%c", key, STORE_HALF_SEP + 1);
}

/* The ids of the account's rows in the room index (every one of them at
 * or below its mark), in a temporary table of the connection: the
 * batches take them in the order they were stored, so that each of
 * events' pages is written by one batch (taken by conversation, ten
 * conversations at once rewrote each page ten times). */
int
store_forget_history_list(sqlite3 *db, const char *key)
{
	char lo[STORE_TARGET_MAX + 1], hi[STORE_TARGET_MAX + 1];
	half_bounds(key, lo, hi);
	const struct store_params p = { .text = { key, lo, hi }, .ntext = 3 };
	return store_exec_params(db, "CREATE TEMP TABLE IF NOT EXISTS forget_ids"
	    " (id INTEGER PRIMARY KEY)", NULL) == 0 &&
	    store_exec_params(db, "DELETE FROM temp.forget_ids", NULL) == 0 &&
	    store_exec_params(db, "INSERT OR IGNORE INTO temp.forget_ids"
	    " SELECT id FROM events_room WHERE " ACCOUNT_TARGETS, &p) == 0 ?
	    sqlite3_changes(db) : -1;
}

void
store_forget_history_done(sqlite3 *db)
{
	sqlite3_exec(db, "DROP TABLE IF EXISTS temp.forget_ids", NULL, NULL, NULL);
}

/* The id that ends the batch after ?1 (none: the batch is the last). */
static const char sql_batch_end[] =
    "SELECT id FROM temp.forget_ids WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2";
/* Its rows still there (retention may have deleted some). */
static const char sql_batch[] =
    "SELECT e.id, e.kind, e.text, e.target, e.msgid FROM temp.forget_ids f"
    " CROSS JOIN events e ON e.id = f.id WHERE f.id > ?1 AND f.id <= ?2";
static const char sql_marks[] =
    "SELECT (SELECT value FROM meta WHERE key = 'fts_indexed'), " STORE_ROOM_MARK;

int
store_forget_history_batch(sqlite3 *db, int64_t *after)
{
	struct store_rows_del d = { 0 };
	sqlite3_stmt *marks = store_prepare(db, sql_marks, NULL);
	int ok = marks != NULL && sqlite3_step(marks) == SQLITE_ROW;
	if (ok) {
		d.fts_hwm = sqlite3_column_int64(marks, 0);
		d.room_hwm = sqlite3_column_int64(marks, 1);
	}
	sqlite3_finalize(marks);
	const struct store_params ep = { .num = { *after, STORE_PRUNE_BATCH - 1 }, .nnum = 2 };
	sqlite3_stmt *end = ok ? store_prepare(db, sql_batch_end, &ep) : NULL;
	int rc = end != NULL ? sqlite3_step(end) : SQLITE_ERROR;
	int64_t last = rc == SQLITE_ROW ? sqlite3_column_int64(end, 0) : INT64_MAX;
	sqlite3_finalize(end);
	ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
	/* The search index's segments bounded as the writer's batches bound
	 * them (sqlite_int.h): each batch adds one, of its rows' words to
	 * delete, and FTS5's crisis merge of 128 of them in one statement
	 * held the lock for tenths of a second. */
	sqlite3_stmt *structure = ok ? store_prepare(db, STORE_SQL_FTS_STRUCT, NULL) : NULL;
	sqlite3_stmt *merge = ok ? store_prepare(db, STORE_SQL_FTS_MERGE, NULL) : NULL;
	ok = structure != NULL && merge != NULL &&
	    (store_fts_segments(structure) < STORE_FTS_SEGS_MAX ||
	    store_fts_merge_step(merge, STORE_FTS_MERGE_PAGES) >= 0);
	sqlite3_finalize(structure);
	sqlite3_finalize(merge);
	const struct store_params bp = { .num = { *after, last }, .nnum = 2 };
	sqlite3_stmt *st = ok ? store_prepare(db, sql_batch, &bp) : NULL;
	d.fts_delete = store_prepare(db, STORE_SQL_FTS_DELETE, NULL);
	d.row_delete = store_prepare(db, STORE_SQL_ROW_DELETE, NULL);
	d.room_delete = store_prepare(db, STORE_SQL_ROOM_DELETE, NULL);
	uint64_t n = 0;
	ok = ok && st != NULL && d.fts_delete != NULL && d.row_delete != NULL &&
	    d.room_delete != NULL && store_rows_delete(&d, st, &n) == 0;
	sqlite3_finalize(st);
	sqlite3_finalize(d.fts_delete);
	sqlite3_finalize(d.row_delete);
	sqlite3_finalize(d.room_delete);
	if (!ok)
		return -1;
	*after = last;
	return last < INT64_MAX;
}

int
store_unlock_forget_account(sqlite3 *db, const char *key)
{
	/* Its private conversations go, for both sides, and its one-sided
	 * ones: a name registered again is another person, who must not
	 * read them. Each message's words leave the search index with it
	 * (rows past the index's mark are not in it yet: the history writer
	 * indexes after its commits, sqlite_int.h). */
	char lo[STORE_TARGET_MAX + 1], hi[STORE_TARGET_MAX + 1];
	half_bounds(key, lo, hi);
	const struct store_params p = { .text = { key, lo, hi }, .ntext = 3 };
	sqlite3_stmt *st = store_prepare(db, "SELECT id, kind, text, target FROM events"
	    " WHERE id IN " ACCOUNT_EVENTS
	    " AND id <= (SELECT value FROM meta WHERE key = 'fts_indexed')", &p);
	sqlite3_stmt *del = store_prepare(db, STORE_SQL_FTS_DELETE, NULL);
	int rc = SQLITE_ERROR, fail = st == NULL || del == NULL;
	while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 2);
		const char *target = (const char *)sqlite3_column_text(st, 3);
		if (!STORE_KIND_IS_MESSAGE(sqlite3_column_int(st, 1)) || text == NULL ||
		    target == NULL)
			continue;
		fail = store_fts_unindex(del, sqlite3_column_int64(st, 0), target, text) != 0;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	if (fail || rc != SQLITE_DONE)
		return -1;
	static const char *const sql[] = {
		"DELETE FROM events WHERE id IN " ACCOUNT_EVENTS,
		"DELETE FROM events_room WHERE " ACCOUNT_TARGETS,
		"DELETE FROM conversations WHERE target IN"
		" (SELECT target FROM conversations WHERE account = ?1)",
		"DELETE FROM read_markers WHERE account = ?1",
		"DELETE FROM room_ops WHERE account = ?1",
		"DELETE FROM room_masks WHERE room IN (SELECT key FROM rooms"
		" WHERE lower(founder) = ?1)",
		"DELETE FROM room_ops WHERE room IN (SELECT key FROM rooms"
		" WHERE lower(founder) = ?1)",
		"DELETE FROM rooms WHERE lower(founder) = ?1",
	};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		if (store_exec_params(db, sql[i], &p) != 0)
			return -1;
	return 0;
}
