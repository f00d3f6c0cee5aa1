/* The storage interface: what the server keeps (history, accounts,
 * private messages, read markers and registered rooms), written once
 * above two backends behind these same calls (store.c dispatches through
 * store_backend.h's table): SQLite in the data-dir (sqlite*.c), the
 * embedded default, and PostgreSQL (pg_*.c) when store_options.database
 * names one, which several nodes can share.
 *
 * Threads. The loop appends events and seals them into epochs; one
 * writer thread, the store's own, commits each epoch in one transaction
 * (group commit) and tells the loop through store_fd. Queries run on the
 * worker pool's threads (base/worker.h), each on a read connection of
 * its own, and never on the loop. Below chat: the store knows no hub, no
 * msg, no conn; history.c turns hub events into store_events.
 *
 * Order. A msgid sorts as text in time order and is unique across nodes
 * (chat/msgid.h), so a target's events are ordered by msgid alone, and a
 * timestamp bound is the msgid of that millisecond (msgid_write(ms,0,0)). */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/histogram.h"
#include "base/limits.h"
#include "chat/msgid.h"

struct store;

/* Stable numbers: they are written to the database. */
enum store_kind {
	SK_PRIVMSG = 1,   /* text */
	SK_ACTION = 2,    /* text (CTCP ACTION / plain /me) */
	SK_NOTICE = 3,    /* text */
	SK_JOIN = 4,      /* extra: the account once accounts exist, else NULL */
	SK_PART = 5,      /* text: reason or NULL */
	SK_QUIT = 6,      /* text: reason (stored once per room the user was in) */
	SK_NICK = 7,      /* extra: the new nick (stored once per room) */
	SK_TOPIC = 8,     /* text: the new topic, NULL when cleared */
	SK_KICK = 9,      /* extra: who was kicked, text: reason */
	SK_MODE = 10,     /* text: the change, e.g. "+o-v bob carol" */
	SK_TAGMSG = 11,   /* nothing but tags */
};

/* A target: a room's folded name, or a private conversation's key,
 * "@" then the two accounts folded (ASCII), the lower first, a space
 * between (store_pair_target): no room name starts with '@', and no
 * account name holds a space. */
#define STORE_TARGET_MAX (2 * ACCOUNT_LEN_MAX + 2 > ROOM_LEN_MAX ? \
	2 * ACCOUNT_LEN_MAX + 2 : ROOM_LEN_MAX)
#define STORE_TARGET_IS_PAIR(t) ((t)[0] == '@')
/* The key of the conversation between accounts a and b (any case). */
void store_pair_target(const char *a, const char *b, char out[STORE_TARGET_MAX + 1]);
/* Of a pair's key, the account that is not me (folded), into out; -1
 * when target is no pair of me. */
int store_pair_peer(const char *target, const char *me, char out[ACCOUNT_LEN_MAX + 1]);
/* A one-sided conversation: a logged-in account's with a nickname that
 * was no account's (Ergo keeps those too). Its key is "@", the account
 * folded, '!', the nick folded: no account or nick holds a '!', and with
 * no space in it the writer notes it under no account (conversations);
 * TARGETS finds an account's by the prefix "@account!". Only a query
 * made with the asker's own account (door_hquery_private) names one, so
 * a later holder of the nick, logged in or not, never reads it. */
#define STORE_HALF_SEP '!'
void store_half_target(const char *account, const char *nick, char out[STORE_TARGET_MAX + 1]);
/* Of a one-sided key of me, the nick (folded), into out; -1 when target
 * is none of mine. */
int store_half_peer(const char *target, const char *me, char out[NICK_LEN_MAX + 1]);

/* Message-like kinds: what CHATHISTORY serves without event-playback,
 * what replay on join shows, and what SEARCH finds. */
#define STORE_KIND_IS_MESSAGE(k) ((k) == SK_PRIVMSG || (k) == SK_ACTION || (k) == SK_NOTICE)

/* One stored event. Strings may be NULL where the kind says so. */
struct store_event {
	char msgid[MSGID_LEN + 1];
	int64_t at_ms;           /* wall time, for server-time */
	enum store_kind kind;
	const char *target;      /* the folded room name ("#lobby"), or a
	                          * private conversation's key */
	const char *sender;      /* nick!ident@host as it was then */
	const char *account;     /* the sender's account, or NULL */
	const char *text;        /* '\n' between lines of a multiline message */
	const char *extra;       /* see store_kind; a private message's: the
	                          * recipient's nick as it was then */
	const char *tags;        /* the sender's client tags ("+a=b;+c"), or NULL */
	uint8_t bot;             /* the sender had bot mode */
	uint8_t redacted;        /* taken back (REDACT): text is NULL then */
};

struct store_options {
	const char *database;     /* NULL or "": SQLite in dir; "postgresql://...":
	                           * PostgreSQL at that libpq URL (dir unused) */
	const char *password_file; /* PostgreSQL: the password is its first line */
	const char *dir;          /* data-dir: created 0700 if missing */
	uint32_t max_age_days;    /* history-max-age; 0: forever */
	uint32_t max_rows;        /* history-max-rows per target; 0: no bound */
	unsigned readers;         /* read connections: one per worker thread */
};

/* Opens (creating or upgrading) the database: o->database's, or the one
 * in o->dir. NULL with one line for the operator in err when the
 * directory cannot be made or written, the database is locked by another
 * parleyd, corrupt, of a newer schema than this build knows, or (for
 * PostgreSQL) cannot be reached at start. Starts the writer thread. */
struct store *store_open(const struct store_options *o, char *err, size_t errlen);
/* Whether database (the option) names PostgreSQL: a libpq URL,
 * postgresql:// or postgres://. */
int store_database_is_pg(const char *database);
/* "sqlite" or "postgresql". */
const char *store_backend_name(const struct store *s);
/* Seals what is pending, waits for the writer to commit it, stops the
 * writer and closes every connection. */
void store_close(struct store *s);

/* ---- The write path (loop only) ---- */

/* Copies e into the pending batch (its strings too). -1 when the batch
 * is full (bounded: STORE_PENDING_MAX events): the event is not stored,
 * and counted (store_stats). */
int store_append(struct store *s, const struct store_event *e);
/* Marks msgid in target (folded, as stored) taken back: its text is
 * removed from the database (and the search index) by the writer, in
 * order with the appends around it. */
int store_redact(struct store *s, const char *target, const char *msgid);
/* Hands the pending batch to the writer as the next epoch and returns
 * its number (1, 2, ...; they only grow); 0 when nothing is pending. */
uint64_t store_seal(struct store *s);
/* Whether anything is pending (an event, a redaction, a room's save). */
int store_pending(const struct store *s);
/* Readable when the writer finished an epoch. */
int store_fd(const struct store *s);
/* Clears store_fd and returns the newest epoch finished: committed, or
 * dropped after a failure (disk full: logged once, counted, chat goes
 * on; a later commit that works is logged once too). Every epoch up to
 * it is finished: epochs finish in order. */
uint64_t store_finished(struct store *s);
/* The newest epoch finished as far as the writer has told, read with no
 * lock and no syscall, so that the loop can look often, in the middle of
 * its writes, whether store_finished has news (it still calls it to
 * hear of them). */
uint64_t store_finished_peek(const struct store *s);
/* The events (and other ops) appended and not yet finished, pending and
 * in flight, as the loop last heard (store_finished and a seal update
 * it): how far the writer is behind. */
size_t store_unfinished(const struct store *s);
/* The epoch that will hold every event appended so far (the loop's
 * thread): a query that must see them waits for it. */
uint64_t store_epoch_now(const struct store *s);
/* Any thread: until that epoch is finished (committed, or given up), the
 * store closes, or ms pass. */
void store_wait_finished(struct store *s, uint64_t epoch, unsigned ms);

/* SQLite's database, in the data-dir. */
#define STORE_SQLITE_FILE "parley.db"

#define STORE_PENDING_MAX 65536
/* Past this many unfinished (store_unfinished), the server takes no more
 * lines from clients (their lines wait, as under flood control) until
 * the writer is back under STORE_BEHIND_RESUME: a disk or database slower
 * than the chat slows the chat down, where it would have had the
 * receivers' output (which waits for the commit) push them past their
 * sendq, and past STORE_PENDING_MAX lost events from the history. */
#define STORE_BEHIND_MAX 4096
#define STORE_BEHIND_RESUME 1024

/* ---- The read path (worker threads only; never the loop) ---- */

enum store_query_kind {
	SQ_LATEST,    /* the newest limit events, after a (when set) */
	SQ_BEFORE,    /* the newest limit events before a */
	SQ_AFTER,     /* the oldest limit events after a */
	SQ_AROUND,    /* limit events around a: about half before, half after */
	SQ_BETWEEN,   /* limit events strictly between a and b, from a's side */
	SQ_TARGETS,   /* targets whose newest event is between a and b,
	               * ordered by it from a's side */
	SQ_SEARCH,    /* the newest limit messages whose text matches text,
	               * none older than a's time nor newer than b's (when
	               * set: SEARCH's after= and before=) */
};

/* The most distinct prefix words (ending in '*') a SEARCH holds (more:
 * nothing found), on either backend. FTS5 merges every word a prefix
 * starts in a term of its own: "p*" alone walks most of a big room's
 * postings (90 ms on 1,000,000 rows), and 110 of them in one line took
 * 13 s of a worker (bench/results/2026-12-02-s11-attack.md); PostgreSQL
 * reads every GIN entry a prefix starts, once a prefix. */
#define STORE_SEARCH_PREFIX_MAX 4

/* A point in a target's history: a msgid, or a time (msgid empty). */
struct store_ref {
	char msgid[MSGID_LEN + 1];
	int64_t at_ms;
	uint8_t set;            /* 0: none (LATEST's "*") */
	uint8_t bound;          /* msgid is a bound the target need not hold
	                         * (the server's "now"), not a reference */
};

struct store_query {
	enum store_query_kind kind;
	const char *target;      /* folded; NULL for SQ_TARGETS */
	struct store_ref a, b;
	uint32_t limit;
	uint8_t events;          /* every kind (event-playback), not only messages */
	const char *text;        /* SQ_SEARCH: the words looked for */
	const char *from;        /* SQ_SEARCH: only from this nick, or NULL */
	const char *const *targets; /* SQ_TARGETS / SQ_SEARCH without target:
	                          * the targets the asker may read */
	size_t ntargets;
	const char *account;     /* SQ_TARGETS: the asker's account (any case),
	                          * whose private conversations are added to
	                          * targets; NULL: none */
};

/* The answer: events oldest first (for SQ_TARGETS: one per target, its
 * newest message, target and at_ms set, from a's side: oldest first when
 * a is before b, newest first when after). A msgid reference the target does
 * not hold gives no events and not_found set. */
struct store_result {
	struct store_event *events;
	size_t n;
	uint8_t not_found;
	uint8_t failed;          /* the database failed: an error, not "none" */
};

/* Runs q on the calling worker thread's read connection. */
void store_query(struct store *s, const struct store_query *q, struct store_result *out);
void store_result_free(struct store_result *r);

/* ---- Upkeep ---- */

struct store_stats {
	uint64_t appended, committed, dropped;  /* events */
	uint64_t epochs, commits_failed;
	uint64_t pruned;
	uint64_t held;                   /* events held back now: the database is
	                                  * away (PostgreSQL; 0 for SQLite) */
	uint64_t lost;                   /* times the database went away */
	struct histogram commit_us;      /* each transaction's time, BEGIN to COMMIT */
	struct histogram commit_events;  /* events it wrote */
};
/* The loop's copy, updated when store_finished runs. */
void store_stats(const struct store *s, struct store_stats *out);

/* A consistent copy of the database at path (SQLite's online backup);
 * any thread, and a separate process (parleyd --backup) opening the
 * same data-dir. 0, or -1 with a line in err. */
int store_backup(const char *dir, const char *path, char *err, size_t errlen);

/* Gives dir (a data-dir) and the files the store keeps in it to uid and
 * gid, for a server that is to run as them (server/privdrop.h): made
 * 0700 when missing, chowned (the files without following a link)
 * when there. 0, or -1 with err saying which file could not be. */
int store_chown(const char *dir, unsigned uid, unsigned gid, char *err, size_t errlen);

/* ---- Accounts (issue 13; worker threads only, never the loop) ----
 *
 * Each call runs on the calling thread with a read-write connection of
 * its own, taken from a small pool (store_options.readers of them, opened
 * when first needed), and waits on SQLite's busy timeout for the history
 * writer's transaction. Names are looked up folded (name_fold); an
 * account keeps its name as registered. The store keeps what it is given:
 * the password's hash and the SCRAM credentials are made above it
 * (accounts/). Every write to the accounts bumps a counter kept in the
 * database (store_accounts_serial), so another process sees a change. */

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND,   /* no such account (certificate, ...) */
	STORE_EXISTS,      /* the name (certificate) is taken */
	STORE_FULL,        /* a bound is reached (STORE_CERTS_MAX) */
	STORE_FAILED,      /* the database failed: an error, not "no" */
};

/* The argon2id hash in libsodium's string form (crypto_pwhash_STRBYTES,
 * NUL included). */
#define STORE_PWHASH_MAX 128
/* SCRAM-SHA-256 (RFC 7677): the salt, and the keys (SHA-256 sized). */
#define STORE_SCRAM_SALT_MAX 32
#define STORE_SCRAM_KEY_LEN 32
/* A certificate fingerprint: SHA-256 as 64 lowercase hex digits. */
#define STORE_CERTFP_LEN 64
/* Certificates one account may hold. */
#define STORE_CERTS_MAX 8

struct store_account {
	char name[ACCOUNT_LEN_MAX + 1];   /* as registered */
	char pwhash[STORE_PWHASH_MAX];    /* "$argon2id$v=19$m=...", NUL-terminated */
	uint8_t scram_salt[STORE_SCRAM_SALT_MAX];
	uint8_t scram_salt_len;
	uint32_t scram_iter;
	uint8_t scram_stored_key[STORE_SCRAM_KEY_LEN];
	uint8_t scram_server_key[STORE_SCRAM_KEY_LEN];
	int64_t created_ms;               /* wall time it was registered */
};

/* Stores a new account (created_ms as given). STORE_EXISTS when the
 * name (folded) is taken. */
enum store_status store_account_create(struct store *s, const struct store_account *a);
/* The account named name (any case) into out. */
enum store_status store_account_get(struct store *s, const char *name,
    struct store_account *out);
/* Replaces the password's hash and SCRAM credentials of a->name (the
 * other fields are not read). */
enum store_status store_account_set_password(struct store *s, const struct store_account *a);
/* Deletes the account and everything kept for it (its certificates, and
 * whatever later tables keep by account). */
enum store_status store_account_delete(struct store *s, const char *name);
/* Every account's name as registered, in name order: *names (malloc'd
 * array of malloc'd strings; store_names_free) and *n. */
enum store_status store_account_names(struct store *s, char ***names, size_t *n);
void store_names_free(char **names, size_t n);
/* A counter every account write bumps (in its own transaction): the same
 * value means the same accounts. Any process's writes count. */
enum store_status store_accounts_serial(struct store *s, int64_t *out);

/* Certificate fingerprints (SASL EXTERNAL): fp is STORE_CERTFP_LEN
 * lowercase hex digits. add: STORE_EXISTS when any account has fp,
 * STORE_FULL past STORE_CERTS_MAX, STORE_NOT_FOUND without the account;
 * del: STORE_NOT_FOUND when the account does not have it. */
enum store_status store_cert_add(struct store *s, const char *name, const char *fp);
enum store_status store_cert_del(struct store *s, const char *name, const char *fp);
/* The account holding fp (its name as registered) into name. */
enum store_status store_cert_find(struct store *s, const char *fp,
    char name[ACCOUNT_LEN_MAX + 1]);
/* The account's fingerprints (at most STORE_CERTS_MAX) into fps; *n. */
enum store_status store_cert_list(struct store *s, const char *name,
    char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1], size_t *n);

/* ---- What accounts unlock (issue 13) ----
 *
 * Private conversations are events like a room's, under a pair's key
 * (store_pair_target); the writer notes each pair for both accounts, so
 * that SQ_TARGETS finds an account's conversations by index. */

/* Read markers (IRCv3 draft/read-marker): per account and target (a
 * room's folded name, or a nick folded), a time that only moves forward.
 * Worker threads only, on a read-write connection. */
/* get: STORE_NOT_FOUND when none is set. */
enum store_status store_marker_get(struct store *s, const char *account,
    const char *target, int64_t *at_ms);
/* Sets the marker to at_ms unless it is later already; *now is the
 * marker after (at_ms or the later one). */
enum store_status store_marker_set(struct store *s, const char *account,
    const char *target, int64_t at_ms, int64_t *now);

/* A registered room as kept: what the hub restores at start. The modes
 * are letters ("imnst"), masks of the +b, +e and +I lists by letter. */
struct store_room_mask {
	char letter;             /* 'b', 'e' or 'I' */
	char *mask;
	char *by;                /* nick of who set it */
	int64_t at;              /* seconds */
};
struct store_room {
	char *name;              /* as spelled */
	char *founder;           /* the founder's account, as registered */
	char *topic, *topic_by;  /* NULL when none */
	int64_t topic_at, created;  /* seconds */
	char *modes;             /* "nt" */
	char *password;          /* +k, or NULL */
	uint32_t limit;          /* +l, 0 for none */
	struct store_room_mask *masks;
	size_t nmasks;
	char **ops;              /* accounts given operator status */
	size_t nops;
	uint64_t version;        /* the state's newest change (hub_room_stamp):
	                          * PostgreSQL keeps a save or a forget only
	                          * over an older one; SQLite keeps none (0) */
};
/* The loop: saves r (a copy) whole, replacing what was kept of the room
 * of that name, or forgets the room called name (its state at version);
 * by the history writer, in order with the events around it (the same
 * epochs, the same durability gate). -1 when the pending batch is full. */
int store_room_save(struct store *s, const struct store_room *r);
int store_room_forget(struct store *s, const char *name, uint64_t version);
/* Worker threads: every registered room, into *rooms (store_rooms_free). */
enum store_status store_rooms_load(struct store *s, struct store_room **rooms, size_t *n);
void store_rooms_free(struct store_room *rooms, size_t n);
/* A deep copy of r into out (0), or -1 out of memory (out is then
 * freed). */
int store_room_copy(struct store_room *out, const struct store_room *r);
void store_room_clear(struct store_room *r);

/* The store for a program beside the server (parleyd account ...): opens
 * (creating and upgrading) the database (o->database's, or the one in
 * o->dir) without the server's lock and without a writer thread, so it
 * works while a server runs; only the account calls above (on the calling
 * thread) and store_close. NULL with a line in err. */
struct store *store_open_admin(const struct store_options *o, char *err, size_t errlen);

/* parleyd migrate: the SQLite database in dir (a data-dir; brought to
 * this build's schema first) copied into the PostgreSQL database at url,
 * which must hold no history, account or room yet: every table's rows,
 * in one transaction. counts[i] rows of the table names[i]. 0, or -1
 * with a line in err. */
#define STORE_MIGRATE_TABLES 8
int store_migrate(const char *dir, const char *url, size_t counts[STORE_MIGRATE_TABLES],
    const char *names[STORE_MIGRATE_TABLES], char *err, size_t errlen);

#endif
