/* Latency histogram and the report's JSON line. */
#ifndef PARLEY_BENCH_STATS_H
#define PARLEY_BENCH_STATS_H

#include <stdint.h>
#include <stdio.h>

/* Log-linear buckets (HdrHistogram's layout): values below 2^HIST_SUB_BITS
 * are exact, above that each power of two is cut into 2^(HIST_SUB_BITS-1)
 * equal buckets, so any value is kept within 1/128 (0.8 %). In ns this is
 * exact to 256 ns, 8 us wide at 1 ms, 0.5 s wide at 60 s, and it never
 * overflows: every uint64_t has a bucket. */
#define HIST_SUB_BITS 8
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))
#define HIST_BUCKETS ((64u - HIST_SUB_BITS + 1u) * HIST_HALF + (1u << HIST_SUB_BITS))

struct histogram {
	uint64_t count;
	uint64_t max;
	uint64_t counts[HIST_BUCKETS];
};

void hist_record(struct histogram *h, uint64_t v);
uint64_t hist_percentile(const struct histogram *h, double pct);

/* The report, as numbers; NaN (or a negative count where said) means "not
 * measured" and becomes null in JSON. */
struct report {
	const char *proto;
	const char *mode;
	uint32_t clients, rooms, senders, size;
	double window, rate;       /* NaN when not that mode */
	double duration, warmup;
	uint64_t sent_all;         /* every message sent, warm-up and drain included */
	uint64_t sent, expected, delivered, lost, duplicated, gaps, errors;
	double deliveries_per_s;
	double p50_ms, p99_ms, p999_ms, max_ms;
	double connect_s;
	double server_cpu_s, cpu_us_per_delivery;
	double rss_before_kb, rss_after_kb, rss_per_conn_bytes;
	double bench_cpu_s;
};

void report_print_json(FILE *f, const struct report *r);

#endif
