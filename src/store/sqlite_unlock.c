/* What accounts unlock, in the database (issue 13): the keys of private
 * conversations, read markers, and registered rooms. A registered room
 * is written by the history writer (store_room_save queues it in the
 * pending batch, in order with the events around it); markers and the
 * loading of rooms run on worker threads with a read-write connection
 * of their own (sqlite_accounts.c's pool). */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Rooms, on disk (the writer's transaction) ---- */

int
store_room_delete(sqlite3 *db, const char *name)
{
	char key[ROOM_LEN_MAX + 1];
	store_fold(key, name, sizeof key);
	const struct store_params p = { .text = { key }, .ntext = 1 };
	return store_exec_params(db, "DELETE FROM rooms WHERE key = ?1", &p) == 0 &&
	    store_exec_params(db, "DELETE FROM room_masks WHERE room = ?1", &p) == 0 &&
	    store_exec_params(db, "DELETE FROM room_ops WHERE room = ?1", &p) == 0 ? 0 : -1;
}

int
store_room_write(sqlite3 *db, const struct store_room *r)
{
	if (store_room_delete(db, r->name) != 0)
		return -1;
	char key[ROOM_LEN_MAX + 1];
	store_fold(key, r->name, sizeof key);
	const struct store_params p = { .text = { key, r->name, r->founder, r->topic,
		r->topic_by, r->modes != NULL ? r->modes : "", r->password }, .ntext = 7,
		.num = { r->topic_at, r->limit, r->created }, .nnum = 3 };
	if (store_exec_params(db, "INSERT INTO rooms (key, name, founder, topic, topic_by,"
	    " modes, password, topic_at, lim, created)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", &p) != 0)
		return -1;
	for (size_t i = 0; i < r->nmasks; i++) {
		const struct store_room_mask *m = &r->masks[i];
		char letter[2] = { m->letter, '\0' };
		const struct store_params mp = { .text = { key, letter, m->mask, m->by },
			.ntext = 4, .num = { m->at }, .nnum = 1 };
		if (store_exec_params(db, "INSERT OR IGNORE INTO room_masks (room, letter, mask, by,"
		    " at) VALUES (?1, ?2, ?3, ?4, ?5)", &mp) != 0)
			return -1;
	}
	for (size_t i = 0; i < r->nops; i++) {
		char acc[ACCOUNT_LEN_MAX + 1];
		store_fold(acc, r->ops[i], sizeof acc);
		const struct store_params op = { .text = { key, acc }, .ntext = 2 };
		if (store_exec_params(db, "INSERT OR IGNORE INTO room_ops (room, account)"
		    " VALUES (?1, ?2)", &op) != 0)
			return -1;
	}
	return 0;
}

/* ---- Rooms, loaded (a worker) ---- */

static char *
col_dup(sqlite3_stmt *st, int i, int *failed)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	return store_dup((const char *)sqlite3_column_text(st, i), failed);
}

/* Appends one string of column 0 per row of sql (bound to key) to *list. */
static int
load_list(sqlite3 *db, const char *sql, const char *key, struct store_room *r)
{
	const struct store_params p = { .text = { key }, .ntext = 1 };
	sqlite3_stmt *st = store_prepare(db, sql, &p);
	if (st == NULL)
		return -1;
	int rc, failed = 0;
	while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_count(st) == 1) {
			char **ops = realloc(r->ops, (r->nops + 1) * sizeof *ops);
			if (ops == NULL)
				break;
			r->ops = ops;
			if ((r->ops[r->nops] = col_dup(st, 0, &failed)) != NULL)
				r->nops++;
			continue;
		}
		struct store_room_mask *masks = realloc(r->masks, (r->nmasks + 1) * sizeof *masks);
		if (masks == NULL)
			break;
		r->masks = masks;
		struct store_room_mask *m = &r->masks[r->nmasks];
		const unsigned char *letter = sqlite3_column_text(st, 0);
		m->letter = letter != NULL ? (char)letter[0] : 'b';
		m->at = sqlite3_column_int64(st, 3);
		m->by = col_dup(st, 2, &failed);
		if ((m->mask = col_dup(st, 1, &failed)) == NULL) {
			free(m->by);
			continue;
		}
		r->nmasks++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE && !failed ? 0 : -1;
}

enum store_status
sqlite_rooms_load(struct store *s, struct store_room **rooms, size_t *n)
{
	*rooms = NULL;
	*n = 0;
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	sqlite3_stmt *st = store_prepare(db, "SELECT key, name, founder, topic, topic_by,"
	    " topic_at, modes, password, lim, created FROM rooms ORDER BY key", NULL);
	int rc = SQLITE_ERROR, failed = st == NULL;
	while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_room *grown = realloc(*rooms, (*n + 1) * sizeof *grown);
		if (grown == NULL) {
			failed = 1;
			break;
		}
		*rooms = grown;
		struct store_room *r = &(*rooms)[(*n)++];
		memset(r, 0, sizeof *r);
		r->name = col_dup(st, 1, &failed);
		r->founder = col_dup(st, 2, &failed);
		r->topic = col_dup(st, 3, &failed);
		r->topic_by = col_dup(st, 4, &failed);
		r->topic_at = sqlite3_column_int64(st, 5);
		r->modes = col_dup(st, 6, &failed);
		r->password = col_dup(st, 7, &failed);
		r->limit = (uint32_t)sqlite3_column_int64(st, 8);
		r->created = sqlite3_column_int64(st, 9);
		const char *key = (const char *)sqlite3_column_text(st, 0);
		if (r->name == NULL || r->founder == NULL || key == NULL ||
		    load_list(db, "SELECT letter, mask, by, at FROM room_masks WHERE room = ?1"
		    " ORDER BY at, mask", key, r) != 0 ||
		    load_list(db, "SELECT account FROM room_ops WHERE room = ?1 ORDER BY account",
		    key, r) != 0)
			failed = 1;
	}
	if (!failed && rc != SQLITE_DONE)
		failed = 1;
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	store_rw_give(s, db);
	if (failed) {
		store_rooms_free(*rooms, *n);
		*rooms = NULL;
		*n = 0;
		return STORE_FAILED;
	}
	return STORE_OK;
}

/* ---- Read markers (a worker) ---- */

static void
row_ms(sqlite3_stmt *st, void *at_ms)
{
	*(int64_t *)at_ms = sqlite3_column_int64(st, 0);
}

enum store_status
sqlite_marker_get(struct store *s, const char *account, const char *target, int64_t *at_ms)
{
	char acc[ACCOUNT_LEN_MAX + 1], key[STORE_TARGET_MAX + 1];
	store_fold(acc, account, sizeof acc);
	store_fold(key, target, sizeof key);
	const struct store_params p = { .text = { acc, key }, .ntext = 2 };
	return store_rw_row(s, "SELECT at_ms FROM read_markers WHERE account = ?1"
	    " AND target = ?2", &p, row_ms, at_ms);
}

enum store_status
sqlite_marker_set(struct store *s, const char *account, const char *target, int64_t at_ms,
    int64_t *now)
{
	char acc[ACCOUNT_LEN_MAX + 1], key[STORE_TARGET_MAX + 1];
	store_fold(acc, account, sizeof acc);
	store_fold(key, target, sizeof key);
	/* Only forward: one statement, so two connections setting one
	 * marker at once keep the later time. */
	const struct store_params p = { .text = { acc, key }, .ntext = 2, .num = { at_ms },
		.nnum = 1 };
	enum store_status r = store_rw_row(s, "INSERT INTO read_markers (account, target, at_ms)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (account, target) DO UPDATE SET"
	    " at_ms = max(at_ms, excluded.at_ms) RETURNING at_ms", &p, row_ms, now);
	return r == STORE_NOT_FOUND ? STORE_FAILED : r;
}
