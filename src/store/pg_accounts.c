/* Accounts, certificates, read markers and the loading of registered
 * rooms on PostgreSQL (worker threads, a pooled connection each): the
 * same rows and answers as SQLite's (sqlite_accounts.c, sqlite_unlock.c,
 * sqlite_forget.c). Names are folded here (store_fold, ASCII), not by
 * the database's lower(), whose answer depends on its locale. Every
 * write of the accounts bumps meta's accounts_serial in its transaction,
 * so every node sees another's change. */
#include "store/pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Running statements ---- */

/* A transaction's result: STORE_OK commits, anything else rolls back.
 * *committing says whether a COMMIT was sent: if its answer is lost,
 * the write may have been applied. */
static enum store_status
end(PGconn *c, enum store_status st, int *committing)
{
	*committing = st == STORE_OK;
	PGresult *r = PQexec(c, st == STORE_OK ? "COMMIT" : "ROLLBACK");
	if (st == STORE_OK && !pg_ok(r))
		st = STORE_FAILED;
	PQclear(r);
	return st;
}

/* BEGIN, and the transaction's id into xid (one round trip: both
 * statements in one query); -1 when it fails. */
static int
begin(PGconn *c, char *xid, size_t len)
{
	PGresult *r = PQexec(c, "BEGIN; SELECT pg_current_xact_id()");
	int ok = pg_ok(r) && PQntuples(r) == 1;
	if (ok)
		snprintf(xid, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok ? 0 : -1;
}

/* sql bound to p: STORE_OK, with *changed rows when asked;
 * STORE_EXISTS on a unique violation; else STORE_FAILED. */
static enum store_status
run(PGconn *c, const char *sql, int n, const char *const *p, long *changed)
{
	PGresult *r = pg_exec(c, sql, n, p);
	enum store_status st = STORE_OK;
	if (!pg_ok(r)) {
		const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		st = code != NULL && strcmp(code, "23505") == 0 ? STORE_EXISTS : STORE_FAILED;
	} else if (changed != NULL) {
		*changed = atol(PQcmdTuples(r));
	}
	PQclear(r);
	return st;
}

static enum store_status
bump(PGconn *c)
{
	return run(c, "UPDATE meta SET value = value + 1 WHERE key = 'accounts_serial'", 0,
	    NULL, NULL);
}

/* The rows of sql bound to p (PQclear them), or NULL when it fails. A
 * pooled connection the database dropped (it restarted) fails its first
 * call: once more, on a new one. Run twice, a statement here must do no
 * harm: a read, or marker_set's, which only moves a marker forward. */
static PGresult *
rows(struct pg_store *s, const char *sql, int n, const char *const *p)
{
	PGresult *r = NULL;
	for (int tries = 0; tries < 2; tries++) {
		PQclear(r);
		PGconn *c = pg_take(s);
		if (c == NULL)
			return NULL;
		r = pg_exec(c, sql, n, p);
		if (!pg_give(s, c))
			break;
	}
	if (!pg_ok(r)) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* What became of transaction xid, whose COMMIT was sent and whose answer
 * was lost with its connection: PostgreSQL keeps every recent
 * transaction's status, asked here on another connection. While it is
 * still in progress (its backend has not yet read the COMMIT, or the
 * connection's end) it is asked again, for PG_OUTCOME_WAIT_MS at most. */
enum outcome { TX_COMMITTED, TX_ABORTED, TX_UNKNOWN };

static enum outcome
outcome(struct pg_store *s, const char *xid)
{
	uint64_t until = pg_now_ms() + PG_OUTCOME_WAIT_MS;
	const char *p[1] = { xid };
	for (;;) {
		PGresult *r = rows(s, "SELECT pg_xact_status($1::xid8)", 1, p);
		const char *v = r != NULL && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ?
		    PQgetvalue(r, 0, 0) : "";
		enum outcome o = strcmp(v, "committed") == 0 ? TX_COMMITTED :
		    strcmp(v, "aborted") == 0 ? TX_ABORTED : TX_UNKNOWN;
		int pending = strcmp(v, "in progress") == 0;
		PQclear(r);
		if (!pending || pg_now_ms() >= until)
			return o;
		struct timespec pause = { 0, PG_OUTCOME_POLL_MS * 1000000L };
		nanosleep(&pause, NULL);
	}
}

/* One write in its transaction, on a pooled connection. */
typedef enum store_status write_fn(PGconn *c, const void *a, const void *b);

/* fn in a transaction, run again (once) on a new connection only when
 * the first is known not to have been applied: its connection died
 * before the COMMIT went out (a pooled connection the database dropped
 * when it restarted fails its first call; the server rolls back what a
 * dead connection left open), or after it, and the database says the
 * transaction was rolled back. A COMMIT whose answer was lost and that
 * the database says committed is a success; one it cannot tell is a
 * failure (the person is told to try again later): never applied twice
 * (a registration answered "exists" to whoever just made it, the
 * accounts' serial bumped twice). */
static enum store_status
in_transaction(struct pg_store *s, write_fn *fn, const void *a, const void *b)
{
	for (int tries = 0;; tries++) {
		PGconn *c = pg_take(s);
		if (c == NULL)
			return STORE_FAILED;
		char xid[24];
		int committing = 0;
		enum store_status st = begin(c, xid, sizeof xid) == 0 ?
		    end(c, fn(c, a, b), &committing) : STORE_FAILED;
		if (!pg_give(s, c) || st == STORE_OK)
			return st;  /* the database answered */
		if (committing) {
			enum outcome o = outcome(s, xid);
			if (o != TX_ABORTED)
				return o == TX_COMMITTED ? STORE_OK : STORE_FAILED;
		}
		if (tries > 0)
			return st;
	}
}

static void
hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	out += sprintf(out, "\\x");
	for (size_t i = 0; i < n; i++) {
		*out++ = digits[in[i] >> 4];
		*out++ = digits[in[i] & 15];
	}
	*out = '\0';
}

static int
unhex_digit(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
	    ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* A bytea in its text form ("\x0a0b...") into out, at most cap bytes. */
static size_t
unhex(const char *in, uint8_t *out, size_t cap)
{
	size_t n = 0;
	if (in[0] != '\\' || in[1] != 'x')
		return 0;
	for (in += 2; n < cap && unhex_digit(in[0]) >= 0 && unhex_digit(in[1]) >= 0; in += 2)
		out[n++] = (uint8_t)(unhex_digit(in[0]) << 4 | unhex_digit(in[1]));
	return n;
}

/* ---- Accounts ---- */

struct credentials {
	char key[ACCOUNT_LEN_MAX + 1];
	char salt[2 * STORE_SCRAM_SALT_MAX + 3];
	char iter[16];
	char stored[2 * STORE_SCRAM_KEY_LEN + 3], server[2 * STORE_SCRAM_KEY_LEN + 3];
	char created[24];
};

static void
credentials(struct credentials *c, const struct store_account *a)
{
	store_fold(c->key, a->name, sizeof c->key);
	hex(c->salt, a->scram_salt, a->scram_salt_len);
	snprintf(c->iter, sizeof c->iter, "%u", a->scram_iter);
	hex(c->stored, a->scram_stored_key, STORE_SCRAM_KEY_LEN);
	hex(c->server, a->scram_server_key, STORE_SCRAM_KEY_LEN);
	snprintf(c->created, sizeof c->created, "%lld", (long long)a->created_ms);
}

static enum store_status
create(PGconn *c, const void *arg, const void *unused)
{
	(void)unused;
	const struct store_account *a = arg;
	struct credentials k;
	credentials(&k, a);
	const char *p[8] = { k.key, a->name, a->pwhash, k.salt, k.iter, k.stored, k.server,
		k.created };
	enum store_status st = run(c, "INSERT INTO accounts (key, name, pwhash, scram_salt,"
	    " scram_iter, scram_stored_key, scram_server_key, created_ms)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, p, NULL);
	return st == STORE_OK ? bump(c) : st;
}

enum store_status
pg_account_create(struct store *st, const struct store_account *a)
{
	return in_transaction(pg_of(st), create, a, NULL);
}

enum store_status
pg_account_get(struct store *st, const char *name, struct store_account *out)
{
	char key[ACCOUNT_LEN_MAX + 1];
	if (strlen(name) > ACCOUNT_LEN_MAX)
		return STORE_NOT_FOUND;
	store_fold(key, name, sizeof key);
	const char *p[1] = { key };
	PGresult *r = rows(pg_of(st), "SELECT name, pwhash, scram_salt, scram_iter,"
	    " scram_stored_key, scram_server_key, created_ms FROM accounts WHERE key = $1", 1, p);
	if (r == NULL)
		return STORE_FAILED;
	enum store_status res = PQntuples(r) > 0 ? STORE_OK : STORE_NOT_FOUND;
	if (res == STORE_OK) {
		memset(out, 0, sizeof *out);
		snprintf(out->name, sizeof out->name, "%s", PQgetvalue(r, 0, 0));
		snprintf(out->pwhash, sizeof out->pwhash, "%s", PQgetvalue(r, 0, 1));
		out->scram_salt_len = (uint8_t)unhex(PQgetvalue(r, 0, 2), out->scram_salt,
		    sizeof out->scram_salt);
		out->scram_iter = (uint32_t)strtoul(PQgetvalue(r, 0, 3), NULL, 10);
		unhex(PQgetvalue(r, 0, 4), out->scram_stored_key, STORE_SCRAM_KEY_LEN);
		unhex(PQgetvalue(r, 0, 5), out->scram_server_key, STORE_SCRAM_KEY_LEN);
		out->created_ms = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
	}
	PQclear(r);
	return res;
}

static enum store_status
set_password(PGconn *c, const void *arg, const void *unused)
{
	(void)unused;
	const struct store_account *a = arg;
	struct credentials k;
	credentials(&k, a);
	const char *p[6] = { k.key, a->pwhash, k.salt, k.iter, k.stored, k.server };
	long changed = 0;
	enum store_status st = run(c, "UPDATE accounts SET pwhash = $2, scram_salt = $3,"
	    " scram_iter = $4, scram_stored_key = $5, scram_server_key = $6 WHERE key = $1",
	    6, p, &changed);
	if (st != STORE_OK)
		return STORE_FAILED;
	return changed > 0 ? bump(c) : STORE_NOT_FOUND;
}

enum store_status
pg_account_set_password(struct store *st, const struct store_account *a)
{
	return in_transaction(pg_of(st), set_password, a, NULL);
}

/* What goes with an account (its folded name $1): its private
 * conversations, both sides' and its one-sided ones (the keys strictly
 * between $2 "@key!" and $3 "@key\""), read markers, operator entries,
 * certificates, then the account. */
static enum store_status
delete_rows(PGconn *c, const void *arg, const void *unused)
{
	(void)unused;
	const char *name = arg;
	if (strlen(name) > ACCOUNT_LEN_MAX)
		return STORE_NOT_FOUND;
	char key[ACCOUNT_LEN_MAX + 1], lo[STORE_TARGET_MAX + 1], hi[STORE_TARGET_MAX + 1];
	store_fold(key, name, sizeof key);
	snprintf(lo, sizeof lo, "@%s%c", key, STORE_HALF_SEP);
	snprintf(hi, sizeof hi, "@%s%c", key, STORE_HALF_SEP + 1);
	const char *p[3] = { key, lo, hi };
	static const struct {
		const char *sql;
		int n;
	} steps[] = {
		{ "DELETE FROM events WHERE target IN (SELECT target FROM conversations"
		  " WHERE account = $1) OR (target > $2 AND target < $3)", 3 },
		{ "DELETE FROM conversations WHERE target IN"
		  " (SELECT target FROM conversations WHERE account = $1)", 1 },
		{ "DELETE FROM read_markers WHERE account = $1", 1 },
		{ "DELETE FROM room_ops WHERE account = $1", 1 },
		/* The rooms it founded are unregistered: their rows stay as
		 * the marks of a drop (pg_writer.c), at their version. */
		{ "DELETE FROM room_masks WHERE room IN (SELECT key FROM rooms"
		  " WHERE lower(founder) = $1 AND NOT dropped)", 1 },
		{ "DELETE FROM room_ops WHERE room IN (SELECT key FROM rooms"
		  " WHERE lower(founder) = $1 AND NOT dropped)", 1 },
		{ "UPDATE rooms SET founder = '', topic = NULL, topic_by = NULL, modes = '',"
		  " password = NULL, topic_at = 0, lim = 0, created = 0, dropped = true"
		  " WHERE lower(founder) = $1 AND NOT dropped", 1 },
		{ "DELETE FROM account_certs WHERE account = $1", 1 },
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (run(c, steps[i].sql, steps[i].n, p, NULL) != STORE_OK)
			return STORE_FAILED;
	long changed = 0;
	if (run(c, "DELETE FROM accounts WHERE key = $1", 1, p, &changed) != STORE_OK)
		return STORE_FAILED;
	return changed > 0 ? bump(c) : STORE_NOT_FOUND;
}

enum store_status
pg_account_delete(struct store *st, const char *name)
{
	return in_transaction(pg_of(st), delete_rows, name, NULL);
}

enum store_status
pg_account_names(struct store *st, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	PGresult *r = rows(pg_of(st), "SELECT name FROM accounts ORDER BY key", 0, NULL);
	if (r == NULL)
		return STORE_FAILED;
	size_t rows_n = (size_t)PQntuples(r);
	int failed = 0;
	if (rows_n > 0 && (*names = calloc(rows_n, sizeof **names)) == NULL)
		failed = 1;
	for (size_t i = 0; !failed && i < rows_n; i++, (*n)++)
		failed = ((*names)[i] = strdup(PQgetvalue(r, (int)i, 0))) == NULL;
	PQclear(r);
	if (failed) {
		store_names_free(*names, *n);
		*names = NULL;
		*n = 0;
		return STORE_FAILED;
	}
	return STORE_OK;
}

enum store_status
pg_accounts_serial(struct store *st, int64_t *out)
{
	PGresult *r = rows(pg_of(st), "SELECT value FROM meta WHERE key = 'accounts_serial'",
	    0, NULL);
	if (r == NULL || PQntuples(r) != 1) {
		PQclear(r);
		return STORE_FAILED;
	}
	*out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return STORE_OK;
}

/* ---- Certificates ---- */

static void
fold_fp(char out[STORE_CERTFP_LEN + 1], const char *fp)
{
	store_fold(out, fp, STORE_CERTFP_LEN + 1);
}

static enum store_status
count(PGconn *c, const char *sql, const char *arg, long *out)
{
	const char *p[1] = { arg };
	PGresult *r = pg_exec(c, sql, 1, p);
	int ok = pg_ok(r) && PQntuples(r) == 1;
	if (ok)
		*out = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok ? STORE_OK : STORE_FAILED;
}

static enum store_status
cert_add(PGconn *c, const void *name_arg, const void *fp_arg)
{
	char key[ACCOUNT_LEN_MAX + 1], fp[STORE_CERTFP_LEN + 1];
	store_fold(key, name_arg, sizeof key);
	fold_fp(fp, fp_arg);
	long n = 0;
	if (count(c, "SELECT count(*) FROM accounts WHERE key = $1", key, &n) != STORE_OK)
		return STORE_FAILED;
	if (n == 0)
		return STORE_NOT_FOUND;
	if (count(c, "SELECT count(*) FROM account_certs WHERE account = $1", key, &n) != STORE_OK)
		return STORE_FAILED;
	if (n >= STORE_CERTS_MAX)
		return STORE_FULL;
	const char *p[2] = { fp, key };
	enum store_status st = run(c, "INSERT INTO account_certs (fp, account) VALUES ($1, $2)",
	    2, p, NULL);
	return st == STORE_OK ? bump(c) : st;
}

enum store_status
pg_cert_add(struct store *st, const char *name, const char *fp)
{
	if (strlen(name) > ACCOUNT_LEN_MAX)
		return STORE_NOT_FOUND;
	return in_transaction(pg_of(st), cert_add, name, fp);
}

static enum store_status
cert_del(PGconn *c, const void *name_arg, const void *fp_arg)
{
	char key[ACCOUNT_LEN_MAX + 1], fp[STORE_CERTFP_LEN + 1];
	store_fold(key, name_arg, sizeof key);
	fold_fp(fp, fp_arg);
	const char *p[2] = { key, fp };
	long changed = 0;
	if (run(c, "DELETE FROM account_certs WHERE account = $1 AND fp = $2", 2, p, &changed) !=
	    STORE_OK)
		return STORE_FAILED;
	return changed > 0 ? bump(c) : STORE_NOT_FOUND;
}

enum store_status
pg_cert_del(struct store *st, const char *name, const char *fp)
{
	return in_transaction(pg_of(st), cert_del, name, fp);
}

enum store_status
pg_cert_find(struct store *st, const char *fp, char name[ACCOUNT_LEN_MAX + 1])
{
	char f[STORE_CERTFP_LEN + 1];
	fold_fp(f, fp);
	const char *p[1] = { f };
	PGresult *r = rows(pg_of(st), "SELECT a.name FROM account_certs c JOIN accounts a"
	    " ON a.key = c.account WHERE c.fp = $1", 1, p);
	if (r == NULL)
		return STORE_FAILED;
	enum store_status res = PQntuples(r) > 0 ? STORE_OK : STORE_NOT_FOUND;
	if (res == STORE_OK)
		snprintf(name, ACCOUNT_LEN_MAX + 1, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return res;
}

enum store_status
pg_cert_list(struct store *st, const char *name,
    char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1], size_t *n)
{
	*n = 0;
	char key[ACCOUNT_LEN_MAX + 1], lim[8];
	store_fold(key, name, sizeof key);
	snprintf(lim, sizeof lim, "%d", STORE_CERTS_MAX);
	const char *p[2] = { key, lim };
	PGresult *r = rows(pg_of(st), "SELECT fp FROM account_certs WHERE account = $1"
	    " ORDER BY fp LIMIT $2", 2, p);
	if (r == NULL)
		return STORE_FAILED;
	for (int i = 0; i < PQntuples(r) && *n < STORE_CERTS_MAX; i++)
		snprintf(fps[(*n)++], STORE_CERTFP_LEN + 1, "%s", PQgetvalue(r, i, 0));
	PQclear(r);
	return STORE_OK;
}

/* ---- Read markers ---- */

enum store_status
pg_marker_get(struct store *st, const char *account, const char *target, int64_t *at_ms)
{
	char acc[ACCOUNT_LEN_MAX + 1], key[STORE_TARGET_MAX + 1];
	store_fold(acc, account, sizeof acc);
	store_fold(key, target, sizeof key);
	const char *p[2] = { acc, key };
	PGresult *r = rows(pg_of(st), "SELECT at_ms FROM read_markers WHERE account = $1"
	    " AND target = $2", 2, p);
	if (r == NULL)
		return STORE_FAILED;
	enum store_status res = PQntuples(r) > 0 ? STORE_OK : STORE_NOT_FOUND;
	if (res == STORE_OK)
		*at_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return res;
}

enum store_status
pg_marker_set(struct store *st, const char *account, const char *target, int64_t at_ms,
    int64_t *now)
{
	char acc[ACCOUNT_LEN_MAX + 1], key[STORE_TARGET_MAX + 1], ms[24];
	store_fold(acc, account, sizeof acc);
	store_fold(key, target, sizeof key);
	snprintf(ms, sizeof ms, "%lld", (long long)at_ms);
	const char *p[3] = { acc, key, ms };
	/* Only forward, in one statement: two nodes setting one marker at
	 * once keep the later time. */
	PGresult *r = rows(pg_of(st), "INSERT INTO read_markers (account, target, at_ms)"
	    " VALUES ($1, $2, $3) ON CONFLICT (account, target) DO UPDATE SET"
	    " at_ms = greatest(read_markers.at_ms, excluded.at_ms) RETURNING at_ms", 3, p);
	if (r == NULL || PQntuples(r) != 1) {
		PQclear(r);
		return STORE_FAILED;
	}
	*now = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return STORE_OK;
}

/* ---- Registered rooms, loaded ---- */

static char *
col_dup(const PGresult *r, int row, int i, int *failed)
{
	return PQgetisnull(r, row, i) ? NULL : store_dup(PQgetvalue(r, row, i), failed);
}

/* The room's masks and operators, from the rows of every room's. */
static int
load_lists(const PGresult *masks, const PGresult *ops, const char *key, struct store_room *r)
{
	int failed = 0;
	for (int i = 0; i < PQntuples(masks) && !failed; i++) {
		if (strcmp(PQgetvalue(masks, i, 0), key) != 0)
			continue;
		struct store_room_mask *grown = realloc(r->masks, (r->nmasks + 1) * sizeof *grown);
		if (grown == NULL)
			return -1;
		r->masks = grown;
		struct store_room_mask *m = &r->masks[r->nmasks];
		const char *letter = PQgetvalue(masks, i, 1);
		m->letter = letter[0] != '\0' ? letter[0] : 'b';
		m->at = strtoll(PQgetvalue(masks, i, 4), NULL, 10);
		m->by = col_dup(masks, i, 3, &failed);
		if ((m->mask = col_dup(masks, i, 2, &failed)) == NULL) {
			free(m->by);
			continue;
		}
		r->nmasks++;
	}
	for (int i = 0; i < PQntuples(ops) && !failed; i++) {
		if (strcmp(PQgetvalue(ops, i, 0), key) != 0)
			continue;
		char **grown = realloc(r->ops, (r->nops + 1) * sizeof *grown);
		if (grown == NULL)
			return -1;
		r->ops = grown;
		if ((r->ops[r->nops] = col_dup(ops, i, 1, &failed)) != NULL)
			r->nops++;
	}
	return failed ? -1 : 0;
}

enum store_status
pg_rooms_load(struct store *st, struct store_room **rooms, size_t *n)
{
	struct pg_store *s = pg_of(st);
	*rooms = NULL;
	*n = 0;
	PGconn *c = pg_take(s);
	if (c == NULL)
		return STORE_FAILED;
	PGresult *b = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	/* A dropped room's row is the mark of its drop (pg_writer.c): not a room. */
	PGresult *rr = pg_exec(c, "SELECT key, name, founder, topic, topic_by, topic_at, modes,"
	    " password, lim, created, version FROM rooms WHERE NOT dropped ORDER BY key", 0, NULL);
	PGresult *masks = pg_exec(c, "SELECT room, letter, mask, by, at FROM room_masks"
	    " ORDER BY room, at, mask", 0, NULL);
	PGresult *ops = pg_exec(c, "SELECT room, account FROM room_ops ORDER BY room, account",
	    0, NULL);
	PQclear(PQexec(c, "COMMIT"));
	pg_give(s, c);
	int failed = !pg_ok(b) || !pg_ok(rr) || !pg_ok(masks) || !pg_ok(ops);
	int nrooms = failed ? 0 : PQntuples(rr);
	if (nrooms > 0 && (*rooms = calloc((size_t)nrooms, sizeof **rooms)) == NULL)
		failed = 1;
	for (int i = 0; !failed && i < nrooms; i++) {
		struct store_room *r = &(*rooms)[(*n)++];
		r->name = col_dup(rr, i, 1, &failed);
		r->founder = col_dup(rr, i, 2, &failed);
		r->topic = col_dup(rr, i, 3, &failed);
		r->topic_by = col_dup(rr, i, 4, &failed);
		r->topic_at = strtoll(PQgetvalue(rr, i, 5), NULL, 10);
		r->modes = col_dup(rr, i, 6, &failed);
		r->password = col_dup(rr, i, 7, &failed);
		r->limit = (uint32_t)strtoul(PQgetvalue(rr, i, 8), NULL, 10);
		r->created = strtoll(PQgetvalue(rr, i, 9), NULL, 10);
		r->version = strtoull(PQgetvalue(rr, i, 10), NULL, 10);
		if (r->name == NULL || r->founder == NULL ||
		    load_lists(masks, ops, PQgetvalue(rr, i, 0), r) != 0)
			failed = 1;
	}
	PQclear(b);
	PQclear(rr);
	PQclear(masks);
	PQclear(ops);
	if (failed) {
		store_rooms_free(*rooms, *n);
		*rooms = NULL;
		*n = 0;
		return STORE_FAILED;
	}
	return STORE_OK;
}
