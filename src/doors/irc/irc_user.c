/* IRC commands about oneself and server operators: OPER, KILL, CHGHOST,
 * AWAY, SETNAME. */
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "base/text.h"
#include "doors/irc/irc.h"

void
irc_cmd_oper(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 2) {
		irc_numeric(c, "461", "OPER :Not enough parameters");
		return;
	}
	const struct config_list *opers = &door_cfg(c)->oper;
	size_t namelen = strlen(m->params[0]);
	for (int i = 0; i < opers->n; i++) {
		const char *entry = opers->v[i];
		if (strncmp(entry, m->params[0], namelen) != 0 || entry[namelen] != ':' ||
		    strcmp(entry + namelen + 1, m->params[1]) != 0)
			continue;
		hub_umode(door_hub(c), c->user, UMODE_OPER, 1);
		log_info("%s %s: OPER as %s", conn_addr(c), c->user->nick, m->params[0]);
		irc_numeric(c, "381", ":You are now an IRC operator");
		irc_send(c, ":%s MODE %s +o", c->user->nick, c->user->nick);
		return;
	}
	log_warn("%s %s: failed OPER as %s", conn_addr(c), c->user->nick, m->params[0]);
	irc_numeric(c, "464", ":Password incorrect");
}

void
irc_cmd_kill(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 2) {
		irc_numeric(c, "461", "KILL :Not enough parameters");
		return;
	}
	if (!(c->user->umodes & UMODE_OPER)) {
		irc_numeric(c, "481", ":Permission Denied- You're not an IRC operator");
		return;
	}
	struct user *victim = hub_user_find(door_hub(c), m->params[0]);
	if (victim == NULL) {
		irc_numeric(c, "401", "%s :No such nick/channel", m->params[0]);
		return;
	}
	char before[NICK_LEN_MAX + 16], reason[HUB_REASON_MAX + 1];
	snprintf(before, sizeof before, "Killed (%s (", c->user->nick);
	irc_reason(reason, before, m->params[1], "))");
	log_info("%s %s: KILL %s (%s)", conn_addr(c), c->user->nick, victim->nick, m->params[1]);
	victim->ops->disconnect(victim, reason);
}

/* CHGHOST nick host: an operator gives a user another displayed host (a
 * vhost, e.g. a cloak), as InspIRCd and UnrealIRCd have it. The only way
 * a host changes until accounts bring their own. */
void
irc_cmd_chghost(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 2) {
		irc_numeric(c, "461", "CHGHOST :Not enough parameters");
		return;
	}
	if (!(c->user->umodes & UMODE_OPER)) {
		irc_numeric(c, "481", ":Permission Denied- You're not an IRC operator");
		return;
	}
	struct user *u = hub_user_find(door_hub(c), m->params[0]);
	if (u == NULL) {
		irc_numeric(c, "401", "%s :No such nick/channel", m->params[0]);
		return;
	}
	enum hub_status st = hub_chghost(door_hub(c), u, m->params[1]);
	if (st != HUB_OK) {
		irc_hub_error(c, st, m->params[1], NULL);
		return;
	}
	log_info("%s %s: CHGHOST %s %s", conn_addr(c), c->user->nick, u->nick, u->host);
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
		irc_numeric(c, "306", ":You have been marked as being away");
	else
		irc_numeric(c, "305", ":You are no longer marked as being away");
}

void
irc_cmd_setname(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		irc_send(c, ":%s FAIL SETNAME INVALID_REALNAME :Realname is not valid",
		    irc_server_name(c));
		return;
	}
	irc_hub_error(c, hub_setname(door_hub(c), c->user, m->params[0]), "*", NULL);
}
