/* Unit tests for a conn set's flush list: conns come off it in the order
 * they got output (the receivers of the first message read in a pass are
 * written first), once each however often they were queued, and a conn
 * queued while the list is being drained is taken in the same drain; a
 * sift takes off the conns it is told to, keeping the others' order. The
 * conns are bare structs: the list touches only its own fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "net/conn.h"
#include "net/conn_set.h"

static void
test_flush_in_order_of_output(void **state)
{
	(void)state;
	struct conn_set set;
	memset(&set, 0, sizeof set);
	struct conn c[4];
	memset(c, 0, sizeof c);
	for (int i = 0; i < 4; i++)
		c[i].set = &set;
	conn_set_flush_later(&set, &c[2]);
	conn_set_flush_later(&set, &c[0]);
	conn_set_flush_later(&set, &c[2]); /* already on it: stays second to last */
	conn_set_flush_later(&set, &c[3]);
	assert_true(conn_set_busy(&set));
	assert_ptr_equal(conn_set_next_flush(&set), &c[2]);
	/* Output for a conn while the list drains: taken in this drain, last. */
	conn_set_flush_later(&set, &c[1]);
	conn_set_flush_later(&set, &c[2]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[0]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[3]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[1]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[2]);
	assert_null(conn_set_next_flush(&set));
	assert_false(conn_set_busy(&set));
	/* Empty again, the list starts over. */
	conn_set_flush_later(&set, &c[3]);
	conn_set_flush_later(&set, &c[1]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[3]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[1]);
	assert_null(conn_set_next_flush(&set));
	for (int i = 0; i < 4; i++)
		assert_false(c[i].queued_flush);
}

/* Keeps the conns whose id is odd. */
static int
odd(struct conn *c, void *arg)
{
	(*(int *)arg)++;
	return (int)(c->id & 1);
}

static void
test_sift(void **state)
{
	(void)state;
	struct conn_set set;
	memset(&set, 0, sizeof set);
	struct conn c[5];
	memset(c, 0, sizeof c);
	for (int i = 0; i < 5; i++) {
		c[i].set = &set;
		c[i].id = (uint64_t)i;
	}
	int shown = 0;
	conn_set_flush_sift(&set, odd, &shown);  /* an empty list stays empty */
	assert_false(conn_set_busy(&set));
	int order[] = { 0, 3, 4, 1, 2 };
	for (int i = 0; i < 5; i++)
		conn_set_flush_later(&set, &c[order[i]]);
	conn_set_flush_sift(&set, odd, &shown);
	assert_int_equal(shown, 5);
	assert_false(c[0].queued_flush);
	assert_false(c[2].queued_flush);
	assert_false(c[4].queued_flush);
	/* The tail is right: a conn queued now comes last, and one taken
	 * off can be queued again. */
	conn_set_flush_later(&set, &c[4]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[3]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[1]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[4]);
	assert_null(conn_set_next_flush(&set));
	/* All taken off: the list is empty, and starts over. */
	conn_set_flush_later(&set, &c[2]);
	conn_set_flush_sift(&set, odd, &shown);
	assert_false(conn_set_busy(&set));
	conn_set_flush_later(&set, &c[1]);
	assert_ptr_equal(conn_set_next_flush(&set), &c[1]);
	assert_null(conn_set_next_flush(&set));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flush_in_order_of_output),
		cmocka_unit_test(test_sift),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
