/* The SQLite backend's insides, shared by its files (sqlite.c: open,
 * close, stats, backup; sqlite_schema.c: the tables and their
 * migrations; sqlite_writer.c: the writer thread over epochs.c,
 * retention; sqlite_query.c: the read connections and the
 * queries; sqlite_db.c: a connection) and by the unit test. Nothing
 * above the store includes it. */
#ifndef PARLEY_STORE_SQLITE_INT_H
#define PARLEY_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include <uthash.h>

#include "store/epochs.h"
#include "store/store_backend.h"

/* The database file in the data-dir, and the file whose lock says a
 * parleyd holds it (flock: SQLite's own locks let two writers share a
 * WAL database, which two servers must not). */
#define STORE_DB_NAME STORE_SQLITE_FILE
#define STORE_LOCK_NAME "parley.lock"
#define STORE_PATH_MAX 4096

/* Retention: rows deleted per transaction (small, so the writer takes
 * an epoch between two of them), and the writer's idle wait before it
 * prunes. Targets whose row count is checked come from the epochs
 * committed since (at most STORE_TOUCHED_MAX names; more, and every
 * target is checked). */
#define STORE_PRUNE_BATCH 500
#define STORE_IDLE_MS 1000
#define STORE_TOUCHED_MAX 1024
/* A target is checked once it took a sixteenth of history-max-rows
 * since its last check: finding where its bound falls is a walk of that
 * many index entries (10 to 50 ms for 100,000), not to be paid at every
 * idle second of a busy room. It may pass the bound by that much. */
#define STORE_PRUNE_SLACK(max_rows) ((max_rows) / 16 + 1)

/* The search index is written after the commit that releases an epoch,
 * in transactions of its own of the rows of at most STORE_FTS_BATCH
 * ids: a few words' segment written per batch rather than per commit.
 * It is
 * brought up to date when the writer has had no epoch for
 * STORE_FTS_IDLE_MS, when a search asks (it waits for it, at most
 * STORE_FTS_WAIT_MS), and at close; while epochs keep coming, not
 * before STORE_FTS_LAG_MAX rows wait (a burst is stored at the cost of
 * its rows alone, its words follow once it is over), and then a batch
 * between two commits, so the lag stays bounded and so does a search's
 * wait for it (a batch is some 20 ms of CPU, the bound some 0.3 s).
 * meta's 'fts_indexed' is the highest events.id whose words are in the
 * index; rows past it, after a crash, are indexed after the next
 * start. */
#define STORE_FTS_BATCH 4096
#define STORE_FTS_LAG_MAX 65536
#define STORE_FTS_IDLE_MS 200
#define STORE_FTS_WAIT_MS 5000
/* Its merges (sqlite_ftsmerge.c): FTS5 merges a level once it holds
 * STORE_FTS_MERGE_MIN segments (its usermerge), in steps of about
 * STORE_FTS_MERGE_PAGES leaf pages (4 KiB each), when the writer is
 * idle; a batch pays a step too once the index holds STORE_FTS_SEGS_MAX
 * segments (what a search looks at), and FTS5 merges a level of
 * STORE_FTS_CRISIS in one statement (its crisismerge, never reached
 * while the steps keep up). */
#define STORE_FTS_MERGE_MIN 16
#define STORE_FTS_MERGE_PAGES 64
#define STORE_FTS_SEGS_MAX 64
#define STORE_FTS_CRISIS 128

/* The room index, events_room (schema version 7), is written as the
 * search index is, before it (the search index takes only rows it
 * holds: never a replay's second row): batches of the rows of at most
 * STORE_ROOM_BATCH ids behind the commits, when the writer has had no
 * epoch for STORE_FTS_IDLE_MS, when a search waits, at close, and while
 * epochs keep coming once STORE_ROOM_LAG_MAX rows wait. Every query of a
 * room scans the rows past the mark (by rowid, every room's), so the
 * bound is the tail a query may scan: with 4,096 rows past it, a LATEST
 * 100 of a room that holds 1% of them takes some 0.8 ms, of one
 * that holds them all some 2 ms, against 0.3 with none (1,100,000 rows,
 * bench/results/2026-12-02-s10-roomidx.md). meta's
 * 'room_indexed' is the highest events.id whose row is in it;
 * STORE_ROOM_MARK reads it in a statement (the same snapshot as the rows
 * it reads). */
#define STORE_ROOM_BATCH 4096
#define STORE_ROOM_LAG_MAX 4096
#define STORE_ROOM_MARK "(SELECT value FROM meta WHERE key = 'room_indexed')"
/* The first target name after ?1: the room index's next, or a smaller
 * one of the rows past its mark. */
#define STORE_SQL_NEXT_TARGET \
    "SELECT t FROM (SELECT * FROM (SELECT target AS t FROM events_room WHERE target > ?1" \
    " ORDER BY target LIMIT 1) UNION ALL SELECT min(target) FROM events WHERE id > " \
    STORE_ROOM_MARK " AND target > ?1) WHERE t IS NOT NULL ORDER BY t LIMIT 1"

/* Whether a row's kind (the column col) is a message's
 * (STORE_KIND_IS_MESSAGE), in SQL: two comparisons, where an IN list of
 * three makes SQLite look each row up in a table it builds. */
#define STORE_SQL_IS_MESSAGE(col) "(" col " BETWEEN 1 AND 3)"
_Static_assert(SK_PRIVMSG == 1 && SK_ACTION == 2 && SK_NOTICE == 3,
    "STORE_SQL_IS_MESSAGE's range");

/* Events the writer stores with one INSERT (sqlite_writer.c), and the
 * columns of one. A statement per row cost as much again as the row's
 * own B-tree work (callgrind of store-bench). */
#define STORE_INSERT_ROWS 32
#define STORE_EVENT_COLUMNS 11

/* The checkpointer (sqlite_checkpoint.c) is woken each time the WAL has
 * grown by STORE_CKPT_FRAMES pages since it last was (16 MiB: the pages
 * a burst rewrites, an index leaf per room, are copied once per
 * checkpoint however many commits wrote them). A PASSIVE checkpoint
 * beside a writer that goes on committing is always a commit or two
 * behind, and the WAL starts again only after one that copied all of
 * it: past STORE_CKPT_WAL_MAX pages the writer runs one itself, between
 * two commits (the checkpointer has copied all but the last pages). */
#define STORE_CKPT_FRAMES 4000
#define STORE_CKPT_WAL_MAX (4 * STORE_CKPT_FRAMES)

/* The schema version this build writes (sqlite_schema.c). */
#define STORE_SCHEMA_VERSION 7

/* A target that took events since it was last checked against
 * history-max-rows, and how many. */
struct store_touched {
	UT_hash_handle hh;
	uint64_t added;
	char name[];
};

/* A read connection and its statements, checked out by one query at a
 * time (any thread; SQLite's connections may move between threads when
 * never used by two at once). */
struct store_reader {
	sqlite3 *db;
	sqlite3_stmt *range[2][2];   /* [descending][lower bound inclusive] */
	sqlite3_stmt *exists;        /* a msgid in a target */
	sqlite3_stmt *next_target;   /* the next target name after one */
	sqlite3_stmt *next_indexed;  /* the same, in the room index alone */
	sqlite3_stmt *tail_targets;  /* the names past its mark in a range */
	sqlite3_stmt *search;
	sqlite3_stmt *conversations; /* an account's private conversations */
	struct store_fts_words *words; /* a search's words split as the index's */
	int busy;
};

/* A read-write connection for the account calls (and whatever later
 * writes outside the history writer), checked out by one call at a
 * time. */
struct store_rw {
	sqlite3 *db;
	int busy;
};

/* The SQLite backend's store (store_backend.h: its head first). */
struct store {
	struct store_head head;      /* &store_sqlite */
	char dir[STORE_PATH_MAX];
	char db_path[STORE_PATH_MAX];
	int lock_fd;
	struct store_options opt;

	/* The pending batch, the epochs and the writer's counters; its lock
	 * guards the fields below too. */
	struct store_epochs q;

	/* Shared with the writer, under q.lock. */
	pthread_cond_t idle;         /* tests: the writer has no prune work left */
	uint64_t prune_batches;
	int64_t test_max_pages;      /* tests: PRAGMA max_page_count, 0: none */
	int prune_now;               /* tests: prune without waiting for idle */
	int64_t last_id;             /* the highest events.id committed */
	int64_t fts_done;            /* the writer's fts_hwm, for searches */
	int64_t fts_want;            /* a search waits for the index to reach it */
	int fts_failing;             /* the last index batch failed: nobody waits */
	pthread_cond_t fts_cond;     /* fts_done moved, or indexing failed */
	int test_fts_hold;           /* tests: index only when a search asks */
	int fts_merge_due;           /* the index changed since it was last merged */
	int test_fts_batch;          /* tests: ids a batch of the index, 0: as built */
	int test_fts_segs_max;       /* tests: STORE_FTS_SEGS_MAX's stand-in, 0: none */
	int test_room_hold;          /* tests: the room index too */

	/* The writer thread's own. */
	pthread_t writer;
	int writer_running;
	sqlite3 *wdb;
	sqlite3_stmt *w_insert_rows[STORE_INSERT_ROWS]; /* [n - 1]: n events, made when needed */
	int64_t *w_insert_kept[STORE_INSERT_ROWS]; /* [n - 1]: what its kept parameters hold */
	sqlite3_stmt *w_fts_batch, *w_fts_delete;
	sqlite3_stmt *w_find, *w_redact, *w_delete, *w_room_delete;
	sqlite3_stmt *w_unroomed, *w_room_insert, *w_room_copies, *w_room_mark;
	sqlite3_stmt *w_next_target, *w_cutoff, *w_prune_rows, *w_prune_age;
	sqlite3_stmt *w_conversation;
	sqlite3_stmt *w_fts_mark, *w_fts_merge, *w_fts_struct;
	sqlite3_stmt *w_top_id, *w_begin, *w_commit;
	int64_t max_id;              /* the highest events.id committed */
	int64_t w_top;               /* the highest in the transaction being written */
	int64_t fts_hwm;             /* every row up to it is in the search index */
	int fts_batch;               /* ids a batch of the index (STORE_FTS_BATCH) */
	int fts_segs_max;            /* a batch merges past them (STORE_FTS_SEGS_MAX) */
	int64_t room_hwm;            /* every row up to it is in events_room */
	uint64_t fts_idle_at;        /* monotonic ms: index then if no epoch came */
	uint64_t fts_retry_at;       /* after a failure, not before then */
	struct store_touched *touched;   /* uthash: targets to check for max_rows */
	int touched_all;             /* too many, or just opened: check all */
	char *prune_scan;            /* checking all: the last target checked */
	char *prune_target;          /* the target being pruned, down to: */
	char prune_cutoff[MSGID_LEN + 1];

	/* The checkpointer thread and its connection (sqlite_checkpoint.c). */
	pthread_mutex_t ck_lock;
	pthread_cond_t ck_wake;
	pthread_t ck_thread;
	int ck_running, ck_due, ck_stop;
	int ck_frames;               /* the WAL's pages when it was last woken
	                              * (the writer's: its WAL hook) */
	int w_ckpt;                  /* the writer checkpoints after this commit */
	uint64_t checkpoints;        /* run so far, under ck_lock */
	sqlite3 *ck_db;

	/* Read connections. */
	pthread_mutex_t rlock;
	pthread_cond_t rfree;
	struct store_reader *readers;
	unsigned nreaders;

	/* Read-write connections (sqlite_accounts.c), under rlock too. */
	pthread_cond_t rwfree;
	struct store_rw *rws;
	unsigned nrws;
};

/* store.h's calls, by the files that hold them (store_sqlite, the
 * table in sqlite.c, names them all). */
struct store *sqlite_open(const struct store_options *o, char *err, size_t errlen);
struct store *sqlite_open_admin(const struct store_options *o, char *err, size_t errlen);
void sqlite_close(struct store *s);
int sqlite_fd(const struct store *s);
void sqlite_stats(const struct store *s, struct store_stats *out);
int sqlite_append(struct store *s, const struct store_event *e);
int sqlite_redact(struct store *s, const char *target, const char *msgid);
int sqlite_room_save(struct store *s, const struct store_room *r);
int sqlite_room_forget(struct store *s, const char *name, uint64_t version);
int sqlite_pending(const struct store *s);
uint64_t sqlite_seal(struct store *s);
uint64_t sqlite_finished(struct store *s);
uint64_t sqlite_finished_peek(const struct store *s);
size_t sqlite_unfinished(const struct store *s);
uint64_t sqlite_epoch_now(const struct store *s);
void sqlite_wait_finished(struct store *s, uint64_t epoch, unsigned ms);
void sqlite_query(struct store *s, const struct store_query *q, struct store_result *out);
enum store_status sqlite_account_create(struct store *s, const struct store_account *a);
enum store_status sqlite_account_get(struct store *s, const char *name,
    struct store_account *out);
enum store_status sqlite_account_set_password(struct store *s, const struct store_account *a);
enum store_status sqlite_account_delete(struct store *s, const char *name);
enum store_status sqlite_account_names(struct store *s, char ***names, size_t *n);
enum store_status sqlite_accounts_serial(struct store *s, int64_t *out);
enum store_status sqlite_cert_add(struct store *s, const char *name, const char *fp);
enum store_status sqlite_cert_del(struct store *s, const char *name, const char *fp);
enum store_status sqlite_cert_find(struct store *s, const char *fp,
    char name[ACCOUNT_LEN_MAX + 1]);
enum store_status sqlite_cert_list(struct store *s, const char *name,
    char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1], size_t *n);
enum store_status sqlite_marker_get(struct store *s, const char *account,
    const char *target, int64_t *at_ms);
enum store_status sqlite_marker_set(struct store *s, const char *account,
    const char *target, int64_t at_ms, int64_t *now);
enum store_status sqlite_rooms_load(struct store *s, struct store_room **rooms, size_t *n);

/* sqlite_schema.c: brings db's schema to STORE_SCHEMA_VERSION. -1 with
 * a line in err when it is newer, or the database fails. */
int store_schema_migrate(sqlite3 *db, char *err, size_t errlen);

/* sqlite_fts.c: the search index's tokenizer ("parley"): each word is
 * the target's tag (STORE_FTS_TAG_LEN characters, 48 bits of a hash of
 * it; 16 hex digits up to schema version 5) and the word. */
#define STORE_FTS_TAG_LEN 8
#define STORE_FTS_SEP '\x1f'
void store_fts_tag(const char *target, char out[STORE_FTS_TAG_LEN + 1]);
/* Registers the tokenizer on db: every connection that reads or writes
 * the index needs it. And parley_phrases(text, phrases), a search's
 * check of its words that unicode61 splits (the index has no
 * positions): the phrases apart by STORE_FTS_PHRASE_SEP, each its words
 * apart by STORE_FTS_SEP, '*' first when its last word is a prefix. */
#define STORE_FTS_PHRASE_SEP '\x1e'
int store_fts_register(sqlite3 *db);
/* unicode61 as the index's words are made, for a search's words. */
struct store_fts_words;
struct store_fts_words *store_fts_words_new(sqlite3 *db);
void store_fts_words_free(struct store_fts_words *w);
/* The words of n bytes of text as the index holds them (folded, cut),
 * each given to fn with where it is in text, [start, end) (fn's return
 * not 0: stop, and -1). */
int store_fts_words_split(struct store_fts_words *w, const char *text, size_t n,
    int (*fn)(void *ctx, const char *word, size_t len, size_t start, size_t end),
    void *ctx);
/* "<tag>\x1f<text>", the indexed form of text said in target (malloc). */
char *store_fts_text(const char *target, const char *text);

/* sqlite_ftsmerge.c: when the search index merges its segments. The
 * options FTS5 keeps for it, set at the writer's start; the segments it
 * holds now (-1: unreadable), by a statement of STORE_SQL_FTS_STRUCT;
 * one merge step of about pages leaf pages, by one of
 * STORE_SQL_FTS_MERGE, 1 when it merged, 0 when nothing was due, -1 on
 * an error. */
#define STORE_SQL_FTS_STRUCT "SELECT block FROM events_fts_data WHERE id = 10"
#define STORE_SQL_FTS_MERGE "INSERT INTO events_fts (events_fts, rank) VALUES ('merge', ?1)"
int store_fts_merge_setup(sqlite3 *db);
int store_fts_segments(sqlite3_stmt *structure);
int store_fts_merge_step(sqlite3_stmt *merge, int pages);

/* sqlite_walbuf.c: the VFS every store connection opens its files with
 * (SQLite's default, but that a commit's WAL frames are written with one
 * call). Registered once, before the first connection; NULL when it
 * cannot be (the default VFS is used then). */
#define STORE_VFS_NAME "parley"
const char *store_vfs_register(void);

/* sqlite_db.c: opens path with flags and the settings every connection has. */
sqlite3 *store_db_open(const char *path, int flags, char *err, size_t errlen);
/* A connection's statements, prepared once for its life. */
struct store_stmt {
	const char *sql;
	sqlite3_stmt **st;
};
int store_stmts_prepare(sqlite3 *db, const struct store_stmt *list, size_t n);
void store_stmts_finalize(const struct store_stmt *list, size_t n);

/* sqlite_checkpoint.c: the WAL checkpointed on a thread of its own,
 * never inside the writer's COMMIT. Start after the writer's connection
 * is open; stop before it closes. */
int store_checkpointer_start(struct store *s, char *err, size_t errlen);
void store_checkpointer_stop(struct store *s);
/* In the writer's thread, after a commit (and after the loop heard of
 * it): the WAL copied whole when its hook asked, so that it starts again
 * at the next commit. */
void store_writer_checkpoint(struct store *s);

/* sqlite_writer.c */
int store_writer_start(struct store *s, char *err, size_t errlen);
void store_writer_stop(struct store *s);
void store_writer_close(struct store *s);
void store_pending_free(struct store *s);

/* sqlite_unlock.c: the writer's side of registered rooms (in its
 * transaction). */
int store_room_write(sqlite3 *db, const struct store_room *r);
int store_room_delete(sqlite3 *db, const char *name);
/* sqlite_rows.c: rows deleted with their index entries, by three
 * statements of the caller's connection made of these: the search
 * index told a row's text to remove it (contentless), the row, its room
 * index entry (target, msgid, id). */
#define STORE_SQL_FTS_DELETE \
    "INSERT INTO events_fts (events_fts, rowid, text) VALUES ('delete', ?1, ?2)"
#define STORE_SQL_ROW_DELETE "DELETE FROM events WHERE id = ?1"
#define STORE_SQL_ROOM_DELETE \
    "DELETE FROM events_room WHERE target = ?1 AND msgid = ?2 AND id = ?3"
struct store_rows_del {
	sqlite3_stmt *fts_delete, *row_delete, *room_delete;
	int64_t fts_hwm;             /* rows past it are not in the search index */
	int64_t room_hwm;            /* nor past this one in the room index */
};
/* The words of text said in target, row id, out of the search index. */
int store_fts_unindex(sqlite3_stmt *fts_delete, int64_t id, const char *target,
    const char *text);
/* The rows st finds (id, kind, text, target, msgid), at most
 * STORE_PRUNE_BATCH, read first, then deleted with their index entries,
 * in the caller's transaction; *deleted counts them. -1 when the
 * database fails. */
int store_rows_delete(const struct store_rows_del *d, sqlite3_stmt *st, uint64_t *deleted);

/* sqlite_forget.c: an account deleted (key: its folded name). Its
 * history first, in batches while the account is still there: list
 * takes the ids of its conversations' rows (both sides' and its
 * one-sided ones) in the room index into a temporary table (reading the
 * database, no write lock) and returns how many (-1: failed); each
 * batch deletes the next STORE_PRUNE_BATCH of them after *after (moved
 * on) in the caller's transaction (1 when more are left, 0 when none,
 * -1 when the database fails); done drops the table. Then the rest (the
 * rows past the room index's mark, those that came meanwhile), the
 * conversations, read markers, operator entries and founded rooms, in
 * the caller's transaction with the account's own row. */
int store_forget_history_list(sqlite3 *db, const char *key);
int store_forget_history_batch(sqlite3 *db, int64_t *after);
void store_forget_history_done(sqlite3 *db);
int store_unlock_forget_account(sqlite3 *db, const char *key);

/* sqlite_query.c */
int store_readers_init(struct store *s);
void store_readers_free(struct store *s);

/* sqlite_accounts.c: the read-write connections. take waits for one
 * (NULL when none can be opened); give hands it back. Any thread; one
 * call's transaction at a time on each. */
int store_rw_init(struct store *s, unsigned n);
void store_rw_free(struct store *s);
sqlite3 *store_rw_take(struct store *s);
void store_rw_give(struct store *s, sqlite3 *db);

/* sqlite_db.c (store_rw_row: sqlite_accounts.c): the one way the
 * account side (sqlite_accounts.c, sqlite_unlock.c, sqlite_forget.c)
 * runs a statement made on the spot.
 * Its parameters: ?1.. the texts (a NULL one left NULL), then the
 * numbers; as many of them as the statement has. */
#define STORE_PARAMS_TEXT_MAX 8
#define STORE_PARAMS_NUM_MAX 4
struct store_params {
	const char *text[STORE_PARAMS_TEXT_MAX];
	int ntext;
	int64_t num[STORE_PARAMS_NUM_MAX];
	int nnum;
};
/* sql prepared on db and bound to p (NULL: nothing bound); NULL when it
 * cannot be prepared. */
sqlite3_stmt *store_prepare(sqlite3 *db, const char *sql, const struct store_params *p);
/* sql, bound to p, stepped once: 0 when it is done, else -1. */
int store_exec_params(sqlite3 *db, const char *sql, const struct store_params *p);
/* A prepared statement of the caller's, stepped once, reset and its
 * parameters cleared: 0 when it was done, else -1. */
int store_step_done(sqlite3_stmt *st);
/* The first row of sql bound to p, on a read-write connection of s,
 * handed to row (out is row's): STORE_OK; STORE_NOT_FOUND when there is
 * no row; STORE_FAILED. */
typedef void store_row_fn(sqlite3_stmt *st, void *out);
enum store_status store_rw_row(struct store *s, const char *sql, const struct store_params *p,
    store_row_fn *row, void *out);

/* Tests: give the writer connection a page limit (a full disk) before
 * its next epoch; 0 takes it away. */
void store_test_max_pages(struct store *s, int64_t pages);
/* Tests: prune now instead of after STORE_IDLE_MS, and wait until no
 * prune work is left. Returns the batches run in all so far. */
uint64_t store_test_prune(struct store *s);
/* Tests: 1 keeps the writer from indexing but when a search asks (not
 * at close either), so rows can be redacted, pruned or left unindexed. */
void store_test_fts_hold(struct store *s, int hold);
/* Tests: rows a batch of the index and the segments past which a batch
 * merges (0: as built); and a wait until the idle writer has merged. */
void store_test_fts_policy(struct store *s, int batch, int segs_max);
void store_test_fts_merged(struct store *s);
/* Tests: 1 keeps the writer from writing the room index but when a
 * search asks (not at close either): rows stay past its mark, where
 * queries scan for them. */
void store_test_room_hold(struct store *s, int hold);
/* sqlite_query.c: a search waits until the search index holds every
 * row committed so far. */
void store_fts_wait(struct store *s);

#endif
