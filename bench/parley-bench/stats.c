/* Latency histogram and the report's JSON line. */
#include <math.h>

#include "stats.h"

/* The bucket of v: below 2^SUB_BITS the value itself; above, the top
 * SUB_BITS bits of v, offset by its magnitude. Buckets are contiguous. */
static unsigned
hist_index(uint64_t v)
{
	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	unsigned top = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = top - HIST_SUB_BITS + 1u;
	return shift * HIST_HALF + (unsigned)(v >> shift);
}

/* The largest value that falls in bucket idx: percentiles report it, so
 * they never understate. */
static uint64_t
hist_upper(unsigned idx)
{
	if (idx < (1u << HIST_SUB_BITS))
		return idx;
	unsigned shift = idx / HIST_HALF - 1u;
	uint64_t base = (uint64_t)(idx - shift * HIST_HALF) << shift;
	return base + ((UINT64_C(1) << shift) - 1u);
}

void
hist_record(struct histogram *h, uint64_t v)
{
	h->counts[hist_index(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

/* The value at or below which pct percent of the records fall (0 when
 * there are none), capped at the exact maximum. */
uint64_t
hist_percentile(const struct histogram *h, double pct)
{
	if (h->count == 0)
		return 0;
	uint64_t want = (uint64_t)ceil((double)h->count * pct / 100.0);
	if (want == 0)
		want = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			uint64_t v = hist_upper(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

static void
json_num(FILE *f, const char *key, double v, int decimals)
{
	if (isnan(v) || isinf(v))
		fprintf(f, ",\"%s\":null", key);
	else
		fprintf(f, ",\"%s\":%.*f", key, decimals, v);
}

static void
json_u64(FILE *f, const char *key, uint64_t v)
{
	fprintf(f, ",\"%s\":%llu", key, (unsigned long long)v);
}

/* One line, keys in a fixed order, null for what was not measured. */
void
report_print_json(FILE *f, const struct report *r)
{
	fprintf(f, "{\"proto\":\"%s\"", r->proto);
	json_u64(f, "clients", r->clients);
	json_u64(f, "rooms", r->rooms);
	json_u64(f, "senders", r->senders);
	fprintf(f, ",\"mode\":\"%s\"", r->mode);
	json_num(f, "window", r->window, 0);
	json_num(f, "rate", r->rate, 3);
	json_u64(f, "size", r->size);
	json_num(f, "duration", r->duration, 3);
	json_num(f, "warmup", r->warmup, 3);
	json_u64(f, "sent", r->sent);
	json_u64(f, "sent_all", r->sent_all);
	json_u64(f, "expected", r->expected);
	json_u64(f, "delivered", r->delivered);
	json_num(f, "deliveries_per_s", r->deliveries_per_s, 1);
	json_u64(f, "lost", r->lost);
	json_u64(f, "duplicated", r->duplicated);
	json_u64(f, "gaps", r->gaps);
	json_num(f, "p50_ms", r->p50_ms, 3);
	json_num(f, "p99_ms", r->p99_ms, 3);
	json_num(f, "p999_ms", r->p999_ms, 3);
	json_num(f, "max_ms", r->max_ms, 3);
	json_num(f, "connect_s", r->connect_s, 3);
	json_num(f, "server_cpu_s", r->server_cpu_s, 2);
	json_num(f, "cpu_us_per_delivery", r->cpu_us_per_delivery, 3);
	json_num(f, "rss_before_kb", r->rss_before_kb, 0);
	json_num(f, "rss_after_kb", r->rss_after_kb, 0);
	json_num(f, "rss_per_conn_bytes", r->rss_per_conn_bytes, 0);
	json_num(f, "bench_cpu_s", r->bench_cpu_s, 2);
	json_u64(f, "errors", r->errors);
	fputs("}\n", f);
}
