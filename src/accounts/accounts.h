/* The accounts service (issue 13): what the doors call, on the loop, to
 * register an account, log in (a password, SCRAM-SHA-256, a certificate),
 * change a password, manage certificates and drop an account. Each call
 * checks what it can at once (names, lengths, throttling), then runs its
 * slow part (the KDF, the database) on the worker pool and calls the
 * door's done on the loop with the result. Nothing slow runs on the loop.
 *
 * Every attempt takes the same time whether the account exists or not:
 * an unknown name is verified against a dummy hash (kdf.h), and SCRAM
 * answers an unknown name with a salt made from it, failing at the proof.
 * Failed logins are throttled per account and per address (throttle.h).
 * Nothing here logs a password, a hash input or a SASL payload.
 *
 * The service keeps the hub's registry of registered names (hub.h) true:
 * loaded at start, changed when an account is registered or dropped, and
 * synced when another process (the admin command line) changed the
 * database (accounts_sync, from the server's sweep). Logging a user in
 * (hub_account) is the door's, in its done: the door knows its user. */
#ifndef PARLEY_ACCOUNTS_H
#define PARLEY_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

struct accounts;
struct account_scram;
struct hub;
struct store;
struct worker_pool;

/* A password's length in bytes (any bytes but NUL; a door may refuse
 * spaces it cannot carry). */
#define ACCOUNT_PASSWORD_MIN 6
#define ACCOUNT_PASSWORD_MAX 1024
/* The slow jobs (hashing, the database) in flight at once, all doors
 * together: past it, ACCOUNT_BUSY. Each argon2id hash holds
 * KDF_MEMLIMIT bytes while it runs (kdf.h), on a worker thread. */
#define ACCOUNTS_JOBS_MAX 64

enum account_status {
	ACCOUNT_OK = 0,
	ACCOUNT_PENDING,          /* the answer comes later, through done */
	ACCOUNT_BAD_CREDENTIALS,  /* unknown account or wrong password (or
	                           * certificate, or proof): one answer for all */
	ACCOUNT_THROTTLED,        /* too many failures lately, for this account
	                           * or address: refused without checking */
	ACCOUNT_EXISTS,           /* register: the name is taken; cert add: the
	                           * certificate is some account's */
	ACCOUNT_NOT_FOUND,        /* a call about an account that is not (any
	                           * more); cert del: the account lacks it */
	ACCOUNT_BAD_NAME,         /* not a name an account may have */
	ACCOUNT_BAD_PASSWORD,     /* a new password too short or too long */
	ACCOUNT_BAD_MESSAGE,      /* SCRAM: a message that does not parse */
	ACCOUNT_FULL,             /* cert add: STORE_CERTS_MAX already */
	ACCOUNT_BUSY,             /* ACCOUNTS_JOBS_MAX in flight: try later */
	ACCOUNT_FAILED,           /* the database or the KDF failed */
	ACCOUNT_OFF,              /* no database: accounts are not available */
};

/* A short text for st ("wrong password or unknown account"), for a
 * door's error lines. */
const char *account_status_text(enum account_status st);

/* 1 when name may be an account's (a valid nickname of at most
 * nick_len bytes, not a service's); 1 when password is of a length
 * allowed. The calls check these themselves; the admin command line
 * and a door that wants to say more use them. */
int account_name_ok(const char *name, size_t nick_len);
int account_password_ok(const char *password);

/* What done is given; valid during the call only. */
struct account_result {
	enum account_status status;  /* never ACCOUNT_PENDING */
	const char *account;         /* the account as registered (register,
	                              * the logins, info), else NULL */
	const char *data;            /* SCRAM: the server's next message
	                              * (server-first, or server-final on
	                              * success); cert list: the fingerprints,
	                              * a space between ("" for none); else
	                              * NULL */
	size_t len;
	int64_t created_ms;          /* info: when it was registered */
};

/* Runs on the loop. ctx is the caller's and must stay valid until done
 * runs (an IRC door's refcounted reply; see docs/architecture.md). */
typedef void account_done_fn(void *ctx, const struct account_result *r);

/* The service over store (NULL: every call answers ACCOUNT_OFF) and the
 * pool its slow work runs on. Starts loading the registry into hub. NULL
 * when out of memory. */
struct accounts *accounts_new(struct hub *hub, struct store *store, struct worker_pool *pool);
/* After the worker pool is freed (every job's done has run). */
void accounts_free(struct accounts *a);
/* Reloads hub's registry if another process changed the accounts (a
 * job: a counter read; the names only when it moved). From a sweep. */
void accounts_sync(struct accounts *a);

/* Logins (a password, SCRAM-SHA-256, a certificate) and how they ended,
 * counted on the loop, for the metrics. */
struct accounts_stats {
	uint64_t login_ok;
	uint64_t login_failed;     /* wrong credentials, or no such account */
	uint64_t login_throttled;  /* refused unchecked (throttle.h) */
	uint64_t login_error;      /* the database or the KDF failed, busy */
};
/* Zeros when a is NULL. */
void accounts_stats(const struct accounts *a, struct accounts_stats *out);

/* Each call below returns ACCOUNT_PENDING and calls done(ctx, result)
 * later on the loop, or returns another status at once and never calls
 * done. addr is the client's address (throttling). */

/* A new account name (a free, valid nickname) with password. On
 * success the name is registered in the hub at once; the caller logs its
 * user in if it wants. */
enum account_status accounts_register(struct accounts *a, const char *name,
    const char *password, const char *addr, account_done_fn *done, void *ctx);
/* Checks name's password (SASL PLAIN, NickServ IDENTIFY, /login). */
enum account_status accounts_login(struct accounts *a, const char *name,
    const char *password, const char *addr, account_done_fn *done, void *ctx);
/* The account holding the certificate whose SHA-256 fingerprint is fp
 * (64 hex digits; SASL EXTERNAL). */
enum account_status accounts_login_cert(struct accounts *a, const char *fp,
    const char *addr, account_done_fn *done, void *ctx);
/* Changes name's password to new_password, after checking old_password
 * (throttled as a login), or without checking when old_password is NULL
 * (the caller is logged in as name, or an administrator). */
enum account_status accounts_passwd(struct accounts *a, const char *name,
    const char *old_password, const char *new_password, const char *addr,
    account_done_fn *done, void *ctx);
/* Deletes name and all that is kept for it, after checking password as
 * accounts_passwd does (NULL: unchecked). On success the name leaves the
 * hub's registry at once, and whoever is logged in as it is logged out. */
enum account_status accounts_drop(struct accounts *a, const char *name,
    const char *password, const char *addr, account_done_fn *done, void *ctx);
/* Adds or removes a certificate fingerprint (64 hex digits, any case) of
 * name, whom the caller is logged in as. */
enum account_status accounts_cert_add(struct accounts *a, const char *name,
    const char *fp, account_done_fn *done, void *ctx);
enum account_status accounts_cert_del(struct accounts *a, const char *name,
    const char *fp, account_done_fn *done, void *ctx);
/* name's certificate fingerprints (result's data), whom the caller is
 * logged in as. */
enum account_status accounts_cert_list(struct accounts *a, const char *name,
    account_done_fn *done, void *ctx);
/* Whether name is an account: result's account and created_ms (NickServ
 * INFO). ACCOUNT_NOT_FOUND when not. */
enum account_status accounts_info(struct accounts *a, const char *name,
    account_done_fn *done, void *ctx);

/* SCRAM-SHA-256 (RFC 5802, 7677), the server's side over two steps. The
 * door holds the exchange between them and frees it when done with it
 * (at any time: a step in flight keeps what it needs). */

/* client_first is the client's first message (decoded from base64;
 * "n,,n=user,r=nonce"); on success result's data is the server-first
 * message to send, and *x (set whenever ACCOUNT_PENDING is returned) is
 * the exchange. An unknown user gets a server-first as any other and
 * fails at the proof. */
enum account_status accounts_scram_first(struct accounts *a, struct account_scram **x,
    const char *client_first, size_t len, const char *addr, account_done_fn *done,
    void *ctx);
/* client_final is the client's final message ("c=biws,r=...,p=..."); on
 * success result's account is who logged in and data the server-final
 * message ("v=..."). BAD_CREDENTIALS when the proof is wrong. */
enum account_status accounts_scram_final(struct accounts *a, struct account_scram *x,
    const char *client_final, size_t len, account_done_fn *done, void *ctx);
void accounts_scram_free(struct account_scram *x);

#endif
