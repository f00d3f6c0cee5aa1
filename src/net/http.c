#include "net/http.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void
http_request_init(struct http_request *r)
{
	memset(r, 0, sizeof *r);
}

/* tchar (RFC 9110 5.6.2): what a method or a field name is made of. */
static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int
http_request_line(struct http_request *r, const char *line, size_t len)
{
	const char *end = line + len;
	const char *sp1 = memchr(line, ' ', len);
	if (sp1 == NULL || sp1 == line || (size_t)(sp1 - line) >= sizeof r->method)
		return 400;
	for (const char *p = line; p < sp1; p++)
		if (!is_tchar((unsigned char)*p))
			return 400;
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', (size_t)(end - target));
	if (sp2 == NULL || sp2 == target)
		return 400;
	const char *version = sp2 + 1;
	if (end - version != 8 || memcmp(version, "HTTP/", 5) != 0 ||
	    version[6] != '.' || version[5] < '0' || version[5] > '9' ||
	    version[7] < '0' || version[7] > '9')
		return 400;
	if (version[5] != '1')
		return 505;
	for (const char *p = target; p < sp2; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 400;
	if (target[0] != '/')
		return 400;
	size_t tlen = (size_t)(sp2 - target);
	const char *q = memchr(target, '?', tlen);
	if (q != NULL)
		tlen = (size_t)(q - target);
	if (tlen >= sizeof r->target)
		return 414;
	memcpy(r->method, line, (size_t)(sp1 - line));
	r->method[sp1 - line] = '\0';
	memcpy(r->target, target, tlen);
	r->target[tlen] = '\0';
	r->minor = version[7] - '0';
	return 0;
}

/* Stores value into field; a list field gathers repeated lines. */
static int
field_set(char *field, const char *value, size_t n, int list)
{
	size_t have = strlen(field);
	if (have > 0 && !list)
		return 400;
	if (n == 0)
		return 0; /* an empty element of a list adds nothing */
	const char *sep = have > 0 ? ", " : "";
	if (have + strlen(sep) + n >= HTTP_FIELD_MAX)
		return 431;
	snprintf(field + have, HTTP_FIELD_MAX - have, "%s%.*s", sep, (int)n, value);
	return 0;
}

int
http_header_line(struct http_request *r, const char *line, size_t len)
{
	if (++r->nheaders > HTTP_HEADERS_MAX)
		return 431;
	const char *colon = memchr(line, ':', len);
	/* No name, whitespace before the colon, or an obsolete folded line. */
	if (colon == NULL || colon == line)
		return 400;
	for (const char *p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return 400;
	size_t name_len = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (const char *p = v; p < end; p++)
		if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
			return 400;
	size_t n = (size_t)(end - v);
#define IS(name) (name_len == sizeof(name) - 1 && strncasecmp(line, name, name_len) == 0)
	if (IS("Host")) {
		r->nhost++;
		return r->nhost > 1 ? 400 : field_set(r->host, v, n, 0);
	}
	if (IS("Origin")) {
		r->norigin++;
		return r->norigin > 1 ? 400 : field_set(r->origin, v, n, 0);
	}
	if (IS("Upgrade"))
		return field_set(r->upgrade, v, n, 1);
	if (IS("Connection"))
		return field_set(r->connection, v, n, 1);
	if (IS("Sec-WebSocket-Key")) {
		r->nkey++;
		return r->nkey > 1 ? 400 : field_set(r->ws_key, v, n, 0);
	}
	if (IS("Sec-WebSocket-Version"))
		return field_set(r->ws_version, v, n, 1);
	if (IS("Sec-WebSocket-Protocol"))
		return field_set(r->ws_protocol, v, n, 1);
	if (IS("X-Forwarded-For")) {
		const char *last = v;
		for (const char *p = v; p < end; p++)
			if (*p == ',')
				last = p + 1;
		while (last < end && (*last == ' ' || *last == '\t'))
			last++;
		size_t ln = (size_t)(end - last);
		/* Too long for an address: "?", which is none. */
		if (ln >= sizeof r->forwarded_for)
			snprintf(r->forwarded_for, sizeof r->forwarded_for, "?");
		else
			snprintf(r->forwarded_for, sizeof r->forwarded_for, "%.*s", (int)ln, last);
		return 0;
	}
		if (IS("Transfer-Encoding"))
		r->has_body = 1;
	if (IS("Content-Length") && !(n == 1 && v[0] == '0'))
		r->has_body = 1;
#undef IS
	return 0;
}

void
http_head_init(struct http_head *h)
{
	http_request_init(&h->req);
	h->phase = HTTP_HEAD_REQUEST_LINE;
	h->bytes = 0;
}

int
http_head_line(struct http_head *h, const char *line, size_t len, size_t max)
{
	if (h->phase == HTTP_HEAD_DONE)
		return 0;
	h->bytes += len + 2;
	if (h->bytes > max)
		return 431;
	if (h->phase == HTTP_HEAD_REQUEST_LINE) {
		if (len == 0)
			return 0;
		int rc = http_request_line(&h->req, line, len);
		if (rc == 0)
			h->phase = HTTP_HEAD_HEADERS;
		return rc;
	}
	if (len > 0)
		return http_header_line(&h->req, line, len);
	h->phase = HTTP_HEAD_DONE;
	return HTTP_HEAD_END;
}

int
http_request_done(const struct http_request *r)
{
	if (r->minor >= 1 && r->nhost != 1)
		return 400;
	return 0;
}

/* The next element of a comma-separated list, trimmed: its start and
 * length, with *p moved past it; NULL at the end. */
static const char *
list_next(const char **p, size_t *len)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0')
		return NULL;
	const char *end = s;
	while (*end != '\0' && *end != ',')
		end++;
	*p = end;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*len = (size_t)(end - s);
	return s;
}

int
http_list_has(const char *list, const char *token)
{
	size_t tlen = strlen(token), n;
	for (const char *e; (e = list_next(&list, &n)) != NULL;)
		if (n == tlen && strncasecmp(e, token, n) == 0)
			return 1;
	return 0;
}

/* A Sec-WebSocket-Key is 16 bytes in base64: 24 characters, "==" last. */
static int
ws_key_ok(const char *key)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	/* EVP_DecodeBlock would take an '=' anywhere as zero bits. */
	if (strlen(key) != 24 || strspn(key, alphabet) != 22 || key[22] != '=' || key[23] != '=')
		return 0;
	unsigned char raw[18];
	int n = EVP_DecodeBlock(raw, (const unsigned char *)key, 24);
	return n == 18; /* 16 bytes, and the two padding characters counted */
}

int
http_ws_check(const struct http_request *r)
{
	if (strcmp(r->method, "GET") != 0)
		return 405;
	if (r->minor < 1 || !http_list_has(r->upgrade, "websocket") ||
	    !http_list_has(r->connection, "upgrade") || r->has_body)
		return 400;
	if (strcmp(r->ws_version, "13") != 0)
		return 426;
	if (!ws_key_ok(r->ws_key))
		return 400;
	return 0;
}

void
http_ws_accept(const char *key, char out[29])
{
	char joined[HTTP_FIELD_MAX + sizeof WS_GUID];
	int n = snprintf(joined, sizeof joined, "%s%s", key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof joined)
		n = (int)sizeof joined - 1;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_Digest(joined, (size_t)n, digest, &dlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, digest, (int)dlen);
}

const char *
http_ws_protocol(const struct http_request *r, const char *const *ours)
{
	const char *list = r->ws_protocol;
	size_t n;
	for (const char *e; (e = list_next(&list, &n)) != NULL;)
		for (const char *const *o = ours; *o != NULL; o++)
			if (strlen(*o) == n && strncmp(e, *o, n) == 0)
				return *o;
	return NULL;
}

int
http_same_origin(const struct http_request *r)
{
	const char *o = r->origin;
	const char *sep = strstr(o, "://");
	if (sep == NULL || r->host[0] == '\0')
		return 0;
	return strcasecmp(sep + 3, r->host) == 0;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

int
http_refuse(char *buf, size_t cap, const char *host, const char *why)
{
	(void)host;
	return snprintf(buf, cap, "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\nRetry-After: 10\r\n\r\n%s\n", strlen(why) + 1, why);
}

int
http_close_reason(char *buf, size_t cap, int status, const struct http_request *r)
{
	return snprintf(buf, cap, "HTTP %d %s %s", status,
	    r != NULL && r->method[0] ? r->method : "-",
	    r != NULL && r->target[0] ? r->target : "-");
}
