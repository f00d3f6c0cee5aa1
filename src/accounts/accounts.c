/* The accounts service: each call checks at once what it can (the name,
 * the password's length, throttling, the jobs in flight), then hands a
 * job to the worker pool: the KDF and the database run there, on the
 * job's own copies, and the job's done runs on the loop, where the hub's
 * registry and the throttle tables are changed and the door is told.
 *
 * The throttle is charged when an attempt starts and refunded when it
 * succeeds, so attempts in flight count: a thousand guesses sent at once
 * get the first few checked and the rest refused. */
#include "accounts/accounts.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts/credentials.h"
#include "accounts/kdf.h"
#include "accounts/scram.h"
#include "accounts/throttle.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/worker.h"
#include "chat/hub.h"
#include "chat/names.h"
#include "store/store.h"

/* A SASL username may be longer than an account name (then it is no
 * account's); the throttle keys it by its first THROTTLE_KEY_MAX bytes. */
#define ADDR_MAX 63

struct accounts {
	struct hub *hub;
	struct store *store;          /* NULL: every call is ACCOUNT_OFF */
	struct worker_pool *pool;
	struct throttle *by_account;  /* failures per folded account name */
	struct throttle *by_addr;     /* failures per client address */
	unsigned jobs;                /* in flight (ACCOUNTS_JOBS_MAX) */
	int64_t serial;               /* store_accounts_serial last loaded */
	int syncing;                  /* a sync job is in flight */
	struct accounts_stats stats;
	/* Keys an unknown SCRAM user's salt (the same salt each time, as a
	 * real account's is), so a salt says nothing of who exists. */
	uint8_t secret[crypto_auth_hmacsha256_KEYBYTES];
};

struct account_scram {
	unsigned refs;                /* the door's, and a job's in flight */
	int busy;                     /* a step is in flight */
	struct scram s;
	char account[ACCOUNT_LEN_MAX + 1]; /* who the user is; "" unknown */
	uint8_t stored_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];
	char key[THROTTLE_KEY_MAX + 1];    /* the throttle's key for the user */
	char addr[ADDR_MAX + 1];
	char out[SCRAM_SERVER_MSG_MAX + 1];
};

enum job_kind {
	J_WARM,        /* makes the dummy hash before the first login needs it */
	J_REGISTER, J_LOGIN, J_LOGIN_CERT, J_PASSWD, J_DROP, J_CERT_ADD, J_CERT_DEL,
	J_CERT_LIST, J_INFO, J_SCRAM_FIRST, J_SCRAM_FINAL, J_SYNC,
};

/* One call's work: what the worker needs (copies, nothing the loop
 * owns), and what it found. */
struct job {
	struct accounts *a;           /* the loop's: the worker reads store only */
	struct store *store;
	enum job_kind kind;
	account_done_fn *done;
	void *ctx;
	char name[ACCOUNT_LEN_MAX + 1];
	char key[THROTTLE_KEY_MAX + 1];    /* throttle key of the name, "" for none */
	char addr[ADDR_MAX + 1];
	char *password;               /* the password checked, or NULL */
	char *new_password;           /* the password set (register, passwd) */
	char fp[STORE_CERTFP_LEN + 1];
	struct account_scram *x;
	char *msg;                    /* SCRAM: the client's message */
	size_t len;
	uint8_t secret[crypto_auth_hmacsha256_KEYBYTES];
	int64_t serial;               /* J_SYNC: known before, found after */
	/* What the worker found. */
	enum account_status status;
	char account[ACCOUNT_LEN_MAX + 1];
	int64_t created_ms;
	char **names;
	size_t nnames;
	int names_loaded;
	/* J_CERT_LIST: the fingerprints, a space between. */
	char fps[STORE_CERTS_MAX * (STORE_CERTFP_LEN + 1)];
};

const char *
account_status_text(enum account_status st)
{
	switch (st) {
	case ACCOUNT_OK: return "done";
	case ACCOUNT_PENDING: return "in progress";
	case ACCOUNT_BAD_CREDENTIALS: return "wrong password or unknown account";
	case ACCOUNT_THROTTLED: return "too many failed attempts; wait a minute";
	case ACCOUNT_EXISTS: return "already registered";
	case ACCOUNT_NOT_FOUND: return "no such account";
	case ACCOUNT_BAD_NAME: return "not a name an account may have";
	case ACCOUNT_BAD_PASSWORD: return "a password is 6 to 1,024 bytes";
	case ACCOUNT_BAD_MESSAGE: return "malformed message";
	case ACCOUNT_FULL: return "too many certificates";
	case ACCOUNT_BUSY: return "the server is busy; try again in a moment";
	case ACCOUNT_FAILED: return "the account database cannot be read now; try again later";
	case ACCOUNT_OFF: return "this server keeps no accounts";
	}
	return "?";
}

/* ---- The service ---- */

static enum account_status
of_store(enum store_status st)
{
	switch (st) {
	case STORE_OK: return ACCOUNT_OK;
	case STORE_NOT_FOUND: return ACCOUNT_NOT_FOUND;
	case STORE_EXISTS: return ACCOUNT_EXISTS;
	case STORE_FULL: return ACCOUNT_FULL;
	case STORE_FAILED: return ACCOUNT_FAILED;
	}
	return ACCOUNT_FAILED;
}

static struct job *job_new(struct accounts *a, enum job_kind kind, account_done_fn *done,
    void *ctx);
static enum account_status job_submit(struct accounts *a, struct job *j);

struct accounts *
accounts_new(struct hub *hub, struct store *store, struct worker_pool *pool)
{
	if (kdf_init() != 0)
		return NULL;
	struct accounts *a = calloc(1, sizeof *a);
	if (a == NULL)
		return NULL;
	a->hub = hub;
	a->store = store;
	a->pool = pool;
	a->by_account = throttle_new(THROTTLE_ENTRIES, THROTTLE_ACCOUNT_BURST,
	    THROTTLE_ACCOUNT_FORGIVE_MS);
	a->by_addr = throttle_new(THROTTLE_ENTRIES, THROTTLE_ADDR_BURST, THROTTLE_ADDR_FORGIVE_MS);
	if (a->by_account == NULL || a->by_addr == NULL) {
		accounts_free(a);
		return NULL;
	}
	randombytes_buf(a->secret, sizeof a->secret);
	a->serial = -1;
	/* The registry is whole before the first client comes, so no nick
	 * is taken from its owner meanwhile: read here, at start, before the
	 * loop runs (the one database read not on a worker). */
	if (store != NULL) {
		char **names = NULL;
		size_t n = 0;
		int64_t serial = -1;
		if (store_accounts_serial(store, &serial) != STORE_OK ||
		    store_account_names(store, &names, &n) != STORE_OK ||
		    hub_account_sync(hub, (const char *const *)names, n) != 0) {
			store_names_free(names, n);
			accounts_free(a);
			return NULL;
		}
		store_names_free(names, n);
		a->serial = serial;
		/* The dummy hash ready now, on a worker (made, should the
		 * built-in one not fit), so that the first unknown name costs
		 * no more than any other. */
		struct job *j = job_new(a, J_WARM, NULL, NULL);
		if (j != NULL)
			(void)job_submit(a, j);
	}
	return a;
}

void
accounts_free(struct accounts *a)
{
	if (a == NULL)
		return;
	throttle_free(a->by_account);
	throttle_free(a->by_addr);
	sodium_memzero(a->secret, sizeof a->secret);
	free(a);
}

static char *
secret_dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static void
job_free(struct job *j)
{
	secret_free(j->password);
	secret_free(j->new_password);
	if (j->msg != NULL) {
		sodium_memzero(j->msg, j->len);
		free(j->msg);
	}
	store_names_free(j->names, j->nnames);
	sodium_memzero(j, sizeof *j);
	free(j);
}

static struct job *
job_new(struct accounts *a, enum job_kind kind, account_done_fn *done, void *ctx)
{
	struct job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return NULL;
	j->a = a;
	j->store = a->store;
	j->kind = kind;
	j->done = done;
	j->ctx = ctx;
	return j;
}

static void job_work(void *arg);
static void job_done(void *arg, int cancelled);

/* Hands j to the pool: ACCOUNT_PENDING, or why not (j freed then). */
static enum account_status
job_submit(struct accounts *a, struct job *j)
{
	if (a->jobs >= ACCOUNTS_JOBS_MAX || worker_submit(a->pool, job_work, job_done, j) != 0) {
		job_free(j);
		return ACCOUNT_BUSY;
	}
	a->jobs++;
	return ACCOUNT_PENDING;
}

/* The throttle's key for a name: folded, cut to the key's size. */
static void
name_key(const char *name, char key[THROTTLE_KEY_MAX + 1])
{
	char cut[THROTTLE_KEY_MAX + 1];
	size_t n = strnlen(name, THROTTLE_KEY_MAX);
	memcpy(cut, name, n);
	cut[n] = '\0';
	name_fold(key, cut);
}

/* Whether name (key) and addr may try now; if so the attempt is charged
 * to both. */
static int
throttle_take(struct accounts *a, const char *key, const char *addr)
{
	int64_t now = clock_now_ms();
	if (!throttle_allowed(a->by_account, key, now) || !throttle_allowed(a->by_addr, addr, now))
		return 0;
	throttle_fail(a->by_account, key, now);
	throttle_fail(a->by_addr, addr, now);
	return 1;
}

/* A success: the account's failures are forgotten, the address's charge
 * for this attempt taken back. */
static void
throttle_success(struct accounts *a, const char *key, const char *addr)
{
	throttle_clear(a->by_account, key);
	throttle_refund(a->by_addr, addr, clock_now_ms());
}

int
account_name_ok(const char *name, size_t nick_len)
{
	return name_nick_valid(name, nick_len ? nick_len : NICK_LEN_MAX) &&
	    !name_nick_reserved(name);
}

int
account_password_ok(const char *pw)
{
	size_t n = pw != NULL ? strlen(pw) : 0;
	return n >= ACCOUNT_PASSWORD_MIN && n <= ACCOUNT_PASSWORD_MAX;
}

/* ---- On a worker: the KDF and the database ---- */

/* The credentials of password into acc (its name already set). */
static enum account_status
credentials(const char *password, struct store_account *acc)
{
	return account_credentials(password, acc) == 0 ? ACCOUNT_OK : ACCOUNT_FAILED;
}

/* Checks password against name's hash into acc; an unknown name costs
 * the same (a dummy hash) and answers the same. */
static enum account_status
check_password(struct store *s, const char *name, const char *password,
    struct store_account *acc)
{
	size_t len = strlen(password);
	enum store_status st = store_account_get(s, name, acc);
	if (st != STORE_OK) {
		kdf_verify_dummy(password, len);
		return st == STORE_NOT_FOUND ? ACCOUNT_BAD_CREDENTIALS : ACCOUNT_FAILED;
	}
	if (!kdf_verify(acc->pwhash, password, len))
		return ACCOUNT_BAD_CREDENTIALS;
	/* Made with other parameters: made again with these, while the
	 * password is at hand. A failure here is no failure to log in. */
	if (kdf_needs_rehash(acc->pwhash) && credentials(password, acc) == ACCOUNT_OK)
		(void)store_account_set_password(s, acc);
	return ACCOUNT_OK;
}

static void
work_register(struct job *j)
{
	struct store_account acc = { 0 };
	snprintf(acc.name, sizeof acc.name, "%s", j->name);
	acc.created_ms = clock_now_ms();
	j->status = credentials(j->new_password, &acc);
	if (j->status == ACCOUNT_OK)
		j->status = of_store(store_account_create(j->store, &acc));
	if (j->status == ACCOUNT_OK)
		snprintf(j->account, sizeof j->account, "%s", acc.name);
	sodium_memzero(&acc, sizeof acc);
}

static void
work_login(struct job *j)
{
	struct store_account acc;
	j->status = check_password(j->store, j->name, j->password, &acc);
	if (j->status == ACCOUNT_OK)
		snprintf(j->account, sizeof j->account, "%s", acc.name);
	sodium_memzero(&acc, sizeof acc);
}

/* passwd and drop: the old password checked first when given. */
static void
work_change(struct job *j)
{
	struct store_account acc = { 0 };
	if (j->password != NULL) {
		j->status = check_password(j->store, j->name, j->password, &acc);
	} else {
		j->status = of_store(store_account_get(j->store, j->name, &acc));
	}
	if (j->status == ACCOUNT_OK) {
		snprintf(j->account, sizeof j->account, "%s", acc.name);
		if (j->kind == J_DROP) {
			j->status = of_store(store_account_delete(j->store, acc.name));
		} else {
			j->status = credentials(j->new_password, &acc);
			if (j->status == ACCOUNT_OK)
				j->status = of_store(store_account_set_password(j->store, &acc));
		}
	}
	sodium_memzero(&acc, sizeof acc);
}

static void
work_scram_first(struct job *j)
{
	struct account_scram *x = j->x;
	struct store_account acc;
	enum store_status st = store_account_get(j->store, x->s.user, &acc);
	uint8_t salt[STORE_SCRAM_SALT_MAX];
	size_t salt_len = SCRAM_SALT_LEN;
	uint32_t iter = SCRAM_ITERATIONS;
	if (st == STORE_OK) {
		snprintf(x->account, sizeof x->account, "%s", acc.name);
		memcpy(salt, acc.scram_salt, acc.scram_salt_len);
		salt_len = acc.scram_salt_len;
		iter = acc.scram_iter;
		memcpy(x->stored_key, acc.scram_stored_key, SCRAM_KEY_LEN);
		memcpy(x->server_key, acc.scram_server_key, SCRAM_KEY_LEN);
	} else if (st == STORE_NOT_FOUND) {
		/* As if it existed: its own salt every time, keys nobody has. */
		uint8_t mac[crypto_auth_hmacsha256_BYTES];
		crypto_auth_hmacsha256(mac, (const unsigned char *)j->key, strlen(j->key),
		    j->secret);
		memcpy(salt, mac, SCRAM_SALT_LEN);
		randombytes_buf(x->stored_key, SCRAM_KEY_LEN);
		randombytes_buf(x->server_key, SCRAM_KEY_LEN);
		x->account[0] = '\0';
	} else {
		j->status = ACCOUNT_FAILED;
		return;
	}
	sodium_memzero(&acc, sizeof acc);
	/* 18 random bytes are 24 characters of base64, with no padding. */
	uint8_t raw[18];
	char nonce[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(nonce, sizeof nonce, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
	j->status = scram_server_first(&x->s, salt, salt_len, iter, nonce) == SCRAM_OK
	    ? ACCOUNT_OK : ACCOUNT_BAD_MESSAGE;
}

static void
work_scram_final(struct job *j)
{
	struct account_scram *x = j->x;
	enum scram_status st = scram_client_final(&x->s, j->msg, j->len, x->stored_key,
	    x->server_key, x->out);
	switch (st) {
	case SCRAM_OK:
		/* A proof against keys nobody has cannot be right; if it were,
		 * there is still nobody to log in as. */
		j->status = x->account[0] != '\0' ? ACCOUNT_OK : ACCOUNT_BAD_CREDENTIALS;
		break;
	case SCRAM_BAD_PROOF:
		j->status = ACCOUNT_BAD_CREDENTIALS;
		break;
	case SCRAM_BAD_MESSAGE:
	case SCRAM_NO_BINDING:
		j->status = ACCOUNT_BAD_MESSAGE;
		break;
	case SCRAM_FAILED:
		j->status = ACCOUNT_FAILED;
		break;
	}
	if (j->status == ACCOUNT_OK)
		snprintf(j->account, sizeof j->account, "%s", x->account);
}

static void
work_sync(struct job *j)
{
	int64_t serial = 0;
	if (store_accounts_serial(j->store, &serial) != STORE_OK) {
		j->status = ACCOUNT_FAILED;
		return;
	}
	j->status = ACCOUNT_OK;
	if (serial == j->serial)
		return;
	if (store_account_names(j->store, &j->names, &j->nnames) != STORE_OK) {
		j->status = ACCOUNT_FAILED;
		return;
	}
	j->serial = serial;
	j->names_loaded = 1;
}

static void
work_cert_list(struct job *j)
{
	char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1];
	size_t n = 0, at = 0;
	j->status = of_store(store_cert_list(j->store, j->name, fps, &n));
	for (size_t i = 0; j->status == ACCOUNT_OK && i < n; i++)
		at += (size_t)snprintf(j->fps + at, sizeof j->fps - at, "%s%s", i ? " " : "", fps[i]);
}

static void
job_work(void *arg)
{
	struct job *j = arg;
	struct store_account acc;
	switch (j->kind) {
	case J_WARM:
		kdf_dummy_ready();
		break;
	case J_REGISTER:
		work_register(j);
		break;
	case J_LOGIN:
		work_login(j);
		break;
	case J_LOGIN_CERT:
		j->status = of_store(store_cert_find(j->store, j->fp, j->account));
		if (j->status == ACCOUNT_NOT_FOUND)
			j->status = ACCOUNT_BAD_CREDENTIALS;
		break;
	case J_PASSWD:
	case J_DROP:
		work_change(j);
		break;
	case J_CERT_ADD:
		j->status = of_store(store_cert_add(j->store, j->name, j->fp));
		break;
	case J_CERT_DEL:
		j->status = of_store(store_cert_del(j->store, j->name, j->fp));
		break;
	case J_CERT_LIST:
		work_cert_list(j);
		break;
	case J_INFO:
		j->status = of_store(store_account_get(j->store, j->name, &acc));
		if (j->status == ACCOUNT_OK) {
			snprintf(j->account, sizeof j->account, "%s", acc.name);
			j->created_ms = acc.created_ms;
		}
		sodium_memzero(&acc, sizeof acc);
		break;
	case J_SCRAM_FIRST:
		work_scram_first(j);
		break;
	case J_SCRAM_FINAL:
		work_scram_final(j);
		break;
	case J_SYNC:
		work_sync(j);
		break;
	}
}

/* ---- Back on the loop ---- */

static void
scram_unref(struct account_scram *x)
{
	if (x != NULL && --x->refs == 0) {
		sodium_memzero(x, sizeof *x);
		free(x);
	}
}

/* A login's end, for the metrics. */
static void
login_counted(struct accounts *a, enum account_status st)
{
	switch (st) {
	case ACCOUNT_OK:
		a->stats.login_ok++;
		break;
	case ACCOUNT_BAD_CREDENTIALS:
	case ACCOUNT_NOT_FOUND:
	case ACCOUNT_BAD_MESSAGE:
		a->stats.login_failed++;
		break;
	case ACCOUNT_THROTTLED:
		a->stats.login_throttled++;
		break;
	default:
		a->stats.login_error++;
		break;
	}
}

void
accounts_stats(const struct accounts *a, struct accounts_stats *out)
{
	if (a == NULL)
		*out = (struct accounts_stats){ 0 };
	else
		*out = a->stats;
}

static void
job_done(void *arg, int cancelled)
{
	struct job *j = arg;
	struct accounts *a = j->a;
	a->jobs--;
	if (cancelled)
		j->status = ACCOUNT_FAILED;
	struct account_result r = { .status = j->status };
	switch (j->kind) {
	case J_WARM:
		job_free(j);
		return;
	case J_SYNC:
		a->syncing = 0;
		if (j->status == ACCOUNT_OK && j->names_loaded) {
			if (hub_account_sync(a->hub, (const char *const *)j->names, j->nnames) == 0)
				a->serial = j->serial;
			/* Registered by another process while someone held it. */
			for (size_t i = 0; i < j->nnames; i++)
				hub_account_enforce(a->hub, j->names[i]);
		} else if (j->status != ACCOUNT_OK && !cancelled) {
			log_warn("accounts: cannot read the accounts from the database");
		}
		job_free(j);
		return;
	case J_REGISTER:
		if (j->status == ACCOUNT_OK) {
			hub_account_add(a->hub, j->account);
			log_info("accounts: %s registered", j->account);
		}
		break;
	case J_DROP:
	case J_LOGIN:
	case J_PASSWD:
		if (j->kind == J_DROP && j->status == ACCOUNT_OK) {
			hub_account_remove(a->hub, j->account);
			log_info("accounts: %s dropped", j->account);
		}
		/* A password checked is a login's attempt. */
		if (j->key[0] != '\0' && j->status == ACCOUNT_OK)
			throttle_success(a, j->key, j->addr);
		break;
	case J_SCRAM_FIRST:
		j->x->busy = 0;
		r.data = j->x->s.server_first;
		r.len = strlen(r.data);
		break;
	case J_SCRAM_FINAL:
		j->x->busy = 0;
		if (j->status == ACCOUNT_OK) {
			throttle_success(a, j->x->key, j->x->addr);
			r.data = j->x->out;
			r.len = strlen(r.data);
		}
		break;
	case J_CERT_LIST:
		r.data = j->fps;
		r.len = strlen(j->fps);
		break;
	case J_LOGIN_CERT:
	case J_CERT_ADD:
	case J_CERT_DEL:
	case J_INFO:
		break;
	}
	if (j->kind == J_LOGIN || j->kind == J_LOGIN_CERT || j->kind == J_SCRAM_FINAL)
		login_counted(a, j->status);
	if (r.status != ACCOUNT_OK)
		r.data = NULL, r.len = 0;
	if (j->account[0] != '\0')
		r.account = j->account;
	r.created_ms = j->created_ms;
	j->done(j->ctx, &r);
	/* The door has logged its user in as the new account (or not): if
	 * someone else took the nickname meanwhile, it is not theirs. */
	if (j->kind == J_REGISTER && j->status == ACCOUNT_OK)
		hub_account_enforce(a->hub, j->account);
	scram_unref(j->x);
	job_free(j);
}

/* ---- The calls ---- */

void
accounts_sync(struct accounts *a)
{
	if (a == NULL || a->store == NULL || a->syncing)
		return;
	struct job *j = job_new(a, J_SYNC, NULL, NULL);
	if (j == NULL)
		return;
	j->serial = a->serial;
	if (job_submit(a, j) == ACCOUNT_PENDING)
		a->syncing = 1;
}

/* A job for name and addr, the attempt throttled and charged when
 * throttled is set. */
static enum account_status
start(struct accounts *a, enum job_kind kind, const char *name, const char *addr,
    int throttled, account_done_fn *done, void *ctx, struct job **out)
{
	if (a == NULL || a->store == NULL)
		return ACCOUNT_OFF;
	if (name != NULL && strlen(name) > ACCOUNT_LEN_MAX)
		return kind == J_LOGIN ? ACCOUNT_BAD_CREDENTIALS : ACCOUNT_NOT_FOUND;
	if (a->jobs >= ACCOUNTS_JOBS_MAX)
		return ACCOUNT_BUSY;
	char key[THROTTLE_KEY_MAX + 1] = "";
	if (name != NULL)
		name_key(name, key);
	if (throttled && !throttle_take(a, key, addr != NULL ? addr : ""))
		return ACCOUNT_THROTTLED;
	struct job *j = job_new(a, kind, done, ctx);
	if (j == NULL)
		return ACCOUNT_BUSY;
	if (name != NULL)
		snprintf(j->name, sizeof j->name, "%s", name);
	if (throttled)
		snprintf(j->key, sizeof j->key, "%s", key);
	snprintf(j->addr, sizeof j->addr, "%s", addr != NULL ? addr : "");
	*out = j;
	return ACCOUNT_OK;
}

enum account_status
accounts_register(struct accounts *a, const char *name, const char *password,
    const char *addr, account_done_fn *done, void *ctx)
{
	if (a == NULL || a->store == NULL)
		return ACCOUNT_OFF;
	if (!account_name_ok(name, a->hub->nick_len))
		return ACCOUNT_BAD_NAME;
	if (!account_password_ok(password))
		return ACCOUNT_BAD_PASSWORD;
	if (hub_account_owner(a->hub, name) != NULL)
		return ACCOUNT_EXISTS;
	/* Each registration costs a hash and a row: an address's count as
	 * a failure does, never refunded (20, then one every 15 s). */
	int64_t now = clock_now_ms();
	const char *where = addr != NULL ? addr : "";
	if (a->store != NULL && !throttle_allowed(a->by_addr, where, now))
		return ACCOUNT_THROTTLED;
	struct job *j = NULL;
	enum account_status st = start(a, J_REGISTER, name, addr, 0, done, ctx, &j);
	if (st != ACCOUNT_OK)
		return st;
	throttle_fail(a->by_addr, where, now);
	if ((j->new_password = secret_dup(password)) == NULL) {
		job_free(j);
		return ACCOUNT_BUSY;
	}
	return job_submit(a, j);
}

enum account_status
accounts_login(struct accounts *a, const char *name, const char *password,
    const char *addr, account_done_fn *done, void *ctx)
{
	if (a == NULL || a->store == NULL)
		return ACCOUNT_OFF;
	if (password == NULL || strlen(password) > ACCOUNT_PASSWORD_MAX) {
		login_counted(a, ACCOUNT_BAD_CREDENTIALS);
		return ACCOUNT_BAD_CREDENTIALS;
	}
	struct job *j = NULL;
	enum account_status st = start(a, J_LOGIN, name, addr, 1, done, ctx, &j);
	if (st != ACCOUNT_OK) {
		login_counted(a, st);
		return st;
	}
	if ((j->password = secret_dup(password)) == NULL) {
		job_free(j);
		return ACCOUNT_BUSY;
	}
	return job_submit(a, j);
}

/* 64 hex digits, lowered into out. */
static int
fp_copy(const char *fp, char out[STORE_CERTFP_LEN + 1])
{
	if (fp == NULL || strlen(fp) != STORE_CERTFP_LEN)
		return -1;
	for (int i = 0; i < STORE_CERTFP_LEN; i++) {
		char c = name_fold_char(fp[i]);
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		out[i] = c;
	}
	out[STORE_CERTFP_LEN] = '\0';
	return 0;
}

enum account_status
accounts_login_cert(struct accounts *a, const char *fp, const char *addr,
    account_done_fn *done, void *ctx)
{
	struct job *j = NULL;
	enum account_status st = start(a, J_LOGIN_CERT, NULL, addr, 0, done, ctx, &j);
	if (st != ACCOUNT_OK)
		return st;
	if (fp_copy(fp, j->fp) != 0) {
		job_free(j);
		return ACCOUNT_BAD_CREDENTIALS;
	}
	return job_submit(a, j);
}

/* passwd and drop: a password to check (throttled as a login), or none. */
static enum account_status
change(struct accounts *a, enum job_kind kind, const char *name, const char *password,
    const char *new_password, const char *addr, account_done_fn *done, void *ctx)
{
	if (a == NULL || a->store == NULL)
		return ACCOUNT_OFF;
	if (kind == J_PASSWD && !account_password_ok(new_password))
		return ACCOUNT_BAD_PASSWORD;
	if (password != NULL && strlen(password) > ACCOUNT_PASSWORD_MAX)
		return ACCOUNT_BAD_CREDENTIALS;
	struct job *j = NULL;
	enum account_status st = start(a, kind, name, addr, password != NULL, done, ctx, &j);
	if (st != ACCOUNT_OK)
		return st;
	if ((password != NULL && (j->password = secret_dup(password)) == NULL) ||
	    (new_password != NULL && (j->new_password = secret_dup(new_password)) == NULL)) {
		job_free(j);
		return ACCOUNT_BUSY;
	}
	return job_submit(a, j);
}

enum account_status
accounts_passwd(struct accounts *a, const char *name, const char *old_password,
    const char *new_password, const char *addr, account_done_fn *done, void *ctx)
{
	return change(a, J_PASSWD, name, old_password, new_password, addr, done, ctx);
}

enum account_status
accounts_drop(struct accounts *a, const char *name, const char *password,
    const char *addr, account_done_fn *done, void *ctx)
{
	return change(a, J_DROP, name, password, NULL, addr, done, ctx);
}

static enum account_status
cert(struct accounts *a, enum job_kind kind, const char *name, const char *fp,
    account_done_fn *done, void *ctx)
{
	struct job *j = NULL;
	enum account_status st = start(a, kind, name, NULL, 0, done, ctx, &j);
	if (st != ACCOUNT_OK)
		return st;
	if (fp_copy(fp, j->fp) != 0) {
		job_free(j);
		return ACCOUNT_BAD_MESSAGE;
	}
	return job_submit(a, j);
}

enum account_status
accounts_cert_add(struct accounts *a, const char *name, const char *fp,
    account_done_fn *done, void *ctx)
{
	return cert(a, J_CERT_ADD, name, fp, done, ctx);
}

enum account_status
accounts_cert_del(struct accounts *a, const char *name, const char *fp,
    account_done_fn *done, void *ctx)
{
	return cert(a, J_CERT_DEL, name, fp, done, ctx);
}

/* A job of kind about name alone, submitted. */
static enum account_status
about(struct accounts *a, enum job_kind kind, const char *name, account_done_fn *done,
    void *ctx)
{
	struct job *j = NULL;
	enum account_status st = start(a, kind, name, NULL, 0, done, ctx, &j);
	return st != ACCOUNT_OK ? st : job_submit(a, j);
}

enum account_status
accounts_cert_list(struct accounts *a, const char *name, account_done_fn *done, void *ctx)
{
	return about(a, J_CERT_LIST, name, done, ctx);
}

enum account_status
accounts_info(struct accounts *a, const char *name, account_done_fn *done, void *ctx)
{
	return about(a, J_INFO, name, done, ctx);
}

/* ---- SCRAM ---- */

enum account_status
accounts_scram_first(struct accounts *a, struct account_scram **x, const char *client_first,
    size_t len, const char *addr, account_done_fn *done, void *ctx)
{
	*x = NULL;
	if (a == NULL || a->store == NULL)
		return ACCOUNT_OFF;
	if (a->jobs >= ACCOUNTS_JOBS_MAX)
		return ACCOUNT_BUSY;
	struct account_scram *s = calloc(1, sizeof *s);
	if (s == NULL)
		return ACCOUNT_BUSY;
	/* Parsing is cheap and bounded (SCRAM_MSG_MAX); the throttle needs
	 * the user's name before anything is looked up. */
	if (scram_client_first(&s->s, client_first, len) != SCRAM_OK) {
		sodium_memzero(s, sizeof *s);
		free(s);
		return ACCOUNT_BAD_MESSAGE;
	}
	name_key(s->s.user, s->key);
	snprintf(s->addr, sizeof s->addr, "%s", addr != NULL ? addr : "");
	if (!throttle_take(a, s->key, s->addr)) {
		sodium_memzero(s, sizeof *s);
		free(s);
		login_counted(a, ACCOUNT_THROTTLED);
		return ACCOUNT_THROTTLED;
	}
	struct job *j = job_new(a, J_SCRAM_FIRST, done, ctx);
	if (j == NULL) {
		free(s);
		return ACCOUNT_BUSY;
	}
	snprintf(j->key, sizeof j->key, "%s", s->key);
	memcpy(j->secret, a->secret, sizeof j->secret);
	s->refs = 2;  /* the door's, the job's */
	s->busy = 1;
	j->x = s;
	enum account_status st = job_submit(a, j);  /* frees j when refused */
	if (st != ACCOUNT_PENDING) {
		free(s);
		return st;
	}
	*x = s;
	return st;
}

enum account_status
accounts_scram_final(struct accounts *a, struct account_scram *x, const char *client_final,
    size_t len, account_done_fn *done, void *ctx)
{
	if (a == NULL || a->store == NULL)
		return ACCOUNT_OFF;
	if (x == NULL || x->busy || x->s.step != 2 || len > SCRAM_MSG_MAX)
		return ACCOUNT_BAD_MESSAGE;
	struct job *j = job_new(a, J_SCRAM_FINAL, done, ctx);
	if (j == NULL || (j->msg = malloc(len + 1)) == NULL) {
		free(j);
		return ACCOUNT_BUSY;
	}
	memcpy(j->msg, client_final, len);
	j->msg[len] = '\0';
	j->len = len;
	j->x = x;
	x->refs++;
	x->busy = 1;
	enum account_status st = job_submit(a, j);
	if (st != ACCOUNT_PENDING) {
		x->refs--;
		x->busy = 0;
	}
	return st;
}

void
accounts_scram_free(struct account_scram *x)
{
	scram_unref(x);
}
