/* The event loop: file events, timers and a before-sleep hook, in the manner
 * of Redis's ae. Everything else in parleyd runs from its callbacks. The
 * epoll calls live only in loop.c so another backend (kqueue) can be added
 * behind this interface. */
#ifndef PARLEY_LOOP_H
#define PARLEY_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "base/histogram.h"

enum { LOOP_READ = 1, LOOP_WRITE = 2, LOOP_HUP = 4 };

struct loop;
struct loop_io;
struct loop_timer;

/* events is a mask of LOOP_READ / LOOP_WRITE. An error or hang-up comes as
 * LOOP_READ | LOOP_HUP, whatever the owner watches, so the owner finds out
 * by reading; an owner that is not reading must act on LOOP_HUP itself, or
 * the level-triggered loop calls it again at once. An io watching nothing
 * (mask 0) is out of the kernel's set and gets no calls at all. */
typedef void loop_io_fn(struct loop *loop, struct loop_io *io, unsigned events);
typedef void loop_timer_fn(struct loop *loop, struct loop_timer *timer);
typedef void loop_hook_fn(struct loop *loop, void *data);

/* Embedded in its owner (a conn, a listener); the owner keeps it alive
 * until loop_io_del. */
struct loop_io {
	int fd;
	unsigned mask;       /* LOOP_READ | LOOP_WRITE watched; 0: not in the set */
	loop_io_fn *cb;
	void *data;          /* owner, for the callback */
};

/* Embedded in its owner too; a one-shot timer, restarted by its owner. */
struct loop_timer {
	uint64_t when;       /* loop_now() value at which it fires */
	size_t slot;         /* index in the heap, or SIZE_MAX when stopped */
	loop_timer_fn *cb;
	void *data;
};

struct loop *loop_new(void);
void loop_free(struct loop *loop);

int loop_io_add(struct loop *loop, struct loop_io *io, int fd, unsigned mask,
    loop_io_fn *cb, void *data);
int loop_io_set(struct loop *loop, struct loop_io *io, unsigned mask);
void loop_io_del(struct loop *loop, struct loop_io *io);
/* Closes io's fd, which takes it out of the kernel's set too (an fd that
 * is not shared): one system call where loop_io_del and close are two. */
void loop_io_close(struct loop *loop, struct loop_io *io);

void loop_timer_init(struct loop_timer *timer, loop_timer_fn *cb, void *data);
void loop_timer_start(struct loop *loop, struct loop_timer *timer, uint64_t delay_ms);
/* The same at a loop_now() time rather than after a delay. */
void loop_timer_at(struct loop *loop, struct loop_timer *timer, uint64_t when);
void loop_timer_stop(struct loop *loop, struct loop_timer *timer);
int loop_timer_active(const struct loop_timer *timer);

/* Called once per iteration after the events are handled, before waiting:
 * where output is flushed in batches and dead connections are reaped. */
void loop_set_before_sleep(struct loop *loop, loop_hook_fn *fn, void *data);

/* From now on each pass (from the wake-up to the next wait, the
 * before-sleep step included) is timed into a histogram, for the
 * metrics: one more look at the clock a pass. */
void loop_measure_passes(struct loop *loop);
/* The passes timed so far, in microseconds (none unless measured). */
const struct histogram *loop_passes(const struct loop *loop);

/* Monotonic milliseconds, read once per iteration. */
uint64_t loop_now(const struct loop *loop);
/* Reads the clock again, for work that must watch it within one
 * iteration (a deadline); loop_now then says the same. */
uint64_t loop_update_now(struct loop *loop);

int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

#endif
