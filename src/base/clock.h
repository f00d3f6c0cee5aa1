/* The one clock of the chat: the wall time in milliseconds, for msgids,
 * server-time, signon and idle times, topics, bans and invitations. A
 * test sets a fake one. (The loop keeps its own monotonic clock, for
 * timers, cached once a pass.) */
#ifndef PARLEY_CLOCK_H
#define PARLEY_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): may go back. */
int64_t clock_now_ms(void);
/* clock_now_ms() / 1000, for what is kept in seconds. */
int64_t clock_now_s(void);
/* Milliseconds on a clock that never goes back (CLOCK_MONOTONIC). */
uint64_t clock_mono_ms(void);
/* The same in microseconds, for durations (metrics' histograms). */
uint64_t clock_mono_us(void);

/* A condition variable whose timed waits run on the monotonic clock (a
 * wall clock set back would stretch them: a worker waiting 5 s for the
 * search index could wait an hour), and such a wait's deadline, ms from
 * now. */
void clock_cond_init(pthread_cond_t *c);
void clock_deadline_in(struct timespec *ts, uint64_t ms);

/* Tests: clock_now_ms (and clock_now_s) return now() from here on; NULL
 * gives back the real clock. */
void clock_fake(int64_t (*now)(void));

#endif
