/* Unit tests for the framer: how a byte stream becomes lines, and how it
 * stays bounded when the stream misbehaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "net/framer.h"

#define MAX_LINE 64
#define LIMIT (2 * MAX_LINE + 2)

/* Feeds all of s (which must fit) and checks the framer took every byte. */
static void
feed_all(struct framer *f, const char *s, size_t n)
{
	long took = framer_feed(f, s, n);
	assert_int_equal(took, (long)n);
}

static void
feed_str(struct framer *f, const char *s)
{
	feed_all(f, s, strlen(s));
}

/* Takes the next line and checks it is exactly want (want_len bytes). */
static void
expect_line(struct framer *f, const char *want, size_t want_len)
{
	char *line = NULL;
	size_t len = 0;
	assert_int_equal(framer_next(f, &line, &len), FRAMER_LINE);
	assert_non_null(line);
	assert_int_equal(len, want_len);
	assert_memory_equal(line, want, want_len);
	assert_int_equal(line[len], '\0');
}

static void
expect_str(struct framer *f, const char *want)
{
	expect_line(f, want, strlen(want));
}

static void
expect_status(struct framer *f, enum framer_status want)
{
	char *line = NULL;
	size_t len = 0;
	assert_int_equal(framer_next(f, &line, &len), want);
}

static int
setup(void **state)
{
	struct framer *f = malloc(sizeof *f);
	if (f == NULL)
		return -1;
	framer_init(f, MAX_LINE, LIMIT);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct framer *f = *state;
	framer_free(f);
	free(f);
	return 0;
}

static void
test_init_holds_nothing(void **state)
{
	struct framer *f = *state;
	assert_null(f->buf);
	assert_int_equal(framer_held(f), 0);
	assert_int_equal(framer_room(f), LIMIT);
	assert_int_equal(f->max_line, MAX_LINE);
	assert_int_equal(f->limit, LIMIT);
	expect_status(f, FRAMER_EMPTY);
}

static void
test_init_raises_small_limit(void **state)
{
	(void)state;
	struct framer f;
	framer_init(&f, 100, 10);
	assert_int_equal(f.limit, 102);
	framer_free(&f);
}

static void
test_single_line_lf(void **state)
{
	struct framer *f = *state;
	feed_str(f, "hello\n");
	expect_str(f, "hello");
	expect_status(f, FRAMER_EMPTY);
}

static void
test_single_line_crlf(void **state)
{
	struct framer *f = *state;
	feed_str(f, "hello\r\n");
	expect_str(f, "hello");
	expect_status(f, FRAMER_EMPTY);
}

static void
test_mixed_endings(void **state)
{
	struct framer *f = *state;
	feed_str(f, "one\r\ntwo\nthree\r\n");
	expect_str(f, "one");
	expect_str(f, "two");
	expect_str(f, "three");
	expect_status(f, FRAMER_EMPTY);
}

static void
test_only_one_cr_dropped(void **state)
{
	struct framer *f = *state;
	/* A CR that is not right before the LF is part of the line. */
	feed_str(f, "a\rb\r\r\n");
	expect_line(f, "a\rb\r", 4);
	expect_status(f, FRAMER_EMPTY);
}

static void
test_no_line_without_newline(void **state)
{
	struct framer *f = *state;
	feed_str(f, "partial");
	expect_status(f, FRAMER_EMPTY);
	assert_int_equal(framer_held(f), 7);
	feed_str(f, " line\n");
	expect_str(f, "partial line");
	expect_status(f, FRAMER_EMPTY);
}

static void
test_byte_by_byte(void **state)
{
	struct framer *f = *state;
	const char *in = "byte by byte\r\nsecond\n";
	const size_t n = strlen(in);
	int lines = 0;
	for (size_t i = 0; i < n; i++) {
		feed_all(f, in + i, 1);
		char *line;
		size_t len;
		enum framer_status st = framer_next(f, &line, &len);
		if (in[i] == '\n') {
			assert_int_equal(st, FRAMER_LINE);
			if (lines == 0)
				assert_string_equal(line, "byte by byte");
			else
				assert_string_equal(line, "second");
			lines++;
		} else {
			assert_int_equal(st, FRAMER_EMPTY);
		}
	}
	assert_int_equal(lines, 2);
	expect_status(f, FRAMER_EMPTY);
	assert_null(f->buf);
}

static void
test_cr_and_lf_in_separate_feeds(void **state)
{
	struct framer *f = *state;
	feed_str(f, "split\r");
	expect_status(f, FRAMER_EMPTY);
	feed_str(f, "\n");
	expect_str(f, "split");
}

static void
test_several_lines_one_feed(void **state)
{
	struct framer *f = *state;
	feed_str(f, "a\nbb\nccc\ntail");
	expect_str(f, "a");
	expect_str(f, "bb");
	expect_str(f, "ccc");
	expect_status(f, FRAMER_EMPTY);
	assert_int_equal(framer_held(f), 4);
	feed_str(f, "\n");
	expect_str(f, "tail");
	expect_status(f, FRAMER_EMPTY);
}

static void
test_empty_lines(void **state)
{
	struct framer *f = *state;
	feed_str(f, "\n\r\nx\n");
	expect_str(f, "");
	expect_str(f, "");
	expect_str(f, "x");
	expect_status(f, FRAMER_EMPTY);
}

static void
test_exactly_max_line_lf(void **state)
{
	struct framer *f = *state;
	char in[MAX_LINE + 1];
	memset(in, 'm', MAX_LINE);
	in[MAX_LINE] = '\n';
	feed_all(f, in, sizeof in);
	expect_line(f, in, MAX_LINE);
	expect_status(f, FRAMER_EMPTY);
}

static void
test_exactly_max_line_crlf(void **state)
{
	struct framer *f = *state;
	char in[MAX_LINE + 2];
	memset(in, 'm', MAX_LINE);
	in[MAX_LINE] = '\r';
	in[MAX_LINE + 1] = '\n';
	feed_all(f, in, sizeof in);
	expect_line(f, in, MAX_LINE);
	expect_status(f, FRAMER_EMPTY);
}

static void
test_exactly_max_line_crlf_byte_by_byte(void **state)
{
	struct framer *f = *state;
	char in[MAX_LINE + 2];
	memset(in, 'm', MAX_LINE);
	in[MAX_LINE] = '\r';
	in[MAX_LINE + 1] = '\n';
	/* Until the LF arrives, max_line bytes and a CR may still be fine. */
	for (size_t i = 0; i < sizeof in - 1; i++) {
		feed_all(f, in + i, 1);
		expect_status(f, FRAMER_EMPTY);
	}
	feed_all(f, in + sizeof in - 1, 1);
	expect_line(f, in, MAX_LINE);
}

static void
test_max_line_plus_one_is_overlong(void **state)
{
	struct framer *f = *state;
	char in[MAX_LINE + 2];
	memset(in, 'o', MAX_LINE + 1);
	in[MAX_LINE + 1] = '\n';
	feed_all(f, in, sizeof in);
	feed_str(f, "next\n");
	expect_status(f, FRAMER_OVERLONG);
	expect_str(f, "next");
	expect_status(f, FRAMER_EMPTY);
}

static void
test_max_line_plus_one_crlf_is_overlong(void **state)
{
	struct framer *f = *state;
	char in[MAX_LINE + 3];
	memset(in, 'o', MAX_LINE + 1);
	in[MAX_LINE + 1] = '\r';
	in[MAX_LINE + 2] = '\n';
	feed_all(f, in, sizeof in);
	expect_status(f, FRAMER_OVERLONG);
	feed_str(f, "next\n");
	expect_str(f, "next");
}

static void
test_overlong_without_newline_then_rest(void **state)
{
	struct framer *f = *state;
	/* max_line + 2 bytes without LF: cannot end well any more. */
	char in[MAX_LINE + 2];
	memset(in, 'z', sizeof in);
	feed_all(f, in, sizeof in);
	expect_status(f, FRAMER_OVERLONG);
	assert_int_equal(framer_held(f), 0);
	assert_null(f->buf);
	/* The rest of the overlong line, then a good one, in one feed. */
	feed_str(f, "zzzz\ngood\n");
	expect_str(f, "good");
	expect_status(f, FRAMER_EMPTY);
}

static void
test_overlong_flood_is_bounded(void **state)
{
	struct framer *f = *state;
	enum { CHUNK = 4096, TOTAL = 10 * 1024 * 1024 };
	static char chunk[CHUNK];
	memset(chunk, 'A', sizeof chunk);
	int overlong = 0, lines = 0;
	size_t fed = 0;
	while (fed < TOTAL) {
		size_t off = 0;
		while (off < CHUNK) {
			long took = framer_feed(f, chunk + off, CHUNK - off);
			assert_true(took >= 0);
			off += (size_t)took;
			fed += (size_t)took;
			assert_true(framer_held(f) <= f->limit);
			assert_true(f->cap <= f->limit);
			char *line;
			size_t len;
			enum framer_status st;
			int progressed = took > 0;
			while ((st = framer_next(f, &line, &len)) != FRAMER_EMPTY) {
				progressed = 1;
				if (st == FRAMER_OVERLONG)
					overlong++;
				else
					lines++;
			}
			/* Never a busy loop: every round moves something. */
			assert_true(progressed);
			assert_true(framer_held(f) <= f->limit);
			assert_true(f->cap <= f->limit);
		}
	}
	assert_int_equal(fed, TOTAL);
	assert_int_equal(overlong, 1);
	assert_int_equal(lines, 0);
	assert_int_equal(framer_held(f), 0);
	assert_null(f->buf);
	/* The end of the flood, and a normal line after it. */
	feed_str(f, "AAAA\nafter\n");
	expect_str(f, "after");
	expect_status(f, FRAMER_EMPTY);
	expect_status(f, FRAMER_EMPTY);
}

static void
test_overlong_with_lf_in_buffer(void **state)
{
	(void)state;
	/* A limit well over max_line: the whole overlong line, LF included,
	 * can arrive before framer_next is called. */
	struct framer f;
	framer_init(&f, 8, 64);
	feed_all(&f, "ok\n0123456789\nfine\n", 19);
	expect_str(&f, "ok");
	expect_status(&f, FRAMER_OVERLONG);
	expect_str(&f, "fine");
	expect_status(&f, FRAMER_EMPTY);
	assert_null(f.buf);
	framer_free(&f);
}

static void
test_nul_bytes_pass_through(void **state)
{
	struct framer *f = *state;
	const char in[] = "a\0b\0\0c\r\n";
	feed_all(f, in, sizeof in - 1);
	expect_line(f, "a\0b\0\0c", 6);
}

static void
test_nul_bytes_count_toward_max_line(void **state)
{
	struct framer *f = *state;
	char in[MAX_LINE + 2];
	memset(in, '\0', MAX_LINE + 1);
	in[MAX_LINE + 1] = '\n';
	feed_all(f, in, sizeof in);
	expect_status(f, FRAMER_OVERLONG);
	memset(in, '\0', MAX_LINE);
	in[MAX_LINE] = '\n';
	feed_all(f, in, MAX_LINE + 1);
	expect_line(f, in, MAX_LINE);
}

static void
test_feed_short_when_full(void **state)
{
	struct framer *f = *state;
	/* Lines of 9 bytes plus LF: LIMIT / 10 of them fit, then a part. */
	char in[1000];
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = i % 10 == 9 ? '\n' : (char)('0' + i % 10);
	long took = framer_feed(f, in, sizeof in);
	assert_int_equal(took, LIMIT);
	assert_int_equal(framer_held(f), LIMIT);
	assert_int_equal(framer_room(f), 0);
	/* Full: nothing more is taken until a line is. */
	assert_int_equal(framer_feed(f, in + took, sizeof in - (size_t)took), 0);

	size_t off = (size_t)took;
	int lines = 0;
	for (;;) {
		char *line;
		size_t len;
		enum framer_status st;
		while ((st = framer_next(f, &line, &len)) == FRAMER_LINE) {
			assert_int_equal(len, 9);
			assert_string_equal(line, "012345678");
			lines++;
		}
		assert_int_equal(st, FRAMER_EMPTY);
		if (off == sizeof in)
			break;
		took = framer_feed(f, in + off, sizeof in - off);
		assert_true(took > 0);
		assert_true(framer_held(f) <= LIMIT);
		off += (size_t)took;
	}
	assert_int_equal(lines, 100);
	assert_null(f->buf);
}

static void
test_buffer_released_when_empty(void **state)
{
	struct framer *f = *state;
	feed_str(f, "x\n");
	assert_non_null(f->buf);
	expect_str(f, "x");
	/* The line must stay valid until the next call... */
	assert_non_null(f->buf);
	/* ...which, finding nothing, gives the buffer back. */
	expect_status(f, FRAMER_EMPTY);
	assert_null(f->buf);
	assert_int_equal(f->cap, 0);
	assert_int_equal(framer_held(f), 0);
	assert_int_equal(framer_room(f), LIMIT);

	/* A partial line keeps it. */
	feed_str(f, "y");
	expect_status(f, FRAMER_EMPTY);
	assert_non_null(f->buf);
	feed_str(f, "\n");
	expect_str(f, "y");
	expect_status(f, FRAMER_EMPTY);
	assert_null(f->buf);
}

/* What conn_process does: it stops once nothing is held, without the
 * framer_next call that would free the buffer, and releases it itself. */
static void
test_release_if_empty(void **state)
{
	struct framer *f = *state;
	feed_str(f, "a\nb");
	expect_str(f, "a");
	framer_release_if_empty(f);
	assert_non_null(f->buf); /* "b" is still held */
	feed_str(f, "\n");
	expect_str(f, "b");
	assert_int_equal(framer_held(f), 0);
	assert_non_null(f->buf);
	framer_release_if_empty(f);
	assert_null(f->buf);
	assert_int_equal(framer_room(f), LIMIT);
	feed_str(f, "c\n");
	expect_str(f, "c");
}

static void
test_free_is_idempotent(void **state)
{
	struct framer *f = *state;
	feed_str(f, "unfinished");
	framer_free(f);
	assert_null(f->buf);
	assert_int_equal(framer_held(f), 0);
	framer_free(f);
	feed_str(f, "again\n");
	expect_str(f, "again");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_holds_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_if_empty, setup, teardown),
		cmocka_unit_test(test_init_raises_small_limit),
		cmocka_unit_test_setup_teardown(test_single_line_lf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_line_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed_endings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_one_cr_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_line_without_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_by_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cr_and_lf_in_separate_feeds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_lines_one_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exactly_max_line_lf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exactly_max_line_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exactly_max_line_crlf_byte_by_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_line_plus_one_is_overlong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_line_plus_one_crlf_is_overlong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_without_newline_then_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_flood_is_bounded, setup, teardown),
		cmocka_unit_test(test_overlong_with_lf_in_buffer),
		cmocka_unit_test_setup_teardown(test_nul_bytes_pass_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_bytes_count_toward_max_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_short_when_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_released_when_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_is_idempotent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
