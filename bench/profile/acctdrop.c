/* acctdrop DIR ROWS PEERS [fill|drop]: how long an account's deletion (NickServ DROP,
 * `parleyd account delete`) keeps the history writer from committing.
 * Fills DIR's database through store.h as the loop would: ROWS private
 * messages of account "alice" over PEERS conversations (pairs with
 * peer0.., half each way), as many room messages of others in #lobby,
 * 5 to 15 words each; closes (the writer indexes all: search index
 * and room index), opens again, and deletes alice on a thread (as a
 * worker does) while the main thread, as the loop, appends a room
 * message each millisecond and seals an epoch each 10 ms. Prints a
 * table row: rows, peers, the delete's wall time (s), its status, the
 * epochs sealed meanwhile, their wait from seal to finished (p50, p99,
 * max, ms; how many past 100 ms), and the events the writer dropped (a
 * commit that waited past STORE_BUSY_MS). Not built by make; with the
 * store-bench objects:
 *   make store-bench && S=build/release/src && cc -O2 -std=c11 -D_GNU_SOURCE -Isrc \
 *     -o /tmp/acctdrop bench/profile/acctdrop.c $(ls $S/store/[!hr]*.o) \
 *     $S/base/{buf,clock,histogram,log,text,worker}.o $S/chat/msgid.o \
 *     -lm -pthread $(pkg-config --libs sqlite3 libpq)
 *   /tmp/acctdrop /tmp/ad 100000 10
 * "fill" only fills DIR, "drop" only deletes (on a copy of a filled DIR,
 * cp -a: the same rows for two builds). DIR may be a PostgreSQL URL
 * (an empty database; fill and drop in one run). */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat/msgid.h"
#include "store/store.h"
#include "../../tests/made_up.h"

#define VOCAB 4000
#define EPOCH 1000

static uint64_t rng = 0x9e3779b97f4a7c15u;

/* 5 to 15 words, each one of VOCAB ("w0".."w3999"), picked by
 * made_up_zipf: a few common, most rare. */
static void
make_text(char *out, size_t len)
{
	int words = 5 + (int)(made_up_next(&rng) % 11);
	size_t o = 0;
	for (int i = 0; i < words && o + 8 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%sw%d", i > 0 ? " " : "",
		    made_up_zipf(&rng, VOCAB));
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t seq;

static void
append(struct store *s, const char *target, const char *sender, const char *account,
    const char *to)
{
	char text[256], from[64];
	make_text(text, sizeof text);
	snprintf(from, sizeof from, "%s!u@h", sender);
	struct store_event e = { .at_ms = 1767225600000 + (int64_t)seq, .kind = SK_PRIVMSG,
		.target = target, .sender = from, .account = account, .text = text, .extra = to };
	msgid_write((uint64_t)e.at_ms, 1, (uint16_t)(seq & 0xfff), e.msgid);
	seq++;
	if (store_append(s, &e) != 0) {
		fprintf(stderr, "append refused\n");
		exit(1);
	}
}

static void
wait_finished(struct store *s, uint64_t epoch)
{
	while (store_finished(s) < epoch) {
		struct pollfd p = { .fd = store_fd(s), .events = POLLIN };
		poll(&p, 1, 1000);
	}
}

static void
fill(struct store *s, long rows, int peers)
{
	struct store_account acc = { .name = "alice", .pwhash = "x", .scram_iter = 1 };
	if (store_account_create(s, &acc) != STORE_OK) {
		fprintf(stderr, "account create failed\n");
		exit(1);
	}
	for (long i = 0; i < rows; i++) {
		char peer[32], pair[STORE_TARGET_MAX + 1];
		snprintf(peer, sizeof peer, "peer%ld", i % peers);
		store_pair_target("alice", peer, pair);
		if (i % 2)
			append(s, pair, "alice", "alice", peer);
		else
			append(s, pair, peer, peer, "alice");
		append(s, "#lobby", "carol", "carol", NULL);
		if (i % EPOCH == EPOCH - 1)
			wait_finished(s, store_seal(s));
	}
	wait_finished(s, store_seal(s));
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct drop {
	struct store *s;
	double took;
	enum store_status st;
	volatile int done;
};

static void *
drop_main(void *arg)
{
	struct drop *d = arg;
	double t0 = now_s();
	d->st = store_account_delete(d->s, "alice");
	d->took = now_s() - t0;
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int
main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: acctdrop DIR ROWS PEERS [fill|drop]\n");
		return 2;
	}
	long rows = atol(argv[2]);
	int peers = atoi(argv[3]);
	int no_fill = argc > 4 && strcmp(argv[4], "drop") == 0;
	int fill_only = argc > 4 && strcmp(argv[4], "fill") == 0;
	char err[512];
	struct store_options o = { .dir = argv[1], .readers = 2 };
	if (store_database_is_pg(argv[1]))
		o.database = argv[1];
	struct store *s;
	if (!no_fill) {
		if ((s = store_open(&o, err, sizeof err)) == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		double t0 = now_s();
		fill(s, rows, peers);
		store_close(s);
		fprintf(stderr, "filled %ld + %ld rows in %.1f s\n", rows, rows, now_s() - t0);
		if (fill_only)
			return 0;
	}
	seq = (uint64_t)rows * 2 + 1000;
	if ((s = store_open(&o, err, sizeof err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct drop d = { .s = s };
	pthread_t t;
	pthread_create(&t, NULL, drop_main, &d);
	static double waits[1 << 20];
	double max_wait = 0;
	unsigned long epochs = 0, slow = 0;
	while (!__atomic_load_n(&d.done, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < 10; i++) {
			append(s, "#lobby", "carol", "carol", NULL);
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
		double t0 = now_s();
		wait_finished(s, store_seal(s));
		double w = now_s() - t0;
		if (epochs < sizeof waits / sizeof waits[0])
			waits[epochs] = w;
		epochs++;
		slow += w > 0.1;
		if (w > max_wait)
			max_wait = w;
	}
	pthread_join(t, NULL);
	struct store_stats st;
	store_finished(s);
	store_stats(s, &st);
	unsigned long kept = epochs < sizeof waits / sizeof waits[0] ? epochs :
	    sizeof waits / sizeof waits[0];
	qsort(waits, kept, sizeof waits[0], cmp_double);
	printf("| %ld | %d | %.2f | %s | %lu | %.1f | %.1f | %.1f | %lu | %" PRIu64 " |\n", rows,
	    peers, d.took, d.st == STORE_OK ? "ok" : "FAILED", epochs,
	    kept ? 1000 * waits[kept / 2] : 0.0, kept ? 1000 * waits[kept * 99 / 100] : 0.0,
	    1000 * max_wait, slow, st.dropped);
	store_close(s);
	return 0;
}
