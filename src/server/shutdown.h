/* Signals and the orderly shutdown. SIGTERM or SIGINT: stop listening,
 * tell everyone, silence every conn before any user leaves (so nobody
 * hears of the others leaving), clear the hub at once, then flush what
 * is queued within a deadline. SIGHUP: load the TLS certificate again. */
#ifndef PARLEY_SHUTDOWN_H
#define PARLEY_SHUTDOWN_H

struct server;

/* Takes SIGTERM, SIGINT and SIGHUP through the loop (a signalfd), and
 * ignores SIGPIPE. -1 with errno when it cannot. */
int server_signals_open(struct server *srv);
void server_signals_close(struct server *srv);
/* Begins the shutdown (once), for why ("SIGTERM"). */
void server_shutdown(struct server *srv, const char *why);
/* Whether the shutdown has used its time: then nothing more is flushed,
 * and the loop stops. */
int server_shutdown_overdue(struct server *srv);

#endif
