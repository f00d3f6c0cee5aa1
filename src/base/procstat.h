/* What the kernel says of this process (Linux's /proc/self), for the
 * metrics' standard process_* families: memory, CPU time, descriptors,
 * start time. Reading procfs does not block on a disk. */
#ifndef PARLEY_PROCSTAT_H
#define PARLEY_PROCSTAT_H

#include <stdint.h>

struct procstat {
	uint64_t rss_bytes;
	uint64_t vsize_bytes;
	double cpu_seconds;          /* user and system */
	double start_time_seconds;   /* since the Unix epoch */
	uint64_t open_fds;
	uint64_t max_fds;            /* the soft limit */
};

/* 0, or -1 when /proc/self could not be read (out holds what could). */
int procstat_read(struct procstat *out);

#endif
