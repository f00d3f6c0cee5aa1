/* The cluster's own parts (cluster.c, publish.c, apply.c): its state,
 * the names of its channels and keys, and the seams the next pieces plug
 * into. Not for anyone else. */
#ifndef PARLEY_CLUSTER_INT_H
#define PARLEY_CLUSTER_INT_H

#include <stdint.h>
#include <uthash.h>

#include "base/buf.h"
#include "cluster/cluster.h"
#include "cluster/codec.h"
#include "cluster/redis_loop.h"

/* Every key and channel starts with this: the one place naming them.
 *   <prefix>u            channel: users' and rooms' state changes, every node
 *   <prefix>n:<id>       channel: what is for users of node <id> (private)
 *   <prefix>r:<room>     shard channel: a room's traffic (room folded)
 *   <prefix>nodeid       counter handing out node ids
 *   <prefix>nodes        set of the node ids that ever joined
 *   <prefix>node:<id>    heartbeat: "<epoch>:<name>" (epoch 0 while the
 *                        node starts), expires unless renewed
 *   <prefix>reap:<id>    held (NX, CLUSTER_REAP_TTL) by the node that reaps
 *                        the dead node <id> */
#define CLUSTER_PREFIX "parley:"
/* A channel or key name, the longest (a room's) included. */
#define CLUSTER_NAME_MAX (sizeof CLUSTER_PREFIX + 2 + ROOM_LEN_MAX + 1)

/* The heartbeat: renewed every CLUSTER_BEAT_MS, gone after CLUSTER_BEAT_TTL
 * seconds without; at each beat a node also checks the others' keys, and
 * reaps the nodes whose key went (health.c). The reaper holds
 * reap:<id> for CLUSTER_REAP_TTL seconds: one node cleans Redis up. */
#define CLUSTER_BEAT_MS 3000
#define CLUSTER_BEAT_TTL 10
#define CLUSTER_REAP_TTL 30
/* A node sequence: the epoch (Unix seconds its links last came up, or it
 * started) in the high 32 bits, a count of its events in the low. A
 * receiver that sees a node's epoch grow knows the node lost what it had
 * heard (it restarted, or lost Redis): its users as known here are
 * dropped, and this node tells its own again (health.c). */
#define CLUSTER_SEQ(epoch) ((uint64_t)(epoch) << 32)
#define CLUSTER_EPOCH(seq) ((uint32_t)((seq) >> 32))
/* The most other nodes one check looks at (a bound on its reply). */
#define CLUSTER_NODES_MAX 1024
/* Commands sent and not yet answered, and bytes queued for Redis: past
 * either, events are not published (counted in unsent, logged once), so a
 * Redis that stalls costs a bounded amount of memory. */
#define CLUSTER_INFLIGHT_MAX 100000
#define CLUSTER_QUEUED_MAX (64u << 20)
/* The longest wait between two tries to reconnect, in seconds. */
#define CLUSTER_RETRY_MAX_S 30
/* Node ids tried at start before giving up (each held by a live node). */
#define CLUSTER_ID_TRIES 32

/* A room whose shard channel the pub/sub link is subscribed to. */
struct cluster_sub {
	char key[ROOM_LEN_MAX + 1];  /* the room's folded name: the hash key */
	UT_hash_handle hh;
};

/* Another node as heard here: the last sequence seen from it (its events
 * come in order, so one at or below it is a duplicate) and its epoch
 * (from its events or its heartbeat): what it heard of the cluster
 * started then. */
struct cluster_peer {
	uint16_t node;               /* the hash key */
	uint64_t last;
	uint32_t epoch;
	UT_hash_handle hh;
};

struct cluster {
	struct hub *hub;
	struct loop *loop;
	uint16_t node;
	char name[SERVER_NAME_MAX + 1];  /* node-name, or server-name */
	char host[64];                   /* Redis, as a numeric address: a
	                                  * reconnect resolves no name */
	unsigned port, db;
	struct redis_link cmd;           /* commands and publishes */
	struct redis_link sub;           /* SUBSCRIBE, SSUBSCRIBE: a push link */
	struct loop_timer beat;          /* renews node:<id> */
	struct loop_timer settle;        /* drops the rooms nobody here is in */
	struct loop_timer retry;         /* reconnects the links that are down */
	uint32_t backoff_s;              /* the last wait before a retry; 0: none */
	uint8_t down;                    /* a link is down (logged once) */
	uint8_t joined;                  /* both links were up once (logged) */
	uint64_t node_seq;               /* the last event published */
	uint32_t epoch;                  /* CLUSTER_EPOCH of node_seq */
	uint32_t announced;              /* the epoch our heartbeat shows: 0 until
	                                  * the pub/sub link is subscribed (a node
	                                  * that tells us its users must find us
	                                  * listening) */
	uint8_t checking;                /* a check of the others is under way */
	struct loop_timer reassert;      /* tells our users again (health.c) */
	struct user herald;              /* who the cluster's notices come from:
	                                  * the node's name */
	uint32_t inflight;               /* commands sent, not answered */
	struct cluster_sub *subs;        /* uthash: the rooms heard */
	struct cluster_peer *peers;      /* uthash: the other nodes heard */
	struct buf out;                  /* an event's bytes, reused */
	struct cluster_stats stats;
	uint8_t said_unsent;             /* logged that events went unsent */
	uint8_t said_rejected;           /* logged a refused event */
};

/* channels.c: the channel of a room (by name, any case), of a node, and
 * the users' one, into out (CLUSTER_NAME_MAX). */
void cluster_room_channel(const char *room, char *out);
void cluster_node_channel(uint16_t node, char *out);
void cluster_users_channel(char *out);
/* The pub/sub link hears room's traffic from now on (SSUBSCRIBE), if it
 * did not. */
void cluster_hear_room(struct cluster *cl, const struct room *room);
/* Soon (next pass): the rooms with no local member are not heard any
 * more (SUNSUBSCRIBE). */
void cluster_recheck_rooms(struct cluster *cl);
/* The settle timer: the rooms nobody here is in are not heard any more. */
void cluster_settle(struct loop *loop, struct loop_timer *t);
/* The pub/sub link (new) hears every channel of this node: the users',
 * its own, and its rooms'. */
void cluster_hear_all(struct cluster *cl);

/* health.c: the heartbeat and the check of the others (each beat); the
 * pub/sub link heard its first SUBSCRIBE answer (the node listens: its
 * epoch is announced); a link went down (the first of an outage: local
 * users told, the other nodes' users dropped) or both are back (a new
 * epoch, our users told again); another node's epoch grew (its users as
 * known here dropped, ours told again); a MSG_CONNECT from another node
 * takes a nickname a user of this node has (the earlier user keeps it: 1
 * when the event may be applied now). A node heard of for the first time
 * (NULL when out of memory) is told of our users. */
void cluster_beat(struct cluster *cl);
void cluster_subscribed(struct cluster *cl);
void cluster_link_lost(struct cluster *cl);
void cluster_link_back(struct cluster *cl);
struct cluster_peer *cluster_peer_new(struct cluster *cl, uint16_t node, uint32_t epoch);
void cluster_peer_epoch(struct cluster *cl, struct cluster_peer *p, uint32_t epoch);
int cluster_collide(struct cluster *cl, const struct cluster_event *ev, struct user *holder);
void cluster_health_init(struct cluster *cl);
void cluster_health_free(struct cluster *cl);

/* publish.c: the hub observer (hub_observe). */
void cluster_publish(void *ctx, struct msg *m, const struct audience *to);

/* apply.c: a push on the pub/sub link (redis_link's on_push). */
void cluster_on_push(struct redis_link *link, redisReply *reply);

#endif
