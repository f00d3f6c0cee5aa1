/* Unit tests for the hub: nicknames, rooms, membership and who gets which
 * event. Users are fakes whose deliver records what arrived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "chat/hub.h"

#define TOPIC_LEN 20
#define MAX_EVENTS 1024

/* One delivered event, its strings copied (the msg is not ours to keep). */
struct event {
	struct user *to;
	enum msg_kind kind;
	int has_room, has_target, has_text;
	char from[NICK_LEN_MAX + 1];
	char room[ROOM_LEN_MAX + 1];
	char target[NICK_LEN_MAX + 1];
	char text[256];
};

static struct event events[MAX_EVENTS];
static size_t nevents;

static void
copy(char *dst, size_t size, const char *src, int *has)
{
	if (has != NULL)
		*has = src != NULL;
	snprintf(dst, size, "%s", src ? src : "");
}

static void
fake_deliver(struct user *u, struct msg *m)
{
	assert_true(nevents < MAX_EVENTS);
	assert_non_null(m);
	assert_true(m->refs >= 1);
	assert_non_null(m->from);
	struct event *e = &events[nevents++];
	memset(e, 0, sizeof *e);
	e->to = u;
	e->kind = m->kind;
	copy(e->from, sizeof e->from, m->from, NULL);
	copy(e->room, sizeof e->room, m->room, &e->has_room);
	copy(e->target, sizeof e->target, m->target, &e->has_target);
	copy(e->text, sizeof e->text, m->text, &e->has_text);
}

static const struct user_ops fake_ops = { .deliver = fake_deliver };

static void
reset_events(void)
{
	nevents = 0;
}

/* How many events of kind reached u since the last reset. */
static int
count_for(const struct user *u, enum msg_kind kind)
{
	int n = 0;
	for (size_t i = 0; i < nevents; i++)
		if (events[i].to == u && events[i].kind == kind)
			n++;
	return n;
}

static int
count_to(const struct user *u)
{
	int n = 0;
	for (size_t i = 0; i < nevents; i++)
		if (events[i].to == u)
			n++;
	return n;
}

/* The only event of kind that reached u; fails unless there is one. */
static const struct event *
only_for(const struct user *u, enum msg_kind kind)
{
	const struct event *found = NULL;
	for (size_t i = 0; i < nevents; i++) {
		if (events[i].to != u || events[i].kind != kind)
			continue;
		assert_null(found);
		found = &events[i];
	}
	assert_non_null(found);
	return found;
}

static struct user *
new_user(struct hub *hub, const char *nick)
{
	static int owner;  /* stands for the connection; never looked at */
	struct user *u = hub_user_new(hub, &fake_ops, &owner, "ident", "host", "real name");
	assert_non_null(u);
	assert_ptr_equal(u->ops, &fake_ops);
	if (nick != NULL)
		assert_int_equal(hub_nick(hub, u, nick), HUB_OK);
	return u;
}

static int
setup(void **state)
{
	struct hub *hub = malloc(sizeof *hub);
	if (hub == NULL)
		return -1;
	hub_init(hub, TOPIC_LEN, NICK_LEN_MAX);
	reset_events();
	*state = hub;
	return 0;
}

static int
teardown(void **state)
{
	struct hub *hub = *state;
	hub_clear(hub);
	assert_null(hub->users);
	assert_null(hub->rooms);
	assert_int_equal(hub->nusers, 0);
	free(hub);
	return 0;
}

static void
test_guest_nicks_unique(void **state)
{
	struct hub *hub = *state;
	enum { N = 20 };
	struct user *u[N];
	for (int i = 0; i < N; i++) {
		u[i] = new_user(hub, NULL);
		assert_true(name_nick_valid(u[i]->nick, NICK_LEN_MAX));
		assert_ptr_equal(hub_user_find(hub, u[i]->nick), u[i]);
		assert_null(hub_current_room(u[i]));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(u[i]->nick, u[j]->nick);
	}
	assert_int_equal(hub->nusers, N);
	/* A guest makes no noise. */
	assert_int_equal(nevents, 0);

	/* Someone takes the next guest name (in another case): the next
	 * guest gets a different one. */
	char next[32];
	snprintf(next, sizeof next, "GUEST%u", hub->guests + 1);
	assert_int_equal(hub_nick(hub, u[0], next), HUB_OK);
	struct user *v = new_user(hub, NULL);
	assert_string_not_equal(v->key, u[0]->key);
	assert_ptr_equal(hub_user_find(hub, v->nick), v);
	assert_ptr_equal(hub_user_find(hub, next), u[0]);
	assert_int_equal(hub->nusers, N + 1);
}

static void
test_nick_bad(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	reset_events();
	const char *bad[] = { "", "1x", "-x", "a b", "a!b", "#x",
	    "abcdefghijklmnopqrstuvwxyzabcdefg" /* 33: over NICK_LEN_MAX */ };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(hub_nick(hub, a, bad[i]), HUB_EBADNICK);
	assert_string_equal(a->nick, "alice");
	assert_ptr_equal(hub_user_find(hub, "alice"), a);
	assert_int_equal(nevents, 0);
}

static void
test_nick_in_use_ignoring_case(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "Alice");
	struct user *b = new_user(hub, "bob");
	reset_events();
	assert_int_equal(hub_nick(hub, b, "Alice"), HUB_ENICKINUSE);
	assert_int_equal(hub_nick(hub, b, "ALICE"), HUB_ENICKINUSE);
	assert_int_equal(hub_nick(hub, b, "alice"), HUB_ENICKINUSE);
	assert_string_equal(b->nick, "bob");
	assert_ptr_equal(hub_user_find(hub, "aLiCe"), a);
	assert_ptr_equal(hub_user_find(hub, "BOB"), b);
	assert_int_equal(nevents, 0);
}

static void
test_nick_change_announced(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "bob");
	struct user *c = new_user(hub, "carol");
	struct user *d = new_user(hub, "dave");
	assert_int_equal(hub_join(hub, a, "#one"), HUB_OK);
	assert_int_equal(hub_join(hub, a, "#two"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#one"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#two"), HUB_OK);
	assert_int_equal(hub_join(hub, c, "#two"), HUB_OK);
	assert_int_equal(hub_join(hub, d, "#other"), HUB_OK);
	reset_events();

	assert_int_equal(hub_nick(hub, a, "Alicia"), HUB_OK);
	assert_string_equal(a->nick, "Alicia");
	assert_null(hub_user_find(hub, "alice"));
	assert_ptr_equal(hub_user_find(hub, "alicia"), a);
	/* Once to herself and to each neighbour, however many rooms shared. */
	const struct user *told[] = { a, b, c };
	for (size_t i = 0; i < 3; i++) {
		const struct event *e = only_for(told[i], MSG_NICK);
		assert_string_equal(e->from, "alice");
		assert_string_equal(e->target, "Alicia");
		assert_false(e->has_room);
	}
	assert_int_equal(count_to(d), 0);
	assert_int_equal(nevents, 3);

	/* Again: the stamps of the last fan-out must not hide anyone. */
	reset_events();
	assert_int_equal(hub_nick(hub, a, "ally"), HUB_OK);
	assert_int_equal(count_for(a, MSG_NICK), 1);
	assert_int_equal(count_for(b, MSG_NICK), 1);
	assert_int_equal(count_for(c, MSG_NICK), 1);
	assert_int_equal(nevents, 3);
}

static void
test_nick_case_only_change(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "bob");
	assert_int_equal(hub_join(hub, a, "#r"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#r"), HUB_OK);
	reset_events();

	assert_int_equal(hub_nick(hub, a, "ALICE"), HUB_OK);
	assert_string_equal(a->nick, "ALICE");
	assert_string_equal(a->key, "alice");
	assert_ptr_equal(hub_user_find(hub, "alice"), a);
	assert_int_equal(hub->nusers, 2);
	const struct event *e = only_for(a, MSG_NICK);
	assert_string_equal(e->from, "alice");
	assert_string_equal(e->target, "ALICE");
	e = only_for(b, MSG_NICK);
	assert_string_equal(e->target, "ALICE");
	assert_int_equal(nevents, 2);

	/* The same nick exactly: nothing to say. */
	reset_events();
	assert_int_equal(hub_nick(hub, a, "ALICE"), HUB_OK);
	assert_int_equal(nevents, 0);
}

static void
test_nick_alone_tells_self(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, NULL);
	struct user *b = new_user(hub, NULL);
	char old[NICK_LEN_MAX + 1];
	snprintf(old, sizeof old, "%s", a->nick);
	reset_events();
	assert_int_equal(hub_nick(hub, a, "loner"), HUB_OK);
	const struct event *e = only_for(a, MSG_NICK);
	assert_string_equal(e->from, old);
	assert_string_equal(e->target, "loner");
	assert_int_equal(count_to(b), 0);
	assert_null(hub_user_find(hub, old));
}

static void
test_join_creates_room(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "bob");
	struct user *c = new_user(hub, "carol");
	reset_events();

	assert_null(hub_room_find(hub, "#Lobby"));
	assert_int_equal(hub_join(hub, a, "#Lobby"), HUB_OK);
	struct room *room = hub_room_find(hub, "#lobby");
	assert_non_null(room);
	assert_ptr_equal(hub_room_find(hub, "#LOBBY"), room);
	assert_string_equal(room->name, "#Lobby");
	assert_int_equal(room->nmembers, 1);
	assert_null(room->topic);
	assert_true(hub_is_member(room, a));
	assert_false(hub_is_member(room, b));
	assert_ptr_equal(hub_current_room(a), room);
	/* The joiner hears its own join. */
	const struct event *e = only_for(a, MSG_JOIN);
	assert_string_equal(e->from, "alice");
	assert_string_equal(e->room, "#Lobby");
	assert_int_equal(nevents, 1);

	/* Spelled another way, it is the same room, named as first spelled. */
	reset_events();
	assert_int_equal(hub_join(hub, b, "#LOBBY"), HUB_OK);
	assert_ptr_equal(hub_room_find(hub, "#lobby"), room);
	assert_int_equal(room->nmembers, 2);
	assert_ptr_equal(room->members[0].user, a);
	assert_ptr_equal(room->members[1].user, b);
	e = only_for(a, MSG_JOIN);
	assert_string_equal(e->from, "bob");
	assert_string_equal(e->room, "#Lobby");
	e = only_for(b, MSG_JOIN);
	assert_string_equal(e->from, "bob");
	assert_int_equal(count_to(c), 0);
	assert_int_equal(nevents, 2);

	reset_events();
	assert_int_equal(hub_join(hub, c, "#lobby"), HUB_OK);
	assert_int_equal(count_for(a, MSG_JOIN), 1);
	assert_int_equal(count_for(b, MSG_JOIN), 1);
	assert_int_equal(count_for(c, MSG_JOIN), 1);
	assert_int_equal(nevents, 3);
}

static void
test_join_again_becomes_current(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "bob");
	assert_int_equal(hub_join(hub, a, "#a"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#a"), HUB_OK);
	assert_int_equal(hub_join(hub, a, "#b"), HUB_OK);
	assert_int_equal(hub_join(hub, a, "#c"), HUB_OK);
	struct room *ra = hub_room_find(hub, "#a");
	struct room *rb = hub_room_find(hub, "#b");
	struct room *rc = hub_room_find(hub, "#c");
	assert_ptr_equal(hub_current_room(a), rc);
	reset_events();

	assert_int_equal(hub_join(hub, a, "#A"), HUB_EALREADY);
	assert_ptr_equal(hub_current_room(a), ra);
	assert_int_equal(a->nrooms, 3);
	assert_int_equal(ra->nmembers, 2);
	/* Focusing a room is no event for anyone. */
	assert_int_equal(nevents, 0);
	/* Order otherwise kept: oldest first, current last. */
	assert_ptr_equal(a->rooms[0], rb);
	assert_ptr_equal(a->rooms[1], rc);
	assert_ptr_equal(a->rooms[2], ra);

	assert_int_equal(hub_join(hub, a, "#b"), HUB_EALREADY);
	assert_ptr_equal(hub_current_room(a), rb);
	assert_int_equal(a->nrooms, 3);
	assert_int_equal(hub_join(hub, a, "#b"), HUB_EALREADY);
	assert_ptr_equal(hub_current_room(a), rb);
	assert_int_equal(a->nrooms, 3);
}

static void
test_say_reaches_others_once(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "bob");
	struct user *c = new_user(hub, "carol");
	struct user *d = new_user(hub, "dave");
	assert_int_equal(hub_join(hub, a, "#r"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#r"), HUB_OK);
	assert_int_equal(hub_join(hub, c, "#r"), HUB_OK);
	/* b and a also share another room; it must not double anything. */
	assert_int_equal(hub_join(hub, a, "#s"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#s"), HUB_OK);
	assert_int_equal(hub_join(hub, d, "#t"), HUB_OK);
	struct room *r = hub_room_find(hub, "#r");
	reset_events();

	assert_int_equal(hub_say(hub, a, r, MSG_SAY, "hello all"), HUB_OK);
	assert_int_equal(count_to(a), 0);
	const struct user *told[] = { b, c };
	for (size_t i = 0; i < 2; i++) {
		const struct event *e = only_for(told[i], MSG_SAY);
		assert_string_equal(e->from, "alice");
		assert_string_equal(e->room, "#r");
		assert_string_equal(e->text, "hello all");
	}
	assert_int_equal(count_to(d), 0);
	assert_int_equal(nevents, 2);

	reset_events();
	assert_int_equal(hub_say(hub, c, r, MSG_ACTION, "waves"), HUB_OK);
	assert_int_equal(count_to(c), 0);
	assert_string_equal(only_for(a, MSG_ACTION)->text, "waves");
	assert_string_equal(only_for(b, MSG_ACTION)->from, "carol");
	assert_int_equal(nevents, 2);

	/* Not a member: refused, nobody hears it. */
	reset_events();
	assert_int_equal(hub_say(hub, d, r, MSG_SAY, "intruder"), HUB_ENOTIN);
	assert_int_equal(nevents, 0);
}

static void
test_part_removes_and_deletes_empty_room(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "bob");
	assert_int_equal(hub_join(hub, a, "#x"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#x"), HUB_OK);
	assert_int_equal(hub_join(hub, a, "#home"), HUB_OK);
	struct room *x = hub_room_find(hub, "#x");
	struct room *home = hub_room_find(hub, "#home");
	reset_events();

	assert_int_equal(hub_part(hub, a, x, "bye"), HUB_OK);
	assert_false(hub_is_member(x, a));
	assert_int_equal(x->nmembers, 1);
	assert_ptr_equal(x->members[0].user, b);
	assert_int_equal(a->nrooms, 1);
	assert_ptr_equal(hub_current_room(a), home);
	/* Everyone in it hears, the one leaving included. */
	const struct event *e = only_for(a, MSG_PART);
	assert_string_equal(e->room, "#x");
	assert_string_equal(e->text, "bye");
	e = only_for(b, MSG_PART);
	assert_string_equal(e->from, "alice");
	assert_string_equal(e->text, "bye");
	assert_int_equal(nevents, 2);

	/* Not in it any more. */
	reset_events();
	assert_int_equal(hub_part(hub, a, x, NULL), HUB_ENOTIN);
	assert_int_equal(nevents, 0);

	/* The last one out: the room is gone. */
	assert_int_equal(hub_part(hub, b, x, NULL), HUB_OK);
	e = only_for(b, MSG_PART);
	assert_false(e->has_text);
	assert_int_equal(nevents, 1);
	assert_null(hub_room_find(hub, "#x"));
	assert_int_equal(b->nrooms, 0);
	assert_null(hub_current_room(b));

	assert_int_equal(hub_part(hub, a, home, NULL), HUB_OK);
	assert_null(hub_room_find(hub, "#home"));
	assert_null(hub_current_room(a));
	assert_null(hub->rooms);

	/* A room of that name can be made afresh. */
	assert_int_equal(hub_join(hub, b, "#X"), HUB_OK);
	assert_string_equal(hub_room_find(hub, "#x")->name, "#X");
}

static void
test_quit_told_once(void **state)
{
	struct hub *hub = *state;
	struct user *q = new_user(hub, "quitter");
	struct user *b = new_user(hub, "bob");
	struct user *c = new_user(hub, "carol");
	struct user *d = new_user(hub, "dave");
	assert_int_equal(hub_join(hub, q, "#one"), HUB_OK);
	assert_int_equal(hub_join(hub, q, "#two"), HUB_OK);
	assert_int_equal(hub_join(hub, q, "#mine"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#one"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#two"), HUB_OK);
	assert_int_equal(hub_join(hub, c, "#two"), HUB_OK);
	assert_int_equal(hub_join(hub, d, "#elsewhere"), HUB_OK);
	struct room *one = hub_room_find(hub, "#one");
	struct room *two = hub_room_find(hub, "#two");
	reset_events();

	hub_user_quit(hub, q, "gone fishing");
	const struct event *e = only_for(b, MSG_QUIT);
	assert_string_equal(e->from, "quitter");
	assert_string_equal(e->text, "gone fishing");
	assert_false(e->has_room);
	e = only_for(c, MSG_QUIT);
	assert_string_equal(e->text, "gone fishing");
	assert_int_equal(count_to(d), 0);
	assert_int_equal(nevents, 2);
	/* Gone from the hub and from every room. */
	assert_null(hub_user_find(hub, "quitter"));
	assert_int_equal(hub->nusers, 3);
	assert_int_equal(one->nmembers, 1);
	assert_ptr_equal(one->members[0].user, b);
	assert_int_equal(two->nmembers, 2);
	assert_ptr_equal(two->members[0].user, b);
	assert_ptr_equal(two->members[1].user, c);
	assert_null(hub_room_find(hub, "#mine"));
	/* The nick is free again. */
	struct user *again = new_user(hub, "quitter");
	assert_ptr_equal(hub_user_find(hub, "QUITTER"), again);
}

static void
test_quit_alone(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "bob");
	reset_events();
	hub_user_quit(hub, a, "bye");
	assert_int_equal(nevents, 0);
	assert_int_equal(hub->nusers, 1);
	assert_ptr_equal(hub_user_find(hub, "bob"), b);
}

static void
test_private(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "Bob");
	assert_int_equal(hub_join(hub, a, "#r"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#r"), HUB_OK);
	reset_events();

	struct user *to = NULL;
	assert_int_equal(hub_private(hub, a, "nobody", MSG_SAY, "hi", NULL, &to, NULL), HUB_ENONICK);
	assert_null(to);
	assert_int_equal(hub_private(hub, a,
	    "averyveryveryveryverylongnicknamethatcannotexist", MSG_SAY, "hi", NULL, &to, NULL),
	    HUB_ENONICK);
	assert_int_equal(nevents, 0);

	assert_int_equal(hub_private(hub, a, "BOB", MSG_SAY, "psst", NULL, &to, NULL), HUB_OK);
	assert_ptr_equal(to, b);
	const struct event *e = only_for(b, MSG_PRIVATE);
	assert_string_equal(e->from, "alice");
	assert_string_equal(e->target, "Bob");
	assert_string_equal(e->text, "psst");
	assert_false(e->has_room);
	assert_int_equal(count_to(a), 0);
	assert_int_equal(nevents, 1);
}

static void
test_topic_set_and_clear(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	struct user *b = new_user(hub, "bob");
	struct user *c = new_user(hub, "carol");
	assert_int_equal(hub_join(hub, a, "#r"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#r"), HUB_OK);
	struct room *r = hub_room_find(hub, "#r");
	reset_events();

	assert_int_equal(hub_topic(hub, a, r, "news"), HUB_OK);
	assert_string_equal(r->topic, "news");
	/* The setter hears it too. */
	const struct event *e = only_for(a, MSG_TOPIC);
	assert_string_equal(e->from, "alice");
	assert_string_equal(e->room, "#r");
	assert_string_equal(e->text, "news");
	assert_string_equal(only_for(b, MSG_TOPIC)->text, "news");
	assert_int_equal(nevents, 2);

	reset_events();
	assert_int_equal(hub_topic(hub, c, r, "hijack"), HUB_ENOTIN);
	assert_string_equal(r->topic, "news");
	assert_int_equal(nevents, 0);

	/* A new room is +t: only its operator (the creator, alice) may set
	 * the topic; without +t any member may. */
	assert_int_equal(hub_topic(hub, b, r, NULL), HUB_ECHANOP);
	assert_string_equal(r->topic, "news");
	r->modes &= (uint8_t)~RMODE_TOPIC;
	assert_int_equal(hub_topic(hub, b, r, NULL), HUB_OK);
	assert_null(r->topic);
	e = only_for(a, MSG_TOPIC);
	assert_false(e->has_text);
	assert_string_equal(e->from, "bob");
	assert_false(only_for(b, MSG_TOPIC)->has_text);

	/* A room's topic goes with it. */
	assert_int_equal(hub_topic(hub, b, r, "left behind"), HUB_OK);
}

static void
test_topic_truncated(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	assert_int_equal(hub_join(hub, a, "#r"), HUB_OK);
	struct room *r = hub_room_find(hub, "#r");
	assert_int_equal(TOPIC_LEN, 20);

	/* Exactly the limit is kept whole. */
	assert_int_equal(hub_topic(hub, a, r, "01234567890123456789"), HUB_OK);
	assert_string_equal(r->topic, "01234567890123456789");
	/* One over is cut to the limit. */
	assert_int_equal(hub_topic(hub, a, r, "01234567890123456789X"), HUB_OK);
	assert_string_equal(r->topic, "01234567890123456789");

	/* 19 bytes then a three-byte euro: cutting at 20 would split it. */
	reset_events();
	assert_int_equal(hub_topic(hub, a, r, "0123456789012345678\xE2\x82\xAC"),
	    HUB_OK);
	assert_string_equal(r->topic, "0123456789012345678");
	/* Everyone is told the topic as kept, not as typed. */
	assert_string_equal(only_for(a, MSG_TOPIC)->text, "0123456789012345678");

	/* 17 bytes then a euro ending exactly at the limit: kept. */
	assert_int_equal(hub_topic(hub, a, r, "01234567890123456\xE2\x82\xAC!"),
	    HUB_OK);
	assert_string_equal(r->topic, "01234567890123456\xE2\x82\xAC");

	/* A four-byte sequence straddling the limit goes whole. */
	assert_int_equal(hub_topic(hub, a, r, "01234567890123456\xF0\x9F\x98\x80"),
	    HUB_OK);
	assert_string_equal(r->topic, "01234567890123456");

	/* 20 bytes then a sequence starting right at the limit. */
	assert_int_equal(hub_topic(hub, a, r, "01234567890123456789\xC3\xA9"),
	    HUB_OK);
	assert_string_equal(r->topic, "01234567890123456789");

	/* One byte then two-byte characters: the limit falls inside one. */
	char many[64] = "x";
	for (int i = 0; i < 15; i++)
		strcat(many, "\xC3\xA9");
	assert_int_equal(hub_topic(hub, a, r, many), HUB_OK);
	assert_int_equal(strlen(r->topic), 19);
	assert_memory_equal(r->topic, many, 19);

	/* The empty string is a topic, not a clear. */
	assert_int_equal(hub_topic(hub, a, r, ""), HUB_OK);
	assert_non_null(r->topic);
	assert_string_equal(r->topic, "");
}

static void
test_rooms_per_user_limit(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice");
	char name[32];
	/* Made by others: one user makes only HUB_ROOMS_MADE_PER_USER. */
	struct user *maker = NULL;
	for (int i = 0; i < HUB_ROOMS_PER_USER; i++) {
		if (i % HUB_ROOMS_MADE_PER_USER == 0) {
			snprintf(name, sizeof name, "maker%d", i);
			maker = new_user(hub, name);
		}
		snprintf(name, sizeof name, "#room%d", i);
		assert_int_equal(hub_join(hub, maker, name), HUB_OK);
		assert_int_equal(hub_join(hub, a, name), HUB_OK);
	}
	assert_int_equal(a->nrooms, HUB_ROOMS_PER_USER);
	reset_events();

	assert_int_equal(hub_join(hub, a, "#onetoomany"), HUB_ETOOMANY);
	assert_null(hub_room_find(hub, "#onetoomany"));
	assert_int_equal(a->nrooms, HUB_ROOMS_PER_USER);
	assert_int_equal(nevents, 0);

	/* Someone else's room is no way round it either. */
	struct user *b = new_user(hub, "bob");
	assert_int_equal(hub_join(hub, b, "#bobs"), HUB_OK);
	struct room *bobs = hub_room_find(hub, "#bobs");
	reset_events();
	assert_int_equal(hub_join(hub, a, "#bobs"), HUB_ETOOMANY);
	assert_false(hub_is_member(bobs, a));
	assert_int_equal(bobs->nmembers, 1);
	assert_int_equal(nevents, 0);

	/* A room already joined can still be made current. */
	assert_int_equal(hub_join(hub, a, "#room0"), HUB_EALREADY);
	assert_string_equal(hub_current_room(a)->name, "#room0");

	/* Leaving one makes room for one. */
	assert_int_equal(hub_part(hub, a, hub_room_find(hub, "#room7"), NULL),
	    HUB_OK);
	assert_int_equal(hub_join(hub, a, "#bobs"), HUB_OK);
	assert_true(hub_is_member(bobs, a));
	assert_int_equal(hub_join(hub, a, "#room7"), HUB_ETOOMANY);
}

static void
test_find_rejects_long_names(void **state)
{
	struct hub *hub = *state;
	char longname[128];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_null(hub_user_find(hub, longname));
	longname[0] = '#';
	assert_null(hub_room_find(hub, longname));
}

/* One rule for what a user sees of a room, whichever door asks. */
static void
test_visibility(void **state)
{
	struct hub *hub = *state;
	struct user *op = new_user(hub, "op"), *ghost = new_user(hub, "ghost");
	struct user *eve = new_user(hub, "eve");
	hub_umode(hub, ghost, UMODE_INVISIBLE, 1);
	assert_int_equal(hub_join(hub, op, "#sec"), HUB_OK);
	assert_int_equal(hub_join(hub, ghost, "#sec"), HUB_OK);
	struct room *sec = hub_room_find(hub, "#sec");

	/* Public: everyone sees the room; outsiders not its invisible members. */
	assert_true(hub_room_visible(eve, sec));
	assert_ptr_equal(hub_room_seen(hub, eve, "#SEC"), sec);
	assert_true(hub_member_visible(eve, sec, op));
	assert_false(hub_member_visible(eve, sec, ghost));
	assert_true(hub_member_visible(op, sec, ghost));
	assert_true(hub_member_visible(ghost, sec, ghost));
	assert_false(hub_user_visible(eve, ghost));
	assert_true(hub_user_visible(op, ghost));
	assert_true(hub_user_visible(ghost, ghost));

	/* Secret: to an outsider it does not exist. */
	sec->modes |= RMODE_SECRET;
	assert_false(hub_room_visible(eve, sec));
	assert_null(hub_room_seen(hub, eve, "#sec"));
	assert_false(hub_member_visible(eve, sec, op));
	assert_true(hub_room_visible(op, sec));
	assert_ptr_equal(hub_room_seen(hub, ghost, "#sec"), sec);

	/* A member again once it joins. */
	assert_int_equal(hub_join(hub, eve, "#sec"), HUB_OK);
	assert_true(hub_member_visible(eve, sec, ghost));
	assert_true(hub_user_visible(eve, ghost));
}

static time_t fake_now = 1000000;

static int64_t
fake_clock(void)
{
	return (int64_t)fake_now * 1000;
}

/* Invitations: only an operator's opens +i, and only +i; they belong to
 * the user, not the nickname; they expire; a user holds a bounded number. */
static void
test_invite(void **state)
{
	struct hub *hub = *state;
	clock_fake(fake_clock);
	struct user *op = new_user(hub, "op"), *member = new_user(hub, "member");
	struct user *bob = new_user(hub, "bob"), *to;
	assert_int_equal(hub_join(hub, op, "#c"), HUB_OK);
	assert_int_equal(hub_join(hub, member, "#c"), HUB_OK);
	struct room *c = hub_room_find(hub, "#c");

	/* A member's invitation into a room that is not +i is only words. */
	assert_int_equal(hub_invite(hub, member, c, "bob", &to), HUB_OK);
	assert_ptr_equal(to, bob);
	assert_int_equal(bob->ninvites, 0);
	c->modes |= RMODE_INVITE;
	assert_int_equal(hub_join(hub, bob, "#c"), HUB_EINVITEONLY);
	/* Into a +i room only operators invite. */
	assert_int_equal(hub_invite(hub, member, c, "bob", &to), HUB_ECHANOP);

	/* An operator's passes +i, once. */
	assert_int_equal(hub_invite(hub, op, c, "bob", &to), HUB_OK);
	assert_int_equal(hub_invite(hub, op, c, "bob", &to), HUB_OK);
	assert_int_equal(bob->ninvites, 1);
	assert_int_equal(hub_join(hub, bob, "#c"), HUB_OK);
	assert_int_equal(bob->ninvites, 0);
	assert_int_equal(hub_part(hub, bob, c, NULL), HUB_OK);
	assert_int_equal(hub_join(hub, bob, "#c"), HUB_EINVITEONLY);

	/* Not past a key, a ban or the limit. */
	assert_int_equal(hub_invite(hub, op, c, "bob", &to), HUB_OK);
	c->password = strdup("k");
	assert_int_equal(hub_join(hub, bob, "#c"), HUB_EBADKEY);
	assert_int_equal(hub_join_key(hub, bob, "#c", "k"), HUB_OK);
	assert_int_equal(hub_part(hub, bob, c, NULL), HUB_OK);
	free(c->password);
	c->password = NULL;
	assert_int_equal(hub_invite(hub, op, c, "bob", &to), HUB_OK);
	c->limit = 2;
	assert_int_equal(hub_join(hub, bob, "#c"), HUB_EFULL);
	c->limit = 0;
	struct hub_mode ban = { .letter = 'b', .on = 1, .arg = "bob!*@*" };
	hub_room_modes(hub, op, c, &ban, 1);
	assert_int_equal(ban.result, HUB_OK);
	assert_int_equal(hub_join(hub, bob, "#c"), HUB_EBANNED);
	ban.on = 0;
	hub_room_modes(hub, op, c, &ban, 1);

	/* The user's, not the nickname's. */
	assert_int_equal(hub_nick(hub, bob, "bobby"), HUB_OK);
	struct user *mallory = new_user(hub, "bob");
	assert_int_equal(hub_join(hub, mallory, "#c"), HUB_EINVITEONLY);
	assert_int_equal(hub_join(hub, bob, "#c"), HUB_OK);

	/* It expires. */
	assert_int_equal(hub_invite(hub, op, c, "bob", &to), HUB_OK);
	fake_now += HUB_INVITE_TTL;
	assert_int_equal(hub_join(hub, mallory, "#c"), HUB_EINVITEONLY);
	assert_int_equal(mallory->ninvites, 0);

	/* A user holds at most HUB_INVITES_PER_USER: the oldest gives way. */
	char name[32];
	struct user *maker = NULL;
	for (int i = 0; i < HUB_INVITES_PER_USER + 4; i++) {
		if (i % HUB_ROOMS_MADE_PER_USER == 0) {
			snprintf(name, sizeof name, "maker%d", i);
			maker = new_user(hub, name);
		}
		snprintf(name, sizeof name, "#r%d", i);
		assert_int_equal(hub_join(hub, maker, name), HUB_OK);
		hub_room_find(hub, name)->modes |= RMODE_INVITE;
		fake_now++;
		assert_int_equal(hub_invite(hub, maker, hub_room_find(hub, name), "bob", &to),
		    HUB_OK);
		assert_true(mallory->ninvites <= HUB_INVITES_PER_USER);
	}
	assert_int_equal(mallory->ninvites, HUB_INVITES_PER_USER);
	assert_int_equal(hub_join(hub, mallory, "#r0"), HUB_EINVITEONLY);
	assert_int_equal(hub_join(hub, mallory, "#r3"), HUB_EINVITEONLY);
	assert_int_equal(hub_join(hub, mallory, "#r4"), HUB_OK);
	assert_int_equal(hub_join(hub, mallory, "#r19"), HUB_OK);
	clock_fake(NULL);
}

/* What one user can make the server hold: rooms it made, rooms in all,
 * masks per room and in all, and how long a mask may be. */
static void
test_room_bounds(void **state)
{
	struct hub *hub = *state;
	struct user *a = new_user(hub, "alice"), *b = new_user(hub, "bob");
	char name[HUB_LIST_MASK_MAX + 8];
	for (int i = 0; i < HUB_ROOMS_MADE_PER_USER; i++) {
		snprintf(name, sizeof name, "#a%d", i);
		assert_int_equal(hub_join(hub, a, name), HUB_OK);
	}
	assert_int_equal(hub_join(hub, a, "#more"), HUB_EMADE);
	assert_null(hub_room_find(hub, "#more"));
	/* Rooms others made are no limit; a room made and left still counts,
	 * until it is gone. */
	assert_int_equal(hub_join(hub, b, "#bobs"), HUB_OK);
	assert_int_equal(hub_join(hub, a, "#bobs"), HUB_OK);
	assert_int_equal(hub_join(hub, b, "#a0"), HUB_OK);
	assert_int_equal(hub_part(hub, a, hub_room_find(hub, "#a0"), NULL), HUB_OK);
	assert_int_equal(hub_join(hub, a, "#more"), HUB_EMADE);
	assert_int_equal(hub_part(hub, b, hub_room_find(hub, "#a0"), NULL), HUB_OK);
	assert_int_equal(hub_join(hub, a, "#more"), HUB_OK);
	/* The maker quitting leaves its rooms to the others. */
	assert_int_equal(hub_join(hub, b, "#a1"), HUB_OK);
	hub_user_quit(hub, a, "bye");
	assert_null(hub_room_find(hub, "#a1")->maker);
	assert_int_equal(b->nmade, 1);

	/* max-rooms. */
	hub->max_rooms = hub->nrooms;
	assert_int_equal(hub_join(hub, b, "#one-more"), HUB_EROOMS);
	assert_int_equal(hub_join(hub, b, "#a1"), HUB_EALREADY);
	hub->max_rooms = 0;

	/* Masks: bounded in length and content, per room (+b, +e and +I
	 * together) and in all. */
	struct room *r = hub_room_find(hub, "#bobs");
	struct hub_mode m = { .letter = 'b', .on = 1 };
	memset(name, 'x', sizeof name);
	name[HUB_LIST_MASK_MAX + 1] = '\0';
	m.arg = name;
	hub_room_modes(hub, b, r, &m, 1);
	assert_int_equal(m.result, HUB_ENEEDARG);
	const char *bad[] = { "a b", ":x", "", "a\x1b[2J" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		m.arg = bad[i];
		hub_room_modes(hub, b, r, &m, 1);
		assert_int_equal(m.result, HUB_ENEEDARG);
	}
	name[HUB_LIST_MASK_MAX] = '\0';
	m.arg = name;
	hub_room_modes(hub, b, r, &m, 1);
	assert_int_equal(m.result, HUB_OK);
	for (int i = 1; i < HUB_MASKS_PER_ROOM; i++) {
		snprintf(name, sizeof name, "m%d!*@*", i);
		m.letter = "beI"[i % 3];
		hub_room_modes(hub, b, r, &m, 1);
		assert_int_equal(m.result, HUB_OK);
	}
	assert_int_equal(hub->nmasks, HUB_MASKS_PER_ROOM);
	m.arg = "one!more@*";
	hub_room_modes(hub, b, r, &m, 1);
	assert_int_equal(m.result, HUB_EBANLIST);
	/* Taking one off makes room; the room going frees its share. */
	m.on = 0;
	m.arg = "m1!*@*";
	m.letter = 'e';
	hub_room_modes(hub, b, r, &m, 1);
	assert_int_equal(m.result, HUB_OK);
	assert_int_equal(hub->nmasks, HUB_MASKS_PER_ROOM - 1);
	hub_user_quit(hub, b, "bye");
	assert_int_equal(hub->nmasks, 0);
}

/* What others may ask of a user is the user's own: its host is a copy
 * (the connection's buffer may go), a given host leaves its address, and
 * its rooms are walked through the hub. */
static void
test_user_holds_its_own(void **state)
{
	struct hub *hub = *state;
	char host[] = "203.0.113.7";
	static int conn;
	struct user *u = hub_user_new(hub, &fake_ops, &conn, "~id", host, "real");
	assert_non_null(u);
	assert_ptr_equal(u->door, &conn);
	memset(host, 'x', sizeof host - 1);
	assert_string_equal(u->host, "203.0.113.7");
	assert_string_equal(u->addr, "203.0.113.7");
	assert_false(u->vhost);
	assert_false(u->secure);
	assert_true(u->last_active > 0);
	assert_int_equal(hub_chghost(hub, u, "cloak.example"), HUB_OK);
	assert_string_equal(u->host, "cloak.example");
	assert_string_equal(u->addr, "203.0.113.7");
	assert_true(u->vhost);
	assert_null(hub_user_room(u, 0));
	assert_int_equal(hub_join(hub, u, "#a"), HUB_OK);
	assert_int_equal(hub_join(hub, u, "#b"), HUB_OK);
	assert_string_equal(hub_user_room(u, 0)->name, "#a");
	assert_string_equal(hub_user_room(u, 1)->name, "#b");
	assert_null(hub_user_room(u, 2));
}

/* A room's state from outside (the store, another node through Redis) is
 * held to a client's rules: a topic, setter, key or mask setter that
 * could forge a line is left out. */
static void
test_room_load_refuses_line_breaks(void **state)
{
	struct hub *hub = *state;
	struct user *u = new_user(hub, "alice");
	assert_int_equal(hub_join(hub, u, "#r"), HUB_OK);
	struct room *room = hub_room_find(hub, "#r");
	assert_non_null(room);
	struct hub_room_state bad = {
		.topic = "hi\r\nPRIVMSG carol :INJECTED", .topic_by = "x\ny",
		.topic_at = 1, .modes = "nt", .key = "a b", .limit = 5,
	};
	hub_room_load(hub, room, &bad);
	assert_null(room->topic);
	assert_null(room->password);
	assert_int_equal(room->limit, 5);
	bad.topic = "line\nbreak";
	hub_room_load(hub, room, &bad);
	assert_null(room->topic);
	struct hub_room_state good = {
		.topic = "fine topic", .topic_by = "bob!b@h", .topic_at = 2,
		.modes = "nt", .key = "sesame", .limit = 0,
	};
	hub_room_load(hub, room, &good);
	assert_string_equal(room->topic, "fine topic");
	assert_string_equal(room->topic_by, "bob!b@h");
	assert_string_equal(room->password, "sesame");
	good.topic_by = "two words";
	hub_room_load(hub, room, &good);
	assert_string_equal(room->topic, "fine topic");
	assert_string_not_equal(room->topic_by, "two words");
	assert_int_equal(hub_room_restore_mask(hub, room, 'b', "*!*@evil", "op\r\nX", 3), 0);
	assert_int_equal(room->nbans, 1);
	assert_null(strpbrk(room->bans[0].by, "\r\n "));
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_guest_nicks_unique),
		T(test_nick_bad),
		T(test_nick_in_use_ignoring_case),
		T(test_nick_change_announced),
		T(test_nick_case_only_change),
		T(test_nick_alone_tells_self),
		T(test_join_creates_room),
		T(test_join_again_becomes_current),
		T(test_say_reaches_others_once),
		T(test_part_removes_and_deletes_empty_room),
		T(test_quit_told_once),
		T(test_quit_alone),
		T(test_private),
		T(test_topic_set_and_clear),
		T(test_topic_truncated),
		T(test_rooms_per_user_limit),
		T(test_find_rejects_long_names),
		T(test_visibility),
		T(test_invite),
		T(test_room_bounds),
		T(test_user_holds_its_own),
		T(test_room_load_refuses_line_breaks),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
