/* Accounts on the IRC door: logging in and out (900, 901, account-notify
 * through the hub), the calls to the accounts service answered through
 * the command's reply, and draft/account-registration (REGISTER, VERIFY).
 * SASL is irc_sasl.c's, NickServ irc_nickserv.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts/accounts.h"
#include "doors/irc/irc.h"

struct accounts *
irc_accounts(struct conn *c)
{
	return door_env(c)->accounts;
}

const char *
irc_account_addr(struct conn *c)
{
	return c->host;
}

const char *
irc_account_of(struct conn *c)
{
	return c->user != NULL ? c->user->account : irc_session(c)->account;
}

/* The user holds a nickname that belongs to an account it is not logged
 * in as (it logged out, or in as another): it takes a guest's instead,
 * so that nobody is left holding a name that is not theirs. */
static void
give_up_owned_nick(struct conn *c)
{
	struct hub *hub = door_hub(c);
	struct user *u = c->user;
	if (hub_nick_available(hub, u->nick, u) != HUB_EOWNED)
		return;
	char nick[NICK_LEN_MAX + 1];
	for (unsigned i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(nick, sizeof nick, "Guest%u", u->serial);
		else
			snprintf(nick, sizeof nick, "Guest%u_%u", u->serial, i);
		if (hub_nick(hub, u, nick) == HUB_OK)
			return;
	}
}

void
irc_account_set(struct conn *c, const char *account)
{
	struct irc_session *s = irc_session(c);
	const char *name = account != NULL ? account : "";
	char mask[HUB_MASK_MAX];
	if (c->user != NULL) {
		hub_account(door_hub(c), c->user, name);
		hub_user_mask(c->user, mask);
	} else {
		snprintf(s->account, sizeof s->account, "%s", name);
		snprintf(mask, sizeof mask, "%s!%s@%s", irc_target(c),
		    s->ident[0] ? s->ident : "*", c->host);
	}
	if (name[0] != '\0')
		irc_num(c, RPL_LOGGEDIN, mask, name, name);
	else
		irc_num(c, RPL_LOGGEDOUT, mask);
	if (c->user != NULL)
		give_up_owned_nick(c);
}

/* Jobs: a call to the service whose answer finishes the command's reply. */

struct irc_account_job *
irc_account_job(struct conn *c, irc_account_fn *fn)
{
	struct irc_account_job *j = calloc(1, sizeof *j);
	if (j == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return NULL;
	}
	if ((j->reply = irc_reply_keep(c)) == NULL) {
		free(j);
		return NULL;
	}
	j->fn = fn;
	j->gen = irc_session(c)->sasl_gen;
	return j;
}

static void
job_free(struct irc_account_job *j)
{
	irc_reply_done(j->reply);
	explicit_bzero(j, sizeof *j);
	free(j);
}

void
irc_account_done(void *ctx, const struct account_result *r)
{
	struct irc_account_job *j = ctx;
	struct conn *c = irc_reply_resume(j->reply);
	if (c != NULL && c->state == CONN_OPEN) {
		struct irc_session *s = irc_session(c);
		if (j->busy && s->account_busy > 0)
			s->account_busy--;
		j->fn(c, r, j);
		/* Registration may have waited for this answer. */
		if (j->busy && c->user == NULL)
			irc_try_register(c);
	}
	job_free(j);
}

void
irc_account_wait(struct conn *c, struct irc_account_job *j, int status)
{
	if (status == ACCOUNT_PENDING) {
		if (j->busy)
			irc_session(c)->account_busy++;
		return;
	}
	struct account_result r = { .status = (enum account_status)status };
	j->fn(c, &r, j);
	job_free(j);
}

/* draft/account-registration. */

static void
register_done(struct conn *c, const struct account_result *r, struct irc_account_job *j)
{
	const char *name = j->name;
	switch (r->status) {
	case ACCOUNT_OK:
		irc_send(c, ":%s REGISTER SUCCESS %s :Account successfully registered",
		    irc_server_name(c), r->account);
		irc_account_set(c, r->account);
		return;
	case ACCOUNT_EXISTS:
		irc_fail(c, "REGISTER", "ACCOUNT_EXISTS", name,
		    "That name is already registered or in use");
		return;
	case ACCOUNT_BAD_NAME:
		irc_fail(c, "REGISTER", "BAD_ACCOUNT_NAME", name,
		    "That name cannot be an account's");
		return;
	case ACCOUNT_BAD_PASSWORD: {
		char text[128];
		snprintf(text, sizeof text, "A password has from %d to %d bytes",
		    ACCOUNT_PASSWORD_MIN, ACCOUNT_PASSWORD_MAX);
		irc_fail(c, "REGISTER", "UNACCEPTABLE_PASSWORD", name, text);
		return;
	}
	default:
		irc_fail(c, "REGISTER", "TEMPORARILY_UNAVAILABLE", name,
		    account_status_text(r->status));
		return;
	}
}

/* REGISTER <account> {<email> | *} <password>. The account is the
 * nickname (no custom-account-name); an e-mail address, if given, is not
 * kept: no verification is configured. */
void
irc_cmd_register(struct conn *c, struct irc_message *m)
{
	struct irc_session *s = irc_session(c);
	struct hub *hub = door_hub(c);
	if (m->nparams < 3) {
		irc_fail(c, "REGISTER", "NEED_MORE_PARAMS", NULL, "Not enough parameters");
		return;
	}
	const char *want = m->params[0], *password = m->params[2];
	const char *nick = c->user != NULL ? c->user->nick :
	    s->nick[0] ? s->nick : s->asked_nick;
	if (irc_accounts(c) == NULL) {
		irc_fail(c, "REGISTER", "TEMPORARILY_UNAVAILABLE", want,
		    "This server keeps no accounts");
		return;
	}
	/* Before registration only where nothing else guards the door. */
	if (c->user == NULL && door_cfg(c)->password != NULL && !s->pass_ok) {
		irc_fail(c, "REGISTER", "COMPLETE_CONNECTION_REQUIRED", NULL,
		    "Complete the connection (with the server's password) first");
		return;
	}
	if (nick[0] == '\0') {
		irc_fail(c, "REGISTER", "NEED_NICK", "*", "Choose a nickname first");
		return;
	}
	if (strcmp(want, "*") != 0 && strcasecmp(want, nick) != 0) {
		irc_fail(c, "REGISTER", "ACCOUNT_NAME_MUST_BE_NICK", want,
		    "An account's name is your nickname");
		return;
	}
	if (irc_account_of(c)[0] != '\0') {
		irc_fail(c, "REGISTER", "ALREADY_AUTHENTICATED", nick,
		    "You are logged in already");
		return;
	}
	/* Nobody registers a name someone else holds now. */
	struct user *holder = hub_user_find(hub, nick);
	if ((holder != NULL && holder != c->user) || hub_account_owner(hub, nick) != NULL) {
		irc_fail(c, "REGISTER", "ACCOUNT_EXISTS", nick,
		    "That name is already registered or in use");
		return;
	}
	struct irc_account_job *j = irc_account_job(c, register_done);
	if (j == NULL)
		return;
	j->busy = 1;
	snprintf(j->name, sizeof j->name, "%s", nick);
	irc_account_wait(c, j, accounts_register(irc_accounts(c), nick, password,
	    irc_account_addr(c), irc_account_done, j));
}

/* VERIFY <account> <code>: nothing here needs verifying. */
void
irc_cmd_verify(struct conn *c, struct irc_message *m)
{
	const char *name = m->nparams > 0 ? m->params[0] : "*";
	if (irc_account_of(c)[0] != '\0')
		irc_fail(c, "VERIFY", "ALREADY_AUTHENTICATED", name, "You are logged in already");
	else
		irc_fail(c, "VERIFY", "INVALID_CODE", name,
		    "No verification is needed here: REGISTER logs you in at once");
}
