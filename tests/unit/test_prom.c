/* Unit tests for the Prometheus text format (base/prom.h): escaping of
 * help text and label values, the samples' lines, histograms (cumulative
 * buckets, +Inf, scaled bounds and sums), the bound on the text; and the
 * histogram and close-reason counting they show (base/histogram.h,
 * net/conn_stats.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/histogram.h"
#include "base/prom.h"
#include "net/conn_stats.h"

static void
test_label_values_escaped(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(prom_escape_label(out, sizeof out, "plain"), 5);
	assert_string_equal(out, "plain");
	/* Backslash, double quote and newline, each as \\, \" and \n. */
	assert_int_equal(prom_escape_label(out, sizeof out, "a\\b\"c\nd"), 10);
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	/* Other bytes, UTF-8 and tabs too, stay as they are. */
	prom_escape_label(out, sizeof out, "caf\xc3\xa9\t}");
	assert_string_equal(out, "caf\xc3\xa9\t}");
	/* Too small: cut, NUL-terminated, the length needed returned. */
	assert_int_equal(prom_escape_label(out, 4, "\"\"\""), 6);
	assert_string_equal(out, "\\\"\\");
}

static void
test_samples_and_family(void **state)
{
	(void)state;
	struct prom p;
	prom_init(&p);
	/* In help text a backslash and a newline are escaped, a quote not. */
	prom_family(&p, "x_total", "counter", "Says \"hi\"\\\nthen more.");
	const struct prom_label l[] = { { "door", "irc" }, { "why", "a \"b\"\n" } };
	prom_uint(&p, "x_total", l, 2, 18446744073709551615ull);
	prom_uint(&p, "x_total", NULL, 0, 0);
	prom_double(&p, "g", NULL, 0, 0.25);
	prom_double(&p, "g", NULL, 0, 1e-5);
	prom_double(&p, "g", NULL, 0, 1.0 / 3.0);
	assert_false(prom_failed(&p));
	assert_string_equal(p.text,
	    "# HELP x_total Says \"hi\"\\\\\\nthen more.\n"
	    "# TYPE x_total counter\n"
	    "x_total{door=\"irc\",why=\"a \\\"b\\\"\\n\"} 18446744073709551615\n"
	    "x_total 0\n"
	    "g 0.25\n"
	    "g 1e-05\n"                 /* the shortest that reads back the same */
	    "g 0.3333333333333333\n");
	assert_int_equal(p.len, strlen(p.text));
	prom_free(&p);
}

static void
test_histogram(void **state)
{
	(void)state;
	static const uint64_t le[] = { 10, 250, 1000 };
	struct histogram h;
	histogram_init(&h, le, 3);
	histogram_observe(&h, 0);
	histogram_observe(&h, 10);    /* on a bound: in its bucket */
	histogram_observe(&h, 11);
	histogram_observe(&h, 5000);  /* past every bound */
	assert_int_equal(h.count, 4);
	assert_int_equal(h.sum, 5021);
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[2], 0);
	assert_int_equal(h.bucket[3], 1);

	struct prom p;
	prom_init(&p);
	const struct prom_label l = { "door", "x\"y" };
	prom_histogram(&p, "d_seconds", &l, 1, &h, 1e6);
	assert_false(prom_failed(&p));
	assert_string_equal(p.text,
	    "d_seconds_bucket{door=\"x\\\"y\",le=\"1e-05\"} 2\n"
	    "d_seconds_bucket{door=\"x\\\"y\",le=\"0.00025\"} 3\n"
	    "d_seconds_bucket{door=\"x\\\"y\",le=\"0.001\"} 3\n"
	    "d_seconds_bucket{door=\"x\\\"y\",le=\"+Inf\"} 4\n"
	    "d_seconds_sum{door=\"x\\\"y\"} 0.005021\n"
	    "d_seconds_count{door=\"x\\\"y\"} 4\n");
	prom_free(&p);
}

static void
test_bounded(void **state)
{
	(void)state;
	struct prom p;
	prom_init(&p);
	char help[1024];
	memset(help, 'h', sizeof help - 1);
	help[sizeof help - 1] = '\0';
	for (int i = 0; i < 2000 && !prom_failed(&p); i++)
		prom_family(&p, "big", "gauge", help);
	assert_true(prom_failed(&p));
	assert_true(p.len < PROM_TEXT_MAX);
	size_t len = p.len;
	prom_uint(&p, "after", NULL, 0, 1); /* nothing more once failed */
	assert_int_equal(p.len, len);
	prom_free(&p);
}

static void
test_close_reasons(void **state)
{
	(void)state;
	assert_int_equal(conn_end_of("sendq exceeded", 0), CONN_END_SENDQ_EXCEEDED);
	assert_int_equal(conn_end_of("Ping timeout: 180 seconds", 0), CONN_END_PING_TIMEOUT);
	assert_int_equal(conn_end_of("Excess flood", 0), CONN_END_EXCESS_FLOOD);
	assert_int_equal(conn_end_of("Quit: bye", 0), CONN_END_QUIT);
	/* A plain /quit's words are the user's: the flag says it was a quit. */
	assert_int_equal(conn_end_of("sendq exceeded", 1), CONN_END_QUIT);
	assert_int_equal(conn_end_of("Connection reset by peer", 0), CONN_END_PEER_CLOSED);
	assert_int_equal(conn_end_of("TLS handshake failed: x", 0), CONN_END_PROTOCOL_ERROR);
	assert_int_equal(conn_end_of("HTTP 404 GET /x", 0), CONN_END_HTTP_DONE);
	assert_int_equal(conn_end_of("Killed (op (spam))", 0), CONN_END_KILLED);
	assert_int_equal(conn_end_of(NULL, 0), CONN_END_OTHER);
	assert_int_equal(conn_end_of("Out of memory", 0), CONN_END_OTHER);
	for (int e = 0; e < CONN_ENDS; e++)
		assert_non_null(conn_end_name(e));
	assert_string_equal(conn_end_name(CONN_END_SENDQ_EXCEEDED), "sendq_exceeded");
	assert_string_equal(conn_refusal_name(CONN_REFUSED_FULL), "server_full");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_values_escaped),
		cmocka_unit_test(test_samples_and_family),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_close_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
