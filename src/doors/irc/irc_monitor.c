/* MONITOR (IRCv3 monitor): the command, and the numerics and events a
 * watcher gets (extended-monitor). The lists live in the hub
 * (hub_monitor.c); this file only speaks IRC about them. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "chat/bounds.h"
#include "chat/hub_monitor.h"
#include "doors/irc/irc.h"

/* Targets are gathered into lines of at most this many bytes. */
#define MONITOR_LINE IRC_LIST_LINE

enum monitor_list { MON_ONLINE, MON_OFFLINE, MON_LIST };

/* One numeric being filled with comma-separated targets. */
struct monitor_line {
	struct conn *c;
	enum monitor_list which;
	char buf[MONITOR_LINE + HUB_MASK_MAX + 2];
	size_t len;
};

static void
line_flush(struct monitor_line *l)
{
	if (l->len == 0)
		return;
	if (l->which == MON_ONLINE)
		irc_num(l->c, RPL_MONONLINE, l->buf);
	else if (l->which == MON_OFFLINE)
		irc_num(l->c, RPL_MONOFFLINE, l->buf);
	else
		irc_num(l->c, RPL_MONLIST, l->buf);
	l->len = 0;
}

static void
line_add(struct monitor_line *l, const char *item)
{
	size_t n = strlen(item);
	if (l->len > 0 && l->len + 1 + n > MONITOR_LINE)
		line_flush(l);
	if (l->len > 0)
		l->buf[l->len++] = ',';
	memcpy(l->buf + l->len, item, n + 1);
	l->len += n;
}

/* nick's state into online (730, nick!user@host) or offline (731). */
static void
status_add(struct conn *c, const char *nick, struct monitor_line *online,
    struct monitor_line *offline)
{
	const struct user *u = hub_user_find(door_hub(c), nick);
	if (u == NULL) {
		line_add(offline, nick);
		return;
	}
	char mask[HUB_MASK_MAX];
	hub_user_mask(u, mask);
	line_add(online, mask);
}

struct status_walk {
	struct conn *c;
	struct monitor_line *online, *offline;
};

static void
status_each(const char *nick, void *data)
{
	struct status_walk *w = data;
	status_add(w->c, nick, w->online, w->offline);
}

static void
list_each(const char *nick, void *data)
{
	line_add(data, nick);
}

static void
monitor_add(struct conn *c, char *targets)
{
	struct monitor_line online = { .c = c, .which = MON_ONLINE };
	struct monitor_line offline = { .c = c, .which = MON_OFFLINE };
	char *next = targets, *nick;
	while ((nick = strsep(&next, ",")) != NULL) {
		/* Only nicknames: no masks, so nobody is followed across nicks. */
		if (!name_nick_valid(nick, NICK_LEN_MAX))
			continue;
		enum monitor_result r = hub_monitor_add(door_hub(c), c->user, nick);
		if (r == MONITOR_FULL || r == MONITOR_NOMEM) {
			line_flush(&online);
			line_flush(&offline);
			if (next != NULL)
				next[-1] = ',';  /* this target and the rest, as sent */
			irc_num(c, ERR_MONLISTFULL, HUB_MONITOR_PER_USER,
			    nick);
			return;
		}
		status_add(c, nick, &online, &offline);
	}
	line_flush(&online);
	line_flush(&offline);
}

void
irc_cmd_monitor(struct conn *c, struct irc_message *m)
{
	struct hub *hub = door_hub(c);
	const char *sub = m->params[0];
	if (strcmp(sub, "+") == 0 || strcmp(sub, "-") == 0) {
		if (m->nparams < 2) {
			irc_num(c, ERR_NEEDMOREPARAMS, "MONITOR");
			return;
		}
		if (sub[0] == '+') {
			monitor_add(c, m->params[1]);
			return;
		}
		char *next = m->params[1], *nick;
		while ((nick = strsep(&next, ",")) != NULL)
			hub_monitor_del(hub, c->user, nick);
	} else if (strcasecmp(sub, "C") == 0) {
		hub_monitor_clear(hub, c->user);
	} else if (strcasecmp(sub, "L") == 0) {
		struct monitor_line list = { .c = c, .which = MON_LIST };
		hub_monitor_each(c->user, list_each, &list);
		line_flush(&list);
		irc_num(c, RPL_ENDOFMONLIST);
	} else if (strcasecmp(sub, "S") == 0) {
		struct monitor_line online = { .c = c, .which = MON_ONLINE };
		struct monitor_line offline = { .c = c, .which = MON_OFFLINE };
		struct status_walk w = { c, &online, &offline };
		hub_monitor_each(c->user, status_each, &w);
		line_flush(&online);
		line_flush(&offline);
	}
}

void
irc_monitor_presence(struct user *u, const char *nick, const struct user *who)
{
	struct conn *c = u->door;
	if (who == NULL) {
		irc_num(c, RPL_MONOFFLINE, nick);
		return;
	}
	char mask[HUB_MASK_MAX];
	hub_user_mask(who, mask);
	irc_num(c, RPL_MONONLINE, mask);
}

void
irc_monitor_watched(struct user *u, struct msg *m)
{
	struct conn *c = u->door;
	unsigned caps_on = irc_session(c)->caps;
	if (!(caps_on & CAP_EXTENDED_MONITOR))
		return;
	/* A host change reaches only who asked for chghost: its fallback
	 * (a quit and joins) means nothing to one outside the rooms. */
	if (m->kind == MSG_CHGHOST && !(caps_on & CAP_CHGHOST))
		return;
	irc_deliver_to(c, m);
}
