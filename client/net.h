/* The client's side of the socket: where to connect, connecting, and the
 * queue of bytes waiting to be written. */
#ifndef PARLEY_NET_H
#define PARLEY_NET_H

#include <signal.h>
#include <stddef.h>

#include "link.h"

#define NET_DEFAULT_HOST "127.0.0.1"
#define NET_DEFAULT_PORT "7000"
#define NET_DEFAULT_TLS_PORT "7443"

struct net_addr {
	char host[256];   /* for getaddrinfo: a name, IPv4 or IPv6 (no []) */
	char port[8];     /* decimal, 1 to 65535 */
	char shown[272];  /* HOST:PORT for messages, [IPv6]:PORT */
};

/* Parses HOST, HOST:PORT, [IPv6]:PORT, [IPv6] or a bare IPv6 address;
 * NULL means the default host, a missing port default_port. Returns 0,
 * or -1 with a reason in why. */
int net_addr_parse(const char *arg, const char *default_port,
    struct net_addr *a, char *why, size_t whylen);

/* Connects to each address the name resolves to in turn, waiting at most
 * timeout_ms for each. Returns a non-blocking socket, or -1 with the whole
 * story in why ("cannot connect to HOST:PORT: Connection refused"). Gives
 * up early, with why "interrupted", when *cancel becomes nonzero. */
int net_connect(const struct net_addr *a, int timeout_ms,
    const volatile sig_atomic_t *cancel, char *why, size_t whylen);

/* Most bytes waiting to be written to the server. A person types far less;
 * piped input stops being read while the queue is this full. */
#define OUTQ_MAX (256 * 1024)

struct outq {
	char buf[OUTQ_MAX];
	size_t len;
};

/* Queues one line and its LF. Returns 0, or -1 when it does not fit. */
int outq_line(struct outq *q, const char *line, size_t len);
size_t outq_room(const struct outq *q);
/* Writes what the connection takes. Returns 0 (even if some is left), or
 * -1 with errno set when it is broken. */
int outq_flush(struct outq *q, struct link *l);

#endif
