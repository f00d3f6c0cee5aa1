/* store-bench: the store alone, through store.h, as the server uses it.
 * Fills a room with --rows messages (and --others more spread over nine
 * other rooms) the way the loop would (append, seal an epoch of --epoch
 * events, a few epochs in flight), then measures queries on a read
 * connection: LATEST 100, BEFORE 100 at a random point, AROUND, and
 * SEARCH for a common word, a rare one, two words, and a word the big
 * room never holds. Prints a Markdown report.
 *
 *     ./store-bench [--dir DIR | --database postgresql://...] [--rows N]
 *                   [--others N] [--epoch N] [--queries N] [--text words|bench] [--keep]
 *                   [--no-fill] [--no-merge] [--rooms N] [--in-flight N]
 *
 * --rooms N spreads the --rows messages over N rooms in turn (#big and
 * N - 1 more), as W3's senders do (100 rooms: each commit then touches
 * one index leaf per room); the reading is of #big, which then holds
 * rows / N of them. --in-flight N: at most N epochs sealed and not
 * finished (default 4, as the server's gate): with 1 each commit is about
 * one epoch (W3-1000 commits some 300 events at a time).
 *
 * --no-merge: the reading's writer leaves the search index's segments as
 * the writing left them (it merges them when idle, sqlite_ftsmerge.c):
 * searches on the most segments the index holds.
 *
 * --database runs it on PostgreSQL (an empty database: the rooms' rows
 * are added to what is there); db bytes/event is then not measured.
 *
 * --no-fill measures the reading only, on what an earlier run (--keep, or
 * any --database) wrote with the same --rows and --others: the same data
 * read by two builds, a schema's migration between them, say.
 *
 * --text bench writes parley-bench's messages instead of words ("S<sender>
 * Q<seq> T<ns>" and x's to 64 bytes: two words no other message has, the
 * search index's costliest text). The writing's CPU time per event is
 * the process's (the writer thread's, nearly all of it), user and system
 * apart, with the bytes the process wrote (the WAL and the checkpoints'
 * copies, /proc/self/io's wchar).
 *
 * Not a test: numbers on a shared machine vary; compare runs, not
 * absolutes. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/clock.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "../../tests/made_up.h"

#define VOCAB 4000          /* distinct words in the texts */
#define WORD_MAX 16
#define TEXT_MAX 256
#define IN_FLIGHT 4         /* epochs sealed and not finished, at most (default) */

static char vocab[VOCAB][WORD_MAX];
static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	return made_up_next(&rng);
}

/* Words of two to four syllables, picked by made_up_zipf: a few common,
 * most rare. */
static void
vocab_init(void)
{
	static const char *const syl[] = { "ka", "lo", "mi", "nu", "ra", "se", "ti", "vo",
		"ba", "de", "fi", "go", "he", "ju", "pe", "zu", "an", "el", "or", "ix" };
	for (int i = 0; i < VOCAB; i++) {
		int n = 2 + (int)(rnd() % 3);
		vocab[i][0] = '\0';
		for (int k = 0; k < n; k++)
			strcat(vocab[i], syl[rnd() % 20]);
		char num[8];
		snprintf(num, sizeof num, "%d", i % 10);
		strcat(vocab[i], num);  /* distinct enough, and never an operator */
	}
}

static void
make_text(char *out, size_t len)
{
	int words = 5 + (int)(rnd() % 11);
	size_t o = 0;
	for (int i = 0; i < words; i++) {
		const char *w = vocab[made_up_zipf(&rng, VOCAB)];
		size_t n = strlen(w);
		if (o + n + 2 >= len)
			break;
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, w, n);
		o += n;
	}
	out[o] = '\0';
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The process's CPU seconds, every thread's: user, and system in sys. */
static double
cpu_s(double *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

/* Bytes the process has written (wchar: files and sockets alike). */
static uint64_t
written_bytes(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	unsigned long long v = 0;
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "wchar: %llu", &v) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return v;
}

static void
wait_finished(struct store *s, uint64_t epoch)
{
	while (store_finished(s) < epoch) {
		struct pollfd p = { .fd = store_fd(s), .events = POLLIN };
		poll(&p, 1, 1000);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct timing {
	const char *name;
	double *ms;
	size_t n;
	double rows;        /* events returned, summed */
};

static void
report(const struct timing *t)
{
	qsort(t->ms, t->n, sizeof *t->ms, cmp_double);
	double p50 = t->ms[t->n / 2], p99 = t->ms[t->n * 99 / 100], max = t->ms[t->n - 1];
	printf("| %s | %zu | %.1f | %.3f | %.3f | %.3f |\n", t->name, t->n, t->rows / (double)t->n,
	    p50, p99, max);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static uint64_t
file_size(const char *dir, const char *name)
{
	char path[4096 + 64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The search index's segments (what a search looks at): each has
 * entries in events_fts_idx. -1 when unreadable (PostgreSQL). */
static long
fts_segments(const char *dir)
{
	char path[4096 + 64];
	snprintf(path, sizeof path, "%s/parley.db", dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(DISTINCT segid) FROM events_fts_idx", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *database = NULL;
	long rows = 1000000, others = 100000, epoch_events = 1000, queries = 1000, nrooms = 1;
	long in_flight = IN_FLIGHT;
	int keep = 0, bench_text = 0, fill = 1, merge = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--database") == 0 && i + 1 < argc)
			database = argv[++i];
		else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
			rows = atol(argv[++i]);
		else if (strcmp(argv[i], "--others") == 0 && i + 1 < argc)
			others = atol(argv[++i]);
		else if (strcmp(argv[i], "--epoch") == 0 && i + 1 < argc)
			epoch_events = atol(argv[++i]);
		else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc)
			queries = atol(argv[++i]);
		else if (strcmp(argv[i], "--rooms") == 0 && i + 1 < argc)
			nrooms = atol(argv[++i]);
		else if (strcmp(argv[i], "--in-flight") == 0 && i + 1 < argc)
			in_flight = atol(argv[++i]);
		else if (strcmp(argv[i], "--keep") == 0)
			keep = 1;
		else if (strcmp(argv[i], "--no-fill") == 0)
			fill = 0;
		else if (strcmp(argv[i], "--no-merge") == 0)
			merge = 0;
		else if (strcmp(argv[i], "--text") == 0 && i + 1 < argc &&
		    (strcmp(argv[i + 1], "words") == 0 || strcmp(argv[i + 1], "bench") == 0))
			bench_text = strcmp(argv[++i], "bench") == 0;
		else {
			fprintf(stderr, "usage: store-bench [--dir DIR | --database URL] [--rows N] [--others N]"
			    " [--epoch N] [--queries N] [--text words|bench] [--keep] [--no-fill]"
			    " [--no-merge] [--rooms N] [--in-flight N]\n");
			return 2;
		}
	}
	if (in_flight < 1 || in_flight > 64 || rows < 1000 || epoch_events < 1 ||
	    epoch_events > STORE_PENDING_MAX / in_flight || queries < 10 || nrooms < 1 ||
	    nrooms > 10000) {
		fprintf(stderr, "store-bench: --rows >= 1000, --in-flight 1..64, --epoch 1..%ld,"
		    " --queries >= 10, --rooms 1..10000\n", STORE_PENDING_MAX / in_flight);
		return 2;
	}
	char tmp[] = "/tmp/store-bench-XXXXXX";
	char datadir[4096];
	if (dir == NULL) {
		if (mkdtemp(tmp) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(datadir, sizeof datadir, "%s/data", tmp);
	} else {
		snprintf(datadir, sizeof datadir, "%s", dir);
	}
	vocab_init();

	/* Filling: the loop's side, a few epochs in flight. */
	struct store_options o = { .dir = datadir, .readers = 1, .database = database };
	char err[512];
	struct store *s = store_open(&o, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "store-bench: %s\n", err);
		return 1;
	}
	static const char *const rooms[] = { "#r1", "#r2", "#r3", "#r4", "#r5", "#r6", "#r7",
		"#r8", "#r9" };
	struct msgid_gen gen;
	msgid_init(&gen, 1);
	int64_t t = clock_now_ms() - (rows + others);  /* a millisecond apart */
	long total = rows + others, in_epoch = 0;
	uint64_t sealed = 0, text_bytes = 0;
	double sys0, t0 = now_s(), cpu0 = cpu_s(&sys0);
	uint64_t wrote0 = written_bytes();
	char text[TEXT_MAX], big[32];
	long big_n = 0;     /* of the rows so far, the next room's number */
	for (long i = 0; fill && i < total; i++) {
		struct store_event e = { .kind = SK_PRIVMSG, .sender = "someone!user@example.net" };
		e.at_ms = t++;
		msgid_next(&gen, e.at_ms, e.msgid);
		/* The others are spread through the big room's history. */
		e.target = (long)(rnd() % (uint64_t)total) < others ? rooms[rnd() % 9] : "#big";
		if (e.target[1] == 'b' && nrooms > 1) {
			if (big_n > 0) {
				snprintf(big, sizeof big, "#big%ld", big_n);
				e.target = big;
			}
			big_n = (big_n + 1) % nrooms;
		}
		if (bench_text)
			snprintf(text, sizeof text, "S%ld Q%ld T%lld %s", i % 100, i / 100,
			    (long long)e.at_ms * 1000000LL,
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" + 24);
		else
			make_text(text, sizeof text);
		/* Words the big room never holds (no syllable makes "zz"): one
		 * in a tenth of one other room's messages, one in every message
		 * of the other rooms (the search index's worst case for the big
		 * room: a long list of matches, none of them its own). */
		if (e.target == rooms[0] && rnd() % 10 == 0)
			memcpy(text, "zzonlyelsewhere", 15);
		if (e.target[1] == 'r') {
			size_t n = strlen(text);
			if (n + 14 < sizeof text) {
				memmove(text + 13, text, n + 1);
				memcpy(text, "zzeverywhere ", 13);
			}
		}
		e.text = text;
		text_bytes += strlen(text);
		while (store_append(s, &e) != 0) {
			wait_finished(s, sealed > (uint64_t)in_flight ? sealed - (uint64_t)in_flight : sealed);
			if (sealed == 0)
				abort();
		}
		if (++in_epoch == epoch_events) {
			sealed = store_seal(s);
			in_epoch = 0;
			if (sealed > (uint64_t)in_flight)
				wait_finished(s, sealed - (uint64_t)in_flight);
		}
	}
	sealed = store_seal(s) > 0 ? sealed + 1 : sealed;
	wait_finished(s, sealed);
	double sys1, fill_s = now_s() - t0, fill_user = cpu_s(&sys1) - cpu0;
	double fill_sys = sys1 - sys0;
	uint64_t wrote = written_bytes() - wrote0;
	struct store_stats st;
	store_stats(s, &st);
	store_close(s);
	uint64_t db_bytes = file_size(datadir, "parley.db");

	printf("# store-bench\n\n");
	printf("`store-bench --rows %ld --others %ld --epoch %ld --queries %ld --text %s"
	    " --rooms %ld --in-flight %ld` (%s)\n\n", rows, others, epoch_events, queries,
	    bench_text ? "bench" : "words", nrooms, in_flight,
	    database != NULL ? "PostgreSQL" : "SQLite");
	if (!fill)
		printf("(--no-fill: reading what an earlier run wrote)\n\n");
	else
		printf("## Writing\n\n");
	if (fill)
		printf("| events | epochs | commits | seconds | events/s | CPU µs/event | user | system |"
		    " bytes written/event | text bytes/event | db bytes/event |\n");
	if (fill) {
		double per = 1e6 / (double)st.committed;
		printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
		printf("| %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %.1f | %.0f | %.2f | %.2f | %.2f | %.0f | %.1f"
		    " | %.1f |\n\n",
		    st.committed, st.epochs, st.commit_events.count, fill_s, (double)st.committed / fill_s,
		    (fill_user + fill_sys) * per, fill_user * per, fill_sys * per,
		    (double)wrote / (double)st.committed, (double)text_bytes / (double)total,
		    (double)db_bytes / (double)st.committed);
	}
	if (fill && (st.committed != (uint64_t)total || st.dropped != 0)) {
		fprintf(stderr, "store-bench: %" PRIu64 " of %ld committed, %" PRIu64 " dropped\n",
		    st.committed, total, st.dropped);
		return 1;
	}

	/* Reading: a fresh open (no cache warmed by the writer). */
	s = store_open(&o, err, sizeof err);
	if (s == NULL) {
		fprintf(stderr, "store-bench: %s\n", err);
		return 1;
	}
	if (!merge && database == NULL)
		store_test_fts_hold(s, 1);  /* the index is whole: only its merges wait */
	/* Some msgids of the big room to start from. */
	size_t nrefs = 4096;
	struct store_event *refs = calloc(nrefs, sizeof *refs);
	size_t have = 0;
	{
		struct store_query q = { .kind = SQ_AFTER, .target = "#big", .limit = 1 };
		struct store_result r;
		int64_t first = t - (rows + others);
		if (!fill) {
			/* The earlier run's first message of #big. */
			q.a.set = 1;
			q.a.at_ms = 0;
			store_query(s, &q, &r);
			first = r.n == 1 ? r.events[0].at_ms : 0;
			store_result_free(&r);
		}
		for (size_t i = 0; i < nrefs; i++) {
			q.a.set = 1;
			q.a.msgid[0] = '\0';
			q.a.at_ms = first + (int64_t)i * (rows + others) / (int64_t)nrefs;
			store_query(s, &q, &r);
			if (r.n == 1)
				memcpy(refs[have++].msgid, r.events[0].msgid, MSGID_LEN + 1);
			store_result_free(&r);
		}
	}
	if (have == 0) {
		fprintf(stderr, "store-bench: no references found\n");
		return 1;
	}
	/* Words: the commonest, one of middle rank, one rare but there. */
	const char *common = vocab[0], *middle = vocab[VOCAB / 10], *rare = vocab[VOCAB - 7];
	char two[64];
	snprintf(two, sizeof two, "%s %s", vocab[1], vocab[VOCAB / 20]);
	struct {
		const char *name;
		enum store_query_kind kind;
		const char *text;
		int ref;
	} shapes[] = {
		{ "LATEST 100", SQ_LATEST, NULL, 0 },
		{ "BEFORE 100 (random msgid)", SQ_BEFORE, NULL, 1 },
		{ "AFTER 100 (random msgid)", SQ_AFTER, NULL, 1 },
		{ "AROUND 100 (random msgid)", SQ_AROUND, NULL, 1 },
		{ "SEARCH 100: the commonest word", SQ_SEARCH, common, 0 },
		{ "SEARCH 100: a middle word", SQ_SEARCH, middle, 0 },
		{ "SEARCH 100: a rare word", SQ_SEARCH, rare, 0 },
		{ "SEARCH 100: two words", SQ_SEARCH, two, 0 },
		{ "SEARCH 100: a word of a tenth of one other room", SQ_SEARCH, "zzonlyelsewhere", 0 },
		{ "SEARCH 100: a word of every other room's every message", SQ_SEARCH, "zzeverywhere", 0 },
	};
	printf("## Reading (one read connection; milliseconds)\n\n");
	if (database == NULL)
		printf("Search index segments at the start: %ld%s.\n\n", fts_segments(datadir),
		    merge ? "" : " (--no-merge: as many throughout)");
	printf("| query on #big (%ld messages) | runs | events/answer | p50 | p99 | max |\n",
	    rows / nrooms);
	printf("|---|---|---|---|---|---|\n");
	double *ms = calloc((size_t)queries, sizeof *ms);
	int failed = 0;
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		struct timing tm = { shapes[k].name, ms, (size_t)queries, 0 };
		for (long i = 0; i < queries; i++) {
			struct store_query q = { .kind = shapes[k].kind, .target = "#big", .limit = 100,
				.text = shapes[k].text };
			if (shapes[k].ref) {
				q.a.set = 1;
				memcpy(q.a.msgid, refs[rnd() % have].msgid, MSGID_LEN + 1);
			}
			struct store_result r;
			double a = now_s();
			store_query(s, &q, &r);
			ms[i] = (now_s() - a) * 1000.0;
			tm.rows += (double)r.n;
			failed |= r.failed;
			store_result_free(&r);
		}
		report(&tm);
	}
	printf("\nThe database file: %" PRIu64 " bytes (%.1f MiB).\n", db_bytes,
	    (double)db_bytes / (1024.0 * 1024.0));
	free(ms);
	free(refs);
	store_close(s);
	if (!keep && dir == NULL)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? 1 : 0;
}
