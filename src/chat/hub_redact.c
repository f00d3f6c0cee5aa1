/* Taking a message back (IRCv3 message-redaction): who may, and who is
 * told. The hub stores no messages, so to know who sent a message where it
 * remembers that much of its last HUB_RECENT events: a ring indexed by
 * msgid (msgids are handed out in order, so an entry is found in one
 * step and an overwritten one is simply too old). When history exists it
 * answers these questions instead, and is the one that drops or marks the
 * message when it sees the MSG_REDACT. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "chat/hub.h"

struct hub_recent {
	uint64_t id;        /* the message's msgid; 0: empty */
	uint32_t author;    /* its sender's serial */
	uint32_t where;     /* the room's serial, or the recipient's */
	uint8_t private;    /* where is a user */
};

void
hub_recent_note(struct hub *hub, uint64_t id, const struct user *from,
    uint32_t where, int private)
{
	/* Out of memory: the message is sent, but cannot be taken back. */
	if (hub->recent == NULL &&
	    (hub->recent = calloc(HUB_RECENT, sizeof *hub->recent)) == NULL)
		return;
	hub->recent[id % HUB_RECENT] = (struct hub_recent){
		.id = id, .author = from->serial, .where = where, .private = (uint8_t)private,
	};
}

static const struct hub_recent *
recent_find(const struct hub *hub, uint64_t id)
{
	if (hub->recent == NULL || id == 0 || hub->recent[id % HUB_RECENT].id != id)
		return NULL;
	return &hub->recent[id % HUB_RECENT];
}

/* Whether r was said in room, or between a and b (either way). */
static int
in_room(const struct hub_recent *r, const struct room *room)
{
	return !r->private && r->where == room->serial;
}

static int
between(const struct hub_recent *r, const struct user *a, const struct user *b)
{
	return r->private && ((r->author == a->serial && r->where == b->serial) ||
	    (r->author == b->serial && r->where == a->serial));
}

enum hub_status
hub_redact(struct hub *hub, struct user *u, const char *target, uint64_t id,
    const char *reason)
{
	struct room *room = NULL;
	struct user *to = NULL;
	if (target[0] == '#') {
		if ((room = hub_room_find(hub, target)) == NULL)
			return HUB_ENOROOM;
		if (!hub_is_member(room, u))
			return HUB_ENOTIN;
	} else if ((to = hub_user_find(hub, target)) == NULL)
		return HUB_ENONICK;
	/* A message elsewhere is unknown here: an error must not tell a
	 * stranger that a msgid exists. */
	const struct hub_recent *r = recent_find(hub, id);
	if (r == NULL || (room ? !in_room(r, room) : !between(r, u, to)))
		return HUB_EUNKNOWNMSG;
	const struct member *me = room ? hub_member(room, u) : NULL;
	int may = r->author == u->serial || (u->umodes & UMODE_OPER) ||
	    (me != NULL && (me->modes & MEMBER_OP));
	if (!may)
		return HUB_ENOTYOURS;
	char why[HUB_REASON_MAX + 1];
	struct msg *m = hub_msg(hub, MSG_REDACT, u, room ? room->name : NULL,
	    room ? NULL : to->nick, text_cut(reason, HUB_REASON_MAX, why));
	if (m == NULL)
		return HUB_ENOMEM;
	m->ref = id;
	if (room != NULL)
		for (uint32_t i = 0; i < room->nmembers; i++)
			room->members[i].user->ops->deliver(room->members[i].user, m);
	else {
		to->ops->deliver(to, m);
		if (to != u)
			u->ops->deliver(u, m);
	}
	msg_unref(m);
	return HUB_OK;
}
