/* What sits between a conn's socket and its framer when the bytes are not
 * the lines themselves: a PROXY protocol header first, TLS (OpenSSL), a
 * WebSocket (RFC 6455, one IRC line per message), or TLS and a WebSocket.
 * A plain TCP conn has none and pays nothing: its output still goes
 * straight from the sendq to send or sendmsg.
 *
 * Input: raw bytes are read (through TLS), decoded (WebSocket) and handed
 * back as lines ending in LF, for the framer. Output: the sendq's lines
 * are framed (WebSocket) into a staging buffer that is written (through
 * TLS) in as few records and system calls as it takes.
 *
 * A layer below conn, as Redis's ConnectionType is below networking.c: it
 * knows a socket, a sendq and a framer, never a conn. Each call says what
 * happened (enum tp_status) and the conn decides what follows. Inside,
 * the bytes on the socket go through a table of calls (read, write,
 * pending, finish), one for plain TCP and one for TLS; the WebSocket
 * framing sits on either. */
#ifndef PARLEY_TRANSPORT_H
#define PARLEY_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "net/framer.h"
#include "net/proxy.h"
#include "net/sendq.h"

struct transport;
struct tls_context;

enum tp_status {
	TP_OK,      /* done: bytes came, the handshake ended, all was written */
	TP_AGAIN,   /* waits for the socket (transport_wants says which way) */
	TP_EOF,     /* the peer is done sending: TCP's FIN, TLS's close_notify,
	             * a WebSocket close frame */
	TP_LOST,    /* the socket failed, errno says how: the peer takes nothing more */
	TP_ERROR,   /* the peer broke the protocol, or we ran out of room: close
	             * now, for the reason written to why */
	TP_CLOSE,   /* the peer broke the protocol and our goodbye (a close frame)
	             * is staged: close after flushing, for why */
};

/* Room for the reason of a TP_ERROR or TP_CLOSE, with OpenSSL's text. */
#define TRANSPORT_WHY_MAX 320

/* Control frames a client may send inside one fragmented message. Each
 * costs it a line of flood control, as outside a message, but an LF in
 * the middle would cut the message: they are owed, and paid when it ends.
 * So a read may hand the framer that many bytes more than it took, with
 * the LF of a message whose header came earlier: the framer room a
 * WebSocket read needs. */
#define TRANSPORT_PINGS_IN_MESSAGE 16
#define TRANSPORT_WS_ROOM (TRANSPORT_PINGS_IN_MESSAGE + 2)

/* What a transport waits for before the door may have lines. */
enum tp_phase {
	TP_PHASE_PROXY,   /* a PROXY protocol header */
	TP_PHASE_TLS,     /* the TLS handshake */
	TP_PHASE_OPEN,    /* nothing: bytes flow */
};

/* A transport for fd doing nothing yet; staged output is bounded by
 * out_max (the sendq bound) beyond one record. NULL when out of memory. */
struct transport *transport_new(int fd, size_t out_max);
/* TLS from now on, handshake pending, with tls's certificate (asking the
 * client for one with client_cert). -1 when out of memory. */
int transport_start_tls(struct transport *t, struct tls_context *tls, int client_cert);
/* The first bytes are a PROXY protocol header (from a proxy-from address):
 * waited for before TLS or anything else. */
void transport_start_proxy(struct transport *t);
/* A WebSocket from now on, with messages of at most max_message bytes:
 * the first raw_left bytes of the sendq (the 101) go out as they are. -1
 * when out of memory. */
int transport_start_websocket(struct transport *t, int binary, uint64_t max_message,
    size_t raw_left);
void transport_free(struct transport *t);

enum tp_phase transport_phase(const struct transport *t);
/* Whether there is nothing left to do (no TLS, no WebSocket, nothing
 * staged): then the conn may drop it and write straight from its sendq. */
int transport_idle(const struct transport *t);

/* Reads the PROXY header, never a byte past it. TP_OK: *found 1, it is
 * whole and *h says what it names; or *found 0, the conn begins with
 * something else, and any bytes taken went to in. TP_AGAIN: not yet.
 * TP_ERROR: it never came whole, or was no good. */
enum tp_status transport_proxy_read(struct transport *t, struct proxy_header *h,
    int *found, struct framer *in, char why[TRANSPORT_WHY_MAX]);
/* Drives the TLS handshake: TP_OK done, TP_AGAIN, or TP_ERROR. */
enum tp_status transport_handshake(struct transport *t, char why[TRANSPORT_WHY_MAX]);

/* The framer room transport_read needs to read at all (t may be NULL). */
size_t transport_room(const struct transport *t);
/* Reads into buf (room bytes free in the framer): TP_OK with *n bytes of
 * lines, or another status. A WebSocket ping is answered (staged after
 * what q holds of the 101): transport_unsent says so. */
enum tp_status transport_read(struct transport *t, struct sendq *q, char *buf, size_t room,
    size_t *n, char why[TRANSPORT_WHY_MAX]);
/* Whether input is ready that no socket event will announce: decrypted
 * bytes inside TLS, or the EOF after a close frame. */
int transport_pending(const struct transport *t);

/* Writes what is staged and what q holds: TP_OK when all of it is
 * written, TP_AGAIN when the rest waits for the socket, TP_LOST, or
 * TP_ERROR (past the bound). */
enum tp_status transport_flush(struct transport *t, struct sendq *q,
    char why[TRANSPORT_WHY_MAX]);
/* Whether bytes are staged that the socket has not taken. */
int transport_unsent(const struct transport *t);
/* The conn is closing and q is empty: stages the close frame (1001 when
 * going_away: the server is shutting down) and sends it and TLS's
 * close_notify. TP_AGAIN while some of it waits for the socket; TP_OK
 * when there is nothing more to say (or it cannot be said). */
enum tp_status transport_finish(struct transport *t, struct sendq *q, int going_away);

/* The loop events the transport needs, given those the conn wants. */
unsigned transport_wants(const struct transport *t, unsigned mask);
/* Which ways may move on, given the socket's events: TLS may need to
 * write to go on reading, or read to go on writing. */
unsigned transport_ready(const struct transport *t, unsigned events);
/* Whether TLS waits on the way opposite to the one it is going. */
int transport_crossed(const struct transport *t);

/* Whether the conn is encrypted (TLS). */
int transport_secure(const struct transport *t);
/* The host name the TLS client asked for (SNI), or NULL. */
const char *transport_tls_servername(const struct transport *t);
/* The client certificate's SHA-256 fingerprint (tls.h), or -1: none. */
int transport_tls_fingerprint(const struct transport *t, char *hex);
/* 0, or the opcode its messages go in (WS_TEXT or WS_BINARY): a WebSocket. */
int transport_websocket(const struct transport *t);

#endif
