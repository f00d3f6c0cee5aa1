/* Unit tests for the nickname and room-name rules every door shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "chat/names.h"

static void
test_nick_valid(void **state)
{
	(void)state;
	const char *good[] = {
		"a", "Z", "Alice", "[bot]", "a-b_c", "_", "x9", "a1-2",
		"{curly}", "back\\slash", "pipe|", "^caret", "`tick", "bob-",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!name_nick_valid(good[i], NICK_LEN_MAX))
			fail_msg("\"%s\" should be a valid nick", good[i]);
	}
}

static void
test_nick_invalid(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "1abc", "9", "-a", "a b", " a", "a ", "a!b", "a@b", "#a",
		"a#", "a.b", "caf\xC3\xA9", "\xC3\xA9", "a,b", "a*", "a:b",
		"a\tb", "a\x7F", "a\x01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (name_nick_valid(bad[i], NICK_LEN_MAX))
			fail_msg("\"%s\" should not be a valid nick", bad[i]);
	}
}

static void
test_nick_length(void **state)
{
	(void)state;
	char nick[NICK_LEN_MAX + 2];
	memset(nick, 'n', sizeof nick);
	nick[NICK_LEN_MAX] = '\0';
	assert_int_equal(NICK_LEN_MAX, 32);
	assert_true(name_nick_valid(nick, NICK_LEN_MAX));
	nick[NICK_LEN_MAX] = 'n';
	nick[NICK_LEN_MAX + 1] = '\0';
	assert_false(name_nick_valid(nick, NICK_LEN_MAX));
	/* A configured max below NICK_LEN_MAX is honoured... */
	nick[10] = '\0';
	assert_true(name_nick_valid(nick, 10));
	assert_false(name_nick_valid(nick, 9));
	/* ...and one above it is not: NICK_LEN_MAX is the hard ceiling. */
	nick[10] = 'n';
	assert_false(name_nick_valid(nick, 100));
}

static void
test_room_valid(void **state)
{
	(void)state;
	const char *good[] = {
		"#a", "#lobby", "#Lobby-2", "##double", "#a#b", "#\xC3\xA9t\xC3\xA9",
		"#\xE2\x82\xAC", "#!@$%", "#a.b", "#\xC2\xA0" "nbsp", "#\xC3\x9B",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!name_room_valid(good[i], ROOM_LEN_MAX))
			fail_msg("\"%s\" should be a valid room", good[i]);
	}
}

static void
test_room_invalid(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "#", "lobby", "a#b", "# a", "#a b", "#a,b", "#a\x07",
		"#\x07", "#a\x7F", "#a\tb", "#a\r", "#a\n", " #a", "&a",
		"#a\xC2\x9B" "2J", "#\xC2\x80",  /* C1 controls: CSI, PAD */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (name_room_valid(bad[i], ROOM_LEN_MAX))
			fail_msg("\"%s\" should not be a valid room", bad[i]);
	}
}

static void
test_room_length(void **state)
{
	(void)state;
	char room[ROOM_LEN_MAX + 2];
	assert_int_equal(ROOM_LEN_MAX, 50);
	room[0] = '#';
	memset(room + 1, 'r', sizeof room - 1);
	room[50] = '\0';
	assert_int_equal(strlen(room), 50);
	assert_true(name_room_valid(room, ROOM_LEN_MAX));
	room[50] = 'r';
	room[51] = '\0';
	assert_false(name_room_valid(room, ROOM_LEN_MAX));
	/* A smaller configured maximum. */
	room[20] = '\0';
	assert_true(name_room_valid(room, 20));
	assert_false(name_room_valid(room, 19));
	room[20] = 'r';
	assert_false(name_room_valid(room, 1000));
}

static void
test_room_length_counts_bytes(void **state)
{
	(void)state;
	/* 1 + 16 * 3 = 49 bytes of '#' and euro signs, then one more byte. */
	char room[ROOM_LEN_MAX + 8];
	room[0] = '#';
	size_t n = 1;
	for (int i = 0; i < 16; i++) {
		memcpy(room + n, "\xE2\x82\xAC", 3);
		n += 3;
	}
	room[n] = '\0';
	assert_true(name_room_valid(room, ROOM_LEN_MAX));
	room[n++] = 'x';
	room[n] = '\0';
	assert_int_equal(n, 50);
	assert_true(name_room_valid(room, ROOM_LEN_MAX));
	memcpy(room + 49, "\xE2\x82\xAC", 4);
	assert_int_equal(strlen(room), 52);
	assert_false(name_room_valid(room, ROOM_LEN_MAX));
}

static void
test_room_from_input(void **state)
{
	(void)state;
	char dst[ROOM_LEN_MAX + 1];
	memset(dst, 'X', sizeof dst);
	assert_int_equal(name_room_from_input(dst, "lobby", ROOM_LEN_MAX), 0);
	assert_string_equal(dst, "#lobby");
	assert_int_equal(name_room_from_input(dst, "#lobby", ROOM_LEN_MAX), 0);
	assert_string_equal(dst, "#lobby");
	assert_int_equal(name_room_from_input(dst, "Caf\xC3\xA9", ROOM_LEN_MAX), 0);
	assert_string_equal(dst, "#Caf\xC3\xA9");

	assert_int_equal(name_room_from_input(dst, "", ROOM_LEN_MAX), -1);
	assert_int_equal(name_room_from_input(dst, "#", ROOM_LEN_MAX), -1);
	assert_int_equal(name_room_from_input(dst, "a b", ROOM_LEN_MAX), -1);
	assert_int_equal(name_room_from_input(dst, "a,b", ROOM_LEN_MAX), -1);

	/* 49 typed bytes become 50 with the '#'; 50 would be 51. */
	char typed[64];
	memset(typed, 't', 49);
	typed[49] = '\0';
	assert_int_equal(name_room_from_input(dst, typed, ROOM_LEN_MAX), 0);
	assert_int_equal(strlen(dst), 50);
	assert_int_equal(dst[0], '#');
	assert_memory_equal(dst + 1, typed, 49);
	typed[49] = 't';
	typed[50] = '\0';
	assert_int_equal(name_room_from_input(dst, typed, ROOM_LEN_MAX), -1);
	/* With its '#' typed, 50 bytes fit exactly. */
	typed[0] = '#';
	assert_int_equal(name_room_from_input(dst, typed, ROOM_LEN_MAX), 0);
	assert_string_equal(dst, typed);
	/* Far too long never overruns dst. */
	memset(typed, 'y', sizeof typed - 1);
	typed[sizeof typed - 1] = '\0';
	assert_int_equal(name_room_from_input(dst, typed, ROOM_LEN_MAX), -1);
	/* A configured maximum below ROOM_LEN_MAX. */
	assert_int_equal(name_room_from_input(dst, "abcd", 5), 0);
	assert_int_equal(name_room_from_input(dst, "abcde", 5), -1);
}

static void
test_fold(void **state)
{
	(void)state;
	char dst[64];
	name_fold(dst, "Alice");
	assert_string_equal(dst, "alice");
	name_fold(dst, "ABCXYZ abcxyz 0129");
	assert_string_equal(dst, "abcxyz abcxyz 0129");
	/* ASCII only: rfc1459's [ ] \ ~ are not folded, nor is UTF-8. */
	name_fold(dst, "[Bot]\\^~{}|");
	assert_string_equal(dst, "[bot]\\^~{}|");
	name_fold(dst, "#CAF\xC3\x89");
	assert_string_equal(dst, "#caf\xC3\x89");
	name_fold(dst, "@[`{");              /* just outside A-Z and a-z */
	assert_string_equal(dst, "@[`{");
	name_fold(dst, "");
	assert_string_equal(dst, "");
	/* In place works too. */
	char buf[] = "MiXeD";
	name_fold(buf, buf);
	assert_string_equal(buf, "mixed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nick_valid),
		cmocka_unit_test(test_nick_invalid),
		cmocka_unit_test(test_nick_length),
		cmocka_unit_test(test_room_valid),
		cmocka_unit_test(test_room_invalid),
		cmocka_unit_test(test_room_length),
		cmocka_unit_test(test_room_length_counts_bytes),
		cmocka_unit_test(test_room_from_input),
		cmocka_unit_test(test_fold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
