/* For tests (test_hub_emit.c, fuzz_server.c): whether two hubs hold the
 * same users and rooms, as one that applied the other's events must
 * (hub_apply). What is each hub's own is not compared: serials and
 * stamps, who made a room, which room is a user's current one, MONITOR
 * lists, msgids, signon times. */
#ifndef PARLEY_TEST_HUB_SAME_H
#define PARLEY_TEST_HUB_SAME_H

#include <stdio.h>
#include <string.h>

#include "chat/hub.h"

static int
hub_same_str(const char *x, const char *y)
{
	return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static int
hub_same_lists(const struct ban *x, uint32_t nx, const struct ban *y, uint32_t ny)
{
	if (nx != ny)
		return 0;
	for (uint32_t i = 0; i < nx; i++)
		if (strcmp(x[i].mask, y[i].mask) != 0 || strcmp(x[i].by, y[i].by) != 0)
			return 0;
	return 1;
}

#define HUB_DIFFER(...) do { snprintf(why, cap, __VA_ARGS__); return 0; } while (0)

/* 1 when every user and room of x is in y, the same; else 0, and why. */
static int
hub_same_in(struct hub *x, struct hub *y, char *why, size_t cap)
{
	if (x->nusers != y->nusers || x->nrooms != y->nrooms || x->nopers != y->nopers ||
	    x->ninvisible != y->ninvisible || x->nmasks != y->nmasks)
		HUB_DIFFER("counts: %u/%u users, %u/%u rooms, %u/%u opers, %u/%u invisible, "
		    "%u/%u masks", x->nusers, y->nusers, x->nrooms, y->nrooms, x->nopers,
		    y->nopers, x->ninvisible, y->ninvisible, x->nmasks, y->nmasks);
	struct hub_cursor cur = { 0 };
	struct user *u;
	while ((u = hub_cursor_user(x, &cur)) != NULL) {
		struct user *v = hub_user_find(y, u->nick);
		if (v == NULL || strcmp(u->nick, v->nick) != 0)
			HUB_DIFFER("user %s", u->nick);
		if (strcmp(u->ident, v->ident) != 0 || strcmp(u->host, v->host) != 0 ||
		    strcmp(u->realname, v->realname) != 0 || !hub_same_str(u->away, v->away) ||
		    u->umodes != v->umodes || u->ninvites != v->ninvites ||
		    u->nrooms != v->nrooms)
			HUB_DIFFER("user %s: %s!%s@%s \"%s\" away %s +%u, %u invites, %u rooms",
			    u->nick, v->nick, v->ident, v->host, v->realname,
			    v->away ? v->away : "-", v->umodes, v->ninvites, v->nrooms);
		/* The same rooms; their order is the user's own (the last is the
		 * one its door calls current), not an event. */
		for (unsigned i = 0; hub_user_room(u, i) != NULL; i++) {
			struct room *in = hub_room_find(y, hub_user_room(u, i)->name);
			if (in == NULL || !hub_is_member(in, v))
				HUB_DIFFER("user %s: room %s", u->nick, hub_user_room(u, i)->name);
		}
	}
	memset(&cur, 0, sizeof cur);
	struct room *r;
	while ((r = hub_cursor_room(x, &cur)) != NULL) {
		struct room *s = hub_room_find(y, r->name);
		if (s == NULL || strcmp(r->name, s->name) != 0)
			HUB_DIFFER("room %s", r->name);
		if (!hub_same_str(r->topic, s->topic) || !hub_same_str(r->topic_by, s->topic_by) ||
		    r->topic_at != s->topic_at)
			HUB_DIFFER("room %s: topic", r->name);
		if (r->modes != s->modes || !hub_same_str(r->password, s->password) ||
		    r->limit != s->limit)
			HUB_DIFFER("room %s: modes", r->name);
		if (!hub_same_lists(r->bans, r->nbans, s->bans, s->nbans) ||
		    !hub_same_lists(r->excepts, r->nexcepts, s->excepts, s->nexcepts) ||
		    !hub_same_lists(r->invexes, r->ninvexes, s->invexes, s->ninvexes))
			HUB_DIFFER("room %s: lists", r->name);
		if (r->nmembers != s->nmembers)
			HUB_DIFFER("room %s: %u/%u members", r->name, r->nmembers, s->nmembers);
		for (uint32_t i = 0; i < r->nmembers; i++)
			if (strcmp(r->members[i].user->nick, s->members[i].user->nick) != 0 ||
			    r->members[i].modes != s->members[i].modes)
				HUB_DIFFER("room %s: member %u", r->name, i);
	}
	return 1;
}

#undef HUB_DIFFER

/* Both ways. */
static int
hub_same(struct hub *x, struct hub *y, char *why, size_t cap)
{
	return hub_same_in(x, y, why, cap) && hub_same_in(y, x, why, cap);
}

#endif
