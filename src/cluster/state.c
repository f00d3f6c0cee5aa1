/* State events through their scripts (scripts.c): a room's JOIN, PART,
 * KICK, TOPIC, MODE and INVITE, and a user's events, each one EVALSHA
 * that changes the shared state in Redis and publishes the event with
 * its global sequence. The command link sends them in order with the
 * room traffic (publish.c), and Redis runs each script alone, in that
 * order.
 *
 * Who may do what was checked here, against this node's mirror, before
 * the event was made. The one decision the script takes is the first
 * joiner's operator status: its answer comes back here, and when this
 * node decided otherwise (two first joiners on two nodes at once: the
 * later one was told it made the room) the joiner's status is put right
 * here with a MODE its room hears, from itself, not published (every
 * other node applied the script's answer, carried by the JOIN). The
 * joiner's next commands wait for that answer (holds.c), so a MODE sent
 * right behind the JOIN is judged by the status the room will keep. */
#include "cluster/cluster_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chat/names.h"

/* The most arguments a script is given: EVALSHA, its SHA, 0 keys, the
 * prefix and the event, then a user's nick, entry, old nick, node and
 * its HUB_ROOMS_PER_USER rooms. */
#define ARGS_MAX (10 + HUB_ROOMS_PER_USER)

/* One script call waiting for its answer: the command as sent (to send
 * the script itself when Redis no longer knows it) and, for a JOIN, whose
 * operator status the answer settles. */
struct call {
	struct cluster *cl;
	enum msg_kind kind;
	enum cluster_script script;
	uint8_t retried;
	struct cluster_hold *hold;   /* a JOIN's: its user waits for the answer */
	uint8_t asked;               /* a JOIN's: the modes this node gave */
	char room[ROOM_LEN_MAX + 1];
	char nick[NICK_LEN_MAX + 1];
	int argc;
	const char *argv[ARGS_MAX];
	size_t len[ARGS_MAX];
	char bytes[];                /* behind argv: the arguments' copies */
};

/* The arguments being gathered, pointing to the caller's strings until
 * call_new copies them. */
struct args {
	int n;
	const char *v[ARGS_MAX];
	size_t len[ARGS_MAX];
};

static void
arg(struct args *a, const char *s, size_t n)
{
	if (a->n < ARGS_MAX) {
		a->v[a->n] = s;
		a->len[a->n++] = n;
	}
}

static void
arg_str(struct args *a, const char *s)
{
	arg(a, s, strlen(s));
}

int
cluster_is_state(enum msg_kind kind)
{
	switch (kind) {
	case MSG_SAY:
	case MSG_ACTION:
	case MSG_NOTICE:
	case MSG_TAGMSG:
	case MSG_REDACT:
	case MSG_PRIVATE:
		return 0;
	default:
		return 1;
	}
}

/* The op status the script gave a joiner of this node, when it is not the
 * one given here at the JOIN. Only then: an op given since (ChanServ's
 * to a registered room's founder, right behind the JOIN; an operator's
 * MODE) is the room's, which every node applies in Redis's order. */
static void
settle_op(struct cluster *cl, const struct call *c, long long modes)
{
	int op = (modes & MEMBER_OP) != 0;
	if (!!(c->asked & MEMBER_OP) == op)
		return;
	struct room *room = hub_room_find(cl->hub, c->room);
	struct user *u = hub_user_find(cl->hub, c->nick);
	struct member *mem = room != NULL && u != NULL && !u->remote ? hub_member(room, u) : NULL;
	if (mem == NULL || !!(mem->modes & MEMBER_OP) == op)
		return;
	char change[NICK_LEN_MAX + 4];
	snprintf(change, sizeof change, "%co %s", op ? '+' : '-', u->nick);
	struct msg *m = hub_msg(cl->hub, MSG_MODE, u, room->name, NULL, change);
	if (m == NULL)
		return;
	(void)hub_apply(cl->hub, m);
	msg_unref(m);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *data);

static int
send_call(struct cluster *cl, struct call *c)
{
	if (redisAsyncCommandArgv(cl->cmd.ac, on_reply, c, c->argc, c->argv, c->len) != REDIS_OK)
		return -1;
	cl->inflight++;
	return 0;
}

static void
on_reply(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct call *c = data;
	struct cluster *cl = c->cl;
	cl->inflight--;
	redisReply *r = reply;
	if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
	    !c->retried && cl->cmd.ac != NULL) {
		/* Redis lost its scripts (SCRIPT FLUSH; a restart is a new
		 * link, which loads them first): this one goes as itself, and
		 * is known again from then on. Out of order with what was sent
		 * meanwhile: docs/cluster.md. */
		c->retried = 1;
		c->argv[0] = "EVAL";
		c->len[0] = 4;
		c->argv[1] = cluster_script_text(c->script);
		c->len[1] = strlen(c->argv[1]);
		if (send_call(cl, c) == 0)
			return;
	} else if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		cl->stats.unsent++;
		if (!cl->said_unsent) {
			cl->said_unsent = 1;
			log_error("cluster: Redis refused a state change: %s", r->str);
		}
	} else if (r != NULL && c->kind == MSG_JOIN && r->type == REDIS_REPLY_ARRAY &&
	    r->elements == 2 && r->element[1]->type == REDIS_REPLY_INTEGER) {
		settle_op(cl, c, r->element[1]->integer);
	}
	cluster_hold_end(cl, c->hold);
	free(c);
}

/* a's arguments copied into a call (they may point into the hub, which
 * changes before Redis answers). */
static struct call *
call_new(struct cluster *cl, enum cluster_script script, const struct args *a)
{
	size_t total = 0;
	for (int i = 0; i < a->n; i++)
		total += a->len[i];
	struct call *c = calloc(1, sizeof *c + total);
	if (c == NULL)
		return NULL;
	c->cl = cl;
	c->script = script;
	c->argc = a->n;
	char *p = c->bytes;
	for (int i = 0; i < a->n; i++) {
		memcpy(p, a->v[i], a->len[i]);
		c->argv[i] = p;
		c->len[i] = a->len[i];
		p += a->len[i];
	}
	return c;
}

static void
fold(const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s", name != NULL ? name : "");
	name_fold(out, out);
}

/* The flag letters of room ("nt"), for a room the JOIN makes. */
static void
flag_letters(const struct room *room, char *out, size_t cap)
{
	char modes[160];
	hub_room_mode_string(room, 0, modes, sizeof modes);
	size_t n = 0;
	for (const char *p = modes + 1; *p && *p != ' ' && n + 1 < cap; p++)
		if (*p != 'k' && *p != 'l')
			out[n++] = *p;
	out[n] = '\0';
}

void
cluster_user_of(const struct user *u, struct cluster_user *out)
{
	out->signon = (int64_t)u->signon;
	out->umodes = u->umodes;
	out->secure = u->secure;
	if (u->away != NULL)
		snprintf(out->away, sizeof out->away, "%s", u->away);
	if (strcmp(u->addr, u->host) != 0)
		snprintf(out->addr, sizeof out->addr, "%s", u->addr);
}

/* A user's directory entry: the MSG_CONNECT that makes it as it is now,
 * into out. -1 when it cannot. */
static int
user_entry(struct cluster *cl, struct user *u, struct buf *out)
{
	struct msg *m = hub_msg(cl->hub, MSG_CONNECT, u, NULL, NULL, u->realname);
	if (m == NULL)
		return -1;
	struct cluster_event ev = { .node = cl->node, .msg = m };
	cluster_user_of(u, &ev.user);
	int rc = cluster_encode(&ev, out);
	msg_unref(m);
	return rc;
}

void
cluster_publish_state(struct cluster *cl, const struct cluster_event *ev, int again)
{
	const struct msg *m = ev->msg;
	enum cluster_script script = SCRIPT_EVENT;
	struct args a = { 0 };
	arg_str(&a, "EVALSHA");
	arg(&a, "", 0);   /* the SHA, once the script is known */
	arg_str(&a, "0");
	arg_str(&a, CLUSTER_PREFIX);
	arg(&a, cl->out.data, cl->out.len);
	char room[ROOM_LEN_MAX + 1], nick[NICK_LEN_MAX + 1], old[NICK_LEN_MAX + 1];
	char node[8], at[24], flags[16], by[HUB_MASK_MAX + 1], created[24], asked[4];
	char rooms[HUB_ROOMS_PER_USER][ROOM_LEN_MAX + 1];
	struct buf entry = { 0 };
	fold(m->room, room, sizeof room);
	snprintf(at, sizeof at, "%lld", (long long)(m->at_ms / 1000));
	snprintf(node, sizeof node, "%u", (unsigned)cl->node);
	switch (m->kind) {
	case MSG_JOIN: {
		const struct room *r = hub_room_find(cl->hub, m->room);
		if (r == NULL)
			return;
		script = SCRIPT_JOIN;
		fold(m->from, nick, sizeof nick);
		flag_letters(r, flags, sizeof flags);
		snprintf(created, sizeof created, "%lld", (long long)r->created);
		snprintf(asked, sizeof asked, "%u", (unsigned)ev->member_modes);
		arg_str(&a, room);
		arg_str(&a, m->room);
		arg_str(&a, nick);
		arg_str(&a, node);
		arg_str(&a, flags);
		arg_str(&a, created);
		arg_str(&a, again ? "1" : "0");
		arg_str(&a, asked);
		/* A registered room's ops are its accounts' (ChanServ's +o),
		 * never its first joiner's: the node's own decision stands. */
		arg_str(&a, r->reg != NULL ? "1" : "0");
		break;
	}
	case MSG_PART:
	case MSG_KICK:
		script = SCRIPT_LEAVE;
		fold(m->kind == MSG_KICK ? m->target : m->from, nick, sizeof nick);
		arg_str(&a, room);
		arg_str(&a, nick);
		break;
	case MSG_TOPIC:
		script = SCRIPT_TOPIC;
		snprintf(by, sizeof by, "%s!%s@%s", m->from, m->ident ? m->ident : "",
		    m->host ? m->host : "");
		arg_str(&a, room);
		arg_str(&a, m->text != NULL ? "1" : "0");
		arg_str(&a, m->text != NULL ? m->text : "");
		arg_str(&a, by);
		arg_str(&a, at);
		break;
	case MSG_MODE:
		script = SCRIPT_MODE;
		arg_str(&a, room);
		arg_str(&a, m->text != NULL ? m->text : "");
		arg_str(&a, m->from);
		arg_str(&a, at);
		break;
	case MSG_INVITE:
	case MSG_REGISTER:
	case MSG_UNREGISTER:
		/* No key: the database holds registrations (each node loads
		 * them at start and when Redis is back). */
		break;
	default: {
		/* A user's event: its directory entry, and its rooms for a
		 * NICK (the membership moves) or a QUIT (it leaves them). */
		struct user *u = hub_user_find(cl->hub, m->kind == MSG_NICK ? m->target : m->from);
		if (u == NULL)
			return;
		script = SCRIPT_USER;
		fold(u->nick, nick, sizeof nick);
		old[0] = '\0';
		if (m->kind == MSG_NICK)
			fold(m->from, old, sizeof old);
		if (m->kind == MSG_CONNECT)
			entry = cl->out;   /* the event is its entry */
		else if (m->kind != MSG_QUIT && user_entry(cl, u, &entry) < 0)
			goto unsent;
		arg_str(&a, nick);
		arg(&a, entry.data != NULL ? entry.data : "", entry.len);
		arg_str(&a, old);
		arg_str(&a, node);
		if (m->kind == MSG_NICK || m->kind == MSG_QUIT) {
			const struct room *r;
			for (unsigned i = 0; i < HUB_ROOMS_PER_USER && (r = hub_user_room(u, i)); i++) {
				fold(r->key, rooms[i], sizeof rooms[i]);
				arg_str(&a, rooms[i]);
			}
		}
		break;
	}
	}
	a.v[1] = cl->sha[script];
	a.len[1] = CLUSTER_SHA_LEN;
	struct call *c = call_new(cl, script, &a);
	if (entry.data != cl->out.data)
		buf_free(&entry);
	if (c == NULL)
		goto unsent;
	c->kind = m->kind;
	if (m->kind == MSG_JOIN) {
		snprintf(c->room, sizeof c->room, "%s", m->room);
		snprintf(c->nick, sizeof c->nick, "%s", m->from);
		c->asked = ev->member_modes;
	}
	if (send_call(cl, c) < 0) {
		free(c);
		goto unsent;
	}
	/* The joiner's operator status is the script's to say: its next
	 * commands (a MODE, a TOPIC) wait for it (holds.c). */
	if (m->kind == MSG_JOIN && !again)
		c->hold = cluster_hold_user(cl, m->from);
	/* A registered room kept its topic, key, limit and lists here while
	 * it was empty, but not in Redis (its keys go with its last member):
	 * made anew there by this JOIN, it is given them, for the nodes that
	 * load it later. */
	const struct room *joined = m->kind == MSG_JOIN ? hub_room_find(cl->hub, m->room) : NULL;
	if (joined != NULL && joined->reg != NULL && !again)
		cluster_restate_room(cl, joined);
	cl->stats.published++;
	return;
unsent:
	cl->stats.unsent++;
}

static void
on_reaped(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	struct cluster *cl = data;
	cl->inflight--;
	redisReply *r = reply;
	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		log_error("cluster: Redis refused to forget a dead node's users: %s", r->str);
}

/* ---- A room's state told to Redis (restate.c, and a registered room
 * made anew by a JOIN) ---- */

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
on_told(redisAsyncContext *ac, void *reply, void *data)
{
	(void)ac;
	(void)reply;
	struct cluster *cl = data;
	cl->inflight--;
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
	if (redisAsyncCommandArgv(cl->cmd.ac, on_told, cl, n, argv, len) == REDIS_OK)
		cl->inflight++;
out:
	free(argv);
	free(len);
	free(nums);
}

void
cluster_reap_state(struct cluster *cl, uint16_t node)
{
	/* EVAL: rare, and never refused for a script Redis forgot. */
	if (cl->cmd.up && redisAsyncCommand(cl->cmd.ac, on_reaped, cl, "EVAL %s 0 %s %s %u",
	    cluster_script_text(SCRIPT_REAP), CLUSTER_PREFIX, "", (unsigned)node) == REDIS_OK)
		cl->inflight++;
}
