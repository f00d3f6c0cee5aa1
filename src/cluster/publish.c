/* The publisher: a hub observer that sends each event made here to the
 * other nodes, once. hub_apply's events (made elsewhere) never reach an
 * observer, so nothing comes back out.
 *
 * Which channel (docs/cluster.md):
 *   - a room's traffic (SAY, ACTION, NOTICE, TAGMSG, REDACT to a room):
 *     SPUBLISH on the room's shard channel, heard by the nodes with
 *     members in it: one Redis command per message, whatever the number
 *     of members or nodes;
 *   - the same to a user (a private message), on that user's node's
 *     channel, or nowhere when the user is here;
 *   - everything else changes state every node mirrors (users, rooms,
 *     membership, modes, topics, invitations: an INVITE is state, and
 *     the room's operators everywhere hear of it): through its script
 *     (state.c), which changes the shared state in Redis and publishes
 *     the event on the users' channel.
 * One link sends them all, in order: Redis keeps that order for every
 * subscriber, so a node hears a user's JOIN before what it says there. */
#include "cluster/cluster_int.h"

#include <string.h>

#include "base/log.h"

static void
on_reply(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct cluster *cl = data;
	cl->inflight--;
	redisReply *r = reply;
	if (r != NULL && r->type == REDIS_REPLY_ERROR && !cl->said_unsent) {
		cl->said_unsent = 1;
		log_error("cluster: Redis refused a publish: %s", r->str);
	}
}

/* The channel a room's or a private message goes on, and the command
 * (PUBLISH or SPUBLISH); 0 when it goes nowhere (a private message
 * between two users of this node). */
static int
channel_of(struct cluster *cl, const struct msg *m, char *channel, const char **verb)
{
	*verb = "PUBLISH";
	if (m->room != NULL) {
		*verb = "SPUBLISH";
		cluster_room_channel(m->room, channel);
		return 1;
	}
	const struct user *to = m->target != NULL ? hub_user_find(cl->hub, m->target) : NULL;
	if (to == NULL || !to->remote)
		return 0;
	cluster_node_channel(to->node, channel);
	return 1;
}

/* What the event's msg does not say and another node needs. */
static void
extras(struct cluster *cl, const struct msg *m, struct cluster_event *ev)
{
	if (m->kind != MSG_CONNECT && m->kind != MSG_JOIN)
		return;   /* a message costs no lookup */
	struct user *u = hub_user_find(cl->hub, m->from);
	if (u == NULL)
		return;
	if (m->kind == MSG_CONNECT) {
		cluster_user_of(u, &ev->user);
	} else if (m->kind == MSG_JOIN && m->room != NULL) {
		const struct room *room = hub_room_find(cl->hub, m->room);
		const struct member *mem = room != NULL ? hub_member(room, u) : NULL;
		if (mem != NULL)
			ev->member_modes = mem->modes;
		/* Heard before the JOIN goes out: whoever answers it is heard. */
		if (room != NULL)
			cluster_hear_room(cl, room);
	}
}

/* The rooms a leaving user of this node is in are checked once the event
 * is done (the user leaves them after its observers ran). */
static void
leaving(struct cluster *cl, const struct msg *m)
{
	if (m->kind == MSG_PART || m->kind == MSG_KICK || m->kind == MSG_QUIT)
		cluster_recheck_rooms(cl);
}

static void
publish(struct cluster *cl, struct msg *m, const struct audience *to)
{
	char channel[CLUSTER_NAME_MAX];
	const char *verb = NULL;
	struct cluster_event ev = { .node = cl->node, .msg = m };
	leaving(cl, m);
	extras(cl, m, &ev);
	int state = cluster_is_state(m->kind);
	if (!state && !channel_of(cl, m, channel, &verb))
		return;
	if (!cluster_can_send(cl))
		return;
	ev.node_seq = ++cl->node_seq;
	cl->out.len = 0;
	if (cluster_encode(&ev, &cl->out) < 0) {
		cl->stats.unsent++;
		return;
	}
	if (state) {
		cluster_publish_state(cl, &ev, to == NULL);
		return;
	}
	if (redisAsyncCommand(cl->cmd.ac, on_reply, cl, "%s %s %b", verb, channel,
	    cl->out.data, cl->out.len) != REDIS_OK) {
		cl->stats.unsent++;
		return;
	}
	cl->inflight++;
	cl->stats.published++;
}

/* to is NULL for an event told again (health.c), not happening now. */
void
cluster_publish(void *ctx, struct msg *m, const struct audience *to)
{
	struct cluster *cl = ctx;
	publish(cl, m, to);
	/* After the event: a nickname it frees is released behind it, and
	 * what waits for its user follows it. */
	if (to != NULL) {
		cluster_holds_follow(cl, m);
		cluster_claims_after(cl, m);
	}
}

int
cluster_can_send(struct cluster *cl)
{
	/* Lane D: while Redis is away, rooms are local-only; on its return
	 * the node re-asserts its state (snapshot.c). */
	if (cl->cmd.up && cl->inflight < CLUSTER_INFLIGHT_MAX &&
	    redis_link_queued(&cl->cmd) < CLUSTER_QUEUED_MAX)
		return 1;
	cl->stats.unsent++;
	if (cl->cmd.up)
		cl->lagged = 1;
	if (!cl->said_unsent && cl->cmd.up) {
		cl->said_unsent = 1;
		log_warn("cluster: Redis is not keeping up: events are not sent to "
		    "the other nodes");
	}
	return 0;
}

uint64_t
cluster_pushed(const struct cluster *cl)
{
	return redis_link_pushed(&cl->cmd);
}

void
cluster_release_published(void *ctx, uint64_t release)
{
	struct cluster *cl = ctx;
	redis_link_release(&cl->cmd, release);
}
