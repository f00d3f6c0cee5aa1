/* Accounts on the IRC door: logging in and out (900, 901, account-notify
 * through the hub), and the calls to the accounts service answered
 * through the command's reply. SASL is irc_sasl.c's, REGISTER and VERIFY
 * irc_account_register.c's, NickServ irc_nickserv.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts/accounts.h"
#include "doors/irc/irc.h"

struct accounts *
irc_accounts(struct conn *c)
{
	/* Accounts live in the history's database: without it (history
	 * off) there are none to offer. */
	const struct door_env *env = door_env(c);
	return env->store != NULL ? env->accounts : NULL;
}

int
irc_register_early(struct conn *c)
{
	const struct config *cfg = door_cfg(c);
	return cfg->register_before_connect && cfg->password == NULL;
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
	if (hub_nick_available(hub, c->user->nick, c->user) == HUB_EOWNED)
		hub_nick_guest(hub, c->user);
}

void
irc_account_set(struct conn *c, const char *account)
{
	irc_account_tell(c, account);
	irc_account_apply(c, account);
}

void
irc_account_tell(struct conn *c, const char *account)
{
	struct irc_session *s = irc_session(c);
	const char *name = account != NULL ? account : "";
	char mask[HUB_MASK_MAX];
	if (c->user != NULL)
		hub_user_mask(c->user, mask);
	else
		snprintf(mask, sizeof mask, "%s!%s@%s", irc_target(c),
		    s->ident[0] ? s->ident : "*", c->host);
	if (name[0] != '\0')
		irc_num(c, RPL_LOGGEDIN, mask, name, name);
	else
		irc_num(c, RPL_LOGGEDOUT, mask);
}

void
irc_account_apply(struct conn *c, const char *account)
{
	const char *name = account != NULL ? account : "";
	if (c->user == NULL) {
		struct irc_session *s = irc_session(c);
		snprintf(s->account, sizeof s->account, "%s", name);
		return;
	}
	hub_account(door_hub(c), c->user, name);
	give_up_owned_nick(c);
}

void
irc_sasl_end(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	if (s->sasl == NULL)
		return;
	accounts_scram_free(s->sasl->scram);
	explicit_bzero(s->sasl, sizeof *s->sasl);
	free(s->sasl);
	s->sasl = NULL;
	s->sasl_gen++;
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
