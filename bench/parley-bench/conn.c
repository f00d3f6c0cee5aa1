/* One client socket: non-blocking connect, reading and splitting lines,
 * and an output buffer flushed once per loop iteration.
 *
 * Reads go into one shared scratch buffer, not a buffer per connection:
 * with 19,000 connections a 64 KB buffer each would be more memory than the
 * server under test. Only a partial line at the end of a read is kept, in
 * the connection's carry buffer, which grows to the longest partial line
 * seen and then stays: no allocation per message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "bench.h"

/* Bytes taken from the kernel in one read(); many lines per syscall. */
#define READ_SCRATCH (256 * 1024)
/* The longest line we accept from a server; IRC's is 8703 with tags. */
#define MAX_LINE (64 * 1024)
/* Connections per loopback source address (see bind_source). */
#define CLIENTS_PER_SOURCE 2048

static char scratch[MAX_LINE + READ_SCRATCH];

static int
conn_epoll(struct bench *b, struct conn *c, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = c->id };
	return epoll_ctl(b->ep, op, c->fd, &ev);
}

/* Spreads connections to a loopback server over source addresses
 * 127.0.0.1, 127.0.0.2, ..., CLIENTS_PER_SOURCE each.
 *
 * Why: for each connect() to the same server address the kernel looks for
 * a source port not yet used with that address pair, walking the even ports
 * first; past ~14,000 connections every connect() walks all of them, which
 * at 19,000 clients was 2.5 s of our CPU and half the connect time. With a
 * different source address the first port it tries is free. The port is
 * still the kernel's choice, made at connect() (IP_BIND_ADDRESS_NO_PORT):
 * choosing ports ourselves would take ports other programs are about to
 * listen on. The whole of 127.0.0.0/8 is local on Linux. */
static int
bind_source(const struct bench *b, const struct conn *c, int fd)
{
	if (!b->loopback4)
		return 0;
	int one = 1;
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0)
		return 0;  /* an old kernel: leave it all to connect() */
	struct sockaddr_in in = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK + c->id / CLIENTS_PER_SOURCE),
	};
	return bind(fd, (struct sockaddr *)&in, sizeof in);
}

/* A socket connecting (or connected) to the server, or -errno. */
static int
open_socket(const struct bench *b, const struct conn *c)
{
	uint32_t at = c->id % b->naddr;
	const struct sockaddr *sa = (const struct sockaddr *)&b->addr[at];
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Latency is what we measure: do not let Nagle hold small writes. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind_source(b, c, fd) == 0 &&
	    (connect(fd, sa, b->addrlen[at]) == 0 || errno == EINPROGRESS))
		return fd;
	int err = errno;
	close(fd);
	return -err;
}

/* Starts a non-blocking connect; the loop hears of its end as EPOLLOUT. */
int
conn_start(struct bench *b, struct conn *c)
{
	c->state = CONN_CONNECTING;
	int fd = open_socket(b, c);
	if (fd < 0) {
		conn_fail(b, c, "connect: %s", strerror(-fd));
		return -1;
	}
	c->fd = fd;
	if (conn_epoll(b, c, EPOLL_CTL_ADD, EPOLLOUT) < 0) {
		conn_fail(b, c, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Closes the connection and says why, once. */
void
conn_fail(struct bench *b, struct conn *c, const char *fmt, ...)
{
	if (c->state == CONN_DEAD)
		return;
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	bench_error(b, "client %u (%s): %s", c->id, c->nick[0] ? c->nick : "-", why);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	enum conn_state was = c->state;
	c->state = CONN_DEAD;
	c->out_off = c->out_len = 0;
	bench_conn_lost(b, c, was);
}

static void
conn_connected(struct bench *b, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_fail(b, c, "connect: %s", strerror(err));
		return;
	}
	if (conn_epoll(b, c, EPOLL_CTL_MOD, EPOLLIN) < 0) {
		conn_fail(b, c, "epoll_ctl: %s", strerror(errno));
		return;
	}
	c->state = CONN_REGISTERING;
	proto_on_connected(b, c);
}

/* Keeps the unfinished tail of a read for the next one. */
static int
conn_keep_carry(struct conn *c, const char *p, size_t len)
{
	if (len > MAX_LINE)
		return -1;
	if (len > c->carry_cap) {
		uint32_t cap = c->carry_cap ? c->carry_cap : 256;
		while (cap < len)
			cap *= 2;
		char *n = realloc(c->carry, cap);
		if (!n)
			return -1;
		c->carry = n;
		c->carry_cap = cap;
	}
	if (len)
		memmove(c->carry, p, len);
	c->carry_len = (uint32_t)len;
	return 0;
}

/* Hands every complete line to the protocol (CR LF or LF; the ending is
 * cut off). Stops early if the protocol closed the connection. */
static void
conn_split_lines(struct bench *b, struct conn *c, char *p, char *end)
{
	char *nl;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t len = (size_t)(nl - p);
		if (len && p[len - 1] == '\r')
			len--;
		proto_on_line(b, c, p, len);
		if (c->state == CONN_DEAD)
			return;
		p = nl + 1;
	}
	if (conn_keep_carry(c, p, (size_t)(end - p)) < 0)
		conn_fail(b, c, "line longer than %d bytes", MAX_LINE);
}

/* One read per readiness event: the loop is level-triggered, so what is
 * left is read on the next turn, after the other connections had theirs. */
static void
conn_read(struct bench *b, struct conn *c)
{
	if (c->carry_len)
		memcpy(scratch, c->carry, c->carry_len);
	ssize_t n = read(c->fd, scratch + c->carry_len, READ_SCRATCH);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(b, c, "read: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		conn_fail(b, c, "server closed the connection");
		return;
	}
	/* The receive time of every line in this read. */
	b->now = mono_ns();
	conn_split_lines(b, c, scratch, scratch + c->carry_len + n);
}

static void
conn_flush(struct bench *b, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				conn_fail(b, c, "write: %s", strerror(errno));
				return;
			}
			break;
		}
		c->out_off += (size_t)n;
	}
	bool pending = c->out_off < c->out_len;
	if (!pending)
		c->out_off = c->out_len = 0;
	if (pending != c->want_out) {
		c->want_out = pending;
		if (conn_epoll(b, c, EPOLL_CTL_MOD, EPOLLIN | (pending ? EPOLLOUT : 0)) < 0)
			conn_fail(b, c, "epoll_ctl: %s", strerror(errno));
	}
}

void
conn_on_event(struct bench *b, struct conn *c, uint32_t events)
{
	if (c->state == CONN_CONNECTING) {
		conn_connected(b, c);
		return;
	}
	if (c->state == CONN_DEAD)
		return;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(b, c);
	if (c->state != CONN_DEAD && (events & EPOLLOUT))
		conn_flush(b, c);
}

/* Room for len more bytes at the end of the output buffer; the caller
 * writes there and calls conn_commit. The buffer grows (rarely) but is
 * never freed, and sent bytes are reclaimed by moving the rest down. */
char *
conn_reserve(struct bench *b, struct conn *c, size_t len)
{
	if (c->out_off && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 512;
		while (cap < c->out_len + len)
			cap *= 2;
		char *n = realloc(c->out, cap);
		if (!n) {
			fprintf(stderr, "parley-bench: out of memory\n");
			exit(1);
		}
		c->out = n;
		c->out_cap = cap;
	}
	if (!c->dirty) {
		c->dirty = true;
		c->next_dirty = b->dirty;
		b->dirty = c;
	}
	return c->out + c->out_len;
}

void
conn_commit(struct conn *c, size_t len)
{
	c->out_len += len;
}

void
conn_write(struct bench *b, struct conn *c, const char *data, size_t len)
{
	if (c->state == CONN_DEAD)
		return;
	memcpy(conn_reserve(b, c, len), data, len);
	conn_commit(c, len);
}

size_t
conn_backlog(const struct conn *c)
{
	return c->out_len - c->out_off;
}

/* One write per connection per loop iteration, however many messages were
 * queued on it; a connection waiting for EPOLLOUT is flushed by that. */
void
conn_flush_dirty(struct bench *b)
{
	struct conn *c = b->dirty;
	b->dirty = NULL;
	while (c) {
		struct conn *next = c->next_dirty;
		c->dirty = false;
		c->next_dirty = NULL;
		if (c->state != CONN_DEAD && c->state != CONN_CONNECTING && !c->want_out)
			conn_flush(b, c);
		c = next;
	}
}
