/* The PostgreSQL backend's insides, shared by its files (pg.c: open,
 * close, connections, stats, the backend table; pg_schema.c: the tables
 * and their migrations; pg_writer.c: the writer thread over epochs.c
 * and what it holds back while the database is away;
 * pg_query.c: the queries; pg_accounts.c: accounts, certificates, read
 * markers, registered rooms). Nothing above the store includes it.
 *
 * Threads, as SQLite's: the loop appends and seals; one writer thread
 * with a libpq connection of its own commits each epoch in one
 * transaction, sent in libpq's pipeline mode (every statement of the
 * epoch and the COMMIT in one round trip), and tells the loop through
 * an eventfd; queries and account calls run on the worker pool's
 * threads, each on a connection taken from a small pool. libpq's calls
 * block, but only those threads: the loop never waits on the database. */
#ifndef PARLEY_STORE_PG_INT_H
#define PARLEY_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#include "store/epochs.h"
#include "store/store_backend.h"

/* The schema version this build writes (pg_schema.c). */
#define PG_SCHEMA_VERSION 3

/* While the database is away, the epochs are finished (their messages
 * go out: chat goes on) and their ops held back, to be written when it
 * returns, up to this many events and bytes; past either, new events
 * are dropped (counted: store_stats.dropped) and the held ones kept. */
#define PG_HELD_MAX 100000
#define PG_HELD_BYTES_MAX (64u << 20)

/* Statements the writer sends before it reads their results (pg_writer.c,
 * write_epochs). */
#define PG_PIPELINE_CHUNK 256
/* Events the writer inserts with one statement (arrays, unnest). */
#define PG_INSERT_ROWS 500

/* Reconnecting: the first retry after this, doubling to the most. A
 * connection attempt gives up after PG_CONNECT_TIMEOUT seconds (libpq's
 * connect_timeout, unless the URL sets its own). */
#define PG_RETRY_MIN_MS 200
#define PG_RETRY_MAX_MS 5000
#define PG_CONNECT_TIMEOUT "5"
/* While the database is away, a pooled call waits this long at most for
 * the one trying to connect (pg.c, pg_take) before it fails. */
#define PG_PROBE_WAIT_MS 500
/* An account write whose COMMIT's answer was lost with its connection:
 * how long its transaction's status is asked for (every
 * PG_OUTCOME_POLL_MS) while the database says it is still in progress,
 * before the write is answered as failed (pg_accounts.c, outcome). */
#define PG_OUTCOME_WAIT_MS 2000
#define PG_OUTCOME_POLL_MS 20

/* Retention: the writer prunes when it had no epoch for this long, rows
 * per statement, and how often it looks for rows past history-max-age. */
#define PG_IDLE_MS 1000
#define PG_PRUNE_BATCH 1000
#define PG_AGE_CHECK_MS 60000
/* Targets remembered as touched for the history-max-rows check; past it
 * every target is checked. */
#define PG_TOUCHED_MAX 1024

/* A pooled connection, checked out by one call at a time. */
struct pg_slot {
	PGconn *conn;
	int busy;
};

struct pg_store {
	struct store_head head;      /* &store_pg */
	char *url;                   /* store_options.database, owned */
	char *password;              /* store_options.password_file's line, owned, or NULL */
	struct store_options opt;

	/* The pending batch, the epochs and the writer's counters; its lock
	 * guards the fields below too. */
	struct store_epochs q;

	/* The loop's view of the database going and coming, for its log. */
	uint64_t seen_lost, seen_back;
	int logged_lost;

	/* Shared with the writer, under q.lock. */
	uint64_t lost, back;         /* times the database went away, came back */
	uint64_t held_now;           /* events held back now */
	/* The database refused a connection (the writer's or the pool's) and
	 * none has been made since: pooled calls try to connect one at a
	 * time (probing; the others wait up to PG_PROBE_WAIT_MS for its
	 * outcome, on probed, rather than each wait for a host that does not
	 * answer); the one that gets through sets seen_back_pool, and the
	 * writer connects at once rather than at the end of its backoff. */
	int pool_down, probing, seen_back_pool;
	pthread_cond_t probed;       /* CLOCK_MONOTONIC */

	/* The writer thread's own. */
	pthread_t writer;
	int writer_running;
	PGconn *wconn;
	struct store_epoch *held_head, **held_tail;
	size_t held_events, held_bytes;
	unsigned retry_ms;
	uint64_t retry_at;           /* monotonic ms of the next connection attempt */
	uint64_t idle_at, age_check_at;
	char **touched;              /* targets to check against history-max-rows */
	size_t ntouched;
	int touched_all;

	/* The pool of connections for queries and account calls. */
	pthread_mutex_t plock;
	pthread_cond_t pfree;
	struct pg_slot *pool;
	unsigned npool;
};

/* pg.c: a new connection to s->url (NULL, err written, when it fails),
 * and the pool's. take waits for a free slot and connects it when it
 * has no live connection; NULL when it cannot (the database is away).
 * give hands it back: 1 when it was found broken (then closed), so the
 * caller may try once more on a new one, if what it sent cannot have been
 * applied or does no harm twice (pg_accounts.c, in_transaction). */
PGconn *pg_connect(const char *url, const char *password, char *err, size_t errlen);
/* The first line of path (the password option's file) into a new string;
 * NULL with a line in err when it cannot be read or is empty. */
char *pg_password_read(const char *path, char *err, size_t errlen);
PGconn *pg_take(struct pg_store *s);
int pg_give(struct pg_store *s, PGconn *c);
/* A statement with text parameters (NULL ones NULL) on c; its result
 * (PQclear it), or NULL when libpq fails. */
PGresult *pg_exec(PGconn *c, const char *sql, int n, const char *const *params);
/* libpq's message (lines, a tab before a hint) as one line, in place. */
void pg_one_line(char *msg);
/* 1 when r is a success (a command, or rows). */
int pg_ok(const PGresult *r);
/* The monotonic clock in ms. */
uint64_t pg_now_ms(void);
/* A PostgreSQL text array literal of v (malloc'd). */
char *pg_text_array(const char *const *v, size_t n);

/* pg_schema.c: brings c's schema to PG_SCHEMA_VERSION (one transaction,
 * under an advisory lock: nodes starting at once take turns). -1 with a
 * line in err when it is newer, or the database fails. */
int pg_schema_migrate(PGconn *c, char *err, size_t errlen);

/* pg_writer.c */
int pg_writer_start(struct pg_store *s, char *err, size_t errlen);
void pg_writer_stop(struct pg_store *s);
void pg_pending_free(struct pg_store *s);
int pg_append(struct store *st, const struct store_event *e);
int pg_redact(struct store *st, const char *target, const char *msgid);
int pg_room_save(struct store *st, const struct store_room *r);
int pg_room_forget(struct store *st, const char *name, uint64_t version);
int pg_pending(const struct store *st);
uint64_t pg_seal(struct store *st);
uint64_t pg_finished(struct store *st);
uint64_t pg_finished_peek(const struct store *st);
size_t pg_unfinished(const struct store *st);
uint64_t pg_epoch_now(const struct store *st);
void pg_wait_finished(struct store *st, uint64_t epoch, unsigned ms);
/* The writer's statements for one op, sent on c in pipeline mode: how
 * many were sent, or -1. */
int pg_room_send(PGconn *c, const struct store_room *r);
int pg_room_forget_send(PGconn *c, const char *name, uint64_t version);

/* pg_query.c */
void pg_query(struct store *st, const struct store_query *q, struct store_result *out);
/* The columns every query reads (events as e), in pg_row_event's order,
 * and the kinds that are messages. */
#define PG_COLUMNS "e.msgid, e.at_ms, e.target, e.kind, e.sender, e.account, e.text," \
	" e.extra, e.tags, e.bot, e.redacted"
#define PG_MESSAGE_KINDS "(1, 2, 3)"
/* pg_row.c: row row of r (PG_COLUMNS) as an event whose strings are one block,
 * target first; -1 when memory fails. */
int pg_row_event(const PGresult *r, int row, struct store_event *e);

/* pg_search.c: SEARCH's rows, at most limit, oldest first, added to out
 * (whose events have room for limit) inside the caller's transaction;
 * -1 when the database fails. */
int pg_search(PGconn *c, const struct store_query *q, uint32_t limit,
    struct store_result *out);

/* pg_accounts.c */
enum store_status pg_account_create(struct store *st, const struct store_account *a);
enum store_status pg_account_get(struct store *st, const char *name,
    struct store_account *out);
enum store_status pg_account_set_password(struct store *st, const struct store_account *a);
enum store_status pg_account_delete(struct store *st, const char *name);
enum store_status pg_account_names(struct store *st, char ***names, size_t *n);
enum store_status pg_accounts_serial(struct store *st, int64_t *out);
enum store_status pg_cert_add(struct store *st, const char *name, const char *fp);
enum store_status pg_cert_del(struct store *st, const char *name, const char *fp);
enum store_status pg_cert_find(struct store *st, const char *fp,
    char name[ACCOUNT_LEN_MAX + 1]);
enum store_status pg_cert_list(struct store *st, const char *name,
    char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1], size_t *n);
enum store_status pg_marker_get(struct store *st, const char *account,
    const char *target, int64_t *at_ms);
enum store_status pg_marker_set(struct store *st, const char *account,
    const char *target, int64_t at_ms, int64_t *now);
enum store_status pg_rooms_load(struct store *st, struct store_room **rooms, size_t *n);

static inline struct pg_store *
pg_of(const struct store *st)
{
	return (struct pg_store *)(void *)st;
}

#endif
