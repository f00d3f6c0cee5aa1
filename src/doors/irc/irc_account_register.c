/* draft/account-registration (IRCv3, work in progress): REGISTER, with
 * before-connect (registration waits for the answer), and VERIFY, which
 * has nothing to verify: no e-mail is asked for. The account is the
 * nickname (no custom-account-name). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "accounts/accounts.h"
#include "doors/irc/irc.h"

static void
register_done(struct conn *c, const struct account_result *r, struct irc_account_job *j)
{
	const char *name = j->name;
	switch (r->status) {
	case ACCOUNT_OK:
		irc_send(c, ":%s REGISTER SUCCESS %s :Account successfully registered",
		    irc_server_name(c), r->account);
		irc_account_set(c, r->account);
		break;
	case ACCOUNT_EXISTS:
		irc_fail(c, "REGISTER", "ACCOUNT_EXISTS", name,
		    "That name is already registered or in use");
		break;
	case ACCOUNT_BAD_NAME:
		irc_fail(c, "REGISTER", "BAD_ACCOUNT_NAME", name,
		    "That name cannot be an account's");
		break;
	case ACCOUNT_BAD_PASSWORD: {
		char text[128];
		snprintf(text, sizeof text, "A password has from %d to %d bytes",
		    ACCOUNT_PASSWORD_MIN, ACCOUNT_PASSWORD_MAX);
		irc_fail(c, "REGISTER", "UNACCEPTABLE_PASSWORD", name, text);
		break;
	}
	default:
		irc_fail(c, "REGISTER", "TEMPORARILY_UNAVAILABLE", name,
		    account_status_text(r->status));
		break;
	}
	/* Registration may have waited for this answer. */
	if (c->user == NULL)
		irc_try_register(c);
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
		/* A cluster's accounts need a database its nodes share
		 * (PostgreSQL's, docs/cluster.md). */
		irc_fail(c, "REGISTER", "TEMPORARILY_UNAVAILABLE", want,
		    door_cfg(c)->cluster != NULL ? "This cluster keeps no accounts: they need a database its nodes share" :
		    "This server keeps no accounts");
		return;
	}
	/* Before registration only where so configured, and where nothing
	 * else guards the door (a server's password). */
	if (c->user == NULL && !irc_register_early(c)) {
		irc_fail(c, "REGISTER", "COMPLETE_CONNECTION_REQUIRED", nick[0] ? nick : "*",
		    "Complete the connection first");
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
