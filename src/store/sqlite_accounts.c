/* Accounts in the database (issue 13): the accounts table, their
 * certificates, and a counter every write bumps so that another process
 * (the server, when the admin command line wrote) sees a change. Each
 * call runs on its caller's thread (a worker's, or the command line's)
 * with a read-write connection of its own from a small pool, one
 * transaction a call; SQLite's busy timeout waits out the history
 * writer's commit. Names are found folded: lower() is ASCII-only in
 * SQLite, as name_fold is. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

/* ---- The read-write connections ---- */

int
store_rw_init(struct store *s, unsigned n)
{
	s->nrws = n > 0 ? n : 1;
	s->rws = calloc(s->nrws, sizeof *s->rws);
	return s->rws != NULL ? 0 : -1;
}

void
store_rw_free(struct store *s)
{
	for (unsigned i = 0; s->rws != NULL && i < s->nrws; i++)
		sqlite3_close(s->rws[i].db);
	free(s->rws);
	s->rws = NULL;
}

sqlite3 *
store_rw_take(struct store *s)
{
	sqlite3 *db = NULL;
	pthread_mutex_lock(&s->rlock);
	while (db == NULL) {
		struct store_rw *unopened = NULL, *idle = NULL;
		for (unsigned i = 0; i < s->nrws && idle == NULL; i++) {
			if (s->rws[i].busy)
				continue;
			if (s->rws[i].db != NULL)
				idle = &s->rws[i];
			else if (unopened == NULL)
				unopened = &s->rws[i];
		}
		if (idle == NULL && unopened != NULL) {
			char err[256];
			unopened->db = store_db_open(s->db_path, SQLITE_OPEN_READWRITE, err, sizeof err);
			if (unopened->db == NULL)
				break;
			idle = unopened;
		}
		if (idle != NULL) {
			idle->busy = 1;
			db = idle->db;
			break;
		}
		pthread_cond_wait(&s->rwfree, &s->rlock);
	}
	pthread_mutex_unlock(&s->rlock);
	return db;
}

void
store_rw_give(struct store *s, sqlite3 *db)
{
	pthread_mutex_lock(&s->rlock);
	for (unsigned i = 0; i < s->nrws; i++)
		if (s->rws[i].db == db)
			s->rws[i].busy = 0;
	pthread_cond_signal(&s->rwfree);
	pthread_mutex_unlock(&s->rlock);
}

/* ---- Statements ---- */

/* One statement prepared, bound by the caller, stepped. */
static sqlite3_stmt *
prepare(sqlite3 *db, const char *sql)
{
	return store_prepare(db, sql, NULL);
}

enum store_status
store_rw_row(struct store *s, const char *sql, const struct store_params *p,
    store_row_fn *row, void *out)
{
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status r = STORE_FAILED;
	sqlite3_stmt *st = store_prepare(db, sql, p);
	if (st != NULL) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			row(st, out);
			r = STORE_OK;
		} else if (rc == SQLITE_DONE) {
			r = STORE_NOT_FOUND;
		}
		sqlite3_finalize(st);
	}
	store_rw_give(s, db);
	return r;
}

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int
begin(sqlite3 *db)
{
	return exec(db, "BEGIN IMMEDIATE");
}

/* Commits a write that happened; a refusal (or a failure) changed
 * nothing, and is rolled back. */
static enum store_status
end(sqlite3 *db, enum store_status st)
{
	if (st == STORE_OK && exec(db, "COMMIT") != 0)
		st = STORE_FAILED;
	if (st != STORE_OK)
		exec(db, "ROLLBACK");
	return st;
}

static const char sql_bump[] =
    "UPDATE meta SET value = value + 1 WHERE key = 'accounts_serial'";

/* A write of the accounts: bumps the serial in the same transaction. */
static enum store_status
bump(sqlite3 *db)
{
	return exec(db, sql_bump) == 0 ? STORE_OK : STORE_FAILED;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* One integer from a one-row query with ?1 bound to arg (or none). */
static enum store_status
one_int(sqlite3 *db, const char *sql, const char *arg, int64_t *out)
{
	sqlite3_stmt *st = prepare(db, sql);
	if (st == NULL)
		return STORE_FAILED;
	if (arg != NULL)
		bind_text(st, 1, arg);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_FAILED;
}

/* ---- Accounts ---- */

/* The name and credentials as ?1 to ?6, as create and set_password both
 * number them. */
static void
bind_credentials(sqlite3_stmt *st, const struct store_account *a)
{
	bind_text(st, 1, a->name);
	bind_text(st, 2, a->pwhash);
	sqlite3_bind_blob(st, 3, a->scram_salt, a->scram_salt_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, a->scram_iter);
	sqlite3_bind_blob(st, 5, a->scram_stored_key, STORE_SCRAM_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, a->scram_server_key, STORE_SCRAM_KEY_LEN, SQLITE_STATIC);
}

static enum store_status
create(sqlite3 *db, const struct store_account *a)
{
	sqlite3_stmt *st = prepare(db,
	    "INSERT INTO accounts (key, name, pwhash, scram_salt, scram_iter, scram_stored_key,"
	    " scram_server_key, created_ms) VALUES (lower(?1), ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (st == NULL)
		return STORE_FAILED;
	bind_credentials(st, a);
	sqlite3_bind_int64(st, 7, a->created_ms);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return STORE_EXISTS;
	return rc == SQLITE_DONE ? bump(db) : STORE_FAILED;
}

enum store_status
sqlite_account_create(struct store *s, const struct store_account *a)
{
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status st = begin(db) == 0 ? end(db, create(db, a)) : STORE_FAILED;
	store_rw_give(s, db);
	return st;
}

static void
col_bytes(sqlite3_stmt *st, int i, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = (size_t)sqlite3_column_bytes(st, i);
	const void *p = sqlite3_column_blob(st, i);
	if (len > cap)
		len = cap;
	if (p != NULL)
		memcpy(out, p, len);
	if (n != NULL)
		*n = len;
}

static void
row_account(sqlite3_stmt *st, void *arg)
{
	struct store_account *out = arg;
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(out->pwhash, sizeof out->pwhash, "%s", (const char *)sqlite3_column_text(st, 1));
	size_t n = 0;
	col_bytes(st, 2, out->scram_salt, sizeof out->scram_salt, &n);
	out->scram_salt_len = (uint8_t)n;
	out->scram_iter = (uint32_t)sqlite3_column_int64(st, 3);
	col_bytes(st, 4, out->scram_stored_key, STORE_SCRAM_KEY_LEN, NULL);
	col_bytes(st, 5, out->scram_server_key, STORE_SCRAM_KEY_LEN, NULL);
	out->created_ms = sqlite3_column_int64(st, 6);
}

enum store_status
sqlite_account_get(struct store *s, const char *name, struct store_account *out)
{
	const struct store_params p = { .text = { name }, .ntext = 1 };
	return store_rw_row(s, "SELECT name, pwhash, scram_salt, scram_iter, scram_stored_key,"
	    " scram_server_key, created_ms FROM accounts WHERE key = lower(?1)", &p,
	    row_account, out);
}

static enum store_status
set_password(sqlite3 *db, const struct store_account *a)
{
	sqlite3_stmt *st = prepare(db,
	    "UPDATE accounts SET pwhash = ?2, scram_salt = ?3, scram_iter = ?4,"
	    " scram_stored_key = ?5, scram_server_key = ?6 WHERE key = lower(?1)");
	if (st == NULL)
		return STORE_FAILED;
	bind_credentials(st, a);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return STORE_FAILED;
	return sqlite3_changes(db) > 0 ? bump(db) : STORE_NOT_FOUND;
}

enum store_status
sqlite_account_set_password(struct store *s, const struct store_account *a)
{
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status st = begin(db) == 0 ? end(db, set_password(db, a)) : STORE_FAILED;
	store_rw_give(s, db);
	return st;
}

/* What goes with an account, by its folded name (?1): a table that keeps
 * anything by account adds its line here. The account's own row last. */
static const char *const sql_delete[] = {
	"DELETE FROM account_certs WHERE account = ?1",
	"DELETE FROM accounts WHERE key = ?1",
};

/* When the account of key was registered: what tells it from one of the
 * same name registered again. */
static enum store_status
created_of(sqlite3 *db, const char *key, int64_t *created)
{
	return one_int(db, "SELECT created_ms FROM accounts WHERE key = ?1", key, created);
}

/* Whether the account of key is the one registered at created (one
 * deleted and registered again meanwhile is someone else). */
static enum store_status
still_there(sqlite3 *db, const char *key, int64_t created)
{
	int64_t at = 0;
	enum store_status r = created_of(db, key, &at);
	return r == STORE_OK && at != created ? STORE_NOT_FOUND : r;
}

static enum store_status
delete_rows(sqlite3 *db, const char *key, int64_t created)
{
	enum store_status r = still_there(db, key, created);
	if (r != STORE_OK)
		return r;
	if (store_unlock_forget_account(db, key) != 0)
		return STORE_FAILED;
	for (size_t i = 0; i < sizeof sql_delete / sizeof *sql_delete; i++) {
		sqlite3_stmt *st = prepare(db, sql_delete[i]);
		if (st == NULL)
			return STORE_FAILED;
		bind_text(st, 1, key);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return STORE_FAILED;
	}
	return bump(db);
}

/* One batch of the account's history in a transaction of its own, while
 * the account is still there; *more: whether any is left. */
static enum store_status
forget_batch(sqlite3 *db, const char *key, int64_t created, int64_t *after, int *more)
{
	if (begin(db) != 0)
		return STORE_FAILED;
	enum store_status r = still_there(db, key, created);
	int rc = r == STORE_OK ? store_forget_history_batch(db, after) : 0;
	if (rc < 0)
		r = STORE_FAILED;
	*more = rc > 0;
	return end(db, r);
}

/* The account's history goes first, STORE_PRUNE_BATCH rows a
 * transaction, never in one transaction as long as its history: one of
 * 1,000,000 rows held SQLite's write lock 14 s, and the history
 * writer's commits that waited for it failed after STORE_BUSY_MS
 * (bench/results/2026-12-03-s13-longtxn.md). After each, as long again
 * with none: a writer waiting for the lock takes it, and catches up with
 * what the chat said meanwhile. What its conversations took meanwhile is
 * listed again (a few rounds at most: the chat could outrun them), and
 * the account's own row and the rest go in the last one. */
#define FORGET_ROUNDS 4

static enum store_status
forget_history(sqlite3 *db, const char *key, int64_t created)
{
	enum store_status r = STORE_OK;
	int listed = STORE_PRUNE_BATCH;
	for (int round = 0; r == STORE_OK && listed >= STORE_PRUNE_BATCH &&
	    round < FORGET_ROUNDS; round++) {
		if ((listed = store_forget_history_list(db, key)) < 0)
			return STORE_FAILED;
		int64_t after = 0;
		for (int more = 1; more;) {
			uint64_t began = clock_mono_us();
			if ((r = forget_batch(db, key, created, &after, &more)) != STORE_OK)
				break;
			uint64_t took = clock_mono_us() - began;
			struct timespec pause = { .tv_sec = (time_t)(took / 1000000),
				.tv_nsec = (long)(took % 1000000) * 1000 };
			nanosleep(&pause, NULL);
		}
	}
	return r;
}

static enum store_status
delete_account(sqlite3 *db, const char *key)
{
	int64_t created = 0;
	enum store_status r = created_of(db, key, &created);
	if (r == STORE_OK)
		r = forget_history(db, key, created);
	if (r == STORE_OK)
		r = begin(db) == 0 ? end(db, delete_rows(db, key, created)) : STORE_FAILED;
	store_forget_history_done(db);
	return r;
}

enum store_status
sqlite_account_delete(struct store *s, const char *name)
{
	char key[ACCOUNT_LEN_MAX + 1];
	if (strlen(name) > ACCOUNT_LEN_MAX)
		return STORE_NOT_FOUND;
	for (size_t i = 0; i <= strlen(name); i++)
		key[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status st = delete_account(db, key);
	store_rw_give(s, db);
	return st;
}

enum store_status
sqlite_account_names(struct store *s, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status r = STORE_FAILED;
	sqlite3_stmt *st = prepare(db, "SELECT name FROM accounts ORDER BY key");
	size_t cap = 0;
	int rc = SQLITE_ERROR;
	while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **grown = realloc(*names, ncap * sizeof *grown);
			if (grown == NULL)
				break;
			*names = grown;
			cap = ncap;
		}
		if (((*names)[*n] = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
			break;
		(*n)++;
	}
	if (rc == SQLITE_DONE)
		r = STORE_OK;
	sqlite3_finalize(st);
	store_rw_give(s, db);
	if (r != STORE_OK) {
		store_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return r;
}

enum store_status
sqlite_accounts_serial(struct store *s, int64_t *out)
{
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status r = one_int(db,
	    "SELECT value FROM meta WHERE key = 'accounts_serial'", NULL, out);
	store_rw_give(s, db);
	return r == STORE_OK ? STORE_OK : STORE_FAILED;
}

/* ---- Certificates ---- */

static enum store_status
cert_add(sqlite3 *db, const char *name, const char *fp)
{
	int64_t n = 0;
	enum store_status r = one_int(db, "SELECT count(*) FROM accounts WHERE key = lower(?1)",
	    name, &n);
	if (r != STORE_OK)
		return STORE_FAILED;
	if (n == 0)
		return STORE_NOT_FOUND;
	if ((r = one_int(db, "SELECT count(*) FROM account_certs WHERE account = lower(?1)",
	    name, &n)) != STORE_OK)
		return STORE_FAILED;
	if (n >= STORE_CERTS_MAX)
		return STORE_FULL;
	sqlite3_stmt *st = prepare(db,
	    "INSERT INTO account_certs (fp, account) VALUES (lower(?2), lower(?1))");
	if (st == NULL)
		return STORE_FAILED;
	bind_text(st, 1, name);
	bind_text(st, 2, fp);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return STORE_EXISTS;
	return rc == SQLITE_DONE ? bump(db) : STORE_FAILED;
}

enum store_status
sqlite_cert_add(struct store *s, const char *name, const char *fp)
{
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status st = begin(db) == 0 ? end(db, cert_add(db, name, fp)) : STORE_FAILED;
	store_rw_give(s, db);
	return st;
}

static enum store_status
cert_del(sqlite3 *db, const char *name, const char *fp)
{
	sqlite3_stmt *st = prepare(db,
	    "DELETE FROM account_certs WHERE account = lower(?1) AND fp = lower(?2)");
	if (st == NULL)
		return STORE_FAILED;
	bind_text(st, 1, name);
	bind_text(st, 2, fp);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return STORE_FAILED;
	return sqlite3_changes(db) > 0 ? bump(db) : STORE_NOT_FOUND;
}

enum store_status
sqlite_cert_del(struct store *s, const char *name, const char *fp)
{
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status st = begin(db) == 0 ? end(db, cert_del(db, name, fp)) : STORE_FAILED;
	store_rw_give(s, db);
	return st;
}

static void
row_name(sqlite3_stmt *st, void *name)
{
	snprintf(name, ACCOUNT_LEN_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
}

enum store_status
sqlite_cert_find(struct store *s, const char *fp, char name[ACCOUNT_LEN_MAX + 1])
{
	const struct store_params p = { .text = { fp }, .ntext = 1 };
	return store_rw_row(s, "SELECT a.name FROM account_certs c JOIN accounts a"
	    " ON a.key = c.account WHERE c.fp = lower(?1)", &p, row_name, name);
}

enum store_status
sqlite_cert_list(struct store *s, const char *name,
    char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1], size_t *n)
{
	*n = 0;
	sqlite3 *db = store_rw_take(s);
	if (db == NULL)
		return STORE_FAILED;
	enum store_status r = STORE_FAILED;
	sqlite3_stmt *st = prepare(db,
	    "SELECT fp FROM account_certs WHERE account = lower(?1) ORDER BY fp LIMIT ?2");
	if (st != NULL) {
		bind_text(st, 1, name);
		sqlite3_bind_int(st, 2, STORE_CERTS_MAX);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			snprintf(fps[(*n)++], STORE_CERTFP_LEN + 1, "%s",
			    (const char *)sqlite3_column_text(st, 0));
		if (rc == SQLITE_DONE)
			r = STORE_OK;
		sqlite3_finalize(st);
	}
	store_rw_give(s, db);
	return r;
}
