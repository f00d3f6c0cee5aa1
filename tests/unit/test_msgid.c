/* Unit tests for msgids: unique across restarts and nodes, increasing on
 * each node whatever its clock does, sorted as text in time order. Two
 * hubs (nodes 1 and 2) make events under a fake clock that stands still,
 * goes back and jumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "chat/hub.h"
#include "chat/msgid.h"

static int64_t fake_ms;

static int64_t
fake_clock(void)
{
	return fake_ms;
}

static void
nothing(struct user *u, struct msg *m)
{
	(void)u;
	(void)m;
}

static const struct user_ops ops = { .deliver = nothing };

/* The ids every hub_msg of both hubs gave, in the order made. */
struct made {
	char (*ids)[MSGID_LEN + 1];
	size_t n, cap;
};

static const char *
make(struct hub *hub, struct user *u, struct made *all)
{
	struct msg *m = hub_msg(hub, MSG_SAY, u, "#r", NULL, "x");
	assert_non_null(m);
	assert_int_equal(strlen(m->id), MSGID_LEN);
	assert_int_equal(m->at_ms, fake_ms);
	if (all->n == all->cap) {
		all->cap = all->cap ? all->cap * 2 : 1024;
		all->ids = realloc(all->ids, all->cap * sizeof *all->ids);
		assert_non_null(all->ids);
	}
	memcpy(all->ids[all->n], m->id, MSGID_LEN + 1);
	msg_unref(m);
	return all->ids[all->n++];
}

static int
by_text(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_two_hubs_fake_clock(void **state)
{
	(void)state;
	struct hub a, b;
	hub_init(&a, 390, NICK_LEN_MAX);
	hub_init(&b, 390, NICK_LEN_MAX);
	hub_set_node(&a, 1);
	hub_set_node(&b, 2);
	struct user *ua = hub_user_new(&a, &ops, NULL, "i", "h", "r");
	struct user *ub = hub_user_new(&b, &ops, NULL, "i", "h", "r");
	assert_non_null(ua);
	assert_non_null(ub);
	clock_fake(fake_clock);

	struct made all = { 0 };
	char last_a[MSGID_LEN + 1] = "", last_b[MSGID_LEN + 1] = "";
	/* The clock: steady, standing still for more ids than a millisecond
	 * holds (65,536), going back a little and a lot, jumping ahead. */
	static const struct { int64_t ms; int n; } script[] = {
		{ 1700000000000, 3 }, { 1700000000001, 1 }, { 1700000000002, 70000 },
		{ 1700000000001, 5 }, { 1600000000000, 5 }, { 1700000000003, 2 },
		{ 1700000000100, 1 }, { 0, 2 }, { 1800000000000, 3 },
	};
	for (size_t s = 0; s < sizeof script / sizeof script[0]; s++) {
		fake_ms = script[s].ms;
		for (int i = 0; i < script[s].n; i++) {
			const char *x = make(&a, ua, &all);
			assert_true(strcmp(x, last_a) > 0);
			memcpy(last_a, x, sizeof last_a);
			const char *y = make(&b, ub, &all);
			assert_true(strcmp(y, last_b) > 0);
			memcpy(last_b, y, sizeof last_b);
		}
	}
	/* Unique across both. */
	qsort(all.ids, all.n, sizeof *all.ids, by_text);
	for (size_t i = 1; i < all.n; i++)
		assert_true(strcmp(all.ids[i - 1], all.ids[i]) < 0);

	/* In time order whichever node made them: a's at t before b's at
	 * t + 1, and b's at t + 2 before a's at t + 3. */
	char first[MSGID_LEN + 1], second[MSGID_LEN + 1];
	fake_ms = 1900000000000;
	memcpy(first, make(&a, ua, &all), sizeof first);
	fake_ms++;
	memcpy(second, make(&b, ub, &all), sizeof second);
	assert_true(strcmp(first, second) < 0);
	fake_ms++;
	memcpy(first, make(&b, ub, &all), sizeof first);
	fake_ms++;
	memcpy(second, make(&a, ua, &all), sizeof second);
	assert_true(strcmp(first, second) < 0);
	/* And they say when and where. */
	uint64_t ms;
	uint16_t node, seq;
	assert_int_equal(msgid_read(second, &ms, &node, &seq), 0);
	assert_int_equal(ms, 1900000000003);
	assert_int_equal(node, 1);
	assert_int_equal(seq, 0);

	clock_fake(NULL);
	free(all.ids);
	hub_clear(&a);
	hub_clear(&b);
}

/* The text form: 16 characters of Crockford's base32, read back exactly;
 * anything else is not an id. */
static void
test_text_form(void **state)
{
	(void)state;
	char id[MSGID_LEN + 1];
	msgid_write(0, 0, 0, id);
	assert_string_equal(id, "0000000000000000");
	msgid_write((UINT64_C(1) << 48) - 1, 0xFFFF, 0xFFFF, id);
	assert_string_equal(id, "ZZZZZZZZZZZZZZZZ");
	msgid_write(1, 0, 0, id);
	assert_string_equal(id, "0000000004000000");  /* ms 1: bit 32 of 80 */
	const uint64_t ms[] = { 1, 1700000000000, 281474976710655 };
	const uint16_t nodes[] = { 0, 1, 2, 513, 65535 };
	for (size_t i = 0; i < 3; i++)
		for (size_t k = 0; k < 5; k++) {
			uint64_t m;
			uint16_t node, seq;
			msgid_write(ms[i], nodes[k], (uint16_t)(k * 977), id);
			assert_int_equal(msgid_read(id, &m, &node, &seq), 0);
			assert_int_equal(m, ms[i]);
			assert_int_equal(node, nodes[k]);
			assert_int_equal(seq, k * 977);
			for (const char *p = id; *p; p++)
				assert_null(strchr("ILOU", *p));
		}
	const char *bad[] = { "", "123", "000000000000000", "00000000000000000",
		"000000000000000I", "000000000000000u", "99999999", "0000000000000 00" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(msgid_read(bad[i], NULL, NULL, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_hubs_fake_clock),
		cmocka_unit_test(test_text_form),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
