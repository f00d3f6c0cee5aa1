/* sendcost N ROUNDS: the CPU one write of a 100-byte line costs the writer,
 * by writev (one iovec), send and sendmsg, on N TCP loopback connections
 * (TCP_NODELAY, non-blocking, as parleyd's) that a child process drains
 * with epoll (as parley-bench does); the loopback's receive side is
 * charged to the writer, as it is to parleyd. Round r writes one line to
 * every connection by method r % 3, so a drift of the machine falls on
 * all three alike. Why parleyd flushes with send/sendmsg
 * (bench/results/2026-12-02-w3irc.md). Not built by make:
 *   cc -O2 -o /tmp/sendcost bench/profile/sendcost.c
 *   ulimit -n 20000; flock /work/bench.lock /tmp/sendcost 1000 600 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

static double now_cpu(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 1000, rounds = argc > 2 ? atoi(argv[2]) : 400;
	signal(SIGPIPE, SIG_IGN);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	bind(l, (void *)&a, sizeof a); listen(l, 4096);
	socklen_t al = sizeof a; getsockname(l, (void *)&a, &al);
	int *cl = malloc(n * sizeof *cl), *sv = malloc(n * sizeof *sv);
	for (int i = 0; i < n; i++) {
		cl[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cl[i], (void *)&a, sizeof a) < 0) { perror("connect"); return 1; }
		sv[i] = accept(l, NULL, NULL);
		setsockopt(sv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		fcntl(sv[i], F_SETFL, O_NONBLOCK);
	}
	pid_t kid = fork();
	if (kid == 0) {
		int ep = epoll_create1(0);
		for (int i = 0; i < n; i++) { close(sv[i]); struct epoll_event e = { .events = EPOLLIN, .data.fd = cl[i] }; epoll_ctl(ep, EPOLL_CTL_ADD, cl[i], &e); }
		struct epoll_event ev[256]; char buf[16384];
		for (;;) { int k = epoll_wait(ep, ev, 256, -1); for (int j = 0; j < k; j++) if (read(ev[j].data.fd, buf, sizeof buf) == 0) _exit(0); }
	}
	for (int i = 0; i < n; i++) close(cl[i]);
	char line[100]; memset(line, 'x', sizeof line); line[98] = '\r'; line[99] = '\n';
	double t[3] = {0, 0, 0}; long calls[3] = {0, 0, 0};
	for (int r = 0; r < rounds; r++) {
		int m = r % 3;
		double t0 = now_cpu();
		for (int i = 0; i < n; i++) {
			ssize_t w;
			if (m == 0) { struct iovec iov = { line, sizeof line }; w = writev(sv[i], &iov, 1); }
			else if (m == 1) w = send(sv[i], line, sizeof line, 0);
			else { struct iovec iov = { line, sizeof line }; struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 }; w = sendmsg(sv[i], &mh, 0); }
			if (w < 0 && errno != EAGAIN) { perror("write"); return 1; }
		}
		t[m] += now_cpu() - t0; calls[m] += n;
		usleep(2000);
	}
	printf("writev %.3f us/call, send %.3f, sendmsg %.3f; send/writev %.3f sendmsg/writev %.3f (n=%d rounds=%d)\n",
	    t[0] / calls[0] * 1e6, t[1] / calls[1] * 1e6, t[2] / calls[2] * 1e6, (t[1] / calls[1]) / (t[0] / calls[0]), (t[2] / calls[2]) / (t[0] / calls[0]), n, rounds);
	for (int i = 0; i < n; i++) close(sv[i]);
	waitpid(kid, NULL, 0);
	return 0;
}
