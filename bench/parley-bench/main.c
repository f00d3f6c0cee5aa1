/* parley-bench: options, and the report at the end. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Exit codes. */
#define EXIT_CLEAN 0    /* nothing lost, duplicated or failed */
#define EXIT_DIRTY 1    /* losses, duplicates or errors */
#define EXIT_USAGE 2    /* bad options */

/* fds we need besides one per client: epoll, timer, stdio, slack. */
#define FD_RESERVE 16

static const char usage_text[] =
"usage: parley-bench [OPTIONS]\n"
"Load generator for Parley (plain or IRC door) and other IRC servers.\n"
"\n"
"Target:\n"
"  --proto irc|plain         protocol to speak (default irc)\n"
"  --host HOST               server address (default 127.0.0.1)\n"
"  --port PORT[,PORT...]     server port (default 6667 for irc, 7000 for plain);\n"
"                            several (at most 8, the nodes of a cluster): client\n"
"                            i connects to the (i mod n)-th\n"
"  --pid PID[,PID...]        the server's pid: report its CPU time over the\n"
"                            measured phase and its RSS before connecting and\n"
"                            once every client has joined (several, at most 8:\n"
"                            summed, as a cluster's nodes and its Redis)\n"
"\n"
"Clients:\n"
"  --clients N               connections to open (default 100; at most the fd\n"
"                            limit minus a few)\n"
"  --connect-concurrency C   connections connecting/registering/joining at\n"
"                            once (default 200; keep it under the server's\n"
"                            listen backlog: ngIRCd's is 10)\n"
"  --rooms K                 rooms #bench0..#bench{K-1}; client i joins room\n"
"                            i % K (default 1)\n"
"  --senders S               clients 0..S-1 send, so spread over rooms\n"
"                            (default: one per room)\n"
"  --nick-prefix P           nicknames are P<i> (default b)\n"
"\n"
"Load (one of):\n"
"  --window W                closed loop: at most W messages in flight in total;\n"
"                            a message is done when every other member of its\n"
"                            room has it (default mode, W = 100)\n"
"  --rate R                  open loop: R messages per second in total, evenly\n"
"                            paced; each stamped with its due time\n"
"  --idle                    only connect, register and join, report connect\n"
"                            time and RSS per connection, hold --duration s\n"
"\n"
"Timing and size:\n"
"  --size BYTES              message text size (default 64; at least the\n"
"                            \"S.. Q.. T..\" header it carries)\n"
"  --duration SECONDS        measured phase (default 10)\n"
"  --warmup SECONDS          sending before measuring, not counted (default 2)\n"
"  --drain SECONDS           longest wait for in-flight messages (default 2)\n"
"  --setup-timeout SECONDS   longest wait for every client to join (default 300)\n"
"\n"
"Output:\n"
"  --json-only               print only the JSON line\n"
"  --help                    this text\n"
"\n"
"Prints a summary and one JSON line. Exit status: 0 when nothing was lost,\n"
"duplicated or failed; 1 otherwise; 2 on bad options.\n";

static void
usage_error(const char *fmt, const char *arg)
{
	fputs("parley-bench: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see --help)\n", stderr);
	exit(EXIT_USAGE);
}

static double
parse_double(const char *opt, const char *s, double min)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min)
		usage_error("bad value for %s", opt);
	return v;
}

static uint32_t
parse_u32(const char *opt, const char *s, uint32_t min)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > UINT32_MAX)
		usage_error("bad value for %s", opt);
	return (uint32_t)v;
}

/* "A,B,C": each a number from 1 to max, at most BENCH_SERVERS_MAX, into
 * out; how many. */
static uint32_t
parse_list(const char *key, const char *val, uint32_t max, long out[BENCH_SERVERS_MAX])
{
	uint32_t n = 0;
	for (const char *p = val; ; p += strcspn(p, ",") + 1) {
		char one[16];
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof one || n >= BENCH_SERVERS_MAX)
			usage_error("bad value for %s", key);
		memcpy(one, p, len);
		one[len] = '\0';
		uint32_t v = parse_u32(key, one, 1);
		if (v > max)
			usage_error("bad value for %s", key);
		out[n++] = (long)v;
		if (p[len] == '\0')
			return n;
	}
}

static bool
nick_prefix_ok(const char *p)
{
	size_t n = strlen(p);
	if (n < 1 || n > 16)
		return false;
	if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_[]{}\\|^`", p[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_[]{}\\|^`-", p[i]))
			return false;
	return true;
}

/* Flags whose value we must see before the rest: mode and defaults. */
struct seen {
	bool senders, window, rate, idle;
};

/* Applies one --key VALUE; returns how many argv entries it took. */
static int
parse_one(struct options *o, struct seen *seen, const char *key, const char *val)
{
	if (!strcmp(key, "--help")) {
		fputs(usage_text, stdout);
		exit(EXIT_CLEAN);
	}
	if (!strcmp(key, "--idle"))
		return seen->idle = true, 1;
	if (!strcmp(key, "--json-only"))
		return o->json_only = true, 1;
	if (!val)
		usage_error("%s: unknown option or missing value", key);
	if (!strcmp(key, "--proto")) {
		if (!strcmp(val, "irc"))
			o->proto = PROTO_IRC;
		else if (!strcmp(val, "plain"))
			o->proto = PROTO_PLAIN;
		else
			usage_error("--proto is irc or plain, not %s", val);
	} else if (!strcmp(key, "--host")) {
		o->host = val;
	} else if (!strcmp(key, "--port")) {
		long ports[BENCH_SERVERS_MAX];
		parse_list(key, val, 65535, ports);
		o->port = val;
	} else if (!strcmp(key, "--pid")) {
		o->npids = parse_list(key, val, UINT32_MAX, o->pids);
	} else if (!strcmp(key, "--clients")) {
		o->clients = parse_u32(key, val, 1);
	} else if (!strcmp(key, "--connect-concurrency")) {
		o->concurrency = parse_u32(key, val, 1);
	} else if (!strcmp(key, "--rooms")) {
		o->rooms = parse_u32(key, val, 1);
	} else if (!strcmp(key, "--senders")) {
		o->senders = parse_u32(key, val, 1);
		seen->senders = true;
	} else if (!strcmp(key, "--nick-prefix")) {
		if (!nick_prefix_ok(val))
			usage_error("bad --nick-prefix %s (1-16 nickname characters, a letter first)", val);
		o->nick_prefix = val;
	} else if (!strcmp(key, "--window")) {
		o->window = parse_u32(key, val, 1);
		seen->window = true;
	} else if (!strcmp(key, "--rate")) {
		o->rate = parse_double(key, val, 0.001);
		seen->rate = true;
	} else if (!strcmp(key, "--size")) {
		o->size = parse_u32(key, val, 1);
	} else if (!strcmp(key, "--duration")) {
		o->duration = parse_double(key, val, 0.001);
	} else if (!strcmp(key, "--warmup")) {
		o->warmup = parse_double(key, val, 0);
	} else if (!strcmp(key, "--drain")) {
		o->drain = parse_double(key, val, 0);
	} else if (!strcmp(key, "--setup-timeout")) {
		o->setup_timeout = parse_double(key, val, 0.001);
	} else {
		usage_error("unknown option %s", key);
	}
	return 2;
}

/* Checks that hold between options; exits 2 when one does not. */
static void
check_options(struct options *o, const struct seen *seen)
{
	if (seen->idle + seen->window + seen->rate > 1)
		usage_error("%s", "--window, --rate and --idle exclude each other");
	o->mode = seen->idle ? MODE_IDLE : seen->rate ? MODE_RATE : MODE_WINDOW;
	if (o->rooms > o->clients)
		usage_error("%s", "--rooms is more than --clients: some rooms would be empty");
	if (!seen->senders)
		o->senders = o->mode == MODE_IDLE ? 0 : o->rooms;
	if (o->mode == MODE_IDLE)
		o->senders = 0;
	if (o->senders > o->clients)
		usage_error("%s", "--senders is more than --clients");
	/* Room r has clients/rooms members, one more if r < clients % rooms; the
	 * sender rooms are the first ones, so the smallest is min(S,K)-1. */
	if (o->senders) {
		uint32_t last = (o->senders < o->rooms ? o->senders : o->rooms) - 1;
		uint32_t members = o->clients / o->rooms + (last < o->clients % o->rooms);
		if (members < 2)
			usage_error("%s", "a sender's room must have another member: "
			    "use more --clients or fewer --rooms");
	}
	if (o->size > proto_max_size(o->proto)) {
		char max[32];
		snprintf(max, sizeof max, "%zu", proto_max_size(o->proto));
		usage_error("--size is at most %s for this protocol", max);
	}
	long limit = raise_nofile();
	if (limit > 0 && (long)o->clients + FD_RESERVE > limit) {
		char lim[32];
		snprintf(lim, sizeof lim, "%ld", limit - FD_RESERVE);
		usage_error("--clients is at most %s here (open-file limit)", lim);
	}
}

static void
parse_options(struct options *o, int argc, char **argv)
{
	*o = (struct options){
		.proto = PROTO_IRC, .host = "127.0.0.1", .nick_prefix = "b",
		.clients = 100, .rooms = 1, .concurrency = 200, .size = 64,
		.duration = 10, .warmup = 2, .drain = 2, .setup_timeout = 300,
		.window = 100,
	};
	struct seen seen = { 0 };
	for (int i = 1; i < argc;) {
		char *key = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		char *eq = strchr(key, '=');
		if (strncmp(key, "--", 2) != 0)
			usage_error("unexpected argument %s", key);
		if (eq) {  /* --key=value */
			*eq = '\0';
			if (parse_one(o, &seen, key, eq + 1) == 1)
				usage_error("%s takes no value", key);
			i++;
			continue;
		}
		i += parse_one(o, &seen, key, val);
	}
	check_options(o, &seen);
}

/* ---------------------------------------------------------------- report */

static const char *
mode_name(enum mode m)
{
	return m == MODE_WINDOW ? "window" : m == MODE_RATE ? "rate" : "idle";
}

static double
ns_to_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void
build_report(const struct bench *b, struct report *r)
{
	const struct options *o = &b->opt;
	const struct tally *t = &b->t;
	*r = (struct report){
		.proto = o->proto == PROTO_IRC ? "irc" : "plain",
		.mode = mode_name(o->mode),
		.clients = o->clients, .rooms = o->rooms, .senders = o->senders,
		.size = o->size,
		.window = o->mode == MODE_WINDOW ? o->window : NAN,
		.rate = o->mode == MODE_RATE ? o->rate : NAN,
		.duration = o->duration,
		.warmup = o->mode == MODE_IDLE ? NAN : o->warmup,
		.sent_all = t->sent_all, .sent = t->sent, .expected = t->expected, .delivered = t->delivered,
		.lost = t->expected > t->delivered ? t->expected - t->delivered : 0,
		.duplicated = t->duplicated, .gaps = t->gaps, .errors = t->errors,
		.deliveries_per_s = o->mode == MODE_IDLE ? NAN : (double)t->delivered / o->duration,
		.p50_ms = NAN, .p99_ms = NAN, .p999_ms = NAN, .max_ms = NAN,
		.connect_s = b->t_setup_done ? (double)(b->t_setup_done - b->t_setup_start) / 1e9 : NAN,
		.server_cpu_s = NAN, .cpu_us_per_delivery = NAN,
		.rss_before_kb = b->rss_before_kb >= 0 ? (double)b->rss_before_kb : NAN,
		.rss_after_kb = b->rss_after_kb >= 0 ? (double)b->rss_after_kb : NAN,
		.rss_per_conn_bytes = NAN,
		.bench_cpu_s = b->self_cpu_after > 0 ? b->self_cpu_after - b->self_cpu_before : NAN,
	};
	if (b->lat.count) {
		r->p50_ms = ns_to_ms(hist_percentile(&b->lat, 50));
		r->p99_ms = ns_to_ms(hist_percentile(&b->lat, 99));
		r->p999_ms = ns_to_ms(hist_percentile(&b->lat, 99.9));
		r->max_ms = ns_to_ms(b->lat.max);
	}
	if (b->server_cpu_before >= 0 && b->server_cpu_after >= 0) {
		r->server_cpu_s = b->server_cpu_after - b->server_cpu_before;
		if (t->delivered)
			r->cpu_us_per_delivery = r->server_cpu_s * 1e6 / (double)t->delivered;
	}
	if (b->rss_before_kb >= 0 && b->rss_after_kb >= 0)
		r->rss_per_conn_bytes = (double)(b->rss_after_kb - b->rss_before_kb) * 1024.0 /
		    o->clients;
}

static void
print_num(const char *label, double v, const char *fmt_unit)
{
	if (isnan(v))
		printf("  %-14s -\n", label);
	else {
		printf("  %-14s ", label);
		printf(fmt_unit, v);
		putchar('\n');
	}
}

static void
print_human(const struct bench *b, const struct report *r)
{
	const struct options *o = &b->opt;
	printf("parley-bench: %s, %u clients in %u rooms, ", r->proto, r->clients, r->rooms);
	if (o->mode == MODE_IDLE)
		printf("idle, held %g s\n", o->duration);
	else {
		printf("%u senders, ", r->senders);
		if (o->mode == MODE_WINDOW)
			printf("window %u", o->window);
		else
			printf("rate %g/s", o->rate);
		printf(", %u-byte messages, %g s (+%g s warm-up)\n", r->size, o->duration, o->warmup);
	}
	print_num("connect", r->connect_s, "%.3f s until all registered and joined");
	if (o->mode != MODE_IDLE) {
		printf("  %-14s %llu messages, %llu deliveries expected\n", "sent",
		    (unsigned long long)r->sent, (unsigned long long)r->expected);
		printf("  %-14s %llu (%.0f per second)\n", "delivered",
		    (unsigned long long)r->delivered, r->deliveries_per_s);
		printf("  %-14s %llu lost, %llu duplicated, %llu skipped in sequence\n",
		    "checks", (unsigned long long)r->lost, (unsigned long long)r->duplicated,
		    (unsigned long long)r->gaps);
		if (isnan(r->p50_ms))
			printf("  %-14s -\n", "latency");
		else
			printf("  %-14s p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms\n", "latency",
			    r->p50_ms, r->p99_ms, r->p999_ms, r->max_ms);
		if (b->t.backlog_max > 65536)
			printf("  %-14s %llu bytes waiting on one sender at worst\n", "backlog",
			    (unsigned long long)b->t.backlog_max);
	}
	if (o->npids) {
		if (isnan(r->cpu_us_per_delivery))
			print_num("server CPU", r->server_cpu_s, "%.2f s");
		else
			printf("  %-14s %.2f s (%.3f us per delivery)\n", "server CPU",
			    r->server_cpu_s, r->cpu_us_per_delivery);
		if (isnan(r->rss_per_conn_bytes))
			printf("  %-14s -\n", "server RSS");
		else
			printf("  %-14s %.0f kB before, %.0f kB after (%.0f bytes per connection)\n",
			    "server RSS", r->rss_before_kb, r->rss_after_kb, r->rss_per_conn_bytes);
	}
	print_num("bench CPU", r->bench_cpu_s, "%.2f s");
	if (b->t.stray)
		printf("  %-14s %llu bench messages that fit no sender or room\n", "stray",
		    (unsigned long long)b->t.stray);
	printf("  %-14s %llu\n", "errors", (unsigned long long)r->errors);
}

int
main(int argc, char **argv)
{
	static struct bench b;  /* static: the histogram is 60 kB */
	parse_options(&b.opt, argc, argv);
	if (bench_init(&b) < 0)
		return EXIT_USAGE;
	int rc = bench_run(&b);
	struct report r;
	build_report(&b, &r);
	if (!b.opt.json_only)
		print_human(&b, &r);
	report_print_json(stdout, &r);
	fflush(stdout);
	if (rc < 0 || r.lost || r.duplicated || r.errors)
		return EXIT_DIRTY;
	return EXIT_CLEAN;
}
