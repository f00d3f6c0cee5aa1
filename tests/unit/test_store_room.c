/* Unit tests for the SQLite store's room index (events_room, schema
 * version 7), written by the writer in batches behind its commits: every
 * query shape finds a room's rows whether they are all past the index's
 * mark (the tail, scanned), all in the index, or on both sides of it; a
 * replay's second copy (the same msgid twice in a room) is returned once
 * and stored once after the batch; REDACT of a row in the tail;
 * retention by rows and by age across the mark; a close without the
 * batch, then the next start: every row found, the batch done; a
 * database of version 6 upgraded in place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/sqlite_int.h"
#include "store/store.h"
#include "store_fixture.h"
#include "store_helpers.h"

#define SQL_ROOM_MARK "SELECT value FROM meta WHERE key = 'room_indexed'"
#define SQL_FTS_MARK "SELECT value FROM meta WHERE key = 'fts_indexed'"
#define SQL_MAX_ID "SELECT coalesce(max(id), 0) FROM events"
#define SQL_EVENTS "SELECT count(*) FROM events"
#define SQL_ROOM_ROWS "SELECT count(*) FROM events_room"
/* Rows of the room index that are not its event's (target, msgid). */
#define SQL_ROOM_WRONG "SELECT count(*) FROM events_room r LEFT JOIN events e ON e.id = r.id" \
	" WHERE e.id IS NULL OR e.target != r.target OR e.msgid != r.msgid"

/* Message i of target, with text ("message i" when NULL), appended. */
static void
put(struct store *s, const char *target, int i, int64_t at_ms, const char *text)
{
	char t[64];
	struct store_event e;
	memset(&e, 0, sizeof e);
	id_of(i, e.msgid);
	e.at_ms = at_ms;
	e.kind = SK_PRIVMSG;
	e.target = target;
	e.sender = "alice!a@host";
	snprintf(t, sizeof t, "message %d", i);
	e.text = text != NULL ? text : t;
	assert_int_equal(store_append(s, &e), 0);
}

/* Messages from..from + n - 1 of target in one epoch, committed. */
static void
fill(struct store *s, const char *target, int from, int n)
{
	for (int i = from; i < from + n; i++)
		put(s, target, i, T0 + i, NULL);
	wait_epoch(s, store_seal(s));
}

/* The answer to q is messages first..last of its target, oldest first,
 * each once. */
static void
expect(struct store *s, struct store_query *q, int first, int last)
{
	struct store_result r;
	store_query(s, q, &r);
	assert_false(r.failed);
	assert_false(r.not_found);
	if (r.n != (size_t)(last - first + 1))
		fail_msg("kind %d: %zu events, not %d..%d", (int)q->kind, r.n, first, last);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(num(&r.events[i]), first + (int)i);
	store_result_free(&r);
}

/* Every shape on #a holding messages 0..99 and #b 100..109. */
static void
check_shapes(struct store *s)
{
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 10 };
	expect(s, &q, 90, 99);
	q.limit = 1000;
	expect(s, &q, 0, 99);
	ref_id(&q.a, 45);
	q.limit = 100;
	expect(s, &q, 46, 99);
	ref_time(&q.a, 44);
	expect(s, &q, 45, 99);

	memset(&q, 0, sizeof q);
	q.kind = SQ_BEFORE;
	q.target = "#a";
	q.limit = 10;
	ref_id(&q.a, 50);
	expect(s, &q, 40, 49);
	ref_time(&q.a, 5);
	expect(s, &q, 0, 4);

	q.kind = SQ_AFTER;
	ref_id(&q.a, 45);
	expect(s, &q, 46, 55);
	ref_time(&q.a, 95);
	expect(s, &q, 96, 99);

	q.kind = SQ_AROUND;
	ref_id(&q.a, 50);
	expect(s, &q, 45, 54);

	q.kind = SQ_BETWEEN;
	q.limit = 100;
	ref_id(&q.a, 40);
	ref_id(&q.b, 60);
	expect(s, &q, 41, 59);
	q.limit = 5;
	ref_id(&q.a, 60);
	ref_id(&q.b, 40);
	expect(s, &q, 55, 59);
	q.limit = 100;
	ref_time(&q.a, 30);
	ref_time(&q.b, 52);
	expect(s, &q, 31, 51);

	/* A msgid the room does not hold (#b's) is no reference. */
	struct store_result r;
	q.kind = SQ_BEFORE;
	ref_id(&q.a, 105);
	store_query(s, &q, &r);
	assert_false(r.failed);
	assert_true(r.not_found);
	store_result_free(&r);

	/* Each room's newest, by a list and by the database's names. */
	const char *targets[] = { "#a", "#b" };
	struct store_query t = { .kind = SQ_TARGETS, .targets = targets, .ntargets = 2,
		.limit = 10 };
	ref_time(&t.a, 0);
	ref_time(&t.b, 1000);
	for (int all = 0; all < 2; all++) {
		if (all) {
			t.targets = NULL;
			t.ntargets = 0;
		}
		store_query(s, &t, &r);
		assert_false(r.failed);
		assert_int_equal(r.n, 2);
		assert_string_equal(r.events[0].target, "#a");
		assert_int_equal(num(&r.events[0]), 99);
		assert_string_equal(r.events[1].target, "#b");
		assert_int_equal(num(&r.events[1]), 109);
		store_result_free(&r);
	}
}

/* Messages 0..99 in #a, 100..109 in #b, the room index's mark after the
 * first `indexed` of #a (0: none, 110: all). */
static void
fill_split(struct fixture *f, int indexed)
{
	store_test_room_hold(f->s, 1);
	store_test_fts_hold(f->s, 1);
	if (indexed > 0) {
		fill(f->s, "#a", 0, indexed < 100 ? indexed : 100);
		if (indexed > 100)
			fill(f->s, "#b", 100, 10);
		/* A search has the index brought up to date. */
		assert_int_equal(search_n(f->s, "#a", "nothing"), 0);
	}
	if (indexed < 100)
		fill(f->s, "#a", indexed, 100 - indexed);
	if (indexed <= 100)
		fill(f->s, "#b", 100, 10);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), indexed);
	assert_int_equal(db_int(f->dir, SQL_MAX_ID), 110);
}

static void
test_shapes_tail(void **state)
{
	struct fixture *f = *state;
	fill_split(f, 0);
	check_shapes(f->s);
}

static void
test_shapes_indexed(void **state)
{
	struct fixture *f = *state;
	fill_split(f, 110);
	check_shapes(f->s);
}

/* The mark inside every window the shapes ask for. */
static void
test_shapes_split(void **state)
{
	struct fixture *f = *state;
	fill_split(f, 47);
	check_shapes(f->s);
	/* A search brings the index up: only then its words are found. */
	assert_int_equal(search_n(f->s, "#a", "message"), 100);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 110);
	check_shapes(f->s);
}

/* Message i of #a appended again (a replay), with another text. */
static void
replay(struct store *s, int i)
{
	put(s, "#a", i, T0 + i, "copy");
	wait_epoch(s, store_seal(s));
}

/* #a's messages 0..9, each once: the first copy of each. */
static void
expect_once(struct store *s)
{
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
	expect(s, &q, 0, 9);
	/* The window's limit counts messages, not copies. */
	for (uint32_t limit = 1; limit <= 10; limit++) {
		q.limit = limit;
		expect(s, &q, 10 - (int)limit, 9);
	}
	q.kind = SQ_AFTER;
	q.limit = 3;
	ref_id(&q.a, 2);
	expect(s, &q, 3, 5);
	q.kind = SQ_BEFORE;
	ref_id(&q.a, 7);
	expect(s, &q, 4, 6);
	q.kind = SQ_AROUND;
	q.limit = 4;
	ref_id(&q.a, 5);
	expect(s, &q, 3, 6);
}

/* After the batch: each msgid stored once (the first copy), searched
 * once, and returned once. */
static void
expect_stored_once(struct fixture *f)
{
	assert_int_equal(search_n(f->s, "#a", "message"), 10);
	assert_int_equal(search_n(f->s, "#a", "copy"), 0);
	assert_int_equal(db_int(f->dir, SQL_EVENTS), 11);
	assert_int_equal(db_int(f->dir, SQL_ROOM_ROWS), 11);
	assert_int_equal(db_int(f->dir, SQL_ROOM_WRONG), 0);
	expect_once(f->s);
}

/* The same msgid stored again in a room (a replay) with a copy in the
 * index and in the tail, and twice in the tail: returned once. */
static void
test_replay_indexed(void **state)
{
	struct fixture *f = *state;
	store_test_room_hold(f->s, 1);
	fill(f->s, "#a", 0, 10);
	assert_int_equal(search_n(f->s, "#a", "nothing"), 0);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 10);
	replay(f->s, 5);
	replay(f->s, 9);
	fill(f->s, "#b", 20, 1);
	replay(f->s, 9);     /* a third copy: twice in the tail */
	assert_int_equal(db_int(f->dir, SQL_EVENTS), 14);
	expect_once(f->s);
	expect_stored_once(f);
}

/* Every copy in the tail. */
static void
test_replay_tail(void **state)
{
	struct fixture *f = *state;
	store_test_room_hold(f->s, 1);
	fill(f->s, "#a", 0, 10);
	replay(f->s, 5);
	replay(f->s, 9);
	fill(f->s, "#b", 20, 1);
	replay(f->s, 9);
	replay(f->s, 0);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 0);
	assert_int_equal(db_int(f->dir, SQL_EVENTS), 15);
	expect_once(f->s);
	expect_stored_once(f);
}

/* REDACT of a row in the tail, of one in the index, and of a msgid with
 * a copy on each side: every copy taken back, and so after the batch. */
static void
test_redact_tail(void **state)
{
	struct fixture *f = *state;
	store_test_room_hold(f->s, 1);
	fill(f->s, "#a", 0, 5);
	assert_int_equal(search_n(f->s, "#a", "nothing"), 0);
	fill(f->s, "#a", 5, 5);
	replay(f->s, 2);
	char id[MSGID_LEN + 1];
	int gone[] = { 7, 1, 2 };
	for (int i = 0; i < 3; i++) {
		id_of(gone[i], id);
		assert_int_equal(store_redact(f->s, "#a", id), 0);
	}
	wait_epoch(f->s, store_seal(f->s));
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM events WHERE redacted = 1"), 4);
	for (int pass = 0; pass < 2; pass++) {
		struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
		struct store_result r;
		store_query(f->s, &q, &r);
		assert_false(r.failed);
		assert_int_equal(r.n, 10);
		for (size_t i = 0; i < r.n; i++) {
			int redacted = i == 1 || i == 2 || i == 7;
			assert_int_equal(r.events[i].redacted, redacted);
			assert_true(redacted ? r.events[i].text == NULL : r.events[i].text != NULL);
		}
		store_result_free(&r);
		/* The search has the batch run: the taken back are not found. */
		assert_int_equal(search_n(f->s, "#a", "message"), 7);
		assert_int_equal(search_n(f->s, "#a", "copy"), 0);
	}
}

/* history-max-rows and history-max-age with rows on both sides of the
 * mark: the rows go from the room index with their events. */
static void
test_retention_across(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	f->s = open_store(f->dir, 10, 0);
	assert_non_null(f->s);
	store_test_room_hold(f->s, 1);
	store_test_prune(f->s);
	fill(f->s, "#a", 0, 25);
	assert_int_equal(search_n(f->s, "#a", "nothing"), 0);
	fill(f->s, "#a", 25, 25);
	fill(f->s, "#b", 100, 3);
	store_test_prune(f->s);
	struct store_query q = { .kind = SQ_LATEST, .target = "#a", .limit = 100 };
	expect(f->s, &q, 40, 49);
	assert_int_equal(db_int(f->dir, SQL_ROOM_ROWS), 0);
	assert_int_equal(db_int(f->dir, SQL_ROOM_WRONG), 0);
	assert_int_equal(search_n(f->s, "#a", "message"), 10);
	assert_int_equal(db_int(f->dir, SQL_EVENTS), 13);
	assert_int_equal(db_int(f->dir, SQL_ROOM_ROWS), 13);

	/* By age: the old rows, half of them indexed, go; the recent stay. */
	store_close(f->s);
	f->s = open_store(f->dir, 0, 1);
	assert_non_null(f->s);
	store_test_room_hold(f->s, 1);
	store_test_prune(f->s);
	assert_int_equal(db_int(f->dir, SQL_EVENTS), 0);
	int64_t now = clock_now_ms();
	for (int i = 0; i < 20; i++)
		put(f->s, "#a", i, T0 + i, NULL);
	wait_epoch(f->s, store_seal(f->s));
	assert_int_equal(search_n(f->s, "#a", "nothing"), 0);
	for (int i = 20; i < 40; i++)
		put(f->s, "#a", i, T0 + i, NULL);
	for (int i = 0; i < 3; i++) {
		char text[32];
		snprintf(text, sizeof text, "message %d", 1000 + i);
		put(f->s, "#a", 1000 + i, now + i, text);
	}
	wait_epoch(f->s, store_seal(f->s));
	store_test_prune(f->s);
	assert_int_equal(db_int(f->dir, SQL_EVENTS), 3);
	assert_int_equal(db_int(f->dir, SQL_ROOM_ROWS), 0);
	expect(f->s, &q, 1000, 1002);
	assert_int_equal(search_n(f->s, "#a", "message"), 3);
	assert_int_equal(db_int(f->dir, SQL_ROOM_ROWS), 3);
	assert_int_equal(db_int(f->dir, SQL_ROOM_WRONG), 0);
}

/* Closed with rows past the mark (as a crash leaves them): the next
 * start finds them all, and writes them into the index once idle. */
static void
test_restart_tail(void **state)
{
	struct fixture *f = *state;
	fill_split(f, 47);
	replay(f->s, 60);
	store_close(f->s);  /* held: no batch at close */
	f->s = NULL;
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 47);
	assert_int_equal(db_int(f->dir, SQL_EVENTS), 111);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	check_shapes(f->s);
	/* Idle, the writer takes them (the poll's timeout is a bound against
	 * a hang, not a timing check). */
	for (int i = 0; i < 600 && db_int(f->dir, SQL_ROOM_MARK) < 111; i++)
		poll(NULL, 0, 50);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 111);
	assert_int_equal(db_int(f->dir, SQL_EVENTS), 110);
	assert_int_equal(db_int(f->dir, SQL_ROOM_ROWS), 110);
	assert_int_equal(db_int(f->dir, SQL_ROOM_WRONG), 0);
	check_shapes(f->s);
	/* And a close writes the rest. */
	store_test_room_hold(f->s, 0);
	fill(f->s, "#c", 200, 5);
	store_close(f->s);
	f->s = NULL;
	/* The copy's id (111) was the highest: given again. */
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 115);
	assert_int_equal(db_int(f->dir, SQL_ROOM_ROWS), 115);
	assert_int_equal(db_int(f->dir, SQL_ROOM_WRONG), 0);
}

/* A database of version 6 (a unique index on events, no room index) is
 * brought to version 7 in place: every row in the room index, the old
 * index gone, every shape answered. */
static void
test_schema_v6_upgrade(void **state)
{
	struct fixture *f = *state;
	fill_split(f, 110);
	store_close(f->s);
	f->s = NULL;
	db_exec(f->dir, SQL_BACK_TO_V6 "PRAGMA user_version = 6");
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'events_room'"), 0);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	assert_int_equal(db_int(f->dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'events_target'"), 0);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 110);
	assert_int_equal(db_int(f->dir, SQL_ROOM_ROWS), 110);
	assert_int_equal(db_int(f->dir, SQL_ROOM_WRONG), 0);
	check_shapes(f->s);
	assert_int_equal(search_n(f->s, "#a", "message"), 100);
}

/* The newest rows deleted after the index took them (an account's
 * conversations, on another connection): their ids are given again,
 * and the room index's mark goes back so that they are indexed. */
static void
test_room_ids_again(void **state)
{
	struct fixture *f = *state;
	fill(f->s, "#a", 0, 10);
	/* Idle, the writer takes them (no search: one would still be
	 * waiting for id 10 when the ids go back, and ask for a batch). */
	for (int i = 0; i < 600 && db_int(f->dir, SQL_FTS_MARK) < 10; i++)
		poll(NULL, 0, 50);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 10);
	assert_int_equal(db_int(f->dir, SQL_FTS_MARK), 10);
	store_test_room_hold(f->s, 1);
	store_test_fts_hold(f->s, 1);
	/* As store_unlock_forget_account deletes them. */
	forget_indexed(f->dir, "#a", 5, 5, "DELETE FROM events_room WHERE id > 5;"
	    " DELETE FROM events WHERE id > 5; COMMIT");
	fill(f->s, "#c", 100, 5);
	assert_int_equal(db_int(f->dir, SQL_MAX_ID), 10);  /* ids 6 to 10 again */
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 5);
	struct store_query q = { .kind = SQ_LATEST, .target = "#c", .limit = 100 };
	expect(f->s, &q, 100, 104);
	q.target = "#a";
	expect(f->s, &q, 0, 4);
	assert_int_equal(search_n(f->s, "#c", "message"), 5);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 10);
	assert_int_equal(db_int(f->dir, SQL_ROOM_WRONG), 0);
	expect(f->s, &q, 0, 4);
}

/* An account's one-sided conversations (TARGETS with its account)
 * walked in the index and found in the tail, each once. */
static void
test_one_sided_across(void **state)
{
	struct fixture *f = *state;
	char carol[STORE_TARGET_MAX + 1], dave[STORE_TARGET_MAX + 1], other[STORE_TARGET_MAX + 1];
	store_half_target("alice", "carol", carol);
	store_half_target("alice", "dave", dave);
	store_half_target("alicex", "carol", other);
	store_test_room_hold(f->s, 1);
	fill(f->s, carol, 0, 3);
	assert_int_equal(search_n(f->s, carol, "nothing"), 0);
	fill(f->s, carol, 3, 2);
	fill(f->s, dave, 10, 2);
	fill(f->s, other, 20, 1);
	assert_int_equal(db_int(f->dir, SQL_ROOM_MARK), 3);
	for (int pass = 0; pass < 2; pass++) {
		struct store_query t = { .kind = SQ_TARGETS, .account = "alice", .limit = 10 };
		struct store_result r;
		store_query(f->s, &t, &r);
		assert_false(r.failed);
		assert_int_equal(r.n, 2);
		assert_string_equal(r.events[0].target, carol);
		assert_int_equal(num(&r.events[0]), 4);
		assert_string_equal(r.events[1].target, dave);
		assert_int_equal(num(&r.events[1]), 11);
		store_result_free(&r);
		/* Then all of them indexed. */
		assert_int_equal(search_n(f->s, carol, "nothing"), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shapes_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shapes_indexed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shapes_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_indexed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redact_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_across, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_v6_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_room_ids_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_sided_across, setup, teardown),
	};
	static const char *const on_pg[] = { NULL };  /* SQLite's alone */
	return run_both(tests, sizeof tests / sizeof tests[0], on_pg);
}
