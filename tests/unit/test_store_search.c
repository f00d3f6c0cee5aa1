/* SEARCH gives the same answer on both backends: the same rows put in a
 * SQLite store and a PostgreSQL one, then the same searches on each,
 * compared row by row (msgids, in order). PostgreSQL finds a room's
 * matches one of two ways, walking its newest rows or through the GIN
 * index (pg_search.c); the data is made so that both are taken, and the
 * walk is cut short: twelve rooms, a word in nearly every message, words
 * of middle and rare rank, a word of every other room's message and of
 * none of #big's, a word common only in #big's oldest half, prefixes,
 * two words, from=, redacted rows and events that are not messages.
 *
 * Needs the test cluster (PARLEY_TEST_PG, pgtmp.py): skips without it,
 * fails without it under PARLEY_TOOLS=required (make test). */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../made_up.h"
#include "store_fixture.h"
#include "store_helpers.h"

/* The first event's time here (not store_helpers.h's T0). */
#define SEARCH_T0 INT64_C(1700000000000)
#define VOCAB 300
#define ROOMS 12
#define ROWS 24000

static const char *const rooms[ROOMS] = { "#big", "#r0", "#r1", "#r2", "#r3", "#r4",
	"#r5", "#r6", "#r7", "#r8", "#r9", "#tiny" };
static char vocab[VOCAB][12];
static uint64_t rng = 0x2545f4914f6cdd1du;

static uint64_t
rnd(void)
{
	return made_up_next(&rng);
}

/* Words "w<i>x", the first few common and most rare. */
static const char *
word(void)
{
	return vocab[made_up_zipf(&rng, VOCAB)];
}

struct pair {
	struct store *sq, *pg;
};

static void
append_both(struct pair *p, const struct store_event *e)
{
	assert_int_equal(store_append(p->sq, e), 0);
	assert_int_equal(store_append(p->pg, e), 0);
	if (store_pending(p->sq) >= 500 || store_pending(p->pg) >= 500) {
		wait_epoch(p->sq, store_seal(p->sq));
		wait_epoch(p->pg, store_seal(p->pg));
	}
}

/* The same ROWS events in both: #big has about half, #tiny a few, the
 * ten others the rest. */
static void
fill(struct pair *p)
{
	for (int i = 0; i < VOCAB; i++)
		snprintf(vocab[i], sizeof vocab[i], "w%dx", i);
	char text[256], redact[64][MSGID_LEN + 1], redact_room[64][8];
	int nredact = 0;
	for (int i = 0; i < ROWS; i++) {
		uint64_t pick = rnd() % 100;
		const char *room = i % 500 == 0 ? "#tiny" : pick < 50 ? "#big" :
		    rooms[1 + pick % 10];
		struct store_event e = { .at_ms = SEARCH_T0 + i, .target = room,
			.kind = SK_PRIVMSG };
		msgid_write((uint64_t)e.at_ms, 1, 0, e.msgid);
		e.sender = i % 3 == 0 ? "bob!b@host" : i % 3 == 1 ? "alice!a@host" : "b_b!x@host";
		size_t o = 0;
		int words = 3 + (int)(rnd() % 8);
		/* "zzall": nearly every message; "zzelse": every message but
		 * #big's; "zzold": #big's older half, one in three; "zznew":
		 * #big's newest, one in ten (a walk's density that does not
		 * hold further back). */
		o += (size_t)snprintf(text + o, sizeof text - o, "%s", rnd() % 50 ? "zzall" : "no");
		if (strcmp(room, "#big") != 0)
			o += (size_t)snprintf(text + o, sizeof text - o, " zzelse");
		else if (i < ROWS / 2 && rnd() % 3 == 0)
			o += (size_t)snprintf(text + o, sizeof text - o, " zzold");
		else if (i >= ROWS - 3000 && rnd() % 10 == 0)
			o += (size_t)snprintf(text + o, sizeof text - o, " zznew");
		for (int k = 0; k < words; k++)
			o += (size_t)snprintf(text + o, sizeof text - o, " %s", word());
		e.text = text;
		/* A few events that are not messages, their text the same. */
		if (i % 97 == 0)
			e.kind = SK_TOPIC;
		else if (i % 89 == 0)
			e.kind = SK_ACTION;
		else if (i % 83 == 0)
			e.kind = SK_NOTICE;
		append_both(p, &e);
		if (i % 211 == 0 && nredact < 64) {
			memcpy(redact[nredact], e.msgid, sizeof e.msgid);
			snprintf(redact_room[nredact++], sizeof redact_room[0], "%s", room);
		}
	}
	wait_epoch(p->sq, store_seal(p->sq));
	wait_epoch(p->pg, store_seal(p->pg));
	for (int i = 0; i < nredact; i++) {
		assert_int_equal(store_redact(p->sq, redact_room[i], redact[i]), 0);
		assert_int_equal(store_redact(p->pg, redact_room[i], redact[i]), 0);
	}
	wait_epoch(p->sq, store_seal(p->sq));
	wait_epoch(p->pg, store_seal(p->pg));
}

/* One search on both, none of its rows older than after nor newer than
 * before (0: no bound; SEARCH's after= and before=): the same msgids in
 * the same order, each within the bounds; how many. */
static size_t
same_within(struct pair *p, const char *text, const char *const *targets, size_t ntargets,
    uint32_t limit, const char *from, int64_t after, int64_t before)
{
	struct store_query q = { .kind = SQ_SEARCH, .text = text, .limit = limit, .from = from };
	q.a = (struct store_ref){ .at_ms = after, .set = after != 0 };
	q.b = (struct store_ref){ .at_ms = before, .set = before != 0 };
	if (ntargets == 1)
		q.target = targets[0];
	else {
		q.targets = targets;
		q.ntargets = ntargets;
	}
	struct store_result a, b;
	store_query(p->sq, &q, &a);
	store_query(p->pg, &q, &b);
	assert_false(a.failed);
	assert_false(b.failed);
	if (a.n != b.n)
		fail_msg("SEARCH %s in %s (%zu rooms) limit %u from %s: SQLite %zu rows, "
		    "PostgreSQL %zu", text, targets[0], ntargets, limit, from ? from : "-",
		    a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		if (strcmp(a.events[i].msgid, b.events[i].msgid) != 0)
			fail_msg("SEARCH %s in %s (%zu rooms) limit %u from %s: row %zu is %s on "
			    "SQLite, %s on PostgreSQL", text, targets[0], ntargets, limit,
			    from ? from : "-", i, a.events[i].msgid, b.events[i].msgid);
		assert_string_equal(a.events[i].text, b.events[i].text);
		assert_string_equal(a.events[i].target, b.events[i].target);
		if ((after != 0 && a.events[i].at_ms < after) ||
		    (before != 0 && a.events[i].at_ms > before))
			fail_msg("SEARCH %s in %s limit %u: row %zu at %lld, not within %lld..%lld",
			    text, targets[0], limit, i, (long long)a.events[i].at_ms,
			    (long long)after, (long long)before);
	}
	size_t n = a.n;
	store_result_free(&a);
	store_result_free(&b);
	return n;
}

static size_t
same(struct pair *p, const char *text, const char *const *targets, size_t ntargets,
    uint32_t limit, const char *from)
{
	return same_within(p, text, targets, ntargets, limit, from, 0, 0);
}

static void
test_search_same_on_both(void **state)
{
	struct fixture *f = *state;
	/* f->s is PostgreSQL's (setup_pg); SQLite's is opened beside it. */
	char saved[sizeof fixture_database];
	memcpy(saved, fixture_database, sizeof saved);
	fixture_database[0] = '\0';
	struct pair p = { .sq = open_store(f->dir, 0, 0), .pg = f->s };
	memcpy(fixture_database, saved, sizeof saved);
	assert_non_null(p.sq);
	fill(&p);

	char two[32], three[40];
	snprintf(two, sizeof two, "%s %s", vocab[1], vocab[20]);
	snprintf(three, sizeof three, "zzall %s %s", vocab[2], vocab[40]);
	const char *const texts[] = {
		"zzall", vocab[0], vocab[5], vocab[30], vocab[150], vocab[VOCAB - 3],
		"zzelse", "zzold", "zznew", two, three, "w1*", "w29*", "zz*", "ZZALL", "nowhere",
		"zzall zzelse",
		/* A word repeated is one; five prefixes find nothing on either. */
		"zzall w1* zzall w1*", "w1* w2* w3* w4*", "w1* w2* w3* w4* w5*",
	};
	const char *const *all = rooms;
	const char *const some[] = { "#r2", "#big", "#tiny" };
	const uint32_t limits[] = { 1, 10, 100, 1000 };
	size_t full = 0, partial = 0, none = 0, bounded = 0;
	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
			const struct {
				const char *const *targets;
				size_t n;
			} where[] = { { all, 1 }, { all + 3, 1 }, { all + 11, 1 }, { all, ROOMS },
				{ some, 3 } };
			for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
				size_t n = same(&p, texts[t], where[w].targets, where[w].n, limits[l],
				    NULL);
				full += n == limits[l];
				partial += n > 0 && n < limits[l];
				none += n == 0;
			}
			same(&p, texts[t], all, 1, limits[l], "bob");
			same(&p, texts[t], all, ROOMS, limits[l], "b_b");
			/* The bounds: a window in the middle, an old end, a new
			 * start, in one room and in all of them. */
			int64_t mid = SEARCH_T0 + ROWS / 2, quarter = SEARCH_T0 + ROWS / 4;
			bounded += same_within(&p, texts[t], all, 1, limits[l], NULL, quarter, mid);
			bounded += same_within(&p, texts[t], all, ROOMS, limits[l], NULL, 0, quarter);
			bounded += same_within(&p, texts[t], some, 3, limits[l], NULL, mid, 0);
		}
	}
	/* The bounds left answers, not nothing. */
	assert_true(bounded > 100);
	/* Answers of every size were compared. */
	assert_true(full > 20);
	assert_true(partial > 20);
	assert_true(none > 10);
	store_close(p.sq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_search_same_on_both, setup_pg, teardown),
	};
	(void)run_both;  /* the fixture's, for tests run on each backend alone */
	(void)setup;
	if (pg_test_base() == NULL) {
		if (pg_test_required())
			return _cmocka_run_group_tests("postgresql", (const struct CMUnitTest[]){
			    cmocka_unit_test(pg_missing) }, 1, NULL, NULL);
		fprintf(stderr, "postgresql: PARLEY_TEST_PG not set, the comparison left out\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
