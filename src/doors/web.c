/* The HTTP door (web-listen): reads one request and answers it with a file
 * of the web client or an error, then closes; or, for GET /ws, upgrades
 * the connection to a WebSocket and hands it to the IRC door, which never
 * learns that its lines come in frames. One request per connection keeps
 * it simple: a page is three files. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/version.h"
#include "doors/door.h"
#include "doors/web_assets.h"
#include "doors/web_page.h"
#include "net/conn.h"
#include "net/conn_log.h"
#include "net/http.h"

/* A request line or header longer than this is refused (414, 431). */
#define WEB_LINE_MAX 8192
/* A request head bigger than this is refused: browsers send 1-2 KiB. */
#define WEB_HEAD_MAX 16384
/* Built-in files whose wire is shared (the client has a handful). */
#define WEB_ASSETS_MAX 16
/* The body of an error answer: "404 Not Found". */
#define WEB_ERROR_BODY_MAX 128
/* Files served from web-dir: the client is a few tens of KiB. */
#define WEB_FILE_MAX (4 * 1024 * 1024)

/* Sent with every answer: the page loads nothing from elsewhere and runs
 * no inline script, so an injected one does nothing. */
#define WEB_HEADERS \
	"Content-Security-Policy: default-src 'self'; connect-src 'self' ws: wss:; " \
	"img-src 'self' data:; style-src 'self'; frame-ancestors 'none'\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"Referrer-Policy: no-referrer\r\n"

struct web_state {
	struct http_head head;
};

static const char *const ws_protocols[] = { "binary.ircv3.net", "text.ircv3.net", NULL };

static const char *
content_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".webmanifest", "application/manifest+json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Queues the whole answer and closes after it. */
static void
respond_wire(struct conn *c, int status, const char *type, const char *extra,
    struct wire *body, size_t len, int head_only)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	conn_sendf(c, "HTTP/1.1 %d %s\r\nServer: parleyd/%s\r\nDate: %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "Cache-Control: no-cache\r\n" WEB_HEADERS "%s\r\n",
	    status, http_reason(status), PARLEY_VERSION, date, type, len, extra ? extra : "");
	if (!head_only && len > 0)
		conn_send(c, body);
	struct web_state *st = c->door_state;
	char reason[HTTP_CLOSE_REASON_MAX];
	http_close_reason(reason, sizeof reason, status, st != NULL ? &st->head.req : NULL);
	if (st != NULL)
		st->head.phase = HTTP_HEAD_DONE;
	conn_close(c, reason, CONN_CLOSE_AFTER_FLUSH);
}

static void
respond(struct conn *c, int status, const char *type, const char *extra,
    const void *body, size_t len, int head_only)
{
	struct wire *w = NULL;
	if (!head_only && len > 0 && (w = wire_new(body, len)) == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	respond_wire(c, status, type, extra, w, len, head_only);
	wire_unref(w);
}

/* A file's bytes as served: the landing page with the server's settings
 * filled in (web_page.h), any other as it is. */
static struct wire *
page_wire(const struct config *cfg, const char *name, const char *data, size_t len)
{
	if (strcmp(name, WEB_PAGE_NAME) != 0)
		return wire_new(data, len);
	size_t n;
	char *page = web_page_render(data, len, cfg, &n);
	struct wire *w = page ? wire_new(page, n) : NULL;
	free(page);
	return w;
}

/* The built-in files, each made a wire once and shared by every request
 * for it: thousands of clients asking at once cost one copy, not one
 * each. Kept until exit (the settings in the page change only with a
 * restart). */
static struct wire *
asset_wire(const struct config *cfg, size_t i)
{
	static struct wire *wires[WEB_ASSETS_MAX];
	const char *data = (const char *)web_assets[i].data;
	if (i >= WEB_ASSETS_MAX)
		return page_wire(cfg, web_assets[i].name, data, web_assets[i].len);
	if (wires[i] == NULL)
		wires[i] = page_wire(cfg, web_assets[i].name, data, web_assets[i].len);
	return wires[i] ? wire_ref(wires[i]) : NULL;
}

static void
respond_error(struct conn *c, int status, const char *extra)
{
	char body[WEB_ERROR_BODY_MAX];
	int n = snprintf(body, sizeof body, "%d %s\n", status, http_reason(status));
	struct web_state *st = c->door_state;
	int head_only = st != NULL && strcmp(st->head.req.method, "HEAD") == 0;
	respond(c, status, "text/plain; charset=utf-8", extra, body, (size_t)n, head_only);
}

/* A file of web-dir: one plain name, so no path can leave the directory. */
static int
name_ok(const char *name)
{
	if (name[0] == '\0' || name[0] == '.')
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

static void
serve_from_dir(struct conn *c, const char *dir, const char *name, int head_only)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		respond_error(c, errno == EACCES ? 403 : 404, NULL);
		return;
	}
	if (sb.st_size > WEB_FILE_MAX) {
		close(fd);
		respond_error(c, 403, NULL);
		return;
	}
	size_t len = (size_t)sb.st_size, got = 0;
	char *data = malloc(len ? len : 1);
	while (data != NULL && got < len) {
		ssize_t n = read(fd, data + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (data == NULL || got < len) {
		free(data);
		respond_error(c, 500, NULL);
		return;
	}
	struct wire *w = page_wire(door_cfg(c), name, data, len);
	free(data);
	if (w == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	respond_wire(c, 200, content_type(name), NULL, w, w->len, head_only);
	wire_unref(w);
}

static void
serve_file(struct conn *c, const struct http_request *r)
{
	int head_only = strcmp(r->method, "HEAD") == 0;
	const char *name = r->target + 1;
	if (*name == '\0')
		name = "index.html";
	if (!name_ok(name)) {
		respond_error(c, 404, NULL);
		return;
	}
	const char *dir = door_cfg(c)->web_dir;
	if (dir != NULL) {
		serve_from_dir(c, dir, name, head_only);
		return;
	}
	for (size_t i = 0; i < web_nassets; i++)
		if (strcmp(web_assets[i].name, name) == 0) {
			struct wire *w = asset_wire(door_cfg(c), i);
			if (w == NULL) {
				conn_close(c, "Out of memory", CONN_CLOSE_NOW);
				return;
			}
			respond_wire(c, 200, content_type(name), NULL, w, w->len, head_only);
			wire_unref(w);
			return;
		}
	respond_error(c, 404, NULL);
}

/* The host of a "scheme://host[:port]" origin, or of a Host header, is
 * host[:port] without the port: into out. */
static void
host_part(const char *s, char *out, size_t outlen)
{
	const char *sep = strstr(s, "://");
	if (sep != NULL)
		s = sep + 3;
	size_t n = s[0] == '[' ? strcspn(s, "]") + 1 : strcspn(s, ":/");
	snprintf(out, outlen, "%.*s", (int)n, s);
}

/* Whether the name the browser used to reach us is one we answer to: an
 * address, localhost, server-name, or the host of an allowed origin. Any
 * other name may be an attacker's, pointed at us by DNS rebinding, and
 * its "same origin" is not ours. */
static int
host_trusted(const struct conn *c, const char *host_header)
{
	char host[HTTP_FIELD_MAX], other[HTTP_FIELD_MAX];
	host_part(host_header, host, sizeof host);
	unsigned char addr[16];
	char bare[HTTP_FIELD_MAX];
	snprintf(bare, sizeof bare, "%s", host[0] == '[' ? host + 1 : host);
	bare[strcspn(bare, "]")] = '\0';
	if (inet_pton(AF_INET, bare, addr) == 1 || inet_pton(AF_INET6, bare, addr) == 1 ||
	    strcasecmp(host, "localhost") == 0 || strcasecmp(host, door_cfg(c)->server_name) == 0)
		return 1;
	const struct config_list *allowed = &door_cfg(c)->allowed_origins;
	for (int i = 0; i < allowed->n; i++) {
		host_part(allowed->v[i], other, sizeof other);
		if (strcasecmp(host, other) == 0)
			return 1;
	}
	return 0;
}

/* A page may open /ws if it is one of ours, or one allowed-origins names.
 * A client with no Origin is not a browser, and not at risk of being
 * used by some other site's page. */
static int
origin_allowed(const struct conn *c, const struct http_request *r)
{
	if (r->origin[0] == '\0' || (http_same_origin(r) && host_trusted(c, r->host)))
		return 1;
	const struct config_list *allowed = &door_cfg(c)->allowed_origins;
	for (int i = 0; i < allowed->n; i++)
		if (strcmp(allowed->v[i], "*") == 0 || strcasecmp(allowed->v[i], r->origin) == 0)
			return 1;
	return 0;
}

static void
websocket(struct conn *c, struct http_request *r)
{
	if (r->upgrade[0] == '\0') {
		respond_error(c, 426, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
		return;
	}
	int rc = http_ws_check(r);
	if (rc == 426) {
		respond_error(c, 426, "Sec-WebSocket-Version: 13\r\n");
		return;
	}
	if (rc == 405) {
		respond_error(c, 405, "Allow: GET\r\n");
		return;
	}
	if (rc != 0) {
		respond_error(c, rc, NULL);
		return;
	}
	char addr[CONN_ADDR_MAX];
	if (!origin_allowed(c, r)) {
		conn_log(c, LOG_INFO, "%s: WebSocket from origin %s refused (see allowed-origins)",
		    conn_addr(c, addr), r->origin);
		respond_error(c, 403, NULL);
		return;
	}
	const char *proto = http_ws_protocol(r, ws_protocols);
	char accept[29];
	http_ws_accept(r->ws_key, accept);
	conn_sendf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n", accept,
	    proto ? "Sec-WebSocket-Protocol: " : "", proto ? proto : "", proto ? "\r\n" : "");
	int binary = proto != NULL && strcmp(proto, "binary.ircv3.net") == 0;
	conn_log(c, LOG_INFO, "%s: WebSocket (%s)", conn_addr(c, addr),
	    proto ? proto : "no subprotocol: text");
	free(c->door_state);
	c->door_state = NULL;
	const struct door *irc = door_find(door_env(c), "irc");
	if (irc == NULL || conn_upgrade_websocket(c, &irc->conn, binary) < 0)
		conn_close(c, "WebSocket: data before the handshake's end", CONN_CLOSE_NOW);
}

static int
method_known(const char *m)
{
	static const char *const known[] = { "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
		"CONNECT", "TRACE", NULL };
	for (int i = 0; known[i]; i++)
		if (strcmp(m, known[i]) == 0)
			return 1;
	return 0;
}

static void
dispatch(struct conn *c, struct http_request *r)
{
	/* From a trusted proxy, the request names the client: it counts and
	 * is logged as that one from now on (or is refused, as one too
	 * many from its address). */
	if (c->forwarded && conn_forwarded_for(c, r->forwarded_for) < 0)
		return;
	int rc = http_request_done(r);
	if (rc != 0) {
		respond_error(c, rc, NULL);
		return;
	}
	if (strcmp(r->target, "/ws") == 0) {
		websocket(c, r);
		return;
	}
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		if (method_known(r->method))
			respond_error(c, 405, "Allow: GET, HEAD\r\n");
		else
			respond_error(c, 501, NULL);
		return;
	}
	serve_file(c, r);
}

static void
web_open(struct conn *c)
{
	(void)c;
}

static void
web_line(struct conn *c, char *line, size_t len)
{
	struct web_state *st = c->door_state;
	if (st == NULL) {
		if ((st = c->door_state = malloc(sizeof *st)) == NULL) {
			conn_close(c, "Out of memory", CONN_CLOSE_NOW);
			return;
		}
		http_head_init(&st->head);
	}
	int rc = http_head_line(&st->head, line, len, WEB_HEAD_MAX);
	if (rc == HTTP_HEAD_END)
		dispatch(c, &st->head.req);
	else if (rc != 0)
		respond_error(c, rc, NULL);
}

static void
web_overlong(struct conn *c)
{
	struct web_state *st = c->door_state;
	respond_error(c, st == NULL || st->head.phase == HTTP_HEAD_REQUEST_LINE ? 414 : 431, NULL);
}

static void
web_closed(struct conn *c, const char *reason)
{
	(void)c;
	(void)reason;
}

static void
web_shutdown(struct conn *c)
{
	(void)c;
}

static void
web_free(struct conn *c)
{
	free(c->door_state);
	c->door_state = NULL;
}

const struct door web_door = {
	.name = "http",
	.conn = {
		.max_line = WEB_LINE_MAX,
		.stats_slot = DOOR_SLOT_HTTP,
		/* It sends our own files, and takes one request: no flood
		 * control, no sendq bound, and the request is on the
		 * handshake deadline. */
		.flood_control = 0,
		.sendq_bound = 0,
		.handshake_deadline = 1,
		.proxy_header_optional = 1,
		.open = web_open,
		.line = web_line,
		.overlong = web_overlong,
		.closed = web_closed,
		.shutdown = web_shutdown,
		.farewell = NULL,
		.ping = NULL,
		.refuse = http_refuse,
		.free = web_free,
	},
};
