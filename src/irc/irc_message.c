/* PRIVMSG and NOTICE: to channels and nicks, several targets at once.
 * A CTCP ACTION becomes a hub action, so plain users see "* nick waves". */
#include <stdio.h>
#include <string.h>

#include "irc/irc.h"

#define IRC_TARGETS_MAX 4   /* TARGMAX in ISUPPORT */

/* "\1ACTION waves\1" → "waves"; NULL when text is not an action. */
static char *
ctcp_action(char *text)
{
	if (strncmp(text, "\001ACTION ", 8) != 0)
		return NULL;
	char *body = text + 8;
	size_t n = strlen(body);
	if (n > 0 && body[n - 1] == '\001')
		body[n - 1] = '\0';
	return body;
}

static void
send_one(struct conn *c, const char *target, enum msg_kind kind, const char *text,
    int quiet)
{
	struct hub *hub = &c->srv->hub;
	struct msg *sent = NULL;
	enum hub_status st;
	if (target[0] == '#') {
		struct room *room = hub_room_find(hub, target);
		if (room == NULL) {
			if (!quiet)
				irc_numeric(c, "401", "%s :No such nick/channel", target);
			return;
		}
		st = hub_say_msg(hub, c->user, room, kind, text, &sent);
		if (st == HUB_ENOTIN)
			st = HUB_ECANNOTSEND;
		if (st != HUB_OK && !quiet)
			irc_hub_error(c, st, target, room->name);
	} else {
		struct user *to;
		st = hub_private(hub, c->user, target, kind, text, &to, &sent);
		if (st != HUB_OK) {
			if (!quiet)
				irc_hub_error(c, st, target, NULL);
		} else if (to->away != NULL && kind != MSG_NOTICE)
			irc_numeric(c, "301", "%s :%s", to->nick, to->away);
	}
	if (sent == NULL)
		return;
	if (irc_session(c)->caps & CAP_ECHO_MESSAGE)
		irc_deliver_to(c, sent);
	msg_unref(sent);
}

static void
message(struct conn *c, struct irc_message *m, int notice)
{
	const char *cmd = notice ? "NOTICE" : "PRIVMSG";
	/* Modern IRC: no error ever answers a NOTICE, so no loop of bots. */
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		if (!notice)
			irc_numeric(c, "411", ":No recipient given (%s)", cmd);
		return;
	}
	if (m->nparams < 2 || m->params[1][0] == '\0') {
		if (!notice)
			irc_numeric(c, "412", ":No text to send");
		return;
	}
	char *text = m->params[1];
	enum msg_kind kind = notice ? MSG_NOTICE : MSG_SAY;
	char *action = notice ? NULL : ctcp_action(text);
	if (action != NULL) {
		kind = MSG_ACTION;
		text = action;
	}
	char *targets = m->params[0];
	int count = 0;
	while (targets != NULL && *targets != '\0') {
		char *target = targets;
		char *comma = strchr(targets, ',');
		if (comma != NULL) {
			*comma = '\0';
			targets = comma + 1;
		} else
			targets = NULL;
		if (++count > IRC_TARGETS_MAX) {
			if (!notice)
				irc_numeric(c, "407", "%s :Too many targets", target);
			return;
		}
		send_one(c, target, kind, text, notice);
	}
}

void
irc_cmd_privmsg(struct conn *c, struct irc_message *m)
{
	message(c, m, 0);
}

void
irc_cmd_notice(struct conn *c, struct irc_message *m)
{
	message(c, m, 1);
}
