/* Running as another user (options user and group), as OpenBSD's daemons
 * do: a server started as root binds its listeners, reads its TLS files
 * and opens its database, then gives root up for good before it serves
 * anyone. */
#ifndef PARLEY_PRIVDROP_H
#define PARLEY_PRIVDROP_H

#include <sys/types.h>

#include "base/config.h"

/* The user's (and group's) names are at most this long, as Linux's
 * useradd allows. */
#define PRIVDROP_NAME_MAX 64

struct privdrop {
	int change;                  /* 1: root, to become uid and gid */
	uid_t uid;
	gid_t gid;
	char user[PRIVDROP_NAME_MAX + 1];
	char group[PRIVDROP_NAME_MAX + 1];
};

/* Before anything is opened: looks user and group up. -1 with one line
 * on stderr for an unknown user or group, or a server not started as
 * root that does not already run as them (it cannot become them). */
int privdrop_prepare(struct privdrop *pd, const struct config *cfg);

/* Once everything that needs root is open: gives the data directory and
 * the database's files in it to the user, then setgroups, setgid,
 * setuid, and checks that root cannot be had back. -1 with one line on
 * stderr when any of it fails: the server must not then serve as root. */
int privdrop_apply(const struct privdrop *pd, const char *data_dir);

#endif
