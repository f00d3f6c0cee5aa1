/* Metrics (metrics-listen): the server's counters in the Prometheus text
 * format (version 0.0.4), answered to GET /metrics on a listener of its
 * own, by a small HTTP door (metrics.c) over the web door's request
 * parser (net/http.h). What it shows is read when it is asked, from the
 * counters each layer keeps anyway (the conns' set, the loop, the hub,
 * the store's writer under its lock, the accounts, /proc/self), plus one
 * hub observer that counts messages: nothing is added to the loop's path
 * but plain increments. README "Metrics" lists every family. */
#ifndef PARLEY_METRICS_H
#define PARLEY_METRICS_H

#include "base/prom.h"
#include "doors/door.h"

struct audience;
struct msg;

/* Every family, read from env, into p (metrics_render.c). */
void metrics_render(const struct door_env *env, struct prom *p);
/* The hub observer (hub_observe) that counts messages into the
 * door_stats ctx. */
void metrics_observe(void *ctx, struct msg *m, const struct audience *to);

#endif
