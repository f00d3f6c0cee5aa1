/* Slow work off the loop, as Redis's bio threads do it: a few threads
 * take jobs from a bounded queue and run their work; each job's done
 * then runs on the loop's thread, which an eventfd wakes. The pool knows
 * no loop: its owner watches worker_pool_fd and calls worker_pool_reap
 * when it is readable.
 *
 * A job's work runs on a pool thread and must touch nothing the loop
 * owns (no conn, no hub, no wire shared with them): only what its arg
 * holds. Its done runs on the loop, in the order the jobs finished, and
 * may touch anything; it also frees what arg holds. */
#ifndef PARLEY_WORKER_H
#define PARLEY_WORKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct worker_pool;

typedef void worker_fn(void *arg);
/* cancelled: the pool stopped before the job ran (work was not called). */
typedef void worker_done_fn(void *arg, int cancelled);

#define WORKER_THREADS_MAX 64
/* Jobs a pool holds at once, waiting, running or done but not reaped. */
#define WORKER_QUEUE_MAX 1024

/* A pool of nthreads (1 to WORKER_THREADS_MAX) holding at most
 * queue_max jobs; NULL (errno set) when it cannot be made. */
/* A thread that takes no signal: they are the loop's (a signalfd), and
 * one landing on another thread would end the process the default way.
 * pthread_create's result. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

struct worker_pool *worker_pool_new(unsigned nthreads, size_t queue_max);
/* Readable when some job is done: then call worker_pool_reap. */
int worker_pool_fd(const struct worker_pool *pool);
/* Queues a job. -1 when the pool holds queue_max jobs already (errno
 * EAGAIN), or is stopping (ECANCELED), or out of memory: then nothing of
 * it runs, and arg is still the caller's. */
int worker_submit(struct worker_pool *pool, worker_fn *work, worker_done_fn *done,
    void *arg);
/* As worker_submit, for owner (a client's address, say): the threads take
 * each owner's jobs in turn, first in first out within an owner's. The
 * owner 0 is worker_submit's. */
int worker_submit_for(struct worker_pool *pool, uintptr_t owner, worker_fn *work,
    worker_done_fn *done, void *arg);
/* On the loop: runs the done of every job that has finished. Returns
 * how many. */
size_t worker_pool_reap(struct worker_pool *pool);
/* Jobs held now (waiting, running, or done and not reaped). */
size_t worker_pool_jobs(struct worker_pool *pool);
/* Stops the pool: jobs not started are cancelled, jobs running are
 * waited for; every job's done runs (cancelled or not), then the
 * threads are joined and everything freed. */
void worker_pool_free(struct worker_pool *pool);

#endif
