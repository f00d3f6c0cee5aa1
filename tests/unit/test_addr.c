/* Unit tests for peer addresses: which ones count as one, for max-per-ip
 * and for the worker pool's turns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "base/addr.h"
#include "doors/door.h"
#include "net/conn.h"

static void
test_key_ipv4_is_the_address(void **state)
{
	(void)state;
	char key[ADDR_KEY_MAX];
	addr_key("127.0.0.1", key);
	assert_string_equal(key, "127.0.0.1");
	addr_key("203.0.113.7", key);
	assert_string_equal(key, "203.0.113.7");
}

static void
test_key_ipv6_is_its_64(void **state)
{
	(void)state;
	char a[ADDR_KEY_MAX], b[ADDR_KEY_MAX];
	addr_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", a);
	addr_key("2001:db8:1:2::1", b);
	assert_string_equal(a, "2001:db8:1:2::/64");
	assert_string_equal(a, b);
	addr_key("2001:db8:1:3::1", b);
	assert_string_not_equal(a, b);
	/* As addr_format writes ::1 for IRC. */
	addr_key("0::1", a);
	assert_string_equal(a, "::/64");
}

static void
test_key_ipv4_mapped_is_ipv4(void **state)
{
	(void)state;
	char key[ADDR_KEY_MAX];
	addr_key("::ffff:198.51.100.9", key);
	assert_string_equal(key, "198.51.100.9");
}

/* The worker pool's turns (door_address_key) go by the same key as
 * max-per-ip: by the whole IPv6 address, one /64 took as many turns as it
 * has addresses, and pushed everyone else's history queries back. */
static void
test_turns_go_by_the_same_key(void **state)
{
	(void)state;
	static struct conn a, b;
	snprintf(a.host, sizeof a.host, "2001:db8:1:2::1");
	snprintf(b.host, sizeof b.host, "2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	assert_int_equal(door_address_key(&a), door_address_key(&b));
	snprintf(b.host, sizeof b.host, "2001:db8:1:3::1");
	assert_int_not_equal(door_address_key(&a), door_address_key(&b));
	snprintf(a.host, sizeof a.host, "::ffff:203.0.113.7");
	snprintf(b.host, sizeof b.host, "203.0.113.7");
	assert_int_equal(door_address_key(&a), door_address_key(&b));
	snprintf(b.host, sizeof b.host, "203.0.113.8");
	assert_int_not_equal(door_address_key(&a), door_address_key(&b));
	assert_int_not_equal(door_address_key(&a), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_ipv4_is_the_address),
		cmocka_unit_test(test_key_ipv6_is_its_64),
		cmocka_unit_test(test_key_ipv4_mapped_is_ipv4),
		cmocka_unit_test(test_turns_go_by_the_same_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
