/* Unit tests for hub cursors: a long reply given a piece at a time gives
 * each room, user or member once, whatever comes and goes in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chat/hub.h"

static void
ignore(struct user *u, struct msg *m)
{
	(void)u;
	(void)m;
}

static const struct user_ops ops = { .deliver = ignore };

static struct user *
add_user(struct hub *hub, const char *nick)
{
	enum hub_status st;
	struct user *u = hub_user_new_named(hub, nick, &ops, NULL, "id", "host", "real", &st);
	assert_non_null(u);
	return u;
}

/* users[k] makes room "#rK" (each may make only a few). */
static void
test_rooms_each_once_while_others_come_and_go(void **state)
{
	(void)state;
	struct hub hub;
	hub_init(&hub, 100, 30);
	struct user *users[40];
	char name[32];
	for (int k = 0; k < 40; k++) {
		snprintf(name, sizeof name, "u%d", k);
		users[k] = add_user(&hub, name);
		snprintf(name, sizeof name, "#r%02d", k);
		assert_int_equal(hub_join(&hub, users[k], name), HUB_OK);
	}
	struct hub_cursor cur = { 0 };
	int seen[40] = { 0 }, extra = 0;
	struct room *r;
	int step = 0;
	while ((r = hub_cursor_room(&hub, &cur)) != NULL) {
		int k;
		if (sscanf(r->name, "#r%d", &k) == 1 && k < 40)
			seen[k]++;
		else
			extra++;
		/* Between pieces: the room just given goes, the next one too, a
		 * later one goes, and a new one comes. */
		if (++step == 5) {
			hub_user_quit(&hub, users[4], "bye");      /* #r04: given, gone */
			hub_user_quit(&hub, users[5], "bye");      /* #r05: next, gone */
			hub_user_quit(&hub, users[30], "bye");     /* #r30: later, gone */
			struct user *late = add_user(&hub, "late");
			assert_int_equal(hub_join(&hub, late, "#new"), HUB_OK);
		}
	}
	for (int k = 0; k < 40; k++)
		if (k == 5 || k == 30)
			assert_int_equal(seen[k], 0);
		else
			assert_int_equal(seen[k], 1);
	assert_int_equal(extra, 1); /* #new, made meanwhile, at the end */
	hub_clear(&hub);
}

static void
test_members_each_once_in_order_of_joining(void **state)
{
	(void)state;
	struct hub hub;
	hub_init(&hub, 100, 30);
	struct user *users[30];
	char name[32];
	for (int k = 0; k < 30; k++) {
		snprintf(name, sizeof name, "m%02d", k);
		users[k] = add_user(&hub, name);
		assert_int_equal(hub_join(&hub, users[k], "#big"), HUB_OK);
	}
	struct room *room = hub_room_find(&hub, "#big");
	struct hub_cursor cur = { 0 };
	const struct member *m;
	int seen[30] = { 0 }, step = 0;
	while ((m = hub_cursor_member(room, &cur)) != NULL) {
		int k;
		assert_int_equal(sscanf(m->user->nick, "m%d", &k), 1);
		seen[k]++;
		if (++step == 10) {
			/* Members before and after the cursor leave; m03 joins
			 * again, a membership of now, given at the end. */
			hub_part(&hub, users[2], room, NULL);
			hub_part(&hub, users[3], room, NULL);
			hub_part(&hub, users[20], room, NULL);
			assert_int_equal(hub_join(&hub, users[3], "#big"), HUB_OK);
		}
	}
	for (int k = 0; k < 30; k++)
		assert_int_equal(seen[k], k == 20 ? 0 : k == 3 ? 2 : 1);
	hub_clear(&hub);
}

static void
test_users_renamed_come_again_at_the_end(void **state)
{
	(void)state;
	struct hub hub;
	hub_init(&hub, 100, 30);
	struct user *users[10];
	char name[32];
	for (int k = 0; k < 10; k++) {
		snprintf(name, sizeof name, "n%d", k);
		users[k] = add_user(&hub, name);
	}
	struct hub_cursor cur = { 0 };
	struct user *u;
	int n = 0, renamed = 0;
	while ((u = hub_cursor_user(&hub, &cur)) != NULL) {
		n++;
		if (strcmp(u->nick, "renamed") == 0)
			renamed++;
		if (n == 3) {
			assert_int_equal(hub_nick(&hub, users[1], "renamed"), HUB_OK);
			hub_user_quit(&hub, users[7], "bye");
		}
	}
	assert_int_equal(n, 10 - 1 + 1);
	assert_int_equal(renamed, 1);
	hub_clear(&hub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rooms_each_once_while_others_come_and_go),
		cmocka_unit_test(test_members_each_once_in_order_of_joining),
		cmocka_unit_test(test_users_renamed_come_again_at_the_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
