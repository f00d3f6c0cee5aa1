/* Unit tests for text cleaning (NUL removal, one U+FFFD per maximal
 * invalid UTF-8 subpart) and the word splitting the doors use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/text.h"

#define FFFD "\xEF\xBF\xBD"

/* Cleans n bytes of in and checks the result is exactly want (want_len
 * bytes), valid, NUL-terminated and within TEXT_CLEAN_MAX. */
static void
check_clean(const char *in, size_t n, const char *want, size_t want_len)
{
	char *out = malloc(TEXT_CLEAN_MAX(n) + 1);
	assert_non_null(out);
	memset(out, 'Q', TEXT_CLEAN_MAX(n) + 1);
	size_t got = text_clean(out, in, n);
	assert_int_equal(got, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[got], '\0');
	assert_true(got <= TEXT_CLEAN_MAX(n));
	assert_true(text_is_clean(out, got));
	free(out);
}

/* For string literals: sizeof includes the terminator. */
#define CLEAN(in, want) check_clean(in, sizeof(in) - 1, want, sizeof(want) - 1)

static void
test_clean_ascii_unchanged(void **state)
{
	(void)state;
	CLEAN("hello, world", "hello, world");
	CLEAN("", "");
	CLEAN("\t~\x7F\x01", "\t~\x7F\x01");
	assert_true(text_is_clean("hello", 5));
	assert_true(text_is_clean("", 0));
}

/* text_is_clean reads ASCII eight bytes at a time: a NUL, a CR or a bad
 * byte is found wherever it falls in a long line (each position of a
 * word, the last bytes after the words), and a good sequence across a
 * word's edge is taken. */
/* A line is held to its length in bytes and may carry no LF, CR or NUL:
 * a text that passes can never become two lines on any door. */
static void
test_is_line(void **state)
{
	(void)state;
	assert_true(text_is_line("topic", 5, 5));
	assert_true(text_is_line("", 0, 0));
	assert_false(text_is_line("topic", 5, 4));
	assert_false(text_is_line("a\nPRIVMSG #r :x", 16, 100));
	assert_false(text_is_line("a\r", 2, 100));
	assert_false(text_is_line("a\0b", 3, 100));
	assert_false(text_is_line("\xC3", 1, 100));
	assert_true(text_is_line("caf\xC3\xA9", 5, 5));
}

static void
test_is_clean_any_position(void **state)
{
	(void)state;
	static const char *const bad[] = { "\0", "\r", "\xFF", "\x80", "\xE2\x82", "\xC3" };
	static const char *const good[] = { "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\n" };
	char line[64];
	for (size_t len = 1; len <= 40; len++) {
		memset(line, 'a', sizeof line);
		assert_true(text_is_clean(line, len));
		for (size_t at = 0; at < len; at++) {
			for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
				size_t bn = k == 0 ? 1 : strlen(bad[k]);
				if (at + bn > len)
					continue;
				memset(line, 'a', sizeof line);
				memcpy(line + at, bad[k], bn);
				assert_false(text_is_clean(line, len));
			}
			for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
				size_t gn = strlen(good[k]);
				if (at + gn > len)
					continue;
				memset(line, 'a', sizeof line);
				memcpy(line + at, good[k], gn);
				assert_true(text_is_clean(line, len));
			}
		}
	}
}

static void
test_clean_multibyte_unchanged(void **state)
{
	(void)state;
	/* Two-, three- and four-byte forms, and the edges of each range. */
	CLEAN("caf\xC3\xA9", "caf\xC3\xA9");
	CLEAN("\xE2\x82\xAC 5", "\xE2\x82\xAC 5");
	CLEAN("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80");
	CLEAN("\xC2\x80\xDF\xBF", "\xC2\x80\xDF\xBF");            /* U+0080, U+07FF */
	CLEAN("\xE0\xA0\x80\xEF\xBF\xBF", "\xE0\xA0\x80\xEF\xBF\xBF"); /* U+0800, U+FFFF */
	CLEAN("\xED\x9F\xBF\xEE\x80\x80", "\xED\x9F\xBF\xEE\x80\x80"); /* around surrogates */
	CLEAN("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
	    "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");                     /* U+10000, U+10FFFF */
	CLEAN(FFFD, FFFD);
	assert_true(text_is_clean("\xF4\x8F\xBF\xBF", 4));
}

static void
test_clean_removes_nul(void **state)
{
	(void)state;
	CLEAN("a\0b", "ab");
	CLEAN("\0\0\0", "");
	CLEAN("\0x\0", "x");
	/* A NUL inside a sequence ends it; the rest is invalid on its own. */
	CLEAN("\xE2\0\x82\xAC", FFFD FFFD FFFD);
	assert_false(text_is_clean("a\0b", 3));
	assert_false(text_is_clean("\0", 1));
}

static void
test_clean_lone_bytes(void **state)
{
	(void)state;
	CLEAN("\xFF", FFFD);
	CLEAN("a\xFFz", "a" FFFD "z");
	CLEAN("\xFE\xFF", FFFD FFFD);
	CLEAN("\x80", FFFD);                          /* lone continuation */
	CLEAN("\x80\xBF\x80", FFFD FFFD FFFD);        /* each its own subpart */
	CLEAN("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD); /* F5: never a lead */
	assert_false(text_is_clean("\xFF", 1));
	assert_false(text_is_clean("\x80", 1));
}

static void
test_clean_truncated(void **state)
{
	(void)state;
	/* A sequence cut short by the end of the input is one subpart. */
	CLEAN("ab\xC3", "ab" FFFD);
	CLEAN("ab\xE2\x82", "ab" FFFD);
	CLEAN("ab\xF0\x9F\x98", "ab" FFFD);
	CLEAN("\xE2", FFFD);
	/* ... or by a byte that cannot continue it, which stays. */
	CLEAN("\xE2\x82x", FFFD "x");
	CLEAN("\xF0\x9F\x98 ok", FFFD " ok");
	CLEAN("\xC3\xC3\xA9", FFFD "\xC3\xA9");
	CLEAN("\xE2\x82\xE2\x82\xAC", FFFD "\xE2\x82\xAC");
	assert_false(text_is_clean("\xE2\x82", 2));
}

static void
test_clean_overlong_surrogate_toobig(void **state)
{
	(void)state;
	/* C0 and C1 are never valid leads: each byte is its own subpart. */
	CLEAN("\xC0\x80", FFFD FFFD);
	CLEAN("\xC1\xBF", FFFD FFFD);
	/* E0 needs A0..BF next: 80 is not, so E0 stands alone. */
	CLEAN("\xE0\x80\x80", FFFD FFFD FFFD);
	CLEAN("\xE0\x9F\xBF", FFFD FFFD FFFD);
	/* ED A0..BF would be a surrogate. */
	CLEAN("\xED\xA0\x80", FFFD FFFD FFFD);
	CLEAN("\xED\xBF\xBF", FFFD FFFD FFFD);
	/* F0 needs 90..BF next (else overlong), F4 needs 80..8F (else past
	 * U+10FFFF). */
	CLEAN("\xF0\x80\x80\x80", FFFD FFFD FFFD FFFD);
	CLEAN("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD);
	/* A good second byte then a bad third: one subpart, then the rest. */
	CLEAN("\xF4\x8F\x41", FFFD "A");
	assert_false(text_is_clean("\xC0\x80", 2));
	assert_false(text_is_clean("\xED\xA0\x80", 3));
	assert_false(text_is_clean("\xF4\x90\x80\x80", 4));
}

static void
test_clean_worst_case_size(void **state)
{
	(void)state;
	/* Every byte invalid: TEXT_CLEAN_MAX exactly. */
	char in[64];
	memset(in, 0xFF, sizeof in);
	char out[TEXT_CLEAN_MAX(sizeof in) + 1];
	size_t n = text_clean(out, in, sizeof in);
	assert_int_equal(n, TEXT_CLEAN_MAX(sizeof in));
	assert_true(text_is_clean(out, n));
	for (size_t i = 0; i < n; i += 3)
		assert_memory_equal(out + i, FFFD, 3);
}

static void
test_clean_output_always_clean(void **state)
{
	(void)state;
	/* Pseudo-random bytes, biased toward the interesting ranges. */
	static const unsigned char pick[] = {
		0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
		0xC2, 0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
	};
	unsigned seed = 1;
	char in[32];
	char out[TEXT_CLEAN_MAX(sizeof in) + 1];
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(round % (int)sizeof in);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (char)pick[(seed >> 16) % sizeof pick];
		}
		size_t got = text_clean(out, in, n);
		assert_true(got <= TEXT_CLEAN_MAX(n));
		assert_int_equal(strlen(out), got);
		assert_true(text_is_clean(out, got));
		/* Clean input comes out as it went in. */
		if (text_is_clean(in, n)) {
			assert_int_equal(got, n);
			assert_memory_equal(out, in, n);
		}
		/* Cleaning is idempotent. */
		char again[sizeof out * 3 + 1];
		assert_int_equal(text_clean(again, out, got), got);
		assert_memory_equal(again, out, got);
	}
}

static void
test_word_splitting(void **state)
{
	(void)state;
	char buf[] = "  one   two three  ";
	char *s = buf;
	assert_string_equal(text_word(&s), "one");
	assert_string_equal(text_word(&s), "two");
	assert_string_equal(text_word(&s), "three");
	assert_null(text_word(&s));
	assert_null(text_word(&s));
	assert_null(text_rest(&s));
}

static void
test_word_then_rest(void **state)
{
	(void)state;
	char buf[] = "/msg   bob    hello   there  ";
	char *s = buf;
	assert_string_equal(text_word(&s), "/msg");
	assert_string_equal(text_word(&s), "bob");
	/* The rest keeps its inner and trailing spaces. */
	assert_string_equal(text_rest(&s), "hello   there  ");
	assert_string_equal(s, "");
	assert_null(text_rest(&s));
	assert_null(text_word(&s));
}

static void
test_word_and_rest_edges(void **state)
{
	(void)state;
	char empty[] = "";
	char *s = empty;
	assert_null(text_word(&s));
	assert_null(text_rest(&s));

	char spaces[] = "    ";
	s = spaces;
	assert_null(text_rest(&s));
	assert_string_equal(s, "");
	s = spaces;
	assert_null(text_word(&s));

	char one[] = "word";
	s = one;
	assert_string_equal(text_word(&s), "word");
	assert_string_equal(s, "");
	assert_null(text_rest(&s));

	/* Only spaces separate: a tab is part of a word. */
	char tab[] = "a\tb c";
	s = tab;
	assert_string_equal(text_word(&s), "a\tb");
	assert_string_equal(text_rest(&s), "c");

	char lead[] = "   rest of it";
	s = lead;
	assert_string_equal(text_rest(&s), "rest of it");
}

/* The cut a long line is split at: never inside a character, and never
 * nothing (a caller that loops on it must advance). */
static void
test_fit_cuts_between_characters(void **state)
{
	(void)state;
	const char *euro = "\xE2\x82\xAC\xE2\x82\xAC"; /* two 3-byte characters */
	assert_int_equal(utf8_fit(euro, 6, 6), 6);
	assert_int_equal(utf8_fit(euro, 6, 100), 6);
	assert_int_equal(utf8_fit(euro, 6, 5), 3);
	assert_int_equal(utf8_fit(euro, 6, 4), 3);
	assert_int_equal(utf8_fit(euro, 6, 3), 3);
	/* Too small for the first character: cut anyway, never 0. */
	assert_int_equal(utf8_fit(euro, 6, 2), 2);
	assert_int_equal(utf8_fit("ab", 2, 1), 1);
	assert_int_equal(utf8_fit("", 0, 5), 0);
	const char *emoji = "a\xF0\x9F\x98\x83" "b";
	assert_int_equal(utf8_fit(emoji, 6, 4), 1);
	assert_int_equal(utf8_fit(emoji, 6, 5), 5);
}

/* What others see of a reason or topic: the text itself when it fits,
 * else a copy cut between characters. */
static void
test_cut_between_characters(void **state)
{
	(void)state;
	char buf[8];
	const char *euro = "\xE2\x82\xAC\xE2\x82\xAC";
	assert_null(text_cut(NULL, 5, buf));
	assert_ptr_equal(text_cut(euro, 6, buf), euro);
	assert_string_equal(text_cut("", 0, buf), "");
	assert_string_equal(text_cut(euro, 5, buf), "\xE2\x82\xAC");
	assert_ptr_equal(text_cut(euro, 5, buf), buf);
	assert_string_equal(text_cut("abcdef", 4, buf), "abcd");
	/* Too small for the first character: cut anyway, as utf8_fit. */
	assert_string_equal(text_cut(euro, 2, buf), "\xE2\x82");
}

static void
expect_terminal(const char *in, const char *want, int keep_lf)
{
	char out[256];
	assert_int_equal(text_for_terminal(out, in, keep_lf), strlen(want));
	assert_string_equal(out, want);
	assert_int_equal(text_has_controls(in, keep_lf), strcmp(in, want) != 0);
}

/* What reaches a terminal: no formatting, no control a terminal obeys. */
static void
test_for_terminal(void **state)
{
	(void)state;
	expect_terminal("plain text, caf\xC3\xA9", "plain text, caf\xC3\xA9", 0);
	expect_terminal("tab\tstays", "tab\tstays", 0);
	expect_terminal("\x1B[2J\x1B]0;owned\x07" "clear", "[2J]0;ownedclear", 0);
	expect_terminal("\x02" "bold\x02 \x1Fu\x1F \x1Di\x1D \x16r\x0F \x11m \x1Es",
	    "bold u i r m s", 0);
	expect_terminal("\x03" "4red\x03 \x03" "04,12on blue\x03 \x03" "99,\x03", "red on blue ,", 0);
	expect_terminal("\x03" "123", "3", 0);
	expect_terminal("\x04" "ff0000hex\x04 \x04" "ABCDEF,000000x \x04" "12z", "hex x 12z", 0);
	/* DEL, and C1 controls in UTF-8 (U+009B is a CSI to some terminals). */
	expect_terminal("a\x7F" "b\xC2\x9B" "2Jc\xC2\x80" "d\xC2\xA0" "e", "ab2Jcd\xC2\xA0" "e", 0);
	expect_terminal("one\ntwo", "onetwo", 0);
	expect_terminal("one\ntwo", "one\ntwo", 1);
	expect_terminal("", "", 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_ascii_unchanged),
		cmocka_unit_test(test_cut_between_characters),
		cmocka_unit_test(test_clean_multibyte_unchanged),
		cmocka_unit_test(test_clean_removes_nul),
		cmocka_unit_test(test_clean_lone_bytes),
		cmocka_unit_test(test_clean_truncated),
		cmocka_unit_test(test_clean_overlong_surrogate_toobig),
		cmocka_unit_test(test_clean_worst_case_size),
		cmocka_unit_test(test_clean_output_always_clean),
		cmocka_unit_test(test_is_clean_any_position),
		cmocka_unit_test(test_is_line),
		cmocka_unit_test(test_word_splitting),
		cmocka_unit_test(test_word_then_rest),
		cmocka_unit_test(test_word_and_rest_edges),
		cmocka_unit_test(test_fit_cuts_between_characters),
		cmocka_unit_test(test_for_terminal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
