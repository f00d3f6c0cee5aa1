/* The metrics door (metrics-listen): one HTTP/1.1 request per connection,
 * GET /metrics answered with every metric in the Prometheus text format,
 * anything else with an error; then the connection closes. The request
 * is read as the web door reads one (net/http.h), on the handshake
 * deadline, within a small bound; the conns of the door are bounded
 * apart from max-clients, so scrapers cannot crowd out anyone and a
 * flood of them cannot hold more than a few answers. The answer is made
 * on the loop, from counters, and never waits for anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/prom.h"
#include "base/version.h"
#include "doors/door.h"
#include "doors/metrics.h"
#include "net/conn.h"
#include "net/http.h"

/* A request line or header longer than this is refused (414, 431):
 * Prometheus sends a few short headers. */
#define METRICS_LINE_MAX 2048
/* The whole request head. */
#define METRICS_HEAD_MAX 8192
/* Metrics conns at once; one more is answered 503. */
#define METRICS_CONNS_MAX 16
/* The body of an error answer: "404 Not Found". */
#define METRICS_ERROR_MAX 128

/* What the Prometheus text format 0.0.4 is served as. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_state {
	struct http_head head;
};

/* The answer whole, then the close. */
static void
respond(struct conn *c, int status, const char *type, const char *extra, const char *body,
    size_t len)
{
	conn_sendf(c, "HTTP/1.1 %d %s\r\nServer: parleyd/%s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n%s\r\n",
	    status, http_reason(status), PARLEY_VERSION, type, len, extra ? extra : "");
	if (len > 0) {
		struct wire *w = wire_new(body, len);
		if (w == NULL) {
			conn_close(c, "Out of memory", CONN_CLOSE_NOW);
			return;
		}
		conn_send(c, w);
		wire_unref(w);
	}
	struct metrics_state *st = c->door_state;
	char reason[HTTP_CLOSE_REASON_MAX];
	http_close_reason(reason, sizeof reason, status, st != NULL ? &st->head.req : NULL);
	if (st != NULL)
		st->head.phase = HTTP_HEAD_DONE;
	conn_close(c, reason, CONN_CLOSE_AFTER_FLUSH);
}

static void
respond_error(struct conn *c, int status, const char *extra)
{
	char body[METRICS_ERROR_MAX];
	int n = snprintf(body, sizeof body, "%d %s\n", status, http_reason(status));
	respond(c, status, "text/plain; charset=utf-8", extra, body, (size_t)n);
}

static void
dispatch(struct conn *c, const struct http_request *r)
{
	int rc = http_request_done(r);
	if (rc != 0) {
		respond_error(c, rc, NULL);
		return;
	}
	if (strcmp(r->target, "/metrics") != 0) {
		respond_error(c, 404, NULL);
		return;
	}
	if (strcmp(r->method, "GET") != 0) {
		respond_error(c, 405, "Allow: GET\r\n");
		return;
	}
	struct prom p;
	prom_init(&p);
	metrics_render(door_env(c), &p);
	if (prom_failed(&p))
		respond_error(c, 500, NULL);
	else
		respond(c, 200, METRICS_CONTENT_TYPE, NULL, p.text, p.len);
	prom_free(&p);
}

/* Counted among the door's conns from here to metrics_free, or told
 * there are too many. */
static void
metrics_open(struct conn *c)
{
	struct door_stats *stats = door_env(c)->stats;
	if (stats->metrics_conns >= METRICS_CONNS_MAX) {
		respond_error(c, 503, "Retry-After: 10\r\n");
		return;
	}
	struct metrics_state *st = malloc(sizeof *st);
	if (st == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	http_head_init(&st->head);
	c->door_state = st;
	stats->metrics_conns++;
}

static void
metrics_line(struct conn *c, char *line, size_t len)
{
	struct metrics_state *st = c->door_state;
	if (st == NULL)
		return; /* refused at open, closing */
	int rc = http_head_line(&st->head, line, len, METRICS_HEAD_MAX);
	if (rc == HTTP_HEAD_END)
		dispatch(c, &st->head.req);
	else if (rc != 0)
		respond_error(c, rc, NULL);
}

static void
metrics_overlong(struct conn *c)
{
	struct metrics_state *st = c->door_state;
	respond_error(c, st == NULL || st->head.phase == HTTP_HEAD_REQUEST_LINE ? 414 : 431,
	    NULL);
}

static void
metrics_closed(struct conn *c, const char *reason)
{
	(void)c;
	(void)reason;
}

static void
metrics_shutdown(struct conn *c)
{
	(void)c;
}

static void
metrics_free(struct conn *c)
{
	if (c->door_state == NULL)
		return;
	free(c->door_state);
	c->door_state = NULL;
	door_env(c)->stats->metrics_conns--;
}

const struct door metrics_door = {
	.name = "metrics",
	.conn = {
		.max_line = METRICS_LINE_MAX,
		.stats_slot = DOOR_SLOT_METRICS,
		/* One request, answered with our own counters: no flood
		 * control, no sendq bound; the request is on the handshake
		 * deadline. */
		.flood_control = 0,
		.sendq_bound = 0,
		.handshake_deadline = 1,
		.open = metrics_open,
		.line = metrics_line,
		.overlong = metrics_overlong,
		.closed = metrics_closed,
		.shutdown = metrics_shutdown,
		.farewell = NULL,
		.ping = NULL,
		.refuse = http_refuse,
		.free = metrics_free,
	},
};
