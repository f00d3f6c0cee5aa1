#include "server/reload.h"

#include <stdio.h>
#include <sys/resource.h>

#include "base/config.h"
#include "base/log.h"
#include "doors/metrics.h"
#include "server/server.h"

/* Descriptors the server needs besides its clients': listeners, the
 * loop, signals, workers, a spare, the log. */
#define FD_SPARE 64

/* Room for every client plus listeners and spares, if the hard limit
 * allows; otherwise say how many clients really fit. */
static void
raise_fd_limit(const struct config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t want = (rlim_t)cfg->max_clients + FD_SPARE;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		log_warn("file descriptor limit %lu allows about %lu clients, not max-clients %lu",
		    (unsigned long)rl.rlim_cur, (unsigned long)(rl.rlim_cur - FD_SPARE),
		    cfg->max_clients);
}

/* The first metrics-listen (at start, or a reload that adds one): the
 * loop's passes timed, and the observer that counts messages. Without
 * any, neither costs anything; once on, they stay. */
static void
metrics_start(struct server *srv)
{
	if (srv->cfg->metrics_listen.n == 0 || srv->metrics_on)
		return;
	loop_measure_passes(srv->loop);
	if (hub_observe(&srv->hub, metrics_observe, &srv->door_stats) < 0)
		log_warn("metrics: no room for another hub observer: messages are not counted");
	srv->metrics_on = 1;
}

void
server_apply_config(struct server *srv)
{
	const struct config *cfg = srv->cfg;
	/* Read by each conn as it goes (conn_set's): the sendq bound and
	 * flood control hold for every conn from now on, the line length and
	 * handshake time for those that come. */
	srv->conns.limits = (struct conn_limits){
		.sendq = cfg->sendq,
		.max_line = cfg->max_line,
		.flood_rate = cfg->flood_rate,
		.flood_burst = (double)cfg->flood_burst,
		.handshake_ms = (uint64_t)cfg->handshake_timeout * 1000u,
	};
	srv->hub.max_rooms = (uint32_t)cfg->max_rooms;
	listeners_set_options(&srv->listeners);
	log_threshold = cfg->log_level;
	log_set_format(cfg->log_format);
	raise_fd_limit(cfg);
	metrics_start(srv);
}

/* Each listen option and the door behind it. */
static int
want_listeners(struct listeners *ls, const struct config *cfg, char *err, size_t errlen)
{
	const struct {
		const struct config_list *values;
		const struct door *door;
	} kinds[] = {
		{ &cfg->listen, &plain_door },
		{ &cfg->irc_listen, &irc_door },
		{ &cfg->web_listen, &web_door },
		{ &cfg->metrics_listen, &metrics_door },
	};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		for (int i = 0; i < kinds[k].values->n; i++)
			if (listener_want(ls, kinds[k].values->v[i], kinds[k].door, err, errlen) < 0)
				return -1;
	return 0;
}

int
server_listen(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	listeners_reload_begin(&srv->listeners);
	if (want_listeners(&srv->listeners, cfg, err, errlen) < 0) {
		listeners_reload_end(&srv->listeners, 0);
		return -1;
	}
	listeners_reload_end(&srv->listeners, 1);
	return 0;
}

void
server_reload(struct server *srv)
{
	if (srv->conns.going_away)
		return;
	log_info("SIGHUP: reading the configuration again");
	struct config fresh;
	if (config_reload(&fresh, srv->argc, srv->argv) != CONFIG_RUN) {
		log_error("SIGHUP: the configuration has an error: nothing changed");
		config_free(&fresh);
		return;
	}
	unsigned changed = config_reconcile(&fresh, srv->cfg);
	/* First what can fail, each undone if a later one does: the new
	 * listeners, then the certificate. */
	char err[SERVER_LISTEN_ERROR_MAX];
	listeners_reload_begin(&srv->listeners);
	if (want_listeners(&srv->listeners, &fresh, err, sizeof err) < 0) {
		log_error("SIGHUP: %s: nothing changed", err);
		listeners_reload_end(&srv->listeners, 0);
		config_free(&fresh);
		return;
	}
	if (fresh.tls_cert != NULL && fresh.tls_key != NULL &&
	    tls_context_reload(&srv->tls, fresh.tls_cert, fresh.tls_key) < 0) {
		log_error("SIGHUP: the TLS pair cannot be used: nothing changed");
		listeners_reload_end(&srv->listeners, 0);
		config_free(&fresh);
		return;
	}
	/* Then what cannot. The doors read srv->cfg (through their env) as
	 * they go: the same struct, with the new values. */
	listeners_reload_end(&srv->listeners, 1);
	listeners_set_proxies(&srv->listeners, &fresh, err, sizeof err);
	config_free(srv->cfg);
	*srv->cfg = fresh;
	server_apply_config(srv);
	log_info("SIGHUP: configuration reloaded, %u option%s changed", changed,
	    changed == 1 ? "" : "s");
}
