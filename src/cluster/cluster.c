/* Joining the cluster, and the links to Redis (see cluster.h).
 *
 * At start, before any client, Redis is asked synchronously (as the
 * listeners are bound): is it there, which node id is ours, register us.
 * From then on everything goes over two hiredis links on the loop: cmd
 * (publishes, the heartbeat) and sub (the channels heard). */
#include "cluster/cluster_int.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "base/log.h"

/* How long the start waits for Redis to answer. */
#define CLUSTER_START_TIMEOUT_MS 10000

uint16_t
cluster_node(const struct cluster *cl)
{
	return cl->node;
}

const struct cluster_stats *
cluster_stats(const struct cluster *cl)
{
	return &cl->stats;
}

/* ---- The start: blocking, before the loop runs ---- */

/* host resolved once, to an address: the loop never waits for DNS, and a
 * reconnect (lane D) connects to the same address. */
static int
resolve(const char *host, char *out, size_t cap)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -1;
	int rc = getnameinfo(res->ai_addr, res->ai_addrlen, out, (socklen_t)cap, NULL, 0,
	    NI_NUMERICHOST);
	freeaddrinfo(res);
	return rc == 0 ? 0 : -1;
}

/* One command's reply on the start's connection, or NULL (why says). */
static redisReply *
ask(redisContext *c, const char **why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		*why = c->errstr;
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		static char err[256];
		snprintf(err, sizeof err, "%s", r->str);
		*why = err;
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Takes a node id: node-id when given (refused when a live node has
 * it), else the next of the nodeid counter that no live node has. Its
 * heartbeat key is set (NX) in the same step, so two nodes starting at
 * once never take the same id. 0 and *why when it cannot. */
static uint16_t
take_node_id(redisContext *c, unsigned long given, const char *name, const char **why)
{
	for (int tries = 0; tries < CLUSTER_ID_TRIES; tries++) {
		uint16_t id = (uint16_t)given;
		if (given == 0) {
			redisReply *r = ask(c, why, "INCR " CLUSTER_PREFIX "nodeid");
			if (r == NULL)
				return 0;
			/* 1 to 65535: msgids have 16 bits for it, and 0 is a
			 * single server's. */
			id = (uint16_t)((unsigned long long)(r->integer - 1) % 65535u + 1u);
			freeReplyObject(r);
		}
		redisReply *r = ask(c, why, "SET " CLUSTER_PREFIX "node:%u 0:%s NX EX %d",
		    (unsigned)id, name, CLUSTER_BEAT_TTL);
		if (r == NULL)
			return 0;
		int taken = r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (taken) {
			if ((r = ask(c, why, "SADD " CLUSTER_PREFIX "nodes %u", (unsigned)id)) == NULL)
				return 0;
			freeReplyObject(r);
			return id;
		}
		if (given != 0) {
			static char held[128];
			snprintf(held, sizeof held, "node-id %lu is held by a live node "
			    "(its key " CLUSTER_PREFIX "node:%lu has not expired)", given, given);
			*why = held;
			return 0;
		}
	}
	*why = "no free node id (every one tried is held by a live node)";
	return 0;
}

/* AUTH on the start's connection (as redis_link does on the others). */
static redisReply *
auth(redisContext *c, const struct cluster *cl, const char **why)
{
	const char *argv[3] = { "AUTH" };
	size_t len[3] = { 4 };
	int n = 1;
	if (cl->user[0] != '\0') {
		argv[n] = cl->user;
		len[n++] = strlen(cl->user);
	}
	argv[n] = cl->password;
	len[n++] = strlen(cl->password);
	redisReply *r = redisCommandArgv(c, n, argv, len);
	if (r == NULL) {
		*why = c->errstr;
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		static char err[192];
		snprintf(err, sizeof err, "Redis refused the password (%s)", r->str);
		*why = err;
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* cluster-password-file's first line into cl->password: 0, or -1 with
 * one line on stderr. */
static int
read_password(struct cluster *cl, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "parleyd: cluster: cannot read cluster-password-file %s: %s\n",
		    path, strerror(errno));
		return -1;
	}
	char line[CONFIG_REDIS_PASSWORD_MAX + 3];
	int ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	size_t n = ok ? strcspn(line, "\r\n") : 0;
	int whole = ok && line[n] != '\0';   /* the line ended within the bound */
	if (n == 0 || n > CONFIG_REDIS_PASSWORD_MAX || (!whole && strlen(line) > n)) {
		fprintf(stderr, "parleyd: cluster: cluster-password-file %s: its first line "
		    "must be the password (1 to %d bytes)\n", path, CONFIG_REDIS_PASSWORD_MAX);
		explicit_bzero(line, sizeof line);
		return -1;
	}
	memcpy(cl->password, line, n);
	cl->password[n] = '\0';
	explicit_bzero(line, sizeof line);
	return 0;
}

/* Reaches Redis and takes our id; -1 with one line on stderr. */
static int
register_node(struct cluster *cl, const struct config *cfg)
{
	struct timeval tv = { CLUSTER_START_TIMEOUT_MS / 1000,
		(CLUSTER_START_TIMEOUT_MS % 1000) * 1000 };
	redisContext *c = redisConnectWithTimeout(cl->host, (int)cl->port, tv);
	const char *why = "out of memory";
	int rc = -1;
	if (c == NULL || c->err) {
		fprintf(stderr, "parleyd: cluster: cannot reach Redis at %s:%u: %s\n", cl->host,
		    cl->port, c != NULL ? c->errstr : why);
		goto out;
	}
	redisSetTimeout(c, tv);
	redisReply *r;
	if (cl->password[0] != '\0') {
		if ((r = auth(c, cl, &why)) == NULL)
			goto failed;
		freeReplyObject(r);
	}
	if (cl->db != 0) {
		if ((r = ask(c, &why, "SELECT %u", cl->db)) == NULL)
			goto failed;
		freeReplyObject(r);
	}
	if ((cl->node = take_node_id(c, cfg->node_id, cl->name, &why)) == 0)
		goto failed;
	/* The id is ours: what a run before with it claimed is nobody's. */
	if (cluster_claims_forget(c, cl->node, &why) < 0 ||
	    cluster_born_start(c, cl, &why) < 0)
		goto failed;
	rc = 0;
	goto out;
failed:
	fprintf(stderr, "parleyd: cluster: Redis at %s:%u: %s\n", cl->host, cl->port, why);
out:
	if (c != NULL)
		redisFree(c);
	return rc;
}

/* ---- The links, on the loop ---- */

void
cluster_counted_reply(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	(void)reply;
	struct cluster *cl = data;
	cl->inflight--;
}

/* The heartbeat, and the check of the others (health.c). */
static void
beat(struct loop *loop, struct loop_timer *t)
{
	struct cluster *cl = t->data;
	cluster_beat(cl);
	loop_timer_start(loop, t, CLUSTER_BEAT_MS);
}

/* The node listens and can speak: its epoch is announced, and after an
 * outage its users told again (health.c), then the rooms' state, if
 * Redis lost it, told too, behind their JOINs (restate.c). */
static void
announce(struct cluster *cl)
{
	if (cluster_announce(cl))
		cluster_born_check(cl);
}

/* Both links are up again after an outage: said once. Connected, the
 * pub/sub link may not be subscribed yet (announce waits for it). */
static void
link_up(struct cluster *cl)
{
	if (!cl->cmd.up || !cl->sub.up)
		return;
	cl->backoff_s = 0;
	cl->said_refused = 0;
	if (cl->down) {
		cl->down = 0;
		log_info("cluster: reconnected to Redis %s:%u", cl->host, cl->port);
		cluster_link_back(cl);
		/* Registrations and drops made meanwhile: the database's. */
		cluster_heard_again(cl);
	}
	announce(cl);
}

static void
cmd_up(struct redis_link *link)
{
	struct cluster *cl = link->data;
	if (cl->db != 0 && redisAsyncCommand(link->ac, cluster_counted_reply, cl, "SELECT %u",
	    cl->db) == REDIS_OK)
		cl->inflight++;
	/* The scripts, before any EVALSHA on this link can name them (a
	 * Redis that restarted knows none). */
	for (int i = 0; i < SCRIPT_COUNT; i++)
		if (redisAsyncCommand(link->ac, cluster_counted_reply, cl, "SCRIPT LOAD %s",
		    cluster_script_text((enum cluster_script)i)) == REDIS_OK)
			cl->inflight++;
	cluster_load_step(cl);
	if (!cl->joined) {
		cl->joined = 1;
		log_info("cluster: node %u (%s) joined through Redis %s:%u", (unsigned)cl->node,
		    cl->name, cl->host, cl->port);
	}
	link_up(cl);
}

/* The channels of this node: the users', its own, and the rooms it has
 * members in. */
static void
sub_up(struct redis_link *link)
{
	struct cluster *cl = link->data;
	cluster_hear_all(cl);
	link_up(cl);
	cluster_load_step(cl);
}

/* What the pub/sub link hears. The answer to the users' channel's
 * SUBSCRIBE says the node hears the cluster: it may announce itself, and
 * read the shared state at start (snapshot.c). The rest is snapshot.c's. */
static void
sub_push(struct redis_link *link, redisReply *r)
{
	struct cluster *cl = link->data;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "subscribe") != 0) {
		cluster_on_push(link, r);
		return;
	}
	char users[CLUSTER_NAME_MAX];
	cluster_users_channel(users);
	if (r->element[1]->type != REDIS_REPLY_STRING || strcmp(r->element[1]->str, users) != 0)
		return;
	cl->heard_users = 1;
	announce(cl);
	cluster_load_step(cl);
}

/* The next try in 1, 2, 4 ... CLUSTER_RETRY_MAX_S seconds. */
static void
retry_later(struct cluster *cl)
{
	if (loop_timer_active(&cl->retry))
		return;
	cl->backoff_s = cl->backoff_s == 0 ? 1 :
	    cl->backoff_s * 2 > CLUSTER_RETRY_MAX_S ? CLUSTER_RETRY_MAX_S : cl->backoff_s * 2;
	loop_timer_start(cl->loop, &cl->retry, (uint64_t)cl->backoff_s * 1000u);
}

/* Each link that is down connects again (to the address resolved at
 * start: no DNS on the loop). */
static void
retry(struct loop *loop, struct loop_timer *t)
{
	(void)loop;
	struct cluster *cl = t->data;
	struct redis_link *links[] = { &cl->cmd, &cl->sub };
	for (int i = 0; i < 2; i++)
		if (links[i]->ac == NULL && redis_link_open(links[i], cl->loop, cl->host,
		    cl->port) < 0)
			retry_later(cl);
}

/* A link failed or its connect did. The node serves its own users
 * alone meanwhile (cluster_link_lost: the notice to rooms shared with
 * other nodes, their users dropped; cluster_link_back on return); the
 * log says it once an outage. */
static void
link_down(struct redis_link *link)
{
	struct cluster *cl = link->data;
	if (!cl->down) {
		cl->down = 1;
		log_error("cluster: lost the %s link to Redis %s:%u: %s; serving local users "
		    "only, reconnecting", link == &cl->cmd ? "command" : "pub/sub", cl->host,
		    cl->port, link->why);
		cluster_link_lost(cl);
		cl->said_refused = (uint8_t)link->refused;
	} else if (link->refused && !cl->said_refused) {
		/* Redis came back wanting another password. */
		cl->said_refused = 1;
		log_error("cluster: Redis %s:%u is back, but: %s; serving local users only, "
		    "trying again", cl->host, cl->port, link->why);
	}
	/* Its rooms are subscribed again when it is back (sub_up). */
	retry_later(cl);
	if (link == &cl->sub)
		cl->heard_users = 0;
	/* Loading the shared state at start: the stream held has a gap now,
	 * so the snapshot is read again once the link is back. */
	if (cl->load != LOAD_DONE && link == &cl->sub) {
		cl->load_overflow = cl->load == LOAD_ASKED;
		cluster_load_free(cl);
	}
}

static void
load_late(struct loop *loop, struct loop_timer *t)
{
	(void)t;
	log_warn("cluster: the shared state is not loaded after %d s; letting clients in "
	    "meanwhile", CLUSTER_LOAD_WAIT_MS / 1000);
	loop_stop(loop);
}

/* The loop runs (nothing else is on it yet) until the node mirrors the
 * cluster's users and rooms (snapshot.c stops it), so that its first
 * clients see them; at most CLUSTER_LOAD_WAIT_MS, then loading goes on
 * behind the clients. */
static void
wait_loaded(struct cluster *cl)
{
	struct loop_timer late;
	loop_timer_init(&late, load_late, NULL);
	loop_timer_start(cl->loop, &late, CLUSTER_LOAD_WAIT_MS);
	cl->starting = 1;
	(void)loop_run(cl->loop);
	cl->starting = 0;
	loop_timer_stop(cl->loop, &late);
}

/* cl freed, its password first. */
static void
cluster_wipe(struct cluster *cl)
{
	explicit_bzero(cl->password, sizeof cl->password);
	free(cl);
}

struct cluster *
cluster_start(struct hub *hub, struct loop *loop, const struct config *cfg)
{
	struct cluster *cl = calloc(1, sizeof *cl);
	if (cl == NULL) {
		fprintf(stderr, "parleyd: cluster: out of memory\n");
		return NULL;
	}
	cl->hub = hub;
	cl->loop = loop;
	snprintf(cl->name, sizeof cl->name, "%s",
	    cfg->node_name != NULL ? cfg->node_name : cfg->server_name);
	struct config_redis url;
	const char *why;
	int rc = config_redis_url(cfg->cluster, &url, &why);
	snprintf(cl->user, sizeof cl->user, "%s", url.user);
	snprintf(cl->password, sizeof cl->password, "%s", url.password);
	cl->port = url.port;
	cl->db = url.db;
	if (rc < 0 || resolve(url.host, cl->host, sizeof cl->host) < 0) {
		fprintf(stderr, "parleyd: cluster: cannot resolve the Redis host %s\n", url.host);
		explicit_bzero(&url, sizeof url);
		cluster_wipe(cl);
		return NULL;
	}
	explicit_bzero(&url, sizeof url);
	if (cfg->cluster_password_file != NULL && read_password(cl, cfg->cluster_password_file) < 0) {
		cluster_wipe(cl);
		return NULL;
	}
	if (register_node(cl, cfg) < 0) {
		cluster_wipe(cl);
		return NULL;
	}
	hub_set_node(hub, cl->node);
	/* Guest nicknames apart for each node, so that they are rarely
	 * claimed by two at once (claims.c renames a guest that lost):
	 * node n's guests are numbered from n * 65536. */
	hub->guests = (uint32_t)cl->node << 16;
	/* Our events' sequence grows across restarts too (a node may come
	 * back with its id): its epoch is the time. */
	cluster_health_init(cl);
	for (int i = 0; i < SCRIPT_COUNT; i++)
		if (cluster_script_sha((enum cluster_script)i, cl->sha[i]) < 0) {
			fprintf(stderr, "parleyd: cluster: cannot hash the Lua scripts\n");
			cluster_wipe(cl);
			return NULL;
		}
	cl->load = LOAD_WAIT;
	cl->held_tail = &cl->held;
	/* Claims name their owner with the start, which no reconnect
	 * changes (claims.c). */
	cl->started = (int64_t)time(NULL);
	loop_timer_init(&cl->beat, beat, cl);
	loop_timer_init(&cl->settle, cluster_settle, cl);
	loop_timer_init(&cl->retry, retry, cl);
	cl->cmd = (struct redis_link){ .on_up = cmd_up, .on_down = link_down, .data = cl };
	cl->sub = (struct redis_link){ .on_push = sub_push, .on_up = sub_up,
		.on_down = link_down, .data = cl };
	/* Every link says it on every (re)connect, before anything else. */
	if (cl->password[0] != '\0') {
		cl->cmd.user = cl->sub.user = cl->user;
		cl->cmd.password = cl->sub.password = cl->password;
	}
	if (redis_link_open(&cl->cmd, loop, cl->host, cl->port) < 0 ||
	    redis_link_open(&cl->sub, loop, cl->host, cl->port) < 0 ||
	    hub_observe(hub, cluster_publish, cl) < 0) {
		fprintf(stderr, "parleyd: cluster: cannot connect to Redis at %s:%u: %s\n",
		    cl->host, cl->port, cl->cmd.why[0] ? cl->cmd.why : cl->sub.why);
		cluster_free(cl);
		return NULL;
	}
	loop_timer_start(loop, &cl->beat, CLUSTER_BEAT_MS);
	wait_loaded(cl);
	return cl;
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	/* The replies still owed are answered now, with nothing sent. */
	cl->closing = 1;
	loop_timer_stop(cl->loop, &cl->beat);
	loop_timer_stop(cl->loop, &cl->settle);
	loop_timer_stop(cl->loop, &cl->retry);
	cluster_health_free(cl);
	redis_link_close(&cl->sub);
	redis_link_close(&cl->cmd);
	struct cluster_sub *s, *stmp;
	HASH_ITER(hh, cl->subs, s, stmp) {
		HASH_DEL(cl->subs, s);
		free(s);
	}
	struct cluster_peer *p, *ptmp;
	HASH_ITER(hh, cl->peers, p, ptmp) {
		HASH_DEL(cl->peers, p);
		free(p);
	}
	cluster_claims_free(cl);
	buf_free(&cl->out);
	cluster_load_free(cl);
	cluster_wipe(cl);
}
