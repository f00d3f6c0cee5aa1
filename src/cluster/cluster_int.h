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
 *   <prefix>node:<id>    heartbeat: the node's name, expires unless renewed */
#define CLUSTER_PREFIX "parley:"
/* A channel or key name, the longest (a room's) included. */
#define CLUSTER_NAME_MAX (sizeof CLUSTER_PREFIX + 2 + ROOM_LEN_MAX + 1)

/* The heartbeat: renewed every CLUSTER_BEAT_MS, gone after CLUSTER_BEAT_TTL
 * seconds without (lane D reaps the nodes whose key went). */
#define CLUSTER_BEAT_MS 3000
#define CLUSTER_BEAT_TTL 10
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

/* The last sequence seen from another node: its events come in order, so
 * one at or below it is a duplicate. */
struct cluster_peer {
	uint16_t node;               /* the hash key */
	uint64_t last;
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
	uint32_t inflight;               /* commands sent, not answered */
	struct cluster_sub *subs;        /* uthash: the rooms heard */
	struct cluster_peer *peers;      /* uthash: the other nodes heard */
	struct buf out;                  /* an event's bytes, reused */
	struct cluster_stats stats;
	uint8_t said_unsent;             /* logged that events went unsent */
	uint8_t said_rejected;           /* logged a refused event */
};

/* cluster.c: the channel of a room (by name, any case), of a node, and
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

/* publish.c: the hub observer (hub_observe). */
void cluster_publish(void *ctx, struct msg *m, const struct audience *to);

/* apply.c: a push on the pub/sub link (redis_link's on_push). */
void cluster_on_push(struct redis_link *link, redisReply *reply);

#endif
