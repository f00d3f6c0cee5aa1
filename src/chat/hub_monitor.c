#include "chat/hub_monitor.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "chat/bounds.h"

/* One watched nickname and who watches it. */
struct watch {
	char key[NICK_LEN_MAX + 1];   /* the nickname folded: the hash key */
	char nick[NICK_LEN_MAX + 1];  /* as its first watcher spelled it */
	UT_hash_handle hh;
	struct user **watchers;
	uint32_t n, cap;
};

static struct watch *
watch_find(struct hub *hub, const char *nick)
{
	char key[NICK_LEN_MAX + 1];
	if (strlen(nick) > NICK_LEN_MAX)
		return NULL;
	name_fold(key, nick);
	struct watch *w;
	HASH_FIND_STR(hub->watches, key, w);
	return w;
}

/* Where in u's list w is, or -1. */
static int
watching_index(const struct user *u, const struct watch *w)
{
	for (int i = 0; i < u->nwatching; i++)
		if (u->watching[i] == w)
			return i;
	return -1;
}

enum monitor_result
hub_monitor_add(struct hub *hub, struct user *u, const char *nick)
{
	if (strlen(nick) > NICK_LEN_MAX)
		return MONITOR_FULL;
	struct watch *w = watch_find(hub, nick);
	if (w != NULL && watching_index(u, w) >= 0)
		return MONITOR_ALREADY;
	if (u->nwatching >= HUB_MONITOR_PER_USER || hub->nwatch_links >= HUB_MONITOR_TOTAL)
		return MONITOR_FULL;
	if (u->nwatching == u->capwatching) {
		int cap = u->capwatching ? u->capwatching * 2 : 4;
		if (cap > HUB_MONITOR_PER_USER)
			cap = HUB_MONITOR_PER_USER;
		struct watch **grown = realloc(u->watching, (size_t)cap * sizeof *grown);
		if (grown == NULL)
			return MONITOR_NOMEM;
		u->watching = grown;
		u->capwatching = (uint8_t)cap;
	}
	int created = w == NULL;
	if (created) {
		if ((w = calloc(1, sizeof *w)) == NULL)
			return MONITOR_NOMEM;
		name_fold(w->key, nick);
		memcpy(w->nick, nick, strlen(nick) + 1);
	}
	size_t cap = w->cap;
	struct user **grown = buf_grow(w->watchers, &cap, w->n + 1u, sizeof *grown, 2);
	if (grown == NULL) {
		if (created)
			free(w);
		return MONITOR_NOMEM;
	}
	w->watchers = grown;
	w->cap = (uint32_t)cap;
	if (created)
		HASH_ADD_STR(hub->watches, key, w);
	w->watchers[w->n++] = u;
	u->watching[u->nwatching++] = w;
	hub->nwatch_links++;
	return MONITOR_ADDED;
}

/* Takes the i-th entry of u's list away, and the entry itself when
 * nobody watches that nickname any more. */
static void
unwatch(struct hub *hub, struct user *u, int i)
{
	struct watch *w = u->watching[i];
	u->watching[i] = u->watching[--u->nwatching];
	for (uint32_t k = 0; k < w->n; k++)
		if (w->watchers[k] == u) {
			w->watchers[k] = w->watchers[--w->n];
			break;
		}
	hub->nwatch_links--;
	if (w->n == 0) {
		HASH_DEL(hub->watches, w);
		free(w->watchers);
		free(w);
	}
}

void
hub_monitor_del(struct hub *hub, struct user *u, const char *nick)
{
	struct watch *w = watch_find(hub, nick);
	int i = w != NULL ? watching_index(u, w) : -1;
	if (i >= 0)
		unwatch(hub, u, i);
}

void
hub_monitor_clear(struct hub *hub, struct user *u)
{
	while (u->nwatching > 0)
		unwatch(hub, u, u->nwatching - 1);
	free(u->watching);
	u->watching = NULL;
	u->capwatching = 0;
}

void
hub_monitor_each(const struct user *u, void (*fn)(const char *nick, void *data),
    void *data)
{
	for (int i = 0; i < u->nwatching; i++)
		fn(u->watching[i]->nick, data);
}

void
hub_monitor_presence(struct hub *hub, const char *nick, const struct user *who)
{
	struct watch *w = watch_find(hub, nick);
	if (w == NULL)
		return;
	for (uint32_t i = 0; i < w->n; i++)
		if (w->watchers[i]->ops->presence != NULL)
			w->watchers[i]->ops->presence(w->watchers[i], nick, who);
}

void
hub_monitor_tell(struct hub *hub, struct user *u, struct msg *m)
{
	struct watch *w = watch_find(hub, u->nick);
	if (w == NULL)
		return;
	for (uint32_t i = 0; i < w->n; i++) {
		struct user *watcher = w->watchers[i];
		if (watcher->stamp != hub->stamp && watcher->ops->watched != NULL)
			watcher->ops->watched(watcher, m);
	}
}

void
hub_monitor_free_all(struct hub *hub)
{
	struct watch *w, *tmp;
	HASH_ITER(hh, hub->watches, w, tmp) {
		HASH_DEL(hub->watches, w);
		free(w->watchers);
		free(w);
	}
	hub->nwatch_links = 0;
}
