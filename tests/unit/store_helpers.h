/* For the store's unit tests (test_store*.c, after cmocka.h and
 * store_fixture.h): waiting for an epoch, message i's msgid and
 * references to it, its number back from an answer, a search's count,
 * and SQL on the SQLite database beside the store (another connection).
 * static inline: each test file uses only some of them. */
#ifndef PARLEY_TEST_STORE_HELPERS_H
#define PARLEY_TEST_STORE_HELPERS_H

#include <poll.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/msgid.h"
#include "store/sqlite_int.h"
#include "store/store.h"

/* The first event's time: 2026-01-01, a millisecond apart each. */
#define T0 INT64_C(1767225600000)

/* Waits (on store_fd, as the loop does; the timeout is a bound against a
 * hang, not a timing check) until epoch is finished. */
static inline void
wait_epoch(struct store *s, uint64_t epoch)
{
	uint64_t done = store_finished(s);
	uint64_t last = done;
	while (done < epoch) {
		struct pollfd p = { .fd = store_fd(s), .events = POLLIN };
		assert_true(poll(&p, 1, 60000) == 1);
		done = store_finished(s);
		assert_true(done >= last);  /* epochs finish in order */
		last = done;
	}
}

/* Message i's msgid: at T0 + i ms, node 1, seq 0. */
static inline void
id_of(int i, char out[MSGID_LEN + 1])
{
	msgid_write((uint64_t)(T0 + i), 1, 0, out);
}

/* The message's number from its text ("message i"); -1 for any other
 * text (a replay's copy), never a message's number. */
static inline int
num(const struct store_event *e)
{
	assert_non_null(e->text);
	if (strncmp(e->text, "message ", strlen("message ")) != 0)
		return -1;
	return atoi(e->text + strlen("message "));
}

static inline void
ref_id(struct store_ref *ref, int i)
{
	memset(ref, 0, sizeof *ref);
	id_of(i, ref->msgid);
	ref->set = 1;
}

static inline void
ref_time(struct store_ref *ref, int i)
{
	memset(ref, 0, sizeof *ref);
	ref->at_ms = T0 + i;
	ref->set = 1;
}

/* How many rows SEARCH text finds in target (at most 100); the query
 * must not fail. */
static inline size_t
search_n(struct store *s, const char *target, const char *text)
{
	struct store_result r;
	struct store_query q = { .kind = SQ_SEARCH, .target = target, .text = text, .limit = 100 };
	store_query(s, &q, &r);
	assert_false(r.failed);
	size_t n = r.n;
	store_result_free(&r);
	return n;
}

/* One integer from the database in dir (another connection, as the
 * tests'). */
static inline int64_t
db_int(const char *dir, const char *sql)
{
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_NAME);
	sqlite3 *db = store_db_open(path, SQLITE_OPEN_READONLY, err, sizeof err);
	assert_non_null(db);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Runs sql on the database in dir (another connection); it must
 * succeed. */
static inline void
db_exec(const char *dir, const char *sql)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_NAME);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}


/* Deletes messages from..from + n - 1 of target (rows from + 1 on: the
 * store filled from message 0) after the search index took them, on
 * another connection as store_unlock_forget_account does: out of the
 * index (a contentless one is told each row's text), then sql (the rows
 * themselves; sql ends the transaction with COMMIT). */
static inline void
forget_indexed(const char *dir, const char *target, int from, int n, const char *sql)
{
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_NAME);
	sqlite3 *db = store_db_open(path, SQLITE_OPEN_READWRITE, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int i = from; i < from + n; i++) {
		char text[32];
		snprintf(text, sizeof text, "message %d", i);
		char *indexed = store_fts_text(target, text);
		const struct store_params del = { .text = { indexed }, .ntext = 1,
			.num = { i + 1 }, .nnum = 1 };
		assert_int_equal(store_exec_params(db, "INSERT INTO events_fts"
		    " (events_fts, rowid, text) VALUES ('delete', ?2, ?1)", &del), 0);
		free(indexed);
	}
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

#endif
