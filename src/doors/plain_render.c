/* The plain door's lines: each hub event becomes its plain line once,
 * shared by every plain recipient (docs/protocol.md says what they look
 * like); and what a terminal is shown of others' text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "chat/hub.h"
#include "doors/plain_render.h"

/* A message's text behind head (e.g. "#room <nick> "): one line, or for a
 * message of several lines (IRCv3 multiline, from an IRC client) one line
 * per line it holds, continued lines joined, blank ones left out. */
static struct wire *
plain_message(const struct msg *m, const char *text, const char *head)
{
	if (!m->multiline)
		return wire_printf("%s%s\n", head, text);
	size_t hn = strlen(head), n = strlen(text), lines = 1;
	for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	char *buf = malloc(n + lines * (hn + 1));
	if (buf == NULL)
		return NULL;
	size_t out = 0;
	for (const char *p = text;; p++) {
		size_t k = strcspn(p, "\n");
		if (k > 0) {
			memcpy(buf + out, head, hn);
			out += hn;
			for (size_t i = 0; i < k; i++)
				if (p[i] != '\r')
					buf[out++] = p[i];
			buf[out++] = '\n';
		}
		p += k;
		if (*p == '\0')
			break;
	}
	struct wire *w = wire_new(buf, out);
	free(buf);
	return w;
}

/* What nc and telnet users see of someone's text: no IRC formatting and
 * no control characters (text_for_terminal). The text itself, or a copy
 * at *copy (to be freed) when it had some. */
const char *
plain_shown(const char *text, int keep_lf, char **copy)
{
	*copy = NULL;
	if (text == NULL || !text_has_controls(text, keep_lf))
		return text;
	if ((*copy = malloc(strlen(text) + 1)) == NULL)
		return NULL;
	text_for_terminal(*copy, text, keep_lf);
	return *copy;
}

static struct wire *
plain_render_text(const struct msg *m, const char *text)
{
	char head[ROOM_LEN_MAX + NICK_LEN_MAX + 8];
	switch (m->kind) {
	case MSG_SAY:
		snprintf(head, sizeof head, "%s <%s> ", m->room, m->from);
		return plain_message(m, text, head);
	case MSG_ACTION:
		snprintf(head, sizeof head, "%s * %s ", m->room, m->from);
		return plain_message(m, text, head);
	case MSG_PRIVATE:
		snprintf(head, sizeof head, "*%s* ", m->from);
		return plain_message(m, text, head);
	case MSG_JOIN:
		return wire_printf("%s -- %s joined\n", m->room, m->from);
	case MSG_PART:
		if (text == NULL)
			return wire_printf("%s -- %s left\n", m->room, m->from);
		return wire_printf("%s -- %s left: %s\n", m->room, m->from, text);
	case MSG_QUIT:
		return wire_printf("-- %s quit: %s\n", m->from, text);
	case MSG_NICK:
		return wire_printf("-- %s is now known as %s\n", m->from, m->target);
	case MSG_TOPIC:
		if (text == NULL)
			return wire_printf("%s -- %s cleared the topic\n", m->room, m->from);
		return wire_printf("%s -- %s set the topic: %s\n", m->room, m->from, text);
	case MSG_NOTICE:
		/* Plain text has no second kind of message: a notice reads as one. */
		if (m->room != NULL)
			snprintf(head, sizeof head, "%s <%s> ", m->room, m->from);
		else
			snprintf(head, sizeof head, "*%s* ", m->from);
		return plain_message(m, text, head);
	case MSG_KICK:
		if (text == NULL)
			return wire_printf("%s -- %s kicked %s\n", m->room, m->from, m->target);
		return wire_printf("%s -- %s kicked %s: %s\n", m->room, m->from, m->target, text);
	case MSG_MODE:
		return wire_printf("%s -- %s set mode %s\n", m->room, m->from, text);
	case MSG_INVITE:
		return wire_printf("-- %s invited %s to %s\n", m->from, m->target, m->room);
	case MSG_AWAY:
	case MSG_SETNAME:
	case MSG_TAGMSG:
	case MSG_CHGHOST:
	case MSG_REDACT:   /* what a terminal showed stays shown */
	case MSG_CONNECT:  /* reach no user (hub.h) */
	case MSG_UMODE:
	case MSG_ACCOUNT:
	case MSG_REGISTER:
	case MSG_UNREGISTER:
		return NULL; /* nothing a plain user is shown */
	}
	return NULL;
}

struct wire *
plain_render(const struct msg *m)
{
	char *copy;
	const char *text = plain_shown(m->text, m->multiline, &copy);
	if (m->text != NULL && text == NULL)
		return NULL;
	struct wire *w = plain_render_text(m, text);
	free(copy);
	return w;
}

