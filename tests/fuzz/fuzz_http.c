/* libFuzzer: the HTTP head parser takes any lines a client can send
 * without reading or writing out of bounds, answers each with a status it
 * declares, and what it keeps holds to its rules; the WebSocket handshake
 * checks, the subprotocol choice and the origin check work on whatever
 * the parser kept, and an accepted handshake gets a 28-character accept.
 *
 * The input is split into lines at LF, less a CR, as the framer hands
 * them over: the first is the request line, the rest header lines up to
 * the first blank one or the first error. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ours[] = { "binary.ircv3.net", "text.ircv3.net", NULL };

static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A field kept by the parser: a string inside its array, trimmed, with
 * no control characters but tab. A list field may end in ", " when its
 * last line was empty: an empty element, which lists ignore. */
static void
check_field(const char *f, int list)
{
	size_t n = strnlen(f, HTTP_FIELD_MAX);
	assert(n < HTTP_FIELD_MAX);
	if (n > 0) {
		assert(f[0] != ' ' && f[0] != '\t');
		int empty_last = list && n >= 2 && f[n - 2] == ',' && f[n - 1] == ' ';
		assert(empty_last || (f[n - 1] != ' ' && f[n - 1] != '\t'));
	}
	for (size_t i = 0; i < n; i++)
		assert(((unsigned char)f[i] >= ' ' || f[i] == '\t') && f[i] != 0x7f);
}

/* The next line of the input: its start and length, less LF and a CR. */
static int
next_line(const uint8_t *data, size_t size, size_t *at, size_t *start, size_t *len)
{
	if (*at >= size)
		return 0;
	*start = *at;
	const uint8_t *lf = memchr(data + *at, '\n', size - *at);
	size_t end = lf != NULL ? (size_t)(lf - data) : size;
	*at = lf != NULL ? end + 1 : size;
	*len = end - *start;
	if (*len > 0 && data[*start + *len - 1] == '\r')
		(*len)--;
	return 1;
}

/* A copy of exactly len bytes and no NUL, so ASan sees any read past the
 * line. */
static char *
line_copy(const uint8_t *p, size_t len)
{
	char *s = malloc(len ? len : 1);
	assert(s != NULL);
	memcpy(s, p, len);
	return s;
}

/* Whether the client's list, in its order, names ours[i] before any other
 * of ours: what http_ws_protocol should pick. */
static const char *
first_of_ours(const char *list)
{
	const char *p = list;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return NULL;
		const char *s = p;
		while (*p != '\0' && *p != ',')
			p++;
		const char *e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		for (int i = 0; ours[i] != NULL; i++)
			if (strlen(ours[i]) == (size_t)(e - s) && memcmp(ours[i], s, (size_t)(e - s)) == 0)
				return ours[i];
	}
}

/* The same bytes read as a door reads a head (http_head_line), a line at
 * a time, under a bound the first byte picks: every answer is one a door
 * can send, the bound holds, and after the end nothing changes. */
static void
head_check(const uint8_t *data, size_t size)
{
	static struct http_head h;
	http_head_init(&h);
	size_t max = size > 0 ? 64 + (size_t)data[0] * 64 : 8192;
	size_t at = 0, start, len;
	int ended = 0;
	while (next_line(data, size, &at, &start, &len)) {
		char *line = line_copy(data + start, len);
		enum http_head_phase was = h.phase;
		int rc = http_head_line(&h, line, len, max);
		free(line);
		assert(rc == 0 || rc == HTTP_HEAD_END || rc == 400 || rc == 414 || rc == 431 ||
		    rc == 505);
		if (ended || was == HTTP_HEAD_DONE) {
			assert(rc == 0 && h.phase == HTTP_HEAD_DONE);
			continue;
		}
		if (rc == 0)
			assert(h.bytes <= max && h.phase != HTTP_HEAD_DONE);
		if (rc == HTTP_HEAD_END) {
			assert(h.phase == HTTP_HEAD_DONE && len == 0 && h.req.method[0] != '\0');
			ended = 1;
		} else if (rc != 0)
			break; /* a door answers with rc and reads no more */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	head_check(data, size);
	static struct http_request r;
	http_request_init(&r);
	size_t at = 0, start, len;
	if (!next_line(data, size, &at, &start, &len))
		return 0;

	char *line = line_copy(data + start, len);
	int st = http_request_line(&r, line, len);
	assert(st == 0 || st == 400 || st == 414 || st == 505);
	assert(strcmp(http_reason(st == 0 ? 200 : st), "Error") != 0);
	if (st == 0) {
		size_t m = strnlen(r.method, sizeof r.method);
		assert(m > 0 && m < sizeof r.method);
		for (size_t i = 0; i < m; i++)
			assert(is_tchar((unsigned char)r.method[i]));
		/* The line is the method, a space, then the target. */
		assert(len > m && memcmp(line, r.method, m) == 0 && line[m] == ' ');
		size_t t = strnlen(r.target, sizeof r.target);
		assert(t > 0 && t < sizeof r.target && r.target[0] == '/');
		assert(memcmp(line + m + 1, r.target, t) == 0);
		assert(strchr(r.target, '?') == NULL);
		for (size_t i = 0; i < t; i++)
			assert((unsigned char)r.target[i] > ' ' && (unsigned char)r.target[i] < 0x7f);
		assert(r.minor >= 0 && r.minor <= 9);
		assert(len >= 8 && memcmp(line + len - 8, "HTTP/1.", 7) == 0);
	} else {
		assert(r.method[0] == '\0' && r.target[0] == '\0');
	}
	free(line);

	int hst = 0;
	while (next_line(data, size, &at, &start, &len) && len > 0) {
		line = line_copy(data + start, len);
		unsigned before = r.nheaders;
		hst = http_header_line(&r, line, len);
		assert(hst == 0 || hst == 400 || hst == 431);
		assert(r.nheaders == before + 1);
		if (hst == 0) {
			assert(r.nheaders <= HTTP_HEADERS_MAX);
			/* A good line has a name of tchars before its colon. */
			const char *colon = memchr(line, ':', len);
			assert(colon != NULL && colon > line);
			for (const char *p = line; p < colon; p++)
				assert(is_tchar((unsigned char)*p));
		}
		free(line);
		if (hst != 0)
			break;
	}
	assert(r.nhost <= 2 && r.nkey <= 2);
	check_field(r.host, 0);
	check_field(r.origin, 0);
	check_field(r.upgrade, 1);
	check_field(r.connection, 1);
	check_field(r.ws_key, 0);
	check_field(r.ws_version, 1);
	check_field(r.ws_protocol, 1);

	int done = http_request_done(&r);
	assert(done == 0 || done == 400);
	if (done == 0 && r.minor >= 1)
		assert(r.nhost == 1);

	int ws = http_ws_check(&r);
	assert(ws == 0 || ws == 400 || ws == 405 || ws == 426);
	if (ws == 0) {
		assert(strcmp(r.method, "GET") == 0 && r.minor >= 1);
		assert(http_list_has(r.upgrade, "websocket"));
		assert(http_list_has(r.connection, "upgrade"));
		assert(strcmp(r.ws_version, "13") == 0);
		assert(strlen(r.ws_key) == 24 && !r.has_body);
		char accept[29];
		memset(accept, 0x55, sizeof accept);
		http_ws_accept(r.ws_key, accept);
		assert(strlen(accept) == 28);
		assert(strspn(accept, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == 27);
		assert(accept[27] == '=');
	} else if (ws == 405) {
		assert(strcmp(r.method, "GET") != 0);
	}
	if (st == 0 && strcmp(r.method, "GET") != 0)
		assert(ws == 405);

	const char *proto = http_ws_protocol(&r, ours);
	assert(proto == first_of_ours(r.ws_protocol));
	if (proto != NULL)
		assert(http_list_has(r.ws_protocol, proto));

	int same = http_same_origin(&r);
	assert(same == 0 || same == 1);
	if (same) {
		const char *sep = strstr(r.origin, "://");
		assert(sep != NULL && r.host[0] != '\0');
		assert(strcasecmp(sep + 3, r.host) == 0);
	}

	/* Any key the parser can keep hashes to 28 characters. */
	if (r.ws_key[0] != '\0') {
		char accept[29];
		http_ws_accept(r.ws_key, accept);
		assert(strlen(accept) == 28);
	}
	return 0;
}
