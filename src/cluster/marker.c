/* Read markers across nodes: a marker an account sets on one node is
 * told to that account's connections on the others (IRCv3 read-marker:
 * reading on one device clears another's unread count). The marker
 * itself is in the database every node shares; what travels is only the
 * news of it, to the nodes with a user logged in as the account.
 *
 * Like a KILL (kill.c), a request, not an event: a line "M <account>
 * <target> <ms>" on the node's channel, whose first byte no codec
 * version has. Its node checks it as any input (an account and a target
 * by the hub's rules, a time of digits), else drops it, counted as
 * garbage, and hands it to whoever listens (the IRC door, through the
 * server: cluster_marker_listen). */
#include "cluster/cluster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "chat/names.h"

/* A time in ms is at most this many digits (the year 33658). */
#define MARKER_MS_DIGITS 15
#define MARKER_MAX (sizeof "M " + ACCOUNT_LEN_MAX + 1 + ROOM_LEN_MAX + 1 + MARKER_MS_DIGITS)

/* ms: 1 to MARKER_MS_DIGITS digits, nothing else. */
static int
ms_valid(const char *ms)
{
	size_t n = strspn(ms, "0123456789");
	return n > 0 && n <= MARKER_MS_DIGITS && ms[n] == '\0';
}

void
cluster_marker_listen(struct cluster *cl, cluster_marker_fn *fn, void *ctx)
{
	if (cl == NULL)
		return;
	cl->on_marker = fn;
	cl->marker_ctx = ctx;
}

void
cluster_marker_tell(struct cluster *cl, const char *account, const char *target,
    int64_t at_ms)
{
	if (cl == NULL || cl->closing || !cl->cmd.up)
		return;
	char line[MARKER_MAX];
	int n = snprintf(line, sizeof line, "M %s %s %lld", account, target, (long long)at_ms);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	/* Once to each node with a user logged in as the account. */
	uint8_t told[65536 / 8] = { 0 };
	struct hub_cursor cur = { 0 };
	struct user *u;
	while ((u = hub_cursor_user(cl->hub, &cur)) != NULL) {
		if (!u->remote || !hub_logged_in_as(u, account) ||
		    (told[u->node / 8] & (1u << (u->node % 8))))
			continue;
		told[u->node / 8] |= (uint8_t)(1u << (u->node % 8));
		char channel[CLUSTER_NAME_MAX];
		cluster_node_channel(u->node, channel);
		if (!cluster_can_send(cl))
			return;
		if (redisAsyncCommand(cl->cmd.ac, cluster_counted_reply, cl, "PUBLISH %s %b",
		    channel, line, (size_t)n) == REDIS_OK)
			cl->inflight++;
	}
}

int
cluster_marker_heard(struct cluster *cl, const char *p, size_t n)
{
	char line[MARKER_MAX];
	if (n < 2 || p[1] != ' ' || !text_is_line(p, n, sizeof line - 1)) {
		cl->stats.garbage++;
		return 1;
	}
	memcpy(line, p, n);
	line[n] = '\0';
	char *save = NULL;
	(void)strtok_r(line, " ", &save);
	const char *account = strtok_r(NULL, " ", &save);
	const char *target = strtok_r(NULL, " ", &save);
	const char *ms = strtok_r(NULL, " ", &save);
	if (account == NULL || target == NULL || ms == NULL || !ms_valid(ms) ||
	    strtok_r(NULL, " ", &save) != NULL ||
	    !name_nick_valid(account, ACCOUNT_LEN_MAX) ||
	    (!name_room_valid(target, ROOM_LEN_MAX) && !name_nick_valid(target, NICK_LEN_MAX))) {
		cl->stats.garbage++;
		return 1;
	}
	if (cl->on_marker != NULL)
		cl->on_marker(cl->marker_ctx, account, target, strtoll(ms, NULL, 10));
	return 1;
}
