/* The channels a node publishes on and hears (docs/cluster.md), and
 * which rooms' shard channels the pub/sub link is subscribed to: a room's
 * while it has members on this node. */
#include "cluster/cluster_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "chat/names.h"

void
cluster_room_channel(const char *room, char *out)
{
	char folded[ROOM_LEN_MAX + 1];
	snprintf(folded, sizeof folded, "%s", room);
	name_fold(folded, folded);
	snprintf(out, CLUSTER_NAME_MAX, CLUSTER_PREFIX "r:%s", folded);
}

void
cluster_node_channel(uint16_t node, char *out)
{
	snprintf(out, CLUSTER_NAME_MAX, CLUSTER_PREFIX "n:%u", (unsigned)node);
}

void
cluster_users_channel(char *out)
{
	snprintf(out, CLUSTER_NAME_MAX, CLUSTER_PREFIX "u");
}

static void
sub_send(struct cluster *cl, const char *verb, const char *channel)
{
	if (cl->sub.up)
		(void)redis_link_send(&cl->sub, "%s %s", verb, channel);
}

void
cluster_hear_room(struct cluster *cl, const struct room *room)
{
	struct cluster_sub *s;
	HASH_FIND_STR(cl->subs, room->key, s);
	if (s != NULL)
		return;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return;
	snprintf(s->key, sizeof s->key, "%s", room->key);
	HASH_ADD_STR(cl->subs, key, s);
	char channel[CLUSTER_NAME_MAX];
	cluster_room_channel(room->key, channel);
	sub_send(cl, "SSUBSCRIBE", channel);
	/* Written now, before the JOIN that follows is queued on the other
	 * link: Redis reads what came first first, so a member of another
	 * node who answers the JOIN at once is heard (it was not, now and
	 * then, under load). Two connections: no promise (docs/cluster.md). */
	if (cl->sub.up)
		(void)redis_link_flush(&cl->sub, 0);
}

void
cluster_settle(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	struct cluster *cl = t->data;
	struct cluster_sub *s, *tmp;
	HASH_ITER(hh, cl->subs, s, tmp) {
		const struct room *room = hub_room_find(cl->hub, s->key);
		if (room != NULL && room->nlocal > 0)
			continue;
		char channel[CLUSTER_NAME_MAX];
		cluster_room_channel(s->key, channel);
		sub_send(cl, "SUNSUBSCRIBE", channel);
		HASH_DEL(cl->subs, s);
		free(s);
	}
}

/* The channels of this node: the users', its own, and the rooms it has
 * members in (the pub/sub link is new). */
void
cluster_hear_all(struct cluster *cl)
{
	char users[CLUSTER_NAME_MAX], mine[CLUSTER_NAME_MAX];
	cluster_users_channel(users);
	cluster_node_channel(cl->node, mine);
	sub_send(cl, "SUBSCRIBE", users);
	sub_send(cl, "SUBSCRIBE", mine);
	struct cluster_sub *s, *tmp;
	HASH_ITER(hh, cl->subs, s, tmp) {
		char channel[CLUSTER_NAME_MAX];
		cluster_room_channel(s->key, channel);
		sub_send(cl, "SSUBSCRIBE", channel);
	}
}

void
cluster_recheck_rooms(struct cluster *cl)
{
	if (!loop_timer_active(&cl->settle))
		loop_timer_start(cl->loop, &cl->settle, 0);
}
