/* Unit tests for the PROXY protocol header parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "base/addr.h"
#include "net/proxy.h"

static enum proxy_status
parse(const char *s, size_t n, size_t *len, struct proxy_header *h)
{
	return proxy_parse((const uint8_t *)s, n, len, h);
}

static const char *
src_text(const struct proxy_header *h)
{
	static char host[INET6_ADDRSTRLEN], full[INET6_ADDRSTRLEN + 8];
	uint16_t port;
	addr_format(&h->src, host, sizeof host, full, sizeof full, &port);
	return full;
}

static void
test_v1(void **state)
{
	(void)state;
	size_t len;
	struct proxy_header h;
	const char *s = "PROXY TCP4 203.0.113.7 192.0.2.1 5555 7000\r\nNICK x\r\n";
	assert_int_equal(parse(s, strlen(s), &len, &h), PROXY_DONE);
	assert_int_equal(len, strlen("PROXY TCP4 203.0.113.7 192.0.2.1 5555 7000\r\n"));
	assert_true(h.proxied);
	assert_string_equal(src_text(&h), "203.0.113.7:5555");
	s = "PROXY TCP6 2001:db8::7 ::1 1 2\r\n";
	assert_int_equal(parse(s, strlen(s), &len, &h), PROXY_DONE);
	assert_string_equal(src_text(&h), "[2001:db8::7]:1");
	s = "PROXY UNKNOWN whatever follows\r\n";
	assert_int_equal(parse(s, strlen(s), &len, &h), PROXY_DONE);
	assert_false(h.proxied);
}

static void
test_v1_bad(void **state)
{
	(void)state;
	size_t len;
	struct proxy_header h;
	const char *bad[] = {
		"PROXY TCP4 203.0.113.7 192.0.2.1 5555 70000\r\n",
		"PROXY TCP4 203.0.113.7 192.0.2.1 -1 7000\r\n",
		"PROXY TCP4 203.0.113.7 192.0.2.1 123456 7000\r\n",
		"PROXY TCP4 2001:db8::1 192.0.2.1 5 7000\r\n",
		"PROXY TCP6 203.0.113.7 ::1 5 7000\r\n",
		"PROXY TCP4 203.0.113.7 192.0.2.1 5555\r\n",
		"PROXY TCP4 203.0.113.7 192.0.2.1 5555 7000\n",
		"PROXY UDP4 203.0.113.7 192.0.2.1 5555 7000\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (parse(bad[i], strlen(bad[i]), &len, &h) != PROXY_BAD)
			fail_msg("\"%s\" should be a bad header", bad[i]);
	char longline[200] = "PROXY ";
	memset(longline + 6, 'x', 150);
	longline[156] = '\0';
	assert_int_equal(parse(longline, strlen(longline), &len, &h), PROXY_BAD);
}

static void
test_partial_and_none(void **state)
{
	(void)state;
	size_t len;
	struct proxy_header h;
	const char *s = "PROXY TCP4 203.0.113.7 192.0.2.1 5555 7000\r\n";
	for (size_t n = 0; n < strlen(s); n++)
		assert_int_equal(parse(s, n, &len, &h), PROXY_MORE);
	assert_int_equal(parse("PRO", 3, &len, &h), PROXY_MORE);
	assert_int_equal(parse("PROPFIND / HTTP/1.1", 19, &len, &h), PROXY_NONE);
	assert_int_equal(parse("\x16\x03\x01", 3, &len, &h), PROXY_NONE);
	assert_int_equal(parse("GET / HTTP/1.1\r\n", 16, &len, &h), PROXY_NONE);
	assert_int_equal(parse("\r\n\r\n", 4, &len, &h), PROXY_MORE);
	assert_int_equal(parse("\r\n\r\nGET", 7, &len, &h), PROXY_NONE);
}

static void
test_v2(void **state)
{
	(void)state;
	uint8_t b[64] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
		0x21, 0x11, 0x00, 12 + 7 };
	inet_pton(AF_INET, "198.51.100.3", b + 16);
	inet_pton(AF_INET, "192.0.2.1", b + 20);
	b[24] = 0x15, b[25] = 0xB3; /* 5555 */
	b[26] = 0x1B, b[27] = 0x58;
	memcpy(b + 28, "\x03\x00\x04" "abcd", 7); /* a TLV, skipped */
	size_t len;
	struct proxy_header h;
	for (size_t n = 0; n < 35; n++)
		assert_int_equal(proxy_parse(b, n, &len, &h), PROXY_MORE);
	assert_int_equal(proxy_parse(b, 40, &len, &h), PROXY_DONE);
	assert_int_equal(len, 35);
	assert_string_equal(src_text(&h), "198.51.100.3:5555");
	b[12] = 0x20; /* LOCAL */
	assert_int_equal(proxy_parse(b, 40, &len, &h), PROXY_DONE);
	assert_false(h.proxied);
	b[12] = 0x31; /* version 3 */
	assert_int_equal(proxy_parse(b, 40, &len, &h), PROXY_BAD);
	b[12] = 0x21;
	b[15] = 4; /* too short for two IPv4 addresses and ports */
	assert_int_equal(proxy_parse(b, 40, &len, &h), PROXY_BAD);
	b[14] = 0xFF; /* longer than PROXY_HEADER_MAX */
	assert_int_equal(proxy_parse(b, 40, &len, &h), PROXY_BAD);
}

static void
test_addr_helpers(void **state)
{
	(void)state;
	struct addr_net net;
	struct sockaddr_storage ss;
	assert_int_equal(addr_net_parse("10.0.0.0/8", &net), 0);
	assert_int_equal(addr_from_text("10.200.3.4", &ss), 0);
	assert_true(addr_net_match(&net, &ss));
	assert_int_equal(addr_from_text("11.0.0.1:80", &ss), 0);
	assert_false(addr_net_match(&net, &ss));
	assert_int_equal(addr_net_parse("2001:db8::/32", &net), 0);
	assert_int_equal(addr_from_text("[2001:db8:1::5]:443", &ss), 0);
	assert_true(addr_net_match(&net, &ss));
	assert_int_equal(addr_from_text("2001:db9::5", &ss), 0);
	assert_false(addr_net_match(&net, &ss));
	assert_int_equal(addr_net_parse("192.0.2.1", &net), 0);
	assert_int_equal(addr_from_text("::ffff:192.0.2.1", &ss), 0);
	assert_true(addr_net_match(&net, &ss));
	const char *bad[] = { "", "/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "::/129",
		"host.example", "10.0.0.0/-1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (addr_net_parse(bad[i], &net) == 0)
			fail_msg("\"%s\" should not parse", bad[i]);
	const char *badtext[] = { "", "?", "1.2.3.4:", "1.2.3.4:99999", "[::1", "[::1]x",
		"unknown", "1.2.3.4, 5.6.7.8" };
	for (size_t i = 0; i < sizeof badtext / sizeof badtext[0]; i++)
		if (addr_from_text(badtext[i], &ss) == 0)
			fail_msg("\"%s\" should be no address", badtext[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v1_bad),
		cmocka_unit_test(test_partial_and_none),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_addr_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
