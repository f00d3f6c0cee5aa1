/* Rows deleted with what indexes them: each message's words out of the
 * search index, the row, its room index entry. Retention's batches (the
 * history writer's, sqlite_writer.c) and an account's history in
 * batches (sqlite_forget.c, on a read-write connection) both delete
 * this way, each with its own statements. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
store_fts_unindex(sqlite3_stmt *fts_delete, int64_t id, const char *target, const char *text)
{
	char *indexed_text = store_fts_text(target, text);
	if (indexed_text == NULL)
		return -1;
	sqlite3_bind_int64(fts_delete, 1, id);
	sqlite3_bind_text(fts_delete, 2, indexed_text, -1, free);
	return store_step_done(fts_delete);
}

int
store_rows_delete(const struct store_rows_del *d, sqlite3_stmt *st, uint64_t *deleted)
{
	struct row {
		int64_t id;
		char *target, *text;   /* one block; text NULL: not in the index */
		char msgid[MSGID_LEN + 1];
	} rows[STORE_PRUNE_BATCH];
	size_t n = 0;
	int rc;
	while (n < STORE_PRUNE_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows[n].id = sqlite3_column_int64(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 2);
		const char *target = (const char *)sqlite3_column_text(st, 3);
		const char *msgid = (const char *)sqlite3_column_text(st, 4);
		snprintf(rows[n].msgid, sizeof rows[n].msgid, "%s", msgid != NULL ? msgid : "");
		if (!STORE_KIND_IS_MESSAGE(sqlite3_column_int(st, 1)))
			text = NULL;
		size_t tl = strlen(target != NULL ? target : "") + 1;
		size_t xl = text != NULL ? strlen(text) + 1 : 0;
		rows[n].target = malloc(tl + xl);
		if (rows[n].target == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		memcpy(rows[n].target, target != NULL ? target : "", tl);
		rows[n].text = text != NULL ? memcpy(rows[n].target + tl, text, xl) : NULL;
		n++;
	}
	if (n == STORE_PRUNE_BATCH)
		rc = SQLITE_DONE;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	int failed = rc != SQLITE_DONE;
	for (size_t i = 0; i < n; i++) {
		/* A row past the mark never went into the index. */
		if (!failed && rows[i].text != NULL && rows[i].id <= d->fts_hwm)
			failed = store_fts_unindex(d->fts_delete, rows[i].id, rows[i].target,
			    rows[i].text) != 0;
		if (!failed) {
			sqlite3_bind_int64(d->row_delete, 1, rows[i].id);
			failed = store_step_done(d->row_delete) != 0;
		}
		/* A row past the room index's mark is not in it: nothing found. */
		if (!failed && rows[i].id <= d->room_hwm) {
			sqlite3_stmt *r = d->room_delete;
			sqlite3_bind_text(r, 1, rows[i].target, -1, SQLITE_STATIC);
			sqlite3_bind_text(r, 2, rows[i].msgid, -1, SQLITE_STATIC);
			sqlite3_bind_int64(r, 3, rows[i].id);
			failed = store_step_done(r) != 0;
		}
		free(rows[i].target);
	}
	if (!failed)
		*deleted += n;
	return failed ? -1 : 0;
}
