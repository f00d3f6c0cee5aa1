/* hiredis on our loop (see the header). hiredis asks for read and write
 * interest through its ev hooks; the loop calls back on_io, which hands
 * the socket's readiness to hiredis (or reads a push link's replies
 * itself). What the owner hears (on_up, on_down) is said only after
 * hiredis has returned, never from inside one of its calls: an owner may
 * then close the link or open another without pulling the context from
 * under hiredis. */
#include "cluster/redis_loop.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/sds.h>

#include "base/clock.h"

/* Connected, and nothing it may write waits: a held link's write
 * interest would wake the loop for nothing. */
static int
held_back(const struct redis_link *link)
{
	return link->held && (link->ac->c.flags & REDIS_CONNECTED) &&
	    link->gone >= link->release;
}

static void
watch(struct redis_link *link, unsigned want)
{
	link->want = want;
	if (link->ac == NULL)
		return;
	if (held_back(link))
		want &= ~(unsigned)LOOP_WRITE;
	(void)loop_io_set(link->loop, &link->io, want);
}

static void
add_read(void *p)
{
	struct redis_link *link = p;
	watch(link, link->want | LOOP_READ);
}

static void
del_read(void *p)
{
	struct redis_link *link = p;
	watch(link, link->want & ~(unsigned)LOOP_READ);
}

static void
add_write(void *p)
{
	struct redis_link *link = p;
	watch(link, link->want | LOOP_WRITE);
}

static void
del_write(void *p)
{
	struct redis_link *link = p;
	watch(link, link->want & ~(unsigned)LOOP_WRITE);
}

/* hiredis is freeing the context (an error, a lost connection, or
 * redis_link_close): the socket leaves the loop, and link forgets ac.
 * Called once or more, before the socket is closed. */
static void
cleanup(void *p)
{
	struct redis_link *link = p;
	if (link->ac == NULL)
		return;
	if (link->why[0] == '\0')
		snprintf(link->why, sizeof link->why, "%s",
		    link->ac->c.err ? link->ac->c.errstr : "connection closed");
	(void)loop_io_set(link->loop, &link->io, 0);
	/* Its queue is lost with it: counted as gone, so what comes next
	 * is numbered after it. */
	link->gone += redis_link_queued(link);
	link->ac = NULL;
	link->want = 0;
}

/* AUTH's answer: the link is up, or refused (closed by the caller). */
static int
auth_answered(struct redis_link *link, const redisReply *r)
{
	link->authing = 0;
	if (r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0) {
		link->up = 1;
		return 0;
	}
	link->refused = 1;
	/* Redis's words never quote the password. */
	snprintf(link->why, sizeof link->why, "Redis refused the password (%s)",
	    r == NULL ? "no answer" : r->type == REDIS_REPLY_ERROR ? r->str : "not OK");
	return -1;
}

static void
on_auth(redisAsyncContext *ac, void *reply, void *data)
{
	struct redis_link *link = data;
	/* No reply: the connection went (its own why says how). */
	if (reply == NULL || link->ac != ac)
		return;
	if (auth_answered(link, reply) < 0)
		redisAsyncDisconnect(ac);
}

/* AUTH [user] password, first on a new connection: 0, or -1. */
static int
auth_send(struct redis_link *link)
{
	const char *argv[3] = { "AUTH" };
	size_t len[3] = { 4 };
	int n = 1;
	if (link->user != NULL && link->user[0] != '\0') {
		argv[n] = link->user;
		len[n++] = strlen(link->user);
	}
	argv[n] = link->password;
	len[n++] = strlen(link->password);
	int rc = link->on_push != NULL ?
	    redisAppendCommandArgv(&link->ac->c, n, argv, len) :
	    redisAsyncCommandArgv(link->ac, on_auth, link, n, argv, len);
	if (rc != REDIS_OK)
		return -1;
	if (link->on_push != NULL)
		add_write(link);
	link->authing = 1;
	return 0;
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_link *link = ac->ev.data;
	if (link == NULL || status != REDIS_OK)
		return;
	if (link->password == NULL)
		link->up = 1;
	else if (auth_send(link) < 0) {
		snprintf(link->why, sizeof link->why, "cannot send AUTH");
		redisAsyncDisconnect(link->ac);
	}
}

/* A push link's replies, each to on_push: hiredis reads the bytes and
 * parses them; its dispatch is not used (see the header). */
static void
push_read(struct redis_link *link)
{
	redisContext *c = &link->ac->c;
	if (!(c->flags & REDIS_CONNECTED)) {
		/* The connect's outcome first: hiredis learns it on a write
		 * event, which a failed connect need not bring. */
		redisAsyncHandleWrite(link->ac);
		if (link->ac == NULL || !(link->ac->c.flags & REDIS_CONNECTED))
			return;
	}
	if (redisBufferRead(c) != REDIS_OK) {
		redisAsyncFree(link->ac);
		return;
	}
	for (;;) {
		void *reply = NULL;
		if (redisGetReply(c, &reply) != REDIS_OK) {
			redisAsyncFree(link->ac);
			return;
		}
		if (reply == NULL)
			return;
		if (link->authing) {
			int rc = auth_answered(link, reply);
			freeReplyObject(reply);
			if (rc < 0) {
				redisAsyncFree(link->ac);
				return;
			}
			continue;
		}
		link->on_push(link, reply);
		freeReplyObject(reply);
	}
}

/* A held link writes what it may itself (hiredis would write it all),
 * as redisBufferWrite does. */
static void
held_write(struct redis_link *link)
{
	redisContext *c = &link->ac->c;
	size_t n = redis_link_queued(link);
	if (link->release - link->gone < n)
		n = (size_t)(link->release - link->gone);
	ssize_t w = n > 0 ? write(c->fd, c->obuf, n) : 0;
	if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		snprintf(link->why, sizeof link->why, "%s", strerror(errno));
		redisAsyncFree(link->ac);
		return;
	}
	if (w > 0) {
		sdsrange(c->obuf, w, -1);
		link->gone += (uint64_t)w;
	}
	watch(link, redis_link_queued(link) > 0 ? link->want | LOOP_WRITE :
	    link->want & ~(unsigned)LOOP_WRITE);
}

static void
handle_write(struct redis_link *link)
{
	if (link->held && (link->ac->c.flags & REDIS_CONNECTED)) {
		held_write(link);
		return;
	}
	uint64_t pushed = redis_link_pushed(link);
	redisAsyncHandleWrite(link->ac);
	link->gone = pushed - redis_link_queued(link);
}

static void
on_io(struct loop *loop, struct loop_io *io, unsigned events)
{
	(void)loop;
	struct redis_link *link = io->data;
	int was_up = link->up;
	if ((events & LOOP_WRITE) && link->ac != NULL)
		handle_write(link);
	if ((events & LOOP_READ) && link->ac != NULL) {
		if (link->on_push != NULL)
			push_read(link);
		else
			redisAsyncHandleRead(link->ac);
	}
	if (link->ac == NULL) {
		link->up = 0;
		if (link->on_down != NULL)
			link->on_down(link);
		return;
	}
	if (link->up && !was_up && link->on_up != NULL)
		link->on_up(link);
}

int
redis_link_open(struct redis_link *link, struct loop *loop, const char *host,
    unsigned port)
{
	link->loop = loop;
	link->up = 0;
	link->authing = 0;
	link->refused = 0;
	link->want = 0;
	link->why[0] = '\0';
	redisAsyncContext *ac = redisAsyncConnect(host, (int)port);
	if (ac == NULL) {
		snprintf(link->why, sizeof link->why, "out of memory");
		return -1;
	}
	if (ac->err) {
		snprintf(link->why, sizeof link->why, "%s", ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	link->ac = ac;
	ac->ev.data = link;
	ac->ev.addRead = add_read;
	ac->ev.delRead = del_read;
	ac->ev.addWrite = add_write;
	ac->ev.delWrite = del_write;
	ac->ev.cleanup = cleanup;
	link->io = (struct loop_io){ .fd = -1 };
	if (loop_io_add(loop, &link->io, ac->c.fd, 0, on_io, link) < 0) {
		snprintf(link->why, sizeof link->why, "cannot watch its socket");
		redisAsyncFree(ac);
		return -1;
	}
	/* Also asks for the first write event, which tells of the connect. */
	redisAsyncSetConnectCallback(ac, on_connect);
	return 0;
}

int
redis_link_send(struct redis_link *link, const char *fmt, ...)
{
	if (link->ac == NULL || (link->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)))
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int rc = redisvAppendCommand(&link->ac->c, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK)
		return -1;
	add_write(link);
	return 0;
}

uint64_t
redis_link_pushed(const struct redis_link *link)
{
	return link->gone + redis_link_queued(link);
}

void
redis_link_release(struct redis_link *link, uint64_t release)
{
	link->release = release;
	link->held = 1;
	if (link->ac != NULL)
		watch(link, link->want);
}

size_t
redis_link_queued(const struct redis_link *link)
{
	if (link->ac == NULL || link->ac->c.obuf == NULL)
		return 0;
	return sdslen(link->ac->c.obuf);
}

int
redis_link_flush(struct redis_link *link, int timeout_ms)
{
	int64_t until = clock_now_ms() + timeout_ms;
	while (link->ac != NULL && redis_link_queued(link) > 0) {
		int done = 0;
		uint64_t pushed = redis_link_pushed(link);
		if (redisBufferWrite(&link->ac->c, &done) != REDIS_OK)
			return -1;
		link->gone = pushed - redis_link_queued(link);
		if (done)
			return 0;
		int64_t left = until - clock_now_ms();
		struct pollfd pfd = { .fd = link->ac->c.fd, .events = POLLOUT };
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
	}
	return link->ac != NULL ? 0 : -1;
}

void
redis_link_close(struct redis_link *link)
{
	if (link->ac == NULL)
		return;
	snprintf(link->why, sizeof link->why, "closed");
	redisAsyncFree(link->ac);
	link->up = 0;
}
