/* parleyd: a group-chat server. One event loop, many front doors. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accounts/admin.h"
#include "base/config.h"
#include "base/log.h"
#include "server/server.h"
#include "store/store.h"

/* A sanitizer build frees everything before it exits, so that a leak
 * shows. Another leaves that to the exit itself, which gives memory and
 * sockets back at once: freeing piece by piece what 10,000 stalled
 * readers still had queued (millions of entries) took most of a second
 * past the 2 s a shutdown may take. */
#if defined(__SANITIZE_ADDRESS__)
#define PARLEY_FREE_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PARLEY_FREE_AT_EXIT 1
#endif
#endif
#ifndef PARLEY_FREE_AT_EXIT
#define PARLEY_FREE_AT_EXIT 0
#endif

/* How long the log's last lines may wait for a slow reader at exit. */
#define LOG_EXIT_WAIT_MS 500

/* Allocations below this come from the heap (see main). */
#define MMAP_THRESHOLD (64 * 1024 * 1024)

/* parleyd migrate --from sqlite:DIR --to postgresql://...: one line per
 * table copied; exit 0, or 2 with one line. */
static int
migrate_main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	const char *usage = "usage: parleyd migrate --from sqlite:DATA-DIR --to postgresql://...\n"
	    "  copies the history, accounts and their certificates, read markers and\n"
	    "  registered rooms of DATA-DIR's database into an empty PostgreSQL database\n";
	if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--from") == 0)
			from = argv[i + 1];
		else if (strcmp(argv[i], "--to") == 0)
			to = argv[i + 1];
		else
			from = to = NULL, i = argc;
	}
	if (from == NULL || to == NULL || strncmp(from, "sqlite:", 7) != 0 || argc % 2 != 0 ||
	    !store_database_is_pg(to)) {
		fputs(usage, stderr);
		return 2;
	}
	char err[512];
	size_t counts[STORE_MIGRATE_TABLES];
	const char *names[STORE_MIGRATE_TABLES];
	if (store_migrate(from + 7, to, counts, names, err, sizeof err) != 0) {
		fprintf(stderr, "parleyd: migrate: %s\n", err);
		return 2;
	}
	for (size_t i = 0; i < STORE_MIGRATE_TABLES; i++)
		printf("%s: %zu\n", names[i], counts[i]);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
		return migrate_main(argc, argv);
	/* parleyd account ...: a command line beside the server. */
	if (accounts_admin_wanted(argc, argv))
		return accounts_admin_main(argc, argv);
	struct config cfg;
	switch (config_load(&cfg, argc, argv)) {
	case CONFIG_EXIT_OK:
		config_free(&cfg);
		return 0;
	case CONFIG_EXIT_USAGE:
		config_free(&cfg);
		return 2;
	case CONFIG_RUN:
		break;
	}
	log_threshold = cfg.log_level;
	log_set_format(cfg.log_format);
	if (cfg.backup != NULL) {
		/* A separate process, reading the database as any reader does:
		 * a running server on the same data-dir goes on meanwhile. */
		char err[512];
		int rc = -1;
		if (cfg.database != NULL)
			snprintf(err, sizeof err, "the database is PostgreSQL's (database): use its own"
			    " tools (pg_dump) for a copy");
		else {
			/* The copy holds what the data-dir (0700) does: password
			 * hashes, private messages. Its owner's alone, as SQLite
			 * would make it 0644 under the usual umask. */
			umask(077);
			rc = store_backup(cfg.data_dir, cfg.backup, err, sizeof err);
		}
		if (rc < 0)
			fprintf(stderr, "parleyd: backup: %s\n", err);
		config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	/* A conn's output ring grows to hundreds of KiB under a burst (a
	 * join storm queues one entry per join), and glibc would map each
	 * such ring on its own and unmap it when it empties: every unmap a
	 * TLB shootdown, 3.8 s of them to free 10,000 stalled readers on a
	 * 2-core VM. From the heap, the memory is reused instead. */
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	log_open();

	struct server srv;
	if (server_init(&srv, &cfg) < 0) {
		server_free(&srv);
		config_free(&cfg);
		log_close(LOG_EXIT_WAIT_MS);
		return 2;
	}
	srv.argc = argc;
	srv.argv = argv;
	int rc = server_run(&srv) == 0 ? 0 : 1;
#if PARLEY_FREE_AT_EXIT
	server_free(&srv);
	config_free(&cfg);
#endif
	log_close(LOG_EXIT_WAIT_MS);
	return rc;
}
