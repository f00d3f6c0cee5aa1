/* A parleyd node in a cluster over Redis (the option cluster): the
 * nodes share one chat. Each node publishes the events its own users make
 * once (publish.c, a hub observer), and applies the events of the others
 * to its hub (apply.c, hub_apply). Every node mirrors every user and every
 * room's membership, so NAMES, WHO or WHOIS answer from the local hub;
 * a room's traffic reaches only the nodes with members in it. See
 * docs/cluster.md for the channels, the keys and what comes next.
 *
 * Above the hub and the loop, beside the store: the server calls it; the
 * hub never does (it only calls its observers). */
#ifndef PARLEY_CLUSTER_H
#define PARLEY_CLUSTER_H

#include <stdint.h>

#include "base/config.h"
#include "chat/hub.h"
#include "net/loop.h"

struct cluster;

/* What a node counts (for the log and, later, the metrics). */
struct cluster_stats {
	uint64_t published;      /* events sent to Redis */
	uint64_t applied;        /* events of other nodes applied here */
	uint64_t duplicates;     /* dropped: seen from that node already */
	uint64_t garbage;        /* dropped: not an event (codec) */
	uint64_t rejected;       /* dropped: the hub refused to apply it */
	uint64_t unsent;         /* not sent: Redis down or not keeping up */
	uint64_t reconnects;     /* outages of the links to Redis ended */
	uint64_t reaped;         /* other nodes found dead (heartbeat gone) */
	uint64_t dropped;        /* other nodes' users dropped here: reaped, or
	                          * a netsplit (Redis lost, a node's new epoch) */
	uint64_t reasserted;     /* times this node told its users again */
	uint64_t renamed;        /* users of this node renamed: another node's
	                          * earlier user had their nickname */
	uint32_t nodes;          /* nodes alive at the last check, this one too */
};

/* Joins the cluster of cfg->cluster: reaches Redis (blocking, at start,
 * before any client: a Redis that is not there stops the start), takes a
 * node id (node-id, or one from Redis) and gives it to hub, registers the
 * node, then connects the two links (commands, pub/sub) on loop and
 * starts publishing hub's events. NULL, with one line on stderr, when
 * it cannot. */
struct cluster *cluster_start(struct hub *hub, struct loop *loop, const struct config *cfg);
/* The server is shutting down: every user of this node quits for the
 * others, with reason, and the node's heartbeat goes (the others reap
 * it at their next check). The publishes go out while the server
 * flushes its clients. NULL is fine. */
void cluster_leave(struct cluster *cl, const char *reason);
/* Leaves: closes the links (no event is published any more). NULL is
 * fine. Before the hub is cleared. */
void cluster_free(struct cluster *cl);
uint16_t cluster_node(const struct cluster *cl);
const struct cluster_stats *cluster_stats(const struct cluster *cl);
/* With history, the node's commands to Redis (its publishes, in order)
 * are held until the events they carry are committed (net/gate.h's
 * stream): the bytes of commands made so far (a count that only grows),
 * and from now on only those below release go out (ctx: the cluster). */
uint64_t cluster_pushed(const struct cluster *cl);
void cluster_release_published(void *ctx, uint64_t release);
/* Read markers (marker.c): a marker account set here on target is told
 * to the nodes where a user is logged in as account; there, the listener
 * (the IRC door's, set by the server) tells the account's connections. */
typedef void cluster_marker_fn(void *ctx, const char *account, const char *target,
    int64_t at_ms);
void cluster_marker_listen(struct cluster *cl, cluster_marker_fn *fn, void *ctx);
void cluster_marker_tell(struct cluster *cl, const char *account, const char *target,
    int64_t at_ms);
/* The registrations the database holds (registered rooms) are read
 * again when this node may have missed their events: once it hears the
 * cluster at start (the shared state loaded), and whenever its links to
 * Redis are back after an outage. fn(ctx) is called then (the server
 * sets it: store/rooms.c's reload, which cluster/ does not know). */
typedef void cluster_back_fn(void *ctx);
void cluster_back_listen(struct cluster *cl, cluster_back_fn *fn, void *ctx);
/* 1 while both links to Redis are up (the node hears the others). */
int cluster_up(const struct cluster *cl);

/* ---- One nickname space (claims.c) ----
 * A nickname is the cluster's to give: Redis holds <prefix>nick:<folded>
 * for the one user who claimed it, and a door asks before the hub makes
 * or renames a user (registration, NICK, /nick). The answer comes later,
 * on the loop; until then the user has no new nickname. A nickname is
 * released when its user leaves it (NICK) or goes (QUIT, a closed
 * connection): the publisher does that, after the event went out, so a
 * node that wins the nickname next has heard of the change first. */
enum cluster_claim {
	CLUSTER_CLAIM_OK,        /* it is the claimer's (the local rules still
	                          * apply: the hub may refuse it) */
	CLUSTER_CLAIM_TAKEN,     /* another user holds it, on some node */
	CLUSTER_CLAIM_BUSY,      /* Redis is not keeping up: try later */
	CLUSTER_CLAIM_PENDING,   /* cluster_claim: the answer comes through fn */
};
typedef void cluster_claim_fn(void *ctx, enum cluster_claim result);
/* Claims nick for owner (a number unique on this node for as long as it
 * holds it: the conn's id). CLUSTER_CLAIM_PENDING: fn(ctx, result) is
 * called once, later, on the loop (also when the link goes: then the
 * local rule decides, CLUSTER_CLAIM_OK, and the claim is asserted again
 * when Redis is back). CLUSTER_CLAIM_OK at once when Redis is away, CLUSTER_CLAIM_BUSY when
 * too many commands wait for it. A
 * claimer that is gone when fn runs, or whose hub refused the nickname,
 * gives it back with cluster_release. */
enum cluster_claim cluster_claim(struct cluster *cl, const char *nick, uint64_t owner,
    cluster_claim_fn *fn, void *ctx);
/* Gives nick back if owner holds it (nothing otherwise). */
void cluster_release(struct cluster *cl, const char *nick, uint64_t owner);

#endif
