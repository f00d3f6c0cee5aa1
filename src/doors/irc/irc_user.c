/* IRC commands about oneself and server operators: OPER, KILL, CHGHOST,
 * AWAY, SETNAME. */
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "doors/irc/irc.h"
#include "net/conn_log.h"

void
irc_cmd_oper(struct conn *c, struct irc_message *m)
{
	const struct config_list *opers = &door_cfg(c)->oper;
	size_t namelen = strlen(m->params[0]);
	char addr[CONN_ADDR_MAX];
	for (int i = 0; i < opers->n; i++) {
		const char *entry = opers->v[i];
		if (strncmp(entry, m->params[0], namelen) != 0 || entry[namelen] != ':' ||
		    strcmp(entry + namelen + 1, m->params[1]) != 0)
			continue;
		hub_umode(door_hub(c), c->user, UMODE_OPER, 1);
		conn_log(c, LOG_INFO, "%s %s: OPER as %s", conn_addr(c, addr), c->user->nick, m->params[0]);
		irc_num(c, RPL_YOUREOPER);
		irc_send(c, ":%s MODE %s +o", c->user->nick, c->user->nick);
		return;
	}
	conn_log(c, LOG_WARN, "%s %s: failed OPER as %s", conn_addr(c, addr), c->user->nick, m->params[0]);
	irc_num(c, ERR_PASSWDMISMATCH);
}

void
irc_cmd_kill(struct conn *c, struct irc_message *m)
{
	if (!(c->user->umodes & UMODE_OPER)) {
		irc_num(c, ERR_NOPRIVILEGES);
		return;
	}
	struct user *victim = hub_user_find(door_hub(c), m->params[0]);
	if (victim == NULL) {
		irc_num(c, ERR_NOSUCHNICK, m->params[0]);
		return;
	}
	char before[sizeof "Killed ( (" + NICK_LEN_MAX], reason[HUB_REASON_MAX + 1];
	char addr[CONN_ADDR_MAX];
	snprintf(before, sizeof before, "Killed (%s (", c->user->nick);
	irc_reason(reason, before, m->params[1], "))");
	conn_log(c, LOG_INFO, "%s %s: KILL %s (%s)", conn_addr(c, addr), c->user->nick,
	    victim->nick, m->params[1]);
	victim->ops->disconnect(victim, reason);
}

/* CHGHOST nick host: an operator gives a user another displayed host (a
 * vhost, e.g. a cloak), as InspIRCd and UnrealIRCd have it. The only way
 * a host changes until accounts bring their own. */
void
irc_cmd_chghost(struct conn *c, struct irc_message *m)
{
	if (!(c->user->umodes & UMODE_OPER)) {
		irc_num(c, ERR_NOPRIVILEGES);
		return;
	}
	struct user *u = hub_user_find(door_hub(c), m->params[0]);
	if (u == NULL) {
		irc_num(c, ERR_NOSUCHNICK, m->params[0]);
		return;
	}
	enum hub_status st = hub_chghost(door_hub(c), u, m->params[1]);
	if (st != HUB_OK) {
		irc_hub_error(c, st, m->params[1], NULL);
		return;
	}
	char addr[CONN_ADDR_MAX];
	conn_log(c, LOG_INFO, "%s %s: CHGHOST %s %s", conn_addr(c, addr), c->user->nick, u->nick, u->host);
	if (u != c->user)
		irc_notice(c, "The displayed host of %s is now %s", u->nick, u->host);
}

void
irc_cmd_away(struct conn *c, struct irc_message *m)
{
	const char *text = m->nparams > 0 && m->params[0][0] ? m->params[0] : NULL;
	enum hub_status st = hub_away(door_hub(c), c->user, text);
	if (st != HUB_OK) {
		irc_hub_error(c, st, "*", NULL);
		return;
	}
	if (text != NULL)
		irc_num(c, RPL_NOWAWAY);
	else
		irc_num(c, RPL_UNAWAY);
}

void
irc_cmd_setname(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		irc_fail(c, "SETNAME", "INVALID_REALNAME", NULL, "Realname is not valid");
		return;
	}
	irc_hub_error(c, hub_setname(door_hub(c), c->user, m->params[0]), "*", NULL);
}
