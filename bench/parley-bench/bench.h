/* parley-bench: a load generator for chat servers (Parley's plain door and
 * any IRC server). One epoll loop drives every connection; this header holds
 * the shared state and the seams between the files:
 *
 *   main.c   options, --help, the report
 *   run.c    the loop, the phases (setup, warm-up, measure, drain), pacing
 *            and the delivery accounting
 *   conn.c   one socket: connect, read and split lines, buffered writes
 *   proto.c  IRC and plain: registration, join, message format and parsing
 *   stats.c  latency histogram and the JSON line
 *   sys.c    clocks, /proc readings, rlimits
 */
#ifndef PARLEY_BENCH_H
#define PARLEY_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stats.h"

enum proto { PROTO_IRC, PROTO_PLAIN };

/* The most ports (--port P1,P2,...) and pids (--pid A,B,...): the nodes of
 * a cluster and its Redis. */
#define BENCH_SERVERS_MAX 8
enum mode { MODE_WINDOW, MODE_RATE, MODE_IDLE };

/* What the user asked for; filled by main.c, read-only afterwards. */
struct options {
	enum proto proto;
	const char *host;
	const char *port;          /* NULL: 6667 for IRC, 7000 for plain; or
	                            * "P1,P2,...": client i goes to the
	                            * (i mod n)-th (the nodes of a cluster) */
	const char *nick_prefix;
	uint32_t clients;
	uint32_t rooms;
	uint32_t senders;
	uint32_t concurrency;      /* connections in setup at once */
	uint32_t size;             /* message payload bytes */
	double duration;           /* seconds measured (or held, with --idle) */
	double warmup;             /* seconds sent but not counted */
	double drain;              /* longest wait for in-flight messages */
	double setup_timeout;      /* longest wait for all clients to join */
	enum mode mode;
	uint32_t window;           /* MODE_WINDOW: messages in flight */
	double rate;               /* MODE_RATE: messages per second */
	long pids[BENCH_SERVERS_MAX]; /* server pids for /proc readings (summed) */
	uint32_t npids;            /* 0: none */
	bool json_only;
};

enum conn_state {
	CONN_NEW,          /* not connected yet */
	CONN_CONNECTING,   /* connect() in progress */
	CONN_REGISTERING,  /* IRC: NICK/USER sent; plain: waiting for welcome */
	CONN_JOINING,      /* registered, waiting for our own join echo */
	CONN_READY,        /* in its bench room */
	CONN_DEAD,         /* failed or closed; fd is closed */
};

/* One client connection. Kept small: there may be 19,000 of them. */
struct conn {
	int fd;
	uint32_t id;           /* client index i, 0..clients-1 */
	uint32_t room;         /* i % rooms */
	uint8_t state;         /* enum conn_state */
	bool nick_ok;          /* plain: our /nick was accepted */
	bool joined;           /* our join echo arrived */
	bool dirty;            /* on the dirty list: has output to flush */
	bool want_out;         /* EPOLLOUT armed: the kernel buffer was full */
	uint16_t nick_tries;   /* nickname collisions so far */
	char nick[32];         /* our nickname as the server knows it */
	char *carry;           /* a partial line left over from the last read */
	uint32_t carry_len, carry_cap;
	char *out;             /* output not yet taken by the kernel */
	size_t out_off, out_len, out_cap;
	uint32_t *last_seq;    /* last sequence seen per sender of our room */
	struct conn *next_dirty;
};

/* A client that sends. Sender j is client j, in room j % rooms, and is the
 * (j / rooms)-th sender of that room, which indexes receivers' last_seq. */
struct sender {
	uint32_t conn;
	uint32_t room;         /* j % rooms, kept: no division per delivery */
	uint32_t slot;         /* j / rooms: its index in receivers' last_seq */
	uint32_t receivers;    /* other members of its room */
	uint64_t seq;          /* last sequence number sent (first is 1) */
	uint32_t inflight;     /* MODE_WINDOW: sent, not yet received by all */
	uint32_t *pending;     /* MODE_WINDOW: receivers missing, by seq & mask */
};

enum phase { PH_SETUP, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_HOLD, PH_DONE };

/* Everything the run counts; main.c turns it into the report. */
struct tally {
	uint64_t sent;          /* measured messages sent */
	uint64_t expected;      /* measured deliveries expected */
	uint64_t delivered;     /* measured deliveries received, in order */
	uint64_t duplicated;    /* measured deliveries repeated */
	uint64_t gaps;          /* deliveries skipped over (any phase) */
	uint64_t sent_all;      /* every message, warm-up included */
	uint64_t expected_all;
	uint64_t received_all;  /* first receptions, warm-up included */
	uint64_t stray;         /* bench-looking lines we cannot place */
	uint64_t errors;
	uint64_t backlog_max;   /* largest unsent output of one sender, bytes */
};

struct bench {
	struct options opt;
	struct sockaddr_storage addr[BENCH_SERVERS_MAX]; /* the servers, resolved once */
	socklen_t addrlen[BENCH_SERVERS_MAX];
	uint32_t naddr;
	bool loopback4;                /* it is in 127.0.0.0/8 */
	int ep;                 /* epoll fd */
	int timer_fd;           /* MODE_RATE pacing, -1 otherwise */
	struct conn *conns;
	struct sender *senders;
	uint32_t *room_members;
	uint32_t *room_senders;
	uint32_t ring_mask;     /* MODE_WINDOW: size of sender.pending - 1 */
	uint32_t next_connect;  /* next client index to connect */
	uint32_t in_setup;      /* connections connecting, registering, joining */
	uint32_t ready;
	uint32_t dead;
	uint32_t rr;            /* MODE_WINDOW: next sender to try */
	uint64_t inflight;      /* MODE_WINDOW: messages not yet fully received */
	uint64_t rate_sent;     /* MODE_RATE: messages scheduled so far */
	struct conn *dirty;     /* connections with output to flush */
	enum phase phase;
	bool setup_failed;
	uint64_t now;           /* CLOCK_MONOTONIC ns, refreshed after each wait and read */
	uint64_t t_setup_start, t_setup_done;
	uint64_t t_send_start;  /* warm-up begins: first message */
	uint64_t t_measure_start, t_measure_end;  /* UINT64_MAX until known */
	uint64_t t_deadline;    /* end of the current phase */
	double server_cpu_before, server_cpu_after;  /* seconds, <0: unknown */
	double self_cpu_before, self_cpu_after;
	long rss_before_kb, rss_after_kb;            /* <0: unknown */
	struct tally t;
	struct histogram lat;   /* delivery latency, ns */
};

/* run.c */
int bench_init(struct bench *b);
int bench_run(struct bench *b);
void bench_error(struct bench *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bench_conn_ready(struct bench *b, struct conn *c);
void bench_conn_lost(struct bench *b, struct conn *c, enum conn_state was);
void bench_on_message(struct bench *b, struct conn *c, uint64_t sender,
    uint64_t seq, uint64_t sent_ns);

/* conn.c */
int conn_start(struct bench *b, struct conn *c);
void conn_on_event(struct bench *b, struct conn *c, uint32_t events);
char *conn_reserve(struct bench *b, struct conn *c, size_t len);
void conn_commit(struct conn *c, size_t len);
void conn_write(struct bench *b, struct conn *c, const char *data, size_t len);
void conn_flush_dirty(struct bench *b);
void conn_fail(struct bench *b, struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t conn_backlog(const struct conn *c);

/* proto.c */
void proto_on_connected(struct bench *b, struct conn *c);
void proto_on_line(struct bench *b, struct conn *c, char *line, size_t len);
void proto_send_message(struct bench *b, struct conn *c, uint32_t sender,
    uint64_t seq, uint64_t sent_ns);
size_t proto_max_size(enum proto p);

/* sys.c */
uint64_t mono_ns(void);
/* Summed over the n pids; -1 when one cannot be read. */
double proc_cpu_seconds(const long *pids, uint32_t n);
long proc_rss_kb(const long *pids, uint32_t n);
long raise_nofile(void);
double self_cpu_seconds(void);

#endif
