/* Time for the client, and waiting on one socket before its loop runs:
 * connecting and the TLS handshake each have a deadline, and a signal
 * (the user giving up) cuts them short. */
#ifndef PARLEY_WAIT_H
#define PARLEY_WAIT_H

#include <signal.h>

/* Milliseconds on CLOCK_MONOTONIC. */
long wait_now_ms(void);

/* Waits until fd is ready for events (POLLIN, POLLOUT) or has an error.
 * Returns 0, or an errno value: ETIMEDOUT past deadline_ms, EINTR once
 * *cancel is nonzero, or poll's own. */
int wait_fd(int fd, short events, long deadline_ms,
    const volatile sig_atomic_t *cancel);

#endif
