/* Nicknames in a cluster (cluster/cluster.h): one nickname space over
 * every node, so NICK and registration ask the cluster before the hub.
 * The answer comes on a later pass of the loop, through the command's
 * reply (irc_reply_keep: its label and batch hold, and what the client
 * gets meanwhile waits behind it); until then the user keeps its old
 * nickname, or stays unregistered. A nickname the cluster gave to a conn
 * that went meanwhile, or that its continuation did not use (the hub
 * refused it), is given back. The client's next lines wait for the
 * answer (conn_hold): a PRIVMSG sent right behind a NICK goes out under
 * the nickname the NICK left, a JOIN behind the registration finds the
 * user registered. */
#include <stdio.h>
#include <stdlib.h>

#include "doors/irc/irc.h"

struct irc_claim {
	struct irc_reply *reply;
	struct cluster *cl;
	irc_claim_fn *fn;
	uint64_t owner;               /* the conn's id */
	uint8_t held;                 /* the conn's lines wait for the answer */
	char nick[NICK_LEN_MAX + 1];
};

/* The answer, for c (NULL when it went): used, or given back. */
static void
finish(struct conn *c, struct irc_claim *j, enum cluster_claim result)
{
	int used = 0;
	if (c != NULL && c->state == CONN_OPEN) {
		struct irc_session *s = irc_session(c);
		if (s->claims > 0)
			s->claims--;
		used = j->fn(c, j->nick, result);
	}
	if (!used && result == CLUSTER_CLAIM_OK)
		cluster_release(j->cl, j->nick, j->owner);
}

static void
claim_done(void *ctx, enum cluster_claim result)
{
	struct irc_claim *j = ctx;
	struct conn *c = irc_reply_resume(j->reply);
	finish(c, j, result);
	irc_reply_done(j->reply);
	if (c != NULL && j->held)
		conn_unhold(c);
	free(j);
}

void
irc_claim(struct conn *c, const char *nick, irc_claim_fn *fn)
{
	struct cluster *cl = door_env(c)->cluster;
	struct irc_claim *j = calloc(1, sizeof *j);
	if (j == NULL) {
		conn_close(c, "Out of memory", CONN_CLOSE_NOW);
		return;
	}
	if ((j->reply = irc_reply_keep(c)) == NULL) {
		free(j);
		return;
	}
	j->cl = cl;
	j->fn = fn;
	j->owner = c->id;
	snprintf(j->nick, sizeof j->nick, "%s", nick);
	irc_session(c)->claims++;
	enum cluster_claim r = cluster_claim(cl, nick, c->id, claim_done, j);
	if (r == CLUSTER_CLAIM_PENDING) {
		j->held = conn_hold(c) == 0;
		return;
	}
	/* Answered at once (held here, or Redis away): inside the command. */
	finish(c, j, r);
	irc_reply_done(j->reply);
	free(j);
}
