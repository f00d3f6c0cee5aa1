/* Unit tests for how a plain-text line is read: blank, a message, or a
 * command word with its arguments; and a first line that is another
 * protocol's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/text.h"
#include "doors/door.h"
#include "doors/plain_parse.h"

static void
test_empty(void **state)
{
	(void)state;
	struct plain_input in;
	char a[] = "";
	plain_parse(a, &in);
	assert_int_equal(in.kind, PLAIN_EMPTY);
	assert_null(in.text);
	assert_null(in.name);
	assert_null(in.args);

	char b[] = "     ";
	plain_parse(b, &in);
	assert_int_equal(in.kind, PLAIN_EMPTY);
}

static void
test_say(void **state)
{
	(void)state;
	struct plain_input in;
	char a[] = "hello";
	plain_parse(a, &in);
	assert_int_equal(in.kind, PLAIN_SAY);
	assert_string_equal(in.text, "hello");
	assert_ptr_equal(in.text, a);
	assert_null(in.name);
	assert_null(in.args);

	/* Spaces are the speaker's: kept as typed. */
	char b[] = "  hi there  ";
	plain_parse(b, &in);
	assert_int_equal(in.kind, PLAIN_SAY);
	assert_string_equal(in.text, "  hi there  ");

	/* Only a slash at the very start makes a command. */
	char c[] = " /nick bob";
	plain_parse(c, &in);
	assert_int_equal(in.kind, PLAIN_SAY);
	assert_string_equal(in.text, " /nick bob");

	char d[] = "a/b";
	plain_parse(d, &in);
	assert_int_equal(in.kind, PLAIN_SAY);
	assert_string_equal(in.text, "a/b");
}

static void
test_double_slash_escapes(void **state)
{
	(void)state;
	struct plain_input in;
	char a[] = "//x";
	plain_parse(a, &in);
	assert_int_equal(in.kind, PLAIN_SAY);
	assert_string_equal(in.text, "/x");

	char b[] = "//";
	plain_parse(b, &in);
	assert_int_equal(in.kind, PLAIN_SAY);
	assert_string_equal(in.text, "/");

	char c[] = "///shrug";
	plain_parse(c, &in);
	assert_int_equal(in.kind, PLAIN_SAY);
	assert_string_equal(in.text, "//shrug");
}

static void
test_command_with_args(void **state)
{
	(void)state;
	struct plain_input in;
	char a[] = "/nick bob";
	plain_parse(a, &in);
	assert_int_equal(in.kind, PLAIN_COMMAND);
	assert_string_equal(in.name, "nick");
	assert_null(in.text);
	assert_non_null(in.args);
	char *args = in.args;
	assert_string_equal(text_word(&args), "bob");
	assert_null(text_word(&args));

	char b[] = "/msg  alice   hi  there";
	plain_parse(b, &in);
	assert_int_equal(in.kind, PLAIN_COMMAND);
	assert_string_equal(in.name, "msg");
	args = in.args;
	assert_string_equal(text_word(&args), "alice");
	assert_string_equal(text_rest(&args), "hi  there");
}

static void
test_command_without_args(void **state)
{
	(void)state;
	struct plain_input in;
	char a[] = "/quit";
	plain_parse(a, &in);
	assert_int_equal(in.kind, PLAIN_COMMAND);
	assert_string_equal(in.name, "quit");
	assert_non_null(in.args);
	char *args = in.args;
	assert_null(text_word(&args));

	char b[] = "/names   ";
	plain_parse(b, &in);
	assert_int_equal(in.kind, PLAIN_COMMAND);
	assert_string_equal(in.name, "names");
	args = in.args;
	assert_null(text_rest(&args));
}

static void
test_command_name_case_kept(void **state)
{
	(void)state;
	struct plain_input in;
	char a[] = "/JOIN #a";
	plain_parse(a, &in);
	assert_int_equal(in.kind, PLAIN_COMMAND);
	assert_string_equal(in.name, "JOIN");
	char *args = in.args;
	assert_string_equal(text_word(&args), "#a");
	assert_null(text_word(&args));
}

static void
test_lone_slash(void **state)
{
	(void)state;
	struct plain_input in;
	char a[] = "/";
	plain_parse(a, &in);
	assert_int_equal(in.kind, PLAIN_NOCOMMAND);
	assert_null(in.name);

	char b[] = "/ foo";
	plain_parse(b, &in);
	assert_int_equal(in.kind, PLAIN_NOCOMMAND);
	assert_null(in.name);

	char c[] = "/   ";
	plain_parse(c, &in);
	assert_int_equal(in.kind, PLAIN_NOCOMMAND);
}

/* door.c's, which the plain door asks of its first line. */
#define FOREIGN(s) door_foreign_line(s, sizeof s - 1)

static void
test_foreign_first_lines(void **state)
{
	(void)state;
	/* A browser's request line, any method; a TLS ClientHello's start. */
	assert_true(FOREIGN("GET / HTTP/1.1"));
	assert_true(FOREIGN("POST /x?y=1 HTTP/1.0"));
	assert_true(FOREIGN("OPTIONS * HTTP/1.1"));
	assert_true(FOREIGN("\x16\x03\x01\x02\x00\x01"));
	/* What people type. */
	assert_false(FOREIGN("hello"));
	assert_false(FOREIGN("/nick alice"));
	assert_false(FOREIGN("GET it done"));
	assert_false(FOREIGN("GET / over HTTP/1.1 is what curl sends"));
	assert_false(FOREIGN("get / HTTP/1.1"));
	assert_false(FOREIGN("GET  HTTP/1.1"));
	assert_false(FOREIGN("GET / HTTP"));
	assert_false(FOREIGN("ABCDEFGHIJKLMNOPQ / HTTP/1.1"));
	assert_false(FOREIGN(""));
	assert_false(FOREIGN("\x16"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_say),
		cmocka_unit_test(test_double_slash_escapes),
		cmocka_unit_test(test_command_with_args),
		cmocka_unit_test(test_command_without_args),
		cmocka_unit_test(test_command_name_case_kept),
		cmocka_unit_test(test_lone_slash),
		cmocka_unit_test(test_foreign_first_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
