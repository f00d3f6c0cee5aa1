/* IRC channel commands: JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE, MODE,
 * and the numerics for what the hub refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/config.h"
#include "base/text.h"
#include "doors/irc/irc.h"

static void
send_topic(struct conn *c, const struct room *room)
{
	if (room->topic == NULL) {
		irc_num(c, RPL_NOTOPIC, room->name);
		return;
	}
	irc_num(c, RPL_TOPIC, room->name, room->topic);
	irc_num(c, RPL_TOPICWHOTIME, room->name,
	    room->topic_by ? room->topic_by : "*", (long long)room->topic_at);
}

static void
part_all(struct conn *c)
{
	struct room *room;
	while ((room = hub_user_room(c->user, 0)) != NULL)
		hub_part(door_hub(c), c->user, room, NULL);
}

void
irc_cmd_join(struct conn *c, struct irc_message *m)
{
	if (strcmp(m->params[0], "0") == 0) {
		part_all(c);
		return;
	}
	char *names = m->params[0], *keys = m->nparams > 1 ? m->params[1] : NULL;
	char *name;
	size_t channel_len = door_cfg(c)->channel_len;
	struct room *replay[HUB_ROOMS_PER_USER], *later[HUB_ROOMS_PER_USER];
	uint8_t later_names[HUB_ROOMS_PER_USER];
	size_t nreplay = 0, nlater = 0;
	int want_replay = irc_replay_wanted(c);
	while ((name = irc_list_next(&names)) != NULL) {
		char *key = irc_list_next(&keys);
		if (!name_room_valid(name, channel_len)) {
			irc_num(c, ERR_BADCHANMASK, name);
			continue;
		}
		enum hub_status st = hub_join_key(door_hub(c), c->user, name, key);
		if (st != HUB_OK) {
			irc_hub_error(c, st, name, name);
			continue;
		}
		struct room *room = hub_room_find(door_hub(c), name);
		if (room->topic != NULL)
			send_topic(c, room);
		int names_now = !(irc_session(c)->caps & CAP_NO_IMPLICIT_NAMES);
		/* The read marker comes before RPL_ENDOFNAMES (draft/read-marker):
		 * when it is the database's, the names wait for it. */
		if (irc_markread_joined(c, room) && nlater < HUB_ROOMS_PER_USER) {
			later_names[nlater] = (uint8_t)names_now;
			later[nlater++] = room;
			names_now = 0;
		}
		if (names_now)
			irc_send_names(c, room);
		if (want_replay && nreplay < HUB_ROOMS_PER_USER)
			replay[nreplay++] = room;
	}
	/* Every room joined stays so to the command's end: no one else runs.
	 * One job answers a command: markers and replay share it (both are
	 * of every room joined then). */
	if (nlater > 0)
		irc_join_later(c, later, later_names, nlater, 1, want_replay);
	else if (nreplay > 0)
		irc_replay(c, replay, nreplay);
}

void
irc_cmd_part(struct conn *c, struct irc_message *m)
{
	char *names = m->params[0], *name;
	const char *reason = m->nparams > 1 ? m->params[1] : NULL;
	while ((name = irc_list_next(&names)) != NULL) {
		struct room *room = hub_room_seen(door_hub(c), c->user, name);
		if (room == NULL) {
			irc_num(c, ERR_NOSUCHCHANNEL, name);
			continue;
		}
		irc_hub_error(c, hub_part(door_hub(c), c->user, room, reason), name, room->name);
	}
}

void
irc_cmd_topic(struct conn *c, struct irc_message *m)
{
	struct room *room = hub_room_seen(door_hub(c), c->user, m->params[0]);
	if (room == NULL) {
		irc_num(c, ERR_NOSUCHCHANNEL, m->params[0]);
		return;
	}
	if (m->nparams < 2) {
		send_topic(c, room);
		return;
	}
	const char *text = m->params[1][0] ? m->params[1] : NULL;
	irc_hub_error(c, hub_topic(door_hub(c), c->user, room, text), room->name, room->name);
}

/* "NAMES #a,#b": the members of each, then one 366 naming the list as
 * given (RFC 2812 3.2.5). Rooms the asker may not see are left out. */
void
irc_cmd_names(struct conn *c, struct irc_message *m)
{
	if (m->nparams < 1) {
		irc_num(c, RPL_ENDOFNAMES, "*");
		return;
	}
	char asked[IRC_LINE_MAX];
	snprintf(asked, sizeof asked, "%s", m->params[0]);
	char *names = m->params[0], *name;
	struct room *last = NULL;
	int n = 0;
	for (; n < IRC_TARGETS_MAX && (name = irc_list_next(&names)) != NULL; n++) {
		struct room *room = hub_room_seen(door_hub(c), c->user, name);
		if ((last = room) != NULL)
			irc_names_lines(c, room);
	}
	/* One room it may see is named as the server spells it. */
	irc_num(c, RPL_ENDOFNAMES, n == 1 && last ? last->name : asked);
}

/* LIST's parameter: room names and masks (any may match), and the ELIST
 * filters every room listed must pass: "!mask" (M, N), ">n" and "<n"
 * members (U), "C>n" "C<n" created and "T>n" "T<n" topic set more or
 * fewer than n minutes ago (C, T), as InspIRCd and Solanum read them. */
#define LIST_ITEMS_MAX 32

struct list_query {
	char buf[IRC_LINE_MAX];
	const char *want[LIST_ITEMS_MAX];   /* names or masks, any of which */
	const char *not[LIST_ITEMS_MAX];    /* masks none of which */
	int nwant, nnot;
	long users_over, users_under;       /* -1: no bound */
	long created_over, created_under;   /* minutes ago; -1: no bound */
	long topic_over, topic_under;
};

static int
list_bound(const char *s, long *v)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (end == s || *end != '\0' || n < 0)
		return -1;
	*v = n;
	return 0;
}

static void
list_query_parse(struct list_query *q, const char *arg)
{
	memset(q, 0, sizeof *q);
	q->users_over = q->users_under = q->created_over = q->created_under =
	    q->topic_over = q->topic_under = -1;
	if (arg == NULL)
		return;
	snprintf(q->buf, sizeof q->buf, "%s", arg);
	char *list = q->buf, *item;
	while ((item = irc_list_next(&list)) != NULL) {
		long *over = &q->users_over, *under = &q->users_under;
		char *cond = item;
		if ((item[0] == 'C' || item[0] == 'T') && (item[1] == '<' || item[1] == '>')) {
			over = item[0] == 'C' ? &q->created_over : &q->topic_over;
			under = item[0] == 'C' ? &q->created_under : &q->topic_under;
			cond = item + 1;
		}
		if (cond[0] == '>' || cond[0] == '<')
			(void)list_bound(cond + 1, cond[0] == '>' ? over : under);
		else if (item[0] == '!' && q->nnot < LIST_ITEMS_MAX)
			q->not[q->nnot++] = item + 1;
		else if (item[0] != '\0' && q->nwant < LIST_ITEMS_MAX)
			q->want[q->nwant++] = item;
	}
}

/* Whether ago (seconds) passes "more than over, fewer than under" minutes. */
static int
list_age_ok(time_t ago, long over, long under)
{
	return (over < 0 || ago > over * 60) && (under < 0 || ago < under * 60);
}

static int
list_match(const struct list_query *q, const struct room *r, time_t now)
{
	if (q->nwant > 0) {
		int found = 0;
		for (int i = 0; i < q->nwant && !found; i++)
			found = hub_mask_match(q->want[i], r->name);
		if (!found)
			return 0;
	}
	for (int i = 0; i < q->nnot; i++)
		if (hub_mask_match(q->not[i], r->name))
			return 0;
	if ((q->users_over >= 0 && r->nmembers <= (unsigned long)q->users_over) ||
	    (q->users_under >= 0 && r->nmembers >= (unsigned long)q->users_under))
		return 0;
	if (!list_age_ok(now - r->created, q->created_over, q->created_under))
		return 0;
	if ((q->topic_over >= 0 || q->topic_under >= 0) && (r->topic == NULL ||
	    !list_age_ok(now - r->topic_at, q->topic_over, q->topic_under)))
		return 0;
	return 1;
}

/* LIST: a reply made as the client takes it (thousands of rooms). */
struct list_pager {
	struct irc_pager irc;
	struct list_query q;
	struct hub_cursor cur;
};

static int
list_fill(struct conn *c, struct irc_pager *ip)
{
	struct list_pager *p = (struct list_pager *)ip;
	time_t now = time(NULL);
	for (;;) {
		if (conn_page_full(c))
			return 1;
		struct room *r = hub_cursor_room(door_hub(c), &p->cur);
		if (r == NULL)
			return 0;
		if (!hub_room_visible(c->user, r) || !list_match(&p->q, r, now))
			continue;
		char modes[IRC_MODES_MAX];
		hub_room_mode_string(r, 0, modes, sizeof modes);
		irc_num(c, RPL_LIST, r->name, r->nmembers, modes,
		    r->topic ? r->topic : "");
	}
}

void
irc_cmd_list(struct conn *c, struct irc_message *m)
{
	irc_num(c, RPL_LISTSTART);
	struct list_pager *p = calloc(1, sizeof *p);
	if (p == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	list_query_parse(&p->q, m->nparams > 0 ? m->params[0] : NULL);
	p->irc.fill = list_fill;
	irc_page(c, &p->irc);
	irc_num(c, RPL_LISTEND);
}

/* One KICK of nick from the channel name; 0 when the kicker may not kick
 * there at all, so the other nicks need not be tried. */
static int
kick_one(struct conn *c, const char *name, const char *nick, const char *reason)
{
	struct room *room = hub_room_seen(door_hub(c), c->user, name);
	if (room == NULL) {
		irc_num(c, ERR_NOSUCHCHANNEL, name);
		return 0;
	}
	enum hub_status st = hub_kick(door_hub(c), c->user, room, nick, reason);
	if (st == HUB_ENONICK)
		st = HUB_EUSERNOTIN;
	irc_hub_error(c, st, nick, room->name);
	return st != HUB_ENOTIN && st != HUB_ECHANOP;
}

static int
count_items(const char *list)
{
	int n = 1;
	for (; *list; list++)
		n += *list == ',';
	return n;
}

/* "KICK #a nick1,nick2" kicks both from #a; "KICK #a,#b nick1,nick2" kicks
 * nick1 from #a and nick2 from #b (RFC 2812 3.2.8). At most
 * IRC_TARGETS_MAX nicks; the rest are dropped, as TARGMAX allows. */
void
irc_cmd_kick(struct conn *c, struct irc_message *m)
{
	char *chans = m->params[0], *nicks = m->params[1];
	int nchans = count_items(chans);
	if (nchans > 1 && nchans != count_items(nicks)) {
		irc_num(c, ERR_NEEDMOREPARAMS, "KICK");
		return;
	}
	const char *reason = m->nparams > 2 ? m->params[2] : NULL;
	char *chan = irc_list_next(&chans), *nick;
	for (int i = 0; i < IRC_TARGETS_MAX && (nick = irc_list_next(&nicks)) != NULL; i++) {
		if (i > 0 && nchans > 1)
			chan = irc_list_next(&chans);
		if (chan == NULL)
			return;
		if (!kick_one(c, chan, nick, reason) && nchans == 1)
			return;
	}
}

void
irc_cmd_invite(struct conn *c, struct irc_message *m)
{
	const char *nick = m->params[0], *name = m->params[1];
	struct room *room = hub_room_seen(door_hub(c), c->user, name);
	if (room == NULL) {
		irc_num(c, ERR_NOSUCHCHANNEL, name);
		return;
	}
	struct user *to;
	enum hub_status st = hub_invite(door_hub(c), c->user, room, nick, &to);
	if (st != HUB_OK) {
		irc_hub_error(c, st, nick, room->name);
		return;
	}
	irc_num(c, RPL_INVITING, to->nick, room->name);
	if (to->away != NULL)
		irc_num(c, RPL_AWAY, to->nick, to->away);
}

/* MODE for a user: only oneself, only B and i (and dropping o). */
static void
user_mode(struct conn *c, struct irc_message *m)
{
	struct user *u = c->user;
	if (hub_user_find(door_hub(c), m->params[0]) == NULL) {
		irc_num(c, ERR_NOSUCHNICK, m->params[0]);
		return;
	}
	if (strcasecmp(m->params[0], u->nick) != 0) {
		irc_num(c, ERR_USERSDONTMATCH);
		return;
	}
	if (m->nparams < 2) {
		irc_num(c, RPL_UMODEIS, (u->umodes & UMODE_BOT) ? "B" : "",
		    (u->umodes & UMODE_INVISIBLE) ? "i" : "",
		    (u->umodes & UMODE_OPER) ? "o" : "");
		return;
	}
	int on = 1, unknown = 0;
	char applied[32] = "";
	size_t n = 0;
	int sign = -1;
	for (const char *p = m->params[1]; *p && n + 3 < sizeof applied; p++) {
		if (*p == '+' || *p == '-') {
			on = *p == '+';
			continue;
		}
		uint8_t bit = hub_umode_bit(*p);
		/* +o only through OPER. */
		if (bit == 0 || (bit == UMODE_OPER && on)) {
			unknown = unknown || bit == 0;
			continue;
		}
		if (!!(u->umodes & bit) == on)
			continue;
		hub_umode(door_hub(c), u, bit, on);
		if (sign != on) {
			applied[n++] = on ? '+' : '-';
			sign = on;
		}
		applied[n++] = *p;
	}
	applied[n] = '\0';
	if (unknown)
		irc_num(c, ERR_UMODEUNKNOWNFLAG);
	if (n > 0)
		irc_send(c, ":%s MODE %s %s", u->nick, u->nick, applied);
}

/* The entries of a list mode (b, e, I) and the numerics that give them. */
static void
mask_list(struct conn *c, struct room *room, char letter)
{
	struct ban **list;
	uint32_t *n;
	if (hub_room_list(room, letter, &list, &n) < 0)
		return;
	for (uint32_t i = 0; i < *n; i++) {
		const struct ban *b = &(*list)[i];
		if (letter == 'b')
			irc_num(c, RPL_BANLIST, room->name, b->mask, b->by, (long long)b->at);
		else if (letter == 'e')
			irc_num(c, RPL_EXCEPTLIST, room->name, b->mask, b->by, (long long)b->at);
		else
			irc_num(c, RPL_INVITELIST, room->name, b->mask, b->by, (long long)b->at);
	}
	if (letter == 'b')
		irc_num(c, RPL_ENDOFBANLIST, room->name);
	else if (letter == 'e')
		irc_num(c, RPL_ENDOFEXCEPTLIST, room->name);
	else
		irc_num(c, RPL_ENDOFINVITELIST, room->name);
}

#define IRC_MODES_PER_LINE 4   /* MODES in ISUPPORT */
/* Mode letters one MODE command may change (or list, or get wrong). */
#define IRC_MODE_CHANGES_MAX 16

void
irc_cmd_mode(struct conn *c, struct irc_message *m)
{
	if (m->params[0][0] != '#') {
		user_mode(c, m);
		return;
	}
	struct room *room = hub_room_seen(door_hub(c), c->user, m->params[0]);
	if (room == NULL) {
		irc_num(c, ERR_NOSUCHCHANNEL, m->params[0]);
		return;
	}
	if (m->nparams < 2) {
		char modes[IRC_MODES_MAX];
		hub_room_mode_string(room, hub_is_member(room, c->user), modes, sizeof modes);
		irc_num(c, RPL_CHANNELMODEIS, room->name, modes);
		irc_num(c, RPL_CREATIONTIME, room->name, (long long)room->created);
		return;
	}
	struct hub_mode changes[IRC_MODE_CHANGES_MAX];
	int n = 0, on = 1, next_arg = 2, with_args = 0;
	char listed[4] = "";  /* lists already sent: each once a command */
	for (const char *p = m->params[1]; *p && n < IRC_MODE_CHANGES_MAX; p++) {
		if (*p == '+' || *p == '-') {
			on = *p == '+';
			continue;
		}
		/* No mode is a non-ASCII character: it is named whole, since a
		 * byte of it alone is not UTF-8 (the parameter is, repaired). */
		if ((unsigned char)*p >= 0x80) {
			size_t len;
			unsigned char lo, hi;
			if (!utf8_lead((unsigned char)*p, &len, &lo, &hi) || strnlen(p, len) < len)
				len = 1;
			char mode[5];
			snprintf(mode, sizeof mode, "%.*s", (int)len, p);
			irc_num(c, ERR_UNKNOWNMODE, mode);
			p += len - 1;
			continue;
		}
		/* "MODE #c b" or "+b" with no mask lists the bans (e, I alike). */
		if (strchr("beI", *p) != NULL && next_arg >= m->nparams) {
			if (strchr(listed, *p) == NULL) {
				listed[strlen(listed)] = *p;
				mask_list(c, room, *p);
			}
			continue;
		}
		const char *arg = NULL;
		int takes = strchr("ovbeIk", *p) != NULL || (*p == 'l' && on);
		if (takes) {
			if (next_arg < m->nparams)
				arg = m->params[next_arg++];
			if (++with_args > IRC_MODES_PER_LINE)
				break;
		}
		changes[n++] = (struct hub_mode){ .letter = *p, .on = on, .arg = arg };
	}
	if (n == 0)
		return;
	hub_room_modes(door_hub(c), c->user, room, changes, n);
	int told_chanop = 0;
	for (int i = 0; i < n; i++) {
		enum hub_status st = changes[i].result;
		if (st == HUB_ECHANOP) {
			if (!told_chanop++)
				irc_hub_error(c, st, room->name, room->name);
		} else if (st == HUB_EUNKNOWNMODE) {
			char letter[2] = { changes[i].letter, '\0' };
			irc_hub_error(c, st, letter, room->name);
		} else if (st == HUB_ENEEDARG || st == HUB_EBANLIST) {
			char letter[2] = { changes[i].letter, '\0' };
			irc_hub_error(c, st, letter, room->name);
		} else if (st != HUB_OK && st != HUB_EALREADY)
			irc_hub_error(c, st, changes[i].arg ? changes[i].arg : "*", room->name);
	}
}
