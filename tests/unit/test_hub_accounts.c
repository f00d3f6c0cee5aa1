/* Unit tests for accounts as the hub sees them: the registry (add in any
 * case, respelled, removed, synced to a list: the others go and whoever
 * was logged in as them is logged out); nick ownership (HUB_EOWNED for a
 * new user and for one not logged in as the owner, its own for the
 * owner, a nick in use still in use, guests never get a registered
 * name, hub_nick_guest); logging in and out (MSG_ACCOUNT to the user
 * and its neighbours once each, nothing when nothing changes; the msgs
 * a logged-in user makes carry its account); an applied MSG_ACCOUNT
 * sets a remote user's account. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chat/hub.h"

#define MAX_SEEN 256

struct seen {
	struct user *to;
	enum msg_kind kind;
	char account[ACCOUNT_LEN_MAX + 1];
	char from[NICK_LEN_MAX + 1];
};

static struct seen seen[MAX_SEEN];
static size_t nseen;

static void
deliver(struct user *u, struct msg *m)
{
	assert_true(nseen < MAX_SEEN);
	seen[nseen].to = u;
	seen[nseen].kind = m->kind;
	snprintf(seen[nseen].account, sizeof seen[nseen].account, "%s", m->account);
	snprintf(seen[nseen].from, sizeof seen[nseen].from, "%s", m->from);
	nseen++;
}

static const struct user_ops ops = { .deliver = deliver };

static int
count(const struct user *u, enum msg_kind kind)
{
	int n = 0;
	for (size_t i = 0; i < nseen; i++)
		if (seen[i].to == u && seen[i].kind == kind)
			n++;
	return n;
}

static struct user *
user(struct hub *hub, const char *nick)
{
	enum hub_status st;
	struct user *u = hub_user_new_named(hub, nick, &ops, NULL, "id", "host", "real", &st);
	assert_non_null(u);
	return u;
}

static void
test_registry(void **state)
{
	(void)state;
	struct hub hub;
	hub_init(&hub, 100, NICK_LEN_MAX);
	assert_int_equal(hub_account_add(&hub, "Alice"), 0);
	assert_int_equal(hub_account_add(&hub, "bob"), 0);
	assert_int_equal(hub_account_add(&hub, "1bad"), -1);
	assert_int_equal(hub.naccounts, 2);
	assert_string_equal(hub_account_owner(&hub, "ALICE"), "Alice");
	assert_int_equal(hub_account_add(&hub, "ALICE"), 0);  /* respelled */
	assert_int_equal(hub.naccounts, 2);
	assert_string_equal(hub_account_owner(&hub, "alice"), "ALICE");
	assert_null(hub_account_owner(&hub, "carol"));
	char longname[100];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_null(hub_account_owner(&hub, longname));

	/* Logged in as bob: the sync that drops bob logs it out. */
	struct user *u = user(&hub, "someone");
	hub_account(&hub, u, "bob");
	const char *const names[] = { "alice", "Carol", "carol" };
	assert_int_equal(hub_account_sync(&hub, names, 3), 0);
	assert_int_equal(hub.naccounts, 2);
	assert_string_equal(hub_account_owner(&hub, "ALICE"), "alice");
	assert_string_equal(hub_account_owner(&hub, "carol"), "Carol");
	assert_null(hub_account_owner(&hub, "bob"));
	assert_string_equal(u->account, "");

	hub_account(&hub, u, "Carol");
	hub_account_remove(&hub, "CAROL");
	assert_null(hub_account_owner(&hub, "carol"));
	assert_string_equal(u->account, "");
	hub_account_remove(&hub, "nobody");
	assert_int_equal(hub.naccounts, 1);
	hub_clear(&hub);
	assert_int_equal(hub.naccounts, 0);
}

static void
test_ownership(void **state)
{
	(void)state;
	struct hub hub;
	hub_init(&hub, 100, NICK_LEN_MAX);
	assert_int_equal(hub_account_add(&hub, "alice"), 0);
	assert_int_equal(hub_nick_available(&hub, "Alice", NULL), HUB_EOWNED);
	enum hub_status st;
	assert_null(hub_user_new_named(&hub, "alice", &ops, NULL, "i", "h", "r", &st));
	assert_int_equal(st, HUB_EOWNED);
	struct user *u = user(&hub, "x");
	assert_int_equal(hub_nick(&hub, u, "ALICE"), HUB_EOWNED);
	hub_account(&hub, u, "Alice");
	assert_int_equal(hub_nick(&hub, u, "ALICE"), HUB_OK);
	/* Another logged in as alice: in use, not owned. */
	struct user *v = user(&hub, "y");
	hub_account(&hub, v, "alice");
	assert_int_equal(hub_nick(&hub, v, "alice"), HUB_ENICKINUSE);
	/* Out of the account, the nick goes for a guest's. */
	hub_account(&hub, u, NULL);
	assert_non_null(hub_account_owner(&hub, u->nick));
	assert_int_equal(hub_nick_guest(&hub, u), HUB_OK);
	assert_int_equal(strncmp(u->nick, "guest", 5), 0);
	/* Guests skip registered names. */
	char next[NICK_LEN_MAX + 1];
	snprintf(next, sizeof next, "guest%u", hub.guests + 1);
	assert_int_equal(hub_account_add(&hub, next), 0);
	struct user *g = hub_user_new(&hub, &ops, NULL, "i", "h", "r");
	assert_string_not_equal(g->nick, next);
	hub_clear(&hub);
}

static void
test_login_told(void **state)
{
	(void)state;
	struct hub hub;
	hub_init(&hub, 100, NICK_LEN_MAX);
	struct user *a = user(&hub, "a"), *b = user(&hub, "b"), *c = user(&hub, "c");
	struct user *far = user(&hub, "far");
	assert_int_equal(hub_join(&hub, a, "#one"), HUB_OK);
	assert_int_equal(hub_join(&hub, a, "#two"), HUB_OK);
	assert_int_equal(hub_join(&hub, b, "#one"), HUB_OK);
	assert_int_equal(hub_join(&hub, b, "#two"), HUB_OK);
	assert_int_equal(hub_join(&hub, c, "#two"), HUB_OK);
	nseen = 0;
	hub_account(&hub, a, "Acct");
	assert_string_equal(a->account, "Acct");
	assert_int_equal(count(a, MSG_ACCOUNT), 1);
	assert_int_equal(count(b, MSG_ACCOUNT), 1);  /* once, though in two rooms */
	assert_int_equal(count(c, MSG_ACCOUNT), 1);
	assert_int_equal(count(far, MSG_ACCOUNT), 0);
	assert_string_equal(seen[0].account, "Acct");
	nseen = 0;
	hub_account(&hub, a, "Acct");  /* no change, nothing told */
	assert_int_equal(nseen, 0);
	/* What a logged-in user says carries its account. */
	struct room *one = hub_room_find(&hub, "#one");
	assert_int_equal(hub_say(&hub, a, one, MSG_SAY, "hi"), HUB_OK);
	assert_int_equal(count(b, MSG_SAY), 1);
	assert_string_equal(seen[nseen - 1].account, "Acct");
	nseen = 0;
	hub_account(&hub, a, "");
	assert_string_equal(a->account, "");
	assert_int_equal(count(b, MSG_ACCOUNT), 1);
	assert_string_equal(seen[0].account, "");
	assert_int_equal(hub_logged_in_as(a, "acct"), 0);
	hub_clear(&hub);
}

/* One hub's MSG_ACCOUNT applied on another: the remote user's account
 * follows, and its neighbours there are told. */
static void
capture(void *ctx, struct msg *m, const struct audience *to)
{
	(void)to;
	struct msg **out = ctx;
	if (m->kind == MSG_ACCOUNT || m->kind == MSG_CONNECT || m->kind == MSG_JOIN) {
		m->refs++;
		for (int i = 0; i < 8; i++)
			if (out[i] == NULL) {
				out[i] = m;
				break;
			}
	}
}

static void
test_apply(void **state)
{
	(void)state;
	struct hub one, two;
	hub_init(&one, 100, NICK_LEN_MAX);
	hub_init(&two, 100, NICK_LEN_MAX);
	struct msg *got[8] = { 0 };
	hub_observe(&one, capture, got);
	struct user *a = user(&one, "a");
	assert_int_equal(hub_join(&one, a, "#r"), HUB_OK);
	hub_account(&one, a, "Acct");
	struct user *here = user(&two, "here");
	for (int i = 0; i < 8 && got[i] != NULL; i++) {
		if (got[i]->kind == MSG_ACCOUNT)
			assert_int_equal(hub_join(&two, here, "#r"), HUB_OK);
		nseen = 0;
		assert_int_equal(hub_apply(&two, got[i]), HUB_OK);
		msg_unref(got[i]);
	}
	struct user *remote = hub_user_find(&two, "a");
	assert_non_null(remote);
	assert_string_equal(remote->account, "Acct");
	assert_int_equal(count(here, MSG_ACCOUNT), 1);
	hub_clear(&one);
	hub_clear(&two);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_login_told),
		cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
