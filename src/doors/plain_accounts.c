/* Accounts on the plain door (see the header). The user is logged in (or
 * renamed) in the service's done, while its conn is still there; the
 * lines that say so are the parked reply's, sent in their turn. */
#include "doors/plain_accounts.h"
#include "doors/plain_rooms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts/accounts.h"
#include "base/config.h"
#include "base/text.h"
#include "chat/hub.h"
#include "doors/door.h"
#include "doors/plain_error.h"

enum pa_kind { PA_REGISTER, PA_LOGIN, PA_PASSWD };

/* One answer, shared by the service's call (until its done) and its
 * place in the conn's output (until the conn takes it, or goes). */
struct pa_wait {
	struct conn_pager base;
	unsigned refs;
	struct conn *conn;            /* NULL once the pager is gone */
	enum pa_kind kind;
	enum account_status status;
	char account[ACCOUNT_LEN_MAX + 1];
	char renamed[NICK_LEN_MAX + 1]; /* the nick taken at login, or "" */
};

static void
wait_unref(struct pa_wait *w)
{
	if (--w->refs == 0)
		free(w);
}

static void
wait_free(struct conn_pager *base)
{
	struct pa_wait *w = (struct pa_wait *)base;
	w->conn = NULL;
	wait_unref(w);
}

/* A refusal, in the door's words. */
static void
account_error(struct conn *c, enum account_status st, const char *name)
{
	switch (st) {
	case ACCOUNT_OK:
	case ACCOUNT_PENDING:
		return;
	case ACCOUNT_BAD_CREDENTIALS:
	case ACCOUNT_NOT_FOUND:
		plain_err(c, PLAIN_ERR_LOGIN_FAILED);
		return;
	case ACCOUNT_THROTTLED:
		plain_err(c, PLAIN_ERR_THROTTLED);
		return;
	case ACCOUNT_EXISTS:
		plain_err(c, PLAIN_ERR_ACCOUNT_EXISTS, name, name);
		return;
	case ACCOUNT_BAD_NAME:
		plain_err(c, PLAIN_ERR_ACCOUNT_NAME, name);
		return;
	case ACCOUNT_BAD_PASSWORD:
		plain_err(c, PLAIN_ERR_PASSWORD_LENGTH, ACCOUNT_PASSWORD_MIN, ACCOUNT_PASSWORD_MAX);
		return;
	case ACCOUNT_BUSY:
		plain_err(c, PLAIN_ERR_BUSY);
		return;
	case ACCOUNT_OFF:
		/* A cluster's accounts need a database its nodes share
		 * (issue 16). */
		if (door_cfg(c)->cluster != NULL)
			plain_err(c, PLAIN_ERR_NO_ACCOUNTS_CLUSTER);
		else
			plain_err(c, PLAIN_ERR_NO_ACCOUNTS);
		return;
	case ACCOUNT_BAD_MESSAGE:
	case ACCOUNT_FULL:
	case ACCOUNT_FAILED:
		plain_err(c, PLAIN_ERR_ACCOUNTS_FAILED);
		return;
	}
}

static int
wait_fill(struct conn *c, struct conn_pager *base)
{
	struct pa_wait *w = (struct pa_wait *)base;
	if (w->status != ACCOUNT_OK) {
		account_error(c, w->status, w->account);
		return 0;
	}
	switch (w->kind) {
	case PA_REGISTER:
		conn_sendf(c, "-- registered %s; you are logged in as %s\n", w->account, w->account);
		break;
	case PA_LOGIN:
		conn_sendf(c, "-- you are logged in as %s\n", w->account);
		break;
	case PA_PASSWD:
		conn_sendf(c, "-- password changed\n");
		break;
	}
	return 0;
}

/* The service's answer, on the loop: the user logged in while its conn
 * is here, then the reply's lines let out. */
static void
wait_done(void *ctx, const struct account_result *r)
{
	struct pa_wait *w = ctx;
	w->status = r->status;
	if (r->account != NULL)
		snprintf(w->account, sizeof w->account, "%s", r->account);
	struct conn *c = w->conn;
	if (c != NULL && c->user != NULL && r->status == ACCOUNT_OK && w->kind != PA_PASSWD) {
		struct hub *hub = door_hub(c);
		hub_account(hub, c->user, w->account);
		/* Logged in, the account's own nick is the user's to take if
		 * nobody holds it (its other connections keep theirs). */
		if (w->kind == PA_LOGIN && strcasecmp(c->user->nick, w->account) != 0 &&
		    hub_user_find(hub, w->account) == NULL &&
		    hub_nick(hub, c->user, w->account) == HUB_OK)
			snprintf(w->renamed, sizeof w->renamed, "%s", w->account);
	}
	if (c != NULL)
		conn_page_resume(c, &w->base);
	wait_unref(w);
}

/* Asks the service through call (which is given the wait as its ctx)
 * and parks the answer's place in c's output. */
static void
ask(struct conn *c, enum pa_kind kind, const char *name,
    enum account_status (*call)(struct conn *c, struct pa_wait *w, void *arg), void *arg)
{
	struct pa_wait *w = calloc(1, sizeof *w);
	if (w == NULL) {
		plain_err(c, PLAIN_ERR_NOMEM);
		return;
	}
	w->kind = kind;
	w->conn = c;
	w->refs = 2;  /* the call's and the pager's */
	snprintf(w->account, sizeof w->account, "%s", name != NULL ? name : "");
	enum account_status st = call(c, w, arg);
	if (st != ACCOUNT_PENDING) {
		free(w);
		account_error(c, st, name);
		return;
	}
	w->base.fill = wait_fill;
	w->base.free = wait_free;
	w->base.parked = 1;
	conn_page(c, &w->base);
}

static struct accounts *
accounts_of(struct conn *c)
{
	return door_env(c)->accounts;
}

/* Logged in already: nothing to register or log in to. */
static int
logged_in(struct conn *c)
{
	if (c->user->account[0] == '\0')
		return 0;
	plain_err(c, PLAIN_ERR_LOGGED_IN, c->user->account);
	return 1;
}

struct pa_args {
	const char *name, *password, *new_password;
};

static enum account_status
call_register(struct conn *c, struct pa_wait *w, void *arg)
{
	const struct pa_args *a = arg;
	return accounts_register(accounts_of(c), a->name, a->password, c->user->addr, wait_done, w);
}

void
plain_register(struct conn *c, char *args)
{
	/* "/register #room": a room, not a password (plain_rooms.h). */
	if (args != NULL && args[strspn(args, " ")] == '#') {
		plain_register_room(c, text_word(&args));
		return;
	}
	char *password = text_rest(&args);
	if (password == NULL) {
		plain_err(c, PLAIN_ERR_USAGE, "/register PASSWORD");
		return;
	}
	if (logged_in(c))
		return;
	/* The nick now is what is registered (and so not a guest's number
	 * by mistake: a guest may register it all the same). */
	struct pa_args a = { .name = c->user->nick, .password = password };
	char name[NICK_LEN_MAX + 1];
	snprintf(name, sizeof name, "%s", c->user->nick);
	ask(c, PA_REGISTER, name, call_register, &a);
}

static enum account_status
call_login(struct conn *c, struct pa_wait *w, void *arg)
{
	const struct pa_args *a = arg;
	return accounts_login(accounts_of(c), a->name, a->password, c->user->addr, wait_done, w);
}

void
plain_login(struct conn *c, char *args)
{
	char *name = text_word(&args);
	char *password = text_rest(&args);
	if (name == NULL || password == NULL) {
		plain_err(c, PLAIN_ERR_USAGE, "/login NAME PASSWORD");
		return;
	}
	if (logged_in(c))
		return;
	struct pa_args a = { .name = name, .password = password };
	ask(c, PA_LOGIN, name, call_login, &a);
}

void
plain_logout(struct conn *c, char *args)
{
	(void)args;
	struct user *u = c->user;
	if (u->account[0] == '\0') {
		plain_err(c, PLAIN_ERR_NOT_LOGGED_IN);
		return;
	}
	struct hub *hub = door_hub(c);
	conn_sendf(c, "-- you are logged out of %s\n", u->account);
	hub_account(hub, u, NULL);
	/* A registered nick is nobody's but its account's. */
	if (hub_account_owner(hub, u->nick) != NULL) {
		conn_sendf(c, "-- %s is a registered account's: you get a guest's name\n", u->nick);
		if (hub_nick_guest(hub, u) != HUB_OK)
			conn_close(c, "Out of memory", CONN_CLOSE_NOW);
	}
}

static enum account_status
call_passwd(struct conn *c, struct pa_wait *w, void *arg)
{
	const struct pa_args *a = arg;
	return accounts_passwd(accounts_of(c), a->name, a->password, a->new_password,
	    c->user->addr, wait_done, w);
}

void
plain_passwd(struct conn *c, char *args)
{
	char *old = text_word(&args);
	char *new_password = text_rest(&args);
	if (old == NULL || new_password == NULL) {
		plain_err(c, PLAIN_ERR_USAGE, "/passwd OLD NEW");
		return;
	}
	if (c->user->account[0] == '\0') {
		plain_err(c, PLAIN_ERR_NOT_LOGGED_IN);
		return;
	}
	char name[ACCOUNT_LEN_MAX + 1];
	snprintf(name, sizeof name, "%s", c->user->account);
	struct pa_args a = { .name = name, .password = old, .new_password = new_password };
	ask(c, PA_PASSWD, name, call_passwd, &a);
}
