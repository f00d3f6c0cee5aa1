/* A connection to the store's database, as every one of them is made:
 * the writer's, the readers', a backup's, each with the search index's
 * tokenizer. Below the rest of the backend. */
#include "store/sqlite_int.h"

#include <pthread.h>
#include <stdio.h>

/* How long a connection waits for another's lock (a backup's read, the
 * writer's checkpoint) before it reports busy. */
#define STORE_BUSY_MS 5000

/* The VFS every connection opens its files with (sqlite_walbuf.c; NULL:
 * SQLite's default). */
static const char *store_vfs;

/* SQLite's process-wide settings, made before its first use (after it,
 * sqlite3_config refuses, harmlessly). No memory statistics: with them
 * every allocation SQLite makes takes one global mutex, shared by the
 * writer and every reader, for counters nothing here reads. */
static void
store_sqlite_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	store_vfs = store_vfs_register();
}

sqlite3 *
store_db_open(const char *path, int flags, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, store_sqlite_config);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, store_vfs);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(db, 1);
	if (store_fts_register(db) != 0) {
		snprintf(err, errlen, "%s: this SQLite has no FTS5", path);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

int
store_stmts_prepare(sqlite3 *db, const struct store_stmt *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sqlite3_prepare_v3(db, list[i].sql, -1, SQLITE_PREPARE_PERSISTENT, list[i].st,
		        NULL) != SQLITE_OK)
			return -1;
	return 0;
}

void
store_stmts_finalize(const struct store_stmt *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_finalize(*list[i].st);
		*list[i].st = NULL;
	}
}

sqlite3_stmt *
store_prepare(sqlite3 *db, const char *sql, const struct store_params *p)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	int max = sqlite3_bind_parameter_count(st);
	for (int i = 0; p != NULL && i < p->ntext && i < max; i++)
		if (p->text[i] != NULL)
			sqlite3_bind_text(st, i + 1, p->text[i], -1, SQLITE_STATIC);
	for (int i = 0; p != NULL && i < p->nnum && p->ntext + i < max; i++)
		sqlite3_bind_int64(st, p->ntext + i + 1, p->num[i]);
	return st;
}

int
store_exec_params(sqlite3 *db, const char *sql, const struct store_params *p)
{
	sqlite3_stmt *st = store_prepare(db, sql, p);
	if (st == NULL)
		return -1;
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
