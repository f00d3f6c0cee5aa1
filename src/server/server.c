#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/log.h"
#include "base/worker.h"
#include "doors/door.h"
#include "net/conn.h"
#include "net/tls.h"

/* How long shutdown waits for queued output before exiting anyway, from
 * the signal; the flushing stops SHUTDOWN_TEARDOWN_MS before that, for
 * closing every socket and freeing what is left. */
#define SHUTDOWN_FLUSH_MS 2000
#define SHUTDOWN_TEARDOWN_MS 250
/* Conns flushed between two looks at the clock while shutting down. */
#define SHUTDOWN_CLOCK_EVERY 64
#define IDLE_SWEEP_MS 1000
/* Refused connections are logged at most once this often. */
#define REFUSAL_LOG_MS 1000

struct listener {
	struct loop_io io;
	struct server *srv;
	const struct door *door;
	int tls;
	struct listener *next;
	char name[300];
};

struct ip_count {
	char key[ADDR_KEY_MAX];
	unsigned long n;
	UT_hash_handle hh;
};

/* The lists of conns. A registered conn moves to the tail of srv->conns
 * on input, so the list is ordered by last input and the idle sweep stops
 * at the first conn that is not idle. An unregistered one stays where it
 * came in, so srv->unregistered is ordered by arrival, the order of the
 * registration deadlines. */

static void
list_unlink(struct conn_list *list, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		list->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		list->tail = c->prev;
	c->prev = c->next = NULL;
}

static void
list_append(struct conn_list *list, struct conn *c)
{
	c->prev = list->tail;
	c->next = NULL;
	if (list->tail)
		list->tail->next = c;
	else
		list->head = c;
	list->tail = c;
}

static struct conn_list *
list_of(struct server *srv, const struct conn *c)
{
	return c->unregistered ? &srv->unregistered : &srv->conns;
}

void
server_conn_touched(struct server *srv, struct conn *c)
{
	if (c->unregistered || srv->conns.tail == c)
		return;
	list_unlink(&srv->conns, c);
	list_append(&srv->conns, c);
}

void
server_conn_registered(struct server *srv, struct conn *c)
{
	if (!c->unregistered)
		return;
	list_unlink(&srv->unregistered, c);
	c->unregistered = 0;
	c->last_input = loop_now(srv->loop);
	list_append(&srv->conns, c);
}

void
server_conn_add(struct server *srv, struct conn *c)
{
	c->env = &srv->env;
	c->unregistered = 1;
	list_append(&srv->unregistered, c);
	srv->nconns++;
}

/* Every conn in one list, for what concerns them all (shutdown). */
static void
lists_merge(struct server *srv)
{
	while (srv->unregistered.head != NULL) {
		struct conn *c = srv->unregistered.head;
		list_unlink(&srv->unregistered, c);
		c->unregistered = 0;
		list_append(&srv->conns, c);
	}
}

void
server_conn_flush_later(struct server *srv, struct conn *c)
{
	if (c->queued_flush)
		return;
	c->queued_flush = 1;
	c->flush_next = srv->flush_list;
	srv->flush_list = c;
}

void
server_conn_reap_later(struct server *srv, struct conn *c)
{
	if (c->queued_reap)
		return;
	c->queued_reap = 1;
	c->reap_next = srv->reap_list;
	srv->reap_list = c;
}

static void
ip_put(struct server *srv, struct ip_count *ip)
{
	if (--ip->n == 0) {
		HASH_DEL(srv->ips, ip);
		free(ip);
	}
}

static void
ip_release(struct server *srv, struct conn *c)
{
	if (c->ip == NULL)
		return;
	ip_put(srv, c->ip);
	c->ip = NULL;
}

void
server_conn_gone(struct server *srv, struct conn *c)
{
	list_unlink(list_of(srv, c), c);
	ip_release(srv, c);
	srv->nconns--;
}

/* Closes and frees the dead conns: their users quit first, which may kill
 * more conns (over their sendq) onto the list. A dead conn still on the
 * flush list waits for the next round. */
static void
reap_dead(struct server *srv)
{
	struct conn *keep = NULL;
	while (srv->reap_list != NULL) {
		struct conn *c = srv->reap_list;
		srv->reap_list = c->reap_next;
		if (c->queued_flush) {
			c->reap_next = keep;
			keep = c;
			continue;
		}
		conn_drop_user(c, 1);
		server_conn_gone(srv, c);
		conn_destroy(c);
	}
	srv->reap_list = keep;
}

/* Whether shutdown has used its time: then nothing more is flushed. */
static int
shutdown_overdue(struct server *srv)
{
	return srv->shutting_down &&
	    loop_update_now(srv->loop) + SHUTDOWN_TEARDOWN_MS >= srv->shutdown_by;
}

static void
flush_pending(struct server *srv)
{
	unsigned n = 0;
	while (srv->flush_list != NULL) {
		/* Thousands of clients taking their last lines can take longer
		 * than shutdown has. */
		if (srv->shutting_down && ++n % SHUTDOWN_CLOCK_EVERY == 0 && shutdown_overdue(srv))
			return;
		struct conn *c = srv->flush_list;
		srv->flush_list = c->flush_next;
		c->queued_flush = 0;
		c->flush_next = NULL;
		conn_flush(c);
	}
}

/* Before sleeping: write everything queued this round in one writev per
 * conn, and close what died. Quits of the dead queue more output, so both
 * repeat until neither has work. */
void
server_settle(struct server *srv)
{
	while ((srv->flush_list != NULL || srv->reap_list != NULL) && !shutdown_overdue(srv)) {
		flush_pending(srv);
		reap_dead(srv);
	}
}

static void
before_sleep(struct loop *loop, void *data)
{
	struct server *srv = data;
	(void)loop;
	server_settle(srv);
	if (srv->shutting_down && (srv->nconns == 0 || shutdown_overdue(srv))) {
		if (srv->nconns > 0)
			log_warn("shutdown: gave up waiting for %lu slow clients", srv->nconns);
		loop_stop(srv->loop);
	}
}

/* Accepting. */

/* One line per refusal would let one address that reconnects in a tight
 * loop write the log full: at most one a second, with how many were not
 * logged since. */
static void
log_refusal(struct server *srv, const char *addr, const char *why)
{
	uint64_t now = loop_now(srv->loop);
	if (srv->refusals_logged && now - srv->refusals_logged_at < REFUSAL_LOG_MS) {
		srv->refusals_unlogged++;
		return;
	}
	if (srv->refusals_unlogged > 0)
		log_info("%s: refused (%s); %lu more refused since the last such line",
		    addr, why, srv->refusals_unlogged);
	else
		log_info("%s: refused (%s)", addr, why);
	srv->refusals_logged = 1;
	srv->refusals_logged_at = now;
	srv->refusals_unlogged = 0;
}

/* A refusal costs one non-blocking write and a close: nothing is queued
 * for a client that is not let in. Over TLS nothing can be said before a
 * handshake, so nothing is. */
static void
refuse(const struct listener *l, int fd, const char *host, const char *addr,
    const char *why)
{
	char msg[512];
	int n = l->door->conn.refuse(msg, sizeof msg, host, why);
	if (!l->tls && n > 0)
		(void)!send(fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	log_refusal(l->srv, addr, why);
}

/* The count for host's address, made when it is the first; NULL when out
 * of memory. */
static struct ip_count *
ip_take(struct server *srv, const char *host)
{
	char key[ADDR_KEY_MAX];
	addr_key(host, key);
	struct ip_count *ip;
	HASH_FIND_STR(srv->ips, key, ip);
	if (ip == NULL) {
		if ((ip = calloc(1, sizeof *ip)) == NULL)
			return NULL;
		snprintf(ip->key, sizeof ip->key, "%s", key);
		HASH_ADD_STR(srv->ips, key, ip);
	}
	return ip;
}

/* Why one more connection from host may not be let in, or NULL: then it
 * is counted in *ipp. */
static const char *
admit_address(struct server *srv, const char *host, struct ip_count **ipp)
{
	struct ip_count *ip = ip_take(srv, host);
	if (ip == NULL)
		return "out of memory";
	if (srv->cfg->max_per_ip > 0 && ip->n >= srv->cfg->max_per_ip)
		return "too many connections from your address";
	ip->n++;
	*ipp = ip;
	return NULL;
}

/* Whether the peer is a reverse proxy that proxy-from names. */
static int
trusted_proxy(const struct server *srv, const struct sockaddr_storage *ss)
{
	for (int i = 0; i < srv->nproxies; i++)
		if (addr_net_match(&srv->proxies[i], ss))
			return 1;
	return 0;
}

int
server_conn_readdress(struct server *srv, struct conn *c,
    const struct sockaddr_storage *ss)
{
	char was[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN + 8];
	snprintf(was, sizeof was, "%s", conn_addr(c));
	if (ss != NULL) {
		char host[INET6_ADDRSTRLEN];
		addr_format(ss, host, sizeof host, addr, sizeof addr, &c->port);
		snprintf(c->host, sizeof c->host, "%s", host);
		log_info("%s: connected through the proxy at %s", addr, was);
	}
	struct ip_count *ip = NULL;
	const char *why = admit_address(srv, c->host, &ip);
	if (why != NULL) {
		/* Nothing has been said to this client yet, nor can be over TLS
		 * before the handshake. */
		char msg[512];
		int n = c->door->refuse(msg, sizeof msg, c->host, why);
		if (!conn_secure(c) && n > 0)
			(void)!send(c->io.fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		log_refusal(srv, conn_addr(c), why);
		conn_close(c, why, CONN_CLOSE_NOW);
		return -1;
	}
	ip_release(srv, c);
	c->ip = ip;
	return 0;
}

/* Keepalive is how a peer that has gone without a word (a machine
 * switched off, a network gone, a NAT that forgot the connection) is found
 * and its slot given back, on every door: after ping-interval seconds of
 * silence both ways the kernel probes, KEEPALIVE_PROBES times over
 * ping-timeout seconds. A client that is there answers from its kernel,
 * so an `nc` that only reads is never disturbed. And output a vanished
 * peer never acknowledges is given up after the same time, not after the
 * fifteen minutes of retransmissions TCP would otherwise spend. */
#define KEEPALIVE_PROBES 4

static void
socket_options(const struct config *cfg, int fd)
{
	/* Output is already gathered into one writev per conn per loop pass:
	 * Nagle would only add the client's delayed-ACK wait (~40 ms) to it. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int idle = (int)cfg->ping_interval;
	int interval = (int)(cfg->ping_timeout / KEEPALIVE_PROBES);
	int probes = KEEPALIVE_PROBES;
	unsigned user_timeout = (unsigned)(cfg->ping_interval + cfg->ping_timeout) * 1000u;
	/* The kernel takes at most MAX_TCP_KEEPIDLE, 32767 s, for either. */
	if (idle > 32767)
		idle = 32767;
	if (interval < 1)
		interval = 1;
	else if (interval > 32767)
		interval = 32767;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

static void
accept_one(struct server *srv, struct listener *l, int fd,
    const struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN], addr[INET6_ADDRSTRLEN + 8];
	uint16_t port;
	addr_format(ss, host, sizeof host, addr, sizeof addr, &port);
	if (srv->nconns >= srv->cfg->max_clients) {
		refuse(l, fd, host, addr, "the server is full");
		return;
	}
	/* A trusted proxy's connections count for the clients it names. */
	int proxied = trusted_proxy(srv, ss);
	struct ip_count *ip = NULL;
	const char *why = proxied ? NULL : admit_address(srv, host, &ip);
	if (why != NULL) {
		refuse(l, fd, host, addr, why);
		return;
	}
	socket_options(srv->cfg, fd);
	struct conn *c = conn_new(srv, fd, &l->door->conn, host, port, l->tls ? &srv->tls : NULL);
	if (c == NULL || (proxied && conn_expect_proxy(c) < 0)) {
		if (ip != NULL)
			ip_put(srv, ip);
		if (c != NULL) {
			conn_destroy(c); /* closes fd */
			log_info("%s: refused (out of memory)", addr);
		} else
			refuse(l, fd, host, addr, "out of memory");
		return;
	}
	c->ip = ip;
	server_conn_add(srv, c);
	log_info("%s: connected on %s", addr, l->name);
	conn_open(c);
}

/* Out of file descriptors, a pending connection would wake the loop
 * forever: give back the spare fd, take the connection and close it. */
static void
accept_shed(struct server *srv, int lfd)
{
	if (srv->reserve_fd < 0)
		return;
	close(srv->reserve_fd);
	int fd = accept(lfd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	log_warn("out of file descriptors: a connection was dropped");
}

static void
on_accept(struct loop *loop, struct loop_io *io, unsigned events)
{
	(void)loop;
	(void)events;
	struct listener *l = io->data;
	struct server *srv = l->srv;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				accept_shed(srv, io->fd);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept on %s: %s", l->name, strerror(errno));
			return;
		}
		accept_one(srv, l, fd, &ss);
	}
}

/* Listening. */

static int
listener_open(struct server *srv, const char *value, const struct door *door)
{
	char host[256], port[8], spec[300];
	int tls = config_listen_split(value, spec, sizeof spec);
	unsigned portnum;
	const char *why;
	if (config_hostport(spec, host, sizeof host, &portnum, &why) < 0) {
		fprintf(stderr, "parleyd: cannot listen on \"%s\": %s\n", spec, why);
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
		fprintf(stderr, "parleyd: cannot listen on %s: %s\n", spec, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	int err = 0;
	if (fd < 0)
		err = errno;
	else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (res->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0)
		err = errno;
	freeaddrinfo(res);
	if (err != 0) {
		fprintf(stderr, "parleyd: cannot listen on %s: %s\n", spec, strerror(err));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct listener *l = calloc(1, sizeof *l);
	if (l == NULL) {
		close(fd);
		return -1;
	}
	l->srv = srv;
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
	if (loop_io_add(srv->loop, &l->io, fd, LOOP_READ, on_accept, l) < 0) {
		close(fd);
		free(l);
		return -1;
	}
	l->next = srv->listeners;
	srv->listeners = l;
	log_info("listening on %s (%s%s)", l->name, door->name, tls ? ", tls" : "");
	return 0;
}

static void
listeners_close(struct server *srv)
{
	while (srv->listeners != NULL) {
		struct listener *l = srv->listeners;
		srv->listeners = l->next;
		loop_io_close(srv->loop, &l->io);
		free(l);
	}
}

/* Shutdown: stop listening, tell everyone, silence every conn before any
 * user leaves (so nobody is told of the others), flush with a deadline. */

static void
on_shutdown_deadline(struct loop *loop, struct loop_timer *timer)
{
	/* Only to wake the loop: its before-sleep step sees the time is up. */
	(void)loop;
	(void)timer;
}

static void
server_shutdown(struct server *srv, const char *signame)
{
	if (srv->shutting_down)
		return;
	srv->shutting_down = 1;
	/* From the signal (this loop pass began when it came), not from
	 * whenever the work below is done. */
	srv->shutdown_by = loop_now(srv->loop) + SHUTDOWN_FLUSH_MS;
	log_info("%s: shutting down, %lu clients", signame, srv->nconns);
	listeners_close(srv);
	loop_timer_stop(srv->loop, &srv->idle_sweep);
	lists_merge(srv);
	for (struct conn *c = srv->conns.head; c != NULL; c = c->next)
		if (c->state == CONN_OPEN)
			c->door->shutdown(c);
	for (struct conn *c = srv->conns.head; c != NULL; c = c->next)
		conn_close(c, "Server shutting down", CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_KEEP_USER);
	/* Everyone leaves at once and nobody is told: one clearing of the
	 * hub, not a quit per user told to every other member of its rooms,
	 * which with thousands in one room took most of a second. */
	for (struct conn *c = srv->conns.head; c != NULL; c = c->next)
		conn_drop_user(c, 0);
	hub_clear(&srv->hub);
	loop_timer_start(srv->loop, &srv->shutdown_deadline,
	    SHUTDOWN_FLUSH_MS - SHUTDOWN_TEARDOWN_MS);
}

static void
on_signal(struct loop *loop, struct loop_io *io, unsigned events)
{
	(void)loop;
	(void)events;
	struct server *srv = io->data;
	struct signalfd_siginfo si;
	while (read(io->fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM)
			server_shutdown(srv, "SIGTERM");
		else if (si.ssi_signo == SIGINT)
			server_shutdown(srv, "SIGINT");
		else if (si.ssi_signo == SIGHUP)
			tls_context_reload(&srv->tls);
	}
}

static int
signals_open(struct server *srv)
{
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	return loop_io_add(srv->loop, &srv->signals, fd, LOOP_READ, on_signal, srv);
}

/* Registration: a connection that has not become a user within
 * registration-timeout of arriving holds a slot for nothing; the list is
 * in order of arrival, so the sweep looks only at those that are late. */
static void
sweep_unregistered(struct server *srv, uint64_t now)
{
	uint64_t limit = (uint64_t)srv->cfg->registration_timeout * 1000u;
	if (limit == 0)
		return;
	for (struct conn *c = srv->unregistered.head; c != NULL; c = c->next) {
		if (now - c->last_input < limit)
			break;
		if (c->state == CONN_OPEN && c->handshake_by == 0) /* a handshake has its own deadline */
			conn_close(c, "Registration timed out", CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_FAREWELL);
	}
}

/* Silence: the list is ordered by last input, so the sweep looks only at
 * conns that really are silent, and wakes once a second at most whatever
 * the number of clients. A door that can (IRC) asks a silent client with
 * PING and drops it if it stays silent; idle-timeout drops anyone. */
static void
on_idle_sweep(struct loop *loop, struct loop_timer *timer)
{
	struct server *srv = timer->data;
	const struct config *cfg = srv->cfg;
	uint64_t idle_limit = (uint64_t)cfg->idle_timeout * 1000u;
	/* With no IRC listener (plain or over WebSocket), nobody can be
	 * pinged. */
	uint64_t ping_after = cfg->irc_listen.n || cfg->web_listen.n
	    ? (uint64_t)cfg->ping_interval * 1000u
	    : UINT64_MAX / 2;
	uint64_t ping_limit = ping_after + (uint64_t)cfg->ping_timeout * 1000u;
	uint64_t first = idle_limit && idle_limit < ping_after ? idle_limit : ping_after;
	uint64_t now = loop_now(loop);
	sweep_unregistered(srv, now);
	for (struct conn *c = srv->conns.head; c != NULL; c = c->next) {
		uint64_t idle = now - c->last_input;
		if (idle < first)
			break;
		if (c->state != CONN_OPEN || c->handshake_by != 0)
			continue; /* a handshake has its own deadline */
		if (idle_limit && idle >= idle_limit)
			conn_close(c, "Idle timeout", CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_FAREWELL);
		else if (c->door->ping == NULL)
			continue;
		else if (idle >= ping_limit) {
			char reason[64];
			snprintf(reason, sizeof reason, "Ping timeout: %lu seconds",
			    (unsigned long)(idle / 1000));
			conn_close(c, reason, CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_FAREWELL);
		} else if (!c->pinged) {
			c->pinged = 1;
			c->door->ping(c);
		}
	}
	loop_timer_start(loop, timer, IDLE_SWEEP_MS);
}

/* Room for every client plus listeners and spares, if the hard limit
 * allows; otherwise say how many clients really fit. */
static void
raise_fd_limit(const struct config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want = (rlim_t)cfg->max_clients + 64;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		log_warn("file descriptor limit %lu allows about %lu clients, not max-clients %lu",
		    (unsigned long)rl.rlim_cur, (unsigned long)(rl.rlim_cur - 64),
		    cfg->max_clients);
}

/* Some slow work is done: its results go to whoever asked, on the loop. */
static void
on_workers_done(struct loop *loop, struct loop_io *io, unsigned events)
{
	(void)loop;
	(void)events;
	struct server *srv = io->data;
	worker_pool_reap(srv->workers);
}

int
server_init(struct server *srv, const struct config *cfg)
{
	memset(srv, 0, sizeof *srv);
	srv->cfg = cfg;
	srv->reserve_fd = -1;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(srv->started, sizeof srv->started, "%Y-%m-%d %H:%M:%S UTC", &tm);
	hub_init(&srv->hub, cfg->topic_len, cfg->nick_len);
	srv->hub.max_rooms = (uint32_t)cfg->max_rooms;
	hub_set_node(&srv->hub, (uint16_t)cfg->node_id);
	if ((srv->loop = loop_new()) == NULL) {
		fprintf(stderr, "parleyd: cannot create the event loop: %s\n", strerror(errno));
		return -1;
	}
	if ((srv->workers = worker_pool_new((unsigned)cfg->workers, WORKER_QUEUE_MAX)) == NULL ||
	    loop_io_add(srv->loop, &srv->workers_io, worker_pool_fd(srv->workers), LOOP_READ,
	    on_workers_done, srv) < 0) {
		fprintf(stderr, "parleyd: cannot start the worker threads: %s\n", strerror(errno));
		return -1;
	}
	static const struct door *const doors[] = { &plain_door, &irc_door, &web_door, NULL };
	srv->env = (struct door_env){
		.hub = &srv->hub,
		.cfg = cfg,
		.workers = srv->workers,
		.nconns = &srv->nconns,
		.started = srv->started,
		.doors = doors,
	};
	raise_fd_limit(cfg);
	if (cfg->tls_cert != NULL && cfg->tls_key != NULL &&
	    tls_context_load(&srv->tls, cfg->tls_cert, cfg->tls_key) < 0)
		return -1;
	for (int i = 0; i < cfg->listen.n; i++)
		if (listener_open(srv, cfg->listen.v[i], &plain_door) < 0)
			return -1;
	for (int i = 0; i < cfg->irc_listen.n; i++)
		if (listener_open(srv, cfg->irc_listen.v[i], &irc_door) < 0)
			return -1;
	for (int i = 0; i < cfg->web_listen.n; i++)
		if (listener_open(srv, cfg->web_listen.v[i], &web_door) < 0)
			return -1;
	for (int i = 0; i < cfg->proxy_from.n; i++)
		if (addr_net_parse(cfg->proxy_from.v[i], &srv->proxies[srv->nproxies++]) < 0) {
			fprintf(stderr, "parleyd: proxy-from %s: not an address\n", cfg->proxy_from.v[i]);
			return -1;
		}
	if (signals_open(srv) < 0) {
		fprintf(stderr, "parleyd: cannot set up signals: %s\n", strerror(errno));
		return -1;
	}
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	loop_timer_init(&srv->shutdown_deadline, on_shutdown_deadline, srv);
	loop_timer_init(&srv->idle_sweep, on_idle_sweep, srv);
	loop_timer_start(srv->loop, &srv->idle_sweep, IDLE_SWEEP_MS);
	loop_set_before_sleep(srv->loop, before_sleep, srv);
	return 0;
}

int
server_run(struct server *srv)
{
	log_info("parleyd %s ready as %s", PARLEY_VERSION, srv->cfg->server_name);
	int rc = loop_run(srv->loop);
	log_info("stopped");
	return rc;
}

void
server_free(struct server *srv)
{
	listeners_close(srv);
	lists_merge(srv);
	while (srv->conns.head != NULL) {
		struct conn *c = srv->conns.head;
		server_conn_gone(srv, c);
		conn_destroy(c);
	}
	/* After the conns: a reply a job was to finish finds its conn gone. */
	if (srv->workers != NULL) {
		loop_io_del(srv->loop, &srv->workers_io);
		worker_pool_free(srv->workers);
	}
	hub_clear(&srv->hub);
	if (srv->loop != NULL) {
		if (srv->signals.fd > 0) {
			loop_io_del(srv->loop, &srv->signals);
			close(srv->signals.fd);
		}
		loop_free(srv->loop);
	}
	if (srv->reserve_fd >= 0)
		close(srv->reserve_fd);
	tls_context_free(&srv->tls);
}
