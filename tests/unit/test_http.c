/* Unit tests for the HTTP request head parser and the WebSocket opening
 * handshake checks (RFC 9110, 9112, 6455 4.2.1): request lines, header
 * lines, the status each mistake gets, Sec-WebSocket-Accept, the
 * subprotocol choice and the same-origin check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "net/http.h"

static struct http_request req;

static int
line(const char *s)
{
	return http_request_line(&req, s, strlen(s));
}

static int
header(const char *s)
{
	return http_header_line(&req, s, strlen(s));
}

/* A fresh request whose request line is s, which must parse. */
static void
start(const char *s)
{
	http_request_init(&req);
	assert_int_equal(line(s), 0);
}

/* The opening handshake of RFC 6455 1.3 and 4.1, as a browser sends it,
 * with one header line replaced (by name; NULL drops it). */
static const char *const sample[] = {
	"Host: server.example.com",
	"Upgrade: websocket",
	"Connection: Upgrade",
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
	"Origin: http://example.com",
	"Sec-WebSocket-Protocol: chat, superchat",
	"Sec-WebSocket-Version: 13",
	NULL,
};

static void
handshake_with(const char *request_line, const char *name, const char *replacement)
{
	start(request_line);
	for (const char *const *h = sample; *h != NULL; h++) {
		if (name != NULL && strncmp(*h, name, strlen(name)) == 0 && (*h)[strlen(name)] == ':') {
			if (replacement != NULL)
				assert_int_equal(header(replacement), 0);
			continue;
		}
		assert_int_equal(header(*h), 0);
	}
	assert_int_equal(http_request_done(&req), 0);
}

static void
handshake(void)
{
	handshake_with("GET /chat HTTP/1.1", NULL, NULL);
}

static void
test_request_line_valid(void **state)
{
	(void)state;
	start("GET /chat?room=lobby&x=1 HTTP/1.1");
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.target, "/chat");
	assert_int_equal(req.minor, 1);
	start("GET / HTTP/1.1");
	assert_string_equal(req.target, "/");
	start("GET /? HTTP/1.1");
	assert_string_equal(req.target, "/");
	start("POST /a/b.html HTTP/1.1");
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.target, "/a/b.html");
	/* Only len bytes count, NUL or not. */
	http_request_init(&req);
	assert_int_equal(http_request_line(&req, "GET /x HTTP/1.1 trailing", 15), 0);
	assert_string_equal(req.target, "/x");
}

static void
test_request_line_missing_parts(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"GET",
		"GET ",
		"GET /",
		"GET / ",
		"GET /chat",
		" / HTTP/1.1",
		"GET  HTTP/1.1",
		"GET  / HTTP/1.1",       /* two spaces */
		"GET /  HTTP/1.1",
		"GET / HTTP/1.1 ",       /* trailing space */
		"GET /a b HTTP/1.1",     /* space inside the target */
		"GET\t/ HTTP/1.1",
		"HTTP/1.1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_request_init(&req);
		assert_int_equal(line(bad[i]), 400);
	}
}

static void
test_request_line_method(void **state)
{
	(void)state;
	/* A method is a case-sensitive token: "get" parses, kept as sent, and
	 * is not GET (the handshake check refuses it). */
	start("get / HTTP/1.1");
	assert_string_equal(req.method, "get");
	assert_int_equal(http_ws_check(&req), 405);
	start("M-SEARCH / HTTP/1.1");
	assert_string_equal(req.method, "M-SEARCH");
	start("ABCDEFGHIJKLMNO / HTTP/1.1");   /* 15 characters: fits */
	assert_string_equal(req.method, "ABCDEFGHIJKLMNO");

	const char *bad[] = {
		"G@T / HTTP/1.1",
		"GE(T / HTTP/1.1",
		"G\"T / HTTP/1.1",
		"G:T / HTTP/1.1",
		"GE\x01T / HTTP/1.1",
		"GE\x7fT / HTTP/1.1",
		"G\xc3\x89T / HTTP/1.1",
		"ABCDEFGHIJKLMNOP / HTTP/1.1", /* 16: too long */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_request_init(&req);
		assert_int_equal(line(bad[i]), 400);
		assert_string_equal(req.method, "");
	}
	http_request_init(&req);
	assert_int_equal(http_request_line(&req, "G\0T / HTTP/1.1", 14), 400);
}

static void
test_request_line_target(void **state)
{
	(void)state;
	const char *bad[] = {
		"GET chat HTTP/1.1",
		"GET http://example.com/ HTTP/1.1",
		"GET * HTTP/1.1",
		"GET ?x HTTP/1.1",
		"GET /a\x7f HTTP/1.1",
		"GET /a\x01 HTTP/1.1",
		"GET /\xc3\xa9 HTTP/1.1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_request_init(&req);
		assert_int_equal(line(bad[i]), 400);
	}
	http_request_init(&req);
	assert_int_equal(http_request_line(&req, "GET /\0 HTTP/1.1", 15), 400);
}

static void
test_request_line_version(void **state)
{
	(void)state;
	http_request_init(&req);
	assert_int_equal(line("GET / HTTP/2.0"), 505);
	http_request_init(&req);
	assert_int_equal(line("GET / HTTP/0.9"), 505);
	http_request_init(&req);
	assert_int_equal(line("GET / HTTP/3.0"), 505);
	start("GET / HTTP/1.0");
	assert_int_equal(req.minor, 0);
	start("GET / HTTP/1.1");
	assert_int_equal(req.minor, 1);

	const char *bad[] = {
		"GET / HTTP/1.x",
		"GET / HTTP/x.1",
		"GET / HTTP/1,1",
		"GET / HTTP/1",
		"GET / HTTP/1.",
		"GET / HTTP/11",
		"GET / HTTP/1.10",
		"GET / HTTP/10.1",
		"GET / http/1.1",
		"GET / HTTPS/1.1",
		"GET / FOO/1.1",
		"GET / garbage!",
		"GET / HTTP/1.1x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_request_init(&req);
		assert_int_equal(line(bad[i]), 400);
	}
}

static void
test_request_line_target_too_long(void **state)
{
	(void)state;
	char buf[HTTP_TARGET_MAX + 64];
	/* A path of HTTP_TARGET_MAX - 1 bytes fits with its NUL. */
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', HTTP_TARGET_MAX - 2);
	strcpy(buf + 5 + HTTP_TARGET_MAX - 2, " HTTP/1.1");
	start(buf);
	assert_int_equal(strlen(req.target), HTTP_TARGET_MAX - 1);
	/* One more is 414. */
	memset(buf + 5, 'a', HTTP_TARGET_MAX - 1);
	strcpy(buf + 5 + HTTP_TARGET_MAX - 1, " HTTP/1.1");
	http_request_init(&req);
	assert_int_equal(line(buf), 414);
	assert_string_equal(req.target, "");
	/* The query does not count toward the path. */
	memset(buf + 5, 'a', 10);
	buf[15] = '?';
	memset(buf + 16, 'q', HTTP_TARGET_MAX);
	strcpy(buf + 16 + HTTP_TARGET_MAX, " HTTP/1.1");
	start(buf);
	assert_string_equal(req.target, "/aaaaaaaaaa");
}

static void
test_header_values_trimmed(void **state)
{
	(void)state;
	start("GET / HTTP/1.1");
	assert_int_equal(header("Host:   example.com:8080 \t "), 0);
	assert_string_equal(req.host, "example.com:8080");
	assert_int_equal(header("oRiGiN:http://example.com"), 0);
	assert_string_equal(req.origin, "http://example.com");
	assert_int_equal(header("Sec-WebSocket-Key:\tabc"), 0);
	assert_string_equal(req.ws_key, "abc");
	assert_int_equal(header("X-Unknown: whatever \t tab"), 0);
	assert_int_equal(header("X-Empty:"), 0);
	assert_int_equal(header("X-Obs-Text: caf\xc3\xa9"), 0);
	assert_int_equal(header("!#$%&'*+-.^_`|~09azAZ: tchar name"), 0);
	assert_int_equal(req.nheaders, 7);
	assert_int_equal(req.nhost, 1);
}

static void
test_header_malformed(void **state)
{
	(void)state;
	const char *bad[] = {
		" folded: continuation",        /* obs-fold, RFC 9112 5.2 */
		"\tfolded: continuation",
		" continuation of the last",
		"Host : example.com",           /* space before the colon */
		"Host\t: example.com",
		"no colon here",
		"",
		": no name",
		"Ho st: example.com",
		"Host(: x",
		"X-Ctl: a\x01" "b",
		"X-Ctl: a\x1b[31m",
		"X-Ctl: a\rb",
		"X-Ctl: a\x7f",
		"Bad\x01Name: x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		start("GET / HTTP/1.1");
		assert_int_equal(header(bad[i]), 400);
	}
	start("GET / HTTP/1.1");
	assert_int_equal(http_header_line(&req, "X: a\0b", 6), 400);
}

static void
test_header_duplicates(void **state)
{
	(void)state;
	start("GET / HTTP/1.1");
	assert_int_equal(header("Host: a.example"), 0);
	assert_int_equal(header("Host: b.example"), 400);
	start("GET / HTTP/1.1");
	assert_int_equal(header("Host: a.example"), 0);
	assert_int_equal(header("HOST: a.example"), 400);
	start("GET / HTTP/1.1");
	assert_int_equal(header("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), 0);
	assert_int_equal(header("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), 400);
	start("GET / HTTP/1.1");
	assert_int_equal(header("Origin: http://a.example"), 0);
	assert_int_equal(header("Origin: http://b.example"), 400);
}

static void
test_header_list_fields_joined(void **state)
{
	(void)state;
	start("GET / HTTP/1.1");
	assert_int_equal(header("Connection: keep-alive"), 0);
	assert_int_equal(header("connection:  Upgrade "), 0);
	assert_string_equal(req.connection, "keep-alive, Upgrade");
	assert_int_equal(header("Sec-WebSocket-Protocol: chat"), 0);
	assert_int_equal(header("Sec-WebSocket-Protocol: text.ircv3.net, superchat"), 0);
	assert_string_equal(req.ws_protocol, "chat, text.ircv3.net, superchat");
	assert_int_equal(header("Upgrade: h2c"), 0);
	assert_int_equal(header("Upgrade: websocket"), 0);
	assert_string_equal(req.upgrade, "h2c, websocket");
	assert_true(http_list_has(req.upgrade, "websocket"));
	assert_true(http_list_has(req.connection, "upgrade"));
}

static void
test_header_field_too_long(void **state)
{
	(void)state;
	char buf[HTTP_FIELD_MAX + 32];
	start("GET / HTTP/1.1");
	strcpy(buf, "Connection: ");
	memset(buf + 12, 'a', HTTP_FIELD_MAX - 1);
	buf[12 + HTTP_FIELD_MAX - 1] = '\0';
	assert_int_equal(header(buf), 0);
	assert_int_equal(strlen(req.connection), HTTP_FIELD_MAX - 1);
	/* The next one no longer fits. */
	assert_int_equal(header("Connection: upgrade"), 431);
	start("GET / HTTP/1.1");
	buf[12 + HTTP_FIELD_MAX - 1] = 'a';
	buf[12 + HTTP_FIELD_MAX] = '\0';
	assert_int_not_equal(header(buf), 0);
}

static void
test_header_too_many(void **state)
{
	(void)state;
	start("GET / HTTP/1.1");
	char buf[32];
	for (int i = 0; i < HTTP_HEADERS_MAX; i++) {
		snprintf(buf, sizeof buf, "X-H%d: %d", i, i);
		assert_int_equal(header(buf), 0);
	}
	assert_int_equal(header("X-One-More: 1"), 431);
	assert_int_equal(header("Host: example.com"), 431);
}

static void
test_request_done(void **state)
{
	(void)state;
	start("GET / HTTP/1.1");
	assert_int_equal(http_request_done(&req), 400);
	assert_int_equal(header("Host: example.com"), 0);
	assert_int_equal(http_request_done(&req), 0);
	start("GET / HTTP/1.0");
	assert_int_equal(http_request_done(&req), 0);
	assert_int_equal(header("Host: example.com"), 0);
	assert_int_equal(http_request_done(&req), 0);
	/* An empty Host is still the one Host line (RFC 9112 3.2). */
	start("GET / HTTP/1.1");
	assert_int_equal(header("Host:"), 0);
	assert_int_equal(http_request_done(&req), 0);
}

static void
test_ws_check_rfc_sample(void **state)
{
	(void)state;
	handshake();
	assert_int_equal(http_ws_check(&req), 0);
	char accept[29];
	memset(accept, 'X', sizeof accept);
	http_ws_accept(req.ws_key, accept);
	assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(strlen(accept), 28);
}

static void
test_ws_accept(void **state)
{
	(void)state;
	char accept[29];
	http_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", accept);
	assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	/* Another known pair (the handshake example Wikipedia gives). */
	http_ws_accept("x3JJHMbDL1EzLkh9GBhXDw==", accept);
	assert_string_equal(accept, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
	/* The longest key a field can hold still gives 28 characters. */
	char key[HTTP_FIELD_MAX];
	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	http_ws_accept(key, accept);
	assert_int_equal(strlen(accept), 28);
}

static void
test_ws_check_key(void **state)
{
	(void)state;
	const char *bad[] = {
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=",     /* 23 */
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===",   /* 25 */
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA",    /* no padding */
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j",        /* 12 bytes */
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSBzYW1wbGU=", /* 20 bytes */
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==",    /* not base64 */
		"Sec-WebSocket-Key: dGhlIHNhbXBs ZSBub25jZ==",
		"Sec-WebSocket-Key: ",
		NULL,                                             /* no key */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		handshake_with("GET /chat HTTP/1.1", "Sec-WebSocket-Key", bad[i]);
		assert_int_equal(http_ws_check(&req), 400);
	}
	handshake_with("GET /chat HTTP/1.1", "Sec-WebSocket-Key",
	    "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==");
	assert_int_equal(http_ws_check(&req), 0);
	handshake_with("GET /chat HTTP/1.1", "Sec-WebSocket-Key",
	    "Sec-WebSocket-Key: ++//++//++//++//++//+w==");
	assert_int_equal(http_ws_check(&req), 0);
}

/* RFC 4648 base64 has padding only at its end: a key with '=' inside, or
 * three of them, is not the base64 of 16 bytes. */
static void
test_ws_check_key_padding_inside(void **state)
{
	(void)state;
	handshake_with("GET /chat HTTP/1.1", "Sec-WebSocket-Key",
	    "Sec-WebSocket-Key: AAAA=AAAAAAAAAAAAAAAAA==");
	assert_int_equal(http_ws_check(&req), 400);
	handshake_with("GET /chat HTTP/1.1", "Sec-WebSocket-Key",
	    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAA===");
	assert_int_equal(http_ws_check(&req), 400);
}

static void
test_ws_check_version(void **state)
{
	(void)state;
	handshake_with("GET /chat HTTP/1.1", "Sec-WebSocket-Version", "Sec-WebSocket-Version: 8");
	assert_int_equal(http_ws_check(&req), 426);
	handshake_with("GET /chat HTTP/1.1", "Sec-WebSocket-Version", "Sec-WebSocket-Version: 14");
	assert_int_equal(http_ws_check(&req), 426);
	handshake_with("GET /chat HTTP/1.1", "Sec-WebSocket-Version", NULL);
	assert_int_equal(http_ws_check(&req), 426);
}

static void
test_ws_check_method_and_version(void **state)
{
	(void)state;
	handshake_with("POST /chat HTTP/1.1", NULL, NULL);
	assert_int_equal(http_ws_check(&req), 405);
	handshake_with("HEAD /chat HTTP/1.1", NULL, NULL);
	assert_int_equal(http_ws_check(&req), 405);
	handshake_with("GET /chat HTTP/1.0", NULL, NULL);
	assert_int_equal(http_ws_check(&req), 400);
}

static void
test_ws_check_upgrade_connection(void **state)
{
	(void)state;
	handshake_with("GET /chat HTTP/1.1", "Upgrade", NULL);
	assert_int_equal(http_ws_check(&req), 400);
	handshake_with("GET /chat HTTP/1.1", "Upgrade", "Upgrade: h2c");
	assert_int_equal(http_ws_check(&req), 400);
	handshake_with("GET /chat HTTP/1.1", "Upgrade", "Upgrade: websockets");
	assert_int_equal(http_ws_check(&req), 400);
	handshake_with("GET /chat HTTP/1.1", "Connection", NULL);
	assert_int_equal(http_ws_check(&req), 400);
	handshake_with("GET /chat HTTP/1.1", "Connection", "Connection: keep-alive");
	assert_int_equal(http_ws_check(&req), 400);
	handshake_with("GET /chat HTTP/1.1", "Connection", "Connection: upgrade-insecure");
	assert_int_equal(http_ws_check(&req), 400);

	handshake_with("GET /chat HTTP/1.1", "Connection", "Connection: keep-alive, Upgrade");
	assert_int_equal(http_ws_check(&req), 0);
	handshake_with("GET /chat HTTP/1.1", "Connection", "Connection: UPGRADE");
	assert_int_equal(http_ws_check(&req), 0);
	handshake_with("GET /chat HTTP/1.1", "Upgrade", "Upgrade: WebSocket");
	assert_int_equal(http_ws_check(&req), 0);
	handshake_with("GET /chat HTTP/1.1", "Upgrade", "Upgrade: h2c, websocket");
	assert_int_equal(http_ws_check(&req), 0);
}

static void
test_ws_check_body(void **state)
{
	(void)state;
	handshake();
	assert_int_equal(header("Content-Length: 0"), 0);
	assert_int_equal(http_ws_check(&req), 0);
	handshake();
	assert_int_equal(header("Content-Length: 5"), 0);
	assert_int_equal(http_ws_check(&req), 400);
	handshake();
	assert_int_equal(header("Transfer-Encoding: chunked"), 0);
	assert_int_equal(http_ws_check(&req), 400);
}

static void
test_list_has(void **state)
{
	(void)state;
	assert_true(http_list_has("Upgrade", "upgrade"));
	assert_true(http_list_has("keep-alive, Upgrade", "upgrade"));
	assert_true(http_list_has(" ,keep-alive ,\tupgrade\t, ", "upgrade"));
	assert_true(http_list_has("a,,b", "b"));
	assert_false(http_list_has("", "upgrade"));
	assert_false(http_list_has(",, ,", "upgrade"));
	assert_false(http_list_has("upgrades", "upgrade"));
	assert_false(http_list_has("up grade", "upgrade"));
	assert_false(http_list_has("keep-alive", "upgrade"));
}

static const char *const ours[] = { "binary.ircv3.net", "text.ircv3.net", NULL };

static const char *
protocol(const char *field)
{
	start("GET / HTTP/1.1");
	if (field != NULL)
		assert_int_equal(header(field), 0);
	return http_ws_protocol(&req, ours);
}

static void
test_ws_protocol(void **state)
{
	(void)state;
	/* The client's order decides, not ours. */
	assert_ptr_equal(protocol("Sec-WebSocket-Protocol: binary.ircv3.net, text.ircv3.net"), ours[0]);
	assert_ptr_equal(protocol("Sec-WebSocket-Protocol: text.ircv3.net, binary.ircv3.net"), ours[1]);
	assert_ptr_equal(protocol("Sec-WebSocket-Protocol: chat, text.ircv3.net"), ours[1]);
	assert_ptr_equal(protocol("Sec-WebSocket-Protocol: text.ircv3.net"), ours[1]);
	assert_ptr_equal(protocol("Sec-WebSocket-Protocol:  ,chat,\ttext.ircv3.net\t"), ours[1]);
	assert_null(protocol("Sec-WebSocket-Protocol: chat, superchat"));
	assert_null(protocol("Sec-WebSocket-Protocol: text.ircv3.net.evil"));
	assert_null(protocol("Sec-WebSocket-Protocol: text"));
	assert_null(protocol("Sec-WebSocket-Protocol:"));
	assert_null(protocol(NULL));
	/* Gathered from two lines, in order. */
	start("GET / HTTP/1.1");
	assert_int_equal(header("Sec-WebSocket-Protocol: chat"), 0);
	assert_int_equal(header("Sec-WebSocket-Protocol: binary.ircv3.net"), 0);
	assert_int_equal(header("Sec-WebSocket-Protocol: text.ircv3.net"), 0);
	assert_ptr_equal(http_ws_protocol(&req, ours), ours[0]);
}

static int
same_origin(const char *origin, const char *host)
{
	start("GET / HTTP/1.1");
	char buf[HTTP_FIELD_MAX + 16];
	if (origin != NULL) {
		snprintf(buf, sizeof buf, "Origin: %s", origin);
		assert_int_equal(header(buf), 0);
	}
	if (host != NULL) {
		snprintf(buf, sizeof buf, "Host: %s", host);
		assert_int_equal(header(buf), 0);
	}
	return http_same_origin(&req);
}

static void
test_same_origin(void **state)
{
	(void)state;
	assert_true(same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
	assert_true(same_origin("https://chat.example.org", "chat.example.org"));
	assert_true(same_origin("http://Chat.Example.ORG:8080", "chat.example.org:8080"));
	assert_false(same_origin("http://127.0.0.1:8081", "127.0.0.1:8080"));
	assert_false(same_origin("http://127.0.0.1", "127.0.0.1:8080"));
	assert_false(same_origin("http://127.0.0.1:8080", "127.0.0.1"));
	assert_false(same_origin("127.0.0.1:8080", "127.0.0.1:8080"));
	assert_false(same_origin("http://evil.example", "127.0.0.1:8080"));
	assert_false(same_origin("http://127.0.0.1:8080.evil.example", "127.0.0.1:8080"));
	assert_false(same_origin("null", "127.0.0.1:8080"));
	assert_false(same_origin(NULL, "127.0.0.1:8080"));
	assert_false(same_origin("http://127.0.0.1:8080", NULL));
	assert_false(same_origin("http://", ""));
}

static void
test_reason(void **state)
{
	(void)state;
	assert_string_equal(http_reason(101), "Switching Protocols");
	assert_string_equal(http_reason(400), "Bad Request");
	assert_string_equal(http_reason(405), "Method Not Allowed");
	assert_string_equal(http_reason(414), "URI Too Long");
	assert_string_equal(http_reason(426), "Upgrade Required");
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(505), "HTTP Version Not Supported");
	assert_non_null(http_reason(799));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_line_valid),
		cmocka_unit_test(test_request_line_missing_parts),
		cmocka_unit_test(test_request_line_method),
		cmocka_unit_test(test_request_line_target),
		cmocka_unit_test(test_request_line_version),
		cmocka_unit_test(test_request_line_target_too_long),
		cmocka_unit_test(test_header_values_trimmed),
		cmocka_unit_test(test_header_malformed),
		cmocka_unit_test(test_header_duplicates),
		cmocka_unit_test(test_header_list_fields_joined),
		cmocka_unit_test(test_header_field_too_long),
		cmocka_unit_test(test_header_too_many),
		cmocka_unit_test(test_request_done),
		cmocka_unit_test(test_ws_check_rfc_sample),
		cmocka_unit_test(test_ws_accept),
		cmocka_unit_test(test_ws_check_key),
		cmocka_unit_test(test_ws_check_key_padding_inside),
		cmocka_unit_test(test_ws_check_version),
		cmocka_unit_test(test_ws_check_method_and_version),
		cmocka_unit_test(test_ws_check_upgrade_connection),
		cmocka_unit_test(test_ws_check_body),
		cmocka_unit_test(test_list_has),
		cmocka_unit_test(test_ws_protocol),
		cmocka_unit_test(test_same_origin),
		cmocka_unit_test(test_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
