#include "base/histogram.h"

#include <string.h>

const uint64_t histogram_latency_us[] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 2500000,
};
const unsigned histogram_latency_us_n = sizeof histogram_latency_us / sizeof histogram_latency_us[0];

const uint64_t histogram_batch[] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
};
const unsigned histogram_batch_n = sizeof histogram_batch / sizeof histogram_batch[0];

void
histogram_init(struct histogram *h, const uint64_t *le, unsigned n)
{
	memset(h, 0, sizeof *h);
	h->le = le;
	h->n = n < HISTOGRAM_BOUNDS_MAX ? n : HISTOGRAM_BOUNDS_MAX;
}

void
histogram_observe(struct histogram *h, uint64_t v)
{
	unsigned i = 0;
	while (i < h->n && v > h->le[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}
