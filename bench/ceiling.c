/* parley-ceiling: the least a server must do for parley-bench's IRC
 * workloads, so that bench/compare can say how far from this machine's
 * limit each real server is.
 *
 * It speaks just enough IRC for parley-bench: NICK + USER get a 001, JOIN
 * gets an echo to the room and a 366, PING a PONG, and PRIVMSG to a room is
 * relayed to its other members as ":nick!u@h PRIVMSG #room :text". Nothing
 * is checked (no nick uniqueness, no modes, no flood control), nothing is
 * stored, a connection is in one room at a time. What it keeps of a real
 * server is what costs the kernel: one epoll loop, level-triggered,
 * non-blocking sockets with TCP_NODELAY, accept until EAGAIN, at most one
 * read per readable socket and one write per socket per loop pass, and a
 * bound on each connection's unsent output (past it, the connection is
 * dropped, as parleyd drops a client past its sendq).
 *
 * Each line is made once and shared by reference: a recipient's output is
 * a queue of pointers, written with one send (one line) or sendmsg
 * (several), as parleyd's sendq does since 090538a: the same TCP send
 * without writev's way through the file layer. (A copy per recipient
 * looked cheaper for 100-byte lines, but once behind, under W2 at 2,000
 * messages/s on a busy machine, 1,000 growing copies of the backlog kept
 * it behind for good, where parleyd, sharing, caught up.)
 *
 *     parley-ceiling [--listen 127.0.0.1:6667] [--irc-listen HOST:PORT] [--sendq BYTES]
 *
 * --irc-listen is a second listener, the same IRC: with it, bench/ab takes
 * the ceiling for a parleyd (--a ./parley-ceiling) and gives it the flags
 * its --help lists.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Bytes taken from the kernel in one read. The lines of one read are all
 * queued before anything is written, so --sendq must hold what one read
 * relays to one member (a bit more than READ_MAX) or a member can be
 * dropped while it keeps up. */
#define READ_MAX (64 * 1024)
#define LINE_MAX_LEN 4096      /* a longer line closes the connection */
#define NICK_MAX 32
#define ROOM_NAME_MAX 64
#define ROOM_BUCKETS 4096      /* the hash of room names; chains past that */
#define ROOMS_MAX 65536        /* rooms are never freed: a bound in total */
#define EVENTS_MAX 1024
#define QUEUE_MIN 4            /* first queue of a connection; doubles */
#define WRITE_IOV 1024         /* lines in one sendmsg at most (IOV_MAX) */

/* One line to send, shared by every recipient's queue. */
struct line {
	uint32_t refs;
	uint32_t len;
	char data[];
};

struct room {
	char name[ROOM_NAME_MAX];
	int *fds;                  /* members, unordered */
	uint32_t n, cap;
	struct room *next;         /* hash chain */
};

/* One client, indexed by its fd. */
struct conn {
	bool listener, open, dead, dirty, want_out, has_nick, has_user, welcomed;
	char nick[NICK_MAX];
	struct room *room;         /* NULL until the first JOIN */
	uint32_t room_slot;        /* its index in room->fds */
	struct line **q;           /* unsent lines: a ring of qcap, a power of 2 */
	uint32_t qhead, qcount, qcap;
	uint32_t qoff;             /* bytes of q[qhead] already written */
	size_t qbytes;             /* unsent bytes in all of q */
	char *carry;               /* a partial line from the last read */
	size_t carry_len;
	int next_dirty, next_dead; /* intrusive lists, -1 ends */
};

static struct conn *conns;     /* by fd, conns_max of them */
static int conns_max;
static struct room *rooms[ROOM_BUCKETS];
static unsigned rooms_n;
static size_t sendq_max = 1 << 20;
static int ep;
static int dirty = -1, dead = -1;
static char scratch[LINE_MAX_LEN + READ_MAX];

/* ---------------------------------------------------------------- output */

/* Marks c for removal at the end of this pass: it may be in the middle of
 * a fan-out loop over its room, which must not change under the loop. */
static void
conn_kill(int fd)
{
	struct conn *c = &conns[fd];
	if (c->dead)
		return;
	c->dead = true;
	c->next_dead = dead;
	dead = fd;
}

static struct line *
line_new(const char *p, size_t n)
{
	struct line *l = malloc(sizeof *l + n);
	if (l) {
		l->refs = 1;          /* the maker's, dropped with line_unref */
		l->len = (uint32_t)n;
		memcpy(l->data, p, n);
	}
	return l;
}

static void
line_unref(struct line *l)
{
	if (l && --l->refs == 0)
		free(l);
}

/* Queues l for fd, to be written once at the end of the pass. */
static void
out_push(int fd, struct line *l)
{
	struct conn *c = &conns[fd];
	if (c->dead || !l)
		return;
	if (c->qbytes + l->len > sendq_max) {
		conn_kill(fd);        /* a reader too slow: drop it, as parleyd does */
		return;
	}
	if (c->qcount == c->qcap) {
		uint32_t cap = c->qcap ? c->qcap * 2 : QUEUE_MIN;
		struct line **q = malloc(cap * sizeof *q);
		if (!q) {
			conn_kill(fd);
			return;
		}
		for (uint32_t i = 0; i < c->qcount; i++)
			q[i] = c->q[(c->qhead + i) & (c->qcap - 1)];
		free(c->q);
		c->q = q;
		c->qcap = cap;
		c->qhead = 0;
	}
	l->refs++;
	c->q[(c->qhead + c->qcount++) & (c->qcap - 1)] = l;
	c->qbytes += l->len;
	if (!c->dirty) {
		c->dirty = true;
		c->next_dirty = dirty;
		dirty = fd;
	}
}

static void
out_str(int fd, const char *s)
{
	struct line *l = line_new(s, strlen(s));
	out_push(fd, l);
	line_unref(l);
}

/* One send or sendmsg of what is queued; EPOLLOUT only while some is
 * left. */
static void
conn_flush(int fd)
{
	struct conn *c = &conns[fd];
	if (c->dead || c->qcount == 0)
		return;
	struct iovec iov[WRITE_IOV];
	uint32_t n = c->qcount < WRITE_IOV ? c->qcount : WRITE_IOV;
	for (uint32_t i = 0; i < n; i++) {
		struct line *l = c->q[(c->qhead + i) & (c->qcap - 1)];
		uint32_t skip = i ? 0 : c->qoff;
		iov[i].iov_base = l->data + skip;
		iov[i].iov_len = l->len - skip;
	}
	ssize_t w = n == 1 ? send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL) :
	    sendmsg(fd, &(struct msghdr){ .msg_iov = iov, .msg_iovlen = n }, MSG_NOSIGNAL);
	if (w < 0 && errno != EAGAIN && errno != EINTR) {
		conn_kill(fd);
		return;
	}
	for (size_t left = w > 0 ? (size_t)w : 0; left > 0;) {
		struct line *l = c->q[c->qhead];
		size_t rest = l->len - c->qoff;
		if (left < rest) {
			c->qoff += (uint32_t)left;
			c->qbytes -= left;
			break;
		}
		left -= rest;
		c->qbytes -= rest;
		c->qoff = 0;
		line_unref(l);
		c->qhead = (c->qhead + 1) & (c->qcap - 1);
		c->qcount--;
	}
	bool want = c->qcount > 0;
	if (want != c->want_out) {
		struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.fd = fd };
		c->want_out = want;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0)
			conn_kill(fd);
	}
}

/* ----------------------------------------------------------------- rooms */

static struct room *
room_get(const char *name, size_t len)
{
	uint32_t h = 2166136261u;  /* FNV-1a, case-folded as IRC names are */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)(name[i] | 0x20)) * 16777619u;
	struct room **b = &rooms[h % ROOM_BUCKETS];
	for (struct room *r = *b; r; r = r->next)
		if (strlen(r->name) == len && strncasecmp(r->name, name, len) == 0)
			return r;
	struct room *r = rooms_n < ROOMS_MAX ? calloc(1, sizeof *r) : NULL;
	if (!r)
		return NULL;
	rooms_n++;
	memcpy(r->name, name, len);
	r->next = *b;
	*b = r;
	return r;
}

static void
room_leave(int fd)
{
	struct conn *c = &conns[fd];
	struct room *r = c->room;
	if (!r)
		return;
	int last = r->fds[--r->n];     /* swap the last member into our slot */
	r->fds[c->room_slot] = last;
	conns[last].room_slot = c->room_slot;
	c->room = NULL;
}

static int
room_enter(int fd, struct room *r)
{
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 16;
		int *f = realloc(r->fds, cap * sizeof *f);
		if (!f)
			return -1;
		r->fds = f;
		r->cap = cap;
	}
	conns[fd].room = r;
	conns[fd].room_slot = r->n;
	r->fds[r->n++] = fd;
	return 0;
}

/* Makes the line once and queues it for every member of r but skip (-1:
 * for all). */
static void
room_send(struct room *r, int skip, const char *p, size_t n)
{
	struct line *l = line_new(p, n);
	for (uint32_t i = 0; l && i < r->n; i++)
		if (r->fds[i] != skip)
			out_push(r->fds[i], l);
	line_unref(l);
}

/* -------------------------------------------------------------- commands */

static size_t
word_len(const char *p, const char *end)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	return (size_t)((sp ? sp : end) - p);
}

static bool
is_cmd(const char *p, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(p, name, n) == 0;
}

static void
welcome(int fd)
{
	struct conn *c = &conns[fd];
	char line[128];
	if (c->welcomed || !c->has_nick || !c->has_user)
		return;
	c->welcomed = true;
	snprintf(line, sizeof line, ":ceiling 001 %s :Welcome\r\n", c->nick);
	out_str(fd, line);
}

/* JOIN #room: leaves its room, enters this one, and tells the room
 * (itself included) and itself the end of a NAMES it does not send. */
static void
cmd_join(int fd, const char *arg, size_t n)
{
	struct conn *c = &conns[fd];
	char line[256];
	n = word_len(arg, arg + n);
	if (n == 0 || n >= ROOM_NAME_MAX)
		return;
	struct room *r = room_get(arg, n);
	if (!r || r == c->room)
		return;
	room_leave(fd);
	if (room_enter(fd, r) < 0) {
		conn_kill(fd);
		return;
	}
	int len = snprintf(line, sizeof line, ":%s!u@h JOIN %s\r\n", c->nick, r->name);
	room_send(r, -1, line, (size_t)len);
	snprintf(line, sizeof line, ":ceiling 366 %s %s :End of /NAMES list.\r\n", c->nick, r->name);
	out_str(fd, line);
}

/* PRIVMSG #room :text, rendered once and copied to every other member:
 * the only command on the measured path. */
static void
cmd_privmsg(int fd, const char *arg, const char *end)
{
	struct conn *c = &conns[fd];
	size_t tn = word_len(arg, end);
	const char *text = arg + tn;
	if (!c->room || tn != strlen(c->room->name) ||
	    strncasecmp(arg, c->room->name, tn) != 0 || text == end)
		return;  /* not its room: nothing to relay to */
	text++;
	if (text < end && *text == ':')
		text++;
	char line[LINE_MAX_LEN + NICK_MAX + ROOM_NAME_MAX + 32];
	char *p = line;
	*p++ = ':';
	size_t nl = strlen(c->nick);
	memcpy(p, c->nick, nl), p += nl;
	memcpy(p, "!u@h PRIVMSG ", 13), p += 13;
	memcpy(p, arg, tn), p += tn;
	memcpy(p, " :", 2), p += 2;
	memcpy(p, text, (size_t)(end - text)), p += end - text;
	memcpy(p, "\r\n", 2), p += 2;
	room_send(c->room, fd, line, (size_t)(p - line));
}

static void
on_line(int fd, const char *p, const char *end)
{
	struct conn *c = &conns[fd];
	char line[LINE_MAX_LEN + 32];
	if (p < end && *p == ':')      /* a client's source prefix: skipped */
		p += word_len(p, end) + 1;
	if (p >= end)
		return;
	size_t cn = word_len(p, end);
	const char *arg = p + cn < end ? p + cn + 1 : end;
	size_t an = (size_t)(end - arg);
	if (is_cmd(p, cn, "PRIVMSG")) {
		cmd_privmsg(fd, arg, end);
	} else if (is_cmd(p, cn, "PING")) {
		snprintf(line, sizeof line, ":ceiling PONG ceiling :%.*s\r\n",
		    (int)an - (an && *arg == ':'), arg + (an && *arg == ':'));
		out_str(fd, line);
	} else if (is_cmd(p, cn, "NICK")) {
		size_t n = word_len(arg, end);
		if (n && n < NICK_MAX) {
			memcpy(c->nick, arg, n);
			c->nick[n] = '\0';
			c->has_nick = true;
			welcome(fd);
		}
	} else if (is_cmd(p, cn, "USER")) {
		c->has_user = true;
		welcome(fd);
	} else if (is_cmd(p, cn, "JOIN") && c->welcomed) {
		cmd_join(fd, arg, an);
	} else if (is_cmd(p, cn, "QUIT")) {
		conn_kill(fd);
	}
}

/* ------------------------------------------------------------ connections */

/* One read: the loop is level-triggered, so whatever is left is read next
 * pass, after every other ready socket had its turn. */
static void
conn_read(int fd)
{
	struct conn *c = &conns[fd];
	if (c->carry_len)
		memcpy(scratch, c->carry, c->carry_len);
	ssize_t n = read(fd, scratch + c->carry_len, READ_MAX);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_kill(fd);
		return;
	}
	char *p = scratch, *end = scratch + c->carry_len + n, *nl;
	while (!c->dead && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		on_line(fd, p, nl > p && nl[-1] == '\r' ? nl - 1 : nl);
		p = nl + 1;
	}
	size_t left = (size_t)(end - p);
	if (left > LINE_MAX_LEN) {
		conn_kill(fd);
		return;
	}
	if (left && !c->carry && !(c->carry = malloc(LINE_MAX_LEN))) {
		conn_kill(fd);
		return;
	}
	if (left)
		memmove(c->carry, p, left);
	c->carry_len = left;
}

static void
conn_close(int fd)
{
	struct conn *c = &conns[fd];
	room_leave(fd);
	for (uint32_t i = 0; i < c->qcount; i++)
		line_unref(c->q[(c->qhead + i) & (c->qcap - 1)]);
	free(c->q);
	free(c->carry);
	close(fd);               /* also takes it out of the epoll set */
	memset(c, 0, sizeof *c);
}

/* Accepts until EAGAIN: a burst of connects is taken in one pass. */
static void
accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;  /* EAGAIN, or out of fds: the rest wait in the backlog */
		if (fd >= conns_max) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		memset(&conns[fd], 0, sizeof conns[fd]);
		conns[fd].open = true;
	}
}

/* ------------------------------------------------------------------ main */

static int
listen_on(const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof host)
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: parley-ceiling [--listen HOST:PORT] [--irc-listen HOST:PORT] [--sendq BYTES]\n"
	    "  --listen      address to take IRC clients on (default 127.0.0.1:6667)\n"
	    "  --irc-listen  a second one, the same IRC (as parleyd's flag, for bench/ab)\n"
	    "  --sendq       unsent bytes one client may have before it is dropped\n"
	    "                (default 1048576, as bench runs give parleyd; at least 131072)\n"
	    "  --version     what this is\n"
	    "A minimal IRC broadcaster for parley-bench: this machine's ceiling.\n");
	return code;
}

int
main(int argc, char **argv)
{
	const char *specs[2] = { "127.0.0.1:6667", NULL };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			return usage(0);
		if (strcmp(argv[i], "--version") == 0) {
			puts("parley-ceiling (bench/ceiling.c): a minimal IRC broadcaster");
			return 0;
		}
		if (i + 1 >= argc)
			return usage(2);
		if (strcmp(argv[i], "--listen") == 0)
			specs[0] = argv[++i];
		else if (strcmp(argv[i], "--irc-listen") == 0)
			specs[1] = argv[++i];
		else if (strcmp(argv[i], "--sendq") == 0 && atol(argv[i + 1]) >= 2 * READ_MAX)
			sendq_max = (size_t)atol(argv[++i]);
		else
			return usage(2);
	}
	signal(SIGPIPE, SIG_IGN);
	/* As many clients as the fd limit allows: raise it to the hard limit. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	conns_max = rl.rlim_cur > (1 << 20) ? 1 << 20 : (int)rl.rlim_cur;
	conns = calloc((size_t)conns_max, sizeof *conns);
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < 2 && specs[i]; i++) {
		int lfd = conns && ep >= 0 ? listen_on(specs[i]) : -1;
		struct epoll_event lev = { .events = EPOLLIN, .data.fd = lfd };
		if (lfd < 0 || lfd >= conns_max || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
			fprintf(stderr, "parley-ceiling: cannot listen on %s: %s\n", specs[i],
			    strerror(errno));
			return 1;
		}
		conns[lfd].listener = true;
	}
	struct epoll_event ev[EVENTS_MAX];
	for (;;) {
		int n = epoll_wait(ep, ev, EVENTS_MAX, -1);
		if (n < 0 && errno != EINTR)
			return 1;
		/* The pass: read and handle every ready socket, queueing output... */
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (conns[fd].listener) {
				accept_all(fd);
				continue;
			}
			if (!conns[fd].open || conns[fd].dead)
				continue;
			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				conn_read(fd);
			if (ev[i].events & EPOLLOUT)
				conn_flush(fd);
		}
		/* ...then one write per socket that got output this pass... */
		while (dirty >= 0) {
			int fd = dirty;
			dirty = conns[fd].next_dirty;
			conns[fd].dirty = false;
			if (!conns[fd].want_out)  /* else EPOLLOUT says when */
				conn_flush(fd);
		}
		/* ...and only now close the dropped ones: no list changed under a loop. */
		while (dead >= 0) {
			int fd = dead;
			dead = conns[fd].next_dead;
			conn_close(fd);
		}
	}
}
