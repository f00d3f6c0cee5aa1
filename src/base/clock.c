#include "base/clock.h"

#include <time.h>

static int64_t (*fake_now)(void);

int64_t
clock_now_ms(void)
{
	if (fake_now != NULL)
		return fake_now();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_now_s(void)
{
	int64_t ms = clock_now_ms();
	/* Floor, so a fake clock before 1970 still counts whole seconds down. */
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

uint64_t
clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
clock_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
clock_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t mono;
	pthread_condattr_init(&mono);
	pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
	pthread_cond_init(c, &mono);
	pthread_condattr_destroy(&mono);
}

void
clock_deadline_in(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void
clock_fake(int64_t (*now)(void))
{
	fake_now = now;
}
