/* Unit tests for how CHATHISTORY's parameters and SEARCH's attributes
 * are read (doors/irc/irc_history_parse.c): each subcommand's shape, the
 * references, the limit, and every refusal the FAILs are made of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "doors/irc/irc_history_parse.h"

#define MAX 100
#define ID "06H35C4468000002"

static enum ih_status
parse(struct ih_request *r, int n, char *a, char *b, char *c, char *d, char *e)
{
	char *params[] = { a, b, c, d, e };
	return ih_chathistory_parse(n, params, MAX, r);
}

static void
test_time(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(ih_time_parse("2019-01-04T14:33:26.123Z", &ms), 0);
	assert_true(ms == INT64_C(1546612406123));
	assert_int_equal(ih_time_parse("2019-01-04T14:33:26Z", &ms), 0);
	assert_true(ms == INT64_C(1546612406000));
	assert_int_equal(ih_time_parse("2019-01-04T14:33:26.1Z", &ms), 0);
	assert_true(ms == INT64_C(1546612406100));
	char buf[IH_TIME_LEN + 1];
	ih_time_write(INT64_C(1546612406123), buf);
	assert_string_equal(buf, "2019-01-04T14:33:26.123Z");
	const char *bad[] = { "", "yesterday", "2019-01-04 14:33:26Z", "2019-13-04T14:33:26Z",
	    "2019-01-04T14:33:26", "2019-01-04T14:33:26.Z", "2019-01-04T14:33:26.123Zx",
	    "1969-12-31T23:59:59Z", "+019-01-04T14:33:26Z" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(ih_time_parse(bad[i], &ms), -1);
}

static void
test_shapes(void **state)
{
	(void)state;
	struct ih_request r;
	assert_int_equal(parse(&r, 4, "latest", "#h", "*", "10", NULL), IH_OK);
	assert_int_equal(r.kind, SQ_LATEST);
	assert_string_equal(r.target, "#h");
	assert_false(r.a.set);
	assert_int_equal(r.limit, 10);

	assert_int_equal(parse(&r, 4, "BEFORE", "#h", "msgid=" ID, "5", NULL), IH_OK);
	assert_int_equal(r.kind, SQ_BEFORE);
	assert_true(r.a.set);
	assert_string_equal(r.a.msgid, ID);

	assert_int_equal(parse(&r, 4, "AFTER", "#h", "timestamp=2019-01-04T14:33:26.123Z",
	    "5", NULL), IH_OK);
	assert_true(r.a.set && r.a.msgid[0] == '\0' && r.a.at_ms == INT64_C(1546612406123));

	assert_int_equal(parse(&r, 5, "BETWEEN", "#h", "msgid=" ID,
	    "timestamp=2019-01-04T14:33:26.123Z", "7"), IH_OK);
	assert_int_equal(r.kind, SQ_BETWEEN);
	assert_true(r.a.set && r.b.set);

	assert_int_equal(parse(&r, 4, "TARGETS", "timestamp=2019-01-04T14:33:26.123Z",
	    "timestamp=2020-01-04T14:33:26.123Z", "3", NULL), IH_OK);
	assert_int_equal(r.kind, SQ_TARGETS);
	assert_null(r.target);

	/* Above the max: the max. */
	assert_int_equal(parse(&r, 4, "LATEST", "#h", "*", "100000000000000000000", NULL), IH_OK);
	assert_int_equal(r.limit, MAX);

	/* Not one of our ids: nothing can match it, which is no error. */
	assert_int_equal(parse(&r, 4, "AROUND", "#h", "msgid=abc", "3", NULL), IH_OK);
	assert_true(r.foreign);
}

static void
test_refusals(void **state)
{
	(void)state;
	struct ih_request r;
	assert_int_equal(parse(&r, 0, NULL, NULL, NULL, NULL, NULL), IH_NEED_MORE);
	assert_int_equal(parse(&r, 4, "FOO", "#h", "*", "10", NULL), IH_UNKNOWN);
	assert_string_equal(r.sub, "FOO");
	assert_int_equal(parse(&r, 3, "LATEST", "#h", "*", NULL, NULL), IH_NEED_MORE);
	assert_int_equal(parse(&r, 5, "LATEST", "#h", "*", "10", "x"), IH_TOO_MANY);
	assert_int_equal(parse(&r, 4, "BEFORE", "#h", "*", "10", NULL), IH_BAD_REF);
	assert_string_equal(r.bad, "*");
	assert_int_equal(parse(&r, 4, "AFTER", "#h", "foo=bar", "10", NULL), IH_BAD_REF);
	assert_int_equal(parse(&r, 4, "AFTER", "#h", "msgid=", "10", NULL), IH_BAD_REF);
	assert_int_equal(parse(&r, 4, "AFTER", "#h", "timestamp=now", "10", NULL), IH_BAD_TIME);
	assert_string_equal(r.bad, "timestamp=now");
	assert_int_equal(parse(&r, 4, "LATEST", "#h", "*", "0", NULL), IH_BAD_LIMIT);
	assert_int_equal(parse(&r, 4, "LATEST", "#h", "*", "-1", NULL), IH_BAD_LIMIT);
	assert_int_equal(parse(&r, 4, "LATEST", "#h", "*", "", NULL), IH_BAD_LIMIT);
	assert_int_equal(parse(&r, 4, "TARGETS", "msgid=" ID,
	    "timestamp=2020-01-04T14:33:26.123Z", "3", NULL), IH_BAD_REF);
}

static void
test_search(void **state)
{
	(void)state;
	struct ih_search s;
	assert_int_equal(ih_search_parse("in=#h;text=quick\\sfox;from=bob;limit=5", MAX, &s),
	    IH_OK);
	assert_string_equal(s.in, "#h");
	assert_string_equal(s.text, "quick fox");
	assert_string_equal(s.from, "bob");
	assert_int_equal(s.limit, 5);
	assert_int_equal(ih_search_parse("text=a;after=2019-01-04T14:33:26.123Z;"
	    "before=2020-01-04T14:33:26Z;other=x", MAX, &s), IH_OK);
	assert_true(s.after.set && s.before.set);
	assert_null(s.in);
	assert_int_equal(s.limit, MAX);

	assert_int_equal(ih_search_parse("", MAX, &s), IH_NEED_MORE);
	assert_int_equal(ih_search_parse("text=a;limit=0", MAX, &s), IH_BAD_LIMIT);
	assert_string_equal(s.bad, "limit");
	assert_int_equal(ih_search_parse("text=a;after=soon", MAX, &s), IH_BAD_TIME);
	assert_string_equal(s.bad, "after");
	assert_int_equal(ih_search_parse("in=;text=a", MAX, &s), IH_BAD_REF);
	assert_string_equal(s.bad, "in");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
