/* parley: the terminal client.
 *
 * One poll() loop over stdin and the server's socket. On a terminal the
 * user edits a line with libedit while lines from the server keep coming
 * (term.c hides the line, prints, draws it again). Anywhere else stdin is
 * a script: each line is sent as it is, then /quit, and the client reads
 * until the server closes the connection, which tells that every line was
 * taken. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/sockios.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "complete.h"
#include "lines.h"
#include "link.h"
#include "net.h"
#include "quiet.h"
#include "screen.h"
#include "session.h"
#include "term.h"
#include "wait.h"

#include "../src/base/version.h"

#define CONNECT_TIMEOUT_MS 10000
/* How long to wait for the server to close after /quit: a person is
 * leaving and should not be kept; a script wants to know every line got
 * there and can wait, and for a script the wait starts again whenever
 * the server reads or writes, since a server that delays a flood of
 * lines may take long to reach the /quit. */
#define QUIT_WAIT_TTY_MS 2000
#define QUIT_WAIT_PIPE_MS 30000
#define BACKOFF_MAX_S 30

static volatile sig_atomic_t got_quit;   /* SIGINT, SIGTERM, SIGHUP */
static volatile sig_atomic_t got_winch;
static volatile sig_atomic_t got_cont;

#define PASSWORD_MAX 400

static struct client {
	struct net_addr addr;
	struct link_tls tls;      /* --tls, --tls-ca, --insecure */
	int reconnect;            /* --reconnect */
	const char *password;     /* --password or PARLEY_PASSWORD, or NULL */
	int interactive;          /* stdin is a terminal */

	struct link server;       /* fd -1 while not connected */
	int heard;                /* it has sent a byte on this connection */
	struct lines from_server;
	struct outq to_server;
	struct session sess;      /* this connection's */
	struct session rejoin;    /* the last welcomed one's, to restore */
	struct complete comp;     /* what Tab completes */
	struct quiet quiet;       /* what the client asked for itself */

	struct lines from_stdin;  /* when it is not a terminal */
	int stdin_open;

	int quitting;             /* /quit sent: the server closing ends it */
	int goodbye;              /* and the server answered it */
	long quit_deadline;       /* ms, CLOCK_MONOTONIC */
	int unacked;              /* bytes the server had not taken, last look */
	int quit_status;          /* exit status once the server has closed */

	int backoff;              /* seconds before the next connect attempt */
	long retry_at;            /* ms; 0 when no attempt is due */

	int done;
	int status;               /* exit status once done */
} client;

static void
finish(int status)
{
	client.done = 1;
	client.status = status;
}

/* ---- sending ---- */

static int
send_line(const char *line, size_t len)
{
	if (client.server.fd == -1)
		return -1;
	if (outq_line(&client.to_server, line, len) == -1) {
		screen_warn("the server is not reading; line not sent");
		return -1;
	}
	return 0;
}

static void
send_str(const char *line)
{
	send_line(line, strlen(line));
}

/* The arguments of the command /name (any case) in line, leading spaces
 * skipped, "" when there are none; NULL when line is not that command. */
static const char *
command_args(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (line[0] != '/' || strncasecmp(line + 1, name, n) != 0 ||
	    (line[n + 1] != '\0' && line[n + 1] != ' '))
		return NULL;
	return line + n + 1 + strspn(line + n + 1, " ");
}

/* The /quit line has been queued: from now on the server closing the
 * connection is the expected end, with exit status status. */
static void
quit_sent(int status)
{
	client.quitting = 1;
	client.quit_status = status;
	client.quit_deadline = wait_now_ms() +
	    (client.interactive ? QUIT_WAIT_TTY_MS : QUIT_WAIT_PIPE_MS);
	client.unacked = INT_MAX;
	term_stop();
}

/* Whether the server took more of our bytes since the last look. Its kernel
 * acknowledges them only as parleyd reads them, so a server working slowly
 * through a flood of lines is seen alive though it says nothing. */
static int
server_took_more(void)
{
	int n;
	if (client.server.fd < 0 || ioctl(client.server.fd, SIOCOUTQ, &n) < 0 ||
	    n >= client.unacked)
		return 0;
	client.unacked = n;
	return 1;
}

/* The server is alive: a script's wait for it to close starts again. */
static void
server_alive(void)
{
	if (client.quitting && !client.interactive)
		client.quit_deadline = wait_now_ms() + QUIT_WAIT_PIPE_MS;
}

/* Leaves politely when connected, at once otherwise. */
static void
quit(int status)
{
	if (client.server.fd == -1) {
		finish(status);
		return;
	}
	send_str("/quit");
	quit_sent(status);
}

/* ---- the prompt and the session ---- */

/* Asks the server something for the client itself, its answer kept off
 * the screen (quiet.h). Only a person at a terminal has any use for it:
 * a script's conversation stays as it wrote it. */
static void
ask_quietly(enum quiet_kind kind, const char *room)
{
	char cmd[SESSION_ROOM_MAX + 8], marker[32];

	if (!client.interactive || client.server.fd == -1 ||
	    quiet_ask(&client.quiet, kind, room, cmd, sizeof cmd, marker,
	    sizeof marker) == -1)
		return;
	if (cmd[0] != '\0')
		send_str(cmd);
	send_str(marker);
}

/* Tab completes the nicknames of the current room: when it changes, the
 * client forgets those of the last and asks who is in the new one. */
static void
follow_room(void)
{
	const char *room = client.sess.current;

	if (session_same_name(room, client.comp.room))
		return;
	complete_track(&client.comp, room);
	if (room[0] != '\0')
		ask_quietly(QUIET_WHO, room);
}

/* The client's own part of /help, after the server's. */
static void
show_keys(void)
{
	static const char *const keys[][2] = {
		{ "Tab", "complete a /command, a nickname of the room, a #room" },
		{ "Up, Down, Ctrl-R", "recall and search the lines typed before" },
		{ "Ctrl-D", "leave (on an empty line), as /quit does" },
	};
	char line[128];

	screen_print(SCREEN_NOTICE, "-- keys of parley, this client:", 31);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		int n = snprintf(line, sizeof line, "-- %-22s %s", keys[i][0],
		    keys[i][1]);
		screen_print(SCREEN_NOTICE, line, (size_t)n);
	}
}

static void
update_prompt(void)
{
	char prompt[SESSION_ROOM_MAX + 8];
	const char *room = client.sess.current;

	if (room[0] != '\0' && screen_is_plain(room))
		snprintf(prompt, sizeof prompt, "%s> ", room);
	else
		snprintf(prompt, sizeof prompt, "> ");
	term_set_prompt(prompt);
}

/* Asks the new connection for what the last one had: the nickname the
 * user chose and the rooms, the current one last so it is current again. */
static void
restore_session(void)
{
	const struct session *old = &client.rejoin;
	char line[SESSION_ROOM_MAX + 16];

	/* First, before anything else, as the server wants it. */
	if (client.password != NULL) {
		char pass[PASSWORD_MAX + 8];
		snprintf(pass, sizeof pass, "/pass %s", client.password);
		send_str(pass);
	}
	if (client.sess.want_nick[0] != '\0') {
		snprintf(line, sizeof line, "/nick %s", client.sess.want_nick);
		send_str(line);
	}
	for (size_t i = 0; i < old->nrooms; i++) {
		if (session_same_name(old->rooms[i], old->current))
			continue;
		snprintf(line, sizeof line, "/join %s", old->rooms[i]);
		send_str(line);
	}
	if (old->current[0] != '\0') {
		snprintf(line, sizeof line, "/join %s", old->current);
		send_str(line);
	}
}

/* Connects, with TLS when asked. Returns 0 with client.server open, or -1
 * with one line in why. */
static int
open_connection(char *why, size_t whylen)
{
	int fd = net_connect(&client.addr, CONNECT_TIMEOUT_MS, &got_quit,
	    why, whylen);
	if (fd == -1)
		return -1;
	return link_open(&client.server, fd, client.addr.host,
	    client.addr.shown, CONNECT_TIMEOUT_MS, &got_quit, why, whylen);
}

static void
connected(void)
{
	lines_init(&client.from_server);
	client.to_server.len = 0;
	client.heard = 0;
	restore_session();
}

/* ---- reconnecting ---- */

static void
schedule_retry(void)
{
	client.retry_at = wait_now_ms() + client.backoff * 1000L;
	client.backoff *= 2;
	if (client.backoff > BACKOFF_MAX_S)
		client.backoff = BACKOFF_MAX_S;
}

static void
try_reconnect(void)
{
	char why[512];

	client.retry_at = 0;
	int r = open_connection(why, sizeof why);
	if (r == -1 && got_quit)
		return; /* the loop sees the signal next */
	if (r == -1) {
		int wait = client.backoff;
		schedule_retry();
		screen_warn("%s; retrying in %ds", why, wait);
		return;
	}
	connected();
	screen_warn("connected to %s again", client.addr.shown);
}

/* The connection is gone; err is the reason, or NULL when the server
 * closed it. */
static void
disconnected(const char *err)
{
	size_t held_len;
	const char *held = quiet_release(&client.quiet, &held_len);
	if (held != NULL)
		screen_print(screen_kind_of(held, client.sess.nick), held,
		    held_len);
	quiet_reset(&client.quiet);
	link_close(&client.server);
	client.to_server.len = 0;
	/* A script's lines all got there only if the server reached its
	 * /quit; a server that closes for a reason of its own (flood
	 * control, shutting down) may have dropped some. */
	if (client.quitting && (client.interactive || client.goodbye)) {
		finish(client.quit_status);
		return;
	}
	if (client.sess.welcomed)
		client.rejoin = client.sess;
	session_clear(&client.sess);
	follow_room();

	/* A plain parleyd greets at once; a TLS one waits for a handshake
	 * and drops a client that sends lines instead. */
	const char *hint = !client.heard && !client.tls.on ?
	    " (a tls port? then --tls)" : "";
	char what[600];
	if (err != NULL)
		snprintf(what, sizeof what, "connection to %s lost: %s%s",
		    client.addr.shown, err, hint);
	else
		snprintf(what, sizeof what, "connection to %s closed by the "
		    "server%s", client.addr.shown, hint);
	if (!client.reconnect || client.quitting) {
		screen_warn("%s", what);
		finish(1);
		return;
	}
	int wait = client.backoff;
	schedule_retry();
	screen_warn("%s; reconnecting in %ds", what, wait);
	update_prompt();
}

/* ---- from the server ---- */

static void
server_line(enum lines_status st, char *line, size_t len)
{
	if (st == LINES_OVERLONG) {
		screen_warn("a line from the server was over %d bytes; dropped",
		    LINES_MAX);
		return;
	}
	if (client.quitting && strncmp(line, "-- goodbye", 10) == 0)
		client.goodbye = 1;
	int was_welcomed = client.sess.welcomed;
	int changed = session_observe(&client.sess, line);
	complete_observe(&client.comp, line);
	if (client.sess.welcomed && !was_welcomed) {
		client.backoff = 1; /* a session again: start over */
		/* Its commands, for Tab: whatever this server offers. */
		ask_quietly(QUIET_HELP, NULL);
	}

	const char *held;
	size_t held_len;
	enum quiet_verdict v = quiet_filter(&client.quiet, line, len, &held,
	    &held_len);
	if (held != NULL)
		screen_print(screen_kind_of(held, client.sess.nick), held,
		    held_len);
	if (v == QUIET_SHOW)
		screen_print(screen_kind_of(line, client.sess.nick), line, len);
	else if (v == QUIET_HIDE_KEYS)
		show_keys();
	if (changed) {
		update_prompt();
		follow_room();
	}
}

static ssize_t
read_server(void *link, void *buf, size_t n)
{
	return link_read(link, buf, n);
}

static void
server_readable(void)
{
	ssize_t n = lines_read_from(&client.from_server, read_server,
	    &client.server);
	char *line;
	size_t len;
	enum lines_status st;

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		disconnected(link_strerror(&client.server, errno));
		return;
	}
	server_alive();
	if (n > 0)
		client.heard = 1;
	/* One hide for the whole batch: the prompt is drawn once. */
	term_hide();
	while ((st = lines_next(&client.from_server, &line, &len)) !=
	    LINES_NONE)
		server_line(st, line, len);
	if (n == 0 && (st = lines_rest(&client.from_server, &line, &len)) !=
	    LINES_NONE)
		server_line(st, line, len);
	term_show();
	if (n == 0)
		disconnected(NULL);
}

static void
server_ready(short revents)
{
	struct link *l = &client.server;

	/* Reading first: a server that closes may have said why just before
	 * (server-full), and a failed write would lose that. POLLHUP and
	 * POLLERR lead here too: the read tells what happened. TLS may want
	 * the socket the other way round from what it is doing. */
	if ((revents & ~POLLOUT) || (l->read_wants_write && (revents & POLLOUT)))
		server_readable();
	if (l->fd == -1 || client.to_server.len == 0)
		return;
	if (!(revents & POLLOUT) && !(l->write_wants_read && (revents & POLLIN)))
		return;
	size_t queued = client.to_server.len;
	if (outq_flush(&client.to_server, l) == -1) {
		disconnected(link_strerror(l, errno));
		return;
	}
	if (client.to_server.len < queued)
		server_alive();
}

/* ---- from the user at a terminal ---- */

/* A message to the current room: the server does not send it back, so it
 * is shown here, in place of the line as typed. */
static void
echo_own(int action, const char *text)
{
	const struct session *s = &client.sess;
	char line[LINES_MAX + SESSION_ROOM_MAX + SESSION_NICK_MAX + 8];

	if (s->current[0] == '\0' || s->nick[0] == '\0')
		return;
	int n = snprintf(line, sizeof line, action ? "%s * %s %s" :
	    "%s <%s> %s", s->current, s->nick, text);
	if (n < 0)
		return;
	term_erase_entered();
	screen_print(SCREEN_OWN, line, (size_t)n < sizeof line ? (size_t)n :
	    sizeof line - 1);
}

static void
user_line(const char *line)
{
	size_t len = strlen(line);

	if (line[strspn(line, " ")] == '\0') {
		term_erase_entered();
		return;
	}
	if (client.server.fd == -1 && command_args(line, "quit") != NULL) {
		finish(0);
		return;
	}
	if (client.server.fd == -1 && command_args(line, "help") != NULL)
		show_keys();
	if (client.server.fd == -1) {
		screen_warn("not connected; line not sent");
		return;
	}
	if (len > LINES_MAX) {
		screen_warn("line over %d bytes; not sent", LINES_MAX);
		return;
	}
	if (send_line(line, len) == -1)
		return;
	const char *action = command_args(line, "me");
	if (command_args(line, "help") != NULL)
		ask_quietly(QUIET_HELP_SHOWN, NULL); /* the keys after it */
	if (command_args(line, "quit") != NULL)
		quit_sent(0);
	else if (action != NULL && *action != '\0')
		echo_own(1, action);
	else if (line[0] != '/' || line[1] == '/')
		echo_own(0, line[0] == '/' ? line + 1 : line);
}

static void
on_user_line(char *line)
{
	if (line == NULL) {
		client.stdin_open = 0;
		quit(0);
		return;
	}
	user_line(line);
	free(line);
}

static size_t
complete_word(size_t start, const char *word, const char **out, size_t max,
    const char **suffix)
{
	return complete_candidates(&client.comp, &client.sess, start, word,
	    out, max, suffix);
}

/* ---- from a script on stdin ---- */

static void
piped_line(enum lines_status st, const char *line, size_t len)
{
	if (st == LINES_OVERLONG) {
		screen_warn("a line on stdin is over %d bytes; not sent",
		    LINES_MAX);
		return;
	}
	if (send_line(line, len) == 0 && command_args(line, "quit") != NULL)
		quit_sent(0);
}

static void
stdin_readable(void)
{
	ssize_t n = lines_read(&client.from_stdin, STDIN_FILENO);
	char *line;
	size_t len;
	enum lines_status st;

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		screen_warn("cannot read stdin: %s", strerror(errno));
		client.stdin_open = 0;
		quit(1);
		return;
	}
	while (!client.quitting &&
	    (st = lines_next(&client.from_stdin, &line, &len)) != LINES_NONE)
		piped_line(st, line, len);
	if (n > 0 || client.quitting)
		return;
	client.stdin_open = 0;
	if ((st = lines_rest(&client.from_stdin, &line, &len)) != LINES_NONE)
		piped_line(st, line, len);
	if (!client.quitting)
		quit(0);
}

/* Whether to poll stdin. A script's lines are read only while there is
 * a connection to send them on and room to queue all a read can hold. */
static int
want_stdin(void)
{
	if (!client.stdin_open || client.quitting)
		return 0;
	if (client.interactive)
		return 1;
	return client.server.fd != -1 && outq_room(&client.to_server) >=
	    sizeof client.from_stdin.buf + 16;
}

static void
stdin_ready(short revents)
{
	if (!client.interactive) {
		stdin_readable();
		return;
	}
	/* A terminal that hung up stays readable and gives nothing. */
	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		client.stdin_open = 0;
		quit(0);
		return;
	}
	term_read();
}

/* ---- signals and timers ---- */

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else if (sig == SIGCONT)
		got_cont = 1;
	else
		got_quit = sig;
}

static void
signals_init(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH,
	    SIGCONT };
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll must wake up to see the flag. */
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

static void
handle_signals(void)
{
	if (got_winch) {
		got_winch = 0;
		term_resize();
	}
	if (got_cont) {
		got_cont = 0;
		term_resume();
	}
	if (got_quit) {
		got_quit = 0;
		/* Interrupting a script means not every line was sent. A
		 * second signal does not wait for the server. */
		int status = client.interactive ? 0 : 1;
		if (client.quitting)
			finish(status);
		else
			quit(status);
	}
}

static int
poll_timeout(void)
{
	long now = wait_now_ms(), until = -1;

	if (client.quitting)
		until = client.quit_deadline;
	if (client.server.fd == -1 && client.retry_at != 0 &&
	    (until == -1 || client.retry_at < until))
		until = client.retry_at;
	if (until == -1)
		return -1;
	return until <= now ? 0 : (int)(until - now);
}

static void
handle_timers(void)
{
	long now = wait_now_ms();

	if (client.quitting && now >= client.quit_deadline) {
		if (client.interactive) {
			finish(client.quit_status);
			return;
		}
		if (server_took_more()) {
			server_alive();
			return;
		}
		screen_warn("%s has not closed the connection after /quit "
		    "(silent for %ds); giving up",
		    client.addr.shown, QUIT_WAIT_PIPE_MS / 1000);
		finish(1);
		return;
	}
	if (client.server.fd == -1 && client.retry_at != 0 &&
	    now >= client.retry_at)
		try_reconnect();
}

static void
run(void)
{
	while (!client.done) {
		struct pollfd pfd[2];
		int n = 0, in = -1, net = -1;

		if (want_stdin()) {
			pfd[n] = (struct pollfd){ .fd = STDIN_FILENO,
			    .events = POLLIN };
			in = n++;
		}
		const struct link *l = &client.server;
		if (l->fd != -1) {
			pfd[n] = (struct pollfd){ .fd = l->fd, .events = POLLIN };
			/* Not while TLS waits to read: the socket would be
			 * writable all along, and poll would spin. */
			if ((client.to_server.len > 0 && !l->write_wants_read) ||
			    l->read_wants_write)
				pfd[n].events |= POLLOUT;
			net = n++;
		}
		/* What TLS has decrypted already, poll cannot see. */
		int pending = l->fd != -1 && link_pending(l);
		int r = poll(pfd, (nfds_t)n, pending ? 0 : poll_timeout());
		if (r == -1 && errno != EINTR) {
			screen_warn("poll: %s", strerror(errno));
			finish(1);
			break;
		}
		handle_signals();
		if (!client.done)
			handle_timers();
		if (pending && r >= 0 && net != -1) {
			pfd[net].revents |= POLLIN;
			r++;
		}
		if (r <= 0)
			continue;
		if (!client.done && net != -1 && pfd[net].revents != 0)
			server_ready(pfd[net].revents);
		if (!client.done && in != -1 && pfd[in].revents != 0 &&
		    (client.interactive || client.server.fd != -1))
			stdin_ready(pfd[in].revents);
	}
}

/* ---- starting ---- */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: parley [HOST[:PORT]] [--nick NAME] [--password PASS] [--reconnect]\n"
"              [--tls [--tls-ca FILE | --insecure]]\n"
"       parley --help | --version\n"
"\n"
"Chat on a parley server, by default at " NET_DEFAULT_HOST ":"
NET_DEFAULT_PORT " (" NET_DEFAULT_TLS_PORT " with --tls). HOST is a\n"
"name, an IPv4 address or an IPv6 address in brackets ([::1]:7000).\n"
"\n"
"  --nick NAME   ask for the nickname NAME once connected\n"
"  --password PASS  give the server's password first (or set PARLEY_PASSWORD,\n"
"                which other users cannot see in ps)\n"
"  --reconnect   when the server goes away, connect again after 1s, 2s,\n"
"                4s ... up to 30s, and ask for the same nickname and rooms\n"
"  --tls         talk TLS, to a `listen HOST:PORT tls` door; the server's\n"
"                certificate must be signed by a CA the system trusts and\n"
"                name HOST\n"
"  --tls-ca FILE trust the CA or self-signed certificate in FILE (PEM)\n"
"                instead of the system's CAs; implies --tls\n"
"  --insecure    do not check the certificate at all (anyone on the way\n"
"                can then listen in); implies --tls\n"
"  --help        print this help and exit\n"
"  --version     print the version and exit\n"
"\n"
"Lines starting with / are commands, sent to the server as typed (/help\n"
"lists the server's, then this client's keys); //text sends /text; /quit\n"
"or Ctrl-D leaves. Tab completes a /command, a nickname of the current\n"
"room or a #room. When stdin is not a terminal, each line of it is sent\n"
"as it is, then /quit, and what the server says is printed until it\n"
"closes the connection. Colours are off when NO_COLOR is set.\n");
}

/* A nickname goes into a line of its own: it must not carry a second. */
static int
nick_valid(const char *nick)
{
	if (*nick == '\0' || strlen(nick) > SESSION_NICK_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)nick; *p; p++)
		if (*p <= ' ' || *p == 0x7F)
			return 0;
	return 1;
}

/* Returns -1 to go on, else the exit status. */
static int
parse_args(int argc, char **argv, const char **nick)
{
	static const struct option opts[] = {
		{ "nick", required_argument, NULL, 'n' },
		{ "password", required_argument, NULL, 'p' },
		{ "reconnect", no_argument, NULL, 'r' },
		{ "tls", no_argument, NULL, 't' },
		{ "tls-ca", required_argument, NULL, 'c' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*nick = NULL;
	client.password = getenv("PARLEY_PASSWORD");
	opterr = 0; /* its complaints are ours to word, on one line */
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			*nick = optarg;
			break;
		case 'p':
			client.password = optarg;
			break;
		case 'r':
			client.reconnect = 1;
			break;
		case 't':
			client.tls.on = 1;
			break;
		case 'c':
			client.tls.ca_file = optarg;
			client.tls.on = 1;
			break;
		case 'k':
			client.tls.insecure = 1;
			client.tls.on = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("parley %s\n", PARLEY_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "parley: %s needs a value; parley --help "
			    "lists the options\n", argv[optind - 1]);
			return 2;
		default: {
			/* A long one as typed, up to any =VALUE; a short one
			 * by its letter, wherever it stood in a group. */
			const char *bad = argv[optind - 1];
			if (optopt != 0)
				fprintf(stderr, "parley: unknown option -%c",
				    optopt);
			else
				fprintf(stderr, "parley: unknown option %.*s",
				    (int)strcspn(bad, "="), bad);
			fprintf(stderr, "; parley --help lists the options\n");
			return 2;
		}
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "parley: one address at most, not '%s' and '%s'\n",
		    argv[optind], argv[optind + 1]);
		return 2;
	}
	if (client.password != NULL && (*client.password == '\0' ||
	    strlen(client.password) > PASSWORD_MAX ||
	    strpbrk(client.password, "\r\n") != NULL)) {
		fprintf(stderr, "parley: the password must be one line of 1 to %d bytes\n",
		    PASSWORD_MAX);
		return 2;
	}
	if (*nick != NULL && !nick_valid(*nick)) {
		fprintf(stderr, "parley: bad nickname '%s'\n", *nick);
		return 2;
	}
	if (client.tls.ca_file != NULL && client.tls.insecure) {
		fprintf(stderr, "parley: --tls-ca checks the certificate and "
		    "--insecure does not: give one of them\n");
		return 2;
	}
	char why[512];
	if (net_addr_parse(optind < argc ? argv[optind] : NULL,
	    client.tls.on ? NET_DEFAULT_TLS_PORT : NET_DEFAULT_PORT,
	    &client.addr, why, sizeof why) == -1) {
		fprintf(stderr, "parley: %s\n", why);
		return 2;
	}
	if (link_tls_init(&client.tls, why, sizeof why) == -1) {
		fprintf(stderr, "parley: %s\n", why);
		return 2;
	}
	if (client.tls.insecure)
		fprintf(stderr, "parley: warning: --insecure: the certificate "
		    "of %s is not checked; anyone on the way can read and "
		    "change what is said\n", client.addr.shown);
	return -1;
}

int
main(int argc, char **argv)
{
	const char *nick;
	char why[512];

	/* The character set only: libedit and the width of what is typed
	 * depend on it; messages stay in English. */
	setlocale(LC_CTYPE, "");
	int status = parse_args(argc, argv, &nick);
	if (status != -1)
		return status;

	signals_init();
	screen_init();
	client.server.fd = -1;
	client.backoff = 1;
	client.stdin_open = 1;
	client.interactive = isatty(STDIN_FILENO);
	session_init(&client.sess, nick);
	session_init(&client.rejoin, NULL);
	complete_init(&client.comp);
	quiet_init(&client.quiet);
	lines_init(&client.from_stdin);

	if (open_connection(why, sizeof why) == -1) {
		fprintf(stderr, "parley: %s\n", why);
		link_tls_free();
		return 1;
	}
	connected();
	if (client.interactive) {
		term_set_completion(complete_word);
		term_start("> ", on_user_line);
	}
	run();
	term_stop();
	link_close(&client.server);
	link_tls_free();
	complete_free(&client.comp);
	return client.status;
}
