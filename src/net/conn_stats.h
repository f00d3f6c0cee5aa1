/* What the conns of a set have done, counted as they do it: plain
 * counters on the loop's thread, no lock, read by the metrics door when
 * it is asked (doors/metrics.h). Per door where it matters, by the slot
 * each door's conn_handler names (stats_slot); why each conn ended, by a
 * small table of the reasons the server gives (conn_end_of). */
#ifndef PARLEY_CONN_STATS_H
#define PARLEY_CONN_STATS_H

#include <stdint.h>

/* Doors a set counts apart (conn_handler.stats_slot is below it). */
#define CONN_STATS_SLOTS 4

/* Why a conn ended, as the metrics name it. */
enum conn_end {
	CONN_END_QUIT,           /* the client said goodbye (QUIT, /quit) */
	CONN_END_PEER_CLOSED,    /* it closed or reset the connection */
	CONN_END_TIMEOUT,        /* TCP keepalive or unacknowledged output gave up */
	CONN_END_PING_TIMEOUT,
	CONN_END_IDLE_TIMEOUT,
	CONN_END_REGISTRATION_TIMEOUT,
	CONN_END_HANDSHAKE_TIMEOUT,
	CONN_END_SENDQ_EXCEEDED,
	CONN_END_EXCESS_FLOOD,
	CONN_END_BAD_PASSWORD,
	CONN_END_KILLED,
	CONN_END_TOO_MANY,       /* a proxied client over max-per-ip */
	CONN_END_PROTOCOL_ERROR, /* a bad TLS, WebSocket or PROXY exchange */
	CONN_END_HTTP_DONE,      /* an HTTP request was answered */
	CONN_END_SHUTDOWN,
	CONN_END_OTHER,          /* out of memory, a socket error, ... */
	CONN_ENDS
};

/* Why a connection was not let in (server/listener.c). */
enum conn_refusal {
	CONN_REFUSED_FULL,       /* max-clients */
	CONN_REFUSED_PER_IP,     /* max-per-ip */
	CONN_REFUSED_NO_MEMORY,
	CONN_REFUSED_NO_FDS,     /* out of file descriptors: shed at accept */
	CONN_REFUSALS
};

struct conn_stats {
	uint64_t accepted[CONN_STATS_SLOTS];
	uint64_t refused[CONN_REFUSALS];
	uint64_t lines_in[CONN_STATS_SLOTS];  /* lines handed to the door */
	uint64_t queued[CONN_STATS_SLOTS];    /* wire buffers queued (conn_send) */
	uint64_t bytes_in, bytes_out;         /* below the framer, above TLS and
	                                       * WebSocket framing */
	uint64_t flood_delays;                /* times flood control held a line */
	uint64_t tls_handshakes, tls_failures;
	uint64_t ended[CONN_ENDS];
};

/* The class of a close reason (NULL: CONN_END_OTHER); quit: the client
 * asked for it (CONN_CLOSE_QUIT), whatever its words. */
enum conn_end conn_end_of(const char *reason, int quit);
/* The metrics' label of e, of r ("sendq_exceeded", "server_full"). */
const char *conn_end_name(enum conn_end e);
const char *conn_refusal_name(enum conn_refusal r);

#endif
