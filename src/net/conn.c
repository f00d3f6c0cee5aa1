#include "net/conn.h"
#include "net/conn_log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/log.h"
#include "net/conn_set.h"
#include "net/transport.h"

/* Bytes read per wake-up: a fast client cannot starve the others, since the
 * loop is level-triggered and comes back for the rest. */
#define CONN_READ_CHUNK 16384
/* Input a client may have waiting in the kernel, beyond what flood control
 * holds in the framer, before it counts as flooding: room for a script of
 * a thousand or two lines to be taken at flood-rate, not for an endless
 * one. Well under what Linux queues for a socket nobody reads (64-85 KiB
 * with the default tcp_rmem), or it could never be reached. */
#define CONN_FLOOD_BACKLOG (32 * 1024)
/* How long a closing conn may take to flush its last lines. */
#define CONN_LINGER_MS 5000
/* A long reply is made a page at a time: at most this much queued at
 * once (or a quarter of sendq, when that is less), the next page when
 * the socket has taken half of it. */
#define CONN_PAGE (64 * 1024)
/* What a reply still being made counts for against sendq, besides the
 * output waiting behind it: about what its state holds. */
#define CONN_PAGER_COST 1024
/* A page is at most this share of sendq (a quarter). */
#define CONN_PAGE_SENDQ_SHARE 4
/* A client's own lines wait while what is queued for it is past this
 * share of sendq (a half), as they wait for flood control: answers it
 * asks for faster than it reads them (pipelined CHATHISTORY, WHO,
 * LIST...) slow its asking down, and TCP then the client, where they
 * would have pushed it past sendq ("sendq exceeded" for asking). */
#define CONN_BACKLOG_SENDQ_SHARE 2
/* conn_sendf formats on the stack up to this; longer lines are rare. */
#define CONN_SENDF_STACK 512

static void conn_pagers_end(struct conn *c, int keep_after);

static void conn_process(struct conn *c);
static int conn_input_pending(struct conn *c);
static void conn_read(struct conn *c);

/* The timer, at the earliest deadline (or stopped, with none). */
static void
conn_deadlines_arm(struct conn *c)
{
	uint64_t when = 0;
	const uint64_t each[] = { c->handshake_by, c->flood_until, c->linger_by };
	for (size_t i = 0; i < sizeof each / sizeof each[0]; i++)
		if (each[i] != 0 && (when == 0 || each[i] < when))
			when = each[i];
	if (when == 0)
		loop_timer_stop(c->set->loop, &c->timer);
	else if (!loop_timer_active(&c->timer) || c->timer.when != when)
		loop_timer_at(c->set->loop, &c->timer, when);
}

/* After the door had a say: whether it has made the conn's user, which is
 * what registering means, on every door. */
static void
conn_check_registered(struct conn *c)
{
	if (c->unregistered && c->user != NULL)
		conn_set_registered(c->set, c);
}

/* The framer room a read needs: more for a WebSocket, which may hand
 * over LFs it owes. */
static size_t
conn_read_room(const struct conn *c)
{
	return c->tp != NULL ? transport_room(c->tp) : 1;
}

static void
conn_watch(struct conn *c)
{
	unsigned mask = 0;
	if (c->gone || c->state == CONN_DEAD) {
		loop_io_set(c->set->loop, &c->io, 0);
		return;
	}
	/* A framer full of lines that flood control holds back stops the
	 * reading: TCP then slows the sender down. */
	if (c->state == CONN_OPEN && !c->eof && framer_room(&c->in) >= conn_read_room(c))
		mask |= LOOP_READ;
	/* Output the before-sleep flush will write (the conn is on its list)
	 * needs no wake-up: watching for it costs two epoll_ctl per reply,
	 * and conn_flush_pass would then leave the reply to the next pass.
	 * LOOP_WRITE is for a socket that was full at its last write. */
	if (sendq_ready(&c->out) && (!c->queued_flush || (c->io.mask & LOOP_WRITE)))
		mask |= LOOP_WRITE;
	/* The next page of a reply is made when the socket can take it. */
	if (c->state == CONN_OPEN && c->pagers != NULL && !c->pagers->parked)
		mask |= LOOP_WRITE;
	if (c->tp != NULL)
		mask = transport_wants(c->tp, mask);
	if (loop_io_set(c->set->loop, &c->io, mask) < 0)
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
}

static const char *
error_reason(int err)
{
	switch (err) {
	case ECONNRESET:
		return "Connection reset by peer";
	case EPIPE:
		return "Broken pipe";
	case ETIMEDOUT:
		return "Connection timed out";
	default:
		return strerror(err);
	}
}

/* Ending a conn. Whatever ends it goes through conn_close; the door
 * hears of it once (conn_drop_user), at once when the conn flushes
 * first, at the reaper's step when it is dropped now (which may be in the
 * middle of a fan-out). */

/* The close that ends an open conn says why; later ones (the reaper's
 * "closed") do not change it. */
static void
conn_note_reason(struct conn *c, const char *reason)
{
	char *why = strdup(reason); /* before the free: reason may be c->reason */
	free(c->reason);
	c->reason = why;
}

static const char *
conn_reason(const struct conn *c)
{
	return c->reason != NULL ? c->reason : "closed";
}

/* Now: nothing more is read or written, and the before-sleep step
 * reaps the conn. */
static void
conn_die(struct conn *c)
{
	c->state = CONN_DEAD;
	gate_forget(&c->set->gate, c);
	conn_pagers_end(c, 0);
	sendq_clear(&c->out);
	framer_free(&c->in);
	c->handshake_by = c->flood_until = c->linger_by = 0;
	loop_timer_stop(c->set->loop, &c->timer);
	loop_io_set(c->set->loop, &c->io, 0);
	conn_set_reap_later(c->set, c);
}

/* After flushing: no more input; what is queued is written (bounded by
 * the linger deadline), then the conn closes. */
static void
conn_stop_input(struct conn *c)
{
	/* A reply still being made is cut short; what waited behind it goes. */
	conn_pagers_end(c, 1);
	c->state = CONN_CLOSING;
	framer_free(&c->in);
	/* Nothing more is read, nor waited for, but the linger. */
	c->handshake_by = c->flood_until = 0;
	c->linger_by = loop_now(c->set->loop) + CONN_LINGER_MS;
	conn_deadlines_arm(c);
	conn_watch(c);
	/* Lets the flush step close it, or take what waited behind replies. */
	conn_set_flush_later(c->set, c);
}

/* The client said goodbye (QUIT, or the end of its input) while replies
 * it asked for before are being made (a history query on a worker, a
 * long LIST): they go first, then the close as asked (conn_left), within
 * CONN_LINGER_MS. Nothing more is read or handled meanwhile. Without
 * this, `printf '/history #r 10\n' | nc HOST 7000` had its answer cut. */
static void
conn_leave(struct conn *c, const char *reason, unsigned how)
{
	c->leaving = 1;
	c->leave_how = (uint8_t)how;
	if (how & CONN_CLOSE_QUIT)
		c->quit = 1;
	conn_note_reason(c, reason);
	c->eof = 1;
	framer_free(&c->in);
	c->flood_until = 0;
	c->linger_by = loop_now(c->set->loop) + CONN_LINGER_MS;
	conn_deadlines_arm(c);
	conn_watch(c);
}

/* Its replies are done (or the linger is over): the close it asked for. */
static void
conn_left(struct conn *c)
{
	c->leaving = 0;
	conn_close(c, conn_reason(c), c->leave_how);
}

void
conn_close(struct conn *c, const char *reason, unsigned how)
{
	if (c->state == CONN_DEAD)
		return;
	if (c->state == CONN_OPEN && (how & CONN_CLOSE_AFTER_FLUSH) && !c->leaving &&
	    (how & (CONN_CLOSE_QUIT | CONN_CLOSE_EOF)) && c->pagers != NULL && !c->gone) {
		conn_leave(c, reason, how & ~CONN_CLOSE_EOF);
		return;
	}
	c->leaving = 0;
	if ((how & CONN_CLOSE_QUIT) && c->state == CONN_OPEN)
		c->quit = 1;
	if (!(how & CONN_CLOSE_AFTER_FLUSH)) {
		if (c->state != CONN_CLOSING)
			conn_note_reason(c, reason);
		conn_die(c);
		return;
	}
	if (c->state == CONN_CLOSING)
		return;
	if ((how & CONN_CLOSE_FAREWELL) && c->state == CONN_OPEN && c->door->farewell != NULL) {
		c->door->farewell(c, reason);
		if (c->state != CONN_OPEN)
			return; /* the farewell itself was too much (sendq) */
	}
	conn_note_reason(c, reason);
	conn_stop_input(c);
	if (!(how & CONN_CLOSE_KEEP_USER))
		conn_drop_user(c, 1);
}

void
conn_drop_user(struct conn *c, int tell_door)
{
	if (c->user_dropped)
		return;
	c->user_dropped = 1;
	const char *who = c->door->who != NULL ? c->door->who(c) : NULL;
	char addr[CONN_ADDR_MAX];
	conn_log(c, LOG_INFO, "%s %s: closed (%s)", conn_addr(c, addr), who != NULL ? who : "-",
	    conn_reason(c));
	struct conn_stats *st = &c->set->stats;
	st->ended[conn_end_of(c->reason, c->quit)]++;
	if (c->tp != NULL && transport_phase(c->tp) == TP_PHASE_TLS)
		st->tls_failures++; /* its handshake never ended */
	if (tell_door && c->user != NULL)
		c->door->closed(c, conn_reason(c));
	c->user = NULL;
}

/* The peer takes no more output: it reset the connection, or closed it
 * for good. Lines the server has taken from it are still handled (a piped
 * script is taken whole, at flood-rate, however its sender ends), but
 * nothing more is read or written, and the conn is out of the loop's set
 * until they are done; with none, it is dropped now. Its replies still
 * being made stay, their output dropped: the holds of those waiting for
 * a job end with the job, as the lines behind them expect (a reply freed
 * now would leave its hold to nobody, and them waiting for ever). */
static void
conn_lost_peer(struct conn *c, const char *reason)
{
	/* Heard once. The hang-up that comes with the error a write found
	 * (conn_on_io) has no error left to say (SO_ERROR is read once): it
	 * made "Connection timed out" "Connection closed". */
	if (c->gone)
		return;
	if (c->state != CONN_OPEN || framer_held(&c->in) == 0) {
		conn_close(c, reason, CONN_CLOSE_NOW);
		return;
	}
	char addr[CONN_ADDR_MAX];
	conn_log(c, LOG_DEBUG, "%s: %s; %zu bytes of its lines still to handle", conn_addr(c, addr),
	    reason, framer_held(&c->in));
	c->eof = 1;
	c->gone = 1;
	conn_note_reason(c, reason); /* unless a line of those says otherwise */
	for (struct conn_pager *p = c->pagers; p != NULL; p = p->next)
		sendq_clear(&p->after);
	sendq_clear(&c->out);
	conn_watch(c);
	/* At the flush step, unless flood control or a hold has them: lines
	 * that waited for the output just dropped (conn_backlogged) would
	 * wait for a flush a gone conn never makes, and half a line, found
	 * by a write before any read, for an end of input already come. */
	c->resume = 1;
	conn_set_flush_later(c->set, c);
}

/* A hang-up or error that reading will not report, since the conn is not
 * reading: the peer can take nothing more. */
static void
conn_hangup(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
	conn_lost_peer(c, err ? error_reason(err) : "Connection closed");
}

/* Everything queued for c: its sendq, and what waits behind replies. */
static size_t
conn_queued(const struct conn *c)
{
	size_t n = c->out.bytes;
	for (const struct conn_pager *p = c->pagers; p != NULL; p = p->next)
		n += p->after.bytes + CONN_PAGER_COST;
	return n;
}

/* Whether c's lines wait for its output (CONN_BACKLOG_SENDQ_SHARE). */
static int
conn_backlogged(const struct conn *c)
{
	return c->door->sendq_bound && !c->gone &&
	    conn_queued(c) >= c->set->limits.sendq / CONN_BACKLOG_SENDQ_SHARE;
}

void
conn_send(struct conn *c, struct wire *w)
{
	if (c->state != CONN_OPEN || w == NULL || c->gone)
		return;
	if (conn_queued(c) + w->len > c->set->limits.sendq && c->door->sendq_bound) {
		conn_close(c, "sendq exceeded", CONN_CLOSE_NOW);
		return;
	}
	/* Behind the replies still being made, unless it is one of their
	 * lines. */
	struct sendq *q = &c->out;
	if (c->pagers != NULL && !c->filling) {
		struct conn_pager *last = c->pagers;
		while (last->next != NULL)
			last = last->next;
		q = &last->after;
	}
	if (sendq_push(q, w) < 0) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	c->set->stats.queued[c->door->stats_slot]++;
	if (!c->queued_flush)
		conn_set_flush_later(c->set, c);
}

/* Replies made as the client takes them. */

static size_t
conn_page_size(const struct conn *c)
{
	size_t share = c->set->limits.sendq / CONN_PAGE_SENDQ_SHARE;
	return share < CONN_PAGE ? share : CONN_PAGE;
}

int
conn_page_full(const struct conn *c)
{
	return c->state != CONN_OPEN || c->out.bytes >= conn_page_size(c);
}

static int
conn_fill(struct conn *c, struct conn_pager *p)
{
	c->filling = 1;
	int more = p->fill(c, p);
	c->filling = 0;
	return more;
}

/* Drops every reply still being made; what waited behind them is sent
 * (keep_after, for a conn that is closing) or dropped. */
static void
conn_pagers_end(struct conn *c, int keep_after)
{
	/* Not under a fill's feet (it queued past sendq): conn_destroy will. */
	if (c->filling)
		return;
	while (c->pagers != NULL) {
		struct conn_pager *p = c->pagers;
		c->pagers = p->next;
		if (keep_after && sendq_append(&c->out, &p->after) < 0)
			keep_after = 0; /* out of memory: the rest is lost with it */
		sendq_clear(&p->after);
		p->free(p);
	}
}

int
conn_page(struct conn *c, struct conn_pager *p)
{
	sendq_init(&p->after);
	p->next = NULL;
	if (c->state != CONN_OPEN) {
		p->free(p);
		return 1;
	}
	if (c->pagers == NULL && !p->parked) {
		int more = conn_fill(c, p);
		if (!more || c->state != CONN_OPEN) {
			p->free(p);
			return more;
		}
	}
	if (p->deferred != NULL)
		p->deferred(c, p);
	struct conn_pager **tail = &c->pagers;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = p;
	/* A gone conn's replies are made for nobody (their output dropped,
	 * conn_lost_peer) while its last lines are handled: no bound to keep,
	 * and "sendq exceeded" would hide why it went. */
	if (c->state == CONN_OPEN && !c->gone && conn_queued(c) > c->set->limits.sendq)
		conn_close(c, "sendq exceeded", CONN_CLOSE_NOW); /* frees p with the others */
	else
		conn_set_flush_later(c->set, c); /* to watch for the room to go on */
	return 1;
}

/* The socket can take more: the next page of the first reply, or, when
 * it is done, what waited behind it. One page per wake-up, so one long
 * reply never keeps the loop from the others. */
static void
conn_pagers_drive(struct conn *c)
{
	while (c->state == CONN_OPEN && c->pagers != NULL && !c->pagers->parked &&
	    c->out.bytes < conn_page_size(c) / 2) {
		struct conn_pager *p = c->pagers;
		if (conn_fill(c, p))
			break;
		c->pagers = p->next;
		int ok = sendq_append(&c->out, &p->after) == 0;
		sendq_clear(&p->after);
		p->free(p);
		if (!ok) {
			conn_close(c, "Out of memory", CONN_CLOSE_NOW);
			return;
		}
		conn_set_flush_later(c->set, c);
	}
	if (c->leaving && c->pagers == NULL && c->state == CONN_OPEN)
		conn_left(c);
}

void
conn_page_resume(struct conn *c, struct conn_pager *p)
{
	p->parked = 0;
	if (c->state != CONN_OPEN || c->pagers != p)
		return; /* its turn comes when the replies before it are done */
	conn_pagers_drive(c);
	conn_set_flush_later(c->set, c); /* to watch for the room to go on */
}

void
conn_sendf(struct conn *c, const char *fmt, ...)
{
	if (c->state != CONN_OPEN || c->gone)
		return;
	char small[CONN_SENDF_STACK];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	struct wire *w;
	if ((size_t)n < sizeof small)
		w = wire_new(small, (size_t)n);
	else {
		char *big = malloc((size_t)n + 1);
		if (big == NULL) {
			conn_close(c, "Out of memory", CONN_CLOSE_NOW);
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		w = wire_new(big, (size_t)n);
		free(big);
	}
	if (w == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	conn_send(c, w);
	wire_unref(w);
}

int
conn_hold(struct conn *c)
{
	if (c->holds == CONN_HOLDS_MAX)
		return -1;
	c->holds++;
	return 0;
}

void
conn_unhold(struct conn *c)
{
	if (c->holds == 0)
		abort();  /* more ends than holds */
	if (--c->holds == 0 && c->state == CONN_OPEN) {
		c->resume = 1;
		conn_set_flush_later(c->set, c);
	}
}

/* The lines that waited for conn_unhold, then what more may be read (a
 * full framer stopped the reading; TLS may hold bytes no socket event
 * will announce). */
static void
conn_resume(struct conn *c)
{
	c->resume = 0;
	if (c->state != CONN_OPEN || c->holds > 0)
		return;
	conn_process(c);
	if (conn_input_pending(c))
		conn_read(c);
	else if (c->state == CONN_OPEN)
		conn_watch(c);
}

void
conn_flush(struct conn *c)
{
	if (c->state == CONN_DEAD)
		return;
	if (c->resume)
		conn_resume(c);
	if (c->state == CONN_DEAD)
		return;
	if (c->gone) {
		if (c->state == CONN_CLOSING)
			conn_close(c, "closed", CONN_CLOSE_NOW);
		else
			conn_pagers_drive(c); /* made for nobody, to their end */
		return;
	}
	size_t queued = c->out.bytes;
	if (c->tp != NULL) {
		char why[TRANSPORT_WHY_MAX];
		enum tp_status st = transport_flush(c->tp, &c->out, why);
		c->set->stats.bytes_out += queued - c->out.bytes;
		if (st == TP_LOST) {
			conn_lost_peer(c, error_reason(errno));
			return;
		}
		if (st == TP_ERROR) {
			conn_close(c, why, CONN_CLOSE_NOW);
			return;
		}
	} else if (c->out.count > 0) {
		ssize_t n = sendq_flush(&c->out, c->io.fd);
		if (n > 0)
			c->set->stats.bytes_out += (uint64_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_lost_peer(c, error_reason(errno));
			return;
		}
	}
	/* Its output has gone down: the lines it waited for. */
	if (c->backlogged && c->state == CONN_OPEN && !conn_backlogged(c)) {
		conn_resume(c);
		if (c->state == CONN_DEAD)
			return;
	}
	if (c->state == CONN_CLOSING && c->out.count == 0) {
		if (c->tp != NULL &&
		    transport_finish(c->tp, &c->out, c->set->going_away) == TP_AGAIN) {
			conn_watch(c);
			return;
		}
		shutdown(c->io.fd, SHUT_WR);
		conn_close(c, "closed", CONN_CLOSE_NOW);
		return;
	}
	conn_watch(c);
}

/* The before-sleep step's flush. A plain conn whose socket was full at
 * its last write (it watches LOOP_WRITE for it) is left for the loop to
 * say when it can take more: trying again every pass finds it full (a
 * write for EAGAIN per pass and per conn, for every conn at once when a
 * busy room outruns its readers). Anything else is flushed now. Lines
 * due to go on (c->resume: a hold ended, the store caught up) wait for
 * that write too, and nothing more: LOOP_WRITE stays watched while
 * anything released is queued, and level-triggered epoll reports the
 * socket once it takes bytes again (or its error, as LOOP_HUP), where
 * conn_on_io flushes, and a flush resumes them; a read handles them as
 * well. A peer that never reads keeps them waiting as it keeps its
 * output, until ping-timeout or the kernel's TCP_USER_TIMEOUT. TLS and
 * WebSocket conns are never skipped. */
void
conn_flush_pass(struct conn *c)
{
	if (c->tp == NULL && c->state == CONN_OPEN && !c->gone && c->pagers == NULL &&
	    (c->io.mask & LOOP_WRITE))
		return;
	conn_flush(c);
}

int
conn_flush_wanted(const struct conn *c)
{
	return c->state != CONN_OPEN || c->resume || c->gone || c->tp != NULL ||
	    c->pagers != NULL || c->out.count == 0 || sendq_ready(&c->out) ||
	    (c->io.mask & LOOP_WRITE);
}

/* Whether a client held back by flood control has kept on sending: more
 * than CONN_FLOOD_BACKLOG waiting behind what the framer holds. */
static int
conn_flooding(struct conn *c)
{
	int waiting = 0;
	return ioctl(c->io.fd, FIONREAD, &waiting) == 0 && waiting > CONN_FLOOD_BACKLOG;
}

/* Flood control: a token bucket of flood-burst lines that refills at
 * flood-rate lines per second. Returns 1 when a line may be handled now;
 * otherwise holds the lines back until one may. */
static int
conn_take_token(struct conn *c)
{
	const struct conn_limits *lim = &c->set->limits;
	if (lim->flood_rate <= 0 || !c->door->flood_control)
		return 1;
	uint64_t now = loop_now(c->set->loop);
	c->tokens += (double)(now - c->tokens_at) * lim->flood_rate / 1000.0;
	if (c->tokens > lim->flood_burst)
		c->tokens = lim->flood_burst;
	c->tokens_at = now;
	if (c->tokens >= 1.0) {
		c->tokens -= 1.0;
		return 1;
	}
	if (conn_flooding(c)) {
		conn_close(c, "Excess flood", CONN_CLOSE_NOW);
		return 0;
	}
	c->set->stats.flood_delays++;
	uint64_t wait = (uint64_t)ceil((1.0 - c->tokens) * 1000.0 / lim->flood_rate);
	c->flood_until = now + (wait ? wait : 1);
	conn_deadlines_arm(c);
	return 0;
}

static void
conn_process(struct conn *c)
{
	c->backlogged = c->lines_wait = 0;
	while (c->state == CONN_OPEN && c->flood_until == 0 && c->holds == 0) {
		if (framer_held(&c->in) == 0)
			break;
		if (conn_backlogged(c)) {
			c->backlogged = 1;
			break;
		}
		/* Registration adds no events: a newcomer is not kept out
		 * (and timed out) while the store catches up. */
		if (c->door->flood_control && !c->unregistered &&
		    c->set->lines_wait != NULL && c->set->lines_wait(c->set->lines_ctx)) {
			c->lines_wait = 1;
			c->set->lines_waiting = 1;
			break;
		}
		if (!conn_take_token(c))
			break;
		char *line;
		size_t len;
		enum framer_status st = framer_next(&c->in, &line, &len);
		if (st == FRAMER_EMPTY) {
			c->tokens += 1.0; /* nothing was handled */
			break;
		}
		if (st == FRAMER_LINE) {
			c->set->stats.lines_in[c->door->stats_slot]++;
			c->door->line(c, line, len);
			c->spoke = 1;
			conn_check_registered(c);
		} else
			c->door->overlong(c);
	}
	framer_release_if_empty(&c->in);
	/* Input has ended and every whole line has been handled: what is left
	 * is at most an unterminated fragment, dropped like the line it was. */
	if (c->state == CONN_OPEN && c->eof && c->flood_until == 0 && c->holds == 0 &&
	    !c->backlogged && !c->lines_wait && !c->leaving) {
		conn_close(c, c->reason != NULL ? c->reason : "Connection closed",
		    CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_EOF);
	}
}

/* Reads through the transport: -1 when the conn ended or nothing came
 * (what the transport said is done), else the bytes in buf (0: EOF). */
static ssize_t
conn_read_transport(struct conn *c, char *buf, size_t want)
{
	char why[TRANSPORT_WHY_MAX];
	size_t n = 0;
	enum tp_status st = transport_read(c->tp, &c->out, buf, want, &n, why);
	/* A ping was answered: the pong goes out with the next flush. */
	if (st != TP_ERROR && transport_unsent(c->tp))
		conn_set_flush_later(c->set, c);
	switch (st) {
	case TP_OK:
		return (ssize_t)n;
	case TP_EOF:
		return 0;
	case TP_AGAIN:
		return -1;
	case TP_LOST:
		conn_lost_peer(c, error_reason(errno));
		conn_process(c);
		return -1;
	case TP_CLOSE:
		conn_close(c, why, CONN_CLOSE_AFTER_FLUSH);
		return -1;
	case TP_ERROR:
		break;
	}
	conn_close(c, why, CONN_CLOSE_NOW);
	return -1;
}

/* One read's worth: into the framer, then the lines are handled. */
static void
conn_read_once(struct conn *c)
{
	static char buf[CONN_READ_CHUNK];
	/* Never read more than the framer takes: what is not read stays in
	 * the kernel, where it costs us nothing. */
	size_t room = framer_room(&c->in);
	if (room < conn_read_room(c)) {
		if (c->tp != NULL && transport_crossed(c->tp))
			return; /* TLS's own needs brought us here, not a hang-up */
		/* Not reading, so only an error or hang-up gets here; it would
		 * be reported again and again until handled. */
		conn_hangup(c);
		return;
	}
	size_t want = room < sizeof buf ? room : sizeof buf;
	ssize_t n;
	if (c->tp != NULL) {
		if ((n = conn_read_transport(c, buf, want)) < 0)
			return;
	} else if ((n = read(c->io.fd, buf, want)) < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_lost_peer(c, error_reason(errno));
			conn_process(c);
		}
		return;
	}
	if (n == 0) {
		c->eof = 1;
		conn_watch(c);
		conn_process(c);
		return;
	}
	if (!c->unregistered) {
		c->last_input = loop_now(c->set->loop);
		conn_set_touched(c->set, c);
	}
	c->pinged = 0;
	c->set->stats.bytes_in += (uint64_t)n;
	if (framer_feed(&c->in, buf, (size_t)n) < 0) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	conn_process(c);
}

/* TLS may hold decrypted bytes (and a WebSocket its close) that no socket
 * event will announce: whether there are some, and room for them. */
static int
conn_input_pending(struct conn *c)
{
	return c->state == CONN_OPEN && !c->eof && c->tp != NULL && transport_pending(c->tp) &&
	    framer_room(&c->in) >= transport_room(c->tp);
}

static void
conn_read(struct conn *c)
{
	do
		conn_read_once(c);
	while (conn_input_pending(c));
	if (c->state == CONN_OPEN)
		conn_watch(c);
}

/* The transport is ready for lines: the door greets the client. */
static void
conn_ready(struct conn *c)
{
	if (!c->door->handshake_deadline) {
		c->handshake_by = 0;
		conn_deadlines_arm(c);
	}
	c->state = CONN_OPEN;
	c->door->open(c);
	conn_check_registered(c);
	if (conn_input_pending(c))
		conn_read(c);
	else if (c->state == CONN_OPEN)
		conn_watch(c);
}

static void
conn_handshake(struct conn *c)
{
	char why[TRANSPORT_WHY_MAX];
	enum tp_status st = transport_handshake(c->tp, why);
	if (st == TP_AGAIN)
		conn_watch(c);
	else if (st == TP_OK) {
		char addr[CONN_ADDR_MAX];
		conn_log(c, LOG_DEBUG, "%s: TLS handshake done", conn_addr(c, addr));
		c->set->stats.tls_handshakes++;
		conn_ready(c);
	} else
		conn_close(c, why, CONN_CLOSE_NOW);
}

void
conn_open(struct conn *c)
{
	if (c->tp != NULL && transport_phase(c->tp) != TP_PHASE_OPEN)
		return; /* conn_ready comes with the end of the handshake */
	c->state = CONN_OPEN;
	c->door->open(c);
	conn_check_registered(c);
}

int
conn_expect_proxy(struct conn *c)
{
	if (c->tp == NULL && (c->tp = transport_new(c->io.fd, c->set->limits.sendq)) == NULL)
		return -1;
	transport_start_proxy(c->tp);
	/* The header comes on the handshake deadline. */
	if (c->handshake_by == 0) {
		c->handshake_by = loop_now(c->set->loop) + c->set->limits.handshake_ms;
		conn_deadlines_arm(c);
	}
	return 0;
}

/* The PROXY header, from a proxy-from address: then the conn carries on
 * as if it had just come in, from the client the header names. */
static void
conn_proxy(struct conn *c)
{
	struct proxy_header h;
	int found = 0;
	char why[TRANSPORT_WHY_MAX];
	enum tp_status st = transport_proxy_read(c->tp, &h, &found, &c->in, why);
	if (st == TP_AGAIN) {
		conn_watch(c);
		return;
	}
	if (st != TP_OK) {
		conn_close(c, why, CONN_CLOSE_NOW);
		return;
	}
	if (!found && !c->door->proxy_header_optional) {
		conn_close(c, "No PROXY protocol header from a proxy-from address", CONN_CLOSE_NOW);
		return;
	}
	if (!found)
		c->forwarded = 1; /* the HTTP request may say whom it is for */
	else if (c->set->readdress(c->set->owner, c, h.proxied ? &h.src : NULL) < 0)
		return;
	if (transport_idle(c->tp)) {
		transport_free(c->tp);
		c->tp = NULL;
	}
	if (c->tp != NULL && transport_phase(c->tp) == TP_PHASE_TLS) {
		conn_handshake(c); /* on the same deadline */
		return;
	}
	conn_ready(c);
	if (c->state == CONN_OPEN && framer_held(&c->in) > 0) {
		conn_process(c);
		if (c->state == CONN_OPEN)
			conn_watch(c);
	}
}

int
conn_forwarded_for(struct conn *c, const char *text)
{
	if (!c->forwarded)
		return 0;
	c->forwarded = 0;
	struct sockaddr_storage ss;
	char addr[CONN_ADDR_MAX];
	int named = text != NULL && *text != '\0' && addr_from_text(text, &ss) == 0;
	if (text != NULL && *text != '\0' && !named)
		conn_log(c, LOG_INFO, "%s: X-Forwarded-For \"%s\" is no address; the proxy's own is used",
		    conn_addr(c, addr), text);
	return c->set->readdress(c->set->owner, c, named ? &ss : NULL);
}

int
conn_upgrade_websocket(struct conn *c, const struct conn_handler *door, int binary)
{
	/* The client must wait for our 101 before it sends frames. */
	if (framer_held(&c->in) > 0 || transport_pending(c->tp))
		return -1;
	size_t max_line = door->max_line ? door->max_line : c->set->limits.max_line;
	if (c->tp == NULL && (c->tp = transport_new(c->io.fd, c->set->limits.sendq)) == NULL)
		return -1;
	if (transport_start_websocket(c->tp, binary, max_line + 2, c->out.bytes) < 0)
		return -1;
	framer_free(&c->in);
	framer_init(&c->in, max_line, 2 * max_line + 2);
	c->door = door;
	c->handshake_by = 0;
	conn_deadlines_arm(c);
	door->open(c);
	conn_check_registered(c);
	return 0;
}

int
conn_secure(const struct conn *c)
{
	return transport_secure(c->tp);
}

const char *
conn_tls_servername(const struct conn *c)
{
	return transport_tls_servername(c->tp);
}

int
conn_tls_fingerprint(const struct conn *c, char hex[CONN_FINGERPRINT_MAX])
{
	return transport_tls_fingerprint(c->tp, hex);
}

int
conn_websocket(const struct conn *c)
{
	return transport_websocket(c->tp);
}

static void
conn_on_io(struct loop *loop, struct loop_io *io, unsigned events)
{
	(void)loop;
	struct conn *c = io->data;
	c->io_events++;
	if (c->tp != NULL) {
		enum tp_phase phase = transport_phase(c->tp);
		if (phase == TP_PHASE_PROXY) {
			if (c->state == CONN_HANDSHAKE)
				conn_proxy(c);
			else
				conn_close(c, "closed", CONN_CLOSE_NOW);
			return;
		}
		if (phase == TP_PHASE_TLS) {
			if (c->state == CONN_HANDSHAKE)
				conn_handshake(c);
			else if (c->state == CONN_CLOSING) /* nothing can be said before it */
				conn_close(c, "closed", CONN_CLOSE_NOW);
			return;
		}
	}
	/* A closing conn watches only for writing, but an error or hang-up
	 * arrives as LOOP_READ: flushing is how it finds out. TLS may want
	 * the other event than the one it is doing. */
	unsigned ready = c->tp != NULL ? transport_ready(c->tp, events) : events;
	if (c->state == CONN_CLOSING || ((ready & LOOP_WRITE) && c->state == CONN_OPEN))
		conn_flush(c);
	if ((events & LOOP_WRITE) && c->state == CONN_OPEN && c->pagers != NULL) {
		conn_pagers_drive(c);
		if (c->state == CONN_OPEN)
			conn_watch(c);
	}
	if ((ready & LOOP_READ) && c->state == CONN_OPEN && !c->eof)
		conn_read(c);
	/* A hang-up that nothing above acted on, on a conn that is not reading
	 * (its EOF came, or flood control holds its lines), would come back
	 * at once, and again, for as long as the conn waits. */
	if ((events & LOOP_HUP) && c->state != CONN_DEAD && !(c->io.mask & LOOP_READ))
		conn_hangup(c);
}

static void
conn_on_timer(struct loop *loop, struct loop_timer *timer)
{
	(void)loop;
	struct conn *c = timer->data;
	uint64_t now = loop_now(loop);
	if (c->linger_by != 0 && c->linger_by <= now) {
		if (c->leaving && c->state == CONN_OPEN) {
			/* Replies still not done: cut short, as any close does. */
			conn_left(c);
			if (c->state != CONN_DEAD)
				conn_deadlines_arm(c);
			return;
		}
		conn_close(c, "closed", CONN_CLOSE_NOW);
		return;
	}
	if (c->handshake_by != 0 && c->handshake_by <= now) {
		conn_close(c, "Handshake timed out", CONN_CLOSE_NOW);
		return;
	}
	if (c->flood_until != 0 && c->flood_until <= now) {
		c->flood_until = 0;
		conn_process(c);
		if (conn_input_pending(c))
			conn_read(c);
		else if (c->state == CONN_OPEN)
			conn_watch(c);
	}
	if (c->state != CONN_DEAD)
		conn_deadlines_arm(c);
}

struct conn *
conn_new(struct conn_set *set, int fd, const struct conn_handler *door, const char *host,
    uint16_t port, struct tls_context *tls)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	const struct conn_limits *lim = &set->limits;
	c->set = set;
	c->door = door;
	/* Room for one line being framed plus what flood control holds back. */
	size_t max_line = door->max_line ? door->max_line : lim->max_line;
	framer_init(&c->in, max_line, 2 * max_line + 2);
	sendq_init(&c->out);
	c->out.release = gate_initial_release(&set->gate);
	loop_timer_init(&c->timer, conn_on_timer, c);
	c->tokens = lim->flood_burst;
	c->tokens_at = c->last_input = loop_now(set->loop);
	c->port = port;
	snprintf(c->host, sizeof c->host, "%s", host);
	if (tls != NULL && ((c->tp = transport_new(fd, lim->sendq)) == NULL ||
	    transport_start_tls(c->tp, tls, door->tls_client_cert) < 0)) {
		transport_free(c->tp);
		framer_free(&c->in);
		free(c);
		return NULL;
	}
	if (loop_io_add(set->loop, &c->io, fd, LOOP_READ, conn_on_io, c) < 0) {
		transport_free(c->tp);
		framer_free(&c->in);
		free(c);
		return NULL;
	}
	/* A client that stalls mid-handshake holds a descriptor, no more,
	 * and not for long. */
	if (tls != NULL || door->handshake_deadline) {
		c->handshake_by = loop_now(set->loop) + lim->handshake_ms;
		conn_deadlines_arm(c);
	}
	return c;
}

const char *
conn_addr(const struct conn *c, char buf[CONN_ADDR_MAX])
{
	addr_hostport(buf, CONN_ADDR_MAX, c->host, c->port);
	return buf;
}

void
conn_destroy(struct conn *c)
{
	/* A conn the loop kept waking for nothing shows here. */
	char addr[CONN_ADDR_MAX];
	conn_log(c, LOG_DEBUG, "%s: gone after %" PRIu32 " socket events", conn_addr(c, addr),
	    c->io_events);
	if (c->door->free != NULL)
		c->door->free(c);
	loop_io_close(c->set->loop, &c->io);
	loop_timer_stop(c->set->loop, &c->timer);
	gate_forget(&c->set->gate, c);
	conn_pagers_end(c, 0);
	sendq_clear(&c->out);
	framer_free(&c->in);
	transport_free(c->tp);
	free(c->reason);
	free(c);
}
