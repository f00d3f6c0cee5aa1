/* The registry of registered names (issue 13): whose nicknames nobody
 * else may take (hub_nick_available). Only the state: logging users in
 * and out, which tells them, is hub_login.c's. The credentials and the
 * database are accounts/'s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/hub.h"
#include "chat/hub_state.h"

struct hub_account *
hub_registry_find(const struct hub *hub, const char *name)
{
	char key[ACCOUNT_LEN_MAX + 1];
	if (strlen(name) > ACCOUNT_LEN_MAX)
		return NULL;
	name_fold(key, name);
	struct hub_account *e;
	HASH_FIND_STR(hub->accounts, key, e);
	return e;
}

int
hub_account_add(struct hub *hub, const char *name)
{
	if (!name_nick_valid(name, ACCOUNT_LEN_MAX))
		return -1;
	struct hub_account *e = hub_registry_find(hub, name);
	if (e == NULL) {
		if ((e = calloc(1, sizeof *e)) == NULL)
			return -1;
		name_fold(e->key, name);
		HASH_ADD_STR(hub->accounts, key, e);
		hub->naccounts++;
	}
	snprintf(e->name, sizeof e->name, "%s", name);
	return 0;
}

void
hub_accounts_free(struct hub *hub)
{
	struct hub_account *e, *tmp;
	HASH_ITER(hh, hub->accounts, e, tmp) {
		HASH_DEL(hub->accounts, e);
		free(e);
	}
	hub->naccounts = 0;
}

const char *
hub_account_owner(const struct hub *hub, const char *nick)
{
	const struct hub_account *e = hub_registry_find(hub, nick);
	return e != NULL ? e->name : NULL;
}

int
hub_logged_in_as(const struct user *u, const char *account)
{
	return u->account[0] != '\0' && strcasecmp(u->account, account) == 0;
}
