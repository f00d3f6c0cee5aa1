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
clock_fake(int64_t (*now)(void))
{
	fake_now = now;
}
