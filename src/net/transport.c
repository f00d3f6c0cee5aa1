#include "net/transport.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/text.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/ws.h"

/* Staged output per flush: one TLS record's worth, so a burst of lines
 * costs one record and one system call, not one per line. */
#define TRANSPORT_CHUNK 16384
/* A read from the socket, before decoding. */
#define TRANSPORT_READ 16384
/* The first allocation for a line that comes in pieces. */
#define TRANSPORT_LINE_FIRST 1024

struct transport;

/* The bytes on the socket, as Redis's ConnectionType has them: plain TCP
 * or TLS, one table of the same calls each. read and write act as read(2)
 * and write(2) do (-1 with errno; for a TLS error EPROTO, its reason in
 * why); pending: whether bytes came that no socket event will announce;
 * finish: the last word (TLS's close_notify). */
struct link_ops {
	ssize_t (*read)(struct transport *t, void *buf, size_t n, char why[TRANSPORT_WHY_MAX]);
	ssize_t (*write)(struct transport *t, const void *buf, size_t n);
	int (*pending)(const struct transport *t);
	void (*finish)(struct transport *t);
};

static const struct link_ops plain_link, tls_link;

struct transport {
	int fd;
	const struct link_ops *link; /* plain_link, or tls_link */
	SSL *ssl;                 /* TLS's session, or NULL */
	struct ws_decoder *ws;    /* NULL: not a WebSocket */
	size_t out_max;           /* bound on staged output, beyond one chunk */
	char *out;                /* staged bytes, written from out_off */
	size_t out_off, out_len, out_cap;
	size_t raw_left;          /* sendq bytes to write as they are (the 101) */
	char *line;               /* a line whose start came in an earlier wire */
	size_t line_len, line_cap;
	uint16_t peer_close;      /* the code of the client's close frame */
	uint8_t handshaking;      /* the TLS handshake is not done */
	uint8_t hs_want_write;    /* ... and waits to write */
	uint8_t read_wants_write; /* TLS must write before it can read */
	uint8_t write_wants_read; /* TLS must read before it can write */
	uint8_t ws_binary;        /* binary.ircv3.net: binary messages */
	uint8_t ws_eof;           /* a close frame came: EOF once its lines are read */
	uint8_t close_sent;       /* our close frame is staged: no more data */
	uint8_t tls_done;         /* close_notify sent */
	uint8_t pings_in_message; /* control frames inside the open message, owed as lines */
	uint8_t proxy_wait;       /* a PROXY protocol header comes first */
	uint16_t proxy_len;       /* bytes of it in proxy */
	uint8_t *proxy;           /* the header so far, while it comes */
};

struct transport *
transport_new(int fd, size_t out_max)
{
	struct transport *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->fd = fd;
	t->link = &plain_link;
	t->out_max = out_max;
	return t;
}

int
transport_start_tls(struct transport *t, struct tls_context *tls, int client_cert)
{
	if ((t->ssl = tls_context_session(tls, t->fd, client_cert)) == NULL)
		return -1;
	t->link = &tls_link;
	t->handshaking = 1;
	return 0;
}

void
transport_start_proxy(struct transport *t)
{
	t->proxy_wait = 1;
}

int
transport_start_websocket(struct transport *t, int binary, uint64_t max_message,
    size_t raw_left)
{
	if ((t->ws = malloc(sizeof *t->ws)) == NULL)
		return -1;
	ws_decoder_init(t->ws, max_message);
	t->ws_binary = (uint8_t)binary;
	t->raw_left = raw_left;
	return 0;
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

enum tp_phase
transport_phase(const struct transport *t)
{
	return t->proxy_wait ? TP_PHASE_PROXY : t->handshaking ? TP_PHASE_TLS : TP_PHASE_OPEN;
}

int
transport_idle(const struct transport *t)
{
	return t->ssl == NULL && t->ws == NULL && !t->proxy_wait && t->out_len == 0;
}

size_t
transport_room(const struct transport *t)
{
	return t != NULL && t->ws != NULL ? TRANSPORT_WS_ROOM : 1;
}

static enum tp_status
fail(char why[TRANSPORT_WHY_MAX], const char *reason)
{
	snprintf(why, TRANSPORT_WHY_MAX, "%s", reason);
	return TP_ERROR;
}

enum tp_status
transport_proxy_read(struct transport *t, struct proxy_header *h, int *found,
    struct framer *in, char why[TRANSPORT_WHY_MAX])
{
	if (t->proxy == NULL && (t->proxy = malloc(PROXY_HEADER_MAX)) == NULL)
		return fail(why, "Out of memory");
	/* Peeked, so that nothing past the header is taken from the socket:
	 * what follows is TLS's, or the door's. */
	ssize_t n = recv(t->fd, t->proxy + t->proxy_len, PROXY_HEADER_MAX - t->proxy_len,
	    MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		return fail(why, n == 0 ? "Connection closed before its PROXY header" :
		    strerror(errno));
	if (n < 0)
		return TP_AGAIN;
	size_t len;
	size_t have = t->proxy_len;
	enum proxy_status st = proxy_parse(t->proxy, have + (size_t)n, &len, h);
	/* Every byte peeked belongs to the header so far (PROXY_MORE), or
	 * the header ends within them (PROXY_DONE): take those. */
	size_t take = st == PROXY_DONE ? len - have : st == PROXY_MORE ? (size_t)n : 0;
	if (take > 0 && recv(t->fd, t->proxy + have, take, 0) != (ssize_t)take)
		return fail(why, "Connection lost in its PROXY header");
	t->proxy_len = (uint16_t)(have + take);
	if (st == PROXY_MORE)
		return TP_AGAIN;
	if (st == PROXY_BAD)
		return fail(why, "Bad PROXY protocol header");
	/* What looked like the start of a header and was not ("PRO" of a
	 * PROPFIND, the blank lines before a request) is the door's: only a
	 * TLS conn's first byte decides at once, so these are never TLS's. */
	if (st == PROXY_NONE && t->proxy_len > 0 &&
	    framer_feed(in, (const char *)t->proxy, t->proxy_len) < 0)
		return fail(why, "Out of memory");
	t->proxy_wait = 0;
	free(t->proxy);
	t->proxy = NULL;
	t->proxy_len = 0;
	*found = st == PROXY_DONE;
	return TP_OK;
}

int
transport_secure(const struct transport *t)
{
	return t != NULL && t->ssl != NULL;
}

const char *
transport_tls_servername(const struct transport *t)
{
	if (!transport_secure(t))
		return NULL;
	return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

int
transport_tls_fingerprint(const struct transport *t, char *hex)
{
	if (!transport_secure(t))
		return -1;
	return tls_peer_fingerprint(t->ssl, hex);
}

int
transport_websocket(const struct transport *t)
{
	if (t == NULL || t->ws == NULL)
		return 0;
	return t->ws_binary ? WS_BINARY : WS_TEXT;
}

/* The staging buffer. */

static int
out_reserve(struct transport *t, size_t n)
{
	/* Nobody reading, and a client that pings without end: bounded like
	 * the sendq. */
	if (t->out_len + n > t->out_cap && t->out_len + n > t->out_max + TRANSPORT_CHUNK)
		return -1;
	if (t->out_len + n <= t->out_cap)
		return 0;
	char *out = buf_grow(t->out, &t->out_cap, t->out_len + n, 1, TRANSPORT_CHUNK);
	if (out == NULL)
		return -1;
	t->out = out;
	return 0;
}

static int
out_frame(struct transport *t, enum ws_opcode op, const void *p, size_t n)
{
	uint8_t head[WS_HEADER_MAX];
	size_t hn = ws_header(head, op, n);
	if (out_reserve(t, hn + n) < 0)
		return -1;
	memcpy(t->out + t->out_len, head, hn);
	memcpy(t->out + t->out_len + hn, p, n);
	t->out_len += hn + n;
	return 0;
}

/* A close frame, after which no data frame may follow (RFC 6455 5.5.1). */
static void
out_close(struct transport *t, unsigned code, const char *reason)
{
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
	out_frame(t, WS_CLOSE, p, n);
	t->close_sent = 1;
}

/* The bytes on the socket. */

static ssize_t
plain_read(struct transport *t, void *buf, size_t n, char why[TRANSPORT_WHY_MAX])
{
	(void)why;
	return read(t->fd, buf, n);
}

static ssize_t
plain_write(struct transport *t, const void *buf, size_t n)
{
	return write(t->fd, buf, n);
}

static int
plain_pending(const struct transport *t)
{
	(void)t;
	return 0;
}

static void
plain_finish(struct transport *t)
{
	(void)t;
}

static const struct link_ops plain_link = {
	.read = plain_read,
	.write = plain_write,
	.pending = plain_pending,
	.finish = plain_finish,
};

static ssize_t
tls_read(struct transport *t, void *buf, size_t n, char why[TRANSPORT_WHY_MAX])
{
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
		char err[TLS_ERROR_MAX];
		snprintf(why, TRANSPORT_WHY_MAX, "TLS error: %s", tls_error(err, sizeof err));
		errno = EPROTO;
		return -1;
	}
	}
}

static ssize_t
tls_write(struct transport *t, const void *buf, size_t n)
{
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

static int
tls_pending(const struct transport *t)
{
	return SSL_pending(t->ssl) > 0;
}

/* close_notify, once; the peer's answer is not waited for. */
static void
tls_finish(struct transport *t)
{
	if (t->tls_done)
		return;
	t->tls_done = 1;
	ERR_clear_error();
	SSL_shutdown(t->ssl);
	ERR_clear_error();
}

static const struct link_ops tls_link = {
	.read = tls_read,
	.write = tls_write,
	.pending = tls_pending,
	.finish = tls_finish,
};

/* What a link read that returned no bytes means. */
static enum tp_status
raw_status(ssize_t n, const char *why)
{
	if (n == 0)
		return TP_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TP_AGAIN;
	return errno == EPROTO && why[0] != '\0' ? TP_ERROR : TP_LOST;
}

enum tp_status
transport_handshake(struct transport *t, char why[TRANSPORT_WHY_MAX])
{
	ERR_clear_error();
	int r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		t->handshaking = 0;
		return TP_OK;
	}
	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		t->hs_want_write = 0;
		return TP_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		t->hs_want_write = 1;
		return TP_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return fail(why, "Connection closed during the TLS handshake");
	case SSL_ERROR_SYSCALL:
		return fail(why, errno ? strerror(errno) :
		    "Connection closed during the TLS handshake");
	default: {
		char err[TLS_ERROR_MAX];
		snprintf(why, TRANSPORT_WHY_MAX, "TLS handshake failed: %s",
		    tls_error(err, sizeof err));
		return TP_ERROR;
	}
	}
}

static int stage(struct transport *t, struct sendq *q);

/* WebSocket input: decoded message bytes go to the caller's buffer, each
 * message ended by an LF for the framer. */

struct sink {
	struct transport *t;
	struct sendq *q;          /* what may still hold the 101 */
	char *buf;
	size_t len;
	const char *fail;         /* a pong could not be staged: why */
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
	struct transport *t = s->t;
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
	struct transport *t = s->t;
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
	if (op == WS_PING && s->fail == NULL) {
		/* Our 101 may still be queued (a client that did not wait for
		 * it): the pong goes after it. */
		if (t->raw_left > 0 && stage(t, s->q) < 0)
			s->fail = "Out of memory";
		else if (t->raw_left > 0)
			; /* the 101 is held back (net/gate.h): a ping before it goes unanswered */
		else if (!t->close_sent && out_frame(t, WS_PONG, p, n) < 0)
			s->fail = "sendq exceeded";
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

enum tp_status
transport_read(struct transport *t, struct sendq *q, char *buf, size_t room, size_t *n,
    char why[TRANSPORT_WHY_MAX])
{
	why[0] = '\0';
	if (t->ws == NULL) {
		ssize_t r = t->link->read(t, buf, room, why);
		if (r <= 0)
			return raw_status(r, why);
		*n = (size_t)r;
		return TP_OK;
	}
	if (t->ws_eof)
		return TP_EOF;
	/* Decoding never grows the bytes, but for the LF that ends a message
	 * whose header came in an earlier read, and the LFs owed for the
	 * control frames inside it: keep room for them. */
	static uint8_t raw[TRANSPORT_READ];
	if (room < TRANSPORT_WS_ROOM)
		return TP_AGAIN;
	size_t want = room - (TRANSPORT_WS_ROOM - 1);
	if (want > sizeof raw)
		want = sizeof raw;
	ssize_t r = t->link->read(t, raw, want, why);
	if (r <= 0)
		return raw_status(r, why);
	struct sink s = { t, q, buf, 0, NULL };
	int rc = ws_decode(t->ws, raw, (size_t)r, &ws_events, &s);
	if (s.fail != NULL)
		return fail(why, s.fail);
	if (rc < 0) {
		snprintf(why, TRANSPORT_WHY_MAX, "WebSocket error: %s", t->ws->why);
		out_close(t, t->ws->error, t->ws->why);
		return TP_CLOSE;
	}
	if (s.len == 0)
		return t->ws_eof ? TP_EOF : TP_AGAIN;
	*n = s.len;
	return TP_OK;
}

int
transport_pending(const struct transport *t)
{
	if (t == NULL || t->handshaking || t->proxy_wait)
		return 0;
	return (t->ws != NULL && t->ws_eof) || t->link->pending(t);
}

/* WebSocket output: each line of the sendq becomes one message, its CR LF
 * dropped. A text message must be UTF-8 (RFC 6455 8.1): what is not is
 * repaired, as soju and Ergo do, rather than dropped. */
static int
stage_line(struct transport *t, const char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (t->ws_binary)
		return out_frame(t, WS_BINARY, p, n);
	if (text_is_clean(p, n))
		return out_frame(t, WS_TEXT, p, n);
	char *fixed = malloc(TEXT_CLEAN_MAX(n) + 1);
	if (fixed == NULL)
		return -1;
	size_t fn = text_clean(fixed, p, n);
	int rc = out_frame(t, WS_TEXT, fixed, fn);
	free(fixed);
	return rc;
}

static int
line_append(struct transport *t, const char *p, size_t n)
{
	if (t->line_len + n > t->line_cap) {
		char *line = buf_grow(t->line, &t->line_cap, t->line_len + n, 1,
		    TRANSPORT_LINE_FIRST);
		if (line == NULL)
			return -1;
		t->line = line;
	}
	memcpy(t->line + t->line_len, p, n);
	t->line_len += n;
	return 0;
}

/* Moves sendq bytes into the staging buffer, framed as they must be. */
static int
stage(struct transport *t, struct sendq *q)
{
	while (q->count > 0 && t->out_len < TRANSPORT_CHUNK) {
		const char *p;
		size_t n = sendq_peek(q, &p);
		size_t take;
		if (n == 0 && q->bytes > 0 && sendq_writable(q) == 0)
			break; /* the rest is held back (net/gate.h) */
		if (t->ws != NULL && t->close_sent) {
			take = n; /* nothing may follow a close frame */
		} else if (t->ws == NULL || t->raw_left > 0) {
			take = t->raw_left > 0 && t->raw_left < n ? t->raw_left : n;
			if (take > TRANSPORT_CHUNK - t->out_len)
				take = TRANSPORT_CHUNK - t->out_len;
			if (out_reserve(t, take) < 0)
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
				if (line_append(t, p, take) < 0)
					return -1;
				if (nl != NULL) {
					if (stage_line(t, t->line, t->line_len) < 0)
						return -1;
					t->line_len = 0;
				}
			} else if (stage_line(t, p, take) < 0)
				return -1;
		}
		sendq_consume(q, take);
	}
	return 0;
}

enum tp_status
transport_flush(struct transport *t, struct sendq *q, char why[TRANSPORT_WHY_MAX])
{
	if (t->handshaking || t->proxy_wait)
		return TP_OK; /* nothing can be written yet */
	for (;;) {
		if (t->out_off < t->out_len) {
			ssize_t w = t->link->write(t, t->out + t->out_off, t->out_len - t->out_off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN || errno == EWOULDBLOCK ? TP_AGAIN : TP_LOST;
			}
			t->out_off += (size_t)w;
			if (t->out_off < t->out_len)
				return TP_AGAIN;
		}
		t->out_off = t->out_len = 0;
		if (!sendq_ready(q))
			break;
		if (stage(t, q) < 0)
			return fail(why, "sendq exceeded");
	}
	/* An idle conn keeps no staging buffer. */
	free(t->out);
	t->out = NULL;
	t->out_cap = 0;
	return TP_OK;
}

int
transport_unsent(const struct transport *t)
{
	return t->out_off < t->out_len;
}

enum tp_status
transport_finish(struct transport *t, struct sendq *q, int going_away)
{
	if (t->handshaking || t->proxy_wait)
		return TP_OK;
	if (t->ws != NULL && !t->close_sent) {
		if (t->peer_close && ws_close_code_ok(t->peer_close))
			out_close(t, t->peer_close, "");
		else if (going_away)
			out_close(t, WS_CLOSE_GOING_AWAY, "server shutting down");
		else
			out_close(t, WS_CLOSE_NORMAL, "");
	}
	char why[TRANSPORT_WHY_MAX];
	enum tp_status st = transport_flush(t, q, why);
	if (st == TP_AGAIN)
		return TP_AGAIN;
	if (st != TP_OK)
		return TP_OK; /* nothing more can be said */
	t->link->finish(t);
	return TP_OK;
}

unsigned
transport_wants(const struct transport *t, unsigned mask)
{
	if (t->proxy_wait)
		return LOOP_READ;
	if (t->handshaking)
		return t->hs_want_write ? LOOP_WRITE : LOOP_READ;
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

unsigned
transport_ready(const struct transport *t, unsigned events)
{
	unsigned ready = events;
	if (t->read_wants_write && (events & LOOP_WRITE))
		ready |= LOOP_READ;
	if (t->write_wants_read && (events & LOOP_READ))
		ready |= LOOP_WRITE;
	return ready;
}

int
transport_crossed(const struct transport *t)
{
	return t->write_wants_read || t->read_wants_write;
}
