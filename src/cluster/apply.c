/* The subscriber: what the pub/sub link hears, as hub events applied here
 * (hub_apply: the state changes, local users are told, no observer sees
 * it, so it is not published again).
 *
 * Bytes from Redis are trusted no more than a client's: the codec
 * decodes them or refuses them (counted), and the hub applies an event
 * only when it fits its state (a message from a user it does not know is
 * refused, counted). An event of this node's own comes back on the
 * channels it hears and is dropped; so is one seen already (each node
 * numbers its events, and Redis keeps their order).
 *
 * A state event comes in its script's frame (scripts.c): "S<seq>
 * <modes> " before the event's bytes, the global sequence and, for a
 * JOIN, the member modes Redis gave the joiner (the first joiner's op). */
#include "cluster/cluster_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* 1 when ev is new from its node (and noted), 0 for a duplicate or an
 * event of an epoch the node has left. The first event of a new epoch
 * drops what this node knew of that node's users (health.c). */
static int
fresh(struct cluster *cl, const struct cluster_event *ev)
{
	uint32_t epoch = CLUSTER_EPOCH(ev->node_seq);
	struct cluster_peer *p;
	HASH_FIND(hh, cl->peers, &ev->node, sizeof ev->node, p);
	if (p == NULL) {
		if ((p = cluster_peer_new(cl, ev->node, epoch)) == NULL)
			return 1;
	} else if (epoch < p->epoch || ev->node_seq <= p->last) {
		return 0;
	} else if (epoch > p->epoch) {
		cluster_peer_epoch(cl, p, epoch);
	}
	p->last = ev->node_seq;
	/* Alive now, whatever a check under way finds (health.c). */
	p->heard = cl->checks;
	return 1;
}

/* An event a node tells again (its users after an epoch: health.c) that
 * this node has applied already: its user is here, or in the room. u was
 * looked up before hub_apply, which refused the event (so u is still
 * there: an event applied may have freed it). */
static int
known(const struct cluster_event *ev, const struct user *u, enum hub_status st)
{
	int again = (ev->msg->kind == MSG_CONNECT && st == HUB_ENICKINUSE) ||
	    (ev->msg->kind == MSG_JOIN && st == HUB_EUSERON);
	return again && u != NULL && u->remote && u->node == ev->node;
}

/* A user as its node has it: what MSG_CONNECT's msg does not carry. */
static void
connected(struct cluster *cl, struct user *u, const struct cluster_event *ev)
{
	u->node = ev->node;
	/* What reaches it from here (a KILL) goes to its node (kill.c). */
	u->ops = &cluster_remote_ops;
	u->door = cl;
	u->secure = ev->user.secure;
	if (ev->user.signon != 0)
		u->signon = (time_t)ev->user.signon;
	if (ev->user.addr[0] != '\0')
		snprintf(u->addr, sizeof u->addr, "%s", ev->user.addr);
	/* Its modes and away message, as the events that set them would
	 * (nobody here shares a room with it yet). */
	char umodes[HUB_UMODE_TEXT_MAX];
	hub_umode_text(ev->user.umodes & (uint8_t)~u->umodes, 1, umodes);
	const char *texts[2] = { umodes[1] != '\0' ? umodes : NULL,
		ev->user.away[0] != '\0' ? ev->user.away : NULL };
	const enum msg_kind kinds[2] = { MSG_UMODE, MSG_AWAY };
	for (int i = 0; i < 2; i++) {
		if (texts[i] == NULL)
			continue;
		struct msg *m = hub_msg(cl->hub, kinds[i], u, NULL, NULL, texts[i]);
		if (m != NULL)
			(void)hub_apply(cl->hub, m);
		msg_unref(m);
	}
}

/* What the msg does not carry, once the hub has the event. */
static void
after(struct cluster *cl, const struct cluster_event *ev)
{
	const struct msg *m = ev->msg;
	struct user *u = hub_user_find(cl->hub, m->kind == MSG_NICK ? m->target : m->from);
	switch (m->kind) {
	case MSG_CONNECT:
		if (u != NULL)
			connected(cl, u, ev);
		break;
	case MSG_JOIN: {
		/* The joiner's modes as Redis gave them (the first joiner's
		 * op: scripts.c). */
		struct room *room = hub_room_find(cl->hub, m->room);
		struct member *mem = room != NULL && u != NULL ? hub_member(room, u) : NULL;
		if (mem != NULL)
			mem->modes = ev->member_modes;
		break;
	}
	case MSG_KICK:
		/* A user of this node may have been kicked out. */
		cluster_recheck_rooms(cl);
		break;
	default:
		break;
	}
}

int
cluster_apply_event(struct cluster *cl, struct cluster_event *ev)
{
	/* Only a user of the event's node acts in it: a nickname both nodes
	 * gave at once (lane B settles those) must not make this node's own
	 * user of that name do what the other did. */
	enum hub_status st = HUB_ENONICK;
	struct user *u = hub_user_find(cl->hub, ev->msg->from);
	if (ev->msg->kind == MSG_CONNECT || (u != NULL && u->remote && u->node == ev->node) ||
	    (ev->msg->kind == MSG_MODE && hub_from_service(ev->msg)))
		st = hub_apply(cl->hub, ev->msg);
	/* Two users took one nickname while the nodes were apart: the
	 * earlier keeps it (health.c). */
	if (st == HUB_ENICKINUSE && ev->msg->kind == MSG_CONNECT && u != NULL && !u->remote &&
	    cluster_collide(cl, ev, u))
		st = hub_apply(cl->hub, ev->msg);
	if (known(ev, u, st))
		return -1;
	if (st == HUB_OK)
		after(cl, ev);
	return (int)st;
}

void
cluster_apply_payload(struct cluster *cl, const char *p, size_t n, uint64_t done)
{
	uint64_t seq = 0;
	uint8_t modes = 0;
	int framed = cluster_frame_read(&p, &n, &seq, &modes);
	struct cluster_event ev = { 0 };
	if (framed < 0 || cluster_decode(p, n, &ev) < 0) {
		cl->stats.garbage++;
		return;
	}
	if (framed) {
		ev.seq = seq;
		ev.member_modes = modes;
		if (seq > cl->heard_seq)
			cl->heard_seq = seq;
	}
	/* In the snapshot already (snapshot.c), ours, or seen. */
	if ((framed && seq <= done) || ev.node == cl->node || !fresh(cl, &ev)) {
		if (ev.node != cl->node && !(framed && seq <= done))
			cl->stats.duplicates++;
		cluster_event_clear(&ev);
		return;
	}
	int st = cluster_apply_event(cl, &ev);
	if (st < 0) {
		cl->stats.duplicates++;
	} else if (st == HUB_OK) {
		cl->stats.applied++;
	} else {
		/* Lane B settles nickname collisions (a NICK or CONNECT to a
		 * nickname taken here): until then the event is refused. */
		cl->stats.rejected++;
		if (!cl->said_rejected) {
			cl->said_rejected = 1;
			log_warn("cluster: an event of node %u was refused here (%d, from %s); "
			    "counting the others quietly", (unsigned)ev.node, st, ev.msg->from);
		}
	}
	cluster_event_clear(&ev);
}
