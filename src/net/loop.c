#include "net/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256
/* The longest single wait, in ms: a far timer's wait then always fits
 * epoll_wait's int, for the cost of a wake-up a minute. */
#define LOOP_WAIT_MAX_MS 60000
/* Slots the timer heap starts with; it doubles from there. */
#define LOOP_TIMERS_FIRST 64

struct loop {
	int epfd;
	int running;
	uint64_t now;
	struct loop_timer **heap;   /* min-heap on when */
	size_t nheap, capheap;
	loop_hook_fn *before_sleep;
	void *before_sleep_data;
	int measure;                /* passes are timed into passes */
	struct histogram passes;    /* in microseconds */
};

static uint64_t
clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t
clock_ms(void)
{
	return clock_us() / 1000u;
}

struct loop *
loop_new(void)
{
	struct loop *loop = calloc(1, sizeof *loop);
	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->now = clock_ms();
	histogram_init(&loop->passes, histogram_latency_us, histogram_latency_us_n);
	return loop;
}

void
loop_free(struct loop *loop)
{
	if (loop == NULL)
		return;
	close(loop->epfd);
	free(loop->heap);
	free(loop);
}

static uint32_t
to_epoll(unsigned mask)
{
	return (mask & LOOP_READ ? EPOLLIN : 0) | (mask & LOOP_WRITE ? EPOLLOUT : 0);
}

int
loop_io_add(struct loop *loop, struct loop_io *io, int fd, unsigned mask,
    loop_io_fn *cb, void *data)
{
	io->fd = fd;
	io->mask = 0;
	io->cb = cb;
	io->data = data;
	return loop_io_set(loop, io, mask);
}

/* epoll reports errors and hang-ups even for an fd that asks for no
 * events, again and again while they last: an fd that wants nothing is
 * taken out of the set instead, and put back when it wants something. */
int
loop_io_set(struct loop *loop, struct loop_io *io, unsigned mask)
{
	if (io->mask == mask)
		return 0;
	struct epoll_event ev = { .events = to_epoll(mask), .data.ptr = io };
	int op = mask == 0 ? EPOLL_CTL_DEL : io->mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(loop->epfd, op, io->fd, &ev) < 0)
		return -1;
	io->mask = mask;
	return 0;
}

void
loop_io_del(struct loop *loop, struct loop_io *io)
{
	loop_io_set(loop, io, 0);
}

void
loop_io_close(struct loop *loop, struct loop_io *io)
{
	(void)loop;
	close(io->fd);
	io->mask = 0;
}

/* Timers: a binary min-heap of pointers; each timer knows its slot so it can
 * be stopped in O(log n). */

static void
heap_place(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->slot = i;
}

static void
heap_up(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (loop->heap[parent]->when <= t->when)
			break;
		heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_place(loop, i, t);
}

static void
heap_down(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= loop->nheap)
			break;
		if (child + 1 < loop->nheap &&
		    loop->heap[child + 1]->when < loop->heap[child]->when)
			child++;
		if (t->when <= loop->heap[child]->when)
			break;
		heap_place(loop, i, loop->heap[child]);
		i = child;
	}
	heap_place(loop, i, t);
}

void
loop_timer_init(struct loop_timer *timer, loop_timer_fn *cb, void *data)
{
	timer->when = 0;
	timer->slot = SIZE_MAX;
	timer->cb = cb;
	timer->data = data;
}

int
loop_timer_active(const struct loop_timer *timer)
{
	return timer->slot != SIZE_MAX;
}

void
loop_timer_stop(struct loop *loop, struct loop_timer *timer)
{
	if (!loop_timer_active(timer))
		return;
	size_t i = timer->slot;
	timer->slot = SIZE_MAX;
	struct loop_timer *last = loop->heap[--loop->nheap];
	if (last == timer)
		return;
	heap_place(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->slot);
}

void
loop_timer_start(struct loop *loop, struct loop_timer *timer, uint64_t delay_ms)
{
	loop_timer_at(loop, timer, loop->now + delay_ms);
}

void
loop_timer_at(struct loop *loop, struct loop_timer *timer, uint64_t when)
{
	loop_timer_stop(loop, timer);
	if (loop->nheap == loop->capheap) {
		size_t cap = loop->capheap ? loop->capheap * 2 : LOOP_TIMERS_FIRST;
		struct loop_timer **heap = realloc(loop->heap, cap * sizeof *heap);
		if (heap == NULL)
			abort(); /* a timer that silently never fires is worse */
		loop->heap = heap;
		loop->capheap = cap;
	}
	timer->when = when;
	loop->heap[loop->nheap] = timer;
	timer->slot = loop->nheap++;
	heap_up(loop, timer->slot);
}

void
loop_set_before_sleep(struct loop *loop, loop_hook_fn *fn, void *data)
{
	loop->before_sleep = fn;
	loop->before_sleep_data = data;
}

void
loop_measure_passes(struct loop *loop)
{
	loop->measure = 1;
}

const struct histogram *
loop_passes(const struct loop *loop)
{
	return &loop->passes;
}

uint64_t
loop_now(const struct loop *loop)
{
	return loop->now;
}

uint64_t
loop_update_now(struct loop *loop)
{
	return loop->now = clock_ms();
}

void
loop_stop(struct loop *loop)
{
	loop->running = 0;
}

static void
run_timers(struct loop *loop)
{
	while (loop->nheap > 0 && loop->heap[0]->when <= loop->now) {
		struct loop_timer *t = loop->heap[0];
		loop_timer_stop(loop, t);
		t->cb(loop, t);
	}
}

static int
next_timeout(const struct loop *loop)
{
	if (loop->nheap == 0)
		return -1;
	uint64_t when = loop->heap[0]->when;
	if (when <= loop->now)
		return 0;
	uint64_t wait = when - loop->now;
	return wait > LOOP_WAIT_MAX_MS ? LOOP_WAIT_MAX_MS : (int)wait;
}

int
loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];

	uint64_t woke = 0;  /* when this pass began, in us (measured only) */
	loop->running = 1;
	while (loop->running) {
		if (loop->before_sleep)
			loop->before_sleep(loop, loop->before_sleep_data);
		if (!loop->running)
			break;
		if (loop->measure && woke != 0)
			histogram_observe(&loop->passes, clock_us() - woke);
		int n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, next_timeout(loop));
		if (n < 0 && errno != EINTR)
			return -1;
		if (loop->measure) {
			woke = clock_us();
			loop->now = woke / 1000u;
		} else
			loop->now = clock_ms();
		for (int i = 0; i < n; i++) {
			struct loop_io *io = events[i].data.ptr;
			unsigned got = 0;
			if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				got |= LOOP_READ;
			if (events[i].events & (EPOLLERR | EPOLLHUP))
				got |= LOOP_HUP;
			if (events[i].events & EPOLLOUT)
				got |= LOOP_WRITE;
			/* An earlier callback of this round may have stopped it. */
			got &= io->mask ? io->mask | LOOP_READ | LOOP_HUP : 0;
			if (got && io->cb)
				io->cb(loop, io, got);
		}
		run_timers(loop);
	}
	return 0;
}
