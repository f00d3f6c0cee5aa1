/* Every setting of parleyd. Each is a flag `--key VALUE` and a config-file
 * line `key VALUE`; the table in config.c is the one place that names them,
 * their defaults and their help. */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <stddef.h>

#include "base/log.h"
#include "base/version.h"

#define CONFIG_LIST_MAX 16

/* A repeatable option's values. */
struct config_list {
	char *v[CONFIG_LIST_MAX];
	int n;
};

struct config {
	struct config_list listen;      /* plain-text listeners */
	struct config_list irc_listen;  /* IRC listeners */
	struct config_list web_listen;  /* HTTP listeners: web client and /ws */
	struct config_list metrics_listen; /* HTTP listeners: GET /metrics */
	struct config_list oper;        /* NAME:PASSWORD */
	struct config_list allowed_origins; /* may open /ws from their pages */
	struct config_list proxy_from;  /* reverse proxies trusted to name the client */
	char *tls_cert;              /* PEM paths, or NULL */
	char *tls_key;
	char *web_dir;               /* serve the web client from here, or NULL */
	char *web_title;             /* the web page's name */
	char *web_description;       /* shown on its landing page, or NULL */
	unsigned long handshake_timeout; /* seconds for TLS / an HTTP request */
	char *server_name;
	char *password;              /* connection password on every door, or NULL */
	char *motd_file;             /* or NULL */
	char *sts_duration;          /* IRCv3 sts: seconds, as given, or NULL: no policy */
	unsigned long sts_port;      /* its TLS port (0 in the options: the first
	                              * irc-listen ... tls, filled in by config_load) */
	unsigned long nick_len;
	unsigned long channel_len;
	unsigned long topic_len;
	unsigned long ping_interval; /* seconds of silence before a PING */
	unsigned long ping_timeout;  /* seconds more before giving up */
	unsigned long max_clients;
	unsigned long max_rooms;     /* rooms on the server at once */
	unsigned long node_id;       /* in every msgid (chat/msgid.h); with cluster,
	                              * 0 until Redis hands one out */
	char *cluster;               /* redis://[[USER]:PASSWORD@]HOST:PORT[/DB], or
	                              * NULL: a single node */
	char *cluster_password_file; /* Redis's password, on the first line; or NULL */
	char *node_name;             /* this node's name in the cluster, or NULL */
	unsigned long max_per_ip;    /* 0: no limit */
	unsigned long max_line;
	unsigned long sendq;
	unsigned long flood_burst;
	double flood_rate;           /* lines per second; 0: no flood control */
	unsigned long idle_timeout;  /* seconds; 0: never */
	unsigned long registration_timeout; /* seconds to become a user; 0: never */
	enum log_level log_level;
	enum log_format log_format;
	unsigned long workers;       /* threads for slow work (base/worker.h) */
	unsigned long debug_commands; /* 1: IRC commands only tests use */
	char *data_dir;              /* the database's directory (store/store.h) */
	char *database;              /* a PostgreSQL URL, or NULL: SQLite in data_dir */
	char *database_password_file; /* its password's file, or NULL */
	char *user, *group;          /* run as them after binding (server/privdrop.h), or NULL */
	unsigned long history;       /* 1: rooms' events are stored */
	int history_given;           /* history was set, not defaulted (cluster turns
	                              * the default off) */
	unsigned long register_before_connect; /* 1: IRC REGISTER before the welcome */
	unsigned long history_max_age;  /* days an event is kept; 0: forever */
	unsigned long history_max_rows; /* events kept per room; 0: no bound */
	unsigned long history_replay;   /* lines replayed on join */
	unsigned long chathistory_max;  /* most events one query returns */
	char *backup;                /* --backup FILE: copy the database there, exit */
};

enum config_result { CONFIG_RUN, CONFIG_EXIT_OK, CONFIG_EXIT_USAGE };

/* Fills cfg from defaults, the --config file and the flags, in that order
 * (a flag beats the file). On CONFIG_EXIT_USAGE one error line has been
 * printed. */
enum config_result config_load(struct config *cfg, int argc, char **argv);
/* A listener value "HOST:PORT [tls]": copies HOST:PORT into addr and
 * returns 1 when the tls word follows. */
int config_listen_split(const char *spec, char *addr, size_t addrlen);
/* "host:port", "[v6]:port" or ":port" (host empty): its parts. -1 with
 * *why saying what is wrong (a port must be 0 to 65535, in digits). */
int config_hostport(const char *spec, char *host, size_t hostlen, unsigned *port,
    const char **why);
/* cluster's "redis://[[USER]:PASSWORD@]HOST:PORT[/DB]": its parts (db 0
 * when not given; user and password "" when not given: AUTH PASSWORD,
 * or AUTH USER PASSWORD for a Redis ACL user). -1 with *why saying what
 * is wrong (never quoting the password). */
#define CONFIG_REDIS_USER_MAX 128
#define CONFIG_REDIS_PASSWORD_MAX 512
struct config_redis {
	char host[256];
	unsigned port, db;
	char user[CONFIG_REDIS_USER_MAX + 1];
	char password[CONFIG_REDIS_PASSWORD_MAX + 1];
};
int config_redis_url(const char *url, struct config_redis *out, const char **why);
/* config_load again, with the arguments parleyd started with, for a
 * SIGHUP: its errors go to the log, not stderr. Anything but CONFIG_RUN:
 * the file has an error (logged), and the running config is to stay. */
enum config_result config_reload(struct config *cfg, int argc, char **argv);
/* Makes fresh (a reload's) fit to replace running: an option that only a
 * restart changes (RESTART in the table) takes running's value again,
 * with a log line saying so; each other one that changed is logged.
 * Returns how many of those. */
unsigned config_reconcile(struct config *fresh, const struct config *running);
void config_free(struct config *cfg);
/* 1 when given is the server password (or none is set), compared in
 * constant time: every door asks this one function. */
int config_password_ok(const struct config *cfg, const char *given);

#endif
