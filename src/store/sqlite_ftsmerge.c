/* When the search index merges its segments (issue 12). Each batch of
 * the index (fts_step, sqlite_writer.c) writes a segment; FTS5 merges
 * segments so that a search looks at few of them. Left to FTS5
 * (automerge), those merges ran inside the batches, in a burst, and
 * every 16th batch merged the 16 before it in one statement (a crisis
 * merge: its default crisismerge is 16 too) while the epochs waited.
 * Here FTS5 merges nothing by itself (automerge 0); the writer merges
 * when it has nothing else to do, a step of STORE_FTS_MERGE_PAGES at a
 * time ('merge', N: FTS5's incremental merge of a level holding
 * usermerge segments or more), an epoch taken between two steps. A load
 * that never leaves the writer idle pays again as it goes, a step a
 * batch, once the index holds STORE_FTS_SEGS_MAX segments; crisismerge
 * is only the backstop behind that. The options live in the database
 * (events_fts_config) and are set again at every start. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <string.h>

/* FTS5's options, written only when they differ: a start writes nothing
 * to a database that has them. */
int
store_fts_merge_setup(sqlite3 *db)
{
	static const struct {
		const char *name;
		int value;
	} opts[] = {
		{ "automerge", 0 },
		{ "usermerge", STORE_FTS_MERGE_MIN },
		{ "crisismerge", STORE_FTS_CRISIS },
	};
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		char sql[200];
		snprintf(sql, sizeof sql,
		    "INSERT INTO events_fts (events_fts, rank) SELECT '%s', %d"
		    " WHERE (SELECT v FROM events_fts_config WHERE k = '%s') IS NOT %d",
		    opts[i].name, opts[i].value, opts[i].name, opts[i].value);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return -1;
	}
	return 0;
}

/* One of SQLite's varints (FTS5 writes its structure record with them):
 * 7 bits a byte, high bit set on all but the last, the ninth byte whole. */
static size_t
get_varint(const unsigned char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n && i < 9; i++) {
		if (i == 8) {
			*v = (x << 8) | p[i];
			return 9;
		}
		x = (x << 7) | (p[i] & 0x7f);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/* The segments in the index: FTS5's structure record (the row of id 10
 * in events_fts_data): a 4-byte cookie, from SQLite 3.43 perhaps a
 * 4-byte version mark, then the levels' and the segments' counts.
 * -1 when it cannot be read. */
int
store_fts_segments(sqlite3_stmt *st)
{
	int segs = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *p = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0), i = 4, k;
		uint64_t levels, count;
		if (n >= i + 4 && memcmp(p + i, "\xff\x00\x00\x01", 4) == 0)
			i += 4;
		if (p != NULL && n > i && (k = get_varint(p + i, n - i, &levels)) > 0 &&
		    (i += k) < n && get_varint(p + i, n - i, &count) > 0 && count < 100000)
			segs = (int)count;
	}
	sqlite3_reset(st);
	return segs;
}

/* One incremental merge of at most about pages leaf pages. 1 when it
 * merged something, 0 when no level had usermerge segments (FTS5 then
 * writes nothing: fewer than 2 changes, says its documentation), -1 on
 * an error. In the caller's transaction if it has one. */
int
store_fts_merge_step(sqlite3_stmt *st, int pages)
{
	sqlite3 *db = sqlite3_db_handle(st);
	int before = sqlite3_total_changes(db);
	sqlite3_bind_int(st, 1, pages);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_total_changes(db) - before >= 2;
}
