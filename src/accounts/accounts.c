/* The accounts service: a first version that answers every call with
 * ACCOUNT_OFF until the store's account tables and the KDF are in. */
#include "accounts/accounts.h"

#include <stdlib.h>

struct accounts {
	struct hub *hub;
	struct store *store;
	struct worker_pool *pool;
};

const char *
account_status_text(enum account_status st)
{
	switch (st) {
	case ACCOUNT_OK: return "done";
	case ACCOUNT_PENDING: return "in progress";
	case ACCOUNT_BAD_CREDENTIALS: return "wrong password or unknown account";
	case ACCOUNT_THROTTLED: return "too many failed attempts; wait a while";
	case ACCOUNT_EXISTS: return "already registered";
	case ACCOUNT_NOT_FOUND: return "no such account";
	case ACCOUNT_BAD_NAME: return "not a valid account name";
	case ACCOUNT_BAD_PASSWORD: return "a password is 6 to 256 bytes";
	case ACCOUNT_BAD_MESSAGE: return "malformed message";
	case ACCOUNT_FULL: return "too many certificates";
	case ACCOUNT_BUSY: return "the server is busy; try again in a moment";
	case ACCOUNT_FAILED: return "the server failed; try again later";
	case ACCOUNT_OFF: return "this server has no accounts";
	}
	return "?";
}

struct accounts *
accounts_new(struct hub *hub, struct store *store, struct worker_pool *pool)
{
	struct accounts *a = calloc(1, sizeof *a);
	if (a == NULL)
		return NULL;
	a->hub = hub;
	a->store = store;
	a->pool = pool;
	return a;
}

void
accounts_free(struct accounts *a)
{
	free(a);
}

void
accounts_sync(struct accounts *a)
{
	(void)a;
}

#define UNUSED(x) (void)(x)

enum account_status
accounts_register(struct accounts *a, const char *name, const char *password,
    const char *addr, account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(name); UNUSED(password); UNUSED(addr); UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_login(struct accounts *a, const char *name, const char *password,
    const char *addr, account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(name); UNUSED(password); UNUSED(addr); UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_login_cert(struct accounts *a, const char *fp, const char *addr,
    account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(fp); UNUSED(addr); UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_passwd(struct accounts *a, const char *name, const char *old_password,
    const char *new_password, const char *addr, account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(name); UNUSED(old_password); UNUSED(new_password); UNUSED(addr);
	UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_drop(struct accounts *a, const char *name, const char *password,
    const char *addr, account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(name); UNUSED(password); UNUSED(addr); UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_cert_add(struct accounts *a, const char *name, const char *fp,
    account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(name); UNUSED(fp); UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_cert_del(struct accounts *a, const char *name, const char *fp,
    account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(name); UNUSED(fp); UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_info(struct accounts *a, const char *name, account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(name); UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_scram_first(struct accounts *a, struct account_scram **x, const char *client_first,
    size_t len, const char *addr, account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(x); UNUSED(client_first); UNUSED(len); UNUSED(addr); UNUSED(done);
	UNUSED(ctx);
	return ACCOUNT_OFF;
}

enum account_status
accounts_scram_final(struct accounts *a, struct account_scram *x, const char *client_final,
    size_t len, account_done_fn *done, void *ctx)
{
	UNUSED(a); UNUSED(x); UNUSED(client_final); UNUSED(len); UNUSED(done); UNUSED(ctx);
	return ACCOUNT_OFF;
}

void
accounts_scram_free(struct account_scram *x)
{
	UNUSED(x);
}
