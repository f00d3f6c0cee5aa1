/* One connected client socket: its lifecycle, its input framer, its output
 * queue, flood control and deadlines. Lines go up to the conn's front door
 * (through its struct conn_handler); wire buffers come down to its sendq.
 * Freeing is always deferred to its owner's before-sleep step (conn_set),
 * so a conn never disappears under a caller's feet. */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "net/framer.h"
#include "net/gate.h"
#include "net/loop.h"
#include "net/sendq.h"

struct conn;
struct conn_set;
struct user;
struct ip_count;
struct transport;
struct tls_context;

/* What a conn calls above it: the front door that owns its lines
 * (doors/door.h embeds one per door). The conn knows its door only
 * through these, as libuv's handles know their callbacks. */
struct conn_handler {
	/* Longest line read (0: the max-line option). */
	size_t max_line;
	/* Whether lines cost flood-control tokens, and output is bounded
	 * by sendq: a door sending our own files (HTTP) is neither. */
	unsigned flood_control : 1;
	unsigned sendq_bound : 1;
	/* The door's first exchange (an HTTP request) is on the handshake
	 * deadline too, as TLS's handshake is. */
	unsigned handshake_deadline : 1;
	/* From a proxy-from address the PROXY header may be missing: the
	 * door names the client itself (X-Forwarded-For, conn_forwarded_for). */
	unsigned proxy_header_optional : 1;
	/* Over TLS the client is asked for a certificate, taken unverified:
	 * its fingerprint may log it in (conn_tls_fingerprint). Not for a
	 * browser's door, where the question would open a dialog. */
	unsigned tls_client_cert : 1;
	/* Which of its set's per-door counters its conns count under
	 * (below CONN_STATS_SLOTS; net/conn_stats.h). */
	unsigned stats_slot : 2;
	/* The conn is ready for lines: greet it, make its user. */
	void (*open)(struct conn *c);
	/* One complete line, NUL-terminated, ending removed. */
	void (*line)(struct conn *c, char *line, size_t len);
	/* A line over max_line bytes was discarded. */
	void (*overlong)(struct conn *c);
	/* The conn is ending for reason: drop the user from the hub. */
	void (*closed)(struct conn *c, const char *reason);
	/* The server is going down: say so (the conn then closes). */
	void (*shutdown)(struct conn *c);
	/* The server is closing this one conn for reason (a timeout, a
	 * KILL): the last line it gets (NULL: none). */
	void (*farewell)(struct conn *c, const char *reason);
	/* The client has been silent for ping-interval: ask it (NULL: the
	 * door has no way to, and only idle-timeout applies). */
	void (*ping)(struct conn *c);
	/* The server will not take a conn (why: "the server is full"): what
	 * tells the client so in the door's own words, into buf, as
	 * snprintf does. Written once, without waiting, then closed. */
	int (*refuse)(char *buf, size_t cap, const char *host, const char *why);
	/* The name the conn goes by in log lines (its user's), or NULL. */
	const char *(*who)(const struct conn *c);
	/* The conn's door state is no longer needed (NULL: none kept). */
	void (*free)(struct conn *c);
};

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
	CONN_HANDSHAKE, /* a PROXY header or TLS handshake: the door is not open yet */
	CONN_OPEN,      /* lines go to the door */
	CONN_CLOSING,   /* no more input; flushing what is queued, then closed */
	CONN_DEAD,      /* waiting to be reaped; nothing more is queued */
};

struct conn {
	/* What every delivery and every flush reads comes first, in the
	 * fewest cache lines: at 1,000 receivers a pass, a cold line per
	 * conn is the delivery's largest cost after the syscall (the flush
	 * prefetches these lines of the next conn: CONN_HOT_BYTES). */
	struct loop_io io;
	struct conn_set *set;         /* its owner's: loop, limits, lists */
	const struct conn_handler *door;
	struct user *user;            /* the door's user (opaque here): NULL before the
	                               * door makes one, and after it is dropped */
	void *door_state;             /* the door's own, freed by door->free */
	struct sendq out;
	struct conn *flush_next;      /* its set's flush list */
	struct conn_pager *pagers;    /* replies being made, first the one sent now */
	struct transport *tp;         /* TLS / WebSocket, or NULL for plain TCP */
	enum conn_state state;
	unsigned queued_flush : 1;    /* on its set's flush list */
	unsigned queued_reap : 1;     /* on its set's reap list */
	unsigned eof : 1;             /* the peer sent EOF; lines left are still handled */
	unsigned gone : 1;            /* ... and takes no more output: it is not written */
	unsigned user_dropped : 1;    /* the door has let go of the user (conn_drop_user) */
	unsigned pinged : 1;          /* sent a PING for silence, no input since */
	unsigned unregistered : 1;    /* no user yet: on the registration deadline */
	unsigned forwarded : 1;       /* from a proxy-from address, no PROXY header:
	                               * its HTTP request may name the client */
	unsigned filling : 1;         /* a pager is filling: its lines go first */
	unsigned quit : 1;            /* the client asked to close (CONN_CLOSE_QUIT) */
	unsigned resume : 1;          /* its holds ended: lines wait for the flush step */
	unsigned backlogged : 1;      /* its lines wait for its output to go down */
	unsigned lines_wait : 1;      /* ... for conn_set_lines_go (the store is behind) */
	unsigned leaving : 1;         /* said goodbye with replies being made: closed
	                               * (leave_how) once they are done (conn_leave) */
	unsigned spoke : 1;           /* its door has had a line: the next is not its first */
	uint8_t leave_how;
	struct framer in;
	/* The rest is read on input, on timers and at the ends of a life. */
	uint64_t id;                  /* for the log: never reused in a run (listeners_conn_add) */
	/* One deadline per purpose, in loop_now() milliseconds (0: none);
	 * the timer is armed at the earliest. */
	uint64_t handshake_by;        /* TLS, a PROXY header, or the door's first
	                               * exchange (handshake_deadline): closed at it */
	uint64_t flood_until;         /* flood control holds lines back until then */
	uint64_t linger_by;           /* a closing conn is closed at it, flushed or not */
	struct loop_timer timer;
	uint16_t port;                /* the peer's port, for logs */
	uint8_t holds;                /* conn_hold: its lines wait while not 0 */
	uint32_t io_events;           /* socket events handled, for the debug log */
	void *env;                    /* what the door may reach of the server
	                               * (struct door_env), set by the server */
	double tokens;                /* flood control bucket */
	uint64_t tokens_at;           /* when tokens was last topped up */
	uint64_t last_input;          /* for the idle timeout; arrival while unregistered */
	struct conn *prev, *next;     /* in its set's list of (un)registered conns */
	struct conn *reap_next;       /* its set's reap list */
	struct ip_count *ip;          /* per-address count, for max-per-ip */
	/* The durability gate (gate.h): out.release rises to gate_mark[i]
	 * when the epoch in the gate's slot i is finished. */
	uint64_t gate_mark[GATE_SLOTS];
	struct conn *gate_prev, *gate_next; /* on the list of gate_list */
	uint8_t gate_wait;            /* bit i: waits for slot i (0: on no list) */
	uint8_t gate_list;            /* the oldest slot it waits for */
	char *reason;                 /* why it is closing (or its peer went), for the
	                               * log and the door */
	char host[INET6_ADDRSTRLEN];  /* the peer's address */
};

/* The bytes at the start of struct conn that a flush and a delivery read
 * (up to and including the framer, which conn_watch asks for room). */
#define CONN_HOT_BYTES (offsetof(struct conn, in) + sizeof(struct framer))

/* Asks the CPU for c's hot lines ahead of their use: the flush takes the
 * next conn's while a write runs, and a fan-out a later member's. Only a
 * hint: it reads nothing and cannot fault. */
static inline void
conn_prefetch(const struct conn *c)
{
	for (size_t at = 0; at < CONN_HOT_BYTES; at += 64)
		__builtin_prefetch((const char *)c + at);
	__builtin_prefetch((const char *)c + CONN_HOT_BYTES - 1);
}

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

/* The conn's next lines wait (conn_hold) until a decision about one
 * before is known (a nickname the cluster is asked for): a command sees
 * the state the commands before it left. Reading goes on until the
 * framer is full, as under flood control. conn_unhold ends one hold;
 * with none left the lines held are handled at the flush step, in order
 * (never from inside the caller, which may be a Redis reply). At most
 * CONN_HOLDS_MAX at once: past it, conn_hold returns -1 and holds
 * nothing. */
#define CONN_HOLDS_MAX 255
int conn_hold(struct conn *c);
void conn_unhold(struct conn *c);

/* How conn_close ends a conn. */
enum {
	/* Drops what is queued; the door hears at the before-sleep step.
	 * For errors, and safe from inside a fan-out. */
	CONN_CLOSE_NOW = 0,
	/* Stops reading, writes what is queued (within a short linger
	 * deadline), then closes; the door hears now (its closed()). */
	CONN_CLOSE_AFTER_FLUSH = 1,
	/* With AFTER_FLUSH: the door's farewell line first (a timeout, a
	 * KILL). Not from inside a fan-out. */
	CONN_CLOSE_FAREWELL = 2,
	/* With AFTER_FLUSH: the door is not told; conn_drop_user does it
	 * later. For a shutdown that first silences every conn and only then
	 * drops their users, so nobody hears of the others leaving. */
	CONN_CLOSE_KEEP_USER = 4,
	/* The client asked for it (QUIT), whatever the reason's words: for
	 * the metrics. With AFTER_FLUSH, replies still being made for it go
	 * first (within the linger). */
	CONN_CLOSE_QUIT = 8,
	/* Its input ended (the close after its last line): as QUIT for the
	 * replies being made, not counted as one. */
	CONN_CLOSE_EOF = 16,
};

/* The one way a conn ends, for reason (the log's and the door's: the
 * close that ends an open conn says it); how says when. Once it is
 * closing, only CONN_CLOSE_NOW changes anything more. */
void conn_close(struct conn *c, const char *reason, unsigned how);
/* The door lets go of the conn's user, and the close is logged, once:
 * conn_close does it, but for CONN_CLOSE_NOW (the reaper does) and
 * CONN_CLOSE_KEEP_USER. tell_door 0: the door is not told (its closed()
 * is not called), for a shutdown that then clears the hub whole. */
void conn_drop_user(struct conn *c, int tell_door);

/* Hands the conn to another door, as a WebSocket (binary or text
 * messages): for the HTTP door's upgrade, after it has queued its 101. */
int conn_upgrade_websocket(struct conn *c, const struct conn_handler *door, int binary);
/* Whether the client's bytes are encrypted. */
int conn_secure(const struct conn *c);
/* The host name a TLS client asked for (SNI), or NULL. */
const char *conn_tls_servername(const struct conn *c);
/* The SHA-256 fingerprint of the client's TLS certificate, as 64 lower-
 * case hex digits, into hex (CONN_FINGERPRINT_MAX bytes): 0, or -1 when
 * it sent none (or the conn is not TLS). */
#define CONN_FINGERPRINT_MAX 65
int conn_tls_fingerprint(const struct conn *c, char hex[CONN_FINGERPRINT_MAX]);
/* Whether the client talks over a WebSocket: 0, or the opcode of its
 * messages (WS_TEXT, WS_BINARY). */
int conn_websocket(const struct conn *c);

/* For the server: a conn for fd (over TLS with tls's certificate, when
 * not NULL), then conn_open once it is counted. */
struct conn *conn_new(struct conn_set *set, int fd, const struct conn_handler *door,
    const char *host, uint16_t port, struct tls_context *tls);
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
/* "host:port" (or "[host]:port") for a log line, into buf; returns buf. */
#define CONN_ADDR_MAX ADDR_HOSTPORT_MAX
const char *conn_addr(const struct conn *c, char buf[CONN_ADDR_MAX]);
void conn_flush(struct conn *c);
/* conn_flush for the before-sleep step: not a plain conn waiting for its
 * full socket to drain (the loop calls it then). */
void conn_flush_pass(struct conn *c);
/* Whether conn_flush_pass has work for c now: 0 only for an open plain
 * conn whose every queued byte waits for the durability gate (gate.h),
 * which puts it back on the flush list when they may go. */
int conn_flush_wanted(const struct conn *c);
void conn_destroy(struct conn *c);

#endif
