/* A room's names, the 353 lines then 366: after JOIN, for NAMES, and
 * from inside a reply answered later (irc_chathistory.c's JOIN with a
 * read marker). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doors/irc/irc.h"

/* The 353 lines of a room's members, without the 366 that ends them: a
 * reply made as the client takes it, so that the names of a room of
 * thousands never cost the asker its connection. */
struct names_pager {
	struct irc_pager irc;
	char room[ROOM_LEN_MAX + 1];
	struct hub_cursor cur;
	size_t len;                   /* of the 353 line being filled */
	char line[IRC_LINE_MAX];
};

static void
names_emit(struct conn *c, struct names_pager *p, const struct room *room)
{
	char symbol = (room->modes & RMODE_SECRET) ? '@' : '=';
	irc_num(c, RPL_NAMREPLY, symbol, room->name, (int)p->len, p->line);
	p->len = 0;
}

/* A 353 line's head but for the names in it: ":", " 353 ", " = ", " :"
 * and a byte to spare. */
#define NAMES_HEAD_FIXED 12

static int
names_fill(struct conn *c, struct irc_pager *ip)
{
	struct names_pager *p = (struct names_pager *)ip;
	struct room *room = hub_room_find(door_hub(c), p->room);
	if (room == NULL)
		return 0; /* gone meanwhile: its names with it */
	int uhnames = irc_session(c)->caps & CAP_USERHOST_IN_NAMES;
	/* Room for ":server 353 nick = #room :" in each line, whatever nick
	 * the asker has by the time a line is sent. */
	size_t budget = irc_text_room(strlen(irc_server_name(c)) + NICK_LEN_MAX +
	    strlen(room->name) + NAMES_HEAD_FIXED, 0);
	for (;;) {
		if (conn_page_full(c))
			return 1;
		const struct member *mem = hub_cursor_member(room, &p->cur);
		if (mem == NULL)
			break;
		if (!hub_member_visible(c->user, room, mem->user))
			continue;
		char prefix[3], item[HUB_MASK_MAX + 4];
		irc_member_prefix(c, mem, prefix);
		if (uhnames)
			snprintf(item, sizeof item, "%s%s!%s@%s", prefix, mem->user->nick,
			    mem->user->ident, mem->user->host);
		else
			snprintf(item, sizeof item, "%s%s", prefix, mem->user->nick);
		size_t n = strlen(item);
		if (p->len > 0 && p->len + 1 + n > budget)
			names_emit(c, p, room);
		if (p->len > 0)
			p->line[p->len++] = ' ';
		memcpy(p->line + p->len, item, n);
		p->len += n;
	}
	if (p->len > 0)
		names_emit(c, p, room);
	return 0;
}

void
irc_names_lines(struct conn *c, struct room *room)
{
	struct names_pager *p = calloc(1, sizeof *p);
	if (p == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	snprintf(p->room, sizeof p->room, "%s", room->name);
	p->irc.fill = names_fill;
	irc_page(c, &p->irc);
}

void
irc_send_names_held(struct conn *c, struct room *room)
{
	/* Inside a reply answered later, a pager would come after the
	 * reply's own lines (its 366): the names go into the reply. */
	struct names_pager p = { 0 };
	snprintf(p.room, sizeof p.room, "%s", room->name);
	(void)names_fill(c, &p.irc);  /* a sendq full already: the rest are lost */
	irc_num(c, RPL_ENDOFNAMES, room->name);
}

void
irc_send_names(struct conn *c, struct room *room)
{
	irc_names_lines(c, room);
	irc_num(c, RPL_ENDOFNAMES, room->name);
}
