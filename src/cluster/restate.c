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
 * (the only node that checks one), and keeps them through any outage. */
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

/* ARGV: 1 the prefix, 2 the room folded, 3 its topic ("": none), 4 by,
 * 5 at, 6 its key ("": none), 7 its limit ("": none), then in fours a
 * mask's list letter (b, e, I), the mask, at, by. */
static const char restate_script[] =
    "local R = ARGV[1] .. 'room:' .. ARGV[2]\n"
    "if redis.call('EXISTS', R) == 0 then return 0 end\n"
    "if ARGV[3] ~= '' and redis.call('HEXISTS', R, 'topic') == 0 then\n"
    "  redis.call('HSET', R, 'topic', ARGV[3], 'topic_by', ARGV[4], 'topic_at', ARGV[5])\n"
    "end\n"
    "if ARGV[6] ~= '' then redis.call('HSETNX', R, 'key', ARGV[6]) end\n"
    "if ARGV[7] ~= '' then redis.call('HSETNX', R, 'limit', ARGV[7]) end\n"
    "for i = 8, #ARGV - 3, 4 do\n"
    "  redis.call('HSETNX', R .. ':' .. ARGV[i], ARGV[i + 1], ARGV[i + 2] .. ' ' .. ARGV[i + 3])\n"
    "end\n"
    "return 1\n";

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

/* The masks of one list, in fours, into argv from *n (bounded by cap). */
static void
masks(char letter, const struct ban *list, uint32_t count, const char **argv, size_t *len,
    char (*nums)[24], int *n, int cap)
{
	static const char *const letters[] = { "b", "e", "I" };
	const char *l = letter == 'b' ? letters[0] : letter == 'e' ? letters[1] : letters[2];
	for (uint32_t i = 0; i < count && *n + 4 <= cap; i++) {
		argv[*n] = l;
		argv[*n + 1] = list[i].mask;
		snprintf(nums[*n], sizeof nums[*n], "%lld", (long long)list[i].at);
		argv[*n + 2] = nums[*n];
		argv[*n + 3] = list[i].by;
		for (int k = 0; k < 4; k++)
			len[*n + k] = strlen(argv[*n + k]);
		*n += 4;
	}
}

void
cluster_restate_room(struct cluster *cl, const struct room *room)
{
	int cap = 10 + 4 * (int)(room->nbans + room->nexcepts + room->ninvexes);
	const char **argv = calloc((size_t)cap, sizeof *argv);
	size_t *len = calloc((size_t)cap, sizeof *len);
	char (*nums)[24] = calloc((size_t)cap, sizeof *nums);
	if (argv == NULL || len == NULL || nums == NULL)
		goto out;
	char folded[ROOM_LEN_MAX + 1], at[24], limit[16];
	snprintf(folded, sizeof folded, "%s", room->name);
	name_fold(folded, folded);
	snprintf(at, sizeof at, "%lld", (long long)room->topic_at);
	limit[0] = '\0';
	if (room->limit != 0)
		snprintf(limit, sizeof limit, "%u", (unsigned)room->limit);
	int n = 0;
	argv[n++] = "EVAL";
	argv[n++] = restate_script;
	argv[n++] = "0";
	argv[n++] = CLUSTER_PREFIX;
	argv[n++] = folded;
	argv[n++] = room->topic != NULL ? room->topic : "";
	argv[n++] = room->topic_by != NULL ? room->topic_by : "";
	argv[n++] = at;
	argv[n++] = room->password != NULL ? room->password : "";
	argv[n++] = limit;
	for (int i = 0; i < n; i++)
		len[i] = strlen(argv[i]);
	masks('b', room->bans, room->nbans, argv, len, nums, &n, cap);
	masks('e', room->excepts, room->nexcepts, argv, len, nums, &n, cap);
	masks('I', room->invexes, room->ninvexes, argv, len, nums, &n, cap);
	if (redisAsyncCommandArgv(cl->cmd.ac, cluster_counted_reply, cl, n, argv, len) ==
	    REDIS_OK)
		cl->inflight++;
out:
	free(argv);
	free(len);
	free(nums);
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
