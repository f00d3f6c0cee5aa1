#include "server/shutdown.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/log.h"
#include "cluster/cluster.h"
#include "net/conn.h"
#include "server/reload.h"
#include "server/server.h"
#include "server/sweep.h"

/* How long shutdown waits for queued output before exiting anyway, from
 * the signal; the flushing stops SHUTDOWN_TEARDOWN_MS before that, for
 * closing every socket and freeing what is left. */
#define SHUTDOWN_FLUSH_MS 2000
#define SHUTDOWN_TEARDOWN_MS 250

int
server_shutdown_overdue(struct server *srv)
{
	return srv->conns.going_away &&
	    loop_update_now(srv->loop) + SHUTDOWN_TEARDOWN_MS >= srv->shutdown_by;
}

static void
on_shutdown_deadline(struct loop *loop, struct loop_timer *timer)
{
	/* Only to wake the loop: its before-sleep step sees the time is up. */
	(void)loop;
	(void)timer;
}

void
server_shutdown(struct server *srv, const char *why)
{
	if (srv->conns.going_away)
		return;
	srv->conns.going_away = 1;
	/* From the signal (this loop pass began when it came), not from
	 * whenever the work below is done. */
	srv->shutdown_by = loop_now(srv->loop) + SHUTDOWN_FLUSH_MS;
	log_info("%s: shutting down, %lu clients", why, srv->conns.count);
	listeners_close(&srv->listeners);
	server_sweep_stop(srv);
	conn_set_merge(&srv->conns);
	for (struct conn *c = srv->conns.registered.head; c != NULL; c = c->next)
		if (c->state == CONN_OPEN)
			c->door->shutdown(c);
	for (struct conn *c = srv->conns.registered.head; c != NULL; c = c->next)
		conn_close(c, "Server shutting down", CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_KEEP_USER);
	/* Everyone leaves at once and nobody is told: one clearing of the
	 * hub, not a quit per user told to every other member of its rooms,
	 * which with thousands in one room took most of a second. */
	/* The other nodes of a cluster hear of it, as the clients do not. */
	cluster_leave(srv->cluster, "Server shutting down");
	for (struct conn *c = srv->conns.registered.head; c != NULL; c = c->next)
		conn_drop_user(c, 0);
	hub_clear(&srv->hub);
	loop_timer_init(&srv->shutdown_deadline, on_shutdown_deadline, srv);
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
			server_reload(srv);
	}
}

int
server_signals_open(struct server *srv)
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
	if (loop_io_add(srv->loop, &srv->signals, fd, LOOP_READ, on_signal, srv) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

void
server_signals_close(struct server *srv)
{
	if (srv->signals.fd > 0) {
		loop_io_del(srv->loop, &srv->signals);
		close(srv->signals.fd);
		srv->signals.fd = 0;
	}
}
