#include "net/transport.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/text.h"
#include "net/conn.h"
#include "net/loop.h"
#include "net/tls.h"
#include "server/server.h"

/* Staged output per flush: one TLS record's worth, so a burst of lines
 * costs one record and one system call, not one per line. */
#define TRANSPORT_CHUNK 16384
/* A read from the socket, before decoding. */
#define TRANSPORT_READ 16384

struct transport *
transport_tls(int fd)
{
	struct transport *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	if ((t->ssl = tls_session(fd)) == NULL) {
		free(t);
		return NULL;
	}
	t->handshaking = 1;
	return t;
}

int
transport_websocket(struct conn *c, int binary, uint64_t max_message)
{
	struct transport *t = c->tp;
	if (t == NULL && (t = c->tp = calloc(1, sizeof *t)) == NULL)
		return -1;
	if ((t->ws = malloc(sizeof *t->ws)) == NULL)
		return -1;
	ws_decoder_init(t->ws, max_message);
	t->ws_binary = (uint8_t)binary;
	t->raw_left = c->out.bytes;
	return 0;
}

int
transport_expect_proxy(struct conn *c)
{
	if (c->tp == NULL && (c->tp = calloc(1, sizeof *c->tp)) == NULL)
		return -1;
	c->tp->proxy_wait = 1;
	return 0;
}

size_t
transport_room(const struct conn *c)
{
	return c->tp != NULL && c->tp->ws != NULL ? TRANSPORT_WS_ROOM : 1;
}

int
transport_idle(const struct transport *t)
{
	return t->ssl == NULL && t->ws == NULL && !t->proxy_wait && t->out_len == 0;
}

int
transport_proxy_read(struct conn *c, struct proxy_header *h)
{
	struct transport *t = c->tp;
	if (t->proxy == NULL && (t->proxy = malloc(PROXY_HEADER_MAX)) == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return -1;
	}
	/* Peeked, so that nothing past the header is taken from the socket:
	 * what follows is TLS's, or the door's. */
	ssize_t n = recv(c->io.fd, t->proxy + t->proxy_len, PROXY_HEADER_MAX - t->proxy_len,
	    MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		conn_close(c, n == 0 ? "Connection closed before its PROXY header" : strerror(errno), CONN_CLOSE_NOW);
		return -1;
	}
	if (n < 0)
		return 0;
	size_t len;
	size_t have = t->proxy_len;
	enum proxy_status st = proxy_parse(t->proxy, have + (size_t)n, &len, h);
	/* Every byte peeked belongs to the header so far (PROXY_MORE), or
	 * the header ends within them (PROXY_DONE): take those. */
	size_t take = st == PROXY_DONE ? len - have : st == PROXY_MORE ? (size_t)n : 0;
	if (take > 0 && recv(c->io.fd, t->proxy + have, take, 0) != (ssize_t)take) {
		conn_close(c, "Connection lost in its PROXY header", CONN_CLOSE_NOW);
		return -1;
	}
	t->proxy_len = (uint16_t)(have + take);
	if (st == PROXY_MORE)
		return 0;
	if (st == PROXY_BAD) {
		conn_close(c, "Bad PROXY protocol header", CONN_CLOSE_NOW);
		return -1;
	}
	/* What looked like the start of a header and was not ("PRO" of a
	 * PROPFIND, the blank lines before a request) is the door's: only a
	 * TLS conn's first byte decides at once, so these are never TLS's. */
	if (st == PROXY_NONE && t->proxy_len > 0 &&
	    framer_feed(&c->in, (const char *)t->proxy, t->proxy_len) < 0) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return -1;
	}
	t->proxy_wait = 0;
	free(t->proxy);
	t->proxy = NULL;
	t->proxy_len = 0;
	return st == PROXY_DONE ? 1 : 2;
}

void
transport_free(struct transport *t)
{
	if (t == NULL)
		return;
	free(t->proxy);
	SSL_free(t->ssl);
	free(t->ws);
	free(t->out);
	free(t->line);
	free(t);
}

int
transport_secure(const struct conn *c)
{
	return c->tp != NULL && c->tp->ssl != NULL;
}

const char *
transport_tls_servername(const struct conn *c)
{
	if (!transport_secure(c))
		return NULL;
	return SSL_get_servername(c->tp->ssl, TLSEXT_NAMETYPE_host_name);
}

int
transport_websocket_on(const struct conn *c)
{
	return c->tp != NULL && c->tp->ws != NULL;
}

/* The staging buffer. */

/* Makes *buf hold at least need bytes, doubling from first. */
static int
grow(char **buf, size_t *cap, size_t need, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : first;
	while (n < need)
		n *= 2;
	char *p = realloc(*buf, n);
	if (p == NULL)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static int
out_reserve(struct conn *c, size_t n)
{
	struct transport *t = c->tp;
	/* Nobody reading, and a client that pings without end: bounded like
	 * the sendq. */
	if (t->out_len + n > t->out_cap && t->out_len + n > c->srv->cfg->sendq + TRANSPORT_CHUNK)
		return -1;
	return grow(&t->out, &t->out_cap, t->out_len + n, TRANSPORT_CHUNK);
}

static int
out_frame(struct conn *c, enum ws_opcode op, const void *p, size_t n)
{
	struct transport *t = c->tp;
	uint8_t head[WS_HEADER_MAX];
	size_t hn = ws_header(head, op, n);
	if (out_reserve(c, hn + n) < 0)
		return -1;
	memcpy(t->out + t->out_len, head, hn);
	memcpy(t->out + t->out_len + hn, p, n);
	t->out_len += hn + n;
	return 0;
}

/* A close frame, after which no data frame may follow (RFC 6455 5.5.1). */
static void
out_close(struct conn *c, unsigned code, const char *reason)
{
	struct transport *t = c->tp;
	if (t->close_sent)
		return;
	uint8_t p[WS_CONTROL_MAX];
	size_t n = 0;
	if (code != 0) {
		p[0] = (uint8_t)(code >> 8);
		p[1] = (uint8_t)code;
		n = 2;
		size_t rn = strlen(reason);
		if (rn > sizeof p - 2)
			rn = sizeof p - 2;
		memcpy(p + 2, reason, rn);
		n += rn;
	}
	out_frame(c, WS_CLOSE, p, n);
	t->close_sent = 1;
}

/* Bytes on the socket, through TLS when there is TLS. */

static ssize_t
raw_read(struct conn *c, void *buf, size_t n)
{
	struct transport *t = c->tp;
	if (t->ssl == NULL)
		return read(c->io.fd, buf, n);
	ERR_clear_error();
	t->read_wants_write = 0;
	int r = SSL_read(t->ssl, buf, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		t->read_wants_write = 1;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			return 0;
		return -1;
	default: {
		char reason[300];
		snprintf(reason, sizeof reason, "TLS error: %s", tls_error());
		conn_close(c, reason, CONN_CLOSE_NOW);
		return TRANSPORT_CLOSED;
	}
	}
}

static ssize_t
raw_write(struct conn *c, const void *buf, size_t n)
{
	struct transport *t = c->tp;
	if (t->ssl == NULL)
		return write(c->io.fd, buf, n);
	ERR_clear_error();
	t->write_wants_read = 0;
	int r = SSL_write(t->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
	if (r > 0)
		return r;
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_READ:
		t->write_wants_read = 1;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = EPIPE;
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

int
transport_handshake(struct conn *c)
{
	struct transport *t = c->tp;
	ERR_clear_error();
	int r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		t->handshaking = 0;
		return 1;
	}
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		t->hs_want_write = 0;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		t->hs_want_write = 1;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		conn_close(c, "Connection closed during the TLS handshake", CONN_CLOSE_NOW);
		return -1;
	case SSL_ERROR_SYSCALL:
		conn_close(c, errno ? strerror(errno) : "Connection closed during the TLS handshake", CONN_CLOSE_NOW);
		return -1;
	default: {
		char reason[300];
		snprintf(reason, sizeof reason, "TLS handshake failed: %s", tls_error());
		conn_close(c, reason, CONN_CLOSE_NOW);
		return -1;
	}
	}
}

static int stage(struct conn *c);

/* WebSocket input: decoded message bytes go to the caller's buffer, each
 * message ended by an LF for the framer. */

struct sink {
	struct conn *c;
	char *buf;
	size_t len;
};

static void
on_ws_data(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void
on_ws_end(void *ctx)
{
	struct sink *s = ctx;
	struct transport *t = s->c->tp;
	s->buf[s->len++] = '\n';
	/* The control frames inside it, one empty line each. */
	memset(s->buf + s->len, '\n', t->pings_in_message);
	s->len += t->pings_in_message;
	t->pings_in_message = 0;
}

static void
on_ws_control(void *ctx, enum ws_opcode op, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;
	struct transport *t = s->c->tp;
	/* A control frame costs the client what an empty line does, so flood
	 * control paces pings like lines. Inside a fragmented message an
	 * empty line would cut it: a few are let through there, each owed
	 * until the message ends, and one more breaks our rule. */
	if (!t->ws->message)
		s->buf[s->len++] = '\n';
	else if (t->pings_in_message == TRANSPORT_PINGS_IN_MESSAGE) {
		ws_decoder_fail(t->ws, WS_CLOSE_POLICY, "too many control frames inside a message");
		return;
	} else
		t->pings_in_message++;
	if (op == WS_PING) {
		/* Our 101 may still be queued (a client that did not wait for
		 * it): the pong goes after it. */
		if (t->raw_left > 0 && stage(s->c) < 0)
			conn_close(s->c, "Out of memory", CONN_CLOSE_NOW);
		else if (!t->close_sent && out_frame(s->c, WS_PONG, p, n) < 0)
			conn_close(s->c, "sendq exceeded", CONN_CLOSE_NOW);
		else
			server_conn_flush_later(s->c->srv, s->c);
	} else if (op == WS_CLOSE) {
		t->peer_close = n >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : WS_CLOSE_NORMAL;
		t->ws_eof = 1;
	}
}

static const struct ws_events ws_events = {
	.data = on_ws_data,
	.end = on_ws_end,
	.control = on_ws_control,
};

ssize_t
transport_read(struct conn *c, char *buf, size_t room)
{
	struct transport *t = c->tp;
	if (t->ws == NULL)
		return raw_read(c, buf, room);
	if (t->ws_eof)
		return 0;
	/* Decoding never grows the bytes, but for the LF that ends a message
	 * whose header came in an earlier read, and the LFs owed for the
	 * control frames inside it: keep room for them. */
	static uint8_t raw[TRANSPORT_READ];
	if (room < TRANSPORT_WS_ROOM) {
		errno = EAGAIN;
		return -1;
	}
	size_t want = room - (TRANSPORT_WS_ROOM - 1);
	if (want > sizeof raw)
		want = sizeof raw;
	ssize_t n = raw_read(c, raw, want);
	if (n <= 0)
		return n;
	struct sink s = { c, buf, 0 };
	int rc = ws_decode(t->ws, raw, (size_t)n, &ws_events, &s);
	if (rc < 0) {
		char reason[128];
		snprintf(reason, sizeof reason, "WebSocket error: %s", t->ws->why);
		out_close(c, t->ws->error, t->ws->why);
		conn_close(c, reason, CONN_CLOSE_AFTER_FLUSH);
		return TRANSPORT_CLOSED;
	}
	if (c->state != CONN_OPEN)
		return TRANSPORT_CLOSED;
	if (s.len == 0) {
		if (t->ws_eof)
			return 0;
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)s.len;
}

int
transport_pending(const struct conn *c)
{
	const struct transport *t = c->tp;
	if (t == NULL || t->handshaking || t->proxy_wait)
		return 0;
	return (t->ws != NULL && t->ws_eof) || (t->ssl != NULL && SSL_pending(t->ssl) > 0);
}

/* WebSocket output: each line of the sendq becomes one message, its CR LF
 * dropped. A text message must be UTF-8 (RFC 6455 8.1): what is not is
 * repaired, as soju and Ergo do, rather than dropped. */
static int
stage_line(struct conn *c, const char *p, size_t n)
{
	struct transport *t = c->tp;
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (t->ws_binary)
		return out_frame(c, WS_BINARY, p, n);
	if (text_is_clean(p, n))
		return out_frame(c, WS_TEXT, p, n);
	char *fixed = malloc(TEXT_CLEAN_MAX(n) + 1);
	if (fixed == NULL)
		return -1;
	size_t fn = text_clean(fixed, p, n);
	int rc = out_frame(c, WS_TEXT, fixed, fn);
	free(fixed);
	return rc;
}

static int
line_append(struct conn *c, const char *p, size_t n)
{
	struct transport *t = c->tp;
	if (grow(&t->line, &t->line_cap, t->line_len + n, 1024) < 0)
		return -1;
	memcpy(t->line + t->line_len, p, n);
	t->line_len += n;
	return 0;
}

/* Moves sendq bytes into the staging buffer, framed as they must be. */
static int
stage(struct conn *c)
{
	struct transport *t = c->tp;
	while (c->out.count > 0 && t->out_len < TRANSPORT_CHUNK) {
		const char *p;
		size_t n = sendq_peek(&c->out, &p);
		size_t take;
		if (t->ws != NULL && t->close_sent) {
			take = n; /* nothing may follow a close frame */
		} else if (t->ws == NULL || t->raw_left > 0) {
			take = t->raw_left > 0 && t->raw_left < n ? t->raw_left : n;
			if (take > TRANSPORT_CHUNK - t->out_len)
				take = TRANSPORT_CHUNK - t->out_len;
			if (out_reserve(c, take) < 0)
				return -1;
			memcpy(t->out + t->out_len, p, take);
			t->out_len += take;
			if (t->raw_left > 0)
				t->raw_left -= take;
		} else {
			/* A wire holds one or more lines, or the start of one (the
			 * IRC door sends a message's tags apart from its body). */
			const char *nl = memchr(p, '\n', n);
			take = nl != NULL ? (size_t)(nl - p) + 1 : n;
			if (nl == NULL || t->line_len > 0) {
				if (line_append(c, p, take) < 0)
					return -1;
				if (nl != NULL) {
					if (stage_line(c, t->line, t->line_len) < 0)
						return -1;
					t->line_len = 0;
				}
			} else if (stage_line(c, p, take) < 0)
				return -1;
		}
		sendq_consume(&c->out, take);
	}
	return 0;
}

int
transport_flush(struct conn *c)
{
	struct transport *t = c->tp;
	if (t->handshaking || t->proxy_wait)
		return 0;
	for (;;) {
		if (t->out_off < t->out_len) {
			ssize_t w = raw_write(c, t->out + t->out_off, t->out_len - t->out_off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
			}
			t->out_off += (size_t)w;
			if (t->out_off < t->out_len)
				return 0;
		}
		t->out_off = t->out_len = 0;
		if (c->out.count == 0)
			break;
		if (stage(c) < 0) {
			errno = ENOBUFS;
			return -1;
		}
	}
	/* An idle conn keeps no staging buffer. */
	free(t->out);
	t->out = NULL;
	t->out_cap = 0;
	return 0;
}

int
transport_finish(struct conn *c)
{
	struct transport *t = c->tp;
	if (t->handshaking || t->proxy_wait)
		return 0;
	if (t->ws != NULL && !t->close_sent) {
		if (t->peer_close && ws_close_code_ok(t->peer_close))
			out_close(c, t->peer_close, "");
		else if (c->srv->shutting_down)
			out_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
		else
			out_close(c, WS_CLOSE_NORMAL, "");
	}
	if (transport_flush(c) < 0)
		return 0;
	if (t->out_off < t->out_len)
		return 1;
	if (t->ssl != NULL && !t->tls_done) {
		t->tls_done = 1;
		ERR_clear_error();
		SSL_shutdown(t->ssl);
		ERR_clear_error();
	}
	return 0;
}

unsigned
transport_mask(const struct conn *c, unsigned mask)
{
	const struct transport *t = c->tp;
	if (t->proxy_wait)
		return c->state == CONN_DEAD ? 0 : LOOP_READ;
	if (t->handshaking)
		return c->state == CONN_DEAD ? 0 : t->hs_want_write ? LOOP_WRITE : LOOP_READ;
	if (t->ws != NULL && c->state == CONN_OPEN && framer_room(&c->in) < TRANSPORT_WS_ROOM)
		mask &= ~(unsigned)LOOP_READ;
	if (c->state == CONN_DEAD)
		return mask;
	if (t->out_off < t->out_len)
		mask |= LOOP_WRITE;
	/* TLS may need the other direction first; waiting on the one it
	 * cannot use would spin the level-triggered loop. */
	if (t->read_wants_write && (mask & LOOP_READ))
		mask = (mask & ~(unsigned)LOOP_READ) | LOOP_WRITE;
	if (t->write_wants_read && (mask & LOOP_WRITE) && !t->read_wants_write)
		mask = (mask & ~(unsigned)LOOP_WRITE) | LOOP_READ;
	return mask;
}
