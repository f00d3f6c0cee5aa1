/* Registration (PASS, NICK, USER; then the welcome), and the commands
 * about the link itself: PING, PONG, QUIT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/text.h"
#include "doors/irc/irc.h"
#include "net/conn_log.h"

static const struct user_ops irc_user_ops = {
	.deliver = irc_deliver,
	.disconnect = door_disconnect_user,
	.presence = irc_monitor_presence,
	.watched = irc_monitor_watched,
	.hold = door_hold_user,
};

/* In a cluster, NICK's and registration's nickname is the cluster's to
 * give first (irc_claim.c); what the hub refuses anyway (taken here or
 * on a node this one heard of, bad, reserved) is refused at once. */
#define IRC_CLAIMS_MAX 4   /* NICKs of one client waiting at once: past it, 263 */

static int
claimed_to_register(struct conn *c, const char *nick, enum cluster_claim result)
{
	struct irc_session *s = irc_session(c);
	if (c->user != NULL)
		return 0;
	if (result == CLUSTER_CLAIM_OK)
		snprintf(s->claimed, sizeof s->claimed, "%s", nick);
	else if (strcasecmp(s->nick, nick) == 0) {
		if (result == CLUSTER_CLAIM_BUSY)
			irc_num(c, RPL_TRYAGAIN, "NICK");
		else
			irc_hub_error(c, HUB_ENICKINUSE, nick, NULL);
		s->nick[0] = '\0';
		return 0;
	}
	/* Given, or refused a nickname the client changed since: the
	 * registration goes on with the one it has now. */
	irc_try_register(c);
	return 1;
}

/* 0 when c may be registered with its nick now (no cluster, or the
 * cluster gave it), 1 when it waits for the cluster or was refused. */
static int
claim_to_register(struct conn *c)
{
	struct cluster *cl = door_env(c)->cluster;
	struct irc_session *s = irc_session(c);
	if (cl == NULL)
		return 0;
	if (s->claims > 0)
		return 1;
	if (s->claimed[0] != '\0' && strcasecmp(s->claimed, s->nick) == 0)
		return 0;
	/* The client changed its nickname since the cluster gave one. */
	if (s->claimed[0] != '\0') {
		cluster_release(cl, s->claimed, c->id);
		s->claimed[0] = '\0';
	}
	enum hub_status st = hub_nick_available(door_hub(c), s->nick, NULL);
	if (st != HUB_OK && st != HUB_EOWNED) {
		irc_hub_error(c, st, s->nick, NULL);
		s->nick[0] = '\0';
		return 1;
	}
	irc_claim(c, s->nick, claimed_to_register);
	return 1;
}

/* Registration failed after the cluster gave the nick: given back. */
static void
claim_unused(struct conn *c)
{
	struct cluster *cl = door_env(c)->cluster;
	struct irc_session *s = irc_session(c);
	if (cl != NULL && s->claimed[0] != '\0')
		cluster_release(cl, s->claimed, c->id);
	s->claimed[0] = '\0';
}

static int
claimed_to_rename(struct conn *c, const char *nick, enum cluster_claim result)
{
	if (c->user == NULL)
		return 0;
	if (result == CLUSTER_CLAIM_BUSY) {
		irc_num(c, RPL_TRYAGAIN, "NICK");
		return 0;
	}
	enum hub_status st = result == CLUSTER_CLAIM_OK ?
	    hub_nick(door_hub(c), c->user, nick) : HUB_ENICKINUSE;
	irc_hub_error(c, st, nick, NULL);
	return st == HUB_OK;
}

/* NICK of a registered user: 0 when the hub decides now (no cluster, or
 * a change of case), 1 when the cluster is asked. */
static int
claim_to_rename(struct conn *c, const char *nick)
{
	if (door_env(c)->cluster == NULL || strcasecmp(nick, c->user->nick) == 0)
		return 0;
	enum hub_status st = hub_nick_available(door_hub(c), nick, c->user);
	if (st != HUB_OK)
		irc_hub_error(c, st, nick, NULL);
	else if (irc_session(c)->claims >= IRC_CLAIMS_MAX)
		irc_num(c, RPL_TRYAGAIN, "NICK");
	else
		irc_claim(c, nick, claimed_to_rename);
	return 1;
}

void
irc_try_register(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	const struct config *cfg = door_cfg(c);
	if (c->user != NULL || s->negotiating || !s->got_user || s->nick[0] == '\0')
		return;
	/* A login being checked is waited for; a SASL exchange waiting for
	 * the client is given up. */
	if (s->account_busy > 0)
		return;
	if (s->sasl != NULL) {
		irc_sasl_end(c);
		irc_num(c, ERR_SASLABORTED);
	}
	if (cfg->password != NULL && !s->pass_ok) {
		irc_num(c, ERR_PASSWDMISMATCH);
		irc_send_closing(c, "Bad password");
		conn_close(c, "Bad password", CONN_CLOSE_AFTER_FLUSH);
		return;
	}
	/* In a cluster, the nickname is the cluster's to give first. */
	if (claim_to_register(c))
		return;
	/* Logged in already (SASL, REGISTER): the user is made so, and its
	 * nickname may be its account's; anyone else's registered nickname
	 * is refused here (433), and the client may choose another. */
	enum hub_status st;
	c->user = hub_user_new_as(door_hub(c), s->nick, s->account, &irc_user_ops, c,
	    s->ident, c->host, s->realname, &st);
	if (c->user == NULL) {
		claim_unused(c);
		irc_hub_error(c, st, s->nick, NULL);
		s->nick[0] = '\0';
		return;
	}
	s->claimed[0] = '\0';   /* the cluster releases it when the user goes */
	c->user->one_line = 1;
	c->user->secure = (uint8_t)conn_secure(c);
	/* The hub keeps its own copy; an idle session should hold nothing. */
	free(s->realname);
	s->realname = NULL;
	char addr[CONN_ADDR_MAX];
	conn_log(c, LOG_INFO, "%s %s: registered (IRC)", conn_addr(c, addr), c->user->nick);
	irc_welcome(c);
}

void
irc_cmd_pass(struct conn *c, struct irc_message *m)
{
	const struct config *cfg = door_cfg(c);
	if (c->user != NULL) {
		irc_num(c, ERR_ALREADYREGISTERED);
		return;
	}
	if (m->nparams < 1) {
		irc_num(c, ERR_NEEDMOREPARAMS, "PASS");
		return;
	}
	irc_session(c)->pass_ok = cfg->password != NULL &&
	    config_password_ok(cfg, m->params[0]);
}

void
irc_cmd_nick(struct conn *c, struct irc_message *m)
{
	struct irc_session *s = irc_session(c);
	struct hub *hub = door_hub(c);
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		irc_num(c, ERR_NONICKNAMEGIVEN);
		return;
	}
	const char *nick = m->params[0];
	if (c->user != NULL) {
		if (!claim_to_rename(c, nick))
			irc_hub_error(c, hub_nick(hub, c->user, nick), nick, NULL);
		return;
	}
	snprintf(s->asked_nick, sizeof s->asked_nick, "%s", nick);
	/* A registered nickname is checked when registration ends: SASL may
	 * log the client in as its owner before that. */
	enum hub_status st = hub_nick_available(hub, nick, NULL);
	if (st != HUB_OK && st != HUB_EOWNED) {
		irc_hub_error(c, st, nick, NULL);
		return;
	}
	snprintf(s->nick, sizeof s->nick, "%s", nick);
	irc_try_register(c);
}

void
irc_cmd_user(struct conn *c, struct irc_message *m)
{
	struct irc_session *s = irc_session(c);
	if (c->user != NULL || s->got_user) {
		irc_num(c, ERR_ALREADYREGISTERED);
		return;
	}
	/* Modern IRC: an empty username or realname is as good as none. */
	if (m->nparams < 4 || m->params[0][0] == '\0' || m->params[3][0] == '\0') {
		irc_num(c, ERR_NEEDMOREPARAMS, "USER");
		return;
	}
	/* No ident lookup: the name is the client's word, marked with ~, cut
	 * between characters. */
	char ident[IRC_LINE_MAX];
	size_t n = 0;
	ident[n++] = '~';
	for (const char *p = m->params[0]; *p && n < sizeof ident - 1; p++)
		if (*p != '@' && *p != '!' && (unsigned char)*p > ' ')
			ident[n++] = *p;
	ident[n] = '\0';
	n = utf8_fit(ident, n, USER_IDENT_MAX);
	snprintf(s->ident, sizeof s->ident, "%.*s", (int)n, ident);
	free(s->realname);
	s->realname = text_ndup(m->params[3], USER_REALNAME_MAX);
	if (s->realname == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	s->got_user = 1;
	irc_try_register(c);
}

void
irc_cmd_ping(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1) {
		irc_num(c, ERR_NOORIGIN);
		return;
	}
	irc_send(c, ":%s PONG %s :%s", irc_server_name(c), irc_server_name(c), m->params[0]);
}

void
irc_cmd_pong(struct conn *c, struct irc_message *m)
{
	(void)c;
	(void)m; /* any input resets the silence timer already */
}

void
irc_cmd_quit(struct conn *c, struct irc_message *m)
{
	char reason[HUB_REASON_MAX + 1];
	if (m->nparams > 0)
		irc_reason(reason, "Quit: ", m->params[0], "");
	else
		snprintf(reason, sizeof reason, "Quit");
	/* The label's answer must go out before the link closes. */
	irc_reply_end(c);
	irc_send_closing(c, reason);
	conn_close(c, reason, CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_QUIT);
}

