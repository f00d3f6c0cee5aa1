/* Rooms' state told again to a Redis that lost it (issue 15). After an
 * outage the nodes tell their users and memberships again (health.c);
 * the JOINs told again make each room anew in Redis with its flag modes.
 * A Redis that restarted empty has lost the rest of a room's state too
 * (topic, key, limit, +b/+e/+I masks), which a node started later would
 * then never see: each node with members in a room tells it again.
 *
 * Only when Redis lost it: a Redis that kept its state (a link that
 * blipped) holds the truth, which other nodes may have changed meanwhile
 * (the Redis copy wins). A node knows which by <prefix>born, a random
 * value set when missing (SET NX) at its start and again at each return:
 * another value than the one it knew means the data it was in is gone.
 * Each field is set only when Redis has none (HSETNX): the first node to
 * tell a room's state gives it, the others fill only what it lacked.
 * Nothing is published: every node kept its own mirror of its rooms.
 *
 * Invitations are not in Redis: the invited user's own node holds them
 * (the only node that checks one), and keeps them through any outage.
 * A room's state is told by state.c's cluster_restate_room. */
#include "cluster/cluster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "chat/names.h"

#define BORN_KEY CLUSTER_PREFIX "born"

/* KEYS[1] born, ARGV[1] a value for it if it has none: its value. */
static const char born_script[] =
    "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])";

static void
born_value(char out[CLUSTER_BORN_MAX])
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	snprintf(out, CLUSTER_BORN_MAX, "%016llx", (unsigned long long)r);
}

int
cluster_born_start(redisContext *c, struct cluster *cl, const char **why)
{
	char mine[CLUSTER_BORN_MAX];
	born_value(mine);
	redisReply *r = redisCommand(c, "EVAL %s 1 %s %s", born_script, BORN_KEY, mine);
	if (r == NULL || r->type != REDIS_REPLY_STRING) {
		static char err[192];
		snprintf(err, sizeof err, "%s", r == NULL ? c->errstr :
		    r->type == REDIS_REPLY_ERROR ? r->str : "born: not a string");
		*why = err;
		if (r != NULL)
			freeReplyObject(r);
		return -1;
	}
	snprintf(cl->born, sizeof cl->born, "%s", r->str);
	freeReplyObject(r);
	return 0;
}

/* Redis lost what it held: the state of every room with members here. */
static void
restate_rooms(struct cluster *cl)
{
	unsigned n = 0;
	struct room *room, *tmp;
	HASH_ITER(hh, cl->hub->rooms, room, tmp) {
		if (room->nlocal == 0 || !cluster_can_send(cl))
			continue;
		cluster_restate_room(cl, room);
		n++;
	}
	log_info("cluster: Redis restarted empty: told it the state of this node's "
	    "%u rooms again", n);
}

static void
on_born(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct cluster *cl = data;
	cl->inflight--;
	const redisReply *r = reply;
	if (cl->closing || r == NULL || r->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(r->str, cl->born) == 0) {
		/* The same Redis data: its copy stands, and other nodes may
		 * have changed it while this one did not hear them. */
		cluster_rooms_reload(cl);
		return;
	}
	snprintf(cl->born, sizeof cl->born, "%s", r->str);
	/* The users' JOINs go first (they make the rooms anew), on this
	 * same link. */
	cluster_reassert_now(cl);
	restate_rooms(cl);
}

void
cluster_born_check(struct cluster *cl)
{
	char mine[CLUSTER_BORN_MAX];
	born_value(mine);
	if (cl->cmd.up && redisAsyncCommand(cl->cmd.ac, on_born, cl, "EVAL %s 1 %s %s",
	    born_script, BORN_KEY, mine) == REDIS_OK)
		cl->inflight++;
}
