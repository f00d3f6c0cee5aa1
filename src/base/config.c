#include "base/config.h"

#include "base/addr.h"
#include "base/limits.h"
#include "base/text.h"
#include "base/worker.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

enum opt_type {
	OPT_LIST, OPT_LISTEN, OPT_STR, OPT_OPTSTR, OPT_ULONG, OPT_RATE, OPT_LOGLEVEL,
	OPT_LOGFORMAT, OPT_ONOFF
};

/* Whether a SIGHUP's reading of the config file changes an option in the
 * running server (LIVE), or only a restart does (RESTART: the reload says
 * so in the log and keeps the running value). */
enum opt_reload { RESTART, LIVE };

struct option_def {
	const char *key;
	enum opt_type type;
	enum opt_reload reload;
	const char *arg;          /* the value's name in the docs: FILE, N, ... */
	size_t offset;
	const char *def;
	unsigned long min, max;   /* for OPT_ULONG */
	const char *help;
};

#define FIELD(f) offsetof(struct config, f)

/* Where a configuration error goes: stderr when parleyd starts (it then
 * exits 2), the log when a SIGHUP reads the file again (the server goes
 * on with what it has). */
static int complain_to_log;

static void __attribute__((format(printf, 1, 2)))
complain(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (complain_to_log)
		log_error("config: %s", msg);
	else
		fprintf(stderr, "parleyd: %s\n", msg);
}

static const struct option_def options[] = {
	{ "listen", OPT_LISTEN, LIVE, "HOST:PORT [tls]", FIELD(listen), "127.0.0.1:7000", 0, 0,
	  "plain-text listener HOST:PORT [tls] (repeatable; [::1]:PORT for IPv6)" },
	{ "irc-listen", OPT_LISTEN, LIVE, "HOST:PORT [tls]", FIELD(irc_listen), "", 0, 0,
	  "IRC listener HOST:PORT [tls] (repeatable)" },
	{ "web-listen", OPT_LISTEN, LIVE, "HOST:PORT [tls]", FIELD(web_listen), "", 0, 0,
	  "HTTP listener HOST:PORT [tls]: the web client, and IRC over WebSocket at /ws" },
	{ "metrics-listen", OPT_LISTEN, LIVE, "HOST:PORT [tls]", FIELD(metrics_listen), "", 0, 0,
	  "Prometheus metrics listener HOST:PORT [tls]: GET /metrics (repeatable; keep it off the public network)" },
	{ "tls-cert", OPT_OPTSTR, LIVE, "FILE", FIELD(tls_cert), "", 0, 0,
	  "PEM certificate chain for the tls listeners (reread on SIGHUP)" },
	{ "tls-key", OPT_OPTSTR, LIVE, "FILE", FIELD(tls_key), "", 0, 0,
	  "PEM private key of tls-cert (reread on SIGHUP)" },
	{ "handshake-timeout", OPT_ULONG, LIVE, "SECONDS", FIELD(handshake_timeout), "10", 1, 3600,
	  "seconds a TLS handshake or an HTTP request may take" },
	{ "web-dir", OPT_OPTSTR, LIVE, "DIR", FIELD(web_dir), "", 0, 0,
	  "serve the web client from this directory, not the built-in copy" },
	{ "web-title", OPT_STR, RESTART, "TEXT", FIELD(web_title), "Parley", 0, 0,
	  "the web page's name: its landing page's heading and the browser tab's title" },
	{ "web-description", OPT_OPTSTR, RESTART, "TEXT", FIELD(web_description), "", 0, 0,
	  "a short text the web page's landing page shows under its heading (empty: none)" },
	{ "allowed-origins", OPT_LIST, LIVE, "ORIGIN", FIELD(allowed_origins), "", 0, 0,
	  "a web page ORIGIN (scheme://host:port) whose scripts may open /ws, or * for any (repeatable; the server's own pages may when reached by IP, localhost or server-name)" },
	{ "proxy-from", OPT_LIST, LIVE, "ADDRESS[/BITS]", FIELD(proxy_from), "", 0, 0,
	  "ADDRESS or NETWORK/BITS of a reverse proxy trusted to name the client: its connections start with a PROXY protocol header (v1 or v2), or on web-listen may send X-Forwarded-For (repeatable)" },
	{ "server-name", OPT_STR, RESTART, "NAME", FIELD(server_name), "parley.local", 0, 0,
	  "name the server gives itself (the IRC server name)" },
	{ "password", OPT_OPTSTR, LIVE, "PASS", FIELD(password), "", 0, 0,
	  "password every client must give: /pass on the plain door, PASS on IRC (empty: none)" },
	{ "oper", OPT_LIST, LIVE, "NAME:PASSWORD", FIELD(oper), "", 0, 0,
	  "IRC operator NAME:PASSWORD for OPER (repeatable)" },
	{ "motd-file", OPT_OPTSTR, LIVE, "FILE", FIELD(motd_file), "", 0, 0,
	  "file whose lines are the IRC message of the day (empty: none)" },
	{ "sts-duration", OPT_OPTSTR, LIVE, "SECONDS", FIELD(sts_duration), "", 0, 0,
	  "IRC: offer an sts policy: plain-text clients move to TLS, and TLS clients that asked for server-name stay on TLS this many seconds (empty: no policy)" },
	{ "sts-port", OPT_ULONG, LIVE, "PORT", FIELD(sts_port), "0", 0, 65535,
	  "IRC: the TLS port the sts policy names (0: the first irc-listen ... tls)" },
	{ "node-id", OPT_ULONG, RESTART, "N", FIELD(node_id), "0", 0, 65535,
	  "this server's number in its msgids (IRCv3 msgid): servers that share users and rooms need one each (with cluster, 0: Redis hands one out)" },
	{ "cluster", OPT_OPTSTR, RESTART, "redis://[[USER]:PASSWORD@]HOST:PORT[/DB]", FIELD(cluster), "", 0, 0,
	  "join the cluster of the nodes that share this Redis: same rooms, users and nicknames (empty: a single server, no Redis); a password here shows in ps: prefer cluster-password-file" },
	{ "cluster-password-file", OPT_OPTSTR, RESTART, "FILE", FIELD(cluster_password_file), "", 0, 0,
	  "file whose first line is Redis's password for cluster (AUTH; with a USER in the cluster URL, that ACL user's), kept out of ps and the config (empty: the URL's, or none)" },
	{ "node-name", OPT_OPTSTR, RESTART, "NAME", FIELD(node_name), "", 0, 0,
	  "this node's name in the cluster, in its log and in Redis (empty: server-name)" },
	{ "nick-len", OPT_ULONG, RESTART, "N", FIELD(nick_len), "30", 1, NICK_LEN_MAX,
	  "longest nickname, in bytes" },
	{ "channel-len", OPT_ULONG, RESTART, "N", FIELD(channel_len), "50", 2, 50,
	  "longest room name, in bytes, '#' included" },
	{ "topic-len", OPT_ULONG, RESTART, "N", FIELD(topic_len), "390", 1, HUB_TOPIC_MAX,
	  "longest topic, in bytes; longer ones are cut" },
	{ "ping-interval", OPT_ULONG, LIVE, "SECONDS", FIELD(ping_interval), "120", 1, 86400,
	  "seconds an IRC client may be silent before it is sent PING; any client's TCP keepalive starts then" },
	{ "ping-timeout", OPT_ULONG, LIVE, "SECONDS", FIELD(ping_timeout), "60", 1, 86400,
	  "seconds it then has to answer (a PING, or TCP keepalive) before it is disconnected" },
	{ "max-clients", OPT_ULONG, LIVE, "N", FIELD(max_clients), "10000", 1, 1000000,
	  "most connections at once; more get \"server full\"" },
	{ "max-rooms", OPT_ULONG, LIVE, "N", FIELD(max_rooms), "10000", 1, 1000000,
	  "most rooms on the server at once; a JOIN that would make one more is refused" },
	{ "max-per-ip", OPT_ULONG, LIVE, "N", FIELD(max_per_ip), "10", 0, 1000000,
	  "most connections from one address, loopback too; an IPv6 address counts by its /64 (0: no limit)" },
	{ "max-line", OPT_ULONG, LIVE, "BYTES", FIELD(max_line), "4096", 64, 1048576,
	  "longest input line in bytes; longer ones are discarded" },
	{ "sendq", OPT_ULONG, LIVE, "BYTES", FIELD(sendq), "1048576", 4096, 1073741824,
	  "bytes queued for one client before it is disconnected" },
	{ "flood-burst", OPT_ULONG, LIVE, "N", FIELD(flood_burst), "20", 1, 1000000,
	  "lines a client may send at once before flood control delays it" },
	{ "flood-rate", OPT_RATE, LIVE, "N", FIELD(flood_rate), "5", 0, 0,
	  "lines per second a client may keep sending (0: no flood control)" },
	{ "registration-timeout", OPT_ULONG, LIVE, "SECONDS", FIELD(registration_timeout), "30", 0, 86400,
	  "seconds a connection has to register (IRC: NICK, USER, CAP END; plain: /pass) (0: no limit)" },
	{ "idle-timeout", OPT_ULONG, LIVE, "SECONDS", FIELD(idle_timeout), "0", 0, 31536000,
	  "seconds without input before a client is disconnected (0: never)" },
	{ "log-level", OPT_LOGLEVEL, LIVE, "LEVEL", FIELD(log_level), "info", 0, 0,
	  "error, warn, info or debug" },
	{ "log-format", OPT_LOGFORMAT, LIVE, "text|json", FIELD(log_format), "text", 0, 0,
	  "text (TIME LEVEL message) or json (one object a line: time, level, msg; conn and addr "
	  "on a line about a connection)" },
	{ "workers", OPT_ULONG, RESTART, "N", FIELD(workers), "2", 1, WORKER_THREADS_MAX,
	  "threads that do slow work (disk, password hashing) off the event loop" },
	{ "debug-commands", OPT_ULONG, LIVE, "N", FIELD(debug_commands), "0", 0, 1,
	  "1: IRC takes commands that only tests use (DEBUG ASYNC); never on a server people use" },
	{ "data-dir", OPT_STR, RESTART, "DIR", FIELD(data_dir), "./parley-data", 0, 0,
	  "directory of the database (history), made 0700 if missing; one parleyd per directory" },
	{ "user", OPT_OPTSTR, RESTART, "NAME", FIELD(user), "", 0, 0,
	  "a server started as root runs as this user once it has bound its listeners and opened data-dir and the TLS files (empty: stays as started)" },
	{ "group", OPT_OPTSTR, RESTART, "NAME", FIELD(group), "", 0, 0,
	  "the group it then runs as (empty: user's own group); needs user" },
	{ "history", OPT_ONOFF, RESTART, "on|off", FIELD(history), "on", 0, 0,
	  "on: every room event is stored in the database before anyone receives it; off: nothing is stored" },
	{ "database", OPT_OPTSTR, RESTART, "URL", FIELD(database), "", 0, 0,
	  "postgresql://USER@HOST[:PORT]/DB (a libpq URL): history and accounts in PostgreSQL, which several servers can share (empty: SQLite in data-dir)" },
	{ "database-password-file", OPT_OPTSTR, RESTART, "FILE", FIELD(database_password_file), "", 0, 0,
	  "the database's password is FILE's first line (not in database's URL, which ps shows to everyone)" },
	{ "register-before-connect", OPT_ONOFF, LIVE, "on|off", FIELD(register_before_connect), "on", 0, 0,
	  "on: IRC's REGISTER (draft/account-registration) is taken before the connection is complete too" },
	{ "history-max-age", OPT_ULONG, RESTART, "DAYS", FIELD(history_max_age), "365", 0, 36500,
	  "days a stored event is kept (0: forever)" },
	{ "history-max-rows", OPT_ULONG, RESTART, "N", FIELD(history_max_rows), "100000", 0, 1000000000,
	  "events kept per room, the oldest pruned first (0: no bound)" },
	{ "history-replay", OPT_ULONG, LIVE, "N", FIELD(history_replay), "10", 0, 1000,
	  "earlier messages a client is shown when it joins a room (0: none)" },
	{ "chathistory-max", OPT_ULONG, LIVE, "N", FIELD(chathistory_max), "100", 1, 1000,
	  "most events one history query returns (IRC CHATHISTORY=N, /history N)" },
};

#define NOPTIONS (sizeof options / sizeof options[0])

static const struct option_def *
option_find(const char *key)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].key, key) == 0)
			return &options[i];
	return NULL;
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: parleyd [--config FILE] [--KEY VALUE ...]\n"
	    "       parleyd [--config FILE] [--data-dir DIR] --backup FILE\n"
	    "       parleyd account add|passwd|delete NAME | list [--data-dir DIR]\n"
	    "         (accounts; parleyd account --help)\n"
	    "       parleyd migrate --from sqlite:DIR --to postgresql://...\n"
	    "         (SQLite's history and accounts copied into PostgreSQL)\n"
	    "       parleyd --help | --version\n\n"
	    "Every option is also a line \"KEY VALUE\" in the --config file;\n"
	    "a flag overrides the file.\n\n");
	for (size_t i = 0; i < NOPTIONS; i++)
		fprintf(out, "  --%-17s %s (default: %s%s)\n", options[i].key,
		    options[i].help, *options[i].def ? options[i].def : "none",
		    options[i].reload == RESTART ? "; a restart changes it, not SIGHUP" : "");
	fprintf(out, "  --%-17s %s\n", "config FILE", "read options from FILE");
	fprintf(out, "  --%-17s %s\n", "backup FILE",
	    "copy data-dir's database to FILE (consistent, also while a server runs) and exit");
	fprintf(out, "  --%-17s %s\n", "help", "show this and exit");
	fprintf(out, "  --%-17s %s\n", "version", "show the version and exit");
}

/* --dump-options, not in --help: the table as tab-separated lines (key,
 * value's name, default, "repeatable" or "-", "live" or "restart", help),
 * from which
 * tools/options-doc writes the example config file and the manual's
 * options, and checks the README's table: so none of them drifts from
 * this table. */
static void
dump_options(FILE *out)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_def *o = &options[i];
		fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\n", o->key, o->arg, o->def,
		    o->type == OPT_LIST || o->type == OPT_LISTEN ? "repeatable" : "-",
		    o->reload == LIVE ? "live" : "restart", o->help);
	}
}

/* "HOST:PORT" or "HOST:PORT tls". */
static int
listen_spec_check(const char *value)
{
	const char *sp = strpbrk(value, " \t");
	if (sp == value)
		return -1;
	if (sp == NULL)
		return 0;
	while (*sp == ' ' || *sp == '\t')
		sp++;
	return strcmp(sp, "tls") == 0 ? 0 : -1;
}

int
config_hostport(const char *spec, char *host, size_t hostlen, unsigned *port,
    const char **why)
{
	const char *colon;
	*why = "expected HOST:PORT";
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(close - spec - 1), spec + 1);
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(colon - spec), spec);
	}
	/* Digits only: strtoul would take "-1", and getaddrinfo a service
	 * name, or 99999 modulo 65536. */
	uint16_t p;
	*why = "the port must be a number from 0 to 65535";
	if (addr_port_parse(colon + 1, &p) < 0)
		return -1;
	*port = p;
	return 0;
}

int
config_redis_url(const char *url, struct config_redis *out, const char **why)
{
	static const char scheme[] = "redis://";
	char *host = out->host;
	size_t hostlen = sizeof out->host;
	unsigned *port = &out->port, *db = &out->db;
	*db = 0;
	out->user[0] = out->password[0] = '\0';
	*why = "expected redis://[[USER]:PASSWORD@]HOST:PORT[/DB]";
	if (strncmp(url, scheme, sizeof scheme - 1) != 0)
		return -1;
	const char *hp = url + sizeof scheme - 1;
	/* USER:PASSWORD@ (the last @: a password may hold one, not a host). */
	const char *at = strrchr(hp, '@');
	if (at != NULL) {
		/* USER@ alone: the password is cluster-password-file's. */
		const char *colon = memchr(hp, ':', (size_t)(at - hp));
		size_t ulen = colon != NULL ? (size_t)(colon - hp) : (size_t)(at - hp);
		size_t plen = colon != NULL ? (size_t)(at - colon - 1) : 0;
		if (ulen > CONFIG_REDIS_USER_MAX || plen > CONFIG_REDIS_PASSWORD_MAX) {
			*why = "the user or the password is too long";
			return -1;
		}
		memcpy(out->user, hp, ulen);
		out->user[ulen] = '\0';
		memcpy(out->password, colon + 1, plen);
		out->password[plen] = '\0';
		hp = at + 1;
	}
	const char *slash = strchr(hp, '/');
	char spec[300];
	size_t n = slash != NULL ? (size_t)(slash - hp) : strlen(hp);
	if (n == 0 || n >= sizeof spec)
		return -1;
	memcpy(spec, hp, n);
	spec[n] = '\0';
	if (config_hostport(spec, host, hostlen, port, why) < 0)
		return -1;
	if (host[0] == '\0' || *port == 0) {
		*why = "a host and a port are needed";
		return -1;
	}
	if (slash != NULL) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno != 0 || v > 15) {
			*why = "DB is a number from 0 to 15";
			return -1;
		}
		*db = (unsigned)v;
	}
	return 0;
}

int
config_listen_split(const char *spec, char *addr, size_t addrlen)
{
	size_t n = strcspn(spec, " \t");
	snprintf(addr, addrlen, "%.*s", (int)n, spec);
	return spec[n] != '\0';
}

/* Sets one option; where says where the value came from, for the error. */
static int
option_set(struct config *cfg, const struct option_def *o, const char *value,
    const char *where)
{
	void *field = (char *)cfg + o->offset;
	switch (o->type) {
	case OPT_LISTEN:
		if (listen_spec_check(value) < 0) {
			complain("%s: %s wants HOST:PORT or \"HOST:PORT tls\", not \"%s\"",
			    where, o->key, value);
			return -1;
		} else {
			char addr[512], host[256];
			unsigned port;
			const char *why;
			config_listen_split(value, addr, sizeof addr);
			if (config_hostport(addr, host, sizeof host, &port, &why) < 0) {
				complain("%s: cannot listen on \"%s\": %s", where,
				    addr, why);
				return -1;
			}
		}
		/* fall through */
	case OPT_LIST: {
		struct config_list *list = field;
		if (list->n == CONFIG_LIST_MAX) {
			complain("%s: at most %d %s options",
			    where, CONFIG_LIST_MAX, o->key);
			return -1;
		}
		struct addr_net net;
		if (strcmp(o->key, "proxy-from") == 0 && addr_net_parse(value, &net) < 0) {
			complain("%s: proxy-from wants an ADDRESS or NETWORK/BITS, not \"%s\"",
			    where, value);
			return -1;
		}
		if (strcmp(o->key, "oper") == 0 && strchr(value, ':') == NULL) {
			complain("%s: oper wants NAME:PASSWORD, not \"%s\"",
			    where, value);
			return -1;
		}
		list->v[list->n++] = strdup(value);
		return 0;
	}
	case OPT_OPTSTR:
		free(*(char **)field);
		*(char **)field = *value ? strdup(value) : NULL;
		return 0;
	case OPT_STR:
		if (*value == '\0') {
			complain("%s: %s must not be empty", where, o->key);
			return -1;
		}
		free(*(char **)field);
		*(char **)field = strdup(value);
		return 0;
	case OPT_ULONG: {
		char *end;
		errno = 0;
		unsigned long v = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || value[0] == '-' ||
		    v < o->min || v > o->max) {
			complain("%s: %s wants a whole number from %lu to %lu, not \"%s\"",
			    where, o->key, o->min, o->max, value);
			return -1;
		}
		*(unsigned long *)field = v;
		return 0;
	}
	case OPT_RATE: {
		char *end;
		errno = 0;
		double v = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !isfinite(v) ||
		    v < 0 || v > 1e6) {
			complain("%s: %s wants a number from 0 to 1000000, not \"%s\"",
			    where, o->key, value);
			return -1;
		}
		*(double *)field = v;
		return 0;
	}
	case OPT_LOGFORMAT:
		if (log_format_parse(value, (enum log_format *)field) < 0) {
			complain("%s: %s wants text or json, not \"%s\"",
			    where, o->key, value);
			return -1;
		}
		return 0;
	case OPT_ONOFF:
		if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
			complain("%s: %s wants on or off, not \"%s\"", where,
			    o->key, value);
			return -1;
		}
		*(unsigned long *)field = strcmp(value, "on") == 0;
		/* history's default depends on cluster (config_check). */
		if (strcmp(o->key, "history") == 0)
			cfg->history_given = strcmp(where, "default") != 0;
		return 0;
	case OPT_LOGLEVEL:
		if (log_level_parse(value, (enum log_level *)field) < 0) {
			complain("%s: %s wants error, warn, info or debug, not \"%s\"",
			    where, o->key, value);
			return -1;
		}
		return 0;
	}
	return -1;
}

static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
	    s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* A list option named in the flags replaces what the file said. */
static void
list_reset(struct config_list *list)
{
	for (int i = 0; i < list->n; i++)
		free(list->v[i]);
	list->n = 0;
}

/* Comments, as in redis.conf: a line whose first word starts with '#' is
 * one, and so is " # ..." after a value: a '#' standing alone as a word,
 * to the end of the line. A '#' that starts or is inside a word belongs
 * to the value: a password "#s3cret" or "pa#ss", a room "#lobby". */
static void
strip_comment(char *line)
{
	char *s = line + strspn(line, " \t");
	if (*s == '#') {
		*s = '\0';
		return;
	}
	for (char *p = s; *p != '\0'; p++)
		if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t') &&
		    (p[1] == '\0' || strchr(" \t\r\n", p[1]) != NULL)) {
			*p = '\0';
			return;
		}
}

static int
config_file(struct config *cfg, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		complain("cannot read config file %s: %s", path, strerror(errno));
		return -1;
	}
	char line[4096], where[4200];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
		lineno++;
		strip_comment(line);
		char *s = trim(line);
		if (*s == '\0')
			continue;
		char *value = s + strcspn(s, " \t");
		if (*value != '\0')
			*value++ = '\0';
		value = trim(value);
		snprintf(where, sizeof where, "%s:%d", path, lineno);
		const struct option_def *o = option_find(s);
		if (o == NULL) {
			complain("%s: unknown option \"%s\" (see parleyd --help)", where, s);
			rc = -1;
		} else if (*value == '\0') {
			complain("%s: %s needs a value", where, s);
			rc = -1;
		} else
			rc = option_set(cfg, o, value, where);
	}
	fclose(f);
	return rc;
}

static void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].type != OPT_LIST && options[i].type != OPT_LISTEN)
			option_set(cfg, &options[i], options[i].def, "default");
}

/* Splits "--key=value" or "--key value"; returns the value or NULL. */
static const char *
flag_value(char *arg, int *i, int argc, char **argv)
{
	char *eq = strchr(arg, '=');
	if (eq != NULL) {
		*eq = '\0';
		return eq + 1;
	}
	if (*i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* sts-duration is a number of seconds, and the policy needs a TLS port:
 * sts-port, or the first TLS IRC listener's. */
static int
sts_check(struct config *cfg)
{
	if (cfg->sts_duration == NULL)
		return 0;
	const char *d = cfg->sts_duration;
	if (strspn(d, "0123456789") != strlen(d) || strlen(d) > 10) {
		complain("sts-duration wants a number of seconds, not \"%s\"", d);
		return -1;
	}
	for (int i = 0; cfg->sts_port == 0 && i < cfg->irc_listen.n; i++) {
		char addr[512];
		if (!config_listen_split(cfg->irc_listen.v[i], addr, sizeof addr))
			continue;
		const char *colon = strrchr(addr, ':');
		cfg->sts_port = colon ? strtoul(colon + 1, NULL, 10) : 0;
	}
	if (cfg->sts_port == 0) {
		complain("sts-duration needs an \"irc-listen HOST:PORT tls\" "
		    "or sts-port");
		return -1;
	}
	return 0;
}

/* The server's name goes into every IRC reply (":name 001 ..."), where
 * its length is budgeted: a hostname (RFC 1123 labels), at most
 * SERVER_NAME_MAX bytes. */
static int
hostname_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SERVER_NAME_MAX)
		return 0;
	for (size_t i = 0, label = 0; i <= n; i++, label++) {
		char c = name[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || name[i - 1] == '-')
				return 0;
			label = (size_t)-1;
		} else if (c == '-') {
			if (label == 0)
				return 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* A file or directory the configuration names must be there to read at
 * start, not fail later (a motd-file at the first client's MOTD). The TLS
 * files are read at start already (tls_init). */
static int
paths_check(const struct config *cfg)
{
	struct stat st;
	if (cfg->motd_file != NULL) {
		FILE *f = fopen(cfg->motd_file, "r");
		int err = f == NULL ? errno : fstat(fileno(f), &st) < 0 ? errno :
		    !S_ISREG(st.st_mode) ? EISDIR : 0;
		if (f != NULL)
			fclose(f);
		if (err != 0) {
			complain("cannot read motd-file %s: %s", cfg->motd_file,
			    err == EISDIR ? "not a file" : strerror(err));
			return -1;
		}
	}
	if (cfg->web_dir != NULL) {
		DIR *d = opendir(cfg->web_dir);
		if (d == NULL) {
			complain("cannot read web-dir %s: %s", cfg->web_dir,
			    strerror(errno));
			return -1;
		}
		closedir(d);
	}
	return 0;
}

/* A text the web page shows: one line of valid UTF-8, bounded. */
static int
web_text_check(const char *key, const char *value, size_t max)
{
	if (value == NULL)
		return 0;
	size_t n = strlen(value);
	if (n > max || !text_is_clean(value, n) || text_has_controls(value, 0) ||
	    strchr(value, '\t') != NULL) {
		fprintf(stderr, "parleyd: %s wants at most %zu bytes of UTF-8 text without "
		    "control characters\n", key, max);
		return -1;
	}
	return 0;
}

/* What no single option can check alone. */
static int
config_check(struct config *cfg)
{
	if (paths_check(cfg) < 0)
		return -1;
	if (!hostname_valid(cfg->server_name)) {
		complain("server-name wants a hostname of at most %d bytes "
		    "(letters, digits, '-' and '.'), not \"%.*s%s\"", SERVER_NAME_MAX,
		    SERVER_NAME_MAX + 1, cfg->server_name,
		    strlen(cfg->server_name) > SERVER_NAME_MAX + 1 ? "..." : "");
		return -1;
	}
	const struct config_list *lists[] = { &cfg->listen, &cfg->irc_listen, &cfg->web_listen,
		&cfg->metrics_listen };
	const char *names[] = { "listen", "irc-listen", "web-listen", "metrics-listen" };
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < lists[k]->n; i++) {
			char addr[512];
			if (config_listen_split(lists[k]->v[i], addr, sizeof addr) &&
			    (cfg->tls_cert == NULL || cfg->tls_key == NULL)) {
				complain("%s %s needs tls-cert and tls-key",
				    names[k], lists[k]->v[i]);
				return -1;
			}
		}
	if (web_text_check("web-title", cfg->web_title, WEB_TITLE_MAX) < 0 ||
	    web_text_check("web-description", cfg->web_description, WEB_DESCRIPTION_MAX) < 0)
		return -1;
	if (cfg->group != NULL && cfg->user == NULL) {
		fprintf(stderr, "parleyd: group %s needs user\n", cfg->group);
		return -1;
	}
	if (cfg->cluster_password_file != NULL && cfg->cluster == NULL) {
		complain("cluster-password-file needs cluster");
		return -1;
	}
	if (cfg->cluster != NULL) {
		struct config_redis r;
		const char *why;
		/* Not quoted: it may hold a password. */
		int rc = config_redis_url(cfg->cluster, &r, &why);
		int with_password = r.password[0] != '\0', with_user = r.user[0] != '\0';
		explicit_bzero(&r, sizeof r);
		if (rc < 0) {
			complain("cluster wants redis://[[USER]:PASSWORD@]HOST:PORT[/DB]: %s", why);
			return -1;
		}
		if (with_user && !with_password && cfg->cluster_password_file == NULL) {
			complain("the cluster URL names a Redis user: its password goes in "
			    "cluster-password-file (or the URL)");
			return -1;
		}
		if (with_password && cfg->cluster_password_file != NULL) {
			complain("Redis's password is in the cluster URL and in "
			    "cluster-password-file: give it once (the file keeps it out of ps)");
			return -1;
		}
		/* History and accounts need a database every node shares:
		 * PostgreSQL's. SQLite in data-dir is one node's: without
		 * database, a node keeps none. */
		if (cfg->database == NULL) {
			if (cfg->history && cfg->history_given) {
				complain("history in a cluster needs a database every node "
				    "shares: add database postgresql://USER@HOST/DB (SQLite "
				    "in data-dir is one node's), or use history off");
				return -1;
			}
			cfg->history = 0;
		}
	}
	if (cfg->history_replay > cfg->chathistory_max) {
		complain("history-replay %lu is more than chathistory-max %lu",
		    cfg->history_replay, cfg->chathistory_max);
		return -1;
	}
	return sts_check(cfg);
}

enum config_result
config_load(struct config *cfg, int argc, char **argv)
{
	config_defaults(cfg);

	/* The file first, wherever --config stands, so flags override it. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("parleyd %s\n", PARLEY_VERSION);
			return CONFIG_EXIT_OK;
		}
		if (strcmp(argv[i], "--dump-options") == 0) {
			dump_options(stdout);
			return CONFIG_EXIT_OK;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--config", 8) != 0 ||
		    (argv[i][8] != '\0' && argv[i][8] != '='))
			continue;
		char *arg = strdup(argv[i]);
		const char *path = flag_value(arg, &i, argc, argv);
		int rc = path ? config_file(cfg, path) : -1;
		if (path == NULL)
			complain("--config needs a file name");
		free(arg);
		if (rc < 0)
			return CONFIG_EXIT_USAGE;
	}

	/* Lists the flags have started to replace (by offset). */
	size_t from_flags[NOPTIONS];
	size_t nfrom_flags = 0;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			complain("unexpected argument \"%s\" (see parleyd --help)", argv[i]);
			return CONFIG_EXIT_USAGE;
		}
		char *arg = strdup(argv[i]);
		const char *value = flag_value(arg, &i, argc, argv);
		const char *key = arg + 2;
		int rc = 0;
		const struct option_def *o = option_find(key);
		if (strcmp(key, "config") == 0)
			;
		else if (strcmp(key, "backup") == 0 && value != NULL && *value != '\0') {
			free(cfg->backup);
			cfg->backup = strdup(value);
		} else if (strcmp(key, "backup") == 0) {
			complain("--backup needs a file name");
			rc = -1;
		} else if (o == NULL) {
			complain("unknown option --%s (see parleyd --help)", key);
			rc = -1;
		} else if (value == NULL) {
			complain("--%s needs a value", key);
			rc = -1;
		} else {
			/* "--listen HOST:PORT tls": the word may be its own argument. */
			char joined[600];
			if (o->type == OPT_LISTEN && i + 1 < argc && strcmp(argv[i + 1], "tls") == 0 &&
			    strpbrk(value, " \t") == NULL) {
				snprintf(joined, sizeof joined, "%s tls", value);
				value = joined;
				i++;
			}
			if (o->type == OPT_LIST || o->type == OPT_LISTEN) {
				size_t k = 0;
				while (k < nfrom_flags && from_flags[k] != o->offset)
					k++;
				if (k == nfrom_flags) {
					list_reset((struct config_list *)((char *)cfg + o->offset));
					from_flags[nfrom_flags++] = o->offset;
				}
			}
			char where[64];
			snprintf(where, sizeof where, "--%s", key);
			rc = option_set(cfg, o, value, where);
		}
		free(arg);
		if (rc < 0)
			return CONFIG_EXIT_USAGE;
	}
	if (cfg->listen.n == 0 && cfg->irc_listen.n == 0 && cfg->web_listen.n == 0)
		option_set(cfg, option_find("listen"), option_find("listen")->def, "default");
	return config_check(cfg) < 0 ? CONFIG_EXIT_USAGE : CONFIG_RUN;
}

enum config_result
config_reload(struct config *cfg, int argc, char **argv)
{
	complain_to_log = 1;
	enum config_result rc = config_load(cfg, argc, argv);
	complain_to_log = 0;
	return rc;
}

static int
list_equal(const struct config_list *a, const struct config_list *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

/* Whether o has the same value in a and b. */
static int
option_equal(const struct option_def *o, const struct config *a, const struct config *b)
{
	const void *fa = (const char *)a + o->offset, *fb = (const char *)b + o->offset;
	switch (o->type) {
	case OPT_LIST:
	case OPT_LISTEN:
		return list_equal(fa, fb);
	case OPT_STR:
	case OPT_OPTSTR: {
		const char *sa = *(char *const *)fa, *sb = *(char *const *)fb;
		return sa == sb || (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	}
	case OPT_ULONG:
	case OPT_ONOFF:
		return *(const unsigned long *)fa == *(const unsigned long *)fb;
	case OPT_RATE:
		return *(const double *)fa == *(const double *)fb;
	case OPT_LOGLEVEL:
		return *(const enum log_level *)fa == *(const enum log_level *)fb;
	case OPT_LOGFORMAT:
		return *(const enum log_format *)fa == *(const enum log_format *)fb;
	}
	return 0;
}

/* o's value in from, copied into to. */
static void
option_copy(const struct option_def *o, struct config *to, const struct config *from)
{
	void *ft = (char *)to + o->offset;
	const void *ff = (const char *)from + o->offset;
	switch (o->type) {
	case OPT_LIST:
	case OPT_LISTEN: {
		struct config_list *lt = ft;
		const struct config_list *lf = ff;
		list_reset(lt);
		for (int i = 0; i < lf->n; i++)
			lt->v[lt->n++] = strdup(lf->v[i]);
		return;
	}
	case OPT_STR:
	case OPT_OPTSTR: {
		const char *sf = *(char *const *)ff;
		free(*(char **)ft);
		*(char **)ft = sf != NULL ? strdup(sf) : NULL;
		return;
	}
	case OPT_ULONG:
	case OPT_ONOFF:
		*(unsigned long *)ft = *(const unsigned long *)ff;
		return;
	case OPT_RATE:
		*(double *)ft = *(const double *)ff;
		return;
	case OPT_LOGLEVEL:
		*(enum log_level *)ft = *(const enum log_level *)ff;
		return;
	case OPT_LOGFORMAT:
		*(enum log_format *)ft = *(const enum log_format *)ff;
		return;
	}
}

unsigned
config_reconcile(struct config *fresh, const struct config *running)
{
	unsigned changed = 0;
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_def *o = &options[i];
		if (option_equal(o, fresh, running))
			continue;
		if (o->reload == RESTART) {
			log_warn("SIGHUP: %s changed; it needs a restart, the running value stays",
			    o->key);
			option_copy(o, fresh, running);
		} else {
			log_info("SIGHUP: %s changed", o->key);
			changed++;
		}
	}
	return changed;
}

void
config_free(struct config *cfg)
{
	list_reset(&cfg->listen);
	list_reset(&cfg->irc_listen);
	list_reset(&cfg->oper);
	list_reset(&cfg->web_listen);
	list_reset(&cfg->metrics_listen);
	list_reset(&cfg->allowed_origins);
	list_reset(&cfg->proxy_from);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->web_dir);
	cfg->tls_cert = cfg->tls_key = cfg->web_dir = NULL;
	free(cfg->web_title);
	free(cfg->web_description);
	free(cfg->user);
	free(cfg->group);
	cfg->web_title = cfg->web_description = cfg->user = cfg->group = NULL;
	free(cfg->cluster);
	free(cfg->cluster_password_file);
	cfg->cluster_password_file = NULL;
	free(cfg->node_name);
	cfg->cluster = cfg->node_name = NULL;
	free(cfg->server_name);
	free(cfg->password);
	free(cfg->motd_file);
	free(cfg->sts_duration);
	cfg->server_name = cfg->password = cfg->motd_file = cfg->sts_duration = NULL;
	free(cfg->data_dir);
	free(cfg->database);
	free(cfg->database_password_file);
	free(cfg->backup);
	cfg->data_dir = cfg->database = cfg->database_password_file = cfg->backup = NULL;
}

int
config_password_ok(const struct config *cfg, const char *given)
{
	if (cfg->password == NULL)
		return 1;
	size_t want = strlen(cfg->password), got = strlen(given);
	/* As long whatever the guess: a wrong length compares the password
	 * with itself, and still fails. */
	const char *other = got == want ? given : cfg->password;
	return CRYPTO_memcmp(cfg->password, other, want) == 0 && got == want;
}
