#include "server/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/log.h"
#include "base/worker.h"
#include "net/conn.h"
#include "net/gate.h"
#include "server/reload.h"
#include "server/privdrop.h"
#include "server/shutdown.h"
#include "server/sweep.h"
#include "accounts/accounts.h"
#include "cluster/cluster.h"
#include "store/history.h"
#include "store/rooms.h"
#include "store/store.h"

/* Conns flushed between two looks at the clock while shutting down. */
#define SHUTDOWN_CLOCK_EVERY 64

/* Conns flushed between two looks, with history, at whether an epoch in
 * flight has finished meanwhile (a load from memory: store_finished_peek). */
#define RELEASE_PEEK_EVERY 16

void
server_conn_add(struct server *srv, struct conn *c)
{
	listeners_conn_add(&srv->listeners, c);
}

/* Closes and frees the dead conns: their users quit first, which may kill
 * more conns (over their sendq) onto the list. A dead conn still on the
 * flush list waits for the next round. */
static void
reap_dead(struct server *srv)
{
	struct conn *c;
	while ((c = conn_set_next_reap(&srv->conns)) != NULL) {
		conn_drop_user(c, 1);
		listeners_conn_gone(&srv->listeners, c);
		conn_set_remove(&srv->conns, c);
		conn_destroy(c);
	}
}

/* Once a minute at most: the store held clients' lines back. */
#define BEHIND_LOG_MS 60000

/* conn_set's lines_wait: whether the store is behind (STORE_BEHIND_MAX
 * events not yet committed): then the chat doors' lines wait, until
 * store_caught_up. */
static int
store_lines_wait(void *ctx)
{
	struct server *srv = ctx;
	if (srv->store_behind || srv->store == NULL)
		return srv->store_behind;
	size_t unfinished = store_unfinished(srv->store);
	if (unfinished < STORE_BEHIND_MAX)
		return 0;
	srv->store_behind = 1;
	srv->behind_count++;
	uint64_t now = loop_now(srv->loop);
	if (srv->behind_logged_at == 0 || now - srv->behind_logged_at >= BEHIND_LOG_MS) {
		log_warn("history: the database is %zu events behind the chat: clients' lines"
		    " wait for it (%llu time%s since the last such line)", unfinished,
		    (unsigned long long)srv->behind_count, srv->behind_count == 1 ? "" : "s");
		srv->behind_logged_at = now;
		srv->behind_count = 0;
	}
	return 1;
}

/* After epochs finished: the lines that waited go on once the store is
 * back under STORE_BEHIND_RESUME. */
static void
store_caught_up(struct server *srv)
{
	if (srv->store_behind && store_unfinished(srv->store) <= STORE_BEHIND_RESUME) {
		srv->store_behind = 0;
		conn_set_lines_go(&srv->conns);
	}
}

/* Whether epochs in flight finished since the loop last heard: then the
 * conns they held are on the flush list, released. A look with no lock
 * and no syscall first; store_finished (which clears store_fd: the loop
 * is not woken again for them) only when one did. */
static int
release_finished(struct server *srv)
{
	uint64_t oldest = gate_oldest(&srv->conns.gate);
	if (oldest == 0 || store_finished_peek(srv->store) < oldest)
		return 0;
	gate_finished(&srv->conns, store_finished(srv->store));
	store_caught_up(srv);
	return 1;
}

static void
flush_pending(struct server *srv)
{
	unsigned n = 0;
	while (srv->conns.flush_list != NULL) {
		n++;
		/* Thousands of clients taking their last lines can take longer
		 * than shutdown has. */
		if (srv->conns.going_away && n % SHUTDOWN_CLOCK_EVERY == 0 &&
		    server_shutdown_overdue(srv))
			return;
		/* An epoch committed while the loop writes (a pass to 1,000
		 * members is some 5 ms of writes) releases its bytes to the
		 * conns not yet written in the same write as the older ones;
		 * the conns already written go back on the list and get them
		 * in this round, not in a round after this one. */
		if (srv->history != NULL && n % RELEASE_PEEK_EVERY == 0)
			release_finished(srv);
		struct conn *c = conn_set_next_flush(&srv->conns);
		/* With history, what it queued waits until the events it may
		 * show are stored (net/gate.h). */
		if (srv->history != NULL)
			gate_touched(&srv->conns.gate, c, history_pending(srv->history));
		conn_flush_pass(c);
	}
}

/* Before sleeping: write everything queued this round in one write per
 * conn, and close what died. Quits of the dead queue more output, so both
 * repeat until neither has work. */
void
server_settle(struct server *srv)
{
	while (conn_set_busy(&srv->conns) && !server_shutdown_overdue(srv)) {
		flush_pending(srv);
		reap_dead(srv);
	}
}

/* c's fresh output waits for the pending events (they are about to be
 * sealed); it stays on the flush list only when something of it may go
 * now: a conn whose every byte waits is put back by gate_finished, not
 * visited by this round's flush for nothing. */
static int
held_back(struct conn *c, void *gate)
{
	gate_touched(gate, c, 1);
	return conn_flush_wanted(c);
}

/* The events appended so far become the next epoch, in flight at once
 * beside those being committed (the writer takes every sealed epoch into
 * its next transaction), unless GATE_INFLIGHT_MAX are: then they wait
 * for the oldest to finish and go in one larger epoch. Every conn with
 * fresh output is told first that they are pending (its bytes wait for
 * them; held_back), and so is the stream. */
static void
seal_pending(struct server *srv)
{
	int pending = history_pending(srv->history);
	/* What this pass published waits as the conns' bytes do: the other
	 * nodes deliver it at once. */
	if (srv->conns.gate.stream != NULL)
		gate_stream_touched(&srv->conns.gate, cluster_pushed(srv->cluster), pending);
	if (!gate_can_seal(&srv->conns.gate) || !pending)
		return;
	conn_set_flush_sift(&srv->conns, held_back, &srv->conns.gate);
	/* 0: no memory for the epoch; the events and who waits for them
	 * wait for the next pass. store_fd says when it is done. */
	gate_sealed(&srv->conns, history_seal(srv->history));
}

/* Whether epochs in flight finished while the loop wrote the last of
 * its round (their conns are on the flush list now). */
static int
released_meanwhile(struct server *srv)
{
	return release_finished(srv) && conn_set_busy(&srv->conns);
}

/* Sealed before the pass that writes to the sockets, so that the writer
 * commits this round's events while the loop writes (with 1,000 members
 * a pass is some 5 ms of writes); what the commit released by the end
 * of the pass goes in the same pass, not in the next one after a wake-up
 * (a message's delivery waited a whole pass more than without history).
 * Sealed again after, for what the pass itself queued (the quits of the
 * dead). The epochs in flight are at most GATE_INFLIGHT_MAX: the passes
 * end. */
static void
history_seal_settled(struct server *srv)
{
	if (srv->history == NULL) {
		server_settle(srv);
		return;
	}
	seal_pending(srv);
	do
		server_settle(srv);
	while (released_meanwhile(srv) && !server_shutdown_overdue(srv));
	seal_pending(srv);
}

/* The log's reader can take more: what waited goes out. */
static void
on_log_writable(struct loop *loop, struct loop_io *io, unsigned events)
{
	(void)loop;
	(void)events;
	(void)io;
	log_flush();
}

/* Last thing before sleeping (this pass's lines are all in): the log's fd
 * is watched while lines wait for it. One epoll cannot watch (/dev/null):
 * its writes never wait, so they are made now. */
static void
log_watch(struct server *srv)
{
	unsigned want = log_pending() ? LOOP_WRITE : 0;
	if (srv->log_io.data == NULL || loop_io_set(srv->loop, &srv->log_io, want) < 0)
		log_flush();
}

static void
before_sleep(struct loop *loop, void *data)
{
	struct server *srv = data;
	(void)loop;
	history_seal_settled(srv);
	if (srv->conns.going_away && (srv->conns.count == 0 || server_shutdown_overdue(srv))) {
		if (srv->conns.count > 0)
			log_warn("shutdown: gave up waiting for %lu slow clients", srv->conns.count);
		loop_stop(srv->loop);
	}
	log_watch(srv);
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

/* An epoch is committed (or given up): what waited for it goes out. */
static void
on_store_finished(struct loop *loop, struct loop_io *io, unsigned events)
{
	(void)loop;
	(void)events;
	struct server *srv = io->data;
	gate_finished(&srv->conns, store_finished(srv->store));
	store_caught_up(srv);
}

/* With history on: the database, and the hub's observer that fills it;
 * its failures (data-dir, lock, corruption, schema) in one line. */
static int
history_open(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	if (!cfg->history)
		return 0;
	char err[512];
	const struct store_options o = {
		.database = cfg->database,
		.password_file = cfg->database_password_file,
		.dir = cfg->data_dir,
		.max_age_days = (uint32_t)cfg->history_max_age,
		.max_rows = (uint32_t)cfg->history_max_rows,
		.readers = (unsigned)cfg->workers,
	};
	if ((srv->store = store_open(&o, err, sizeof err)) == NULL) {
		fprintf(stderr, "parleyd: history: %s\n", err);
		return -1;
	}
	if (loop_io_add(srv->loop, &srv->store_io, store_fd(srv->store), LOOP_READ,
	    on_store_finished, srv) < 0 ||
	    (srv->history = history_new(&srv->hub, srv->store)) == NULL ||
	    (srv->rooms = rooms_new(&srv->hub, srv->store, srv->workers)) == NULL) {
		fprintf(stderr, "parleyd: history: cannot start: out of memory\n");
		return -1;
	}
	srv->conns.gate.on = 1;
	srv->conns.lines_wait = store_lines_wait;
	srv->conns.lines_ctx = srv;
	return 0;
}

/* Stops the workers (their queries read the database), then commits
 * what is pending and closes the database: at the end of a run, and of
 * server_free; once. */
static void
server_stop_work(struct server *srv)
{
	if (srv->workers != NULL) {
		loop_io_del(srv->loop, &srv->workers_io);
		worker_pool_free(srv->workers);
		srv->workers = srv->env.workers = NULL;
	}
	/* After the workers: every account job's done has run. */
	accounts_free(srv->accounts);
	srv->accounts = srv->env.accounts = NULL;
	rooms_free(srv->rooms);
	srv->rooms = NULL;
	if (srv->history != NULL) {
		history_free(srv->history);
		srv->history = NULL;
	}
	srv->conns.lines_wait = NULL;
	if (srv->store != NULL) {
		if (srv->store_io.data != NULL)
			loop_io_del(srv->loop, &srv->store_io);
		store_close(srv->store);
		srv->store = srv->env.store = NULL;
	}
}

/* A cluster's node may have missed registrations: the database's. */
static void
reload_rooms(void *ctx)
{
	rooms_reload(ctx);
}

int
server_init(struct server *srv, struct config *cfg)
{
	memset(srv, 0, sizeof *srv);
	srv->cfg = cfg;
	srv->listeners.reserve_fd = -1;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(srv->started, sizeof srv->started, "%Y-%m-%d %H:%M:%S UTC", &tm);
	/* Before anything is opened: an unknown user stops the start here. */
	struct privdrop drop;
	if (privdrop_prepare(&drop, cfg) < 0)
		return -1;
	hub_init(&srv->hub, cfg->topic_len, cfg->nick_len);
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
	static const struct door *const doors[] = { &plain_door, &irc_door, &web_door,
		&metrics_door, NULL };
	conn_set_init(&srv->conns, srv->loop, &(struct conn_limits){ 0 });
	server_apply_config(srv);
	srv->env = (struct door_env){
		.hub = &srv->hub,
		.cfg = cfg,
		.workers = srv->workers,
		.nconns = &srv->conns.count,
		.started = srv->started,
		.doors = doors,
		.stats = &srv->door_stats,
		.conns = &srv->conns,
	};
	histogram_init(&srv->door_stats.history_query_us, histogram_latency_us,
	    histogram_latency_us_n);
	/* Before the listeners, whose log lines would come before its error;
	 * no conn comes before the loop runs. */
	if (history_open(srv) < 0)
		return -1;
	srv->env.store = srv->store;
	/* Redis is reached (and our node id taken) before anyone comes: a
	 * Redis that is not there stops the start, in one line. */
	if (cfg->cluster != NULL &&
	    (srv->env.cluster = srv->cluster = cluster_start(&srv->hub, srv->loop, cfg)) == NULL)
		return -1;
	srv->env.cluster = srv->cluster;
	cluster_marker_listen(srv->cluster, irc_markread_heard, &srv->hub);
	cluster_back_listen(srv->cluster, reload_rooms, srv->rooms);
	/* A node with history publishes an event only once it is committed:
	 * no client of any node gets it before (net/gate.h's stream). */
	if (srv->cluster != NULL && srv->history != NULL) {
		uint64_t pushed = cluster_pushed(srv->cluster);
		srv->published = (struct gate_stream){ .release = pushed,
			.released = cluster_release_published, .ctx = srv->cluster };
		cluster_release_published(srv->cluster, pushed);
		srv->conns.gate.stream = &srv->published;
	}
	/* Accounts live in the same database: without it (history off),
	 * every account call says so. The registry of registered names is
	 * read now, before any client comes. */
	if ((srv->accounts = accounts_new(&srv->hub, srv->store, srv->workers)) == NULL) {
		fprintf(stderr, "parleyd: accounts: cannot read them from the database\n");
		return -1;
	}
	srv->env.accounts = srv->accounts;
	if (cfg->tls_cert != NULL && cfg->tls_key != NULL &&
	    tls_context_load(&srv->tls, cfg->tls_cert, cfg->tls_key) < 0)
		return -1;
	if (listeners_init(&srv->listeners, srv->loop, cfg, &srv->conns, &srv->tls,
	    &srv->env) < 0)
		return -1;
	char err[SERVER_LISTEN_ERROR_MAX];
	if (server_listen(srv, cfg, err, sizeof err) < 0) {
		fprintf(stderr, "parleyd: %s\n", err);
		return -1;
	}
	/* Every listener is bound, the TLS files read and the database
	 * open: root is given up (user, group) before anyone is served. */
	if (privdrop_apply(&drop, cfg->history && cfg->database == NULL ? cfg->data_dir : NULL) < 0)
		return -1;
	if (server_signals_open(srv) < 0) {
		fprintf(stderr, "parleyd: cannot set up signals: %s\n", strerror(errno));
		return -1;
	}
	if (log_fd() >= 0)
		loop_io_add(srv->loop, &srv->log_io, log_fd(), 0, on_log_writable, srv);
	server_sweep_start(srv);
	loop_set_before_sleep(srv->loop, before_sleep, srv);
	return 0;
}

/* Where history is and what is kept, said once, with "ready" (not at
 * open: a start that fails later must still be one line): an
 * operator's first questions. */
static void
history_say(const struct server *srv)
{
	const struct config *cfg = srv->cfg;
	if (srv->store == NULL) {
		log_info("history: off (nothing is stored)");
		return;
	}
	char age[32] = "forever", rows[48] = "any number of events a room";
	if (cfg->history_max_age > 0)
		snprintf(age, sizeof age, "%lu days", cfg->history_max_age);
	if (cfg->history_max_rows > 0)
		snprintf(rows, sizeof rows, "at most %lu events a room", cfg->history_max_rows);
	if (cfg->database != NULL && cfg->database[0] != '\0')
		log_info("history: in PostgreSQL (the config's database), kept %s, %s", age, rows);
	else
		log_info("history: in %s/%s (SQLite), kept %s, %s", cfg->data_dir,
		    STORE_SQLITE_FILE, age, rows);
}

int
server_run(struct server *srv)
{
	history_say(srv);
	log_info("parleyd %s ready as %s", PARLEY_VERSION, srv->cfg->server_name);
	int rc = loop_run(srv->loop);
	/* Whatever the exit does not free, the events still pending are
	 * committed (and the database closed cleanly). */
	server_stop_work(srv);
	log_info("stopped");
	return rc;
}

void
server_free(struct server *srv)
{
	listeners_close(&srv->listeners);
	conn_set_merge(&srv->conns);
	while (srv->conns.registered.head != NULL) {
		struct conn *c = srv->conns.registered.head;
		listeners_conn_gone(&srv->listeners, c);
		conn_set_remove(&srv->conns, c);
		conn_destroy(c);
	}
	/* After the conns: a reply a job was to finish finds its conn gone. */
	server_stop_work(srv);
	hub_clear(&srv->hub);
	/* After the hub's last event (the users' quits, published), before
	 * the loop its links are on. */
	cluster_free(srv->cluster);
	srv->cluster = srv->env.cluster = NULL;
	if (srv->loop != NULL) {
		if (srv->log_io.data != NULL)
			loop_io_del(srv->loop, &srv->log_io);
		server_signals_close(srv);
		loop_free(srv->loop);
	}
	listeners_free(&srv->listeners);
	tls_context_free(&srv->tls);
}
