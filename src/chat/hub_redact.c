/* Taking a message back (IRCv3 message-redaction): who may, and who is
 * told. The hub stores no messages: to know who sent a message where, it
 * remembers that much of its last HUB_RECENT messages (hub_recent.h).
 * When history exists it answers these questions instead, and is the one
 * that drops or marks the message when it sees the MSG_REDACT. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "chat/hub.h"
#include "chat/hub_emit.h"
#include "chat/hub_recent.h"

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
hub_redact(struct hub *hub, struct user *u, const char *target, const char *id,
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
	const struct hub_recent *r = hub_recent_find(hub, id);
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
	memcpy(m->ref, id, sizeof m->ref);
	/* The room, or both ends. */
	if (room != NULL)
		hub_emit(hub, m, &(struct audience){ .shape = AUD_ROOM, .room = room });
	else
		hub_emit(hub, m, &(struct audience){ .shape = AUD_USER, .user = to, .also = u });
	msg_unref(m);
	return HUB_OK;
}
