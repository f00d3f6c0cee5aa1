/* One storage interface, two backends (store.h's calls, through a table).
 *
 * Every backend's store begins with a struct store_head naming its table,
 * so store.c (the dispatch) finds the table of any store without knowing
 * the backend: SQLite's struct store (sqlite_int.h) and PostgreSQL's
 * struct pg_store (pg_int.h) each hold one as their first member, as a
 * struct sockaddr_in begins with what a struct sockaddr has. Which backend
 * a store is comes from store_options.database at store_open: none (or
 * empty), SQLite in the data-dir; "postgresql://..." (or "postgres://"),
 * PostgreSQL. Everything above (history, CHATHISTORY, search, accounts,
 * read markers, registered rooms) calls store.h and is written once.
 *
 * Each entry has store.h's contract of the call of that name, threads
 * included. Only backends include this file. */
#ifndef PARLEY_STORE_BACKEND_H
#define PARLEY_STORE_BACKEND_H

#include "store/store.h"

struct store_backend {
	const char *name;        /* "sqlite", "postgresql": for the log */
	struct store *(*open)(const struct store_options *o, char *err, size_t errlen);
	struct store *(*open_admin)(const struct store_options *o, char *err, size_t errlen);
	void (*close)(struct store *s);

	int (*append)(struct store *s, const struct store_event *e);
	int (*redact)(struct store *s, const char *target, const char *msgid);
	int (*room_save)(struct store *s, const struct store_room *r);
	int (*room_forget)(struct store *s, const char *name, uint64_t version);
	uint64_t (*seal)(struct store *s);
	int (*pending)(const struct store *s);
	int (*fd)(const struct store *s);
	uint64_t (*finished)(struct store *s);
	uint64_t (*finished_peek)(const struct store *s);
	size_t (*unfinished)(const struct store *s);
	uint64_t (*epoch_now)(const struct store *s);
	void (*wait_finished)(struct store *s, uint64_t epoch, unsigned ms);
	void (*stats)(const struct store *s, struct store_stats *out);

	void (*query)(struct store *s, const struct store_query *q, struct store_result *out);

	enum store_status (*account_create)(struct store *s, const struct store_account *a);
	enum store_status (*account_get)(struct store *s, const char *name,
	    struct store_account *out);
	enum store_status (*account_set_password)(struct store *s, const struct store_account *a);
	enum store_status (*account_delete)(struct store *s, const char *name);
	enum store_status (*account_names)(struct store *s, char ***names, size_t *n);
	enum store_status (*accounts_serial)(struct store *s, int64_t *out);
	enum store_status (*cert_add)(struct store *s, const char *name, const char *fp);
	enum store_status (*cert_del)(struct store *s, const char *name, const char *fp);
	enum store_status (*cert_find)(struct store *s, const char *fp,
	    char name[ACCOUNT_LEN_MAX + 1]);
	enum store_status (*cert_list)(struct store *s, const char *name,
	    char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1], size_t *n);
	enum store_status (*marker_get)(struct store *s, const char *account,
	    const char *target, int64_t *at_ms);
	enum store_status (*marker_set)(struct store *s, const char *account,
	    const char *target, int64_t at_ms, int64_t *now);
	enum store_status (*rooms_load)(struct store *s, struct store_room **rooms, size_t *n);
};

/* The first member of every backend's store. */
struct store_head {
	const struct store_backend *ops;
};

extern const struct store_backend store_sqlite;
extern const struct store_backend store_pg;


/* A store_result's events: each event's strings are one malloc'd block
 * starting at its target (the backends make them so; store_result_free
 * frees them). */
void store_event_free(struct store_event *e);

/* in folded to ASCII lower case into out (cap bytes, cut to fit). */
void store_fold(char *out, const char *in, size_t cap);
/* The two accounts of a private conversation's target ("@a b"): a
 * copied, *b pointing into target. -1 when it is not two accounts. */
int store_pair_accounts(const char *target, char a[ACCOUNT_LEN_MAX + 1], const char **b);
/* A copy of s (NULL stays NULL); *failed set when memory fails. */
char *store_dup(const char *s, int *failed);

#endif
