/* Unit tests for buf_grow, the one way growable arrays grow, and the
 * clock's test hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"

static void
test_grow_doubles_from_first(void **state)
{
	(void)state;
	size_t cap = 0;
	uint32_t *a = buf_grow(NULL, &cap, 1, sizeof *a, 4);
	assert_non_null(a);
	assert_int_equal(cap, 4);
	a[3] = 7;
	/* Enough already: the same array, untouched. */
	assert_ptr_equal(buf_grow(a, &cap, 4, sizeof *a, 4), a);
	assert_int_equal(cap, 4);
	a = buf_grow(a, &cap, 5, sizeof *a, 4);
	assert_non_null(a);
	assert_int_equal(cap, 8);
	assert_int_equal(a[3], 7);
	a = buf_grow(a, &cap, 33, sizeof *a, 4);
	assert_non_null(a);
	assert_int_equal(cap, 64);
	free(a);
}

/* A size that cannot be allocated leaves the array and its cap as they
 * were. */
static void
test_grow_overflow_fails_cleanly(void **state)
{
	(void)state;
	size_t cap = 2;
	char *a = malloc(2);
	assert_non_null(a);
	assert_null(buf_grow(a, &cap, SIZE_MAX / 2 + 2, 1, 2));
	assert_int_equal(cap, 2);
	assert_null(buf_grow(a, &cap, SIZE_MAX / 16, 64, 2));
	assert_int_equal(cap, 2);
	free(a);
}

static int64_t fake_ms;

static int64_t
fake(void)
{
	return fake_ms;
}

static void
test_clock_fake(void **state)
{
	(void)state;
	int64_t real = clock_now_ms();
	assert_true(real > 1600000000000LL);  /* after 2020 */
	clock_fake(fake);
	fake_ms = 1234567;
	assert_int_equal(clock_now_ms(), 1234567);
	assert_int_equal(clock_now_s(), 1234);
	fake_ms = -1;
	assert_int_equal(clock_now_s(), -1);
	clock_fake(NULL);
	assert_true(clock_now_ms() >= real);
	uint64_t mono = clock_mono_ms();
	assert_true(clock_mono_ms() >= mono);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_doubles_from_first),
		cmocka_unit_test(test_grow_overflow_fails_cleanly),
		cmocka_unit_test(test_clock_fake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
