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
 *   <prefix>node:<id>    heartbeat: "<epoch>:<token>:<name>" (epoch 0 while the
 *                        node starts), expires unless renewed
 *   <prefix>reap:<id>    held (NX, CLUSTER_REAP_TTL) by the node that reaps
 *                        the dead node <id>
 * The shared state, changed only by the scripts of scripts.c:
 *   <prefix>seq          the global sequence of state events
 *   <prefix>users        hash: every user's nick, folded -> its node
 *   <prefix>user:<nick>  a user's directory entry: the encoded MSG_CONNECT
 *                        that makes it as it is now
 *   <prefix>rooms        set: every room's name, folded
 *   <prefix>room:<room>  hash: name, created, modes (flag letters), key,
 *                        limit, topic, topic_by, topic_at
 *   <prefix>room:<room>:m  hash: member's nick folded -> "<node> <modes>"
 *                        (MEMBER_* bits)
 *   <prefix>room:<room>:b, :e, :I  hash: mask -> "<at> <by>"
 *   <prefix>nick:<nick>  a nickname's claim (nick folded): "<node> <owner>
 *                        <claimed-ms>", owner "<node start>.<c|g><number>"
 *   <prefix>nicks:<id>   set of the claims' keys node <id> made (its reaper
 *                        forgets them)
 *   <prefix>born         a random value, set when missing: another than the
 *                        one a node knew means Redis lost its data
 *                        (restate.c) */
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
/* <prefix>born's value, and its NUL. */
#define CLUSTER_BORN_MAX 24
/* How long a local user's commands wait for Redis's answer about one
 * before them (holds.c), and a door's nickname claim for its answer
 * (claims.c: then CLUSTER_CLAIM_BUSY), in ms: checked at each beat. */
#define CLUSTER_HOLD_MS 5000
/* Node ids tried at start before giving up (each held by a live node). */
#define CLUSTER_ID_TRIES 32

/* The Lua scripts (scripts.c): one a kind of change, and the snapshot. */
enum cluster_script {
	SCRIPT_JOIN, SCRIPT_LEAVE, SCRIPT_TOPIC, SCRIPT_MODE, SCRIPT_USER, SCRIPT_EVENT,
	SCRIPT_SNAPSHOT, SCRIPT_ROOMS, SCRIPT_REAP, SCRIPT_COUNT
};
#define CLUSTER_SHA_LEN 40
const char *cluster_script_text(enum cluster_script s);
/* The script's SHA1 in hex, as EVALSHA names it: 0, or -1. */
int cluster_script_sha(enum cluster_script s, char out[CLUSTER_SHA_LEN + 1]);

/* The bytes of the stream a node starting keeps while it loads the
 * snapshot: past it, they are dropped and the snapshot read again. */
#define CLUSTER_LOAD_BUFFER_MAX (16u << 20)
/* How long a node starting waits for the snapshot before it lets clients
 * in (it goes on loading behind them). */
#define CLUSTER_LOAD_WAIT_MS 10000

/* An event heard while the snapshot is loading, kept in order. */
struct cluster_held {
	struct cluster_held *next;
	size_t len;
	char bytes[];
};

/* A room whose shard channel the pub/sub link is subscribed to. */
struct cluster_sub {
	char key[ROOM_LEN_MAX + 1];  /* the room's folded name: the hash key */
	UT_hash_handle hh;
};

/* A nickname a user of this node holds in Redis (claims.c): released
 * when the user leaves it; lane D asserts them again after an outage. */
#define CLUSTER_OWNER_MAX 64
struct cluster_nick {
	char key[NICK_LEN_MAX + 1];      /* the nickname folded: the hash key */
	char owner[CLUSTER_OWNER_MAX];   /* "<node> <start>.<c|g><number>" */
	uint8_t asserted;                /* Redis said it is ours (since the
	                                  * links last came up) */
	uint8_t asserting;               /* a claim of it is on its way */
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
	uint32_t heard;              /* cl->checks when an event of it was last
	                              * applied: a check sent before that which
	                              * finds no heartbeat does not reap it */
	UT_hash_handle hh;
};

struct cluster_hold;
struct claim_wait;

struct cluster {
	struct hub *hub;
	struct loop *loop;
	uint16_t node;
	char name[SERVER_NAME_MAX + 1];  /* node-name, or server-name */
	char host[64];                   /* Redis, as a numeric address: a
	                                  * reconnect resolves no name */
	unsigned port, db;
	char user[CONFIG_REDIS_USER_MAX + 1];          /* AUTH's, or "" */
	char password[CONFIG_REDIS_PASSWORD_MAX + 1];  /* or "": no AUTH */
	struct redis_link cmd;           /* commands and publishes */
	struct redis_link sub;           /* SUBSCRIBE, SSUBSCRIBE: a push link */
	struct loop_timer beat;          /* renews node:<id> */
	struct loop_timer settle;        /* drops the rooms nobody here is in */
	struct loop_timer retry;         /* reconnects the links that are down */
	uint32_t backoff_s;              /* the last wait before a retry; 0: none */
	uint8_t down;                    /* a link is down (logged once) */
	uint8_t said_refused;            /* logged that Redis refused the password
	                                  * (once an outage) */
	uint8_t joined;                  /* both links were up once (logged) */
	uint64_t node_seq;               /* the last event published */
	uint32_t epoch;                  /* CLUSTER_EPOCH of node_seq */
	uint32_t announced;              /* the epoch our heartbeat shows: 0 until
	                                  * both links are up and the users'
	                                  * channel is subscribed (a node that
	                                  * tells us its users must find us
	                                  * listening: health.c) */
	uint8_t back;                    /* the links came back: a new epoch
	                                  * starts when it is announced */
	uint8_t tell;                    /* our users are told again when the
	                                  * epoch is announced */
	uint8_t checking;                /* a check of the others is under way */
	uint32_t checks;                 /* checks of the others sent */
	struct loop_timer reassert;      /* tells our users again (health.c) */
	struct user herald;              /* who the cluster's notices come from:
	                                  * the node's name */
	uint32_t inflight;               /* commands sent, not answered */
	struct cluster_sub *subs;        /* uthash: the rooms heard */
	struct cluster_peer *peers;      /* uthash: the other nodes heard */
	struct cluster_nick *nicks;      /* uthash: the nicknames claimed here */
	uint32_t nnicks;                 /* bounded by the users here (and the
	                                  * claims on their way) */
	int64_t started;                 /* the node's start (s): in owners */
	uint8_t closing;                 /* cluster_free: nothing more is sent */
	struct buf out;                  /* an event's bytes, reused */
	struct cluster_stats stats;
	char sha[SCRIPT_COUNT][CLUSTER_SHA_LEN + 1];
	/* Starting: the snapshot is not loaded yet (snapshot.c). */
	enum { LOAD_WAIT, LOAD_ASKED, LOAD_DONE } load;
	uint8_t heard_users;             /* the users' channel is subscribed (on
	                                  * the pub/sub link's connection) */
	uint8_t starting;                /* cluster_start runs the loop to load */
	uint8_t load_overflow;           /* held too much: read it again */
	struct cluster_held *held, **held_tail;
	size_t held_bytes;
	uint8_t said_unsent;             /* logged that events went unsent */
	uint8_t said_rejected;           /* logged a refused event */
	uint8_t lagged;                  /* events went unsent with the link up
	                                  * (Redis not keeping up): the others'
	                                  * mirrors miss them (health.c) */
	uint8_t said_id_taken;           /* logged that another node has our id */
	uint32_t token;                  /* random, this process's: in our
	                                  * heartbeat, to know it is ours */
	cluster_marker_fn *on_marker;    /* told of another node's read marker */
	void *marker_ctx;
	cluster_back_fn *on_back;        /* told it hears the cluster (again) */
	void *back_ctx;
	struct cluster_hold *holds;      /* users waiting for an answer (holds.c) */
	struct claim_wait *waits;        /* doors' claims waiting (claims.c) */
	char born[CLUSTER_BORN_MAX];     /* <prefix>born as this node knew it */
	uint64_t heard_seq;              /* the highest global sequence applied */
	uint8_t rooms_tries;             /* rooms' state read again (snapshot.c) */
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

/* health.c: the heartbeat and the check of the others (each beat); a
 * link went down (the first of an outage: local users told, the other
 * nodes' users dropped) or both are back (a new epoch is due); the node
 * listens and can speak (both links up, the users' channel subscribed):
 * its epoch announced, a new one after an outage, and then its users told
 * again (1 when the links had come back: cluster.c reads <prefix>born
 * then); another node's epoch grew (its users as known here dropped,
 * ours told again); a MSG_CONNECT from another node takes a nickname a
 * user of this node has (the earlier user keeps it: 1 when the event may
 * be applied now). A node heard of for the first time (NULL when out of
 * memory) is told of our users. */
void cluster_beat(struct cluster *cl);
void cluster_link_lost(struct cluster *cl);
void cluster_link_back(struct cluster *cl);
int cluster_announce(struct cluster *cl);
struct cluster_peer *cluster_peer_new(struct cluster *cl, uint16_t node, uint32_t epoch);
void cluster_peer_epoch(struct cluster *cl, struct cluster_peer *p, uint32_t epoch);
int cluster_collide(struct cluster *cl, const struct cluster_event *ev, struct user *holder);
void cluster_health_init(struct cluster *cl);
void cluster_health_free(struct cluster *cl);

/* publish.c: the hub observer (hub_observe). */
void cluster_publish(void *ctx, struct msg *m, const struct audience *to);
/* What a MSG_CONNECT carries of u beside its msg. */
void cluster_user_of(const struct user *u, struct cluster_user *out);
/* 1 when the cmd link may take one more command (else counted unsent). */
int cluster_can_send(struct cluster *cl);

/* state.c: a state event (a room's or a user's) sent through its script,
 * which changes the shared state and publishes ev's bytes (cl->out);
 * again when it is told again (health.c), not happening now. The dead
 * node's users and memberships taken out of the shared state (its
 * reaper). */
void cluster_publish_state(struct cluster *cl, const struct cluster_event *ev, int again);
void cluster_reap_state(struct cluster *cl, uint16_t node);
/* 1 when kind changes state every node mirrors (sent by a script). */
int cluster_is_state(enum msg_kind kind);

/* apply.c: one event's payload as heard (a script's frame, or plain bytes):
 * applied, unless framed with a global sequence at most after. */
void cluster_apply_payload(struct cluster *cl, const char *p, size_t n, uint64_t after);
/* ev, decoded, applied to the hub as its node made it: 0, the hub's
 * refusal, or -1 when it was applied here before (an event told again). */
int cluster_apply_event(struct cluster *cl, struct cluster_event *ev);

/* snapshot.c: the cmd and pub/sub links are up, or the users' channel
 * subscribed: the snapshot is asked for when all are. */
void cluster_load_step(struct cluster *cl);
/* The pub/sub link heard p[0..n) while loading: kept for later. */
void cluster_load_hold(struct cluster *cl, const char *p, size_t n);
void cluster_load_free(struct cluster *cl);
/* claims.c: after a local user's event went out, its nicknames: the
 * one it left (NICK) or had (QUIT) released, one it took without a
 * claim (a guest's) claimed, and renamed to another guest's if another
 * node's user holds it. */
void cluster_claims_after(struct cluster *cl, const struct msg *m);
/* Forgets every claim (cluster_free). */
void cluster_claims_free(struct cluster *cl);
/* The claims held here that Redis has not agreed to are claimed again
 * (all: every one, as after Redis came back); at each beat, and when
 * the links are back. */
void cluster_claims_assert(struct cluster *cl, int all);
/* The reap of dead node: reap:<node> taken (NX) and, if won, its claims
 * forgot, in one script; fn gets 1 when this node won. -1 when not sent. */
int cluster_claims_reap(struct cluster *cl, uint16_t node, redisCallbackFn *fn, void *data);
/* At start, on the start's connection: the claims a run before of this
 * node id left are forgot. -1 and *why when Redis refused. */
int cluster_claims_forget(redisContext *c, uint16_t node, const char **why);
/* cluster.c: the callback of a command whose reply only ends its count
 * in inflight (data: the cluster). */
void cluster_counted_reply(redisAsyncContext *ac, void *reply, void *data);
/* The ops of the users of other nodes: KILL reaches their node
 * (claims.c). */
extern const struct user_ops cluster_remote_ops;
/* A request on this node's channel that is not an event (a KILL of a
 * user here): 1 when p[0..n) was one (handled or dropped), 0 else. */
int cluster_on_request(struct cluster *cl, const char *p, size_t n);
/* marker.c: a read marker's request ('M'), checked and told: 1. */
int cluster_marker_heard(struct cluster *cl, const char *p, size_t n);

/* holds.c: nick's user (of this node) waits for an answer: its next
 * commands wait until cluster_hold_end (or CLUSTER_HOLD_MS). NULL when
 * it is not held (no such user, no door input). */
struct cluster_hold *cluster_hold_user(struct cluster *cl, const char *nick);
/* The answer came (or never will): the user goes on; h freed. NULL is
 * fine. */
void cluster_hold_end(struct cluster *cl, struct cluster_hold *h);
/* A local user's event went out: a NICK renames its holds, a QUIT ends
 * them. */
void cluster_holds_follow(struct cluster *cl, const struct msg *m);
/* At each beat, the holds past their time end (all: every one); their
 * owners still end them. */
void cluster_holds_expire(struct cluster *cl, int all);
/* claims.c: at each beat, the doors' claims waiting past
 * CLUSTER_HOLD_MS are answered CLUSTER_CLAIM_BUSY (Redis's answer, when
 * it comes, gives the nickname back if it was given). */
void cluster_claims_expire(struct cluster *cl);

/* restate.c: at start, on the start's connection, <prefix>born read
 * (set if missing): 0, or -1 and *why. When the links are back: if
 * <prefix>born changed, Redis lost its data, and the state of the rooms
 * with members here is told again. */
int cluster_born_start(redisContext *c, struct cluster *cl, const char **why);
void cluster_born_check(struct cluster *cl);
/* The state of room (which has members here) told to Redis: each field
 * set only where Redis has none. Also after a JOIN to a registered room,
 * which Redis made anew with its flags only if it was empty there. */
void cluster_restate_room(struct cluster *cl, const struct room *room);
/* health.c: the users of this node told again now, if that is due. */
void cluster_reassert_now(struct cluster *cl);

/* snapshot.c: the node hears the cluster (again): on_back is told. */
void cluster_heard_again(struct cluster *cl);
/* snapshot.c: the links are back and Redis kept its data: the state of
 * the rooms this node mirrors (topic, modes, key, limit, lists) is read
 * again from Redis, where other nodes may have changed it meanwhile. */
void cluster_rooms_reload(struct cluster *cl);
/* snapshot.c: a push on the pub/sub link but a SUBSCRIBE's answer
 * (cluster.c takes those). */
void cluster_on_push(struct redis_link *link, redisReply *reply);

#endif
