/* The IRC front door: what the server calls it for (a connection opens,
 * a line comes, the link ends). Modern IRC (modern.ircdocs.horse) is its
 * specification, RFC 2812 where that is silent; the work is done by the
 * files irc.h lists. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doors/irc/irc.h"

static void
irc_open(struct conn *c)
{
	struct irc_session *s = calloc(1, sizeof *s);
	if (s == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	c->door_state = s;
}

static void
irc_overlong(struct conn *c)
{
	irc_num(c, ERR_INPUTTOOLONG);
}

static void
irc_closed(struct conn *c, const char *reason)
{
	if (c->user != NULL)
		hub_user_quit(door_hub(c), c->user, reason);
}

static void
irc_shutdown(struct conn *c)
{
	irc_send_closing(c, "Server shutting down");
}

static void
irc_farewell(struct conn *c, const char *reason)
{
	irc_send_closing(c, reason);
}

/* As ircds close a link they will not take: ERROR, then the close. */
static int
irc_refuse(char *buf, size_t cap, const char *host, const char *why)
{
	char reason[HUB_REASON_MAX + 1];
	snprintf(reason, sizeof reason, "%c%s", toupper((unsigned char)why[0]), why + 1);
	return snprintf(buf, cap, IRC_CLOSING_LINK "\r\n", host, reason);
}

static void
irc_ping(struct conn *c)
{
	irc_send(c, "PING :%s", irc_server_name(c));
}

static void
irc_free(struct conn *c)
{
	struct irc_session *s = irc_session(c);
	if (s == NULL)
		return;
	irc_multiline_free(c);
	irc_sasl_end(c);
	irc_markread_free(c);
	irc_reply_forget(c);
	explicit_bzero(s->account, sizeof s->account);
	free(s->realname);
	free(s);
	c->door_state = NULL;
}

const struct door irc_door = {
	.name = "irc",
	.conn = {
		/* Tags, then a 512-byte message: the parser tells which was
		 * too long. */
		.max_line = IRC_TAGS_LEN_MAX + IRC_LINE_MAX,
		.stats_slot = DOOR_SLOT_IRC,
		.flood_control = 1,
		.sendq_bound = 1,
		.tls_client_cert = 1,
		.open = irc_open,
		.line = irc_dispatch,
		.overlong = irc_overlong,
		.closed = irc_closed,
		.shutdown = irc_shutdown,
		.farewell = irc_farewell,
		.refuse = irc_refuse,
		.ping = irc_ping,
		.who = door_who,
		.free = irc_free,
	},
};
