/* Ways through the hub's lists for the doors, which never walk them
 * themselves: cursors, for replies given a piece at a time as the asker's
 * connection takes them (see struct hub_cursor), and a user's rooms. */
#include <stdio.h>

#include "chat/hub.h"

struct room *
hub_cursor_room(struct hub *hub, struct hub_cursor *cur)
{
	struct room *r = NULL;
	if (cur->serial == 0)
		r = hub->rooms;
	else {
		/* The last one given is most likely still there: then it is
		 * the next one's place. Else the first made after it. */
		struct room *last = hub_room_find(hub, cur->name);
		if (last != NULL && last->serial == cur->serial)
			r = last->hh.next;
		else
			for (r = hub->rooms; r != NULL && r->serial <= cur->serial; r = r->hh.next)
				;
	}
	if (r != NULL) {
		cur->serial = r->serial;
		snprintf(cur->name, sizeof cur->name, "%s", r->name);
	}
	return r;
}

struct user *
hub_cursor_user(struct hub *hub, struct hub_cursor *cur)
{
	struct user *u = NULL;
	if (cur->serial == 0)
		u = hub->users;
	else {
		struct user *last = hub_user_find(hub, cur->name);
		if (last != NULL && last->order == cur->serial)
			u = last->hh.next;
		else
			for (u = hub->users; u != NULL && u->order <= cur->serial; u = u->hh.next)
				;
	}
	if (u != NULL) {
		cur->serial = u->order;
		snprintf(cur->name, sizeof cur->name, "%s", u->nick);
	}
	return u;
}

const struct member *
hub_cursor_member(const struct room *room, struct hub_cursor *cur)
{
	/* members[] is in order of joining: the first with a later seq. */
	uint32_t lo = 0, hi = room->nmembers;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (room->members[mid].seq <= cur->serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == room->nmembers)
		return NULL;
	cur->serial = room->members[lo].seq;
	return &room->members[lo];
}

struct room *
hub_user_room(const struct user *u, unsigned i)
{
	return i < u->nrooms ? u->rooms[i] : NULL;
}
