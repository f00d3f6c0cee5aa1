/* naive-w4: W4 (connect, register and join N IRC clients) the way a
 * simple, independent load generator does it, to set against parley-bench.
 *
 * Issue 17 saw another generator need 7.6 s (5.4 s a second time) for
 * what parley-bench did in 1.4 s. This one mimics such a generator on
 * purpose, so that both can be measured here against the same server:
 *
 *   - every client connects from ONE source address, the kernel choosing
 *     its port (no bind, unlike parley-bench's spread over 127.0.0.x);
 *   - a pool of threads, blocking sockets, one client at a time per thread:
 *     connect(), "NICK" and "USER" as two writes, read lines until the end
 *     of the MOTD (376 or 422; --join-after 001 for a server that sends
 *     none, as bench/ceiling), "JOIN", read lines until 366, next client;
 *   - answers PING while it waits; reads nothing once a client has joined
 *     (what its room says after that stays in the kernel's buffers).
 *
 * It reports the time from the first connect() to the last 366, the time
 * spent inside connect() (the kernel's ephemeral port search from one
 * source address, the generator's own cost), and its CPU, as one JSON
 * line; then holds every client open --hold seconds and closes them.
 *
 *     naive-w4 [--host 127.0.0.1] --port P [--clients 19000] [--rooms 1000]
 *              [--threads 200] [--join-after motd|001] [--hold 1]
 *
 * Client i is nick "nv<i>" in room "#bench<i % rooms>", as parley-bench's.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8704   /* IRC's longest line, with tags */
#define NAME_MAX_BYTES 64

struct options {
	const char *host;
	const char *port;
	unsigned clients, rooms, threads;
	int join_after_001;
	double hold;
};

static struct options opt = {
	.host = "127.0.0.1", .port = NULL, .clients = 19000, .rooms = 1000,
	.threads = 200, .join_after_001 = 0, .hold = 1,
};
static struct addrinfo *server;
static int *fds;                        /* one per client, -1 until joined */
static atomic_uint next_client;
static atomic_uint joined, failed;
static atomic_uint_fast64_t connect_ns; /* summed over every connect() */
static atomic_uint_fast64_t connect_ns_max;
/* connect() time by quarter of the clients in the order they connect:
 * the kernel's port search from one address grows with the ports in use. */
#define QUARTERS 4
static atomic_uint_fast64_t quarter_ns[QUARTERS];

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A blocking socket's line reader: one per thread, reset per client. */
struct reader {
	char buf[2 * LINE_MAX_BYTES];
	size_t len;
};

/* The next line (CR LF cut off) into line, or -1 when the server closed
 * or failed. */
static int
read_line(int fd, struct reader *r, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - r->buf);
			size_t keep = n > 0 && r->buf[n - 1] == '\r' ? n - 1 : n;
			if (keep >= cap)
				keep = cap - 1;
			memcpy(line, r->buf, keep);
			line[keep] = '\0';
			r->len -= n + 1;
			memmove(r->buf, nl + 1, r->len);
			return 0;
		}
		if (r->len == sizeof r->buf)
			r->len = 0;  /* a line longer than IRC allows: dropped */
		ssize_t got = recv(fd, r->buf + r->len, sizeof r->buf - r->len, 0);
		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			return -1;
		}
		r->len += (size_t)got;
	}
}

static int
send_all(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The command of ":src CMD ..." or "CMD ...", and the rest after it. */
static const char *
command_of(const char *line, const char **rest)
{
	if (*line == '@' && (line = strchr(line, ' ')) != NULL)
		line++;
	if (line != NULL && *line == ':' && (line = strchr(line, ' ')) != NULL)
		line++;
	if (line == NULL)
		return "";
	const char *sp = strchr(line, ' ');
	*rest = sp != NULL ? sp + 1 : "";
	return line;
}

static int
is_command(const char *cmd, const char *name)
{
	size_t n = strlen(name);
	return strncmp(cmd, name, n) == 0 && (cmd[n] == ' ' || cmd[n] == '\0');
}

/* Reads until one of the numerics in want (NULL-ended) comes; answers
 * PING meanwhile. 0, or -1 with why. */
static int
wait_for(int fd, struct reader *r, const char *const *want, const char **why)
{
	char line[LINE_MAX_BYTES];
	for (;;) {
		if (read_line(fd, r, line, sizeof line) < 0) {
			*why = "the server closed the connection";
			return -1;
		}
		const char *rest = "";
		const char *cmd = command_of(line, &rest);
		if (is_command(cmd, "PING")) {
			char pong[LINE_MAX_BYTES + 8];
			snprintf(pong, sizeof pong, "PONG %s\r\n", rest);
			if (send_all(fd, pong) < 0) {
				*why = "send failed";
				return -1;
			}
			continue;
		}
		if (is_command(cmd, "ERROR") || is_command(cmd, "432") || is_command(cmd, "433") ||
		    is_command(cmd, "451") || is_command(cmd, "465") || is_command(cmd, "471") ||
		    is_command(cmd, "473") || is_command(cmd, "474") || is_command(cmd, "475")) {
			*why = "refused";
			return -1;
		}
		for (const char *const *w = want; *w != NULL; w++)
			if (is_command(cmd, *w))
				return 0;
	}
}

/* One client, start to joined; its socket stays open in fds[i]. */
static int
run_client(unsigned i, struct reader *r, const char **why)
{
	static const char *const end_of_motd[] = { "376", "422", NULL };
	static const char *const welcome[] = { "001", NULL };
	static const char *const end_of_names[] = { "366", NULL };
	int fd = socket(server->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	uint64_t t0 = now_ns();
	int rc = connect(fd, server->ai_addr, server->ai_addrlen);
	uint64_t took = now_ns() - t0;
	atomic_fetch_add(&connect_ns, took);
	atomic_fetch_add(&quarter_ns[(uint64_t)i * QUARTERS / opt.clients], took);
	uint64_t max = atomic_load(&connect_ns_max);
	while (took > max && !atomic_compare_exchange_weak(&connect_ns_max, &max, took))
		;
	if (rc < 0) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	char line[3 * NAME_MAX_BYTES];
	r->len = 0;
	snprintf(line, sizeof line, "NICK nv%u\r\n", i);
	int bad = send_all(fd, line) < 0;
	snprintf(line, sizeof line, "USER nv%u 0 * :naive-w4\r\n", i);
	bad = bad || send_all(fd, line) < 0;
	if (bad) {
		*why = "send failed";
	} else if (wait_for(fd, r, opt.join_after_001 ? welcome : end_of_motd, why) == 0) {
		snprintf(line, sizeof line, "JOIN #bench%u\r\n", i % opt.rooms);
		if (send_all(fd, line) < 0)
			*why = "send failed";
		else if (wait_for(fd, r, end_of_names, why) == 0) {
			fds[i] = fd;
			return 0;
		}
	}
	close(fd);
	return -1;
}

static void *
worker(void *arg)
{
	(void)arg;
	struct reader *r = malloc(sizeof *r);
	if (r == NULL)
		return NULL;
	for (;;) {
		unsigned i = atomic_fetch_add(&next_client, 1);
		if (i >= opt.clients)
			break;
		const char *why = NULL;
		if (run_client(i, r, &why) == 0)
			atomic_fetch_add(&joined, 1);
		else if (atomic_fetch_add(&failed, 1) < 5)
			fprintf(stderr, "naive-w4: client %u: %s\n", i, why);
	}
	free(r);
	return NULL;
}

static void
usage(FILE *f, int status)
{
	fprintf(f,
"usage: naive-w4 --port P [options]\n"
"W4 as a simple independent load generator does it, to compare with\n"
"parley-bench: every client from ONE source address (the kernel's port\n"
"search), a pool of threads with blocking sockets, NICK and USER, wait for\n"
"the end of the MOTD, JOIN, wait for 366, next client. Prints one JSON line:\n"
"connect_s (first connect to last 366), connect_call_s (time inside\n"
"connect(), summed over threads; connect_call_us_by_quarter, its mean per\n"
"quarter of the clients in connect order), cpu_s; then holds the clients.\n"
"  --host H          server address (default 127.0.0.1)\n"
"  --port P          server port (required)\n"
"  --clients N       clients (default 19000)\n"
"  --rooms K         client i joins #bench<i %% K> (default 1000)\n"
"  --threads T       clients being set up at once (default 200)\n"
"  --join-after W    motd (376/422, default) or 001 (a server with no MOTD)\n"
"  --hold S          seconds to keep everyone connected afterwards (default 1)\n");
	exit(status);
}

static unsigned
parse_count(const char *flag, const char *v)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n == 0 || n > 1000000) {
		fprintf(stderr, "naive-w4: %s wants a whole number from 1 to 1000000\n", flag);
		exit(2);
	}
	return (unsigned)n;
}

static void
parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			usage(stdout, 0);
		if (i + 1 >= argc)
			usage(stderr, 2);
		const char *v = argv[++i];
		if (strcmp(a, "--host") == 0)
			opt.host = v;
		else if (strcmp(a, "--port") == 0)
			opt.port = v;
		else if (strcmp(a, "--clients") == 0)
			opt.clients = parse_count(a, v);
		else if (strcmp(a, "--rooms") == 0)
			opt.rooms = parse_count(a, v);
		else if (strcmp(a, "--threads") == 0)
			opt.threads = parse_count(a, v);
		else if (strcmp(a, "--join-after") == 0 && strcmp(v, "motd") == 0)
			opt.join_after_001 = 0;
		else if (strcmp(a, "--join-after") == 0 && strcmp(v, "001") == 0)
			opt.join_after_001 = 1;
		else if (strcmp(a, "--hold") == 0)
			opt.hold = atof(v);
		else
			usage(stderr, 2);
	}
	if (opt.port == NULL)
		usage(stderr, 2);
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	int rc = getaddrinfo(opt.host, opt.port, &hints, &server);
	if (rc != 0) {
		fprintf(stderr, "naive-w4: %s:%s: %s\n", opt.host, opt.port, gai_strerror(rc));
		return 2;
	}
	if ((fds = malloc(opt.clients * sizeof *fds)) == NULL)
		return 2;
	for (unsigned i = 0; i < opt.clients; i++)
		fds[i] = -1;
	pthread_t *tids = calloc(opt.threads, sizeof *tids);
	if (tids == NULL)
		return 2;
	uint64_t t0 = now_ns();
	unsigned started = 0;
	for (; started < opt.threads; started++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		rc = pthread_create(&tids[started], &attr, worker, NULL);
		pthread_attr_destroy(&attr);
		if (rc != 0)
			break;
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	double took = (double)(now_ns() - t0) / 1e9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"generator\":\"naive-w4\",\"clients\":%u,\"rooms\":%u,\"threads\":%u,"
	    "\"joined\":%u,\"failed\":%u,\"connect_s\":%.3f,\"connect_call_s\":%.3f,"
	    "\"connect_call_max_ms\":%.1f,\"cpu_s\":%.2f,\"connect_call_us_by_quarter\":[",
	    opt.clients, opt.rooms, started, atomic_load(&joined), atomic_load(&failed), took,
	    (double)atomic_load(&connect_ns) / 1e9, (double)atomic_load(&connect_ns_max) / 1e6,
	    cpu);
	for (int q = 0; q < QUARTERS; q++)
		printf("%s%.0f", q ? "," : "", (double)atomic_load(&quarter_ns[q]) / 1e3 /
		    ((double)opt.clients / QUARTERS));
	printf("]}\n");
	fflush(stdout);
	if (opt.hold > 0)
		nanosleep(&(struct timespec){ .tv_sec = (time_t)opt.hold,
		    .tv_nsec = (long)((opt.hold - (double)(time_t)opt.hold) * 1e9) }, NULL);
	for (unsigned i = 0; i < opt.clients; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(tids);
	freeaddrinfo(server);
	return atomic_load(&failed) ? 1 : 0;
}
