/* The PostgreSQL backend (database postgresql://...): several parleyd
 * nodes share one history and one set of accounts. This file opens and
 * closes the store, keeps the pool of connections that queries and
 * account calls borrow, reports the counters, and holds the backend's
 * table; the writer, the queries, the accounts and the schema have files
 * of their own (pg_int.h says who does what on which thread). */
#include "store/pg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"

uint64_t
pg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* libpq's notices (a NOTICE from the server) are not for our stderr. */
static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The password of url's user part (postgresql://USER:PASSWORD@...), as
 * [*at, *at + *len); 0 when it has none. */
static int
url_password(const char *url, const char **at, size_t *len)
{
	const char *p = strstr(url, "://");
	if (p == NULL)
		return 0;
	p += 3;
	size_t auth = strcspn(p, "@/?");
	if (p[auth] != '@')
		return 0;
	const char *colon = memchr(p, ':', auth);
	if (colon == NULL || colon + 1 == p + auth)
		return 0;
	*at = colon + 1;
	*len = (size_t)(p + auth - *at);
	return 1;
}

/* Every copy of secret (len bytes) in msg made "***", in place: libpq
 * quotes a URL it cannot parse whole, password and all. */
static void
redact(char *msg, const char *secret, size_t len)
{
	if (secret == NULL || len == 0)
		return;
	char *hit;
	while ((hit = memmem(msg, strlen(msg), secret, len)) != NULL) {
		size_t rest = strlen(hit + len);
		size_t stars = len < 3 ? len : 3;
		memset(hit, '*', stars);
		memmove(hit + stars, hit + len, rest + 1);
	}
}

PGconn *
pg_connect(const char *url, const char *password, char *err, size_t errlen)
{
	/* The URL after the defaults: what it sets itself wins over them.
	 * The password file's line last: it is given instead of the URL's. */
	const char *keys[6] = { "connect_timeout", "application_name", "client_encoding",
		"dbname", NULL, NULL };
	const char *values[6] = { PG_CONNECT_TIMEOUT, "parleyd", "UTF8", url, NULL, NULL };
	if (password != NULL) {
		keys[4] = "password";
		values[4] = password;
	}
	PGconn *c = PQconnectdbParams(keys, values, 1);
	if (c == NULL) {
		snprintf(err, errlen, "database: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		/* libpq's message names the host and port; a password it may
		 * quote (a URL it cannot parse) is blanked. Its lines (a hint
		 * after a tab) made one. */
		snprintf(err, errlen, "database: %s", PQerrorMessage(c));
		const char *at;
		size_t len;
		if (url_password(url, &at, &len))
			redact(err, at, len);
		if (password != NULL)
			redact(err, password, strlen(password));
		pg_one_line(err);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

char *
pg_password_read(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "database-password-file %s: %s", path, strerror(errno));
		return NULL;
	}
	char line[1024];
	int got = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	line[got ? strcspn(line, "\r\n") : 0] = '\0';
	int empty = line[0] == '\0';
	char *pw = empty ? NULL : strdup(line);
	explicit_bzero(line, sizeof line);
	if (pw == NULL)
		snprintf(err, errlen, "database-password-file %s: %s", path,
		    empty ? "its first line is empty" : "out of memory");
	return pw;
}

void
pg_one_line(char *msg)
{
	char *o = msg;
	for (const char *p = msg; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			if (o > msg && o[-1] != ' ')
				*o++ = ' ';
		} else {
			*o++ = *p;
		}
	}
	while (o > msg && o[-1] == ' ')
		o--;
	*o = '\0';
}

PGresult *
pg_exec(PGconn *c, const char *sql, int n, const char *const *params)
{
	return PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
}

int
pg_ok(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	return r != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

char *
pg_text_array(const char *const *v, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += 2 * strlen(v[i]) + 3;
	char *out = malloc(cap), *o = out;
	if (out == NULL)
		return NULL;
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		*o++ = '"';
		for (const char *p = v[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				*o++ = '\\';
			*o++ = *p;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

/* ---- The pool ---- */

/* Whether a pooled call may connect now (1), as the probe while the
 * database is away (2), or should fail at once (0). A call that finds a
 * probe under way waits a little for its outcome: when the database has
 * just come back, the probe's success is this call's too. */
static int
pool_may_connect(struct pg_store *s)
{
	pthread_mutex_lock(&s->q.lock);
	int may = 1;
	if (s->pool_down && !s->probing) {
		s->probing = 1;
		may = 2;
	} else if (s->pool_down) {
		struct timespec until;
		clock_deadline_in(&until, PG_PROBE_WAIT_MS);
		while (s->probing && pthread_cond_timedwait(&s->probed, &s->q.lock, &until) == 0)
			;
		may = !s->pool_down;
	}
	pthread_mutex_unlock(&s->q.lock);
	return may;
}

static void
pool_connected(struct pg_store *s, int may, int ok)
{
	pthread_mutex_lock(&s->q.lock);
	if (may == 2) {
		s->probing = 0;
		pthread_cond_broadcast(&s->probed);
	}
	if (ok && s->pool_down) {
		s->pool_down = 0;
		s->seen_back_pool = 1;
		pthread_cond_signal(&s->q.wake);
	} else if (!ok) {
		s->pool_down = 1;
	}
	pthread_mutex_unlock(&s->q.lock);
}

/* Whether c still has its server: one that restarted closed it, which
 * libpq learns only by reading (never blocking: its sockets are
 * non-blocking underneath). Twice: a read that gets bytes (the server's
 * FATAL before it closed) returns without looking further, and the next
 * one finds the end. Found here, the call does not fail on it. */
static int
pg_alive(PGconn *c)
{
	return PQstatus(c) == CONNECTION_OK && PQconsumeInput(c) == 1 &&
	    PQconsumeInput(c) == 1 && PQstatus(c) == CONNECTION_OK;
}

PGconn *
pg_take(struct pg_store *s)
{
	pthread_mutex_lock(&s->plock);
	struct pg_slot *slot = NULL;
	for (;;) {
		for (unsigned i = 0; i < s->npool && slot == NULL; i++)
			if (!s->pool[i].busy)
				slot = &s->pool[i];
		if (slot != NULL)
			break;
		pthread_cond_wait(&s->pfree, &s->plock);
	}
	slot->busy = 1;
	pthread_mutex_unlock(&s->plock);
	if (slot->conn != NULL && !pg_alive(slot->conn)) {
		PQfinish(slot->conn);
		slot->conn = NULL;
	}
	int may;
	if (slot->conn == NULL && (may = pool_may_connect(s)) != 0) {
		char err[256];
		slot->conn = pg_connect(s->url, s->password, err, sizeof err);
		pool_connected(s, may, slot->conn != NULL);
	}
	if (slot->conn == NULL) {
		pthread_mutex_lock(&s->plock);
		slot->busy = 0;
		pthread_cond_signal(&s->pfree);
		pthread_mutex_unlock(&s->plock);
		return NULL;
	}
	return slot->conn;
}

int
pg_give(struct pg_store *s, PGconn *c)
{
	if (c == NULL)
		return 0;
	/* A connection left in a transaction (a failure midway) is rolled
	 * back before anyone else uses it; a broken one is closed (the next
	 * pg_take of its slot connects again). */
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	int broken = PQstatus(c) != CONNECTION_OK;
	pthread_mutex_lock(&s->plock);
	for (unsigned i = 0; i < s->npool; i++) {
		if (s->pool[i].conn == c && s->pool[i].busy) {
			if (broken) {
				PQfinish(c);
				s->pool[i].conn = NULL;
			}
			s->pool[i].busy = 0;
			break;
		}
	}
	pthread_cond_signal(&s->pfree);
	pthread_mutex_unlock(&s->plock);
	return broken;
}

/* ---- Open and close ---- */

static void
pg_free(struct pg_store *s)
{
	pg_pending_free(s);
	for (unsigned i = 0; s->pool != NULL && i < s->npool; i++)
		if (s->pool[i].conn != NULL)
			PQfinish(s->pool[i].conn);
	free(s->pool);
	if (s->wconn != NULL)
		PQfinish(s->wconn);
	epochs_destroy(&s->q);
	pthread_cond_destroy(&s->probed);
	pthread_cond_destroy(&s->pfree);
	pthread_mutex_destroy(&s->plock);
	free(s->url);
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s);
}

/* The store, connected and its schema up to date; the writer not yet
 * started. */
static struct pg_store *
pg_new(const struct store_options *o, unsigned pool, char *err, size_t errlen)
{
	struct pg_store *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->head.ops = &store_pg;
	s->opt = *o;
	s->held_tail = &s->held_head;
	int q_failed = epochs_init(&s->q, err, errlen);
	pthread_mutex_init(&s->plock, NULL);
	pthread_cond_init(&s->pfree, NULL);
	clock_cond_init(&s->probed);
	if (q_failed) {
		pg_free(s);
		return NULL;
	}
	s->npool = pool > 0 ? pool : 1;
	s->url = strdup(o->database);
	s->pool = calloc(s->npool, sizeof *s->pool);
	if (s->url == NULL || s->pool == NULL) {
		snprintf(err, errlen, "out of memory");
		pg_free(s);
		return NULL;
	}
	s->opt.database = s->url;
	s->opt.password_file = NULL;
	if (o->password_file != NULL && o->password_file[0] != '\0' &&
	    (s->password = pg_password_read(o->password_file, err, errlen)) == NULL) {
		pg_free(s);
		return NULL;
	}
	s->opt.dir = NULL;
	if ((s->wconn = pg_connect(s->url, s->password, err, errlen)) == NULL ||
	    pg_schema_migrate(s->wconn, err, errlen) != 0) {
		pg_free(s);
		return NULL;
	}
	return s;
}

static struct store *
pg_open(const struct store_options *o, char *err, size_t errlen)
{
	struct pg_store *s = pg_new(o, o->readers, err, errlen);
	if (s == NULL)
		return NULL;
	if (pg_writer_start(s, err, errlen) != 0) {
		pg_free(s);
		return NULL;
	}
	return (struct store *)(void *)s;
}

static struct store *
pg_open_admin(const struct store_options *o, char *err, size_t errlen)
{
	struct pg_store *s = pg_new(o, 1, err, errlen);
	if (s == NULL)
		return NULL;
	/* The schema is up to date; the writer's connection is not needed. */
	PQfinish(s->wconn);
	s->wconn = NULL;
	return (struct store *)(void *)s;
}

static void
pg_close(struct store *st)
{
	struct pg_store *s = pg_of(st);
	pg_seal(st);
	pg_writer_stop(s);
	pg_free(s);
}

static int
pg_fd(const struct store *st)
{
	return pg_of(st)->q.efd;
}

static void
pg_stats(const struct store *st, struct store_stats *out)
{
	struct pg_store *s = pg_of(st);
	epochs_stats(&s->q, out);
	pthread_mutex_lock(&s->q.lock);
	out->held = s->held_now;
	out->lost = s->lost;
	pthread_mutex_unlock(&s->q.lock);
}

const struct store_backend store_pg = {
	.name = "postgresql",
	.open = pg_open,
	.open_admin = pg_open_admin,
	.close = pg_close,
	.append = pg_append,
	.redact = pg_redact,
	.room_save = pg_room_save,
	.room_forget = pg_room_forget,
	.seal = pg_seal,
	.pending = pg_pending,
	.fd = pg_fd,
	.finished = pg_finished,
	.finished_peek = pg_finished_peek,
	.unfinished = pg_unfinished,
	.epoch_now = pg_epoch_now,
	.wait_finished = pg_wait_finished,
	.stats = pg_stats,
	.query = pg_query,
	.account_create = pg_account_create,
	.account_get = pg_account_get,
	.account_set_password = pg_account_set_password,
	.account_delete = pg_account_delete,
	.account_names = pg_account_names,
	.accounts_serial = pg_accounts_serial,
	.cert_add = pg_cert_add,
	.cert_del = pg_cert_del,
	.cert_find = pg_cert_find,
	.cert_list = pg_cert_list,
	.marker_get = pg_marker_get,
	.marker_set = pg_marker_set,
	.rooms_load = pg_rooms_load,
};
