/* Unit tests for the store (SQLite backend) on a temporary directory:
 * epochs commit in order and store_close commits what is pending; every
 * query shape with msgid and time references, both directions, limits
 * and an unknown msgid; TARGETS; SEARCH (operator characters are only
 * characters); messages only vs every kind; redaction; retention by
 * rows and by age in small batches; the schema from version 0, a newer
 * one refused, a locked and a corrupt database refused; a full disk
 * drops the epoch, counts it, and the next one commits (SQLite's page
 * limit, and a WAL file that cannot grow: the WAL's frames are written
 * at once at the commit frame, and that write's failure is the
 * commit's); backup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "store_fixture.h"
#include "store_helpers.h"

static void
make_event(struct store_event *e, const char *target, int64_t ms, uint16_t seq,
    enum store_kind kind, const char *text)
{
	memset(e, 0, sizeof *e);
	msgid_write((uint64_t)ms, 1, seq, e->msgid);
	e->at_ms = ms;
	e->kind = kind;
	e->target = target;
	e->sender = "alice!a@host";
	e->text = text;
}

/* n messages in target, the i-th at T0 + i ms with the text "message i",
 * one epoch; returns the epoch. */
static uint64_t
fill(struct store *s, const char *target, int from, int n)
{
	char text[64];
	struct store_event e;
	for (int i = from; i < from + n; i++) {
		snprintf(text, sizeof text, "message %d", i);
		make_event(&e, target, T0 + i, 0, SK_PRIVMSG, text);
		assert_int_equal(store_append(s, &e), 0);
	}
	return store_seal(s);
}

static void
query(struct store *s, struct store_query *q, struct store_result *r)
{
	store_query(s, q, r);
	assert_false(r->failed);
}

/* The answer is the messages first..last, oldest first. */
static void
expect_run(const struct store_result *r, int first, int last)
{
	assert_int_equal(r->n, (size_t)(last - first + 1));
	for (size_t i = 0; i < r->n; i++)
		assert_int_equal(num(&r->events[i]), first + (int)i);
}

/* ---- Tests ---- */

static void
test_append_commit_latest(void **state)
{
	struct fixture *f = *state;
	uint64_t e1 = fill(f->s, "#a", 0, 10);
	uint64_t e2 = fill(f->s, "#a", 10, 10);
	assert_int_equal(e1, 1);
	assert_int_equal(e2, 2);
	assert_int_equal(store_seal(f->s), 0);  /* nothing pending */
	wait_epoch(f->s, e2);

	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 5 };
	query(f->s, &q, &r);
	expect_run(&r, 15, 19);
	assert_string_equal(r.events[0].sender, "alice!a@host");
	assert_string_equal(r.events[0].target, "#a");
	assert_int_equal(r.events[0].at_ms, T0 + 15);
	assert_int_equal(r.events[0].kind, SK_PRIVMSG);
	assert_null(r.events[0].account);
	store_result_free(&r);

	q.limit = 100;
	query(f->s, &q, &r);
	expect_run(&r, 0, 19);
	store_result_free(&r);

	/* LATEST bounded by a reference: the newest after it. */
	q.limit = 3;
	ref_id(&q.a, 4);
	query(f->s, &q, &r);
	expect_run(&r, 17, 19);
	store_result_free(&r);
	q.limit = 100;
	query(f->s, &q, &r);
	expect_run(&r, 5, 19);
	store_result_free(&r);
	ref_time(&q.a, 4);
	query(f->s, &q, &r);
	expect_run(&r, 5, 19);
	store_result_free(&r);

	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.appended, 20);
	assert_int_equal(st.committed, 20);
	assert_int_equal(st.epochs, 2);
	assert_int_equal(st.dropped, 0);
	/* Each transaction is in the metrics, with the events it wrote
	 * (the two epochs may have gone in one). */
	assert_true(st.commit_us.count >= 1 && st.commit_us.count <= 2);
	assert_int_equal(st.commit_events.count, st.commit_us.count);
	assert_int_equal(st.commit_events.sum, 20);

	/* Another target is apart; an empty one has nothing. */
	struct store_query q2 = { .kind = SQ_LATEST, .target = "#b", .limit = 10 };
	query(f->s, &q2, &r);
	assert_int_equal(r.n, 0);
	assert_false(r.not_found);
	store_result_free(&r);
}

static void
test_before_after(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 50));
	struct store_result r;
	struct store_query q = { .kind = SQ_BEFORE, .target = "#a", .limit = 5 };

	ref_id(&q.a, 20);
	query(f->s, &q, &r);
	expect_run(&r, 15, 19);
	store_result_free(&r);
	ref_time(&q.a, 20);  /* before the time: 20 itself excluded */
	query(f->s, &q, &r);
	expect_run(&r, 15, 19);
	store_result_free(&r);
	ref_id(&q.a, 2);
	query(f->s, &q, &r);
	expect_run(&r, 0, 1);
	store_result_free(&r);
	/* A bound the target does not hold (the doors' "now": the id right
	 * after the last one given): what came before it, the given one's
	 * own included; as a reference, the same msgid is unknown. */
	memset(&q.a, 0, sizeof q.a);
	msgid_write((uint64_t)(T0 + 20), 1, 1, q.a.msgid);
	q.a.set = 1;
	q.a.bound = 1;
	query(f->s, &q, &r);
	expect_run(&r, 16, 20);
	store_result_free(&r);
	q.a.bound = 0;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	assert_true(r.not_found);
	store_result_free(&r);

	q.kind = SQ_AFTER;
	ref_id(&q.a, 20);
	query(f->s, &q, &r);
	expect_run(&r, 21, 25);
	store_result_free(&r);
	ref_time(&q.a, 20);
	query(f->s, &q, &r);
	expect_run(&r, 21, 25);
	store_result_free(&r);
	ref_id(&q.a, 47);
	query(f->s, &q, &r);
	expect_run(&r, 48, 49);
	store_result_free(&r);

	/* An unknown msgid: nothing, and not_found. */
	memset(&q.a, 0, sizeof q.a);
	memcpy(q.a.msgid, "0000000000000000", MSGID_LEN + 1);
	q.a.set = 1;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	assert_true(r.not_found);
	store_result_free(&r);
	/* A msgid of another target is unknown in this one. */
	wait_epoch(f->s, fill(f->s, "#b", 100, 1));
	ref_id(&q.a, 100);
	query(f->s, &q, &r);
	assert_true(r.not_found);
	store_result_free(&r);
	/* A time with nothing after it is no error. */
	ref_time(&q.a, 1000);
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	assert_false(r.not_found);
	store_result_free(&r);
	/* A limit of 0 asks for nothing. */
	q.limit = 0;
	ref_time(&q.a, 0);
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);
}

static void
test_around_between(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 50));
	struct store_result r;
	struct store_query q = { .kind = SQ_AROUND, .target = "#a", .limit = 6 };

	/* Around a msgid: half before, the rest from it on. */
	ref_id(&q.a, 20);
	query(f->s, &q, &r);
	expect_run(&r, 17, 22);
	store_result_free(&r);
	ref_time(&q.a, 20);
	query(f->s, &q, &r);
	expect_run(&r, 17, 22);
	store_result_free(&r);
	/* Near an end: what there is before, the rest after. */
	ref_id(&q.a, 1);
	query(f->s, &q, &r);
	expect_run(&r, 0, 5);
	store_result_free(&r);
	q.limit = 1;
	ref_id(&q.a, 30);
	query(f->s, &q, &r);
	expect_run(&r, 30, 30);
	store_result_free(&r);

	/* Between, strictly, from a's side: up and down. */
	q.kind = SQ_BETWEEN;
	q.limit = 100;
	ref_id(&q.a, 10);
	ref_id(&q.b, 15);
	query(f->s, &q, &r);
	expect_run(&r, 11, 14);
	store_result_free(&r);
	q.limit = 2;
	query(f->s, &q, &r);
	expect_run(&r, 11, 12);
	store_result_free(&r);
	ref_id(&q.a, 15);
	ref_id(&q.b, 10);
	query(f->s, &q, &r);
	expect_run(&r, 13, 14);
	store_result_free(&r);
	/* Times, and a time with a msgid. */
	q.limit = 100;
	ref_time(&q.a, 40);
	ref_time(&q.b, 44);
	query(f->s, &q, &r);
	expect_run(&r, 41, 43);
	store_result_free(&r);
	ref_time(&q.a, 44);
	ref_id(&q.b, 40);
	q.limit = 1;
	query(f->s, &q, &r);
	expect_run(&r, 43, 43);
	store_result_free(&r);
	/* The same point twice, or neighbours: nothing between. */
	q.limit = 100;
	ref_id(&q.a, 5);
	ref_id(&q.b, 5);
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);
	ref_id(&q.b, 6);
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);
	/* Either reference unknown: not_found. */
	memcpy(q.b.msgid, "0000000000000000", MSGID_LEN + 1);
	query(f->s, &q, &r);
	assert_true(r.not_found);
	store_result_free(&r);
}

/* Every kind is stored; without events only the message kinds come
 * back, with them every kind, and each kind's fields. */
static void
test_events_vs_messages(void **state)
{
	struct fixture *f = *state;
	struct store_event e;
	make_event(&e, "#a", T0 + 0, 0, SK_JOIN, NULL);
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#a", T0 + 1, 0, SK_PRIVMSG, "message 1");
	e.tags = "+draft/reply=XYZ;+a=b";
	e.bot = 1;
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#a", T0 + 2, 0, SK_TOPIC, "a new topic");
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#a", T0 + 3, 0, SK_ACTION, "message 3");
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#a", T0 + 4, 0, SK_KICK, "bye");
	e.extra = "bob";
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#a", T0 + 5, 0, SK_NOTICE, "message 5\nsecond line");
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#a", T0 + 6, 0, SK_NICK, NULL);
	e.extra = "alice2";
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#a", T0 + 7, 0, SK_TAGMSG, NULL);
	e.tags = "+typing=active";
	assert_int_equal(store_append(f->s, &e), 0);
	wait_epoch(f->s, store_seal(f->s));

	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
	query(f->s, &q, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.events[0].kind, SK_PRIVMSG);
	assert_string_equal(r.events[0].tags, "+draft/reply=XYZ;+a=b");
	assert_int_equal(r.events[0].bot, 1);
	assert_int_equal(r.events[1].kind, SK_ACTION);
	assert_int_equal(r.events[2].kind, SK_NOTICE);
	assert_string_equal(r.events[2].text, "message 5\nsecond line");
	store_result_free(&r);

	q.events = 1;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 8);
	assert_int_equal(r.events[0].kind, SK_JOIN);
	assert_null(r.events[0].text);
	assert_int_equal(r.events[2].kind, SK_TOPIC);
	assert_string_equal(r.events[2].text, "a new topic");
	assert_int_equal(r.events[4].kind, SK_KICK);
	assert_string_equal(r.events[4].extra, "bob");
	assert_string_equal(r.events[4].text, "bye");
	assert_int_equal(r.events[6].kind, SK_NICK);
	assert_string_equal(r.events[6].extra, "alice2");
	assert_int_equal(r.events[7].kind, SK_TAGMSG);
	assert_string_equal(r.events[7].tags, "+typing=active");
	store_result_free(&r);

	/* The limit counts what is returned, not what is skipped. */
	q.events = 0;
	q.limit = 2;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.events[0].kind, SK_ACTION);
	store_result_free(&r);

	/* SEARCH finds the message kinds only. */
	struct store_query sq = { .kind = SQ_SEARCH, .target = "#a", .text = "topic", .limit = 10 };
	query(f->s, &sq, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);
	sq.text = "second";
	query(f->s, &sq, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0].kind, SK_NOTICE);
	store_result_free(&r);
}

/* Runs a TARGETS query into r and checks its targets, in order (the
 * list ends with NULL); r is the caller's to check more and to free. */
static void
targets_are(struct store *s, struct store_query *q, struct store_result *r, ...)
{
	query(s, q, r);
	va_list ap;
	va_start(ap, r);
	size_t i = 0;
	for (const char *t; (t = va_arg(ap, const char *)) != NULL; i++) {
		assert_true(i < r->n);
		assert_string_equal(r->events[i].target, t);
	}
	va_end(ap);
	assert_int_equal(r->n, i);
}

static void
test_targets(void **state)
{
	struct fixture *f = *state;
	fill(f->s, "#a", 0, 10);
	fill(f->s, "#b", 10, 10);
	fill(f->s, "#c", 20, 10);
	wait_epoch(f->s, fill(f->s, "#a", 30, 5));

	/* Each target at its newest event, ordered by it from the first
	 * bound: earliest first. */
	struct store_result r;
	struct store_query q = { .kind = SQ_TARGETS, .limit = 10 };
	ref_time(&q.a, 0);
	ref_time(&q.b, 1000);
	targets_are(f->s, &q, &r, "#b", "#c", "#a", NULL);
	assert_int_equal(num(&r.events[0]), 19);
	assert_int_equal(r.events[1].at_ms, T0 + 29);
	assert_int_equal(num(&r.events[2]), 34);
	store_result_free(&r);

	/* The limit keeps those nearest the first bound. */
	q.limit = 2;
	targets_are(f->s, &q, &r, "#b", "#c", NULL);
	store_result_free(&r);

	/* The bounds the other way round: latest first, and the limit keeps
	 * the latest. */
	ref_time(&q.a, 1000);
	ref_time(&q.b, 0);
	targets_are(f->s, &q, &r, "#a", "#c", NULL);
	store_result_free(&r);
	q.limit = 10;

	/* A window: #b's newest (19) is in it. #c and #a have events in it
	 * too, but newer ones after it: a target is where its newest event
	 * is, so they are not listed. */
	ref_time(&q.a, 12);
	ref_time(&q.b, 25);
	targets_are(f->s, &q, &r, "#b", NULL);
	assert_int_equal(num(&r.events[0]), 19);
	store_result_free(&r);

	/* A later event that is no message (a part) neither moves #b nor
	 * drops it, with event-playback too. */
	struct store_event part;
	make_event(&part, "#b", T0 + 40, 0, SK_PART, NULL);
	assert_int_equal(store_append(f->s, &part), 0);
	wait_epoch(f->s, store_seal(f->s));
	q.events = 1;
	targets_are(f->s, &q, &r, "#b", NULL);
	assert_int_equal(num(&r.events[0]), 19);
	store_result_free(&r);
	q.events = 0;

	/* Both bounds exclude their own millisecond. */
	ref_time(&q.a, 19);
	ref_time(&q.b, 34);
	targets_are(f->s, &q, &r, "#c", NULL);
	store_result_free(&r);

	/* Only the targets asked about; a limit. */
	const char *const mine[] = { "#b", "#c", "#nothing" };
	q.targets = mine;
	q.ntargets = 3;
	ref_time(&q.a, 0);
	ref_time(&q.b, 1000);
	targets_are(f->s, &q, &r, "#b", "#c", NULL);
	store_result_free(&r);
	q.targets = NULL;
	q.ntargets = 0;
	q.limit = 1;
	targets_are(f->s, &q, &r, "#b", NULL);
	store_result_free(&r);
}

static void
test_search(void **state)
{
	struct fixture *f = *state;
	static const char *const texts[] = {
		"hello world", "Hello there, World!", "goodbye world", "nothing here",
		"AND OR NOT", "a \"quoted\" word", "c++ (parens) col:on -minus *star",
		"NEAR(hello world)", "hellos", "hello again",
	};
	struct store_event e;
	for (int i = 0; i < 10; i++) {
		make_event(&e, "#a", T0 + i, 0, SK_PRIVMSG, texts[i]);
		e.sender = i % 2 == 0 ? "alice!a@host" : "bob!b@host";
		assert_int_equal(store_append(f->s, &e), 0);
	}
	make_event(&e, "#b", T0 + 100, 0, SK_PRIVMSG, "hello from b");
	assert_int_equal(store_append(f->s, &e), 0);
	/* Names the index cannot read as words, or with its syntax. */
	make_event(&e, "#!!", T0 + 101, 0, SK_PRIVMSG, "hello from punctuation");
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#q\"x:y*", T0 + 102, 0, SK_PRIVMSG, "hello from quotes");
	assert_int_equal(store_append(f->s, &e), 0);
	wait_epoch(f->s, store_seal(f->s));

	struct store_result r;
	struct store_query q = { .kind = SQ_SEARCH, .target = "#a", .text = "hello", .limit = 10 };
	query(f->s, &q, &r);
	/* Every word, any case, oldest first; "hellos" is another word. */
	assert_int_equal(r.n, 4);
	assert_string_equal(r.events[0].text, "hello world");
	assert_string_equal(r.events[1].text, "Hello there, World!");
	assert_string_equal(r.events[2].text, "NEAR(hello world)");
	assert_string_equal(r.events[3].text, "hello again");
	store_result_free(&r);

	/* The newest limit of them. */
	q.limit = 2;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.events[0].text, "NEAR(hello world)");
	assert_string_equal(r.events[1].text, "hello again");
	store_result_free(&r);
	q.limit = 10;

	/* Every word must be there. */
	q.text = "world hello";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 3);
	store_result_free(&r);
	/* A prefix. */
	q.text = "hell*";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 5);
	store_result_free(&r);
	/* From one nick. */
	q.text = "world";
	q.from = "bob";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.events[0].text, "Hello there, World!");
	store_result_free(&r);
	q.from = "b%";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);
	q.from = NULL;

	/* Operator characters in the words are characters, never syntax. */
	static const char *const odd[] = {
		"AND", "OR", "NOT", "\"", "\"quoted", "c++", "(parens)", "col:on", "-minus",
		"*", "*star", "NEAR(hello", "^", "{a b}", "a:b:c", "\"\"\"", "AND OR", "+",
		"hello AND", "NOT hello", "'", "\\", "%", "\x01", "héllo", "   ", "",
	};
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		q.text = odd[i];
		store_query(f->s, &q, &r);
		assert_false(r.failed);
		store_result_free(&r);
	}
	q.text = "quoted";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	store_result_free(&r);
	q.text = "(parens)";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	store_result_free(&r);
	q.text = "NOT";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.events[0].text, "AND OR NOT");
	store_result_free(&r);

	/* Across the targets one may read. */
	const char *const mine[] = { "#a", "#b" };
	q.target = NULL;
	q.targets = mine;
	q.ntargets = 2;
	q.text = "hello";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 5);
	assert_string_equal(r.events[4].target, "#b");
	store_result_free(&r);
	q.ntargets = 1;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 4);
	store_result_free(&r);
	q.ntargets = 0;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);

	q.targets = NULL;
	q.target = "#!!";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.events[0].text, "hello from punctuation");
	store_result_free(&r);
	q.target = "#q\"x:y*";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.events[0].text, "hello from quotes");
	store_result_free(&r);
	/* A name that is a prefix of another's words is not the other. */
	q.target = "#q";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);

	/* The index's own separator in a text, and a word longer than the
	 * index keeps: found all the same. */
	char longword[400];
	memset(longword, 'w', sizeof longword - 1);
	longword[sizeof longword - 1] = '\0';
	make_event(&e, "#c", T0 + 200, 0, SK_PRIVMSG, "sep\x1finside");
	assert_int_equal(store_append(f->s, &e), 0);
	make_event(&e, "#c", T0 + 201, 0, SK_PRIVMSG, longword);
	assert_int_equal(store_append(f->s, &e), 0);
	wait_epoch(f->s, store_seal(f->s));
	q.target = "#c";
	q.text = "inside";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	store_result_free(&r);
	q.text = "sep\x1finside";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	store_result_free(&r);
	q.text = longword;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	store_result_free(&r);
}

static void
test_redact(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 5));
	char id[MSGID_LEN + 1];
	id_of(2, id);
	assert_int_equal(store_redact(f->s, "#a", id), 0);
	/* Taken back in the same epoch it was stored in. */
	struct store_event e;
	make_event(&e, "#a", T0 + 5, 0, SK_PRIVMSG, "message 5 secret");
	assert_int_equal(store_append(f->s, &e), 0);
	assert_int_equal(store_redact(f->s, "#a", e.msgid), 0);
	/* An unknown msgid is no failure; a malformed one is refused. */
	assert_int_equal(store_redact(f->s, "#a", "0000000000000000"), 0);
	assert_int_equal(store_redact(f->s, "#a", "short"), -1);
	wait_epoch(f->s, store_seal(f->s));

	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 10 };
	query(f->s, &q, &r);
	assert_int_equal(r.n, 6);
	assert_true(r.events[2].redacted);
	assert_null(r.events[2].text);
	assert_string_equal(r.events[2].msgid, id);
	assert_true(r.events[5].redacted);
	assert_null(r.events[5].text);
	assert_false(r.events[1].redacted);
	store_result_free(&r);

	/* Takings back are no events in the counters. */
	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.appended, 6);
	assert_int_equal(st.committed, 6);

	/* Gone from the search index too. */
	struct store_query sq = { .kind = SQ_SEARCH, .target = "#a", .text = "message", .limit = 10 };
	query(f->s, &sq, &r);
	assert_int_equal(r.n, 4);
	store_result_free(&r);
	sq.text = "secret";
	query(f->s, &sq, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);
	sq.text = "2";
	query(f->s, &sq, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);

	/* An event stored already taken back keeps no text. */
	make_event(&e, "#a", T0 + 6, 0, SK_PRIVMSG, "message 6");
	e.redacted = 1;
	assert_int_equal(store_append(f->s, &e), 0);
	wait_epoch(f->s, store_seal(f->s));
	q.limit = 1;
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	assert_true(r.events[0].redacted);
	assert_null(r.events[0].text);
	store_result_free(&r);
}

/* Epochs finish in order, one by one or many at once; store_finished
 * never goes back. */
static void
test_epochs_in_order(void **state)
{
	struct fixture *f = *state;
	uint64_t last = 0;
	for (int i = 0; i < 200; i++) {
		uint64_t ep = fill(f->s, "#a", i * 3, 3);
		assert_int_equal(ep, last + 1);
		last = ep;
		if (i % 50 == 0)
			wait_epoch(f->s, ep);
	}
	wait_epoch(f->s, last);
	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.epochs, 200);
	assert_int_equal(st.committed, 600);
	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 1000 };
	query(f->s, &q, &r);
	expect_run(&r, 0, 599);
	store_result_free(&r);
}

/* store_close commits what is pending; the history is there when the
 * store opens again. */
static void
test_close_commits_pending(void **state)
{
	struct fixture *f = *state;
	fill(f->s, "#a", 0, 10);                 /* sealed, maybe not committed */
	struct store_event e;
	make_event(&e, "#a", T0 + 10, 0, SK_PRIVMSG, "message 10");
	assert_int_equal(store_append(f->s, &e), 0);  /* pending */
	store_close(f->s);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
	query(f->s, &q, &r);
	expect_run(&r, 0, 10);
	store_result_free(&r);
}

/* The pending batch is bounded: an append past it is refused and
 * counted. */
static void
test_pending_bound(void **state)
{
	struct fixture *f = *state;
	struct store_event e;
	int refused = 0;
	for (uint32_t i = 0; i <= STORE_PENDING_MAX; i++) {
		make_event(&e, "#a", T0 + i / 1000, (uint16_t)(i % 1000), SK_PRIVMSG, "x");
		if (store_append(f->s, &e) != 0)
			refused++;
	}
	assert_int_equal(refused, 1);
	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.appended, STORE_PENDING_MAX);
	wait_epoch(f->s, store_seal(f->s));
	store_stats(f->s, &st);
	assert_int_equal(st.committed, STORE_PENDING_MAX);
	/* Committed, the room is there again. */
	make_event(&e, "#a", T0 + 1000000, 0, SK_PRIVMSG, "x");
	assert_int_equal(store_append(f->s, &e), 0);
}

/* A disk that fills: the epoch is dropped and counted, it finishes all
 * the same, and the next epoch commits once there is room. */
static void
test_disk_full(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 10));
	store_test_max_pages(f->s, 1);  /* no page more than it has */
	char big[4000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct store_event e;
	for (int i = 10; i < 60; i++) {
		make_event(&e, "#a", T0 + i, 0, SK_PRIVMSG, big);
		assert_int_equal(store_append(f->s, &e), 0);
	}
	uint64_t full = store_seal(f->s);
	wait_epoch(f->s, full);
	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.commits_failed, 1);
	assert_int_equal(st.dropped, 50);
	assert_int_equal(st.committed, 10);

	store_test_max_pages(f->s, 0);
	uint64_t next = fill(f->s, "#a", 60, 5);
	assert_int_equal(next, full + 1);
	wait_epoch(f->s, next);
	store_stats(f->s, &st);
	assert_int_equal(st.commits_failed, 1);
	assert_int_equal(st.committed, 15);
	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
	query(f->s, &q, &r);
	assert_int_equal(r.n, 15);
	assert_int_equal(num(&r.events[9]), 9);
	assert_int_equal(num(&r.events[10]), 60);
	store_result_free(&r);
}

/* A fixture's directory and no store: nothing but this thread runs when
 * a test forks. */
static int
setup_dir(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->root, sizeof f->root, "/tmp/parley-store-XXXXXX");
	return mkdtemp(f->root) != NULL ? 0 : -1;
}

/* test_wal_cannot_grow's child: no cmocka in it (an assertion would go
 * back into the runner in this process); 0 when all went as it should,
 * else the step that did not. */
static int
wal_cannot_grow(const char *dir)
{
	if (sqlite3_vfs_find(STORE_VFS_NAME) == NULL && store_vfs_register() == NULL)
		return 1;
	struct store *s = open_store(dir, 0, 0);
	if (s == NULL)
		return 2;
	char text[4000];
	struct store_event e;
	uint64_t epoch = 0;
	for (int i = 0; i < 65; i++) {
		if (i == 10 || i == 60) {
			/* Committed, and the WAL's size then. */
			epoch = store_seal(s);
			while (store_finished(s) < epoch) {
				struct pollfd p = { .fd = store_fd(s), .events = POLLIN };
				if (poll(&p, 1, 60000) != 1)
					return 3;
			}
		}
		if (i == 10) {
			char wal[256];
			struct stat sb;
			snprintf(wal, sizeof wal, "%s/%s-wal", dir, STORE_DB_NAME);
			if (stat(wal, &sb) != 0)
				return 4;
			/* Past its end, no byte more: each write that would go
			 * there fails (EFBIG), as on a full disk. */
			struct rlimit rl;
			getrlimit(RLIMIT_FSIZE, &rl);
			rl.rlim_cur = (rlim_t)sb.st_size;
			if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
				return 5;
		}
		if (i == 60) {
			struct store_stats st;
			store_stats(s, &st);
			if (st.commits_failed != 1 || st.dropped != 50 || st.committed != 10)
				return 6;
			struct rlimit rl;
			getrlimit(RLIMIT_FSIZE, &rl);
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_FSIZE, &rl);
		}
		memset(text, 'a' + i % 26, sizeof text - 1);
		text[sizeof text - 1] = '\0';
		if (i < 10 || i >= 60)
			snprintf(text, sizeof text, "message %d", i);
		make_event(&e, "#a", T0 + i, 0, SK_PRIVMSG, text);
		if (store_append(s, &e) != 0)
			return 7;
	}
	store_close(s);  /* commits the last five */
	/* Opened again (a quick check of the file): what was committed. */
	s = open_store(dir, 0, 0);
	if (s == NULL)
		return 8;
	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
	store_query(s, &q, &r);
	int ok = !r.failed && r.n == 15 && num(&r.events[9]) == 9 && num(&r.events[10]) == 60 &&
	    num(&r.events[14]) == 64;
	store_result_free(&r);
	store_close(s);
	return ok ? 0 : 9;
}

/* A disk that fills, for real: the WAL file cannot grow past its size
 * (RLIMIT_FSIZE, in a child process of its own). The epoch that needs
 * more is dropped and counted, nothing of it is stored, and the next one
 * commits once it may grow; the database is whole. */
static void
test_wal_cannot_grow(void **state)
{
	struct fixture *f = *state;
	char dir[128];
	snprintf(dir, sizeof dir, "%s/child", f->root);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		_exit(wal_cannot_grow(dir));
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Runs sql on db, each statement to its end; the first failure's code. */
static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int64_t
one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A transaction that spilled frames into the WAL (its page cache full)
 * and was rolled back leaves them gathered and unwritten: they are past
 * the WAL's last commit, nothing of the database. Another connection
 * then commits over the same place in the WAL; the first one's next call
 * on its WAL wrote the stale frames over that commit's (SQLite wrote them
 * before it let go of the write lock). Here the WAL starts empty (a
 * truncating checkpoint), so the rollback reads nothing from it. */
static void
test_wal_rolled_back_spill(void **state)
{
	struct fixture *f = *state;
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/spill.db", f->root);
	sqlite3 *a = store_db_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, sizeof err);
	sqlite3 *b = store_db_open(path, SQLITE_OPEN_READWRITE, err, sizeof err);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(exec_sql(a, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
	    "CREATE TABLE t(x); CREATE TABLE u(y);"
	    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 50) "
	    "INSERT INTO t SELECT randomblob(3000) FROM s;"
	    "PRAGMA cache_size=10; PRAGMA wal_checkpoint(TRUNCATE);"), SQLITE_OK);
	/* a: a transaction larger than its cache, rolled back. */
	assert_int_equal(exec_sql(a, "BEGIN;"
	    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200) "
	    "INSERT INTO t SELECT randomblob(3000) FROM s;"), SQLITE_OK);
	assert_int_equal(exec_sql(a, "ROLLBACK"), SQLITE_OK);
	/* b: commits where a's frames were. */
	assert_int_equal(exec_sql(b, "BEGIN;"
	    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 100) "
	    "INSERT INTO u SELECT printf('b-%d-%.3000c', i, 'x') FROM s;"
	    "UPDATE t SET x = zeroblob(10) WHERE rowid <= 30; COMMIT;"), SQLITE_OK);
	/* a reads (its WAL's first call since), then both go (b's close
	 * checkpoints the WAL into the database). */
	assert_int_equal(one_int(a, "SELECT count(*) FROM u"), 100);
	sqlite3_close(a);
	sqlite3_close(b);
	sqlite3 *c = store_db_open(path, SQLITE_OPEN_READWRITE, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(one_int(c, "SELECT count(*) FROM u"), 100);
	assert_int_equal(one_int(c, "SELECT count(*) FROM t WHERE length(x) = 10"), 30);
	assert_int_equal(one_int(c, "SELECT count(*) FROM t"), 50);
	assert_int_equal(one_int(c, "SELECT count(*) FROM pragma_integrity_check WHERE "
	    "integrity_check != 'ok'"), 0);
	sqlite3_close(c);
}

/* history-max-rows: each target keeps its newest rows, pruned by the
 * writer in batches of STORE_PRUNE_BATCH. */
static void
test_retention_rows(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	f->s = open_store(f->dir, 10, 0);
	assert_non_null(f->s);
	uint64_t before = store_test_prune(f->s);
	fill(f->s, "#a", 0, 2000);
	fill(f->s, "#b", 5000, 5);
	wait_epoch(f->s, fill(f->s, "#c", 6000, 30));
	uint64_t after = store_test_prune(f->s);
	/* 1990 rows of #a and 20 of #c, never more than a batch at once. */
	assert_true(after - before >= (1990 + STORE_PRUNE_BATCH - 1) / STORE_PRUNE_BATCH);
	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.pruned, 1990 + 20);

	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
	query(f->s, &q, &r);
	expect_run(&r, 1990, 1999);
	store_result_free(&r);
	q.target = "#b";
	query(f->s, &q, &r);
	expect_run(&r, 5000, 5004);
	store_result_free(&r);
	/* Pruned rows leave the search index with them. */
	struct store_query sq = { .kind = SQ_SEARCH, .target = "#a", .text = "message", .limit = 100 };
	query(f->s, &sq, &r);
	assert_int_equal(r.n, 10);
	store_result_free(&r);

	/* A lower bound after a restart is applied to every target. */
	store_close(f->s);
	f->s = open_store(f->dir, 3, 0);
	assert_non_null(f->s);
	store_test_prune(f->s);
	q.target = "#b";
	query(f->s, &q, &r);
	expect_run(&r, 5002, 5004);
	store_result_free(&r);
	q.target = "#c";
	query(f->s, &q, &r);
	expect_run(&r, 6027, 6029);
	store_result_free(&r);
}

/* A room is checked against history-max-rows once it took a sixteenth
 * of the bound since its last check: it may pass the bound by that. */
static void
test_retention_slack(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	f->s = open_store(f->dir, 160, 0);  /* slack: 160 / 16 + 1 = 11 */
	assert_non_null(f->s);
	assert_int_equal(STORE_PRUNE_SLACK(160), 11);
	wait_epoch(f->s, fill(f->s, "#a", 0, 170));
	store_test_prune(f->s);
	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.pruned, 10);
	wait_epoch(f->s, fill(f->s, "#a", 170, 10));
	store_test_prune(f->s);
	store_stats(f->s, &st);
	assert_int_equal(st.pruned, 10);  /* 170 rows: within the slack */
	wait_epoch(f->s, fill(f->s, "#a", 180, 1));
	store_test_prune(f->s);
	store_stats(f->s, &st);
	assert_int_equal(st.pruned, 21);
	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 1000 };
	query(f->s, &q, &r);
	expect_run(&r, 21, 180);
	store_result_free(&r);
}

/* history-max-age: rows older than it go, the recent stay. */
static void
test_retention_age(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	f->s = open_store(f->dir, 0, 1);
	assert_non_null(f->s);
	int64_t now = clock_now_ms();
	/* 1200 from T0 (2026-01-01: days old), then 3 of now. */
	assert_true(T0 + 1200 < now - 2 * 86400000LL);
	fill(f->s, "#a", 0, 1200);
	struct store_event e;
	for (int i = 0; i < 3; i++) {
		char text[32];
		snprintf(text, sizeof text, "message %d", 100000 + i);
		make_event(&e, "#a", now + i, 0, SK_PRIVMSG, text);
		assert_int_equal(store_append(f->s, &e), 0);
	}
	wait_epoch(f->s, store_seal(f->s));
	uint64_t before = store_test_prune(f->s);
	assert_true(store_test_prune(f->s) > before);
	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.pruned, 1200);
	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
	query(f->s, &q, &r);
	expect_run(&r, 100000, 100002);
	store_result_free(&r);
}

static int
db_version(const char *dir)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_NAME);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct store *
open_err(const char *dir, char *err, size_t errlen)
{
	struct store_options o = { .dir = dir, .readers = 1 };
	err[0] = '\0';
	return store_open(&o, err, errlen);
}

/* A database of version 0 (empty, as sqlite3 leaves a new file) is
 * brought to this build's version; a newer one is refused. */
static void
test_schema_versions(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(db_version(f->dir), STORE_SCHEMA_VERSION);
	store_close(f->s);
	f->s = NULL;

	char fresh[128];
	snprintf(fresh, sizeof fresh, "%s2", f->dir);
	assert_int_equal(mkdir(fresh, 0700), 0);
	db_exec(fresh, "PRAGMA user_version = 0");
	assert_int_equal(db_version(fresh), 0);
	char err[256];
	struct store *s = open_err(fresh, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(db_version(fresh), STORE_SCHEMA_VERSION);
	wait_epoch(s, fill(s, "#a", 0, 3));
	store_close(s);

	db_exec(fresh, "PRAGMA user_version = 99");
	s = open_err(fresh, err, sizeof err);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
	rm_rf(fresh);

	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
}

/* A second opener of the same data-dir is refused while the first
 * holds it, and welcome after. */
static void
test_locked(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct store *s = open_err(f->dir, err, sizeof err);
	assert_null(s);
	assert_non_null(strstr(err, "locked by another parleyd"));
	store_close(f->s);
	f->s = open_err(f->dir, err, sizeof err);
	assert_non_null(f->s);
}

static void
test_corrupt(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 2000));
	store_close(f->s);
	f->s = NULL;
	char path[256];
	snprintf(path, sizeof path, "%s/%s", f->dir, STORE_DB_NAME);

	/* Pages past the first overwritten: the header is whole, the
	 * tables are not. */
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	char junk[8192];
	memset(junk, 0x5a, sizeof junk);
	assert_int_equal(pwrite(fd, junk, sizeof junk, 4096), (ssize_t)sizeof junk);
	close(fd);
	char err[256];
	struct store *s = open_err(f->dir, err, sizeof err);
	assert_null(s);
	assert_non_null(strstr(err, "corrupt"));

	/* Not a database at all. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
	close(fd);
	s = open_err(f->dir, err, sizeof err);
	assert_null(s);
	assert_true(strstr(err, "corrupt") != NULL || strstr(err, "not a database") != NULL);

	unlink(path);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
}

/* A data-dir that cannot be made: one line, no store. */
static void
test_bad_dir(void **state)
{
	struct fixture *f = *state;
	char dir[128], err[256];
	snprintf(dir, sizeof dir, "%s/no/such/parent", f->dir);
	assert_null(open_err(dir, err, sizeof err));
	assert_non_null(strstr(err, "cannot be created"));
	/* A file where the directory should be. */
	snprintf(dir, sizeof dir, "%s/%s", f->dir, STORE_DB_NAME);
	assert_null(open_err(dir, err, sizeof err));
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
}

static void
test_backup(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 500));
	/* More pending while the backup runs: the copy is of one moment. */
	fill(f->s, "#a", 500, 500);
	char copy[128], err[256];
	snprintf(copy, sizeof copy, "%sbackup", f->dir);
	assert_int_equal(mkdir(copy, 0700), 0);
	char path[256];
	snprintf(path, sizeof path, "%s/%s", copy, STORE_DB_NAME);
	assert_int_equal(store_backup(f->dir, path, err, sizeof err), 0);

	/* The copy opens as a store of its own, with the history in it. */
	struct store *s = open_store(copy, 0, 0);
	assert_non_null(s);
	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 1 };
	query(s, &q, &r);
	assert_int_equal(r.n, 1);
	assert_true(num(&r.events[0]) == 499 || num(&r.events[0]) == 999);
	store_result_free(&r);
	q.kind = SQ_AFTER;
	ref_time(&q.a, -1);
	q.limit = 1000;
	query(s, &q, &r);
	assert_true(r.n == 500 || r.n == 1000);
	store_result_free(&r);
	store_close(s);
	rm_rf(copy);

	/* No database to copy, or nowhere to write: an error line. */
	snprintf(path, sizeof path, "%s/none", f->dir);
	assert_int_equal(store_backup(path, "/tmp/x", err, sizeof err), -1);
	assert_true(err[0] != '\0');
	assert_int_equal(store_backup(f->dir, "/nonexistent/dir/copy.db", err, sizeof err), -1);
}

/* Queries from more threads than read connections: each waits its turn
 * for one, and every answer is whole. */
struct reader_arg {
	struct store *s;
	int ok;
};

static void *
reader_thread(void *p)
{
	struct reader_arg *a = p;
	a->ok = 1;
	for (int i = 0; i < 200; i++) {
		struct store_result r;
		struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 50 };
		if (i % 3 == 1) {
			q.kind = SQ_SEARCH;
			q.text = "message";
		}
		store_query(a->s, &q, &r);
		if (r.failed || r.n != 50)
			a->ok = 0;
		store_result_free(&r);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 100));
	pthread_t t[5];
	struct reader_arg a[5];
	for (int i = 0; i < 5; i++) {
		a[i].s = f->s;
		assert_int_equal(pthread_create(&t[i], NULL, reader_thread, &a[i]), 0);
	}
	/* The writer goes on meanwhile. */
	for (int i = 0; i < 20; i++)
		wait_epoch(f->s, fill(f->s, "#a", 100 + i * 10, 10));
	for (int i = 0; i < 5; i++) {
		pthread_join(t[i], NULL);
		assert_true(a[i].ok);
	}
}

/* Row i of the mix: its kind, account, extra, tags, bot mode and whether
 * it was taken back change from one row to the next, and not in step. */
static void
mixed_event(struct store_event *e, int i, char *text, size_t len)
{
	static const enum store_kind kinds[] = { SK_PRIVMSG, SK_NOTICE, SK_JOIN, SK_ACTION, SK_TOPIC };
	snprintf(text, len, "message %d", i);
	make_event(e, "#a", T0 + i, 0, kinds[i % 5], text);
	e->account = i % 3 == 0 ? "acct" : NULL;
	e->extra = i % 4 == 1 ? "bob" : NULL;
	e->tags = i % 6 < 2 ? "+a=b" : NULL;
	e->bot = i % 2;
	e->redacted = i % 7 == 3;
	if (e->redacted)
		e->tags = NULL;
}

/* The writer binds a row's kind, account, extra, tags, bot and redacted
 * only when they differ from what its statement held (sqlite_writer.c,
 * bind_kept_*): two epochs, whose rows take the same statements' places
 * with other values, read back as they were appended. */
static void
test_columns_row_to_row(void **state)
{
	struct fixture *f = *state;
	char text[64];
	struct store_event e;
	/* 45 rows an epoch: one statement of 32 rows and one of 13. The
	 * second epoch's row at each place is the first's plus one. */
	for (int epoch = 0; epoch < 2; epoch++) {
		for (int i = 0; i < 45; i++) {
			mixed_event(&e, epoch * 45 + i + epoch, text, sizeof text);
			assert_int_equal(store_append(f->s, &e), 0);
		}
		wait_epoch(f->s, store_seal(f->s));
	}
	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100, .events = 1 };
	query(f->s, &q, &r);
	assert_int_equal(r.n, 90);
	for (size_t k = 0; k < r.n; k++) {
		int i = k < 45 ? (int)k : (int)k + 1;
		struct store_event want;
		mixed_event(&want, i, text, sizeof text);
		const struct store_event *got = &r.events[k];
		assert_string_equal(got->msgid, want.msgid);
		assert_int_equal(got->kind, want.kind);
		assert_int_equal(got->bot, want.bot);
		assert_int_equal(got->redacted, want.redacted);
		if (want.account != NULL)
			assert_string_equal(got->account, want.account);
		else
			assert_null(got->account);
		if (want.extra != NULL)
			assert_string_equal(got->extra, want.extra);
		else
			assert_null(got->extra);
		if (want.tags != NULL)
			assert_string_equal(got->tags, want.tags);
		else
			assert_null(got->tags);
		if (want.redacted)
			assert_null(got->text);
		else
			assert_string_equal(got->text, want.text);
	}
	store_result_free(&r);
}

/* A quit is one event (one msgid) stored in every room its user was in;
 * a msgid stored twice in one room is stored once. */
static void
test_one_event_many_rooms(void **state)
{
	struct fixture *f = *state;
	struct store_event e;
	make_event(&e, "#a", T0, 0, SK_QUIT, "gone");
	assert_int_equal(store_append(f->s, &e), 0);
	e.target = "#b";
	assert_int_equal(store_append(f->s, &e), 0);
	assert_int_equal(store_append(f->s, &e), 0);  /* again: ignored */
	make_event(&e, "#b", T0 + 1, 0, SK_PRIVMSG, "message 1");
	assert_int_equal(store_append(f->s, &e), 0);
	wait_epoch(f->s, store_seal(f->s));

	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 10, .events = 1 };
	query(f->s, &q, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.events[0].kind, SK_QUIT);
	store_result_free(&r);
	q.target = "#b";
	query(f->s, &q, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.events[0].text, "gone");
	store_result_free(&r);
	/* The quit's msgid is a reference in either room. */
	q.kind = SQ_AFTER;
	ref_id(&q.a, 0);
	query(f->s, &q, &r);
	assert_false(r.not_found);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.events[0].text, "message 1");
	store_result_free(&r);
	struct store_stats st;
	store_stats(f->s, &st);
	assert_int_equal(st.dropped, 0);
}

/* The search index's own check of itself (contentless: its segments and
 * their entries agree). */
static void
fts_check(const char *dir)
{
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_NAME);
	sqlite3 *db = store_db_open(path, SQLITE_OPEN_READWRITE, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO events_fts (events_fts)"
	    " VALUES ('integrity-check')", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

#define SQL_FTS_MARK "SELECT value FROM meta WHERE key = 'fts_indexed'"
#define SQL_MAX_ID "SELECT max(id) FROM events"

/* The search index is written after the commit that released an epoch:
 * rows committed and not yet indexed are taken back or pruned without
 * touching the index (a contentless index told to remove what it never
 * held would be corrupt), and a search waits until the index holds every
 * row committed before it. */
static void
test_fts_after_commit(void **state)
{
	struct fixture *f = *state;
	store_test_fts_hold(f->s, 1);
	wait_epoch(f->s, fill(f->s, "#a", 0, 5));
	int64_t max = db_int(f->dir, SQL_MAX_ID);
	assert_int_equal(max, 5);
	assert_true(db_int(f->dir, SQL_FTS_MARK) < max);
	char id[MSGID_LEN + 1];
	id_of(2, id);
	assert_int_equal(store_redact(f->s, "#a", id), 0);
	wait_epoch(f->s, store_seal(f->s));
	assert_true(db_int(f->dir, SQL_FTS_MARK) < max);
	/* The search asks for the rows, held or not. */
	assert_int_equal(search_n(f->s, "#a", "message"), 4);
	assert_int_equal(search_n(f->s, "#a", "2"), 0);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), max);
	fts_check(f->dir);

	/* Indexed, then taken back: out of the index. Not indexed yet, then
	 * pruned: nothing to take out. */
	id_of(3, id);
	assert_int_equal(store_redact(f->s, "#a", id), 0);
	wait_epoch(f->s, fill(f->s, "#a", 5, 5));
	assert_int_equal(search_n(f->s, "#a", "3"), 0);
	assert_int_equal(search_n(f->s, "#a", "message"), 8);
	fts_check(f->dir);
	store_close(f->s);
	f->s = open_store(f->dir, 3, 0);
	assert_non_null(f->s);
	store_test_fts_hold(f->s, 1);
	wait_epoch(f->s, fill(f->s, "#a", 10, 5));
	store_test_prune(f->s);
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM events"), 3);
	assert_int_equal(search_n(f->s, "#a", "message"), 3);
	fts_check(f->dir);
	/* A taken back row of another room is not found by this one's name. */
	id_of(14, id);
	assert_int_equal(store_redact(f->s, "#b", id), 0);
	wait_epoch(f->s, store_seal(f->s));
	assert_int_equal(search_n(f->s, "#a", "14"), 1);
}

/* Rows committed and not indexed when the server stopped (a crash) are
 * indexed after the next start, without a search asking. */
static void
test_fts_after_restart(void **state)
{
	struct fixture *f = *state;
	store_test_fts_hold(f->s, 1);
	wait_epoch(f->s, fill(f->s, "#a", 0, 20));
	store_close(f->s);  /* held: closes without indexing them */
	int64_t max = db_int(f->dir, SQL_MAX_ID);
	assert_int_equal(max, 20);
	assert_true(db_int(f->dir, SQL_FTS_MARK) < max);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	/* Idle, the writer indexes them (the poll's timeout is a bound
	 * against a hang, not a timing check). */
	for (int i = 0; i < 600 && db_int(f->dir, SQL_FTS_MARK) < max; i++)
		poll(NULL, 0, 50);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), max);
	assert_int_equal(search_n(f->s, "#a", "message"), 20);
	fts_check(f->dir);
}

/* A database of version 3 (with the msgid index, every row in the
 * search index and no mark) is brought to version 4 in place: the
 * index dropped, the mark at its last row, its rows found. */
static void
test_schema_v3_upgrade(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 10));
	store_close(f->s);
	f->s = NULL;
	db_exec(f->dir, SQL_BACK_TO_V6 "CREATE INDEX events_msgid ON events (msgid);"
	    "DELETE FROM meta WHERE key = 'fts_indexed'; PRAGMA user_version = 3");
	assert_int_equal(db_version(f->dir), 3);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	assert_int_equal(db_version(f->dir), STORE_SCHEMA_VERSION);
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'events_msgid'"), 0);
	/* Version 6 makes the index again: the mark reaches the last row once
	 * a search has waited for it. */
	assert_int_equal(search_n(f->s, "#a", "message"), 10);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), 10);
	char id[MSGID_LEN + 1];
	id_of(4, id);
	assert_int_equal(store_redact(f->s, "#a", id), 0);
	wait_epoch(f->s, store_seal(f->s));
	assert_int_equal(search_n(f->s, "#a", "message"), 9);
	fts_check(f->dir);
}

/* FTS5's merge threshold, as the search index keeps it (none: FTS5's
 * default, 4). */
#define SQL_AUTOMERGE \
    "SELECT coalesce((SELECT v FROM events_fts_config WHERE k = 'automerge'), 4)"

/* A database of version 4 (the search index merging 4 segments at a
 * time, FTS5's default) is brought to version 5 in place (16 at a time),
 * its rows found as before; and the writer's start leaves FTS5 merging
 * nothing by itself (0: the writer merges, sqlite_ftsmerge.c), in it as
 * in a new one. */
static void
test_schema_v4_upgrade(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(db_int(f->dir, SQL_AUTOMERGE), 0);
	wait_epoch(f->s, fill(f->s, "#a", 0, 10));
	assert_int_equal(search_n(f->s, "#a", "message"), 10);
	store_close(f->s);
	f->s = NULL;
	db_exec(f->dir, SQL_BACK_TO_V6 "DELETE FROM events_fts_config WHERE k = 'automerge';"
	    " PRAGMA user_version = 4");
	assert_int_equal(db_version(f->dir), 4);
	assert_int_equal(db_int(f->dir, SQL_AUTOMERGE), 4);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	assert_int_equal(db_version(f->dir), STORE_SCHEMA_VERSION);
	assert_int_equal(db_int(f->dir, SQL_AUTOMERGE), 0);
	wait_epoch(f->s, fill(f->s, "#a", 10, 10));
	assert_int_equal(search_n(f->s, "#a", "message"), 20);
	fts_check(f->dir);
}

/* Whether the search index keeps positions (FTS5's detail=full, up to
 * version 5) or not (detail=none, version 6 on). */
#define SQL_FTS_DETAIL_NONE \
    "SELECT sql LIKE '%detail=none%' FROM sqlite_master WHERE name = 'events_fts'"

/* Texts for the words unicode61 splits: a search's "don't" is the phrase
 * don, t (the two in that order, next to each other), "foo-bar" foo, bar. */
static const char *const phrase_texts[] = {
	"don't stop", "don t either", "t don backwards", "don and t apart",
	"foo-bar baz", "bar foo", "foo bar", "foo x bar", "Don'T SHOUT", "a:b:c", "c:b:a",
	"don'tx longer", "na\xc3\xafve-caf\xc3\xa9 accents",
};

static void
put_phrase_texts(struct store *s, const char *target)
{
	struct store_event e;
	for (size_t i = 0; i < sizeof phrase_texts / sizeof phrase_texts[0]; i++) {
		make_event(&e, target, T0 + (int64_t)i, 0, SK_PRIVMSG, phrase_texts[i]);
		assert_int_equal(store_append(s, &e), 0);
	}
	wait_epoch(s, store_seal(s));
}

/* The texts a search finds, oldest first, one string ("a|b|"). */
static void
found(struct store *s, const char *target, const char *text, char *out, size_t cap)
{
	struct store_result r;
	struct store_query q = { .kind = SQ_SEARCH, .target = target, .text = text, .limit = 100 };
	query(s, &q, &r);
	out[0] = '\0';
	for (size_t i = 0; i < r.n; i++) {
		strncat(out, r.events[i].text, cap - strlen(out) - 1);
		strncat(out, "|", cap - strlen(out) - 1);
	}
	store_result_free(&r);
}

static void
phrases_found(struct store *s, const char *target)
{
	static const struct {
		const char *search, *want;
	} cases[] = {
		{ "don't", "don't stop|don t either|Don'T SHOUT|" },
		{ "DON'T", "don't stop|don t either|Don'T SHOUT|" },
		{ "don't*", "don't stop|don t either|Don'T SHOUT|don'tx longer|" },
		{ "don't stop", "don't stop|" },
		{ "stop don't", "don't stop|" },
		{ "don", "don't stop|don t either|t don backwards|don and t apart|Don'T SHOUT|"
		    "don'tx longer|" },
		{ "foo-bar", "foo-bar baz|foo bar|" },
		{ "bar-foo", "bar foo|" },
		{ "foo-ba*", "foo-bar baz|foo bar|" },
		{ "a:b:c", "a:b:c|" },
		{ "b:c", "a:b:c|" },
		{ "c:b", "c:b:a|" },
		{ "naive-cafe", "na\xc3\xafve-caf\xc3\xa9 accents|" },
		{ "x-bar", "foo x bar|" },
		{ "bar-x", "" },
		{ "don't-stop", "don't stop|" },
		{ "stop-don't", "" },
	};
	char got[512];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		found(s, target, cases[i].search, got, sizeof got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("search \"%s\": \"%s\", not \"%s\"", cases[i].search, got,
			    cases[i].want);
	}
}

/* A search's word that unicode61 splits is a phrase: its parts next to
 * each other, in order (the index keeps no positions: the rows are
 * checked). */
static void
test_search_phrases(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(db_int(f->dir, SQL_FTS_DETAIL_NONE), 1);
	put_phrase_texts(f->s, "#a");
	phrases_found(f->s, "#a");
	/* Over several rooms, each room's rows. */
	put_phrase_texts(f->s, "#b");
	const char *const both[] = { "#a", "#b" };
	struct store_result r;
	struct store_query q = { .kind = SQ_SEARCH, .targets = both, .ntargets = 2,
		.text = "foo-bar", .limit = 100 };
	query(f->s, &q, &r);
	assert_int_equal(r.n, 4);
	store_result_free(&r);
	fts_check(f->dir);
}

/* A search's word that unicode61 splits, with a part longer than the
 * index's cut (256 bytes): the part is cut as the row's word is, also
 * when the cut falls inside a character (a term made of the cut part
 * would be read again as a shorter word, and find nothing). */
static void
test_search_long_split_word(void **state)
{
	struct fixture *f = *state;
	char ascii[400], wide[400];
	memset(ascii, 'b', 300);
	strcpy(ascii + 300, "'y tail");
	memset(wide, 'a', 255);
	strcpy(wide + 255, "\xd0\xb6'x tail");  /* the cut after 0xd0 */
	const char *const texts[] = { ascii, wide };
	struct store_event e;
	for (int i = 0; i < 2; i++) {
		make_event(&e, "#a", T0 + i, 0, SK_PRIVMSG, texts[i]);
		assert_int_equal(store_append(f->s, &e), 0);
	}
	wait_epoch(f->s, store_seal(f->s));
	char got[1024], want[1024], word[400];
	for (int i = 0; i < 2; i++) {
		/* The text's first word: "b...b'y", "a...a\xd0\xb6'x" */
		size_t n = strcspn(texts[i], " ");
		memcpy(word, texts[i], n);
		word[n] = '\0';
		found(f->s, "#a", word, got, sizeof got);
		snprintf(want, sizeof want, "%s|", texts[i]);
		assert_string_equal(got, want);
	}
	fts_check(f->dir);
}

/* A row's indexed text as versions 1 to 5 wrote it: the target's tag
 * in 16 hex digits of its FNV-1a hash, the separator, the text. */
static char *
v5_fts_text(const char *target, const char *text)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (const unsigned char *p = (const unsigned char *)target; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3u;
	}
	char *out = malloc(16 + 1 + strlen(text) + 1);
	assert_non_null(out);
	sprintf(out, "%016llx\x1f%s", (unsigned long long)h, text);
	return out;
}

/* A database of version 5 (a search index with positions, FTS5's
 * detail=full, and tags of 16 hex digits) is brought to version 6: the
 * index made again without them and with the new tags, every row
 * indexed anew (the mark back at 0, then at the last row), its searches
 * as before, phrases too. */
static void
test_schema_v5_upgrade(void **state)
{
	struct fixture *f = *state;
	put_phrase_texts(f->s, "#a");
	wait_epoch(f->s, fill(f->s, "#a", 100, 10));
	int64_t top = db_int(f->dir, SQL_MAX_ID);
	store_close(f->s);
	f->s = NULL;
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/%s", f->dir, STORE_DB_NAME);
	sqlite3 *db = store_db_open(path, SQLITE_OPEN_READWRITE, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE; " SQL_BACK_TO_V6 "DROP TABLE events_fts;"
	    "CREATE VIRTUAL TABLE events_fts USING fts5 (text, content='', columnsize=0,"
	    " tokenize='parley remove_diacritics 2');"
	    "INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16)",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, target, text FROM events", -1, &st,
	    NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char *indexed = v5_fts_text((const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
		const struct store_params ins = { .text = { indexed }, .ntext = 1,
			.num = { sqlite3_column_int64(st, 0) }, .nnum = 1 };
		assert_int_equal(store_exec_params(db, "INSERT INTO events_fts (rowid, text)"
		    " VALUES (?2, ?1)", &ins), 0);
		free(indexed);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 5; COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(db_int(f->dir, SQL_FTS_DETAIL_NONE), 0);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), top);

	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	assert_int_equal(db_version(f->dir), STORE_SCHEMA_VERSION);
	assert_int_equal(db_int(f->dir, SQL_FTS_DETAIL_NONE), 1);
	assert_int_equal(db_int(f->dir, SQL_AUTOMERGE), 0);
	assert_int_equal(search_n(f->s, "#a", "message"), 10);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), top);
	phrases_found(f->s, "#a");
	wait_epoch(f->s, fill(f->s, "#a", 200, 10));
	assert_int_equal(search_n(f->s, "#a", "message"), 20);
	fts_check(f->dir);
}

/* The newest rows deleted after the index took them (as an account's
 * conversations are, on another connection): SQLite gives their ids to
 * the next rows, which the index does not hold yet; they are found all
 * the same, and the index stays whole. */
static void
test_fts_ids_again(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 10));
	assert_int_equal(search_n(f->s, "#a", "message"), 10);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), 10);
	forget_indexed(f->dir, "#a", 5, 5, "DELETE FROM events WHERE id > 5; COMMIT");
	wait_epoch(f->s, fill(f->s, "#c", 100, 5));
	assert_int_equal(db_int(f->dir, SQL_MAX_ID), 10);  /* ids 6 to 10 again */
	assert_int_equal(search_n(f->s, "#c", "message"), 5);
	assert_int_equal(search_n(f->s, "#a", "message"), 5);
	fts_check(f->dir);
}

/* The rows of target whose words hold word in the search index itself,
 * whatever their kind or state (a search reads only the messages not
 * taken back). */
static int64_t
fts_rows_with(const char *dir, const char *target, const char *word)
{
	char tag[STORE_FTS_TAG_LEN + 1], sql[256];
	store_fts_tag(target, tag);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM events_fts WHERE events_fts MATCH"
	    " '\"%s%c%s\"'", tag, STORE_FTS_SEP, word);
	return db_int(dir, sql);
}

/* The search index holds the message kinds' rows, each once, and
 * nothing of a row of another kind nor of one taken back before it was
 * indexed: the index's batch (one statement over a range of ids,
 * sqlite_writer.c fts_step) picks its rows in SQL. */
static void
test_fts_rows_indexed(void **state)
{
	struct fixture *f = *state;
	store_test_fts_hold(f->s, 1);
	char text[64];
	struct store_event e;
	for (int i = 0; i < 45; i++) {
		mixed_event(&e, i, text, sizeof text);
		assert_int_equal(store_append(f->s, &e), 0);
	}
	wait_epoch(f->s, store_seal(f->s));
	/* Row 0 (a message) taken back before the index took it. */
	char id[MSGID_LEN + 1];
	id_of(0, id);
	assert_int_equal(store_redact(f->s, "#a", id), 0);
	wait_epoch(f->s, store_seal(f->s));
	store_test_fts_hold(f->s, 0);
	assert_int_equal(search_n(f->s, "#a", "43"), 1);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), 45);
	int64_t rows = 0;
	for (int i = 0; i < 45; i++) {
		mixed_event(&e, i, text, sizeof text);
		int in = STORE_KIND_IS_MESSAGE(e.kind) && !e.redacted && i != 0;
		char word[16];
		snprintf(word, sizeof word, "%d", i);
		assert_int_equal(fts_rows_with(f->dir, "#a", word), in);
		rows += in;
	}
	assert_true(rows > 20);
	assert_int_equal(fts_rows_with(f->dir, "#a", "message"), rows);
	assert_int_equal(search_n(f->s, "#a", "message"), rows);
	fts_check(f->dir);
}

struct searcher {
	struct store *s;
	size_t found;
	_Atomic int done;
};

static void *
searcher_thread(void *p)
{
	struct searcher *a = p;
	a->found = search_n(a->s, "#a", "0");
	a->done = 1;
	return NULL;
}

/* While epochs keep coming (never idle) and fewer than STORE_FTS_LAG_MAX
 * rows wait, the index is left behind; a search asks for it and gets it
 * between two commits, not only once the epochs stop: the row committed
 * before the search began is found. */
static void
test_fts_search_under_load(void **state)
{
	struct fixture *f = *state;
	wait_epoch(f->s, fill(f->s, "#a", 0, 1));
	struct searcher a = { .s = f->s };
	pthread_t t;
	uint64_t epochs[16] = { 0 };
	/* Sixteen epochs in flight, so that the writer mostly finds some
	 * queued after each commit; the count is a bound against a hang (the
	 * search gives up waiting after STORE_FTS_WAIT_MS), not a timing
	 * check. */
	assert_int_equal(pthread_create(&t, NULL, searcher_thread, &a), 0);
	for (int i = 1; !a.done && i < 1000000; i++) {
		if (epochs[i % 16] != 0)
			wait_epoch(f->s, epochs[i % 16]);
		epochs[i % 16] = fill(f->s, "#b", i, 1);
	}
	pthread_join(t, NULL);
	assert_true(db_int(f->dir, SQL_MAX_ID) - db_int(f->dir, SQL_FTS_MARK) <
	    STORE_FTS_LAG_MAX);
	assert_int_equal(a.found, 1);
}

#define SQL_FTS_SEGS "SELECT count(DISTINCT segid) FROM events_fts_idx"

/* Rows 0..n-1 of #a, 16 a batch of the index, each found by its number
 * once a search asks; returns the index's segments then. */
static int64_t
fts_batches(struct fixture *f, int n, int segs_max)
{
	store_test_fts_hold(f->s, 1);
	store_test_fts_policy(f->s, 16, segs_max);
	wait_epoch(f->s, fill(f->s, "#a", 0, n));
	assert_int_equal(search_n(f->s, "#a", "0"), 1);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), n);
	return db_int(f->dir, SQL_FTS_SEGS);
}

static void
expect_each_found(struct store *s, int n)
{
	char word[16];
	for (int i = 0; i < n; i++) {
		snprintf(word, sizeof word, "%d", i);
		assert_int_equal(search_n(s, "#a", word), 1);
	}
}

/* Batches of the index back to back (a burst, or a search catching up)
 * merge nothing: a segment each. Idle, the writer merges them, and
 * stops once no level holds STORE_FTS_MERGE_MIN; every row is found
 * before, while and after it merges. */
static void
test_fts_merge_idle(void **state)
{
	struct fixture *f = *state;
	int64_t burst = fts_batches(f, 40 * 16, 0);
	assert_true(burst >= 40);
	expect_each_found(f->s, 40 * 16);
	store_test_fts_hold(f->s, 0);  /* idle from now */
	expect_each_found(f->s, 40 * 16);
	store_test_fts_merged(f->s);
	int64_t merged = db_int(f->dir, SQL_FTS_SEGS);
	assert_true(merged < STORE_FTS_MERGE_MIN);
	expect_each_found(f->s, 40 * 16);
	fts_check(f->dir);
	/* Merged, it stays so: a start finds nothing more to merge. */
	store_close(f->s);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	store_test_fts_merged(f->s);
	assert_int_equal(db_int(f->dir, SQL_FTS_SEGS), merged);
}

/* With no idle time the index holds at most segs_max segments: past
 * them each batch takes a merge step first. */
static void
test_fts_merge_bound(void **state)
{
	struct fixture *f = *state;
	int64_t segs = fts_batches(f, 80 * 16, STORE_FTS_MERGE_MIN + 4);
	assert_true(segs <= STORE_FTS_MERGE_MIN + 4);
	expect_each_found(f->s, 80 * 16);
	fts_check(f->dir);
}

/* The WAL is checkpointed by a thread of its own once it holds
 * STORE_CKPT_FRAMES pages, not inside a commit: the writer's connection
 * has no automatic checkpoint, and the WAL does not grow without end. */
static void
test_checkpointer(void **state)
{
	struct fixture *f = *state;
	/* Epochs of 1,000 rows until the WAL has grown by STORE_CKPT_FRAMES
	 * pages and the checkpointer ran; the bounds are against a hang, not
	 * timing checks. */
	uint64_t runs = 0;
	int epochs = 0;
	for (int i = 0; i < 600 && runs == 0; i++) {
		if (epochs < 400) {
			wait_epoch(f->s, fill(f->s, epochs % 2 ? "#a" : "#b", epochs * 1000, 1000));
			epochs++;
		} else {
			poll(NULL, 0, 50);
		}
		pthread_mutex_lock(&f->s->ck_lock);
		runs = f->s->checkpoints;
		pthread_mutex_unlock(&f->s->ck_lock);
	}
	assert_true(runs > 0);
	/* And it copied the WAL's pages into the database while the store
	 * is open (a checkpoint on a connection that never read was a no-op:
	 * the file stayed at its first page and the WAL held everything). */
	char path[256];
	snprintf(path, sizeof path, "%s/%s", f->dir, STORE_DB_NAME);
	struct stat sb = { 0 };
	for (int i = 0; i < 600; i++) {
		assert_int_equal(stat(path, &sb), 0);
		if (sb.st_size >= 1 << 20)
			break;
		pthread_mutex_lock(&f->s->ck_lock);
		f->s->ck_due = 1;  /* another pass: the last may have had a reader in its way */
		pthread_cond_signal(&f->s->ck_wake);
		pthread_mutex_unlock(&f->s->ck_lock);
		poll(NULL, 0, 50);
	}
	assert_true(sb.st_size >= 1 << 20);
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM events"), epochs * 1000);
	assert_int_equal(search_n(f->s, "#a", "message"), 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_commit_latest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_before_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_around_between, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_vs_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_columns_row_to_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_event_many_rooms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epochs_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_commits_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_cannot_grow, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_wal_rolled_back_spill, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_retention_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_slack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fts_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fts_after_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fts_search_under_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fts_merge_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fts_merge_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fts_ids_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fts_rows_indexed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_v3_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_v4_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_phrases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_long_split_word, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_v5_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpointer, setup, teardown),
	};
	static const char *const on_pg[] = {
		"test_append_commit_latest", "test_before_after", "test_around_between",
		"test_events_vs_messages", "test_targets", "test_one_event_many_rooms",
		"test_search", "test_redact", "test_epochs_in_order",
		"test_close_commits_pending", "test_pending_bound", "test_threads", NULL,
	};
	return run_both(tests, sizeof tests / sizeof tests[0], on_pg);
}
