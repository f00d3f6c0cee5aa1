/* hiredis's async client on our loop (net/loop.h): one connection to
 * Redis, driven by the loop's file events through hiredis's adapter hooks
 * (addRead, delRead, addWrite, delWrite, cleanup), as its adapters for
 * ae or libuv do. No second event loop, no thread.
 *
 * A link is of one of two kinds. A command link is hiredis's own: send
 * with redisAsyncCommand on link->ac, and each reply reaches its
 * callback. A push link is a pub/sub connection whose replies are read
 * here and handed to on_push one by one, whatever they are: hiredis 0.14
 * (Debian 12's) knows SUBSCRIBE and PSUBSCRIBE but not Redis 7's sharded
 * SSUBSCRIBE, whose replies its dispatch would take for replies to
 * commands nobody sent, and abort. Commands go out on a push link with
 * redis_link_send (redisAppendCommand below).
 *
 * With a password, a link says AUTH first on every connect, and is up
 * only once Redis took it: a refusal is a failed connect (link->why says
 * what Redis answered; the password is never in it).
 *
 * A link is down (on_down) once, when its connection fails or is lost;
 * link->ac is NULL from then on.
 *
 * A link may be held (redis_link_release): the bytes of its commands are
 * counted from its opening on, over every connection it has had
 * (redis_link_pushed), and only those below its release are written;
 * the rest wait in hiredis's output buffer, in order. A history node
 * holds its publishes until the events they carry are committed. */
#ifndef PARLEY_CLUSTER_REDIS_LOOP_H
#define PARLEY_CLUSTER_REDIS_LOOP_H

#include <stdint.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "net/loop.h"

struct redis_link;

typedef void redis_push_fn(struct redis_link *link, redisReply *reply);
typedef void redis_link_fn(struct redis_link *link);

struct redis_link {
	redisAsyncContext *ac;       /* NULL once down (or before it connects) */
	struct loop *loop;
	struct loop_io io;           /* ac's socket, watched as hiredis asks */
	unsigned want;               /* LOOP_READ | LOOP_WRITE hiredis asked for */
	int up;                      /* connected (on_up was called) */
	redis_push_fn *on_push;      /* push link: every reply; NULL: a command link */
	redis_link_fn *on_up;        /* connected; may be NULL */
	redis_link_fn *on_down;      /* failed or lost (once); may be NULL */
	void *data;                  /* the owner's */
	uint64_t gone;               /* bytes of commands written, or lost with
	                              * a connection: with what is queued, every
	                              * byte ever pushed */
	uint64_t release;            /* held: written up to here */
	uint8_t held;                /* redis_link_release was called */
	const char *user;            /* AUTH's user (NULL or "": none) and */
	const char *password;        /* password (NULL: no AUTH): the owner's */
	int authing;                 /* AUTH sent, not answered */
	int refused;                 /* went down: Redis refused the password */
	char why[128];               /* why it went down */
};

/* Starts connecting link (its fields on_push, on_up, on_down and data set
 * by the caller, the rest zero) to host:port on loop. -1 (link->why says
 * why) when it cannot even start; else on_up or on_down follows. */
int redis_link_open(struct redis_link *link, struct loop *loop, const char *host,
    unsigned port);
/* A command on a push link (printf-like, hiredis's %s and %b): queued and
 * sent when the socket takes it. -1 when the link is down. */
int redis_link_send(struct redis_link *link, const char *fmt, ...);
/* Every byte of commands this link has taken, written or not (a count
 * that only grows, over its connections). */
uint64_t redis_link_pushed(const struct redis_link *link);
/* From now on only the bytes below release (a count of redis_link_pushed)
 * are written. */
void redis_link_release(struct redis_link *link, uint64_t release);
/* Bytes queued for Redis and not yet written: the owner bounds it. */
size_t redis_link_queued(const struct redis_link *link);
/* Writes what is queued for Redis now, waiting at most timeout_ms (the
 * loop is not run: for a server that stops, whose history is committed:
 * held bytes too). 0 when all of it went. */
int redis_link_flush(struct redis_link *link, int timeout_ms);
/* Closes link now (pending replies' callbacks get NULL); on_down is not
 * called. Safe on a link that is down or was never opened. */
void redis_link_close(struct redis_link *link);

#endif
