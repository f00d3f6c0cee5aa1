/* What is kept for an account besides the account itself goes with it
 * (sqlite_accounts.c's delete, in its transaction): its private
 * conversations, for both sides, its read markers, and its place among
 * the accounts registered rooms give +o. */
#include "store/sqlite_int.h"

#include <stdlib.h>

static int
run(sqlite3 *db, const char *sql, const char *key)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}


int
store_unlock_forget_account(sqlite3 *db, const char *key)
{
	/* Its private conversations go, for both sides: a name registered
	 * again is another person, who must not read them. Each message's
	 * words leave the search index with it. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT e.id, e.kind, e.text, e.target FROM events e"
	    " WHERE e.target IN (SELECT target FROM conversations WHERE account = ?1)",
	    -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc, fail = 0;
	while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 2);
		const char *target = (const char *)sqlite3_column_text(st, 3);
		if (!STORE_KIND_IS_MESSAGE(sqlite3_column_int(st, 1)) || text == NULL ||
		    target == NULL)
			continue;
		char *indexed = store_fts_text(target, text);
		sqlite3_stmt *del = NULL;
		fail = indexed == NULL || sqlite3_prepare_v2(db, "INSERT INTO events_fts"
		    " (events_fts, rowid, text) VALUES ('delete', ?1, ?2)", -1, &del, NULL) != SQLITE_OK;
		if (!fail) {
			sqlite3_bind_int64(del, 1, sqlite3_column_int64(st, 0));
			sqlite3_bind_text(del, 2, indexed, -1, SQLITE_STATIC);
			fail = sqlite3_step(del) != SQLITE_DONE;
		}
		sqlite3_finalize(del);
		free(indexed);
	}
	sqlite3_finalize(st);
	if (fail || rc != SQLITE_DONE)
		return -1;
	static const char *const sql[] = {
		"DELETE FROM events WHERE target IN"
		" (SELECT target FROM conversations WHERE account = ?1)",
		"DELETE FROM conversations WHERE target IN"
		" (SELECT target FROM conversations WHERE account = ?1)",
		"DELETE FROM read_markers WHERE account = ?1",
		"DELETE FROM room_ops WHERE account = ?1",
	};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		if (run(db, sql[i], key) != 0)
			return -1;
	return 0;
}
