/* Made-up rows for the store's tests and its benchmark
 * (tests/unit/test_store_search.c, bench/store-bench): a deterministic
 * stream of numbers (xorshift64: a seed gives the same rows on every run
 * and machine) and a Zipf-like pick of a word among n (a uniform number
 * squared: the first few common, most rare). Each caller keeps its own
 * seed and its own words. */
#ifndef PARLEY_TESTS_MADE_UP_H
#define PARLEY_TESTS_MADE_UP_H

#include <stdint.h>

static inline uint64_t
made_up_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* A word's index in [0, n). */
static inline int
made_up_zipf(uint64_t *state, int n)
{
	double u = (double)(made_up_next(state) % 1000000) / 1000000.0;
	return (int)(u * u * n);
}

#endif
