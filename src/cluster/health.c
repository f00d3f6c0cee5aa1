/* The cluster's failures: which nodes are alive, what a node does when
 * another dies or when Redis goes away, and how the nodes agree again
 * after (issue 15, docs/scaling.md "Failures").
 *
 * The idea: every node mirrors the users of the others, so whenever a
 * node may have missed events, what it mirrors is dropped and told
 * again, never patched. Each node has an epoch (cluster_int.h,
 * CLUSTER_SEQ): the time its links last came up, in the high bits of
 * every event's sequence and in its heartbeat key. A node whose epoch
 * grew has lost what it heard (it restarted, or lost Redis): the others
 * drop its users as known to them (a netsplit) and tell it theirs again
 * (MSG_CONNECT and a MSG_JOIN per room, which the nodes that know them
 * already ignore); it tells its own. A node whose heartbeat key expired
 * is dead: every node drops its users ("node lost"), and the one that
 * wins reap:<id> (SET NX) cleans Redis up. When Redis goes away, a node
 * tells its local users of the rooms it shared with others, drops the
 * others' users, and serves its own alone until the links are back. */
#include "cluster/cluster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

/* What users see. A quit reason for the users of a node that died, one
 * for those of a node we lost touch with; the notice to local members of
 * a room shared with other nodes when Redis goes away; the notice to a
 * user who must give up a nickname. */
#define QUIT_NODE_LOST "node lost"
#define QUIT_NETSPLIT "netsplit"
#define NOTICE_SPLIT "the cluster link is down: until it is back, only users of " \
	"this server hear this room"
#define NOTICE_RENAMED "a user of another node had the nickname %s before you " \
	"(the cluster was split): you are now %s"

/* How long a stopping node waits for Redis to take its users' quits. */
#define CLUSTER_LEAVE_FLUSH_MS 1000

/* A check under way: the other nodes asked about, in the order of the
 * MGET of their heartbeat keys. */
struct check {
	struct cluster *cl;
	uint32_t gen;      /* cl->checks when it was sent */
	unsigned n;
	uint16_t ids[];
};

static struct cluster_peer *
peer_find(struct cluster *cl, uint16_t node)
{
	struct cluster_peer *p;
	HASH_FIND(hh, cl->peers, &node, sizeof node, p);
	return p;
}

/* ---- Telling local users ---- */

/* A notice from the node (cl->herald) to u alone, as its door shows
 * notices: in room when not NULL. */
static void
notice(struct cluster *cl, struct user *u, struct room *room, const char *text)
{
	struct msg *m = hub_msg(cl->hub, MSG_NOTICE, &cl->herald,
	    room != NULL ? room->name : NULL, room != NULL ? NULL : u->nick, text);
	if (m == NULL)
		return;
	u->ops->deliver(u, m);
	msg_unref(m);
}

/* Once per room with members here and elsewhere: they hear only each
 * other from now on. */
static void
notice_split_rooms(struct cluster *cl)
{
	struct room *room, *rtmp;
	HASH_ITER(hh, cl->hub->rooms, room, rtmp) {
		if (room->nlocal == 0 || room->nlocal == room->nmembers)
			continue;
		struct msg *m = hub_msg(cl->hub, MSG_NOTICE, &cl->herald, room->name, NULL,
		    NOTICE_SPLIT);
		if (m == NULL)
			continue;
		for (uint32_t i = 0; i < room->nmembers; i++) {
			struct user *u = room->members[i].user;
			if (!u->remote)
				u->ops->deliver(u, m);
		}
		msg_unref(m);
	}
}

/* ---- Dropping other nodes' users ---- */

/* The users of node (0: of every other node) leave the mirror, each with
 * a QUIT their neighbours here see; how many. */
static uint32_t
drop_users(struct cluster *cl, uint16_t node, const char *reason)
{
	uint32_t n = 0;
	struct user *u, *tmp;
	HASH_ITER(hh, cl->hub->users, u, tmp) {
		if (!u->remote || (node != 0 && u->node != node))
			continue;
		struct msg *m = hub_msg(cl->hub, MSG_QUIT, u, NULL, NULL, reason);
		if (m == NULL)
			continue;
		/* Removes u alone from the users: tmp stays valid. */
		if (hub_apply(cl->hub, m) == HUB_OK)
			n++;
		msg_unref(m);
	}
	/* Only remote users left: the rooms heard (those with local
	 * members) stay as they were. */
	cl->stats.dropped += n;
	return n;
}

/* ---- Telling our users again ---- */

static void
publish(struct cluster *cl, struct msg *m)
{
	if (m == NULL)
		return;
	cluster_publish(cl, m, NULL);
	msg_unref(m);
}

/* u as another node makes it: MSG_CONNECT (with its signon, modes, away:
 * the codec's cluster_user), then a MSG_JOIN per room, oldest first
 * (with its member modes). A node that knows u already ignores them. */
static void
tell_user(struct cluster *cl, struct user *u)
{
	publish(cl, hub_msg(cl->hub, MSG_CONNECT, u, NULL, NULL, u->realname));
	struct room *room;
	for (unsigned i = 0; (room = hub_user_room(u, i)) != NULL; i++)
		publish(cl, hub_msg(cl->hub, MSG_JOIN, u, room->name, NULL, u->realname));
}

static void
reassert(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	struct cluster *cl = t->data;
	/* Not while the node does not listen: the others answer a telling
	 * with theirs, which it would miss. It tells when it announces. */
	if (!cl->cmd.up || cl->announced == 0) {
		cl->tell = 1;
		return;
	}
	uint32_t n = 0;
	struct user *u, *tmp;
	HASH_ITER(hh, cl->hub->users, u, tmp) {
		if (u->remote)
			continue;
		tell_user(cl, u);
		n++;
	}
	cl->stats.reasserted++;
	log_info("cluster: told the other nodes of this node's %u users again", (unsigned)n);
}

void
cluster_reassert_now(struct cluster *cl)
{
	if (!loop_timer_active(&cl->reassert))
		return;
	loop_timer_stop(cl->loop, &cl->reassert);
	reassert(cl->loop, &cl->reassert);
}

/* Next pass: every node that needs it this pass is served by one telling. */
static void
reassert_soon(struct cluster *cl)
{
	if (!loop_timer_active(&cl->reassert))
		loop_timer_start(cl->loop, &cl->reassert, 0);
}

struct cluster_peer *
cluster_peer_new(struct cluster *cl, uint16_t node, uint32_t epoch)
{
	struct cluster_peer *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->node = node;
	p->epoch = epoch;
	HASH_ADD(hh, cl->peers, node, sizeof p->node, p);
	log_info("cluster: node %u is here", (unsigned)node);
	/* It may be new, and know nothing of ours. */
	reassert_soon(cl);
	return p;
}

void
cluster_peer_epoch(struct cluster *cl, struct cluster_peer *p, uint32_t epoch)
{
	uint32_t n = drop_users(cl, p->node, QUIT_NETSPLIT);
	p->epoch = epoch;
	log_info("cluster: node %u lost touch with the cluster and is back: %u of its users "
	    "dropped here until it tells them again", (unsigned)p->node, (unsigned)n);
	reassert_soon(cl);
}

/* ---- Our epoch ---- */

/* A new epoch, after the one before: what we publish from now on tells
 * the others that we heard nothing meanwhile. */
static void
new_epoch(struct cluster *cl)
{
	uint32_t now = (uint32_t)time(NULL);
	cl->epoch = now > cl->epoch ? now : cl->epoch + 1;
	cl->node_seq = CLUSTER_SEQ(cl->epoch);
}

static void
on_reply(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	(void)reply;
	struct cluster *cl = data;
	cl->inflight--;
}

static void
command(struct cluster *cl, redisCallbackFn *fn, void *data, const char *fmt, ...)
{
	if (!cl->cmd.up)
		return;
	va_list ap;
	va_start(ap, fmt);
	int rc = redisvAsyncCommand(cl->cmd.ac, fn, data != NULL ? data : cl, fmt, ap);
	va_end(ap);
	if (rc == REDIS_OK)
		cl->inflight++;
}

/* Whether a heartbeat value ("<epoch>:<token>:<name>") is this
 * process's: its token (the value the start wrote, "0:<name>", has none). */
static int
ours(const struct cluster *cl, const char *value)
{
	const char *colon = strchr(value, ':');
	if (colon == NULL || strtoul(value, NULL, 10) == 0)
		return 1;
	return strtoul(colon + 1, NULL, 10) == cl->token;
}

/* A heartbeat's answer: the key's value before. None, when we had
 * announced an epoch, means our key expired: the others took us for dead
 * (our loop stalled, or Redis did) and dropped our users. */
static void
on_beat(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct cluster *cl = data;
	cl->inflight--;
	redisReply *r = reply;
	if (r != NULL && r->type == REDIS_REPLY_STRING && !ours(cl, r->str) &&
	    !cl->said_id_taken) {
		/* Our key held another node's epoch: a node took our id while
		 * our key was gone (a Redis that restarted empty hands the
		 * counter's ids out again). */
		cl->said_id_taken = 1;
		log_error("cluster: another node took node id %u while its heartbeat key was "
		    "gone; give each node its own node-id, or keep Redis's data across "
		    "restarts", (unsigned)cl->node);
	}
	if (r == NULL || r->type != REDIS_REPLY_NIL || cl->announced == 0)
		return;
	log_warn("cluster: this node's heartbeat had expired (the others took it for dead): "
	    "telling them its users again");
	new_epoch(cl);
	cl->announced = cl->epoch;
	command(cl, on_reply, NULL, "SET " CLUSTER_PREFIX "node:%u %u:%u:%s EX %d",
	    (unsigned)cl->node, (unsigned)cl->announced, (unsigned)cl->token, cl->name,
	    CLUSTER_BEAT_TTL);
	reassert_soon(cl);
}

static void
send_beat(struct cluster *cl, int check_gone)
{
	command(cl, check_gone ? on_beat : on_reply, NULL,
	    "SET " CLUSTER_PREFIX "node:%u %u:%u:%s EX %d GET", (unsigned)cl->node,
	    (unsigned)cl->announced, (unsigned)cl->token, cl->name, CLUSTER_BEAT_TTL);
	/* Again each beat: a Redis that restarted empty, or a reaper that
	 * took us for dead, forgot us. */
	command(cl, on_reply, NULL, "SADD " CLUSTER_PREFIX "nodes %u", (unsigned)cl->node);
}

/* The order is what makes every node hear every other after an outage.
 * Another node tells us its users again when it sees our epoch grow (in
 * our heartbeat or our events), once: so our new epoch is shown only when
 * the users' channel is subscribed (Redis answered the SUBSCRIBE, not
 * merely was sent it), and only then do we tell our users, behind the
 * heartbeat on the same link. Shown earlier (the links reconnect apart,
 * the pub/sub link's answer may come late), the others' answer went to a
 * node not listening and was lost for good. The heartbeat goes first so
 * that a node that hears our users finds our key: one that did not (Redis
 * restarted empty) took us for dead and dropped them again. */
int
cluster_announce(struct cluster *cl)
{
	if (cl->announced != 0 || !cl->cmd.up || !cl->sub.up || !cl->heard_users)
		return 0;
	int back = cl->back;
	if (back) {
		cl->back = 0;
		cl->tell = 1;
		new_epoch(cl);
	}
	cl->announced = cl->epoch;
	send_beat(cl, 0);
	/* Redis may have lost the claims (restarted), or had none made while
	 * it was away: after the key, so a reaper that took us for dead
	 * leaves them be (claims.c). */
	if (back)
		cluster_claims_assert(cl, 1);
	if (cl->tell) {
		cl->tell = 0;
		loop_timer_stop(cl->loop, &cl->reassert);
		reassert(cl->loop, &cl->reassert);
	}
	return back;
}

/* ---- The check of the others ---- */

/* The node whose key went is dead: its users quit here. */
static void
reap(struct cluster *cl, struct cluster_peer *p)
{
	uint32_t n = drop_users(cl, p->node, QUIT_NODE_LOST);
	cl->stats.reaped++;
	log_warn("cluster: node %u is gone (no heartbeat for %d s): its %u users quit here",
	    (unsigned)p->node, CLUSTER_BEAT_TTL, (unsigned)n);
	HASH_DEL(cl->peers, p);
	free(p);
}

static void
on_reap_claim(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct check *chk = data;
	struct cluster *cl = chk->cl;
	cl->inflight--;
	redisReply *r = reply;
	/* The winner of reap:<id> cleans Redis up: its nick claims went in
	 * the same script (claims.c), its directory entries and memberships
	 * go now (state.c). */
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
		command(cl, on_reply, NULL, "SREM " CLUSTER_PREFIX "nodes %u",
		    (unsigned)chk->ids[0]);
		cluster_reap_state(cl, chk->ids[0]);
	}
	free(chk);
}

static void
claim_reap(struct cluster *cl, uint16_t node)
{
	struct check *chk = malloc(sizeof *chk + sizeof chk->ids[0]);
	if (chk == NULL)
		return;
	chk->cl = cl;
	chk->gen = cl->checks;
	chk->n = 1;
	chk->ids[0] = node;
	if (cluster_claims_reap(cl, node, on_reap_claim, chk) < 0)
		free(chk);
}

/* One other node's heartbeat value (NULL: none) as check chk read it; 1
 * when it is alive. */
static int
seen(struct cluster *cl, const struct check *chk, uint16_t node, const redisReply *v)
{
	struct cluster_peer *p = peer_find(cl, node);
	if (v == NULL || v->type != REDIS_REPLY_STRING) {
		/* Heard since the check was sent: alive, its key not set yet
		 * when Redis read it (back from an outage with Redis restarted
		 * empty). Reaped, its users told again before would be dropped
		 * here for good. The next check decides. */
		if (p != NULL && p->heard == chk->gen)
			return 1;
		if (p != NULL)
			reap(cl, p);
		claim_reap(cl, node);
		return 0;
	}
	/* 0: the node is starting, not listening yet. */
	uint32_t epoch = (uint32_t)strtoul(v->str, NULL, 10);
	if (epoch == 0)
		return 1;
	if (p == NULL)
		(void)cluster_peer_new(cl, node, epoch);
	else if (epoch > p->epoch)
		cluster_peer_epoch(cl, p, epoch);
	return 1;
}

static void
on_alive(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct check *chk = data;
	struct cluster *cl = chk->cl;
	cl->inflight--;
	cl->checking = 0;
	redisReply *r = reply;
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == chk->n) {
		uint32_t alive = 1;
		for (unsigned i = 0; i < chk->n; i++)
			alive += (uint32_t)seen(cl, chk, chk->ids[i], r->element[i]);
		cl->stats.nodes = alive;
	}
	free(chk);
}

static int
listed(const struct check *chk, uint16_t node)
{
	for (unsigned i = 0; i < chk->n; i++)
		if (chk->ids[i] == node)
			return 1;
	return 0;
}

/* The nodes set's members and the nodes heard of here: their heartbeat
 * keys, in one MGET. */
static void
on_members(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct cluster *cl = data;
	cl->inflight--;
	redisReply *r = reply;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || !cl->cmd.up) {
		cl->checking = 0;
		return;
	}
	size_t cap = r->elements + HASH_COUNT(cl->peers);
	if (cap > CLUSTER_NODES_MAX)
		cap = CLUSTER_NODES_MAX;
	struct check *chk = malloc(sizeof *chk + cap * sizeof chk->ids[0]);
	if (chk == NULL) {
		cl->checking = 0;
		return;
	}
	chk->cl = cl;
	chk->gen = cl->checks;
	chk->n = 0;
	for (size_t i = 0; i < r->elements && chk->n < cap; i++) {
		const redisReply *e = r->element[i];
		unsigned long id = e->type == REDIS_REPLY_STRING ? strtoul(e->str, NULL, 10) : 0;
		if (id != 0 && id <= UINT16_MAX && id != cl->node && !listed(chk, (uint16_t)id))
			chk->ids[chk->n++] = (uint16_t)id;
	}
	struct cluster_peer *p, *ptmp;
	HASH_ITER(hh, cl->peers, p, ptmp)
		if (chk->n < cap && !listed(chk, p->node))
			chk->ids[chk->n++] = p->node;
	if (chk->n == 0) {
		cl->stats.nodes = 1;
		cl->checking = 0;
		free(chk);
		return;
	}
	/* "MGET" and a key per node. */
	const char **argv = malloc((chk->n + 1) * sizeof *argv);
	size_t *lens = malloc((chk->n + 1) * sizeof *lens);
	char (*keys)[CLUSTER_NAME_MAX] = malloc(chk->n * sizeof *keys);
	int rc = REDIS_ERR;
	if (argv != NULL && lens != NULL && keys != NULL) {
		argv[0] = "MGET";
		lens[0] = 4;
		for (unsigned i = 0; i < chk->n; i++) {
			snprintf(keys[i], sizeof keys[i], CLUSTER_PREFIX "node:%u",
			    (unsigned)chk->ids[i]);
			argv[i + 1] = keys[i];
			lens[i + 1] = strlen(keys[i]);
		}
		rc = redisAsyncCommandArgv(cl->cmd.ac, on_alive, chk, (int)chk->n + 1, argv, lens);
	}
	free(argv);
	free(lens);
	free(keys);
	if (rc != REDIS_OK) {
		cl->checking = 0;
		free(chk);
		return;
	}
	cl->inflight++;
}

void
cluster_beat(struct cluster *cl)
{
	/* Redis stalled: who waited for it too long goes on. */
	cluster_claims_expire(cl);
	cluster_holds_expire(cl, 0);
	if (!cl->cmd.up || cl->announced == 0)
		return;
	/* Redis keeps up again after events went unsent: the others' mirrors
	 * of our users may be wrong. A new epoch: they drop them and hear
	 * them again. */
	if (cl->lagged && cl->inflight < CLUSTER_INFLIGHT_MAX / 2 &&
	    redis_link_queued(&cl->cmd) < CLUSTER_QUEUED_MAX / 2) {
		cl->lagged = 0;
		cl->said_unsent = 0;
		log_warn("cluster: Redis keeps up again; some events did not reach the other "
		    "nodes: telling them this node's users again");
		new_epoch(cl);
		cl->announced = cl->epoch;
		reassert_soon(cl);
	}
	send_beat(cl, 1);
	cluster_claims_assert(cl, 0);
	if (cl->checking)
		return;
	cl->checking = 1;
	cl->checks++;
	if (redisAsyncCommand(cl->cmd.ac, on_members, cl, "SMEMBERS " CLUSTER_PREFIX "nodes")
	    != REDIS_OK) {
		cl->checking = 0;
		return;
	}
	cl->inflight++;
}

/* ---- Redis lost and back ---- */

int
cluster_up(const struct cluster *cl)
{
	return cl->cmd.up && cl->sub.up;
}

void
cluster_link_lost(struct cluster *cl)
{
	cl->announced = 0;
	cl->checking = 0;
	notice_split_rooms(cl);
	uint32_t n = drop_users(cl, 0, QUIT_NETSPLIT);
	log_warn("cluster: %u users of other nodes dropped here (a netsplit) until Redis is "
	    "back", (unsigned)n);
}

/* The new epoch and the telling wait for cluster_announce. */
void
cluster_link_back(struct cluster *cl)
{
	cl->stats.reconnects++;
	cl->back = 1;
}

void
cluster_leave(struct cluster *cl, const char *reason)
{
	if (cl == NULL || !cl->cmd.up)
		return;
	uint32_t n = 0;
	struct user *u, *tmp;
	HASH_ITER(hh, cl->hub->users, u, tmp) {
		if (u->remote)
			continue;
		publish(cl, hub_msg(cl->hub, MSG_QUIT, u, NULL, NULL, reason));
		n++;
	}
	command(cl, on_reply, NULL, "DEL " CLUSTER_PREFIX "node:%u", (unsigned)cl->node);
	cl->announced = 0;   /* no beat brings the key back */
	/* The loop may stop before it writes them: now, briefly. */
	if (redis_link_flush(&cl->cmd, CLUSTER_LEAVE_FLUSH_MS) < 0)
		log_warn("cluster: leaving: Redis did not take the quits in time");
	log_info("cluster: leaving: the other nodes told that this node's %u users quit",
	    (unsigned)n);
}

/* ---- Two users with one nickname ---- */

int
cluster_collide(struct cluster *cl, const struct cluster_event *ev, struct user *holder)
{
	int64_t theirs = ev->user.signon != 0 ? ev->user.signon : ev->msg->at_ms / 1000;
	int64_t ours = (int64_t)holder->signon;
	/* The earlier user keeps the nickname; at the same second, the
	 * user of the lower node id. Both nodes decide alike. */
	if (theirs > ours || (theirs == ours && ev->node > cl->node))
		return 0;   /* ours keeps it: the other node renames its own */
	char was[NICK_LEN_MAX + 1];
	snprintf(was, sizeof was, "%s", holder->nick);
	if (hub_nick_guest(cl->hub, holder) != HUB_OK)
		return 0;
	cl->stats.renamed++;
	char text[sizeof NOTICE_RENAMED + 2 * NICK_LEN_MAX];
	snprintf(text, sizeof text, NOTICE_RENAMED, was, holder->nick);
	notice(cl, holder, NULL, text);
	log_info("cluster: %s of node %u came before ours: ours is now %s", was,
	    (unsigned)ev->node, holder->nick);
	/* The nodes that refused our user under the old name learn it now. */
	tell_user(cl, holder);
	return 1;
}

/* ---- Start and end ---- */

/* s into out (cap bytes), cut to fit: a node's name may be longer than
 * a nickname or a host. */
static void
cut(char *out, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);
	memcpy(out, s, n);
	out[n] = '\0';
}

void
cluster_health_init(struct cluster *cl)
{
	cl->epoch = (uint32_t)time(NULL);
	cl->node_seq = CLUSTER_SEQ(cl->epoch);
	if (getrandom(&cl->token, sizeof cl->token, 0) != (ssize_t)sizeof cl->token)
		cl->token = (uint32_t)getpid() ^ (uint32_t)clock_now_ms();
	loop_timer_init(&cl->reassert, reassert, cl);
	struct user *h = &cl->herald;
	cut(h->nick, sizeof h->nick, cl->name);
	cut(h->ident, sizeof h->ident, "cluster");
	cut(h->host, sizeof h->host, cl->name);
	cut(h->addr, sizeof h->addr, cl->name);
	h->ops = &hub_remote_ops;
}

void
cluster_health_free(struct cluster *cl)
{
	loop_timer_stop(cl->loop, &cl->reassert);
}
