/* parleyd: a group-chat server. One event loop, many front doors. */
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "server.h"

int
main(int argc, char **argv)
{
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

	struct server srv;
	int rc = 2;
	if (server_init(&srv, &cfg) == 0)
		rc = server_run(&srv) == 0 ? 0 : 1;
	server_free(&srv);
	config_free(&cfg);
	return rc;
}
