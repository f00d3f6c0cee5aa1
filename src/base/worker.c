/* The worker pool. One mutex guards the two queues (jobs waiting, jobs
 * done); a condition variable wakes idle threads; an eventfd tells the
 * loop that the done queue is not empty. Jobs wait in turns: one queue
 * per owner with jobs waiting, and the threads take the first job of
 * each owner in turn (round robin), so an owner with a thousand jobs
 * queued delays another's one by one job, not a thousand. A job is one allocation, moved
 * from queue to queue, freed on the loop after its done. The threads
 * start with the first job: until then the process has one thread, and
 * glibc spares it the locked instructions a second one costs on every
 * malloc, free and system call of the loop (a server without history
 * or accounts may never need them). */
#include "base/worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
	worker_fn *work;
	worker_done_fn *done;
	void *arg;
	int cancelled;
	uintptr_t owner;
	struct job *next;             /* its owner's next job, or the done queue's */
	/* The first waiting job of an owner stands for it in the turns: */
	struct job *turn_next;        /* the next owner's first job */
	struct job *last;             /* its owner's last waiting job */
};

/* A FIFO of jobs. */
struct job_queue {
	struct job *head, *tail;
};

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;          /* a job is waiting, or the pool stops */
	struct job *turn_head, *turn_tail; /* submitted, not started: each owner's
	                                    * first job, in turn (turns_push) */
	struct job_queue done;        /* finished (or cancelled), for the loop */
	size_t jobs;                  /* submitted and not yet reaped */
	size_t queue_max;
	int stopping;
	int efd;                      /* eventfd: done is not empty */
	unsigned want;                /* threads the first job starts */
	unsigned nthreads;            /* started */
	pthread_t threads[WORKER_THREADS_MAX];
};

static void
queue_push(struct job_queue *q, struct job *j)
{
	j->next = NULL;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

/* j, its owner's first waiting job, takes the last turn. */
static void
turns_append(struct worker_pool *pool, struct job *j)
{
	j->turn_next = NULL;
	if (pool->turn_tail != NULL)
		pool->turn_tail->turn_next = j;
	else
		pool->turn_head = j;
	pool->turn_tail = j;
}

/* j waits behind its owner's jobs, or takes a turn of its own: a walk
 * over the owners with jobs waiting (at most queue_max). */
static void
turns_push(struct worker_pool *pool, struct job *j)
{
	j->next = NULL;
	for (struct job *h = pool->turn_head; h != NULL; h = h->turn_next) {
		if (h->owner == j->owner) {
			h->last->next = j;
			h->last = j;
			return;
		}
	}
	j->last = j;
	turns_append(pool, j);
}

/* The first owner's first job; its next job goes to the end of the turns. */
static struct job *
turns_pop(struct worker_pool *pool)
{
	struct job *j = pool->turn_head;
	if (j == NULL)
		return NULL;
	if ((pool->turn_head = j->turn_next) == NULL)
		pool->turn_tail = NULL;
	struct job *n = j->next;
	if (n != NULL) {
		n->last = j->last;
		turns_append(pool, n);
	}
	j->next = NULL;
	return j;
}

/* The whole queue, emptied. */
static struct job *
queue_take(struct job_queue *q)
{
	struct job *j = q->head;
	q->head = q->tail = NULL;
	return j;
}

static void
notify(struct worker_pool *pool)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is already far from zero, and the loop will
	 * look. Nothing else can fail on an eventfd we own. */
	ssize_t n = write(pool->efd, &one, sizeof one);
	(void)n;
}

static void *
worker_main(void *data)
{
	struct worker_pool *pool = data;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct job *j;
		while ((j = turns_pop(pool)) == NULL && !pool->stopping)
			pthread_cond_wait(&pool->wake, &pool->lock);
		if (j == NULL)
			break;
		pthread_mutex_unlock(&pool->lock);
		j->work(j->arg);
		pthread_mutex_lock(&pool->lock);
		int was_empty = pool->done.head == NULL;
		queue_push(&pool->done, j);
		if (was_empty)
			notify(pool);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

struct worker_pool *
worker_pool_new(unsigned nthreads, size_t queue_max)
{
	if (nthreads == 0 || nthreads > WORKER_THREADS_MAX || queue_max == 0) {
		errno = EINVAL;
		return NULL;
	}
	struct worker_pool *pool = calloc(1, sizeof *pool);
	if (pool == NULL)
		return NULL;
	pool->queue_max = queue_max;
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0) {
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pool->want = nthreads;
	return pool;
}

int
thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	/* The thread inherits this mask. */
	sigset_t all, was;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &was);
	int err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	return err;
}

/* The threads, at the first job. 0 when at least one runs. */
static int
start_threads(struct worker_pool *pool)
{
	int err = 0;
	while (pool->nthreads < pool->want && err == 0)
		if ((err = thread_start(&pool->threads[pool->nthreads], worker_main,
		    pool)) == 0)
			pool->nthreads++;
	if (pool->nthreads == 0) {
		errno = err;  /* the next job tries again */
		return -1;
	}
	pool->want = pool->nthreads;  /* fewer than asked: no retry each job */
	return 0;
}

int
worker_pool_fd(const struct worker_pool *pool)
{
	return pool->efd;
}

int
worker_submit(struct worker_pool *pool, worker_fn *work, worker_done_fn *done, void *arg)
{
	return worker_submit_for(pool, 0, work, done, arg);
}

int
worker_submit_for(struct worker_pool *pool, uintptr_t owner, worker_fn *work,
    worker_done_fn *done, void *arg)
{
	if (pool->nthreads == 0 && start_threads(pool) < 0)
		return -1;
	struct job *j = malloc(sizeof *j);
	if (j == NULL)
		return -1;
	*j = (struct job){ .work = work, .done = done, .arg = arg, .owner = owner };
	pthread_mutex_lock(&pool->lock);
	if (pool->stopping || pool->jobs >= pool->queue_max) {
		int err = pool->stopping ? ECANCELED : EAGAIN;
		pthread_mutex_unlock(&pool->lock);
		free(j);
		errno = err;
		return -1;
	}
	pool->jobs++;
	turns_push(pool, j);
	pthread_cond_signal(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

/* Runs and frees a list of jobs taken from the done queue. */
static size_t
run_done(struct worker_pool *pool, struct job *j)
{
	size_t n = 0;
	while (j != NULL) {
		struct job *next = j->next;
		j->done(j->arg, j->cancelled);
		free(j);
		j = next;
		n++;
	}
	pthread_mutex_lock(&pool->lock);
	pool->jobs -= n;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

size_t
worker_pool_reap(struct worker_pool *pool)
{
	uint64_t count;
	/* Cleared before the queue is taken: a job done after this read
	 * writes again, so none is left unseen. */
	ssize_t r = read(pool->efd, &count, sizeof count);
	(void)r;
	pthread_mutex_lock(&pool->lock);
	struct job *j = queue_take(&pool->done);
	pthread_mutex_unlock(&pool->lock);
	return run_done(pool, j);
}

size_t
worker_pool_jobs(struct worker_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	size_t n = pool->jobs;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

void
worker_pool_free(struct worker_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	struct job *j;
	while ((j = turns_pop(pool)) != NULL) {
		j->cancelled = 1;
		queue_push(&pool->done, j);
	}
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	/* The threads are gone: what they finished, and what never ran. */
	run_done(pool, queue_take(&pool->done));
	close(pool->efd);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
