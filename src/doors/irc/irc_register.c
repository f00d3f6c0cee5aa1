/* Registration (PASS, NICK, USER; then the welcome), and the commands
 * about the link itself: PING, PONG, QUIT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/text.h"
#include "doors/irc/irc.h"
#include "net/conn_log.h"

static const struct user_ops irc_user_ops = {
	.deliver = irc_deliver,
	.disconnect = door_disconnect_user,
	.presence = irc_monitor_presence,
	.watched = irc_monitor_watched,
};

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
	/* Logged in already (SASL, REGISTER): the user is made so, and its
	 * nickname may be its account's; anyone else's registered nickname
	 * is refused here (433), and the client may choose another. */
	enum hub_status st;
	c->user = hub_user_new_as(door_hub(c), s->nick, s->account, &irc_user_ops, c,
	    s->ident, c->host, s->realname, &st);
	if (c->user == NULL) {
		irc_hub_error(c, st, s->nick, NULL);
		s->nick[0] = '\0';
		return;
	}
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

