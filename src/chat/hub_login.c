/* Logging in and out (issue 13): user->account, told as MSG_ACCOUNT to
 * the user and its neighbours (account-notify), and the registry's
 * changes that log users out (an account dropped, here or by another
 * process). Whether the credentials are right is accounts/'s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/hub.h"
#include "chat/hub_emit.h"
#include "chat/hub_state.h"

void
hub_account(struct hub *hub, struct user *u, const char *account)
{
	if (account == NULL)
		account = "";
	if (strcmp(u->account, account) == 0)
		return;
	snprintf(u->account, sizeof u->account, "%s", account);
	struct msg *m = hub_msg(hub, MSG_ACCOUNT, u, NULL, NULL, NULL);
	if (m == NULL)
		return;
	/* MONITOR's watchers hear of it too (extended-monitor). */
	hub_emit(hub, m, &(struct audience){ .shape = AUD_NEIGHBOURS, .user = u, .self = 1,
	    .watchers = 1 });
	msg_unref(m);
}

/* Everyone here logged in as name is logged out. A user of another node
 * is its node's to log out (each node reads the registry from the
 * database it shares): its MSG_ACCOUNT comes from there. */
static void
log_out_all(struct hub *hub, const char *name)
{
	struct user *u, *tmp;
	HASH_ITER(hh, hub->users, u, tmp)
		if (!u->remote && hub_logged_in_as(u, name))
			hub_account(hub, u, NULL);
}

/* e leaves the registry (already unlinked from it) and is freed. */
static void
registry_gone(struct hub *hub, struct hub_account *e)
{
	char name[ACCOUNT_LEN_MAX + 1];
	snprintf(name, sizeof name, "%s", e->name);
	hub->naccounts--;
	free(e);
	log_out_all(hub, name);
	hub_rooms_account_gone(hub, name);
}

void
hub_account_remove(struct hub *hub, const char *name)
{
	struct hub_account *e = hub_registry_find(hub, name);
	if (e == NULL)
		return;
	HASH_DEL(hub->accounts, e);
	registry_gone(hub, e);
}

/* A reload: each name named moves to a fresh table; those left behind
 * go. */
int
hub_account_sync(struct hub *hub, const char *const *names, size_t n)
{
	int rc = 0;
	struct hub_account *e, *tmp, *keep = NULL;
	for (size_t i = 0; i < n; i++) {
		char key[ACCOUNT_LEN_MAX + 1];
		/* A name no nick can be (written by hand into the database)
		 * owns nothing: left out, not an error. */
		if (!name_nick_valid(names[i], ACCOUNT_LEN_MAX))
			continue;
		name_fold(key, names[i]);
		HASH_FIND_STR(keep, key, e);
		if (e != NULL)
			continue;
		if (hub_account_add(hub, names[i]) != 0) {
			rc = -1;
			continue;
		}
		e = hub_registry_find(hub, names[i]);
		HASH_DEL(hub->accounts, e);
		HASH_ADD_STR(keep, key, e);
	}
	struct hub_account *gone = hub->accounts;
	hub->accounts = keep;
	HASH_ITER(hh, gone, e, tmp) {
		HASH_DEL(gone, e);
		if (rc != 0)
			/* Out of memory on the way: keep what was. */
			HASH_ADD_STR(hub->accounts, key, e);
		else
			registry_gone(hub, e);
	}
	return rc;
}

void
hub_account_enforce(struct hub *hub, const char *name)
{
	struct user *holder = hub_user_find(hub, name);
	/* Another node's user is renamed by its node. */
	if (holder != NULL && !holder->remote && hub_account_owner(hub, name) != NULL &&
	    !hub_logged_in_as(holder, name))
		(void)hub_nick_guest(hub, holder);
}
