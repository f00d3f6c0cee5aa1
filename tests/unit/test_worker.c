/* Unit tests for the worker pool: work runs on the pool's threads, done on
 * the caller's, woken by the eventfd; the queue is bounded; stopping
 * cancels what has not started, waits for what has, and runs every done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

#include "base/worker.h"

#define JOBS 200

struct job {
	int input;
	int output;                 /* input * 2, written by work */
	pthread_t worked_on;
	int done_calls;
	int cancelled;
	pthread_t done_on;
	sem_t *started;             /* work posts it first, when set */
	sem_t *hold;                /* work waits for it, when set */
	int *order;                 /* done appends its input here */
	int *norder;
};

static void
work(void *arg)
{
	struct job *j = arg;
	if (j->started != NULL)
		sem_post(j->started);
	if (j->hold != NULL)
		sem_wait(j->hold);
	j->output = j->input * 2;
	j->worked_on = pthread_self();
}

static void
done(void *arg, int cancelled)
{
	struct job *j = arg;
	j->done_calls++;
	j->cancelled = cancelled;
	j->done_on = pthread_self();
	if (j->order != NULL)
		j->order[(*j->norder)++] = j->input;
}

/* Waits on the pool's fd (a bound only against a hang, never a timing
 * check) and reaps, until n dones have run in all. */
static void
reap_until(struct worker_pool *pool, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = { .fd = worker_pool_fd(pool), .events = POLLIN };
		assert_int_equal(poll(&p, 1, 60000), 1);
		got += worker_pool_reap(pool);
	}
	assert_int_equal(got, n);
}

static void
test_work_on_threads_done_on_caller(void **state)
{
	(void)state;
	struct worker_pool *pool = worker_pool_new(2, JOBS);
	assert_non_null(pool);
	static struct job jobs[JOBS];
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct job){ .input = i };
		assert_int_equal(worker_submit(pool, work, done, &jobs[i]), 0);
	}
	reap_until(pool, JOBS);
	for (int i = 0; i < JOBS; i++) {
		assert_int_equal(jobs[i].done_calls, 1);
		assert_int_equal(jobs[i].cancelled, 0);
		assert_int_equal(jobs[i].output, 2 * i);
		assert_false(pthread_equal(jobs[i].worked_on, pthread_self()));
		assert_true(pthread_equal(jobs[i].done_on, pthread_self()));
	}
	assert_int_equal(worker_pool_jobs(pool), 0);
	/* Nothing more to reap: the fd is quiet. */
	struct pollfd p = { .fd = worker_pool_fd(pool), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	worker_pool_free(pool);
}

/* One thread runs the jobs in the order they came, so their dones come
 * in that order too. */
static void
test_one_thread_keeps_order(void **state)
{
	(void)state;
	struct worker_pool *pool = worker_pool_new(1, 16);
	assert_non_null(pool);
	struct job jobs[16];
	int order[16], norder = 0;
	for (int i = 0; i < 16; i++) {
		jobs[i] = (struct job){ .input = i, .order = order, .norder = &norder };
		assert_int_equal(worker_submit(pool, work, done, &jobs[i]), 0);
	}
	reap_until(pool, 16);
	assert_int_equal(norder, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(order[i], i);
	worker_pool_free(pool);
}

/* Each owner's jobs are taken in turn: an owner with ten jobs waiting
 * delays another's by one, not ten; within an owner, first come first. */
static void
test_owners_take_turns(void **state)
{
	(void)state;
	sem_t started, hold;
	sem_init(&started, 0, 0);
	sem_init(&hold, 0, 0);
	struct worker_pool *pool = worker_pool_new(1, 64);
	assert_non_null(pool);
	struct job jobs[14];
	int order[14], norder = 0, n = 0;
	/* The one thread busy with owner 1's first job while the rest come. */
	jobs[n] = (struct job){ .input = 0, .started = &started, .hold = &hold,
	    .order = order, .norder = &norder };
	assert_int_equal(worker_submit_for(pool, 1, work, done, &jobs[n++]), 0);
	sem_wait(&started);
	const struct { uintptr_t owner; int input; } later[] = {
		{ 1, 1 }, { 1, 2 }, { 1, 3 }, { 1, 4 }, { 1, 5 }, { 1, 6 }, { 1, 7 }, { 1, 8 },
		{ 1, 9 }, { 1, 10 }, { 2, 100 }, { 3, 200 }, { 3, 201 },
	};
	for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
		jobs[n] = (struct job){ .input = later[i].input, .order = order, .norder = &norder };
		assert_int_equal(worker_submit_for(pool, later[i].owner, work, done, &jobs[n++]), 0);
	}
	sem_post(&hold);
	reap_until(pool, 14);
	const int want[14] = { 0, 1, 100, 200, 2, 201, 3, 4, 5, 6, 7, 8, 9, 10 };
	for (int i = 0; i < 14; i++)
		assert_int_equal(order[i], want[i]);
	worker_pool_free(pool);
	sem_destroy(&started);
	sem_destroy(&hold);
}

/* The queue holds queue_max jobs, counting those running and those done
 * but not reaped; past it, submit says no and runs nothing. */
static void
test_queue_is_bounded(void **state)
{
	(void)state;
	sem_t hold;
	sem_init(&hold, 0, 0);
	struct worker_pool *pool = worker_pool_new(2, 4);
	assert_non_null(pool);
	struct job jobs[5];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){ .input = i, .hold = &hold };
		assert_int_equal(worker_submit(pool, work, done, &jobs[i]), 0);
	}
	jobs[4] = (struct job){ .input = 4 };
	errno = 0;
	assert_int_equal(worker_submit(pool, work, done, &jobs[4]), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(worker_pool_jobs(pool), 4);
	for (int i = 0; i < 4; i++)
		sem_post(&hold);
	reap_until(pool, 4);
	assert_int_equal(jobs[4].done_calls, 0);
	/* Reaped, they make room again. */
	assert_int_equal(worker_submit(pool, work, done, &jobs[4]), 0);
	reap_until(pool, 1);
	assert_int_equal(jobs[4].output, 8);
	worker_pool_free(pool);
	sem_destroy(&hold);
}

struct stopper {
	struct worker_pool *pool;
};

static void *
stop_pool(void *arg)
{
	struct stopper *s = arg;
	worker_pool_free(s->pool);
	return NULL;
}

static void
noop(void *arg)
{
	(void)arg;
}

static int extra_done, extra_cancelled;

static void
extra_done_fn(void *arg, int cancelled)
{
	(void)arg;
	extra_done++;
	extra_cancelled += cancelled;
}

/* Stopping: the job running is waited for and done normally; those
 * waiting never run and are done as cancelled; every done runs once. */
static void
test_stop_cancels_waiting_waits_running(void **state)
{
	(void)state;
	sem_t hold, started;
	sem_init(&hold, 0, 0);
	sem_init(&started, 0, 0);
	struct worker_pool *pool = worker_pool_new(1, 64);
	assert_non_null(pool);
	struct job jobs[5];
	for (int i = 0; i < 5; i++) {
		jobs[i] = (struct job){ .input = i + 1, .hold = i == 0 ? &hold : NULL,
		                        .started = i == 0 ? &started : NULL };
		assert_int_equal(worker_submit(pool, work, done, &jobs[i]), 0);
	}
	/* Stop only once the first job runs: a job not yet taken by the
	 * thread would be cancelled, as it should be. */
	sem_wait(&started);
	extra_done = extra_cancelled = 0;
	int extra = 0;
	/* The first job holds the only thread; stop the pool from another. */
	struct stopper s = { pool };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stop_pool, &s), 0);
	/* Until submit says the pool is stopping, what it takes will be
	 * cancelled with the others. */
	for (;;) {
		if (worker_submit(pool, noop, extra_done_fn, NULL) == 0)
			extra++;
		else if (errno == ECANCELED)
			break;
		sched_yield();
	}
	sem_post(&hold);
	pthread_join(t, NULL);
	assert_int_equal(jobs[0].done_calls, 1);
	assert_int_equal(jobs[0].cancelled, 0);
	assert_int_equal(jobs[0].output, 2);
	for (int i = 1; i < 5; i++) {
		assert_int_equal(jobs[i].done_calls, 1);
		assert_int_equal(jobs[i].cancelled, 1);
		assert_int_equal(jobs[i].output, 0);  /* never ran */
	}
	assert_int_equal(extra_done, extra);
	assert_int_equal(extra_cancelled, extra);
	sem_destroy(&hold);
	sem_destroy(&started);
}

/* Jobs done but not reaped when the pool stops are done then. */
static void
test_stop_runs_unreaped_dones(void **state)
{
	(void)state;
	struct worker_pool *pool = worker_pool_new(2, 8);
	assert_non_null(pool);
	struct job jobs[8];
	for (int i = 0; i < 8; i++) {
		jobs[i] = (struct job){ .input = i };
		assert_int_equal(worker_submit(pool, work, done, &jobs[i]), 0);
	}
	worker_pool_free(pool);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(jobs[i].done_calls, 1);
		if (!jobs[i].cancelled)
			assert_int_equal(jobs[i].output, 2 * i);
	}
}

static void
test_bad_sizes(void **state)
{
	(void)state;
	assert_null(worker_pool_new(0, 8));
	assert_null(worker_pool_new(WORKER_THREADS_MAX + 1, 8));
	assert_null(worker_pool_new(1, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_work_on_threads_done_on_caller),
		cmocka_unit_test(test_one_thread_keeps_order),
		cmocka_unit_test(test_owners_take_turns),
		cmocka_unit_test(test_queue_is_bounded),
		cmocka_unit_test(test_stop_cancels_waiting_waits_running),
		cmocka_unit_test(test_stop_runs_unreaped_dones),
		cmocka_unit_test(test_bad_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
