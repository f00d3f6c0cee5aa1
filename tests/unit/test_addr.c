/* Unit tests for peer addresses: which ones count as one for max-per-ip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/addr.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_ipv4_is_the_address),
		cmocka_unit_test(test_key_ipv6_is_its_64),
		cmocka_unit_test(test_key_ipv4_mapped_is_ipv4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
