/* Unit tests for the store (SQLite backend) on a temporary directory:
 * epochs commit in order and store_close commits what is pending; every
 * query shape with msgid and time references, both directions, limits
 * and an unknown msgid; TARGETS; SEARCH (operator characters are only
 * characters); messages only vs every kind; redaction; retention by
 * rows and by age in small batches; the schema from version 0, a newer
 * one refused, a locked and a corrupt database refused; a full disk
 * drops the epoch, counts it, and the next one commits; backup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "store/sqlite_int.h"
#include "store/store.h"

/* The first event's time: 2026-01-01, a millisecond apart each. */
#define T0 INT64_C(1767225600000)

struct fixture {
	char dir[64];
	struct store *s;
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct store *
open_store(const char *dir, uint32_t max_rows, uint32_t max_age_days)
{
	struct store_options o = { .dir = dir, .max_rows = max_rows,
		.max_age_days = max_age_days, .readers = 2 };
	char err[256] = "";
	struct store *s = store_open(&o, err, sizeof err);
	if (s == NULL)
		fprintf(stderr, "store_open: %s\n", err);
	return s;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/parley-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	strcat(f->dir, "/data");  /* store_open makes it */
	f->s = open_store(f->dir, 0, 0);
	*state = f;
	return f->s != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	char *slash = strrchr(f->dir, '/');
	*slash = '\0';
	rm_rf(f->dir);
	free(f);
	return 0;
}

/* Waits (on store_fd, as the loop does; the timeout is a bound against a
 * hang, not a timing check) until epoch is finished. */
static void
wait_epoch(struct store *s, uint64_t epoch)
{
	uint64_t done = store_finished(s);
	uint64_t last = done;
	while (done < epoch) {
		struct pollfd p = { .fd = store_fd(s), .events = POLLIN };
		assert_true(poll(&p, 1, 60000) == 1);
		done = store_finished(s);
		assert_true(done >= last);  /* epochs finish in order */
		last = done;
	}
}

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
id_of(int i, char out[MSGID_LEN + 1])
{
	msgid_write((uint64_t)(T0 + i), 1, 0, out);
}

/* The i-th message's number from its text. */
static int
num(const struct store_event *e)
{
	assert_non_null(e->text);
	return atoi(e->text + strlen("message "));
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

static void
ref_id(struct store_ref *ref, int i)
{
	memset(ref, 0, sizeof *ref);
	id_of(i, ref->msgid);
	ref->set = 1;
}

static void
ref_time(struct store_ref *ref, int i)
{
	memset(ref, 0, sizeof *ref);
	ref->at_ms = T0 + i;
	ref->set = 1;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_commit_latest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_before_after, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
