/* What every door shares: the way to another door by name, and what the
 * doors whose conns carry a user do alike. */
#include <string.h>

#include "doors/door.h"

#include "base/addr.h"
#include "chat/hub.h"

uintptr_t
door_address_key(const struct conn *c)
{
	/* FNV-1a of the address as max-per-ip counts it (addr_key: an IPv6
	 * /64 is one, as one host holds all of it): keyed by the whole
	 * address, one /64 took as many turns as it has addresses. Two that
	 * meet share their turns, no more. */
	char key[ADDR_KEY_MAX];
	addr_key(c->host, key);
	uint64_t h = 14695981039346656037ull;
	for (const char *p = key; *p != '\0'; p++)
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

int
door_foreign_line(const char *line, size_t len)
{
	/* A TLS handshake record: content type 22, version 3.x. */
	if (len >= 2 && line[0] == 0x16 && line[1] == 0x03)
		return 1;
	/* "METHOD TARGET HTTP/...": a method is capitals, the target has
	 * no space. */
	size_t i = 0;
	while (i < len && i <= 16 && line[i] >= 'A' && line[i] <= 'Z')
		i++;
	if (i == 0 || i > 16 || i >= len || line[i] != ' ')
		return 0;
	size_t target = ++i;
	while (i < len && line[i] != ' ')
		i++;
	return i > target && len - i >= 6 && memcmp(line + i, " HTTP/", 6) == 0;
}
