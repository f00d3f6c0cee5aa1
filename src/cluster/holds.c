/* A command sees the state the commands before it left, also when the
 * cluster decides part of it later: while Redis's answer about a local
 * user's command is on its way (a JOIN's operator status, a guest's
 * nickname), that user's next commands wait (user_ops.hold: its door
 * stops handling its lines), and go on in order once the answer is
 * applied, or the link went, or CLUSTER_HOLD_MS passed (Redis stalled:
 * the answer, when it comes, is applied as it would have been).
 *
 * A hold names its user by nickname (folded) and serial, never by
 * pointer: the user may go while it waits. The publisher tells holds
 * of the user's NICK (a guest renamed meanwhile) and QUIT (gone: no
 * more to end). */
#include "cluster/cluster_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "chat/names.h"

struct cluster_hold {
	struct cluster_hold *prev, *next;  /* on cl->holds while it holds */
	char key[NICK_LEN_MAX + 1];        /* the user's nickname, folded */
	uint32_t serial;                   /* the user's */
	int64_t until;                     /* clock_now_ms(): ends then anyway */
	uint8_t holding;                   /* on the list: the user waits */
};

static void
unlink_hold(struct cluster *cl, struct cluster_hold *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		cl->holds = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	h->holding = 0;
}

/* The user waits no more for h (if it is still there). */
static void
let_go(struct cluster *cl, struct cluster_hold *h)
{
	if (!h->holding)
		return;
	unlink_hold(cl, h);
	struct user *u = hub_user_find(cl->hub, h->key);
	if (u != NULL && !u->remote && u->serial == h->serial && u->ops->hold != NULL)
		(void)u->ops->hold(u, 0);
}

struct cluster_hold *
cluster_hold_user(struct cluster *cl, const char *nick)
{
	struct user *u = hub_user_find(cl->hub, nick);
	if (u == NULL || u->remote || u->ops->hold == NULL)
		return NULL;
	struct cluster_hold *h = calloc(1, sizeof *h);
	if (h == NULL)
		return NULL;   /* not held: it goes on at once, as without a cluster */
	if (u->ops->hold(u, 1) < 0) {
		free(h);
		return NULL;
	}
	snprintf(h->key, sizeof h->key, "%s", u->nick);
	name_fold(h->key, h->key);
	h->serial = u->serial;
	h->until = clock_now_ms() + CLUSTER_HOLD_MS;
	h->holding = 1;
	h->next = cl->holds;
	if (cl->holds != NULL)
		cl->holds->prev = h;
	cl->holds = h;
	return h;
}

void
cluster_hold_end(struct cluster *cl, struct cluster_hold *h)
{
	if (h == NULL)
		return;
	let_go(cl, h);
	free(h);
}

void
cluster_holds_follow(struct cluster *cl, const struct msg *m)
{
	if (cl->holds == NULL || (m->kind != MSG_NICK && m->kind != MSG_QUIT))
		return;
	char from[NICK_LEN_MAX + 1];
	snprintf(from, sizeof from, "%s", m->from);
	name_fold(from, from);
	struct cluster_hold *h = cl->holds, *next;
	for (; h != NULL; h = next) {
		next = h->next;
		if (strcmp(h->key, from) != 0)
			continue;
		if (m->kind == MSG_QUIT) {
			unlink_hold(cl, h);   /* gone: its conn is closing */
		} else {
			snprintf(h->key, sizeof h->key, "%s", m->target);
			name_fold(h->key, h->key);
		}
	}
}

void
cluster_holds_expire(struct cluster *cl, int all)
{
	int64_t now = clock_now_ms();
	struct cluster_hold *h = cl->holds, *next;
	for (; h != NULL; h = next) {
		next = h->next;
		if (all || now >= h->until)
			let_go(cl, h);
	}
}
