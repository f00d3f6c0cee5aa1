#include "wait.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

long
wait_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
wait_fd(int fd, short events, long deadline_ms,
    const volatile sig_atomic_t *cancel)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		if (cancel != NULL && *cancel)
			return EINTR;
		long left = deadline_ms - wait_now_ms();
		if (left <= 0)
			return ETIMEDOUT;
		int n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return errno;
	}
}
