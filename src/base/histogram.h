/* A histogram of fixed buckets, as Prometheus counts them: how many
 * observations fell at or under each upper bound, their number and their
 * sum. Plain counters with no lock: its owner observes on its own thread
 * (the loop, or the store's writer under its lock), and whoever reads it
 * copies it the same way. Observing is a short scan of the bounds. */
#ifndef PARLEY_HISTOGRAM_H
#define PARLEY_HISTOGRAM_H

#include <stdint.h>

/* The most bounds a histogram has (+Inf is not one of them). */
#define HISTOGRAM_BOUNDS_MAX 20

struct histogram {
	const uint64_t *le;           /* upper bounds, ascending, in the unit observed */
	unsigned n;                   /* how many (at most HISTOGRAM_BOUNDS_MAX) */
	uint64_t bucket[HISTOGRAM_BOUNDS_MAX + 1]; /* observations per bucket, not
	                               * cumulative; the last is over every bound */
	uint64_t count;
	uint64_t sum;                 /* of the values observed, in their unit */
};

/* Durations in microseconds, from 10 us to 2.5 s: the loop's passes, a
 * commit, a history query. */
extern const uint64_t histogram_latency_us[];
extern const unsigned histogram_latency_us_n;
/* Events in one commit, 1 to 10,000. */
extern const uint64_t histogram_batch[];
extern const unsigned histogram_batch_n;

/* Empty, over n bounds le (a table that outlives h); n is cut to
 * HISTOGRAM_BOUNDS_MAX. */
void histogram_init(struct histogram *h, const uint64_t *le, unsigned n);
void histogram_observe(struct histogram *h, uint64_t v);

#endif
