/* What every door shares: the way to another door by name, and what the
 * doors whose conns carry a user do alike. */
#include <string.h>

#include "doors/door.h"

#include "chat/hub.h"

uintptr_t
door_address_key(const struct conn *c)
{
	/* FNV-1a of the address as text: two addresses that meet share
	 * their turns, no more. */
	uint64_t h = 14695981039346656037ull;
	for (const char *p = c->host; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return (uintptr_t)h | 1;
}

const struct door *
door_find(const struct door_env *env, const char *name)
{
	for (const struct door *const *d = env->doors; *d != NULL; d++)
		if (strcmp((*d)->name, name) == 0)
			return *d;
	return NULL;
}

void
door_disconnect_user(struct user *u, const char *reason)
{
	conn_close(u->door, reason, CONN_CLOSE_AFTER_FLUSH | CONN_CLOSE_FAREWELL);
}

int
door_hold_user(struct user *u, int on)
{
	if (!on) {
		conn_unhold(u->door);
		return 0;
	}
	return conn_hold(u->door);
}

const char *
door_who(const struct conn *c)
{
	return c->user != NULL ? c->user->nick : NULL;
}
