/* The server: listeners, the set of connections, signals and the orderly
 * shutdown; owns the loop, the hub and the configuration. */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

#include "base/addr.h"
#include "base/config.h"
#include "chat/hub.h"
#include "doors/door.h"
#include "net/loop.h"
#include "net/tls.h"

struct conn;
struct listener;
struct ip_count;

/* Conns linked through their prev and next. */
struct conn_list {
	struct conn *head, *tail;
};

struct server {
	struct loop *loop;
	const struct config *cfg;
	struct hub hub;
	struct listener *listeners;
	struct tls_context tls;         /* for every tls listener */
	struct conn_list conns;         /* registered conns, least recently active first */
	struct conn_list unregistered;  /* the others, oldest first: on the registration deadline */
	unsigned long nconns;
	struct conn *flush_list;        /* conns with fresh output */
	struct conn *reap_list;         /* conns to close and free */
	struct ip_count *ips;           /* uthash: conns per address */
	struct addr_net proxies[CONFIG_LIST_MAX]; /* proxy-from */
	int nproxies;
	struct loop_io signals;
	struct loop_timer idle_sweep;
	struct loop_timer shutdown_deadline;
	int shutting_down;
	uint64_t shutdown_by;           /* loop_now() by which the process is to exit */
	int reserve_fd;                 /* spare fd to shed connections at EMFILE */
	int refusals_logged;            /* a refusal was logged, at refusals_logged_at */
	uint64_t refusals_logged_at;
	unsigned long refusals_unlogged; /* refusals since, not logged */
	char started[64];               /* when, for IRC's RPL_CREATED */
	struct worker_pool *workers;    /* slow work off the loop */
	struct loop_io workers_io;      /* its eventfd: some work is done */
	struct door_env env;            /* what doors may reach of all this */
};

/* Binds every listener; -1 (with one error line printed) when one cannot
 * be bound. */
int server_init(struct server *srv, const struct config *cfg);
int server_run(struct server *srv);
void server_free(struct server *srv);

/* Counts c among the server's conns: accept does, after its checks; so
 * does a test that makes conns without a listener (tests/fuzz). */
void server_conn_add(struct server *srv, struct conn *c);
/* What the loop does before it sleeps: writes what was queued and closes
 * the dead, until neither has work. For tests that drive conns without
 * running the loop. */
void server_settle(struct server *srv);

/* For conn.c. */
void server_conn_touched(struct server *srv, struct conn *c);
/* A trusted proxy says the conn's client is at ss (NULL: the proxy
 * speaks for itself): the conn takes that address, for logs and for
 * max-per-ip. -1 when that address has too many already: then the conn
 * has been told so (as far as it can be before TLS) and killed. */
struct sockaddr_storage;
int server_conn_readdress(struct server *srv, struct conn *c,
    const struct sockaddr_storage *ss);
/* The conn's door has made its user: the registration deadline is met. */
void server_conn_registered(struct server *srv, struct conn *c);
void server_conn_flush_later(struct server *srv, struct conn *c);
void server_conn_reap_later(struct server *srv, struct conn *c);
void server_conn_gone(struct server *srv, struct conn *c);

#endif
