/* What is kept for an account besides the account itself goes with it
 * (sqlite_accounts.c's delete, in its transaction): its private
 * conversations, for both sides, and its one-sided ones (with nicks),
 * its read markers, its place among the accounts registered rooms
 * give +o, and the rooms it founded (unregistered: a name registered
 * again is someone else, who founded nothing). */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>

/* The targets of the account's conversations: its pairs (by the
 * conversations table, ?1 its key), and its one-sided ones (the keys
 * strictly between ?2 "@key!" and ?3 "@key\"", by the room index). */
#define ACCOUNT_TARGETS "(target IN (SELECT target FROM conversations WHERE account = ?1)" \
	" OR (target > ?2 AND target < ?3))"
/* Their events' ids: by the room index, and the rows past its mark
 * (sqlite_int.h). */
#define ACCOUNT_EVENTS "(SELECT id FROM events_room WHERE " ACCOUNT_TARGETS \
	" UNION ALL SELECT id FROM events WHERE id > " STORE_ROOM_MARK " AND " ACCOUNT_TARGETS ")"

int
store_unlock_forget_account(sqlite3 *db, const char *key)
{
	/* Its private conversations go, for both sides, and its one-sided
	 * ones: a name registered again is another person, who must not
	 * read them. Each message's words leave the search index with it
	 * (rows past the index's mark are not in it yet: the history writer
	 * indexes after its commits, sqlite_int.h). */
	char lo[STORE_TARGET_MAX + 1], hi[STORE_TARGET_MAX + 1];
	snprintf(lo, sizeof lo, "@%s%c", key, STORE_HALF_SEP);
	snprintf(hi, sizeof hi, "@%s%c", key, STORE_HALF_SEP + 1);
	const struct store_params p = { .text = { key, lo, hi }, .ntext = 3 };
	sqlite3_stmt *st = store_prepare(db, "SELECT id, kind, text, target FROM events"
	    " WHERE id IN " ACCOUNT_EVENTS
	    " AND id <= (SELECT value FROM meta WHERE key = 'fts_indexed')", &p);
	if (st == NULL)
		return -1;
	int rc, fail = 0;
	while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 2);
		const char *target = (const char *)sqlite3_column_text(st, 3);
		if (!STORE_KIND_IS_MESSAGE(sqlite3_column_int(st, 1)) || text == NULL ||
		    target == NULL)
			continue;
		char *indexed = store_fts_text(target, text);
		const struct store_params del = { .text = { indexed }, .ntext = 1,
			.num = { sqlite3_column_int64(st, 0) }, .nnum = 1 };
		fail = indexed == NULL || store_exec_params(db, "INSERT INTO events_fts"
		    " (events_fts, rowid, text) VALUES ('delete', ?2, ?1)", &del) != 0;
		free(indexed);
	}
	sqlite3_finalize(st);
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
