#include "server/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uthash.h>
#include <unistd.h>

#include "base/log.h"
#include "doors/door.h"
#include "net/conn.h"
#include "net/conn_log.h"
#include "net/conn_set.h"
#include "net/loop.h"

/* Refused connections are logged at most once this often. */
#define REFUSAL_LOG_MS 1000
/* A refusal, in the door's words: one short line, or an HTTP 503. */
#define REFUSAL_MAX 512
/* A listen option's value, and its host part. */
#define LISTEN_SPEC_MAX 300
#define LISTEN_HOST_MAX 256
/* "65535" and its NUL, with room to spare. */
#define LISTEN_PORT_MAX 8
/* Keepalive is how a peer that has gone without a word (a machine
 * switched off, a network gone, a NAT that forgot the connection) is found
 * and its slot given back, on every door: after ping-interval seconds of
 * silence both ways the kernel probes, KEEPALIVE_PROBES times over
 * ping-timeout seconds. A client that is there answers from its kernel,
 * so an `nc` that only reads is never disturbed. And output a vanished
 * peer never acknowledges is given up after the same time, not after the
 * fifteen minutes of retransmissions TCP would otherwise spend. */
#define KEEPALIVE_PROBES 4
/* The most the kernel takes for the keepalive idle time or interval
 * (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL), in seconds. */
#define KEEPALIVE_SECONDS_MAX 32767

struct listener {
	struct loop_io io;
	struct listeners *ls;
	const struct door *door;
	int tls;
	unsigned wanted : 1;            /* a reload: the new config names it */
	unsigned fresh : 1;             /* a reload: opened by it, closed if it fails */
	struct listener *next;
	char name[LISTEN_SPEC_MAX];     /* the address bound, for the log */
	char value[LISTEN_SPEC_MAX];    /* the option's value, as a reload compares it */
};

struct ip_count {
	char key[ADDR_KEY_MAX];
	unsigned long n;
	UT_hash_handle hh;
};

/* Per-address counts (max-per-ip). */

/* The count for host's address, made when it is the first; NULL when out
 * of memory. */
static struct ip_count *
ip_take(struct listeners *ls, const char *host)
{
	char key[ADDR_KEY_MAX];
	addr_key(host, key);
	struct ip_count *ip;
	HASH_FIND_STR(ls->ips, key, ip);
	if (ip == NULL) {
		if ((ip = calloc(1, sizeof *ip)) == NULL)
			return NULL;
		snprintf(ip->key, sizeof ip->key, "%s", key);
		HASH_ADD_STR(ls->ips, key, ip);
	}
	return ip;
}

static void
ip_put(struct listeners *ls, struct ip_count *ip)
{
	if (--ip->n == 0) {
		HASH_DEL(ls->ips, ip);
		free(ip);
	}
}

/* Why one more connection from host may not be let in, or NULL: then it
 * is counted in *ipp. */
static const char *
admit_address(struct listeners *ls, const char *host, struct ip_count **ipp)
{
	struct ip_count *ip = ip_take(ls, host);
	if (ip == NULL)
		return "out of memory";
	if (ls->cfg->max_per_ip > 0 && ip->n >= ls->cfg->max_per_ip)
		return "too many connections from your address";
	ip->n++;
	*ipp = ip;
	return NULL;
}

void
listeners_conn_gone(struct listeners *ls, struct conn *c)
{
	if (c->ip == NULL)
		return;
	ip_put(ls, c->ip);
	c->ip = NULL;
}

/* Refusals. */

/* One line per refusal would let one address that reconnects in a tight
 * loop write the log full: at most one a second, with how many were not
 * logged since. */
static void
log_refusal(struct listeners *ls, const char *addr, const char *why)
{
	uint64_t now = loop_now(ls->loop);
	if (ls->refusals_logged && now - ls->refusals_logged_at < REFUSAL_LOG_MS) {
		ls->refusals_unlogged++;
		return;
	}
	if (ls->refusals_unlogged > 0)
		log_info("%s: refused (%s); %lu more refused since the last such line",
		    addr, why, ls->refusals_unlogged);
	else
		log_info("%s: refused (%s)", addr, why);
	ls->refusals_logged = 1;
	ls->refusals_logged_at = now;
	ls->refusals_unlogged = 0;
}

/* A refusal costs one non-blocking write: nothing is queued for a client
 * that is not let in. Over TLS nothing can be said before a handshake, so
 * nothing is. */
static void
refusal_send(const struct conn_handler *h, int fd, int tls, const char *host,
    const char *why)
{
	char msg[REFUSAL_MAX];
	int n = h->refuse(msg, sizeof msg, host, why);
	if (!tls && n > 0)
		(void)!send(fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void
refuse(struct listener *l, int fd, const char *host, const char *addr, const char *why,
    enum conn_refusal counted)
{
	l->ls->conns->stats.refused[counted]++;
	refusal_send(&l->door->conn, fd, l->tls, host, why);
	close(fd);
	log_refusal(l->ls, addr, why);
}

/* Reverse proxies. */

/* Whether the peer is a reverse proxy that proxy-from names. */
static int
trusted_proxy(const struct listeners *ls, const struct sockaddr_storage *ss)
{
	for (int i = 0; i < ls->nproxies; i++)
		if (addr_net_match(&ls->proxies[i], ss))
			return 1;
	return 0;
}

/* conn_set's readdress: a trusted proxy says the conn's client is at ss
 * (NULL: the proxy speaks for itself). The conn takes that address, for
 * logs and for max-per-ip; -1 when that address has too many already:
 * then the conn has been told so (as far as it can be before TLS) and
 * closed. */
static int
listeners_readdress(void *owner, struct conn *c, const struct sockaddr_storage *ss)
{
	struct listeners *ls = owner;
	char was[ADDR_HOSTPORT_MAX], addr[ADDR_HOSTPORT_MAX];
	conn_addr(c, was);
	if (ss != NULL) {
		char host[INET6_ADDRSTRLEN];
		addr_format(ss, host, sizeof host, addr, sizeof addr, &c->port);
		snprintf(c->host, sizeof c->host, "%s", host);
		conn_log(c, LOG_INFO, "%s: connected through the proxy at %s", addr, was);
	}
	struct ip_count *ip = NULL;
	const char *why = admit_address(ls, c->host, &ip);
	if (why != NULL) {
		/* Nothing has been said to this client yet. */
		refusal_send(c->door, c->io.fd, conn_secure(c), c->host, why);
		log_refusal(ls, conn_addr(c, addr), why);
		conn_close(c, why, CONN_CLOSE_NOW);
		return -1;
	}
	listeners_conn_gone(ls, c);
	c->ip = ip;
	return 0;
}

/* Accepting. */

/* The options every client socket gets, set on the listening socket:
 * Linux copies a listener's TCP_NODELAY, keepalive and user timeout into
 * each socket accept() returns, which saves six setsockopt calls a
 * connection (a tenth of the syscalls of a client that registers and
 * joins). Set again on every listener when the config changes. */
static void
socket_options(const struct config *cfg, int fd)
{
	/* Output is already gathered into one write per conn per loop pass:
	 * Nagle would only add the client's delayed-ACK wait (~40 ms) to it. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int idle = (int)cfg->ping_interval;
	int interval = (int)(cfg->ping_timeout / KEEPALIVE_PROBES);
	int probes = KEEPALIVE_PROBES;
	unsigned user_timeout = (unsigned)(cfg->ping_interval + cfg->ping_timeout) * 1000u;
	if (idle > KEEPALIVE_SECONDS_MAX)
		idle = KEEPALIVE_SECONDS_MAX;
	if (interval < 1)
		interval = 1;
	else if (interval > KEEPALIVE_SECONDS_MAX)
		interval = KEEPALIVE_SECONDS_MAX;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

void
listeners_set_options(struct listeners *ls)
{
	for (struct listener *l = ls->list; l != NULL; l = l->next)
		socket_options(ls->cfg, l->io.fd);
}

void
listeners_conn_add(struct listeners *ls, struct conn *c)
{
	c->env = ls->env;
	c->id = ++ls->conn_ids;
	conn_set_add(ls->conns, c);
}

static void
accept_one(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	struct listeners *ls = l->ls;
	char host[INET6_ADDRSTRLEN], addr[ADDR_HOSTPORT_MAX];
	uint16_t port;
	addr_format(ss, host, sizeof host, addr, sizeof addr, &port);
	if (ls->conns->count >= ls->cfg->max_clients) {
		refuse(l, fd, host, addr, "the server is full", CONN_REFUSED_FULL);
		return;
	}
	/* A trusted proxy's connections count for the clients it names. */
	int proxied = trusted_proxy(ls, ss);
	struct ip_count *ip = NULL;
	const char *why = proxied ? NULL : admit_address(ls, host, &ip);
	if (why != NULL) {
		refuse(l, fd, host, addr, why,
		    strcmp(why, "out of memory") == 0 ? CONN_REFUSED_NO_MEMORY : CONN_REFUSED_PER_IP);
		return;
	}
	struct conn *c = conn_new(ls->conns, fd, &l->door->conn, host, port,
	    l->tls ? ls->tls : NULL);
	if (c == NULL || (proxied && conn_expect_proxy(c) < 0)) {
		if (ip != NULL)
			ip_put(ls, ip);
		if (c != NULL) {
			conn_destroy(c); /* closes fd */
			ls->conns->stats.refused[CONN_REFUSED_NO_MEMORY]++;
			log_info("%s: refused (out of memory)", addr);
		} else
			refuse(l, fd, host, addr, "out of memory", CONN_REFUSED_NO_MEMORY);
		return;
	}
	ls->conns->stats.accepted[l->door->conn.stats_slot]++;
	c->ip = ip;
	listeners_conn_add(ls, c);
	conn_log(c, LOG_INFO, "%s: connected on %s", addr, l->name);
	conn_open(c);
}

/* Out of file descriptors, a pending connection would wake the loop
 * forever: give back the spare fd, take the connection and close it. */
static void
accept_shed(struct listeners *ls, int lfd)
{
	if (ls->reserve_fd < 0)
		return;
	close(ls->reserve_fd);
	int fd = accept(lfd, NULL, NULL);
	if (fd >= 0) {
		close(fd);
		ls->conns->stats.refused[CONN_REFUSED_NO_FDS]++;
	}
	ls->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	log_warn("out of file descriptors: a connection was dropped");
}

static void
on_accept(struct loop *loop, struct loop_io *io, unsigned events)
{
	(void)loop;
	(void)events;
	struct listener *l = io->data;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				accept_shed(l->ls, io->fd);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept on %s: %s", l->name, strerror(errno));
			return;
		}
		accept_one(l, fd, &ss);
	}
}

/* Listening. */

int
listeners_set_proxies(struct listeners *ls, const struct config *cfg, char *err, size_t errlen)
{
	struct addr_net proxies[CONFIG_LIST_MAX];
	for (int i = 0; i < cfg->proxy_from.n; i++)
		if (addr_net_parse(cfg->proxy_from.v[i], &proxies[i]) < 0) {
			snprintf(err, errlen, "proxy-from %s: not an address", cfg->proxy_from.v[i]);
			return -1;
		}
	memcpy(ls->proxies, proxies, sizeof proxies);
	ls->nproxies = cfg->proxy_from.n;
	return 0;
}

int
listeners_init(struct listeners *ls, struct loop *loop, const struct config *cfg,
    struct conn_set *conns, struct tls_context *tls, void *env)
{
	*ls = (struct listeners){
		.loop = loop,
		.cfg = cfg,
		.conns = conns,
		.tls = tls,
		.env = env,
		.reserve_fd = -1,
	};
	conns->readdress = listeners_readdress;
	conns->owner = ls;
	char err[LISTEN_SPEC_MAX + 64];
	if (listeners_set_proxies(ls, cfg, err, sizeof err) < 0) {
		fprintf(stderr, "parleyd: %s\n", err);
		return -1;
	}
	ls->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

int
listener_open(struct listeners *ls, const char *value, const struct door *door, char *err,
    size_t errlen)
{
	char host[LISTEN_HOST_MAX], port[LISTEN_PORT_MAX], spec[LISTEN_SPEC_MAX];
	int tls = config_listen_split(value, spec, sizeof spec);
	unsigned portnum;
	const char *why;
	if (config_hostport(spec, host, sizeof host, &portnum, &why) < 0) {
		snprintf(err, errlen, "cannot listen on \"%s\": %s", spec, why);
		return -1;
	}
	snprintf(port, sizeof port, "%u", portnum);
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	}, *res;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	int e = 0;
	if (fd < 0)
		e = errno;
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (res->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0)
		e = errno;
	freeaddrinfo(res);
	if (e != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct listener *l = calloc(1, sizeof *l);
	if (l == NULL) {
		snprintf(err, errlen, "cannot listen on %s: out of memory", spec);
		close(fd);
		return -1;
	}
	l->ls = ls;
	l->door = door;
	l->tls = tls;
	/* The address really bound: port 0 is the kernel's choice. */
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	char bound_host[INET6_ADDRSTRLEN];
	uint16_t bound_port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		addr_format(&ss, bound_host, sizeof bound_host, l->name, sizeof l->name,
		    &bound_port);
	else
		snprintf(l->name, sizeof l->name, "%s", spec);
	snprintf(l->value, sizeof l->value, "%s", value);
	socket_options(ls->cfg, fd);
	if (loop_io_add(ls->loop, &l->io, fd, LOOP_READ, on_accept, l) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		close(fd);
		free(l);
		return -1;
	}
	l->next = ls->list;
	ls->list = l;
	log_info("listening on %s (%s%s)", l->name, door->name, tls ? ", tls" : "");
	return 0;
}

void
listeners_close(struct listeners *ls)
{
	while (ls->list != NULL) {
		struct listener *l = ls->list;
		ls->list = l->next;
		loop_io_close(ls->loop, &l->io);
		free(l);
	}
}

/* A reload: which listeners the new config wants, opening those it adds,
 * and then either closing those it no longer names (commit) or those it
 * opened (abort). */

void
listeners_reload_begin(struct listeners *ls)
{
	for (struct listener *l = ls->list; l != NULL; l = l->next)
		l->wanted = l->fresh = 0;
}

int
listener_want(struct listeners *ls, const char *value, const struct door *door, char *err,
    size_t errlen)
{
	for (struct listener *l = ls->list; l != NULL; l = l->next)
		if (!l->wanted && l->door == door && strcmp(l->value, value) == 0) {
			l->wanted = 1;
			return 0;
		}
	if (listener_open(ls, value, door, err, errlen) < 0)
		return -1;
	ls->list->wanted = ls->list->fresh = 1;
	return 0;
}

void
listeners_reload_end(struct listeners *ls, int commit)
{
	for (struct listener **lp = &ls->list; *lp != NULL;) {
		struct listener *l = *lp;
		if (commit ? l->wanted : !l->fresh) {
			lp = &l->next;
			continue;
		}
		if (commit)
			log_info("no longer listening on %s (%s%s); its connections stay", l->name,
			    l->door->name, l->tls ? ", tls" : "");
		*lp = l->next;
		loop_io_close(ls->loop, &l->io);
		free(l);
	}
}

void
listeners_free(struct listeners *ls)
{
	listeners_close(ls);
	if (ls->reserve_fd >= 0)
		close(ls->reserve_fd);
	ls->reserve_fd = -1;
}
