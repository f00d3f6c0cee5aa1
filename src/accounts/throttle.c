/* A leaky bucket per key, in a uthash table kept in the order keys were
 * last touched (a touched key moves to the end), so the oldest is the
 * first and is forgotten when the table is full. */
#include "accounts/throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct bucket {
	char key[THROTTLE_KEY_MAX + 1];
	double level;        /* failures not yet forgiven */
	int64_t at_ms;       /* when level was last brought up to date */
	UT_hash_handle hh;
};

struct throttle {
	struct bucket *table;   /* uthash, oldest touched first */
	size_t n, max;
	unsigned burst;
	uint32_t forgive_ms;
};

struct throttle *
throttle_new(size_t max_entries, unsigned burst, uint32_t forgive_ms)
{
	struct throttle *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->max = max_entries > 0 ? max_entries : 1;
	t->burst = burst > 0 ? burst : 1;
	t->forgive_ms = forgive_ms > 0 ? forgive_ms : 1;
	return t;
}

void
throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	struct bucket *b, *tmp;
	HASH_ITER(hh, t->table, b, tmp) {
		HASH_DEL(t->table, b);
		free(b);
	}
	free(t);
}

/* key's bucket, its level leaked down to now; NULL when it has none. */
static struct bucket *
find(struct throttle *t, const char *key, int64_t now_ms)
{
	char k[THROTTLE_KEY_MAX + 1];
	snprintf(k, sizeof k, "%s", key);
	struct bucket *b;
	HASH_FIND_STR(t->table, k, b);
	if (b != NULL && now_ms > b->at_ms) {
		b->level -= (double)(now_ms - b->at_ms) / t->forgive_ms;
		if (b->level < 0)
			b->level = 0;
		b->at_ms = now_ms;
	}
	return b;
}

static void
drop(struct throttle *t, struct bucket *b)
{
	HASH_DEL(t->table, b);
	t->n--;
	free(b);
}

int
throttle_allowed(struct throttle *t, const char *key, int64_t now_ms)
{
	struct bucket *b = find(t, key, now_ms);
	return b == NULL || b->level + 1 <= t->burst;
}

void
throttle_fail(struct throttle *t, const char *key, int64_t now_ms)
{
	struct bucket *b = find(t, key, now_ms);
	if (b != NULL) {
		/* To the end: touched last. */
		HASH_DEL(t->table, b);
		HASH_ADD_STR(t->table, key, b);
	} else {
		if (t->n >= t->max)
			drop(t, t->table);  /* the oldest */
		if ((b = calloc(1, sizeof *b)) == NULL)
			return;
		snprintf(b->key, sizeof b->key, "%s", key);
		b->at_ms = now_ms;
		HASH_ADD_STR(t->table, key, b);
		t->n++;
	}
	b->level += 1;
}

void
throttle_refund(struct throttle *t, const char *key, int64_t now_ms)
{
	struct bucket *b = find(t, key, now_ms);
	if (b == NULL)
		return;
	b->level -= 1;
	if (b->level <= 0)
		drop(t, b);
}

void
throttle_clear(struct throttle *t, const char *key)
{
	char k[THROTTLE_KEY_MAX + 1];
	snprintf(k, sizeof k, "%s", key);
	struct bucket *b;
	HASH_FIND_STR(t->table, k, b);
	if (b != NULL)
		drop(t, b);
}

size_t
throttle_size(const struct throttle *t)
{
	return t->n;
}
