/* The run: one epoll loop over every connection, moving through phases
 *
 *   setup    connect (at most --connect-concurrency at once), register,
 *            join; ends when every client is in its room
 *   warm-up  senders send, receivers check, nothing is counted
 *   measure  --duration seconds: messages whose send timestamp falls here
 *            are counted, wherever they are received
 *   drain    sending stops; wait (at most --drain) for what is in flight
 *   hold     (--idle instead of the three above) keep the connections open
 *
 * and keeping the books: which deliveries each message needs, which
 * arrived, in what order, and how late. */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bench.h"

#define MAX_EVENTS 1024
#define ERRORS_SHOWN 10
#define TIMER_ID UINT32_MAX
/* MODE_RATE: the pacing timer fires at least this far apart and sends every
 * message that fell due meanwhile (each stamped with its due time). */
#define RATE_TICK_MIN_NS 100000u

/* Records an error; the first few are shown as they happen. */
void
bench_error(struct bench *b, const char *fmt, ...)
{
	b->t.errors++;
	if (b->t.errors > ERRORS_SHOWN) {
		if (b->t.errors == ERRORS_SHOWN + 1)
			fprintf(stderr, "parley-bench: (further errors are only counted)\n");
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	fputs("parley-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int
resolve(struct bench *b)
{
	char ports[8 * BENCH_SERVERS_MAX];
	snprintf(ports, sizeof ports, "%s", b->opt.port ? b->opt.port :
	    b->opt.proto == PROTO_IRC ? "6667" : "7000");
	b->loopback4 = true;
	b->naddr = 0;
	for (char *save = NULL, *port = strtok_r(ports, ",", &save); port != NULL;
	    port = strtok_r(NULL, ",", &save)) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
		int rc = getaddrinfo(b->opt.host, port, &hints, &res);
		if (rc != 0) {
			fprintf(stderr, "parley-bench: %s:%s: %s\n", b->opt.host, port,
			    gai_strerror(rc));
			return -1;
		}
		memcpy(&b->addr[b->naddr], res->ai_addr, res->ai_addrlen);
		b->addrlen[b->naddr++] = res->ai_addrlen;
		const struct sockaddr_in *in = (const struct sockaddr_in *)res->ai_addr;
		if (res->ai_family != AF_INET || (ntohl(in->sin_addr.s_addr) >> 24) != 127)
			b->loopback4 = false;
		freeaddrinfo(res);
	}
	return 0;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fprintf(stderr, "parley-bench: out of memory\n");
		exit(1);
	}
	return p;
}

/* Senders and, in window mode, their rings of pending deliveries. A sender
 * has at most --window messages in flight, so a ring that size never wraps
 * onto a message still pending. */
static void
init_senders(struct bench *b)
{
	const struct options *o = &b->opt;
	b->senders = xcalloc(o->senders, sizeof *b->senders);
	uint32_t ring = 1;
	if (o->mode == MODE_WINDOW)
		while (ring < o->window)
			ring *= 2;
	b->ring_mask = ring - 1;
	uint32_t *pool = o->mode == MODE_WINDOW ?
	    xcalloc((size_t)o->senders * ring, sizeof *pool) : NULL;
	for (uint32_t j = 0; j < o->senders; j++) {
		struct sender *s = &b->senders[j];
		s->conn = j;
		s->room = j % o->rooms;
		s->slot = j / o->rooms;
		s->receivers = b->room_members[j % o->rooms] - 1;
		s->pending = pool ? pool + (size_t)j * ring : NULL;
		b->room_senders[j % o->rooms]++;
	}
}

/* Clients, rooms, and each receiver's last-seen sequence per sender of its
 * room, all from one allocation each: nothing is allocated per message. */
int
bench_init(struct bench *b)
{
	const struct options *o = &b->opt;
	if (resolve(b) < 0)
		return -1;
	b->conns = xcalloc(o->clients, sizeof *b->conns);
	b->room_members = xcalloc(o->rooms, sizeof *b->room_members);
	b->room_senders = xcalloc(o->rooms, sizeof *b->room_senders);
	for (uint32_t i = 0; i < o->clients; i++)
		b->room_members[i % o->rooms]++;
	init_senders(b);
	size_t slots = 0;
	for (uint32_t i = 0; i < o->clients; i++)
		slots += b->room_senders[i % o->rooms];
	uint32_t *seq_pool = xcalloc(slots, sizeof *seq_pool);
	for (uint32_t i = 0; i < o->clients; i++) {
		struct conn *c = &b->conns[i];
		c->fd = -1;
		c->id = i;
		c->room = i % o->rooms;
		c->last_seq = seq_pool;
		seq_pool += b->room_senders[c->room];
	}
	b->ep = epoll_create1(EPOLL_CLOEXEC);
	b->timer_fd = -1;
	if (b->ep < 0) {
		perror("parley-bench: epoll_create1");
		return -1;
	}
	b->t_measure_start = b->t_measure_end = UINT64_MAX;
	b->server_cpu_before = b->server_cpu_after = -1;
	b->rss_before_kb = b->rss_after_kb = -1;
	return 0;
}

/* ------------------------------------------------------------ accounting */

void
bench_conn_ready(struct bench *b, struct conn *c)
{
	c->state = CONN_READY;
	b->ready++;
	b->in_setup--;
}

void
bench_conn_lost(struct bench *b, struct conn *c, enum conn_state was)
{
	(void)c;
	b->dead++;
	if (was != CONN_READY)
		b->in_setup--;
}

static bool
measured(const struct bench *b, uint64_t sent_ns)
{
	return sent_ns >= b->t_measure_start && sent_ns < b->t_measure_end;
}

/* MODE_WINDOW: one more receiver has (or, past a gap, never will have)
 * message seq; when none is left the message leaves the window. */
static void
window_done(struct bench *b, struct sender *s, uint64_t seq)
{
	if (--s->pending[seq & b->ring_mask] == 0) {
		s->inflight--;
		b->inflight--;
	}
}

/* A bench message reached receiver c. Per (sender, receiver) the sequence
 * must go up by exactly one: more is a gap (lost deliveries), less or equal
 * a duplicate. */
void
bench_on_message(struct bench *b, struct conn *c, uint64_t sender,
    uint64_t seq, uint64_t sent_ns)
{
	const struct options *o = &b->opt;
	if (sender >= o->senders) {
		b->t.stray++;
		return;
	}
	struct sender *s = &b->senders[sender];
	if (s->conn == c->id)
		return;  /* our own message echoed back (IRCv3 echo-message) */
	if (s->room != c->room || seq == 0 || seq > s->seq) {
		b->t.stray++;
		return;
	}
	uint32_t *last = &c->last_seq[s->slot];
	if (seq <= *last) {
		if (measured(b, sent_ns))
			b->t.duplicated++;
		return;
	}
	if (seq > (uint64_t)*last + 1) {
		b->t.gaps += seq - *last - 1;
		if (o->mode == MODE_WINDOW)
			for (uint64_t k = (uint64_t)*last + 1; k < seq; k++)
				window_done(b, s, k);
	}
	*last = (uint32_t)seq;
	b->t.received_all++;
	if (o->mode == MODE_WINDOW)
		window_done(b, s, seq);
	if (measured(b, sent_ns)) {
		b->t.delivered++;
		hist_record(&b->lat, b->now > sent_ns ? b->now - sent_ns : 0);
	}
}

/* -------------------------------------------------------------- sending */

static void
send_one(struct bench *b, uint32_t j, uint64_t sent_ns)
{
	struct sender *s = &b->senders[j];
	struct conn *c = &b->conns[s->conn];
	s->seq++;
	proto_send_message(b, c, j, s->seq, sent_ns);
	b->t.sent_all++;
	b->t.expected_all += s->receivers;
	if (measured(b, sent_ns)) {
		b->t.sent++;
		b->t.expected += s->receivers;
	}
	if (b->opt.mode == MODE_WINDOW) {
		s->pending[s->seq & b->ring_mask] = s->receivers;
		s->inflight++;
		b->inflight++;
	}
	size_t backlog = conn_backlog(c);
	if (backlog > b->t.backlog_max)
		b->t.backlog_max = backlog;
}

static bool
sending(const struct bench *b)
{
	return b->phase == PH_WARMUP || b->phase == PH_MEASURE;
}

/* Closed loop: refill the window, senders taking turns. */
static void
window_send(struct bench *b)
{
	uint32_t n = b->opt.senders, skipped = 0;
	while (b->inflight < b->opt.window && skipped < n) {
		uint32_t j = b->rr;
		b->rr = (j + 1) % n;
		struct sender *s = &b->senders[j];
		if (b->conns[s->conn].state != CONN_READY || s->inflight > b->ring_mask) {
			skipped++;
			continue;
		}
		skipped = 0;
		send_one(b, j, b->now);
	}
}

/* Open loop: message k is due at t_send_start + k/rate and carries that
 * time, so a late send (ours or the server's backpressure) shows as
 * latency instead of silently lowering the load. */
static void
rate_send(struct bench *b)
{
	const struct options *o = &b->opt;
	uint64_t due = (uint64_t)((double)(b->now - b->t_send_start) * o->rate / 1e9) + 1;
	while (b->rate_sent < due) {
		uint64_t k = b->rate_sent++;
		uint32_t j = (uint32_t)(k % o->senders);
		if (b->conns[b->senders[j].conn].state == CONN_READY)
			send_one(b, j, b->t_send_start + (uint64_t)((double)k * 1e9 / o->rate));
	}
}

static int
rate_timer_start(struct bench *b)
{
	uint64_t period = (uint64_t)(1e9 / b->opt.rate);
	if (period < RATE_TICK_MIN_NS)
		period = RATE_TICK_MIN_NS;
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct itimerspec its = {
		.it_interval = { (time_t)(period / 1000000000u), (long)(period % 1000000000u) },
		.it_value = { (time_t)(period / 1000000000u), (long)(period % 1000000000u) },
	};
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TIMER_ID };
	if (b->timer_fd < 0 || timerfd_settime(b->timer_fd, 0, &its, NULL) < 0 ||
	    epoll_ctl(b->ep, EPOLL_CTL_ADD, b->timer_fd, &ev) < 0) {
		perror("parley-bench: timerfd");
		return -1;
	}
	return 0;
}

static void
rate_timer_stop(struct bench *b)
{
	if (b->timer_fd >= 0)
		close(b->timer_fd);
	b->timer_fd = -1;
}

/* --------------------------------------------------------------- phases */

static void
read_server_cpu(struct bench *b, double *into)
{
	if (b->opt.npids)
		*into = proc_cpu_seconds(b->opt.pids, b->opt.npids);
}

static void
setup_done(struct bench *b)
{
	const struct options *o = &b->opt;
	b->t_setup_done = b->now;
	if (o->npids)
		b->rss_after_kb = proc_rss_kb(o->pids, o->npids);
	if (!o->json_only)
		fprintf(stderr, "parley-bench: %u clients registered and joined in %.3f s\n",
		    o->clients, (double)(b->t_setup_done - b->t_setup_start) / 1e9);
	if (o->mode == MODE_IDLE) {
		b->phase = PH_HOLD;
		b->t_deadline = b->now + (uint64_t)(o->duration * 1e9);
		read_server_cpu(b, &b->server_cpu_before);
		b->self_cpu_before = self_cpu_seconds();
		return;
	}
	b->phase = PH_WARMUP;
	b->t_send_start = b->now;
	b->t_measure_start = b->now + (uint64_t)(o->warmup * 1e9);
	b->t_measure_end = b->t_measure_start + (uint64_t)(o->duration * 1e9);
	b->t_deadline = b->t_measure_start;
	if (o->mode == MODE_RATE && rate_timer_start(b) < 0)
		b->phase = PH_DONE;
}

/* Where the clients are when setup fails: tells a slow accept (connecting)
 * from a slow or refused registration or join. */
static void
report_stuck(const struct bench *b)
{
	static const char *const names[] = {
		"not started", "connecting", "registering", "joining", "ready", "failed",
	};
	uint32_t count[CONN_DEAD + 1] = { 0 };
	for (uint32_t i = 0; i < b->opt.clients; i++)
		count[b->conns[i].state]++;
	fprintf(stderr, "parley-bench: setup failed: %u of %u clients ready (",
	    b->ready, b->opt.clients);
	const char *sep = "";
	for (int s = 0; s <= CONN_DEAD; s++) {
		if (count[s] && s != CONN_READY) {
			fprintf(stderr, "%s%u %s", sep, count[s], names[s]);
			sep = ", ";
		}
	}
	fputs(")\n", stderr);
}

/* Starts connections while fewer than --connect-concurrency are in setup
 * (which also bounds how many plain clients sit in #lobby at once). */
static void
setup_step(struct bench *b)
{
	const struct options *o = &b->opt;
	while (b->in_setup < o->concurrency && b->next_connect < o->clients &&
	    b->dead == 0) {
		struct conn *c = &b->conns[b->next_connect++];
		b->in_setup++;
		conn_start(b, c);
	}
	if (b->ready == o->clients) {
		setup_done(b);
	} else if (b->dead > 0 || b->now >= b->t_deadline) {
		if (b->dead == 0)
			bench_error(b, "setup timed out after %g s", o->setup_timeout);
		report_stuck(b);
		b->setup_failed = true;
		b->phase = PH_DONE;
	}
}

/* Everything sent is accounted for: received, or known lost by a gap. */
static bool
drained(const struct bench *b)
{
	return b->t.received_all + b->t.gaps >= b->t.expected_all;
}

/* Moves on when the current phase is over; transitions may cascade (a
 * warm-up of 0 starts measuring at once). */
static void
phase_step(struct bench *b)
{
	if (b->phase == PH_SETUP)
		setup_step(b);
	if (b->phase == PH_WARMUP && b->now >= b->t_measure_start) {
		b->phase = PH_MEASURE;
		b->t_deadline = b->t_measure_end;
		read_server_cpu(b, &b->server_cpu_before);
		b->self_cpu_before = self_cpu_seconds();
	}
	if (b->phase == PH_MEASURE && b->now >= b->t_measure_end) {
		b->phase = PH_DRAIN;
		b->t_deadline = b->now + (uint64_t)(b->opt.drain * 1e9);
		read_server_cpu(b, &b->server_cpu_after);
		b->self_cpu_after = self_cpu_seconds();
		rate_timer_stop(b);
	}
	if (b->phase == PH_DRAIN && (drained(b) || b->now >= b->t_deadline))
		b->phase = PH_DONE;
	if (b->phase == PH_HOLD && b->now >= b->t_deadline) {
		read_server_cpu(b, &b->server_cpu_after);
		b->self_cpu_after = self_cpu_seconds();
		b->phase = PH_DONE;
	}
}

/* Milliseconds until the current phase's deadline, rounded up, at most 1 s;
 * none while there are connections to start. */
static int
wait_ms(const struct bench *b)
{
	if (b->phase == PH_SETUP && b->in_setup < b->opt.concurrency &&
	    b->next_connect < b->opt.clients && b->dead == 0)
		return 0;
	if (b->t_deadline <= b->now)
		return 0;
	uint64_t ms = (b->t_deadline - b->now + 999999u) / 1000000u;
	return ms > 1000 ? 1000 : (int)ms;
}

static void
handle_events(struct bench *b, const struct epoll_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u32 == TIMER_ID) {
			uint64_t ticks;
			if (read(b->timer_fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
				perror("parley-bench: timerfd read");
			continue;
		}
		conn_on_event(b, &b->conns[ev[i].data.u32], ev[i].events);
	}
}

/* The loop: wait, read and answer, move phases on, send what is due, and
 * write each connection's output in one go. */
int
bench_run(struct bench *b)
{
	const struct options *o = &b->opt;
	struct epoll_event ev[MAX_EVENTS];
	if (o->npids)
		b->rss_before_kb = proc_rss_kb(o->pids, o->npids);
	b->now = b->t_setup_start = mono_ns();
	b->t_deadline = b->t_setup_start + (uint64_t)(o->setup_timeout * 1e9);
	b->phase = PH_SETUP;
	while (b->phase != PH_DONE) {
		int n = epoll_wait(b->ep, ev, MAX_EVENTS, wait_ms(b));
		if (n < 0 && errno != EINTR) {
			perror("parley-bench: epoll_wait");
			return -1;
		}
		b->now = mono_ns();
		if (n > 0)
			handle_events(b, ev, n);
		b->now = mono_ns();
		phase_step(b);
		if (sending(b)) {
			if (o->mode == MODE_WINDOW)
				window_send(b);
			else if (o->mode == MODE_RATE)
				rate_send(b);
		}
		conn_flush_dirty(b);
	}
	return b->setup_failed ? -1 : 0;
}
