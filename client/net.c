#include "net.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wait.h"

/* Copies the n bytes at s into dst (size cap) as a string; -1 when they do
 * not fit. */
static int
copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int
port_valid(const char *p)
{
	if (*p == '\0' || strlen(p) > 5)
		return 0;
	for (const char *c = p; *c != '\0'; c++)
		if (*c < '0' || *c > '9')
			return 0;
	long v = strtol(p, NULL, 10);
	return v >= 1 && v <= 65535;
}

int
net_addr_parse(const char *arg, const char *default_port, struct net_addr *a,
    char *why, size_t whylen)
{
	const char *host = NET_DEFAULT_HOST, *port = default_port;
	size_t hostlen = strlen(host);

	if (arg == NULL)
		arg = "";
	const char *colon = strrchr(arg, ':');
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			snprintf(why, whylen, "bad address '%s': expected "
			    "[IPv6]:PORT", arg);
			return -1;
		}
		host = arg + 1;
		hostlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
	} else if (colon != NULL && strchr(arg, ':') == colon) {
		/* Exactly one colon: HOST:PORT, or :PORT for the default
		 * host. More than one is a bare IPv6 address. */
		if (colon > arg) {
			host = arg;
			hostlen = (size_t)(colon - arg);
		}
		port = colon + 1;
	} else if (arg[0] != '\0') {
		host = arg;
		hostlen = strlen(arg);
	}

	if (hostlen == 0 || copy_part(a->host, sizeof a->host, host,
	    hostlen) == -1) {
		snprintf(why, whylen, "bad host in '%s'", arg);
		return -1;
	}
	if (!port_valid(port)) {
		snprintf(why, whylen, "bad port in '%s': expected 1 to 65535",
		    arg);
		return -1;
	}
	snprintf(a->port, sizeof a->port, "%s", port);
	snprintf(a->shown, sizeof a->shown,
	    strchr(a->host, ':') != NULL ? "[%s]:%s" : "%s:%s",
	    a->host, a->port);
	return 0;
}

/* Waits for a non-blocking connect on fd to finish. Returns 0 or an errno
 * value: the connect's own error, ETIMEDOUT or EINTR when cancelled. */
static int
connect_wait(int fd, int timeout_ms, const volatile sig_atomic_t *cancel)
{
	int err = wait_fd(fd, POLLOUT, wait_now_ms() + timeout_ms, cancel);
	if (err != 0)
		return err;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

/* Tries one address. Returns a connected socket, or -1 with *err set. */
static int
connect_one(const struct addrinfo *ai, int timeout_ms,
    const volatile sig_atomic_t *cancel, int *err)
{
	int fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		*err = 0;
	else if (errno == EINPROGRESS)
		*err = connect_wait(fd, timeout_ms, cancel);
	else
		*err = errno;
	if (*err != 0) {
		close(fd);
		return -1;
	}
	/* Lines are small and typed one at a time: send each at once. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

int
net_connect(const struct net_addr *a, int timeout_ms,
    const volatile sig_atomic_t *cancel, char *why, size_t whylen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res;

	int gai = getaddrinfo(a->host, a->port, &hints, &res);
	if (gai != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", a->host,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -1;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_ms, cancel, &err);
		if (fd != -1 || err == EINTR)
			break;
	}
	freeaddrinfo(res);
	if (fd == -1 && err == EINTR)
		snprintf(why, whylen, "interrupted");
	else if (fd == -1)
		snprintf(why, whylen, "cannot connect to %s: %s", a->shown,
		    strerror(err));
	return fd;
}

int
outq_line(struct outq *q, const char *line, size_t len)
{
	if (len + 1 > outq_room(q))
		return -1;
	memcpy(q->buf + q->len, line, len);
	q->buf[q->len + len] = '\n';
	q->len += len + 1;
	return 0;
}

size_t
outq_room(const struct outq *q)
{
	return sizeof q->buf - q->len;
}

int
outq_flush(struct outq *q, struct link *l)
{
	size_t done = 0;

	while (done < q->len) {
		ssize_t n = link_write(l, q->buf + done, q->len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			return -1;
		done += (size_t)n;
	}
	memmove(q->buf, q->buf + done, q->len - done);
	q->len -= done;
	return 0;
}
