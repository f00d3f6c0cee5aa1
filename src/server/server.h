/* The server: owns the loop, the hub, the configuration, the set of
 * connections and where they come from (listener.c), the doors'
 * environment and the worker pool; runs the loop, and before each sleep
 * writes what was queued and closes the dead. Signals and the orderly
 * shutdown are shutdown.c's, the deadlines over all conns sweep.c's. */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

#include "base/config.h"
#include "chat/hub.h"
#include "doors/door.h"
#include "net/conn_set.h"
#include "net/loop.h"
#include "net/tls.h"
#include "server/listener.h"

struct conn;
struct accounts;
struct cluster;
struct history;
struct rooms;
struct store;
struct worker_pool;

/* When the server started, as RPL_CREATED says it. */
#define SERVER_STARTED_MAX 64

struct server {
	struct loop *loop;
	struct config *cfg;             /* the caller's; a reload changes it in place */
	int argc;                       /* what parleyd started with: a reload reads */
	char **argv;                    /* the config file and the flags the same way */
	struct hub hub;
	struct conn_set conns;          /* every client connection */
	struct listeners listeners;     /* where they come from */
	struct tls_context tls;         /* for every tls listener */
	struct worker_pool *workers;    /* slow work off the loop */
	struct loop_io workers_io;      /* its eventfd: some work is done */
	struct store *store;            /* history's database, or NULL (history off) */
	struct history *history;        /* the hub's observer that fills it */
	struct accounts *accounts;      /* over store: NULL store, no accounts */
	struct rooms *rooms;            /* registered rooms kept (store/rooms.h) */
	struct cluster *cluster;        /* with cluster: the link to the other nodes */
	struct gate_stream published;   /* with cluster and history: its
	                                 * publishes, held as a conn's output */
	struct loop_io store_io;        /* its fd: an epoch is finished */
	int store_behind;               /* clients' lines wait for the store
	                                 * (STORE_BEHIND_MAX) */
	uint64_t behind_count;          /* times it was, since the last log line */
	uint64_t behind_logged_at;      /* loop_now of that line, or 0 */
	struct door_env env;            /* what doors may reach of all this */
	struct door_stats door_stats;   /* the doors' own counters (env.stats) */
	int metrics_on;                 /* a metrics-listen has been seen (reload.c) */
	char started[SERVER_STARTED_MAX];
	struct loop_timer idle_sweep;   /* sweep.c */
	uint64_t sweep_oldest;          /* the epoch in flight at its last run (sweep.c) */
	uint64_t sweep_held_at;         /* its last run that found the store holding
	                                 * the chat back: silence counts from it */
	struct loop_io log_io;          /* the log's fd, watched while lines wait */
	struct loop_io signals;         /* shutdown.c */
	struct loop_timer shutdown_deadline;
	uint64_t shutdown_by;           /* loop_now() by which the process is to exit */
};

/* Opens the database (with history on) and binds every listener; -1
 * (with one error line printed) when either cannot be done. */
int server_init(struct server *srv, struct config *cfg);
int server_run(struct server *srv);
void server_free(struct server *srv);

/* Counts c among the server's conns: accept does, after its checks; so
 * does a test that makes conns without a listener (tests/fuzz). */
void server_conn_add(struct server *srv, struct conn *c);
/* What the loop does before it sleeps: writes what was queued and closes
 * the dead, until neither has work. For tests that drive conns without
 * running the loop. */
void server_settle(struct server *srv);

#endif
