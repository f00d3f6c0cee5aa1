/* PRIVMSG, NOTICE and TAGMSG: to channels and nicks, several targets at
 * once. A CTCP ACTION becomes a hub action, so plain users see "* nick
 * waves". Client-only tags (+name) travel with the message to the
 * recipients that speak message-tags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doors/irc/irc.h"

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

void
irc_send_message(struct conn *c, const char *target, enum msg_kind kind,
    const char *text, const char *tags, int quiet)
{
	struct hub *hub = door_hub(c);
	struct msg *sent = NULL;
	enum hub_status st;
	if (target[0] == '#') {
		struct room *room = hub_room_find(hub, target);
		if (room == NULL) {
			if (!quiet)
				irc_num(c, ERR_NOSUCHNICK, target);
			return;
		}
		st = hub_say_msg(hub, c->user, room, kind, text, tags, &sent);
		if (st == HUB_ENOTIN)
			st = HUB_ECANNOTSEND;
		if (st != HUB_OK && !quiet)
			irc_hub_error(c, st, target, room->name);
	} else {
		struct user *to;
		st = hub_private(hub, c->user, target, kind, text, tags, &to, &sent);
		if (st != HUB_OK) {
			if (!quiet)
				irc_hub_error(c, st, target, NULL);
		} else if (to->away != NULL && kind != MSG_NOTICE && kind != MSG_TAGMSG)
			irc_num(c, RPL_AWAY, to->nick, to->away);
	}
	if (sent == NULL)
		return;
	if (irc_session(c)->caps & CAP_ECHO_MESSAGE)
		irc_deliver_to(c, sent);
	msg_unref(sent);
}

static void
message(struct conn *c, struct irc_message *m, enum msg_kind kind)
{
	static const char *const names[] = {
		[MSG_SAY] = "PRIVMSG", [MSG_NOTICE] = "NOTICE", [MSG_TAGMSG] = "TAGMSG",
	};
	/* Modern IRC: no error ever answers a NOTICE, so no loop of bots. */
	int quiet = kind == MSG_NOTICE;
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		if (!quiet)
			irc_num(c, ERR_NORECIPIENT, names[kind]);
		return;
	}
	char *text = NULL;
	if (kind != MSG_TAGMSG) {
		if (m->nparams < 2 || m->params[1][0] == '\0') {
			if (!quiet)
				irc_num(c, ERR_NOTEXTTOSEND);
			return;
		}
		text = m->params[1];
		char *action = kind == MSG_SAY ? ctcp_action(text) : NULL;
		if (action != NULL) {
			kind = MSG_ACTION;
			text = action;
		}
	}
	char tagbuf[IRC_TAGS_LEN_MAX];
	const char *tags = irc_client_tags(m, tagbuf, sizeof tagbuf);
	if (kind == MSG_TAGMSG && tags == NULL)
		return; /* nothing to carry */
	/* NickServ is no user: what is said to it (a password) goes to the
	 * service alone, and is not echoed. */
	if (kind == MSG_SAY && strcasecmp(m->params[0], IRC_NICKSERV) == 0) {
		irc_nickserv(c, text);
		return;
	}
	/* ChanServ is no user: what is said to it is for the service. */
	if (kind == MSG_SAY && strcasecmp(m->params[0], IRC_CHANSERV) == 0) {
		irc_chanserv(c, text);
		return;
	}
	char *targets = m->params[0], *target;
	int count = 0;
	while ((target = irc_list_next(&targets)) != NULL) {
		if (++count > IRC_TARGETS_MAX) {
			if (!quiet)
				irc_num(c, ERR_TOOMANYTARGETS, target);
			return;
		}
		irc_send_message(c, target, kind, text, tags, quiet);
	}
}

void
irc_cmd_privmsg(struct conn *c, struct irc_message *m)
{
	message(c, m, MSG_SAY);
}

void
irc_cmd_notice(struct conn *c, struct irc_message *m)
{
	message(c, m, MSG_NOTICE);
}

void
irc_cmd_tagmsg(struct conn *c, struct irc_message *m)
{
	message(c, m, MSG_TAGMSG);
}

/* REDACT target msgid [reason] (IRCv3 draft/message-redaction). */
void
irc_cmd_redact(struct conn *c, struct irc_message *m)
{
	const char *target = m->params[0], *msgid = m->params[1];
	enum hub_status st = hub_redact(door_hub(c), c->user, target, msgid,
	    m->nparams > 2 ? m->params[2] : NULL);
	if (st == HUB_ENOROOM || st == HUB_ENOTIN || st == HUB_ENONICK) {
		char text[IRC_LINE_MAX];
		snprintf(text, sizeof text, "You cannot delete messages from %s", target);
		irc_fail(c, "REDACT", "INVALID_TARGET", target, text);
	} else
		irc_hub_error(c, st, msgid, target);
}
