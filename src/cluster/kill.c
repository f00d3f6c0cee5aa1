/* KILL across nodes: an operator on one node disconnects a user of
 * another. The hub asks a user's ops to disconnect it; for a user of
 * another node those ops (cluster_remote_ops, given to every remote user
 * when it comes) send the request to the user's node, on its node
 * channel, where the user's own door says why and closes it. The QUIT
 * that follows is that node's event, published as any.
 *
 * The request is not an event (it changes nothing by itself): a line
 * "K <node> <nick> <reason>" whose first byte no codec version has. Its
 * node checks it as it checks any event: a nickname of one of its own
 * users, a clean reason of at most HUB_REASON_MAX bytes; else dropped,
 * counted as garbage. */
#include "cluster/cluster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/text.h"
#include "chat/names.h"

#define KILL_MAX (sizeof "K 65535 " + NICK_LEN_MAX + 1 + HUB_REASON_MAX)

static void
nothing(struct user *u, struct msg *m)
{
	(void)u;
	(void)m;
}

/* u is another node's (its door is the cluster: apply.c). */
static void
kill_remote(struct user *u, const char *reason)
{
	struct cluster *cl = u->door;
	if (cl == NULL || !cl->cmd.up || cl->closing)
		return;
	char channel[CLUSTER_NAME_MAX];
	cluster_node_channel(u->node, channel);
	char line[KILL_MAX];
	int n = snprintf(line, sizeof line, "K %u %s %s", (unsigned)cl->node, u->nick, reason);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	if (redisAsyncCommand(cl->cmd.ac, cluster_counted_reply, cl, "PUBLISH %s %b", channel, line,
	    (size_t)n) == REDIS_OK)
		cl->inflight++;
}

const struct user_ops cluster_remote_ops = {
	.deliver = nothing,
	.disconnect = kill_remote,
};

int
cluster_on_request(struct cluster *cl, const char *p, size_t n)
{
	if (n > 0 && p[0] == 'M')
		return cluster_marker_heard(cl, p, n);
	if (n == 0 || p[0] != 'K')
		return 0;
	char line[KILL_MAX];
	if (!text_is_line(p, n, sizeof line - 1)) {
		cl->stats.garbage++;
		return 1;
	}
	memcpy(line, p, n);
	line[n] = '\0';
	char *save = NULL;
	(void)strtok_r(line, " ", &save);
	const char *node = strtok_r(NULL, " ", &save);
	const char *nick = strtok_r(NULL, " ", &save);
	const char *reason = save;
	if (node == NULL || nick == NULL || reason == NULL || *reason == '\0' ||
	    strlen(reason) > HUB_REASON_MAX || !name_nick_valid(nick, NICK_LEN_MAX)) {
		cl->stats.garbage++;
		return 1;
	}
	struct user *u = hub_user_find(cl->hub, nick);
	if (u == NULL || u->remote)
		return 1;   /* gone, or renamed, since */
	log_info("cluster: KILL of %s from node %s: %s", u->nick, node, reason);
	u->ops->disconnect(u, reason);
	return 1;
}
