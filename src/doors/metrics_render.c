/* Every metric family, read when /metrics is asked for (see metrics.h):
 * from the conns' set, the loop, the hub, the store, the accounts and
 * /proc/self. Names follow Prometheus's conventions: the parley_ prefix,
 * units in the name, _total for counters. */
#include <stdio.h>

#include "accounts/accounts.h"
#include "base/procstat.h"
#include "base/version.h"
#include "chat/hub.h"
#include "chat/msg.h"
#include "cluster/cluster.h"
#include "doors/metrics.h"
#include "net/conn.h"
#include "net/conn_set.h"
#include "net/loop.h"
#include "store/store.h"

/* Microseconds shown as seconds. */
#define US_PER_S 1e6

/* A conn's transport, as the label says it. */
enum transport_kind { TK_TCP, TK_TLS, TK_WS, TK_WSS, TK_KINDS };

static const char *const transport_names[TK_KINDS] = { "tcp", "tls", "websocket",
	"websocket_tls" };

static enum transport_kind
transport_of(const struct conn *c)
{
	int ws = conn_websocket(c) != 0, tls = conn_secure(c);
	return ws ? (tls ? TK_WSS : TK_WS) : (tls ? TK_TLS : TK_TCP);
}

/* The door of each counter slot, by name ("plain"): NULL for a slot no
 * door of env uses. */
static void
slot_names(const struct door_env *env, const char *names[CONN_STATS_SLOTS])
{
	for (int i = 0; i < CONN_STATS_SLOTS; i++)
		names[i] = NULL;
	for (const struct door *const *d = env->doors; d != NULL && *d != NULL; d++)
		names[(*d)->conn.stats_slot] = (*d)->name;
}

/* A counter per door. */
static void
per_door(struct prom *p, const char *const names[CONN_STATS_SLOTS], const char *name,
    const char *help, const uint64_t v[CONN_STATS_SLOTS])
{
	prom_family(p, name, "counter", help);
	for (int i = 0; i < CONN_STATS_SLOTS; i++)
		if (names[i] != NULL)
			prom_uint(p, name, &(struct prom_label){ "door", names[i] }, 1, v[i]);
}

static void
counter(struct prom *p, const char *name, const char *help, uint64_t v)
{
	prom_family(p, name, "counter", help);
	prom_uint(p, name, NULL, 0, v);
}

static void
gauge(struct prom *p, const char *name, const char *help, double v)
{
	prom_family(p, name, "gauge", help);
	prom_double(p, name, NULL, 0, v);
}

/* The conns now: how many by door and transport, and their output
 * queued. A walk of every conn, on the loop: some microseconds per
 * thousand, and only when asked. */
static void
render_open(struct prom *p, const struct door_env *env, const char *const names[CONN_STATS_SLOTS])
{
	uint64_t open[CONN_STATS_SLOTS][TK_KINDS] = { { 0 } };
	uint64_t queued = 0;
	const struct conn_list *lists[] = { &env->conns->registered, &env->conns->unregistered };
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (const struct conn *c = lists[l]->head; c != NULL; c = c->next) {
			open[c->door->stats_slot][transport_of(c)]++;
			queued += c->out.bytes;
		}
	prom_family(p, "parley_connections", "gauge",
	    "Connections open now, by door and transport (a WebSocket counts under irc).");
	for (int i = 0; i < CONN_STATS_SLOTS; i++)
		for (int t = 0; t < TK_KINDS && names[i] != NULL; t++) {
			/* Only IRC goes over a WebSocket. */
			if ((t == TK_WS || t == TK_WSS) && i != DOOR_SLOT_IRC && open[i][t] == 0)
				continue;
			const struct prom_label l[] = { { "door", names[i] },
				{ "transport", transport_names[t] } };
			prom_uint(p, "parley_connections", l, 2, open[i][t]);
		}
	gauge(p, "parley_sendq_bytes",
	    "Output queued for clients now, in bytes, all connections together.",
	    (double)queued);
}

static void
render_conns(struct prom *p, const struct door_env *env)
{
	const struct conn_stats *st = &env->conns->stats;
	const char *names[CONN_STATS_SLOTS];
	slot_names(env, names);
	render_open(p, env, names);
	per_door(p, names, "parley_connections_accepted_total",
	    "Connections accepted, by door.", st->accepted);
	prom_family(p, "parley_connections_refused_total", "counter",
	    "Connections refused at accept, by reason.");
	for (int r = 0; r < CONN_REFUSALS; r++)
		prom_uint(p, "parley_connections_refused_total",
		    &(struct prom_label){ "reason", conn_refusal_name(r) }, 1, st->refused[r]);
	prom_family(p, "parley_disconnects_total", "counter",
	    "Connections ended, by reason.");
	for (int e = 0; e < CONN_ENDS; e++)
		prom_uint(p, "parley_disconnects_total",
		    &(struct prom_label){ "reason", conn_end_name(e) }, 1, st->ended[e]);
	per_door(p, names, "parley_lines_received_total",
	    "Lines received from clients and handled (IRC and plain commands and messages, HTTP request lines), by door.",
	    st->lines_in);
	per_door(p, names, "parley_deliveries_total",
	    "Lines queued for clients, by door: each event delivered to one client counts once, as does each reply.",
	    st->queued);
	counter(p, "parley_received_bytes_total",
	    "Bytes received from clients, after TLS and WebSocket decoding.", st->bytes_in);
	counter(p, "parley_sent_bytes_total",
	    "Bytes sent to clients, before WebSocket framing and TLS.", st->bytes_out);
	counter(p, "parley_flood_delayed_lines_total",
	    "Times flood control held a client's line back (it is handled later, not dropped).",
	    st->flood_delays);
	counter(p, "parley_tls_handshakes_total", "TLS handshakes completed.",
	    st->tls_handshakes);
	counter(p, "parley_tls_handshake_failures_total",
	    "TLS handshakes that failed, timed out or were abandoned.", st->tls_failures);
	prom_family(p, "parley_loop_iteration_duration_seconds", "histogram",
	    "Time the event loop spends per pass, from waking to waiting again.");
	prom_histogram(p, "parley_loop_iteration_duration_seconds", NULL, 0,
	    loop_passes(env->conns->loop), US_PER_S);
}

static void
render_chat(struct prom *p, const struct door_env *env)
{
	const struct hub *hub = env->hub;
	gauge(p, "parley_users", "Users connected (registered connections).", hub->nusers);
	gauge(p, "parley_rooms", "Rooms that exist.", hub->nrooms);
	gauge(p, "parley_registered_names", "Account names registered.", hub->naccounts);
	prom_family(p, "parley_messages_total", "counter",
	    "Messages, actions and notices said, each once however many receive it, by where to.");
	prom_uint(p, "parley_messages_total", &(struct prom_label){ "to", "room" }, 1,
	    env->stats->messages_room);
	prom_uint(p, "parley_messages_total", &(struct prom_label){ "to", "private" }, 1,
	    env->stats->messages_private);
	struct accounts_stats a;
	accounts_stats(env->accounts, &a);
	prom_family(p, "parley_logins_total", "counter",
	    "Logins (SASL PLAIN, SCRAM-SHA-256, EXTERNAL; NickServ IDENTIFY; /login), by result.");
	const struct { const char *result; uint64_t v; } logins[] = {
		{ "success", a.login_ok }, { "failure", a.login_failed },
		{ "throttled", a.login_throttled }, { "error", a.login_error },
	};
	for (size_t i = 0; i < sizeof logins / sizeof logins[0]; i++)
		prom_uint(p, "parley_logins_total", &(struct prom_label){ "result", logins[i].result },
		    1, logins[i].v);
}

/* With history on only: without it there is no store to count. */
static void
render_history(struct prom *p, const struct door_env *env)
{
	if (env->store == NULL)
		return;
	struct store_stats st;
	store_stats(env->store, &st);
	counter(p, "parley_history_events_written_total",
	    "Events committed to the history database.", st.committed);
	counter(p, "parley_history_events_dropped_total",
	    "Events not stored: their commit failed, or the pending batch was full.", st.dropped);
	counter(p, "parley_history_commit_failures_total", "History commits that failed.",
	    st.commits_failed);
	counter(p, "parley_history_events_pruned_total",
	    "Events deleted by retention (history-max-age, history-max-rows).", st.pruned);
	gauge(p, "parley_history_events_held",
	    "Events delivered while the database (PostgreSQL) is away, held in memory to be written when it returns.",
	    (double)st.held);
	counter(p, "parley_history_database_lost_total",
	    "Times the connection to the database (PostgreSQL) was lost.", st.lost);
	prom_family(p, "parley_history_commit_duration_seconds", "histogram",
	    "Time of one history transaction, BEGIN to COMMIT, on the writer thread.");
	prom_histogram(p, "parley_history_commit_duration_seconds", NULL, 0, &st.commit_us,
	    US_PER_S);
	prom_family(p, "parley_history_commit_events", "histogram",
	    "Events written by one history transaction (group commit's batch size).");
	prom_histogram(p, "parley_history_commit_events", NULL, 0, &st.commit_events, 1);
	prom_family(p, "parley_history_query_duration_seconds", "histogram",
	    "History queries (CHATHISTORY, SEARCH, /history, replay on join), from asking to the answer on the loop.");
	prom_histogram(p, "parley_history_query_duration_seconds", NULL, 0,
	    &env->stats->history_query_us, US_PER_S);
}

/* The families every Prometheus client library exports, with their
 * names and help. */
static void
render_process(struct prom *p)
{
	struct procstat ps;
	if (procstat_read(&ps) < 0)
		return;
	prom_family(p, "process_cpu_seconds_total", "counter",
	    "Total user and system CPU time spent in seconds.");
	prom_double(p, "process_cpu_seconds_total", NULL, 0, ps.cpu_seconds);
	gauge(p, "process_resident_memory_bytes", "Resident memory size in bytes.",
	    (double)ps.rss_bytes);
	gauge(p, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
	    (double)ps.vsize_bytes);
	gauge(p, "process_open_fds", "Number of open file descriptors.", (double)ps.open_fds);
	gauge(p, "process_max_fds", "Maximum number of open file descriptors.",
	    (double)ps.max_fds);
	gauge(p, "process_start_time_seconds",
	    "Start time of the process since unix epoch in seconds.", ps.start_time_seconds);
}

/* In a cluster only (cluster redis://...). */
static void
render_cluster(struct prom *p, const struct door_env *env)
{
	if (env->cluster == NULL)
		return;
	const struct cluster_stats *st = cluster_stats(env->cluster);
	counter(p, "parley_cluster_events_published_total",
	    "Events this node sent to the other nodes through Redis.", st->published);
	counter(p, "parley_cluster_events_unsent_total",
	    "Events not sent to the other nodes: Redis down or not keeping up.", st->unsent);
	const char *name = "parley_cluster_events_received_total";
	prom_family(p, name, "counter",
	    "Events of other nodes heard, by what became of them: applied here, a duplicate "
	    "(seen already, or told again), undecodable (the codec refused it), refused "
	    "(the hub could not apply it).");
	const struct { const char *result; uint64_t v; } got[] = {
		{ "applied", st->applied }, { "duplicate", st->duplicates },
		{ "undecodable", st->garbage }, { "refused", st->rejected },
	};
	for (size_t i = 0; i < sizeof got / sizeof got[0]; i++)
		prom_uint(p, name, &(struct prom_label){ "result", got[i].result }, 1, got[i].v);
	gauge(p, "parley_cluster_redis_up", "1 while both links to Redis are up.",
	    cluster_up(env->cluster) ? 1 : 0);
	counter(p, "parley_cluster_redis_reconnects_total",
	    "Outages of the links to Redis that ended.", st->reconnects);
	gauge(p, "parley_cluster_nodes", "Nodes alive at the last check, this one included.",
	    st->nodes);
	counter(p, "parley_cluster_nodes_reaped_total",
	    "Other nodes found dead (their heartbeat expired).", st->reaped);
	counter(p, "parley_cluster_users_dropped_total",
	    "Users of other nodes dropped here: their node died, or a netsplit.", st->dropped);
	counter(p, "parley_cluster_reasserts_total",
	    "Times this node told the others its users again.", st->reasserted);
	counter(p, "parley_cluster_nicks_renamed_total",
	    "Users of this node renamed: a user of another node had the nickname first.",
	    st->renamed);
}

void
metrics_render(const struct door_env *env, struct prom *p)
{
	prom_family(p, "parley_build_info", "gauge", "The running parleyd's version (always 1).");
	prom_uint(p, "parley_build_info", &(struct prom_label){ "version", PARLEY_VERSION }, 1, 1);
	render_conns(p, env);
	render_chat(p, env);
	render_history(p, env);
	render_cluster(p, env);
	render_process(p);
}

void
metrics_observe(void *ctx, struct msg *m, const struct audience *to)
{
	(void)to;
	struct door_stats *st = ctx;
	switch (m->kind) {
	case MSG_SAY:
	case MSG_ACTION:
	case MSG_NOTICE:
	case MSG_PRIVATE:
		if (m->room != NULL)
			st->messages_room++;
		else
			st->messages_private++;
		break;
	default:
		break;
	}
}
