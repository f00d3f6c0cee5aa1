/* Unit tests for the log's JSON escaping: every line of log-format json
 * must parse, whatever a client put in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/log.h"

static void
check(const char *in, const char *want)
{
	char out[256];
	memset(out, 'Q', sizeof out);
	size_t n = log_json_escape(out, sizeof out, in);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void
test_plain_text_unchanged(void **state)
{
	(void)state;
	check("", "");
	check("127.0.0.1:5000: connected on 127.0.0.1:7000",
	    "127.0.0.1:5000: connected on 127.0.0.1:7000");
}

static void
test_quotes_and_backslashes(void **state)
{
	(void)state;
	check("say \"hi\" \\o/", "say \\\"hi\\\" \\\\o/");
}

static void
test_control_characters(void **state)
{
	(void)state;
	check("a\nb\tc\rd", "a\\nb\\tc\\rd");
	check("\x1b[2J\x01\x7f", "\\u001b[2J\\u0001\\u007f");
	/* C1 controls are valid UTF-8, but a terminal may act on them. */
	check("x\xc2\x9b" "31m", "x\\u009b31m");
}

static void
test_valid_utf8_kept(void **state)
{
	(void)state;
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void
test_invalid_utf8_replaced(void **state)
{
	(void)state;
	/* A lone continuation, a lead without its continuation, an overlong
	 * form, a surrogate, past U+10FFFF, a cut sequence at the end. */
	check("a\x80z", "a\\ufffdz");
	check("a\xc3z", "a\\ufffdz");
	check("\xc0\xaf", "\\ufffd\\ufffd");
	check("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");
	check("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
	check("ok\xe2\x82", "ok\\ufffd\\ufffd");
	check("\xff\xfe", "\\ufffd\\ufffd");
}

static void
test_cut_between_escapes(void **state)
{
	(void)state;
	char out[8];
	/* "ab" then \u001b would need 6 more: it is left out whole. */
	size_t n = log_json_escape(out, sizeof out, "ab\x1b" "cd");
	assert_string_equal(out, "ab");
	assert_int_equal(n, 2);
	n = log_json_escape(out, sizeof out, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
	assert_string_equal(out, "\xe2\x82\xac\xe2\x82\xac");
	assert_int_equal(n, 6);
	assert_int_equal(log_json_escape(out, 1, "abc"), 0);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_unchanged),
		cmocka_unit_test(test_quotes_and_backslashes),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_cut_between_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
