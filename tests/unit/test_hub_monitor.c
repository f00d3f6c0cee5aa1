/* Unit tests for MONITOR's lists in the hub: who hears of which nickname,
 * and the bounds per user and in total. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/bounds.h"
#include "chat/hub.h"
#include "chat/hub_monitor.h"

/* What the fake door heard: "user: +nick" or "user: -nick", and events. */
static char heard[64][128];
static int nheard;

static void
fake_deliver(struct user *u, struct msg *m)
{
	(void)u;
	(void)m;
}

static void
fake_presence(struct user *u, const char *nick, const struct user *who)
{
	assert_true(nheard < 64);
	snprintf(heard[nheard++], sizeof heard[0], "%s: %c%s", u->nick, who ? '+' : '-',
	    who ? who->nick : nick);
}

static void
fake_watched(struct user *u, struct msg *m)
{
	assert_true(nheard < 64);
	snprintf(heard[nheard++], sizeof heard[0], "%s: %s from %s", u->nick,
	    m->kind == MSG_AWAY ? "away" : "other event", m->from);
}

static const struct user_ops fake_ops = {
	.deliver = fake_deliver, .presence = fake_presence, .watched = fake_watched,
};

static struct user *
new_user(struct hub *hub, const char *nick)
{
	static int owner;
	enum hub_status st;
	struct user *u = hub_user_new_named(hub, nick, &fake_ops, &owner, "i", "h", "r", &st);
	assert_non_null(u);
	return u;
}

static int
setup(void **state)
{
	struct hub *hub = malloc(sizeof *hub);
	if (hub == NULL)
		return -1;
	hub_init(hub, 100, NICK_LEN_MAX);
	nheard = 0;
	*state = hub;
	return 0;
}

static int
teardown(void **state)
{
	struct hub *hub = *state;
	hub_clear(hub);
	assert_null(hub->watches);
	assert_int_equal(hub->nwatch_links, 0);
	free(hub);
	return 0;
}

static void
test_presence_follows_nicks(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	assert_int_equal(hub_monitor_add(hub, a, "Bob"), MONITOR_ADDED);
	assert_int_equal(hub_monitor_add(hub, a, "bob"), MONITOR_ALREADY);
	struct user *b = new_user(hub, "bob");
	assert_int_equal(hub_nick(hub, b, "BOB"), HUB_OK);  /* case only: nothing */
	assert_int_equal(hub_nick(hub, b, "robert"), HUB_OK);
	assert_int_equal(nheard, 2);
	assert_string_equal(heard[0], "alice: +bob");
	assert_string_equal(heard[1], "alice: -BOB");
	/* An event about whoever has the nick, once a neighbour does not. */
	assert_int_equal(hub_nick(hub, b, "bob"), HUB_OK);
	assert_int_equal(hub_away(hub, b, "lunch"), HUB_OK);
	assert_int_equal(nheard, 4);
	assert_string_equal(heard[3], "alice: away from bob");
	assert_int_equal(hub_join(hub, a, "#r"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#r"), HUB_OK);
	assert_int_equal(hub_away(hub, b, NULL), HUB_OK);
	assert_int_equal(nheard, 4);
	hub_user_quit(hub, b, "bye");
	assert_int_equal(nheard, 5);
	assert_string_equal(heard[4], "alice: -bob");
	/* A quitting watcher's list goes with it. */
	hub_user_quit(hub, a, "bye");
	assert_null(hub->watches);
	assert_int_equal(hub->nwatch_links, 0);
}

static void
test_remove_and_clear(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *c = new_user(hub, "carol");
	assert_int_equal(hub_monitor_add(hub, a, "x"), MONITOR_ADDED);
	assert_int_equal(hub_monitor_add(hub, c, "x"), MONITOR_ADDED);
	assert_int_equal(hub_monitor_add(hub, a, "y"), MONITOR_ADDED);
	hub_monitor_del(hub, a, "X");
	hub_monitor_del(hub, a, "never");
	assert_int_equal(hub->nwatch_links, 2);
	new_user(hub, "x");
	assert_int_equal(nheard, 1);
	assert_string_equal(heard[0], "carol: +x");
	hub_monitor_clear(hub, c);
	assert_int_equal(hub->nwatch_links, 1);
	assert_null(c->watching);
}

static void
test_bounded_per_user_and_in_total(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	char nick[16];
	for (int i = 0; i < HUB_MONITOR_PER_USER; i++) {
		snprintf(nick, sizeof nick, "n%d", i);
		assert_int_equal(hub_monitor_add(hub, a, nick), MONITOR_ADDED);
	}
	assert_int_equal(hub_monitor_add(hub, a, "one-more"), MONITOR_FULL);
	assert_int_equal(hub_monitor_add(hub, a, "n1"), MONITOR_ALREADY);
	/* Everyone's lists together. */
	int users = HUB_MONITOR_TOTAL / HUB_MONITOR_PER_USER;
	for (int u = 1; u < users; u++) {
		snprintf(nick, sizeof nick, "u%d", u);
		struct user *w = new_user(hub, nick);
		for (int i = 0; i < HUB_MONITOR_PER_USER; i++) {
			snprintf(nick, sizeof nick, "n%d", i);
			assert_int_equal(hub_monitor_add(hub, w, nick), MONITOR_ADDED);
		}
	}
	assert_int_equal(hub->nwatch_links, HUB_MONITOR_TOTAL);
	struct user *late = new_user(hub, "late");
	assert_int_equal(hub_monitor_add(hub, late, "n1"), MONITOR_FULL);
	hub_monitor_clear(hub, a);
	assert_int_equal(hub_monitor_add(hub, late, "n1"), MONITOR_ADDED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_presence_follows_nicks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_and_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_per_user_and_in_total, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
