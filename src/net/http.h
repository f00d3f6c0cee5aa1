/* HTTP/1.1 requests, as far as parleyd reads them (RFC 9110, 9112): the
 * request line and the header lines, one at a time, as the framer hands
 * them over; and the checks of a WebSocket opening handshake (RFC 6455
 * 4.2.1). No sockets here. Each function returns 0 or the HTTP status
 * the request gets instead. */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H

#include <stddef.h>

#define HTTP_HEADERS_MAX 64
#define HTTP_TARGET_MAX 1024
#define HTTP_FIELD_MAX 512
#define HTTP_FORWARDED_MAX 64

struct http_request {
	char method[16];
	char target[HTTP_TARGET_MAX];   /* the path, query removed */
	int minor;                      /* HTTP/1.<minor> */
	unsigned nheaders;
	/* The fields that matter here, trimmed; empty when absent. A field
	 * that may be a list (Connection, Sec-WebSocket-Protocol) gathers
	 * repeated lines joined with ", ". */
	char host[HTTP_FIELD_MAX];
	char origin[HTTP_FIELD_MAX];
	char upgrade[HTTP_FIELD_MAX];
	char connection[HTTP_FIELD_MAX];
	char ws_key[HTTP_FIELD_MAX];
	char ws_version[HTTP_FIELD_MAX];
	char ws_protocol[HTTP_FIELD_MAX];
	/* The last address of the last X-Forwarded-For line: the one the
	 * proxy nearest to us added (the others are the client's word). */
	char forwarded_for[HTTP_FORWARDED_MAX];
	unsigned nhost;                 /* Host lines seen: exactly one is allowed */
	unsigned nkey;
	unsigned norigin;
	int has_body;                   /* Content-Length > 0 or Transfer-Encoding */
};

/* A request's head as it is read, a line at a time: for a door that
 * takes one request per connection (the web door, the metrics door). */
enum http_head_phase { HTTP_HEAD_REQUEST_LINE, HTTP_HEAD_HEADERS, HTTP_HEAD_DONE };
struct http_head {
	struct http_request req;
	enum http_head_phase phase;
	size_t bytes;                   /* of the head so far, line endings counted */
};
/* What http_head_line returns when the head is complete: not a status. */
#define HTTP_HEAD_END 1

void http_request_init(struct http_request *r);
void http_head_init(struct http_head *h);
/* One line of the head (its ending removed): 0 while more is wanted
 * (blank lines before the request line are skipped, RFC 9112 2.2; lines
 * after the head are ignored), HTTP_HEAD_END at the blank line that ends
 * it, or the status the request gets instead: 431 past max bytes, or
 * what http_request_line and http_header_line say. */
int http_head_line(struct http_head *h, const char *line, size_t len, size_t max);
/* "GET /path?q HTTP/1.1": 400, 414 (target too long), 505 (not HTTP/1.x). */
int http_request_line(struct http_request *r, const char *line, size_t len);
/* "Name: value": 400 (malformed), 431 (too many). */
int http_header_line(struct http_request *r, const char *line, size_t len);
/* The head is complete: 400 when HTTP/1.1 lacks its one Host. */
int http_request_done(const struct http_request *r);
/* Whether a comma-separated list holds token, case-insensitively. */
int http_list_has(const char *list, const char *token);
/* The WebSocket opening handshake: 0 when it is one, else 400 (bad or
 * missing fields), 426 (a version other than 13; send
 * Sec-WebSocket-Version: 13) or 405 (not GET). */
int http_ws_check(const struct http_request *r);
/* Sec-WebSocket-Accept for key: 28 characters and a NUL. */
void http_ws_accept(const char *key, char out[29]);
/* The first subprotocol in the client's list (its order of preference)
 * that is one of ours, or NULL. */
const char *http_ws_protocol(const struct http_request *r, const char *const *ours);
/* Whether origin (scheme://host[:port]) matches the request's Host. */
int http_same_origin(const struct http_request *r);
/* A refused connection's answer (conn_handler.refuse): 503, as a web
 * server at its limit says, with Retry-After and why as the body. */
int http_refuse(char *buf, size_t cap, const char *host, const char *why);
/* Why a one-request connection closed, for its log line: "HTTP 404 GET
 * /x" (r may be NULL, or not yet parsed: "-"), into buf, as snprintf. */
#define HTTP_CLOSE_REASON_MAX (HTTP_TARGET_MAX + 64)
int http_close_reason(char *buf, size_t cap, int status, const struct http_request *r);
/* The reason phrase of status. */
const char *http_reason(int status);

#endif
