/* One nickname space across the nodes (cluster.h): Redis holds each
 * nickname's claim, <prefix>nick:<folded>, and one script decides it
 * atomically, so of two users asking for one nickname on two nodes at
 * once exactly one gets it. The folding is the hub's (names.c).
 *
 * A claim's value is "<node> <owner> <claimed-ms>". The owner names the
 * claimer on its node: "<node start>.c<conn id>" for a door's claim,
 * "<node start>.g<user serial>" for a nickname a user got without asking
 * (a guest's), claimed once the user has it. The node's start time makes
 * an owner of this run differ from one of a run before with the same
 * node id. A node remembers what its users hold (cl->nicks): that is
 * what it releases when a user leaves a nickname or goes, and what lane
 * D asserts again after an outage. A release is a script too: it deletes
 * the key only if the owner is still the one named, so a late release
 * never frees a nickname someone else took since.
 *
 * Releases go out on the command link after the event that freed the
 * nickname (the NICK, the QUIT) was published on it: Redis keeps their
 * order, so whoever claims the nickname next has heard of that event
 * before its own goes out, on every node. */
#include "cluster/cluster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "chat/names.h"

/* KEYS[1] the nickname's key, KEYS[2] the set of this node's claims,
 * ARGV[1] the owner, ARGV[2] the time (ms): 1 when it is the owner's now
 * (nobody held it, or the owner did), 0 when another holds it. */
static const char claim_script[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false then "
    "redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2]) "
    "redis.call('SADD', KEYS[2], KEYS[1]) return 1 end "
    "if string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then return 1 end "
    "return 0";

/* KEYS[1] the nickname's key, KEYS[2] the set of this node's claims,
 * ARGV[1] the owner: deleted only if the owner holds it. */
static const char release_script[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then "
    "redis.call('SREM', KEYS[2], KEYS[1]) "
    "return redis.call('DEL', KEYS[1]) end "
    "return 0";

/* Every claim of node ARGV[1] (KEYS[1], the set of its claims): those
 * still its own deleted, and the set. */
#define FORGET_NODE \
    "local prefix = ARGV[1] .. ' ' " \
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do " \
    "local v = redis.call('GET', k) " \
    "if v and string.sub(v, 1, #prefix) == prefix then redis.call('DEL', k) end end " \
    "redis.call('DEL', KEYS[1]) return 1"
static const char forget_script[] = FORGET_NODE;
/* The reap of a dead node (KEYS[2] its reap key, KEYS[3] its heartbeat
 * key, ARGV[2] the reaper, ARGV[3] the key's seconds): the reaper that
 * wins the key (NX) forgets the node's claims in the same step, before any
 * claim sent after it. Not once its heartbeat is back: the node came back
 * since the check that found it gone (its key goes before its claims:
 * health.c), and its claims are its own again. */
static const char reap_script[] =
    "if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end "
    "if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3]) then return 0 end "
    FORGET_NODE;

#define CLAIM_KEY_MAX (sizeof CLUSTER_PREFIX + sizeof "nick:" + NICK_LEN_MAX)
#define CLAIM_SET_MAX (sizeof CLUSTER_PREFIX + sizeof "nicks:65535")

/* A claim on its way to Redis. */
struct claim_wait {
	struct cluster *cl;
	cluster_claim_fn *fn;         /* a door's claim; NULL: a guest's, or an
	                               * assertion of a claim held here, or a
	                               * door's answered already (expired) */
	void *ctx;
	struct claim_wait *prev, *next; /* a door's, waiting: on cl->waits */
	int64_t until;                /* a door's: answered busy then */
	uint8_t expired;              /* a door's, answered busy: a nickname
	                               * Redis gives after is given back */
	struct cluster_hold *hold;    /* a guest's: its user waits for it */
	uint32_t serial;              /* a guest's: its user; 0: an assertion */
	char key[NICK_LEN_MAX + 1];
	char owner[CLUSTER_OWNER_MAX];
};

static void
fold(const char *nick, char key[NICK_LEN_MAX + 1])
{
	snprintf(key, NICK_LEN_MAX + 1, "%s", nick);
	name_fold(key, key);
}

static void
redis_key(const char *key, char out[CLAIM_KEY_MAX])
{
	snprintf(out, CLAIM_KEY_MAX, CLUSTER_PREFIX "nick:%s", key);
}

static void
claims_set(uint16_t node, char out[CLAIM_SET_MAX])
{
	snprintf(out, CLAIM_SET_MAX, CLUSTER_PREFIX "nicks:%u", (unsigned)node);
}

static void
owner_of(const struct cluster *cl, char tag, uint64_t n, char out[CLUSTER_OWNER_MAX])
{
	snprintf(out, CLUSTER_OWNER_MAX, "%u %lld.%c%llu", (unsigned)cl->node,
	    (long long)cl->started, tag, (unsigned long long)n);
}

static struct cluster_nick *
held_find(struct cluster *cl, const char *key)
{
	struct cluster_nick *h;
	HASH_FIND_STR(cl->nicks, key, h);
	return h;
}

static void
held_put(struct cluster *cl, const char *key, const char *owner, int asserted)
{
	struct cluster_nick *h = held_find(cl, key);
	if (h == NULL) {
		if ((h = calloc(1, sizeof *h)) == NULL)
			return;   /* not remembered: never released, reaped with the node */
		snprintf(h->key, sizeof h->key, "%s", key);
		HASH_ADD_STR(cl->nicks, key, h);
		cl->nnicks++;
	}
	snprintf(h->owner, sizeof h->owner, "%s", owner);
	h->asserted = (uint8_t)asserted;
}

static void
held_drop(struct cluster *cl, struct cluster_nick *h)
{
	HASH_DEL(cl->nicks, h);
	cl->nnicks--;
	free(h);
}

static int
busy(const struct cluster *cl)
{
	return cl->inflight >= CLUSTER_INFLIGHT_MAX ||
	    redis_link_queued(&cl->cmd) >= CLUSTER_QUEUED_MAX;
}

static int
can_send(const struct cluster *cl)
{
	return cl->cmd.up && !cl->closing && !busy(cl);
}

/* key's claim given back if owner holds it in Redis. */
static void
release_key(struct cluster *cl, const char *key, const char *owner)
{
	char rkey[CLAIM_KEY_MAX], set[CLAIM_SET_MAX];
	redis_key(key, rkey);
	claims_set(cl->node, set);
	if (can_send(cl) && redisAsyncCommand(cl->cmd.ac, cluster_counted_reply, cl,
	    "EVAL %s 2 %s %s %s", release_script, rkey, set, owner) == REDIS_OK)
		cl->inflight++;
}

/* The doors' claims waiting for Redis, oldest last. */
static void
waits_unlink(struct cluster *cl, struct claim_wait *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else if (cl->waits == w)
		cl->waits = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

void
cluster_claims_expire(struct cluster *cl)
{
	int64_t now = clock_now_ms();
	struct claim_wait *w = cl->waits, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (now < w->until)
			continue;
		waits_unlink(cl, w);
		cluster_claim_fn *fn = w->fn;
		w->fn = NULL;
		w->expired = 1;
		fn(w->ctx, CLUSTER_CLAIM_BUSY);
	}
}

/* The release of h (sent when Redis is there: else lane D's re-assert
 * finds it is nobody's here), h forgotten. */
static void
release(struct cluster *cl, struct cluster_nick *h)
{
	release_key(cl, h->key, h->owner);
	held_drop(cl, h);
}

/* A guest's nickname another node's user holds: the guest gets another
 * (told as any nick change), which is claimed in turn. */
static void
guest_refused(struct cluster *cl, const struct claim_wait *w)
{
	struct cluster_nick *h = held_find(cl, w->key);
	if (h != NULL && strcmp(h->owner, w->owner) == 0)
		held_drop(cl, h);
	struct user *u = hub_user_find(cl->hub, w->key);
	if (u == NULL || u->remote || u->serial != w->serial)
		return;   /* gone, or renamed since */
	log_info("cluster: %s is another node's user's; its guest here is renamed", u->nick);
	(void)hub_nick_guest(cl->hub, u);
}

static void
on_claim(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct claim_wait *w = data;
	struct cluster *cl = w->cl;
	cl->inflight--;
	const redisReply *r = reply;
	/* No reply: the link went (or the node stops). The local rule
	 * decided what cluster_claim let through; lane D asserts the claim
	 * when Redis is back. */
	enum cluster_claim result = CLUSTER_CLAIM_OK;
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
		result = CLUSTER_CLAIM_TAKEN;
	else if (r != NULL && r->type != REDIS_REPLY_INTEGER && !cl->said_unsent) {
		cl->said_unsent = 1;
		log_error("cluster: Redis refused a nickname claim: %s",
		    r->type == REDIS_REPLY_ERROR ? r->str : "(not a number)");
	}
	if (w->fn != NULL) {
		waits_unlink(cl, w);
		if (result == CLUSTER_CLAIM_OK && !cl->closing)
			held_put(cl, w->key, w->owner, r != NULL);
		w->fn(w->ctx, result);
	} else if (w->expired) {
		/* Its door heard "busy" long ago: a nickname given now is
		 * nobody's here. */
		if (r != NULL && result == CLUSTER_CLAIM_OK)
			release_key(cl, w->key, w->owner);
	} else if (!cl->closing) {
		/* A claim held here (a guest's, or one asserted again): Redis
		 * agreed, or another node's user has it. A guest gives it up;
		 * any other is asked again at the next beat (the other node
		 * renames its user when the hub says ours came first,
		 * health.c, and then its claim goes). */
		struct cluster_nick *h = held_find(cl, w->key);
		if (h != NULL && strcmp(h->owner, w->owner) == 0) {
			h->asserting = 0;
			h->asserted = r != NULL && result == CLUSTER_CLAIM_OK;
		}
		if (result == CLUSTER_CLAIM_TAKEN && w->serial != 0)
			guest_refused(cl, w);
	}
	/* The guest, renamed or not, goes on (after its NICK, if renamed). */
	cluster_hold_end(cl, w->hold);
	free(w);
}

/* Sends w's claim: 0, or -1 (w is the caller's still). */
static int
send_claim(struct cluster *cl, struct claim_wait *w)
{
	char rkey[CLAIM_KEY_MAX], set[CLAIM_SET_MAX];
	redis_key(w->key, rkey);
	claims_set(cl->node, set);
	if (redisAsyncCommand(cl->cmd.ac, on_claim, w, "EVAL %s 2 %s %s %s %lld", claim_script,
	    rkey, set, w->owner, (long long)clock_now_ms()) != REDIS_OK)
		return -1;
	cl->inflight++;
	return 0;
}

enum cluster_claim
cluster_claim(struct cluster *cl, const char *nick, uint64_t owner, cluster_claim_fn *fn,
    void *ctx)
{
	char key[NICK_LEN_MAX + 1], who[CLUSTER_OWNER_MAX];
	fold(nick, key);
	owner_of(cl, 'c', owner, who);
	/* Held here already: the claimer's own (a change of case), or another
	 * user's here, which Redis would say too. */
	const struct cluster_nick *h = held_find(cl, key);
	if (h != NULL)
		return strcmp(h->owner, who) == 0 ? CLUSTER_CLAIM_OK : CLUSTER_CLAIM_TAKEN;
	if (cl->cmd.up && !cl->closing) {
		struct claim_wait *w;
		if (busy(cl) || (w = calloc(1, sizeof *w)) == NULL)
			return CLUSTER_CLAIM_BUSY;
		*w = (struct claim_wait){ .cl = cl, .fn = fn, .ctx = ctx,
		    .until = clock_now_ms() + CLUSTER_HOLD_MS };
		snprintf(w->key, sizeof w->key, "%s", key);
		snprintf(w->owner, sizeof w->owner, "%s", who);
		if (send_claim(cl, w) == 0) {
			w->next = cl->waits;
			if (cl->waits != NULL)
				cl->waits->prev = w;
			cl->waits = w;
			return CLUSTER_CLAIM_PENDING;
		}
		free(w);
		return CLUSTER_CLAIM_BUSY;
	}
	/* Redis away: the local rule alone, until lane D's re-assert
	 * settles it with the other nodes. */
	held_put(cl, key, who, 0);
	return CLUSTER_CLAIM_OK;
}

void
cluster_release(struct cluster *cl, const char *nick, uint64_t owner)
{
	if (cl->closing)
		return;
	char key[NICK_LEN_MAX + 1], who[CLUSTER_OWNER_MAX];
	fold(nick, key);
	owner_of(cl, 'c', owner, who);
	struct cluster_nick *h = held_find(cl, key);
	if (h != NULL && strcmp(h->owner, who) == 0)
		release(cl, h);
}

/* A local user has nick without having claimed it (a guest's, given by
 * the hub): it is claimed now, in its name. */
static void
claim_unasked(struct cluster *cl, const char *nick)
{
	char key[NICK_LEN_MAX + 1];
	fold(nick, key);
	if (held_find(cl, key) != NULL)
		return;
	const struct user *u = hub_user_find(cl->hub, key);
	if (u == NULL || u->remote)
		return;
	struct claim_wait *w = calloc(1, sizeof *w);
	if (w == NULL)
		return;
	*w = (struct claim_wait){ .cl = cl, .serial = u->serial };
	snprintf(w->key, sizeof w->key, "%s", key);
	owner_of(cl, 'g', u->serial, w->owner);
	/* Held from now: a QUIT before the answer releases it after it. */
	held_put(cl, key, w->owner, 0);
	struct cluster_nick *h = held_find(cl, key);
	if (h == NULL || !can_send(cl) || send_claim(cl, w) < 0) {
		free(w);
		return;
	}
	h->asserting = 1;
	/* Its next commands wait for the answer: it may be renamed. */
	w->hold = cluster_hold_user(cl, nick);
}

static void
release_nick(struct cluster *cl, const char *nick)
{
	char key[NICK_LEN_MAX + 1];
	fold(nick, key);
	struct cluster_nick *h = held_find(cl, key);
	if (h != NULL)
		release(cl, h);
}

void
cluster_claims_after(struct cluster *cl, const struct msg *m)
{
	switch (m->kind) {
	case MSG_CONNECT:
		claim_unasked(cl, m->from);
		break;
	case MSG_NICK: {
		char a[NICK_LEN_MAX + 1], b[NICK_LEN_MAX + 1];
		fold(m->from, a);
		fold(m->target, b);
		if (strcmp(a, b) == 0)
			break;
		release_nick(cl, m->from);
		claim_unasked(cl, m->target);
		break;
	}
	case MSG_QUIT:
		release_nick(cl, m->from);
		break;
	default:
		break;
	}
}

void
cluster_claims_free(struct cluster *cl)
{
	struct cluster_nick *h, *tmp;
	HASH_ITER(hh, cl->nicks, h, tmp)
		held_drop(cl, h);
}

void
cluster_claims_assert(struct cluster *cl, int all)
{
	struct cluster_nick *h, *tmp;
	HASH_ITER(hh, cl->nicks, h, tmp) {
		if (all)
			h->asserted = 0;
		if (h->asserted || h->asserting || !can_send(cl))
			continue;
		struct claim_wait *w = calloc(1, sizeof *w);
		if (w == NULL)
			return;
		*w = (struct claim_wait){ .cl = cl };
		snprintf(w->key, sizeof w->key, "%s", h->key);
		snprintf(w->owner, sizeof w->owner, "%s", h->owner);
		if (send_claim(cl, w) < 0) {
			free(w);
			return;
		}
		h->asserting = 1;
	}
}

int
cluster_claims_reap(struct cluster *cl, uint16_t node, redisCallbackFn *fn, void *data)
{
	char set[CLAIM_SET_MAX], reap[CLUSTER_NAME_MAX], beat[CLUSTER_NAME_MAX];
	claims_set(node, set);
	snprintf(reap, sizeof reap, CLUSTER_PREFIX "reap:%u", (unsigned)node);
	snprintf(beat, sizeof beat, CLUSTER_PREFIX "node:%u", (unsigned)node);
	if (!cl->cmd.up || redisAsyncCommand(cl->cmd.ac, fn, data, "EVAL %s 3 %s %s %s %u %u %d",
	    reap_script, set, reap, beat, (unsigned)node, (unsigned)cl->node, CLUSTER_REAP_TTL) !=
	    REDIS_OK)
		return -1;
	cl->inflight++;
	return 0;
}

int
cluster_claims_forget(redisContext *c, uint16_t node, const char **why)
{
	char set[CLAIM_SET_MAX];
	claims_set(node, set);
	redisReply *r = redisCommand(c, "EVAL %s 1 %s %u", forget_script, set, (unsigned)node);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		static char err[256];
		snprintf(err, sizeof err, "%s", r != NULL ? r->str : c->errstr);
		*why = err;
		if (r != NULL)
			freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}
