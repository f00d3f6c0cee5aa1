/* IRC commands that only answer: WHO, WHOIS, WHOWAS, ISON, USERHOST,
 * LUSERS, MOTD, VERSION, TIME, ADMIN, INFO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/config.h"
#include "doors/irc/irc.h"

/* The letters WHOX knows, in the order its replies give them. */
#define WHOX_ORDER "tcuihsnfdlaor"

/* One WHO request: the classic reply (352), or WHOX (IRCv3 whox, 354)
 * with the fields the client asked for and its token. */
struct who_query {
	char fields[sizeof WHOX_ORDER]; /* WHOX field letters asked for; "" for 352 */
	char token[4];           /* WHOX token: up to 3 digits */
	int opers_only;          /* the "o" flag */
};


/* "[o][%fields[,token]]", the second parameter of WHO. */
static void
who_query_parse(struct who_query *q, const char *arg)
{
	memset(q, 0, sizeof *q);
	if (arg == NULL)
		return;
	const char *pct = strchr(arg, '%');
	for (const char *p = arg; *p && p != pct; p++)
		if (*p == 'o')
			q->opers_only = 1;
	if (pct == NULL)
		return;
	size_t n = 0;
	const char *p = pct + 1;
	for (; *p && *p != ','; p++)
		if (strchr(WHOX_ORDER, *p) != NULL && strchr(q->fields, *p) == NULL &&
		    n + 1 < sizeof q->fields)
			q->fields[n++] = *p;
	if (n == 0)
		q->fields[n++] = 'n'; /* "%" alone: the nick at least */
	q->fields[n] = '\0';
	if (*p == ',') {
		size_t t = 0;
		for (p++; *p >= '0' && *p <= '9' && t + 1 < sizeof q->token; p++)
			q->token[t++] = *p;
		q->token[t] = '\0';
	}
}

/* How long u has sent nothing (its door notes its last input). */
static int64_t
idle_seconds(const struct user *u)
{
	int64_t idle = clock_now_ms() - u->last_active;
	return idle > 0 ? idle / 1000 : 0;
}

static void
who_line(struct conn *c, const struct who_query *q, const char *channel,
    const struct user *u, const struct member *mem)
{
	char flags[8], prefix[3] = "";
	if (mem != NULL)
		irc_member_prefix(c, mem, prefix);
	snprintf(flags, sizeof flags, "%c%s%s%s", u->away ? 'G' : 'H',
	    (u->umodes & UMODE_OPER) ? "*" : "", prefix,
	    (u->umodes & UMODE_BOT) ? "B" : "");
	if (q->fields[0] == '\0') {
		irc_num(c, RPL_WHOREPLY, channel, u->ident,
		    u->host, irc_server_name(c), u->nick, flags, u->realname);
		return;
	}
	char out[IRC_LINE_MAX];
	size_t len = 0;
	for (const char *f = WHOX_ORDER; *f; f++) {
		if (strchr(q->fields, *f) == NULL)
			continue;
		char idle[24];
		const char *v = "";
		switch (*f) {
		case 't': v = q->token[0] ? q->token : "0"; break;
		case 'c': v = channel; break;
		case 'u': v = u->ident; break;
		case 'i': /* the host is the address: there is no DNS lookup */
		case 'h': v = u->host; break;
		case 's': v = irc_server_name(c); break;
		case 'n': v = u->nick; break;
		case 'f': v = flags; break;
		case 'd': v = "0"; break;
		case 'l':
			snprintf(idle, sizeof idle, "%lld", (long long)idle_seconds(u));
			v = idle;
			break;
		case 'a': v = u->account[0] ? u->account : "0"; break;  /* "0": logged out */
		case 'o': v = "n/a"; break;
		case 'r': v = u->realname; break;
		}
		int n = snprintf(out + len, sizeof out - len, "%s%s%s", len ? " " : "",
		    *f == 'r' ? ":" : "", v);
		if (n < 0 || (size_t)n >= sizeof out - len)
			break;
		len += (size_t)n;
	}
	irc_num(c, RPL_WHOSPCRPL, out);
}

/* Whether mask could name exactly one nickname: no wildcards in it. */
static int
who_exact(const char *mask)
{
	return strpbrk(mask, "*?!@") == NULL;
}

/* WHO of a room or of a mask: a reply made as the client takes it, so
 * that WHO * among thousands never costs the asker its connection. */
struct who_pager {
	struct irc_pager irc;
	struct who_query q;
	struct hub_cursor cur;
	char room[ROOM_LEN_MAX + 1];  /* WHO #room, or "" for a mask */
	int all;                      /* the mask is * or 0 */
	char mask[];
};

static int
who_room_fill(struct conn *c, struct who_pager *p)
{
	struct room *room = hub_room_find(door_hub(c), p->room);
	if (room == NULL)
		return 0; /* gone meanwhile */
	for (;;) {
		if (conn_page_full(c))
			return 1;
		const struct member *mem = hub_cursor_member(room, &p->cur);
		if (mem == NULL)
			return 0;
		if (!hub_member_visible(c->user, room, mem->user))
			continue;
		if (p->q.opers_only && !(mem->user->umodes & UMODE_OPER))
			continue;
		who_line(c, &p->q, room->name, mem->user, mem);
	}
}

static int
who_fill(struct conn *c, struct irc_pager *ip)
{
	struct who_pager *p = (struct who_pager *)ip;
	if (p->room[0] != '\0')
		return who_room_fill(c, p);
	char full[HUB_MASK_MAX];
	for (;;) {
		if (conn_page_full(c))
			return 1;
		struct user *u = hub_cursor_user(door_hub(c), &p->cur);
		if (u == NULL)
			return 0;
		if (!hub_user_visible(c->user, u))
			continue;
		if (p->q.opers_only && !(u->umodes & UMODE_OPER))
			continue;
		hub_user_mask(u, full);
		if (p->all || hub_mask_match(p->mask, u->nick) || hub_mask_match(p->mask, full) ||
		    hub_mask_match(p->mask, u->host))
			who_line(c, &p->q, "*", u, NULL);
	}
}

/* Starts the WHO reply for room (a name), or for mask when room is NULL. */
static void
who_page(struct conn *c, const struct who_query *q, const char *mask, const char *room)
{
	size_t n = strlen(mask);
	struct who_pager *p = calloc(1, sizeof *p + n + 1);
	if (p == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	p->q = *q;
	memcpy(p->mask, mask, n + 1);
	p->all = strcmp(mask, "*") == 0 || strcmp(mask, "0") == 0;
	if (room != NULL)
		snprintf(p->room, sizeof p->room, "%s", room);
	p->irc.fill = who_fill;
	irc_page(c, &p->irc);
}

void
irc_cmd_who(struct conn *c, struct irc_message *m)
{
	const char *mask = m->nparams > 0 ? m->params[0] : "*";
	struct who_query q;
	who_query_parse(&q, m->nparams > 1 ? m->params[1] : NULL);
	struct hub *hub = door_hub(c);
	struct user *u;
	if (mask[0] == '#') {
		struct room *room = hub_room_seen(hub, c->user, mask);
		if (room != NULL)
			who_page(c, &q, mask, room->name);
	} else if (who_exact(mask) && (u = hub_user_find(hub, mask)) != NULL) {
		/* A nickname: found whether invisible or not, as WHOIS would. */
		if (!q.opers_only || (u->umodes & UMODE_OPER))
			who_line(c, &q, "*", u, NULL);
	} else
		who_page(c, &q, mask, NULL);
	irc_num(c, RPL_ENDOFWHO, mask);
}

void
irc_cmd_whois(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1) {
		irc_num(c, ERR_NONICKNAMEGIVEN);
		return;
	}
	/* "WHOIS server nick" asks a server: there is one, so take the nick. */
	const char *nick = m->params[m->nparams > 1 ? 1 : 0];
	struct user *u = hub_user_find(door_hub(c), nick);
	if (u == NULL) {
		irc_num(c, ERR_NOSUCHNICK, nick);
		irc_num(c, RPL_ENDOFWHOIS, nick);
		return;
	}
	irc_num(c, RPL_WHOISUSER, u->nick, u->ident, u->host, u->realname);
	char chans[IRC_LINE_MAX] = "";
	size_t len = 0;
	struct room *room;
	for (unsigned i = 0; (room = hub_user_room(u, i)) != NULL; i++) {
		if (!hub_room_visible(c->user, room))
			continue;
		char prefix[3];
		irc_member_prefix(c, hub_member(room, u), prefix);
		int n = snprintf(chans + len, sizeof chans - len, "%s%s%s",
		    len ? " " : "", prefix, room->name);
		if (n < 0 || (size_t)n >= sizeof chans - len || len + (size_t)n > IRC_LIST_LINE) {
			chans[len] = '\0';
			irc_num(c, RPL_WHOISCHANNELS, u->nick, chans);
			len = 0;
			len += (size_t)snprintf(chans, sizeof chans, "%s%s", prefix, room->name);
		} else
			len += (size_t)n;
	}
	if (len > 0)
		irc_num(c, RPL_WHOISCHANNELS, u->nick, chans);
	irc_num(c, RPL_WHOISSERVER, u->nick, irc_server_name(c), "Parley");
	if (u->umodes & UMODE_OPER)
		irc_num(c, RPL_WHOISOPERATOR, u->nick);
	if (u->umodes & UMODE_BOT)
		irc_num(c, RPL_WHOISBOT, u->nick);
	if (u->account[0] != '\0')
		irc_num(c, RPL_WHOISACCOUNT, u->nick, u->account);
	/* Behind a given host, the address shows to the user and operators. */
	if (u->vhost && (u == c->user || (c->user->umodes & UMODE_OPER)))
		irc_num(c, RPL_WHOISHOST, u->nick, u->addr, u->addr);
	if (u->secure)
		irc_num(c, RPL_WHOISSECURE, u->nick);
	if (u->away != NULL)
		irc_num(c, RPL_AWAY, u->nick, u->away);
	irc_num(c, RPL_WHOISIDLE, u->nick, (long long)idle_seconds(u), (long long)u->signon);
	irc_num(c, RPL_ENDOFWHOIS, u->nick);
}

static void
whowas_line(const struct whowas *w, void *data)
{
	struct conn *c = data;
	irc_num(c, RPL_WHOWASUSER, w->nick, w->ident, w->host, w->realname);
	char when[64];
	struct tm tm;
	gmtime_r(&w->at, &tm);
	strftime(when, sizeof when, "%a %b %d %H:%M:%S %Y UTC", &tm);
	irc_num(c, RPL_WHOISSERVER, w->nick, irc_server_name(c), when);
}

void
irc_cmd_whowas(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1) {
		irc_num(c, ERR_NONICKNAMEGIVEN);
		return;
	}
	int max = m->nparams > 1 ? atoi(m->params[1]) : 0;
	const char *nick = m->params[0];
	if (hub_whowas_find(door_hub(c), nick, max, whowas_line, c) == 0)
		irc_num(c, ERR_WASNOSUCHNICK, nick);
	irc_num(c, RPL_ENDOFWHOWAS, nick);
}

void
irc_cmd_ison(struct conn *c, struct irc_message *m)
{
	char out[IRC_LINE_MAX] = "";
	size_t len = 0;
	for (int i = 0; i < m->nparams; i++) {
		char *list = m->params[i], *nick;
		while ((nick = strsep(&list, " ")) != NULL) {
			struct user *u = *nick ? hub_user_find(door_hub(c), nick) : NULL;
			if (u == NULL || len + strlen(u->nick) + 2 > IRC_LIST_LINE)
				continue;
			len += (size_t)snprintf(out + len, sizeof out - len, "%s%s",
			    len ? " " : "", u->nick);
		}
	}
	irc_num(c, RPL_ISON, out);
}

void
irc_cmd_userhost(struct conn *c, struct irc_message *m)
{
	/* Five replies of the longest names (116 bytes each) are more than
	 * a line holds: a reply that would not fit whole is left out. */
	char out[IRC_LINE_MAX] = "";
	size_t len = 0;
	for (int i = 0; i < m->nparams && i < 5; i++) {
		struct user *u = hub_user_find(door_hub(c), m->params[i]);
		if (u == NULL)
			continue;
		char item[HUB_MASK_MAX + 8];
		int n = snprintf(item, sizeof item, "%s%s=%c%s@%s", u->nick,
		    (u->umodes & UMODE_OPER) ? "*" : "", u->away ? '-' : '+', u->ident, u->host);
		if (n < 0 || len + 1 + (size_t)n > IRC_LIST_LINE)
			continue;
		len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", len ? " " : "", item);
	}
	irc_num(c, RPL_USERHOST, out);
}

void
irc_cmd_lusers(struct conn *c, struct irc_message *m)
{
	(void)m;
	irc_send_lusers(c);
}

void
irc_cmd_motd(struct conn *c, struct irc_message *m)
{
	(void)m;
	irc_send_motd(c);
}

void
irc_cmd_version(struct conn *c, struct irc_message *m)
{
	(void)m;
	irc_num(c, RPL_VERSION, PARLEY_VERSION,
	    irc_server_name(c));
	irc_send_isupport(c);
}

void
irc_cmd_time(struct conn *c, struct irc_message *m)
{
	(void)m;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char human[64];
	strftime(human, sizeof human, "%A %B %d %Y -- %H:%M:%S +00:00", &tm);
	irc_num(c, RPL_TIME, irc_server_name(c), (long long)now, human);
}

void
irc_cmd_admin(struct conn *c, struct irc_message *m)
{
	(void)m;
	irc_num(c, RPL_ADMINME, irc_server_name(c));
	irc_num(c, RPL_ADMINLOC1, irc_server_name(c));
	irc_num(c, RPL_ADMINLOC2);
	irc_num(c, RPL_ADMINEMAIL, irc_server_name(c));
}

void
irc_cmd_info(struct conn *c, struct irc_message *m)
{
	(void)m;
	char about[IRC_LINE_MAX];
	snprintf(about, sizeof about, "Parley %s: group chat for plain text and IRC", PARLEY_VERSION);
	irc_num(c, RPL_INFO, about);
	irc_num(c, RPL_INFO, "BSD-2-Clause licensed");
	irc_num(c, RPL_ENDOFINFO);
}
