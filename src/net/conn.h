/* One connected client socket: its input framer, its output queue, flood
 * control and timeouts. Lines go up to the conn's front door; wire buffers
 * come down to its sendq. Closing is always deferred to the loop's
 * before-sleep step, so a conn never disappears under a caller's feet. */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <netinet/in.h>
#include <stdint.h>

#include "net/framer.h"
#include "net/loop.h"
#include "net/sendq.h"

struct conn;
struct server;
struct door;
struct user;
struct ip_count;
struct transport;

/* A long reply to a client's own question (LIST of thousands of rooms,
 * WHO of thousands of users), made as the client takes it rather than
 * queued whole, so that asking never costs the asker its connection: the
 * door's fill queues the next lines (with conn_send, as usual) until
 * conn_page_full, and returns 1 while more remain. Output the conn gets
 * meanwhile waits behind the reply, so everything arrives in order. The
 * door embeds this in its own state and keeps where it is robustly (see
 * struct hub_cursor): anything may come or go between two fills. */
struct conn_pager {
	int (*fill)(struct conn *c, struct conn_pager *p);
	/* The reply will not end at once: called before anything else is
	 * queued behind it (NULL: nothing to do then). */
	void (*deferred)(struct conn *c, struct conn_pager *p);
	void (*free)(struct conn_pager *p);
	/* Waits for its owner, not for the socket (a reply a worker will
	 * finish): it is not filled until conn_page_resume. */
	unsigned parked : 1;
	struct sendq after;           /* output queued behind the reply */
	struct conn_pager *next;      /* the next reply, behind this one's after */
};

enum conn_state {
	CONN_OPEN,
	CONN_CLOSING,   /* no more input; flushing what is queued, then closed */
	CONN_DEAD,      /* waiting to be reaped; nothing more is queued */
};

struct conn {
	struct loop_io io;
	struct server *srv;
	const struct door *door;
	struct user *user;            /* NULL before the door makes one / after quit */
	struct framer in;
	struct sendq out;
	struct loop_timer timer;      /* flood release, or the closing deadline */
	enum conn_state state;
	unsigned queued_flush : 1;    /* on the server's flush list */
	unsigned queued_reap : 1;     /* on the server's reap list */
	unsigned eof : 1;             /* the peer sent EOF; lines left are still handled */
	unsigned gone : 1;            /* ... and takes no more output: it is not written */
	unsigned pinged : 1;          /* sent a PING for silence, no input since */
	unsigned handshake : 1;       /* TLS or HTTP handshake under way, on a deadline */
	unsigned unregistered : 1;    /* no user yet: on the registration deadline */
	unsigned forwarded : 1;       /* from a proxy-from address, no PROXY header:
	                               * its HTTP request may name the client */
	uint16_t port;                /* the peer's port, for logs */
	unsigned filling : 1;         /* a pager is filling: its lines go first */
	uint32_t io_events;           /* socket events handled, for the debug log */
	struct conn_pager *pagers;    /* replies being made, first the one sent now */
	struct transport *tp;         /* TLS / WebSocket, or NULL for plain TCP */
	void *door_state;             /* the door's own, freed by door->free */
	void *env;                    /* what the door may reach of the server
	                               * (struct door_env), set by the server */
	double tokens;                /* flood control bucket */
	uint64_t tokens_at;           /* when tokens was last topped up */
	uint64_t last_input;          /* for the idle timeout; arrival while unregistered */
	struct conn *prev, *next;     /* in the server's list of (un)registered conns */
	struct conn *flush_next;      /* server's flush list */
	struct conn *reap_next;       /* server's reap list */
	struct ip_count *ip;          /* per-address count, for max-per-ip */
	char *reason;                 /* why it is closing, for the reaper */
	char host[INET6_ADDRSTRLEN];  /* the peer's address */
};

/* Queues w (a new reference is taken). Past the sendq bound the conn is
 * dropped with "sendq exceeded"; nobody else waits for it. */
void conn_send(struct conn *c, struct wire *w);
void conn_sendf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Starts the reply p: as much of it now as a page holds (a short reply is
 * then done, and p freed), the rest as the client takes it. Returns 1 when
 * it goes on later. On failure (out of memory) p is freed and the conn
 * killed; 1 is returned, as nothing more may be sent. */
int conn_page(struct conn *c, struct conn_pager *p);
/* For a fill: whether the page is full (stop, and return 1). */
int conn_page_full(const struct conn *c);
/* p, parked, may go on: it is filled when its turn comes. */
void conn_page_resume(struct conn *c, struct conn_pager *p);

/* Stops reading, flushes what is queued (bounded by a short deadline) and
 * closes. The door's closed() is called now with reason. */
void conn_quit(struct conn *c, const char *reason);
/* Tells the client why (its door's farewell line), then as conn_quit. Not
 * from inside a fan-out. */
void conn_close_for(struct conn *c, const char *reason);
/* user_ops.disconnect for a user whose owner is a conn: every door's. */
void conn_disconnect_user(struct user *u, const char *reason);
/* Drops the conn at the next before-sleep step: for errors, and safe to call
 * from inside a fan-out. */
void conn_kill(struct conn *c, const char *reason);

/* conn_quit in two steps, for a shutdown that first silences every conn
 * and only then drops their users, so nobody hears of the others leaving. */
void conn_stop_input(struct conn *c);
void conn_drop_user(struct conn *c, const char *reason);
/* As conn_drop_user, but the hub is not told: for a shutdown that then
 * clears the hub whole. */
void conn_forget_user(struct conn *c, const char *reason);

/* Hands the conn to another door, as a WebSocket (binary or text
 * messages): for the HTTP door's upgrade, after it has queued its 101. */
int conn_upgrade_websocket(struct conn *c, const struct door *door, int binary);
/* Whether the client's bytes are encrypted. */
int conn_secure(const struct conn *c);
/* The host name a TLS client asked for (SNI), or NULL. */
const char *conn_tls_servername(const struct conn *c);
/* Whether the client talks over a WebSocket. */
int conn_websocket(const struct conn *c);

/* For the server: a conn for fd (over TLS when tls), then conn_open once
 * it is counted. */
struct conn *conn_new(struct server *srv, int fd, const struct door *door,
    const char *host, uint16_t port, int tls);
void conn_open(struct conn *c);
/* For the server, before conn_open: c comes from a proxy-from address, so
 * its first bytes must be a PROXY protocol header (on the web listener,
 * or an HTTP request that may say X-Forwarded-For). -1 when out of
 * memory. */
int conn_expect_proxy(struct conn *c);
/* For the web door: the client a trusted proxy names in X-Forwarded-For
 * (NULL or "": none, the proxy speaks for itself). -1 when the conn was
 * refused (too many from that address) and is closing. */
int conn_forwarded_for(struct conn *c, const char *text);
/* "host:port" for a log line (a static buffer, valid until the next call). */
const char *conn_addr(const struct conn *c);
void conn_flush(struct conn *c);
void conn_destroy(struct conn *c);

#endif
