/* What sits between a conn's socket and its framer when the bytes are not
 * the lines themselves: TLS (OpenSSL), a WebSocket (RFC 6455, one IRC line
 * per message), or both. A plain TCP conn has none and pays nothing: its
 * output still goes straight from the sendq to writev.
 *
 * Input: raw bytes are read (through TLS), decoded (WebSocket) and handed
 * to the framer as lines ending in LF. Output: the sendq's lines are framed
 * (WebSocket) into a staging buffer that is written (through TLS) in as few
 * records and system calls as it takes. */
#ifndef PARLEY_TRANSPORT_H
#define PARLEY_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/proxy.h"
#include "net/ws.h"

struct conn;
typedef struct ssl_st SSL;

struct transport {
	SSL *ssl;                 /* NULL: plain TCP below */
	struct ws_decoder *ws;    /* NULL: not a WebSocket */
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

/* Control frames a client may send inside one fragmented message. Each
 * costs it a line of flood control, as outside a message, but an LF in
 * the middle would cut the message: they are owed, and paid when it ends.
 * So a read may hand the framer that many bytes more than it took, with
 * the LF of a message whose header came earlier: the framer room a
 * WebSocket read needs. */
#define TRANSPORT_PINGS_IN_MESSAGE 16
#define TRANSPORT_WS_ROOM (TRANSPORT_PINGS_IN_MESSAGE + 2)

/* transport_read's answer when it has closed the conn itself. */
#define TRANSPORT_CLOSED (-2)

/* A TLS transport for fd, handshake pending; NULL when out of memory. */
struct transport *transport_tls(int fd);
/* Makes the conn a WebSocket from now on: bytes the sendq holds already
 * go out as they are. -1 when out of memory. */
int transport_websocket(struct conn *c, int binary, uint64_t max_message);
void transport_free(struct transport *t);
/* The conn's first bytes are a PROXY protocol header (it comes from a
 * proxy-from address): adds the wait for it, before TLS or anything else.
 * -1 when out of memory. */
int transport_expect_proxy(struct conn *c);
/* Reads the PROXY header, never a byte past it: 1 when it is whole (*h
 * says what it names), 0 while it is not, 2 when the conn begins with
 * something else (any bytes taken are handed to the framer), -1 when the
 * conn was killed (a bad header, an error). */
int transport_proxy_read(struct conn *c, struct proxy_header *h);
/* The framer room transport_read needs to read at all. */
size_t transport_room(const struct conn *c);
/* Whether the transport has nothing left to do (no TLS, no WebSocket):
 * then the conn may drop it and write straight from its sendq. */
int transport_idle(const struct transport *t);

/* Drives the TLS handshake: 1 done, 0 waiting, -1 failed (the conn is
 * killed with the reason). */
int transport_handshake(struct conn *c);
/* Like read(2) into buf (room bytes free in the framer): >0, 0 at EOF,
 * -1 with errno, or TRANSPORT_CLOSED. */
ssize_t transport_read(struct conn *c, char *buf, size_t room);
/* Whether input is ready that no socket event will announce: decrypted
 * bytes inside TLS, or the EOF after a close frame. */
int transport_pending(const struct conn *c);
/* Writes what is staged and what the sendq holds: 0 (the rest waits for
 * the socket), or -1 with errno. */
int transport_flush(struct conn *c);
/* The conn is closing and its sendq is empty: sends the close frame and
 * the TLS close_notify. 1 while some of it waits for the socket. */
int transport_finish(struct conn *c);
/* The loop events the conn needs, given those it would want without a
 * transport. */
unsigned transport_mask(const struct conn *c, unsigned mask);
/* Whether the conn is encrypted (TLS). */
int transport_secure(const struct conn *c);
/* The host name the TLS client asked for (SNI), or NULL. */
const char *transport_tls_servername(const struct conn *c);
/* Whether the conn is a WebSocket. */
int transport_websocket_on(const struct conn *c);

#endif
