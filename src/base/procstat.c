#include "base/procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* /proc/self/stat is one line of a few hundred bytes. */
#define PROCSTAT_LINE_MAX 1024

/* The fields of /proc/self/stat after the command's ")", numbered as
 * proc(5) numbers them: the state is field 3. */
#define FIELD_UTIME 14
#define FIELD_STIME 15
#define FIELD_STARTTIME 22
#define FIELD_VSIZE 23
#define FIELD_RSS 24

/* The system's boot time (btime in /proc/stat), in seconds since the
 * epoch; 0 when unknown. */
static uint64_t
boot_time(void)
{
	FILE *f = fopen("/proc/stat", "re");
	if (f == NULL)
		return 0;
	char line[256];
	uint64_t btime = 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "btime ", 6) == 0) {
			btime = strtoull(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return btime;
}

static int
read_stat(struct procstat *out)
{
	FILE *f = fopen("/proc/self/stat", "re");
	if (f == NULL)
		return -1;
	char line[PROCSTAT_LINE_MAX];
	char *ok = fgets(line, sizeof line, f);
	fclose(f);
	/* The command may hold spaces and parentheses: fields start after
	 * the last ')'. */
	char *p = ok != NULL ? strrchr(line, ')') : NULL;
	if (p == NULL)
		return -1;
	p++;
	double tick = (double)sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t utime = 0, stime = 0, start = 0;
	for (int field = 3; field <= FIELD_RSS; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			return -1;
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (field == FIELD_UTIME)
			utime = v;
		else if (field == FIELD_STIME)
			stime = v;
		else if (field == FIELD_STARTTIME)
			start = v;
		else if (field == FIELD_VSIZE)
			out->vsize_bytes = v;
		else if (field == FIELD_RSS)
			out->rss_bytes = v * (uint64_t)(page > 0 ? page : 4096);
		p = strchr(p, ' ');
		if (p == NULL)
			p = end; /* the last field */
	}
	if (tick > 0) {
		out->cpu_seconds = (double)(utime + stime) / tick;
		out->start_time_seconds = (double)boot_time() + (double)start / tick;
	}
	return 0;
}

static int
count_fds(uint64_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	uint64_t count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			count++;
	closedir(d);
	*n = count > 0 ? count - 1 : 0; /* not the one opendir holds */
	return 0;
}

int
procstat_read(struct procstat *out)
{
	*out = (struct procstat){ 0 };
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		out->max_fds = rl.rlim_cur;
	int rc = read_stat(out);
	if (count_fds(&out->open_fds) < 0)
		rc = -1;
	return rc;
}
