/* Unit tests for accounts in the store and the accounts service over it:
 * the store's calls (create, a taken name in any case, get, a new
 * password, delete with its certificates, names in order, the serial
 * every write bumps, certificates: add, one account's only, the bound,
 * find, list, delete); a version 1 database brought to version 2 with
 * its events kept; the admin store beside a running one (another
 * process's write seen by the serial). Then the service on a real worker
 * pool: register (the hub's registry has it), log in right and wrong, an
 * unknown name answered as a wrong password, throttling counted (no
 * timing), passwd with the old password and without, drop (the registry
 * loses it and who was logged in as it is logged out), SCRAM through the
 * service (a client made here from the password), EXTERNAL by
 * certificate, and a sync after the admin store registered someone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts/accounts.h"
#include "accounts/scram.h"
#include "accounts/throttle.h"
#include "base/worker.h"
#include "chat/hub.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "store_fixture.h"
#include "store_helpers.h"

static struct store_account
account(const char *name)
{
	struct store_account a = { 0 };
	snprintf(a.name, sizeof a.name, "%s", name);
	snprintf(a.pwhash, sizeof a.pwhash, "$argon2id$fake-%s", name);
	a.scram_salt_len = 16;
	memset(a.scram_salt, 's', 16);
	a.scram_iter = 4096;
	memset(a.scram_stored_key, 'k', STORE_SCRAM_KEY_LEN);
	memset(a.scram_server_key, 'v', STORE_SCRAM_KEY_LEN);
	a.created_ms = 1767225600000;
	return a;
}

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void
test_store_accounts(void **state)
{
	struct fixture *f = *state;
	struct store *s = f->s;
	int64_t serial0 = -1, serial = -1;
	assert_int_equal(store_accounts_serial(s, &serial0), STORE_OK);

	struct store_account a = account("Alice");
	assert_int_equal(store_account_create(s, &a), STORE_OK);
	struct store_account taken = account("ALICE");
	assert_int_equal(store_account_create(s, &taken), STORE_EXISTS);
	struct store_account b = account("bob");
	assert_int_equal(store_account_create(s, &b), STORE_OK);
	assert_int_equal(store_accounts_serial(s, &serial), STORE_OK);
	assert_int_equal(serial, serial0 + 2);

	struct store_account got;
	assert_int_equal(store_account_get(s, "aLiCe", &got), STORE_OK);
	assert_string_equal(got.name, "Alice");
	assert_string_equal(got.pwhash, "$argon2id$fake-Alice");
	assert_int_equal(got.scram_salt_len, 16);
	assert_int_equal(got.scram_iter, 4096);
	assert_memory_equal(got.scram_stored_key, a.scram_stored_key, STORE_SCRAM_KEY_LEN);
	assert_memory_equal(got.scram_server_key, a.scram_server_key, STORE_SCRAM_KEY_LEN);
	assert_int_equal(got.created_ms, a.created_ms);
	assert_int_equal(store_account_get(s, "carol", &got), STORE_NOT_FOUND);

	struct store_account np = account("alice");
	snprintf(np.pwhash, sizeof np.pwhash, "$argon2id$new");
	np.scram_iter = 8192;
	assert_int_equal(store_account_set_password(s, &np), STORE_OK);
	assert_int_equal(store_account_get(s, "alice", &got), STORE_OK);
	assert_string_equal(got.pwhash, "$argon2id$new");
	assert_string_equal(got.name, "Alice");  /* kept as registered */
	assert_int_equal(got.scram_iter, 8192);
	struct store_account nobody = account("carol");
	assert_int_equal(store_account_set_password(s, &nobody), STORE_NOT_FOUND);

	char **names;
	size_t n;
	assert_int_equal(store_account_names(s, &names, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "Alice");
	assert_string_equal(names[1], "bob");
	store_names_free(names, n);

	/* Certificates: one account's each, at most STORE_CERTS_MAX. */
	assert_int_equal(store_cert_add(s, "alice", FP_A), STORE_OK);
	assert_int_equal(store_cert_add(s, "bob", FP_A), STORE_EXISTS);
	assert_int_equal(store_cert_add(s, "carol", FP_B), STORE_NOT_FOUND);
	char who[ACCOUNT_LEN_MAX + 1];
	assert_int_equal(store_cert_find(s, FP_A, who), STORE_OK);
	assert_string_equal(who, "Alice");
	assert_int_equal(store_cert_find(s, FP_B, who), STORE_NOT_FOUND);
	for (int i = 1; i < STORE_CERTS_MAX; i++) {
		char fp[STORE_CERTFP_LEN + 1];
		memset(fp, 'c', STORE_CERTFP_LEN);
		fp[STORE_CERTFP_LEN] = '\0';
		fp[0] = (char)('0' + i);
		assert_int_equal(store_cert_add(s, "alice", fp), STORE_OK);
	}
	assert_int_equal(store_cert_add(s, "alice", FP_B), STORE_FULL);
	char fps[STORE_CERTS_MAX][STORE_CERTFP_LEN + 1];
	assert_int_equal(store_cert_list(s, "ALICE", fps, &n), STORE_OK);
	assert_int_equal(n, STORE_CERTS_MAX);
	assert_int_equal(store_cert_del(s, "alice", FP_A), STORE_OK);
	assert_int_equal(store_cert_del(s, "alice", FP_A), STORE_NOT_FOUND);
	assert_int_equal(store_cert_add(s, "bob", FP_A), STORE_OK);

	/* Deleting takes the certificates with it. */
	assert_int_equal(store_account_delete(s, "BOB"), STORE_OK);
	assert_int_equal(store_account_delete(s, "bob"), STORE_NOT_FOUND);
	assert_int_equal(store_cert_find(s, FP_A, who), STORE_NOT_FOUND);
	assert_int_equal(store_account_get(s, "bob", &got), STORE_NOT_FOUND);
	/* The name is free again. */
	assert_int_equal(store_account_create(s, &b), STORE_OK);
	assert_int_equal(store_cert_list(s, "bob", fps, &n), STORE_OK);
	assert_int_equal(n, 0);
}

/* A database of version 1 (history only) gets the account tables and
 * keeps its events. */
static void
test_from_version_1(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	f->s = NULL;
	db_exec(f->dir, SQL_BACK_TO_V6 "DROP TABLE accounts; DROP TABLE account_certs; DROP TABLE meta;"
	    "DROP TABLE conversations; DROP TABLE read_markers; DROP TABLE rooms;"
	    "DROP TABLE room_masks; DROP TABLE room_ops;"
	    "INSERT INTO events (msgid, at_ms, target, kind, sender, text)"
	    " VALUES ('0000000000000000', 1, '#a', 1, 'n!u@h', 'kept');"
	    "PRAGMA user_version = 1;");
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	struct store_account a = account("alice");
	assert_int_equal(store_account_create(f->s, &a), STORE_OK);
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 10 };
	struct store_result r;
	store_query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.events[0].text, "kept");
	store_result_free(&r);
}

/* The command line's store beside the server's: it writes, the server's
 * serial moves and it reads the account. */
static void
test_admin_store(void **state)
{
	struct fixture *f = *state;
	int64_t before, after;
	assert_int_equal(store_accounts_serial(f->s, &before), STORE_OK);
	char err[256];
	struct store *adm = store_open_admin(&(struct store_options){ .database = fixture_database,
	    .dir = f->dir }, err, sizeof err);
	assert_non_null(adm);
	struct store_account a = account("dave");
	assert_int_equal(store_account_create(adm, &a), STORE_OK);
	store_close(adm);
	assert_int_equal(store_accounts_serial(f->s, &after), STORE_OK);
	assert_int_equal(after, before + 1);
	struct store_account got;
	assert_int_equal(store_account_get(f->s, "dave", &got), STORE_OK);
	/* A data-dir that cannot be made is one line (SQLite's). */
	if (fixture_database[0] != '\0')
		return;
	adm = store_open_admin(&(struct store_options){ .dir = "/nonexistent/x/y" }, err, sizeof err);
	assert_null(adm);
	assert_non_null(strstr(err, "cannot be created"));
}

/* ---- The service ---- */

struct answer {
	int calls;
	enum account_status status;
	char account[ACCOUNT_LEN_MAX + 1];
	char data[512];
	int64_t created_ms;
};

static void
on_done(void *ctx, const struct account_result *r)
{
	struct answer *ans = ctx;
	ans->calls++;
	ans->status = r->status;
	snprintf(ans->account, sizeof ans->account, "%s", r->account ? r->account : "");
	snprintf(ans->data, sizeof ans->data, "%.*s", (int)r->len, r->data ? r->data : "");
	ans->created_ms = r->created_ms;
}

struct svc {
	struct hub hub;
	struct worker_pool *pool;
	struct accounts *a;
};

static void
svc_start(struct svc *v, struct store *s)
{
	hub_init(&v->hub, 300, NICK_LEN_MAX);
	v->pool = worker_pool_new(2, WORKER_QUEUE_MAX);
	assert_non_null(v->pool);
	v->a = accounts_new(&v->hub, s, v->pool);
	assert_non_null(v->a);
}

static void
svc_stop(struct svc *v)
{
	worker_pool_free(v->pool);
	accounts_free(v->a);
	hub_clear(&v->hub);
}

/* Runs the loop's side until every job of the pool is done. */
static void
settle(struct svc *v)
{
	while (worker_pool_jobs(v->pool) > 0) {
		struct pollfd p = { .fd = worker_pool_fd(v->pool), .events = POLLIN };
		poll(&p, 1, 1000);
		worker_pool_reap(v->pool);
	}
}

/* st must be PENDING; the answer after settling. */
static struct answer
wait_for(struct svc *v, enum account_status st, struct answer *ans)
{
	assert_int_equal(st, ACCOUNT_PENDING);
	settle(v);
	assert_int_equal(ans->calls, 1);
	return *ans;
}

static void
delivered(struct user *u, struct msg *m)
{
	int *n = u->door;
	if (m->kind == MSG_ACCOUNT)
		(*n)++;
}

static const struct user_ops ops = { .deliver = delivered };

static void
test_service(void **state)
{
	struct fixture *f = *state;
	struct svc v;
	svc_start(&v, f->s);
	struct answer ans = { 0 };

	/* Register: the registry has it. */
	assert_int_equal(accounts_register(v.a, "Alice", "pw", "1.2.3.4", on_done, &ans),
	    ACCOUNT_BAD_PASSWORD);
	assert_int_equal(accounts_register(v.a, "1bad", "secret1", "1.2.3.4", on_done, &ans),
	    ACCOUNT_BAD_NAME);
	assert_int_equal(accounts_register(v.a, "NickServ", "secret1", "1.2.3.4", on_done, &ans),
	    ACCOUNT_BAD_NAME);
	ans = wait_for(&v, accounts_register(v.a, "Alice", "secret1", "1.2.3.4", on_done, &ans),
	    &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	assert_string_equal(ans.account, "Alice");
	assert_string_equal(hub_account_owner(&v.hub, "alice"), "Alice");
	assert_int_equal(hub_nick_available(&v.hub, "ALICE", NULL), HUB_EOWNED);
	assert_int_equal(accounts_register(v.a, "alice", "secret2", "1.2.3.4", on_done, &ans),
	    ACCOUNT_EXISTS);

	/* Log in: right, wrong, unknown (the same answer as wrong). */
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_login(v.a, "ALICE", "secret1", "1.2.3.4", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	assert_string_equal(ans.account, "Alice");
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_login(v.a, "alice", "secret2", "1.2.3.4", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_BAD_CREDENTIALS);
	assert_string_equal(ans.account, "");
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_login(v.a, "zed", "secret1", "1.2.3.4", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_BAD_CREDENTIALS);

	/* Passwd: the old one checked; without it, unchecked. */
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_passwd(v.a, "alice", "wrong!", "secret3", "1.2.3.4", on_done,
	    &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_BAD_CREDENTIALS);
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_passwd(v.a, "alice", "secret1", "secret3", "1.2.3.4", on_done,
	    &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_login(v.a, "alice", "secret3", "1.2.3.4", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_passwd(v.a, "alice", NULL, "secret4", "1.2.3.4", on_done,
	    &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);

	/* Info. */
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_info(v.a, "ALICE", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	assert_string_equal(ans.account, "Alice");
	assert_true(ans.created_ms > 0);

	/* Drop: the registry loses it; who was logged in as it is logged
	 * out, and told. */
	int told = 0;
	struct user *u = hub_user_new(&v.hub, &ops, &told, "id", "host", "real");
	hub_account(&v.hub, u, "Alice");
	assert_int_equal(told, 1);
	assert_int_equal(hub_nick(&v.hub, u, "alice"), HUB_OK);  /* its own */
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_drop(v.a, "alice", "secret4", "1.2.3.4", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	assert_null(hub_account_owner(&v.hub, "alice"));
	assert_string_equal(u->account, "");
	assert_int_equal(told, 2);
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_login(v.a, "alice", "secret4", "1.2.3.4", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_BAD_CREDENTIALS);
	svc_stop(&v);
}

/* Throttling, counted: a burst of attempts in flight at once gets the
 * account's burst checked and the rest refused; another account from
 * another address is served meanwhile; a success forgives. */
static void
test_service_throttle(void **state)
{
	struct fixture *f = *state;
	struct svc v;
	svc_start(&v, f->s);
	struct answer ans = { 0 };
	ans = wait_for(&v, accounts_register(v.a, "bob", "secret1", "9.9.9.9", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);

	struct answer tries[20];
	memset(tries, 0, sizeof tries);
	int pending = 0, throttled = 0;
	for (int i = 0; i < 20; i++) {
		char addr[32];
		snprintf(addr, sizeof addr, "10.0.0.%d", i);  /* many addresses, one account */
		enum account_status st = accounts_login(v.a, "bob", "guess", addr, on_done, &tries[i]);
		if (st == ACCOUNT_PENDING)
			pending++;
		else if (st == ACCOUNT_THROTTLED)
			throttled++;
	}
	assert_int_equal(pending, THROTTLE_ACCOUNT_BURST);
	assert_int_equal(throttled, 20 - THROTTLE_ACCOUNT_BURST);
	/* Even the right password is refused now, unchecked. */
	assert_int_equal(accounts_login(v.a, "bob", "secret1", "9.9.9.9", on_done, &ans),
	    ACCOUNT_THROTTLED);
	/* One address, many accounts: its own bound. */
	int addr_pending = 0;
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof name, "user%d", i);
		if (accounts_login(v.a, name, "guess", "6.6.6.6", on_done, &tries[i % 20]) ==
		    ACCOUNT_PENDING)
			addr_pending++;
	}
	assert_int_equal(addr_pending, THROTTLE_ADDR_BURST);
	settle(&v);
	/* Registrations count against their address, success or not. */
	int registered = 0, refused = 0;
	for (int i = 0; i < THROTTLE_ADDR_BURST + 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "new%d", i);
		enum account_status st = accounts_register(v.a, name, "secret1", "5.5.5.5", on_done,
		    &tries[i % 20]);
		registered += st == ACCOUNT_PENDING;
		refused += st == ACCOUNT_THROTTLED;
	}
	assert_int_equal(registered, THROTTLE_ADDR_BURST);
	assert_int_equal(refused, 3);
	settle(&v);
	svc_stop(&v);
}

/* A SCRAM client made here from the password: the exchange through the
 * service logs in, a wrong password does not, an unknown user gets a
 * salt as any other (the same each time) and fails at the proof. */
static void
client_final(const char *password, const char *client_first_bare, const char *server_first,
    char *out, size_t cap)
{
	const char *r = strstr(server_first, "r=") + 2;
	const char *s = strstr(server_first, ",s=") + 3;
	const char *i = strstr(server_first, ",i=") + 3;
	uint8_t salt[64];
	size_t salt_len;
	assert_int_equal(sodium_base642bin(salt, sizeof salt, s, (size_t)(strchr(s, ',') - s),
	    NULL, &salt_len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	unsigned iter = (unsigned)atoi(i);
	uint8_t salted[32], ck[32], sk[32], stored[32], sig[32], proof[32];
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iter,
	    EVP_sha256(), 32, salted);
	unsigned int n;
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ck, &n);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10, sk, &n);
	SHA256(ck, 32, stored);
	char without[256], auth[2048];
	snprintf(without, sizeof without, "c=biws,r=%.*s", (int)(strchr(r, ',') - r), r);
	snprintf(auth, sizeof auth, "%s,%s,%s", client_first_bare, server_first, without);
	HMAC(EVP_sha256(), stored, 32, (const unsigned char *)auth, strlen(auth), sig, &n);
	for (int k = 0; k < 32; k++)
		proof[k] = ck[k] ^ sig[k];
	char b64[64];
	sodium_bin2base64(b64, sizeof b64, proof, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, cap, "%s,p=%s", without, b64);
}

static struct answer
scram_login(struct svc *v, const char *user, const char *password, char *salt_seen)
{
	char first[256], bare[128], final[1024];
	snprintf(bare, sizeof bare, "n=%s,r=fyko+d2lbbFgONRv9qkxdawL", user);
	snprintf(first, sizeof first, "n,,%s", bare);
	struct account_scram *x = NULL;
	struct answer ans = { 0 };
	ans = wait_for(v, accounts_scram_first(v->a, &x, first, strlen(first), "1.1.1.1", on_done,
	    &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	assert_non_null(x);
	if (salt_seen != NULL)
		snprintf(salt_seen, 64, "%s", strstr(ans.data, ",s=") + 3);
	client_final(password, bare, ans.data, final, sizeof final);
	memset(&ans, 0, sizeof ans);
	ans = wait_for(v, accounts_scram_final(v->a, x, final, strlen(final), on_done, &ans), &ans);
	accounts_scram_free(x);
	return ans;
}

static void
test_service_scram_and_cert(void **state)
{
	struct fixture *f = *state;
	struct svc v;
	svc_start(&v, f->s);
	struct answer ans = { 0 };
	ans = wait_for(&v, accounts_register(v.a, "Carol", "hunter22", "1.1.1.1", on_done, &ans),
	    &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);

	ans = scram_login(&v, "carol", "hunter22", NULL);
	assert_int_equal(ans.status, ACCOUNT_OK);
	assert_string_equal(ans.account, "Carol");
	assert_int_equal(strncmp(ans.data, "v=", 2), 0);
	ans = scram_login(&v, "carol", "hunter23", NULL);
	assert_int_equal(ans.status, ACCOUNT_BAD_CREDENTIALS);
	char salt1[64], salt2[64];
	ans = scram_login(&v, "nobody", "hunter22", salt1);
	assert_int_equal(ans.status, ACCOUNT_BAD_CREDENTIALS);
	scram_login(&v, "NOBODY", "hunter22", salt2);
	assert_string_equal(salt1, salt2);
	/* A malformed first message is refused at once. */
	struct account_scram *x = NULL;
	assert_int_equal(accounts_scram_first(v.a, &x, "garbage", 7, "1.1.1.1", on_done, &ans),
	    ACCOUNT_BAD_MESSAGE);
	assert_null(x);
	/* Freed while its step is in flight: the step still ends well. */
	memset(&ans, 0, sizeof ans);
	const char *first = "n,,n=carol,r=abcdef";
	assert_int_equal(accounts_scram_first(v.a, &x, first, strlen(first), "1.1.1.1", on_done,
	    &ans), ACCOUNT_PENDING);
	accounts_scram_free(x);
	settle(&v);
	assert_int_equal(ans.calls, 1);

	/* EXTERNAL. */
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_cert_add(v.a, "carol", FP_A, on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	assert_int_equal(accounts_cert_add(v.a, "carol", "xyz", on_done, &ans), ACCOUNT_BAD_MESSAGE);
	memset(&ans, 0, sizeof ans);
	char upper[STORE_CERTFP_LEN + 1] = FP_A;
	for (int i = 0; upper[i]; i++)
		upper[i] = (char)(upper[i] - 32);
	ans = wait_for(&v, accounts_login_cert(v.a, upper, "1.1.1.1", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	assert_string_equal(ans.account, "Carol");
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_login_cert(v.a, FP_B, "1.1.1.1", on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_BAD_CREDENTIALS);
	memset(&ans, 0, sizeof ans);
	ans = wait_for(&v, accounts_cert_del(v.a, "carol", FP_A, on_done, &ans), &ans);
	assert_int_equal(ans.status, ACCOUNT_OK);
	svc_stop(&v);
}

/* Another process registers and deletes: a sync brings the registry
 * along, and logs out whoever was logged in as the deleted. */
static void
test_service_sync(void **state)
{
	struct fixture *f = *state;
	struct svc v;
	svc_start(&v, f->s);
	char err[256];
	struct store *adm = store_open_admin(&(struct store_options){ .database = fixture_database,
	    .dir = f->dir }, err, sizeof err);
	assert_non_null(adm);
	struct store_account e = account("Erin");
	assert_int_equal(store_account_create(adm, &e), STORE_OK);
	assert_null(hub_account_owner(&v.hub, "erin"));
	accounts_sync(v.a);
	settle(&v);
	assert_string_equal(hub_account_owner(&v.hub, "erin"), "Erin");

	int told = 0;
	struct user *u = hub_user_new(&v.hub, &ops, &told, "id", "host", "real");
	hub_account(&v.hub, u, "Erin");
	assert_int_equal(store_account_delete(adm, "erin"), STORE_OK);
	store_close(adm);
	accounts_sync(v.a);
	settle(&v);
	assert_null(hub_account_owner(&v.hub, "erin"));
	assert_string_equal(u->account, "");
	svc_stop(&v);

	/* At start, the registry is whole before anything runs. */
	struct store_account g = account("Gus");
	assert_int_equal(store_account_create(f->s, &g), STORE_OK);
	svc_start(&v, f->s);
	assert_string_equal(hub_account_owner(&v.hub, "GUS"), "Gus");
	svc_stop(&v);
}

static void
test_service_off(void **state)
{
	(void)state;
	struct hub hub;
	hub_init(&hub, 300, NICK_LEN_MAX);
	struct accounts *a = accounts_new(&hub, NULL, NULL);
	assert_non_null(a);
	struct answer ans = { 0 };
	assert_int_equal(accounts_login(a, "x", "yyyyyy", "1", on_done, &ans), ACCOUNT_OFF);
	assert_int_equal(accounts_register(a, "x", "yyyyyy", "1", on_done, &ans), ACCOUNT_OFF);
	accounts_sync(a);
	accounts_free(a);
	hub_clear(&hub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_throttle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_scram_and_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_sync, setup, teardown),
		cmocka_unit_test(test_service_off),
	};
	static const char *const on_pg[] = {
		"test_store_accounts", "test_admin_store", "test_service", "test_service_throttle",
		"test_service_scram_and_cert", "test_service_sync", NULL,
	};
	return run_both(tests, sizeof tests / sizeof tests[0], on_pg);
}
