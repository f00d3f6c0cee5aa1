/* MONITOR (IRCv3 monitor, extended-monitor): users watching nicknames.
 * A nickname is watched whether anyone has it or not; its watchers hear
 * when someone takes it (online) or leaves it (offline), and, through
 * their door's watched op, of changes to whoever has it. Bounded per user
 * (HUB_MONITOR_PER_USER) and in total (HUB_MONITOR_TOTAL).
 *
 * Below hub.c and hub_emit.c: it is told of presence and events, and
 * calls only the watchers' ops, never back into the hub. */
#ifndef PARLEY_HUB_MONITOR_H
#define PARLEY_HUB_MONITOR_H

#include "chat/hub.h"

enum monitor_result {
	MONITOR_ADDED,
	MONITOR_ALREADY,  /* u watched it already */
	MONITOR_FULL,     /* u's list, or every list together, is full */
	MONITOR_NOMEM,
};

/* u watches nick (a valid nickname). */
enum monitor_result hub_monitor_add(struct hub *hub, struct user *u, const char *nick);
/* u stops watching nick; nothing when it did not. */
void hub_monitor_del(struct hub *hub, struct user *u, const char *nick);
/* u stops watching anything (MONITOR C, and when u quits). */
void hub_monitor_clear(struct hub *hub, struct user *u);
/* The nicknames u watches, as first spelled: fn for each. */
void hub_monitor_each(const struct user *u, void (*fn)(const char *nick, void *data),
    void *data);

/* At exit: every list dropped, nobody told. */
void hub_monitor_free_all(struct hub *hub);

/* For hub_emit.c. who took nick (who != NULL) or nobody has it any more. */
void hub_monitor_presence(struct hub *hub, const char *nick, const struct user *who);
/* m, an event about u (away, real name, host), to the watchers of u's
 * nick that did not get it as neighbours (their stamp is not the hub's). */
void hub_monitor_tell(struct hub *hub, struct user *u, struct msg *m);

#endif
