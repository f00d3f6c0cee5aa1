/* Where conns come from: the listening sockets (one door each, TLS or
 * not), accepting until EAGAIN, the per-address counts of max-per-ip,
 * reverse proxies (proxy-from: a PROXY header, or X-Forwarded-For, names
 * the client), and refusals, in each door's own words (its refuse). */
#ifndef PARLEY_LISTENER_H
#define PARLEY_LISTENER_H

#include <stdint.h>

#include "base/addr.h"
#include "base/config.h"

struct conn;
struct conn_set;
struct door;
struct ip_count;
struct listener;
struct loop;
struct tls_context;

struct listeners {
	struct loop *loop;
	const struct config *cfg;
	struct conn_set *conns;         /* where accepted conns go */
	struct tls_context *tls;        /* for tls listeners */
	void *env;                      /* every conn's env (struct door_env) */
	struct listener *list;
	struct ip_count *ips;           /* uthash: conns per address */
	struct addr_net proxies[CONFIG_LIST_MAX]; /* proxy-from */
	int nproxies;
	uint64_t conn_ids;              /* the last conn's id (its log lines' conn=) */
	int reserve_fd;                 /* spare fd to shed connections at EMFILE */
	int refusals_logged;            /* a refusal was logged, at refusals_logged_at */
	uint64_t refusals_logged_at;
	unsigned long refusals_unlogged; /* refusals since, not logged */
};

/* Before any listener: proxy-from is read, and conns (whose readdress
 * becomes ours) get env. -1 (with one error line printed) when proxy-from
 * names no address. */
int listeners_init(struct listeners *ls, struct loop *loop, const struct config *cfg,
    struct conn_set *conns, struct tls_context *tls, void *env);
/* proxy-from's networks, from cfg: -1 with err saying which is none. */
int listeners_set_proxies(struct listeners *ls, const struct config *cfg, char *err,
    size_t errlen);
/* Sets the options every accepted socket inherits (TCP_NODELAY, keepalive
 * from ping-interval and ping-timeout) on every listener again: a reload
 * may have changed them. */
void listeners_set_options(struct listeners *ls);
/* Listens on value (a listen option's "host:port [tls]") for door; -1
 * with err saying why when it cannot. */
int listener_open(struct listeners *ls, const char *value, const struct door *door, char *err,
    size_t errlen);
/* A reload, in three steps: begin; listener_want for each listen option
 * of the new config (an existing listener with that value and door stays,
 * another is opened; -1 with err when it cannot be); end, which commits
 * (closes the listeners not wanted: their conns stay) or aborts (closes
 * those opened since begin). */
void listeners_reload_begin(struct listeners *ls);
int listener_want(struct listeners *ls, const char *value, const struct door *door, char *err,
    size_t errlen);
void listeners_reload_end(struct listeners *ls, int commit);
/* Stops listening (a shutdown); what was accepted stays. */
void listeners_close(struct listeners *ls);
void listeners_free(struct listeners *ls);

/* c joins the conns, with its env: accept does, after its checks; so does
 * a test that makes conns without a listener. */
void listeners_conn_add(struct listeners *ls, struct conn *c);
/* c is going: it no longer counts for its address. */
void listeners_conn_gone(struct listeners *ls, struct conn *c);

#endif
