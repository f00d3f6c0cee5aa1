/* What a user may see, one rule for every door (hub.h). */
#include "chat/hub.h"

int
hub_room_visible(const struct user *viewer, const struct room *room)
{
	return !(room->modes & RMODE_SECRET) || hub_is_member(room, viewer);
}

int
hub_member_visible(const struct user *viewer, const struct room *room,
    const struct user *member)
{
	if (!hub_room_visible(viewer, room))
		return 0;
	return member == viewer || !(member->umodes & UMODE_INVISIBLE) ||
	    hub_is_member(room, viewer);
}

int
hub_user_visible(const struct user *viewer, const struct user *u)
{
	return u == viewer || !(u->umodes & UMODE_INVISIBLE) || hub_share_room(u, viewer);
}

struct room *
hub_room_seen(struct hub *hub, const struct user *viewer, const char *name)
{
	struct room *room = hub_room_find(hub, name);
	return room != NULL && hub_room_visible(viewer, room) ? room : NULL;
}
