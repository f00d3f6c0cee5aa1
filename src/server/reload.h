/* The configuration, applied: at start, and again when SIGHUP reads the
 * config file anew. What a reload changes and what only a restart does is
 * the option table's (base/config.c, LIVE or RESTART). */
#ifndef PARLEY_RELOAD_H
#define PARLEY_RELOAD_H

#include <stddef.h>

struct config;
struct server;

/* Room for a listener's error. */
#define SERVER_LISTEN_ERROR_MAX 512

/* Listens where cfg says, keeping the listeners already open there and
 * closing the others (their conns stay): all or nothing, -1 with err
 * saying which address could not be bound, and the listeners as they
 * were. */
int server_listen(struct server *srv, const struct config *cfg, char *err, size_t errlen);
/* What the loop takes from srv->cfg rather than reading it each time:
 * the conns' limits, the hub's room count, the log's level and format,
 * the fd limit for max-clients. */
void server_apply_config(struct server *srv);
/* SIGHUP: reads the config file (and the flags, which still win) again.
 * A file with an error changes nothing; otherwise every LIVE option takes
 * effect, listeners open and close, a RESTART one that changed says so in
 * the log and keeps its value. Nobody is disconnected. */
void server_reload(struct server *srv);

#endif
