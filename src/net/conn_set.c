#include "net/conn_set.h"

#include "net/conn.h"
#include "net/loop.h"

void
conn_set_init(struct conn_set *set, struct loop *loop, const struct conn_limits *limits)
{
	*set = (struct conn_set){ .loop = loop, .limits = *limits };
}

static void
list_unlink(struct conn_list *list, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		list->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		list->tail = c->prev;
	c->prev = c->next = NULL;
}

static void
list_append(struct conn_list *list, struct conn *c)
{
	c->prev = list->tail;
	c->next = NULL;
	if (list->tail)
		list->tail->next = c;
	else
		list->head = c;
	list->tail = c;
}

void
conn_set_add(struct conn_set *set, struct conn *c)
{
	c->unregistered = 1;
	list_append(&set->unregistered, c);
	set->count++;
}

void
conn_set_remove(struct conn_set *set, struct conn *c)
{
	list_unlink(c->unregistered ? &set->unregistered : &set->registered, c);
	set->count--;
}

void
conn_set_touched(struct conn_set *set, struct conn *c)
{
	if (c->unregistered || set->registered.tail == c)
		return;
	list_unlink(&set->registered, c);
	list_append(&set->registered, c);
}

void
conn_set_registered(struct conn_set *set, struct conn *c)
{
	if (!c->unregistered)
		return;
	list_unlink(&set->unregistered, c);
	c->unregistered = 0;
	c->last_input = loop_now(set->loop);
	list_append(&set->registered, c);
}

void
conn_set_merge(struct conn_set *set)
{
	while (set->unregistered.head != NULL) {
		struct conn *c = set->unregistered.head;
		list_unlink(&set->unregistered, c);
		c->unregistered = 0;
		list_append(&set->registered, c);
	}
}

static void
lines_go(struct conn_set *set, struct conn_list *list)
{
	for (struct conn *c = list->head; c != NULL; c = c->next) {
		if (!c->lines_wait)
			continue;
		c->lines_wait = 0;
		c->resume = 1;
		conn_set_flush_later(set, c);
	}
}

void
conn_set_lines_go(struct conn_set *set)
{
	if (!set->lines_waiting)
		return;
	set->lines_waiting = 0;
	lines_go(set, &set->registered);
	lines_go(set, &set->unregistered);
}

void
conn_set_flush_later(struct conn_set *set, struct conn *c)
{
	if (c->queued_flush)
		return;
	c->queued_flush = 1;
	c->flush_next = NULL;
	if (set->flush_list == NULL)
		set->flush_list = c;
	else
		set->flush_tail->flush_next = c;
	set->flush_tail = c;
}

void
conn_set_reap_later(struct conn_set *set, struct conn *c)
{
	if (c->queued_reap)
		return;
	c->queued_reap = 1;
	c->reap_next = set->reap_list;
	set->reap_list = c;
}

int
conn_set_busy(const struct conn_set *set)
{
	return set->flush_list != NULL || set->reap_list != NULL;
}

struct conn *
conn_set_next_flush(struct conn_set *set)
{
	struct conn *c = set->flush_list;
	if (c == NULL)
		return NULL;
	set->flush_list = c->flush_next;
	if (set->flush_list == NULL)
		set->flush_tail = NULL;
	else
		conn_prefetch(set->flush_list);
	c->queued_flush = 0;
	c->flush_next = NULL;
	return c;
}

void
conn_set_flush_sift(struct conn_set *set, int (*keep)(struct conn *c, void *arg), void *arg)
{
	struct conn **at = &set->flush_list, *last = NULL, *c;
	while ((c = *at) != NULL) {
		if (c->flush_next != NULL)
			conn_prefetch(c->flush_next);
		if (keep(c, arg)) {
			last = c;
			at = &c->flush_next;
			continue;
		}
		*at = c->flush_next;
		c->queued_flush = 0;
		c->flush_next = NULL;
	}
	set->flush_tail = last;
}

struct conn *
conn_set_next_reap(struct conn_set *set)
{
	while (set->reap_list != NULL) {
		struct conn *c = set->reap_list;
		set->reap_list = c->reap_next;
		if (!c->queued_flush)
			return c;
		c->reap_next = set->reap_kept;
		set->reap_kept = c;
	}
	set->reap_list = set->reap_kept;
	set->reap_kept = NULL;
	return NULL;
}
