/* Unit tests for the hub's one exit and for events from elsewhere:
 * - an observer sees every event made once, after its local delivery,
 *   with its audience, whatever command made it;
 * - hub_apply of the events one hub made changes another hub's state as
 *   the commands changed the first, and delivers to the other's own users
 *   what they would have got had everyone been on one hub. */
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
#include "chat/hub_monitor.h"

#include "hub_same.h"

/* A person behind a user (the door's state): what reached it, as text. */
struct person {
	const char *name;
	char heard[256][160];
	int nheard;
	int got;          /* deliveries, for the observer's check */
};

static void
note(struct person *p, const char *line)
{
	assert_true(p->nheard < 256);
	snprintf(p->heard[p->nheard++], sizeof p->heard[0], "%s", line);
}

static void
describe(const struct msg *m, char *buf, size_t cap)
{
	/* Not the msgids: each hub makes its own. */
	snprintf(buf, cap, "%d %s!%s@%s %s %s %s%s", (int)m->kind, m->from, m->ident, m->host,
	    m->room ? m->room : "-", m->target ? m->target : "-", m->text ? m->text : "-",
	    m->ref[0] ? " (ref)" : "");
}

static void
fake_deliver(struct user *u, struct msg *m)
{
	struct person *p = u->door;
	char line[160];
	describe(m, line, sizeof line);
	note(p, line);
	p->got++;
}

static void
fake_presence(struct user *u, const char *nick, const struct user *who)
{
	char line[160];
	if (who != NULL)
		snprintf(line, sizeof line, "online %s!%s@%s", who->nick, who->ident, who->host);
	else
		snprintf(line, sizeof line, "offline %s", nick);
	note(u->door, line);
}

static void
fake_watched(struct user *u, struct msg *m)
{
	char line[160] = "watched ";
	describe(m, line + 8, sizeof line - 8);
	note(u->door, line);
}

static const struct user_ops fake_ops = {
	.deliver = fake_deliver, .presence = fake_presence, .watched = fake_watched,
};

static int64_t
fake_clock(void)
{
	return INT64_C(1700000000000);
}

/* The counting observer. */

struct counts {
	int kind[MSG_UMODE + 1];
	int calls;
	enum audience_shape shape[MSG_UMODE + 1];
	struct person *watch;      /* its deliveries must all have happened */
	int watch_got_at_call;
	struct msg *last;          /* kept, as history would keep it */
};

static void
count(void *ctx, struct msg *m, const struct audience *to)
{
	struct counts *c = ctx;
	assert_true(m->kind <= MSG_UMODE);
	assert_int_equal(strlen(m->id), MSGID_LEN);
	c->kind[m->kind]++;
	c->shape[m->kind] = to->shape;
	c->calls++;
	c->watch_got_at_call = c->watch != NULL ? c->watch->got : 0;
	msg_unref(c->last);
	m->refs++;
	c->last = m;
}

/* A second observer: called after the first, for the same event. */
static void
second(void *ctx, struct msg *m, const struct audience *to)
{
	struct counts *first = ctx;
	(void)to;
	assert_ptr_equal(first->last, m);
}

static struct user *
named(struct hub *hub, const char *nick, struct person *p)
{
	enum hub_status st;
	struct user *u = hub_user_new_named(hub, nick, &fake_ops, p, "~i", "10.0.0.1",
	    "Real", &st);
	assert_non_null(u);
	return u;
}

static void
test_observer_sees_each_event_once(void **state)
{
	(void)state;
	static struct person pa = { .name = "alice" }, pb = { .name = "bob" },
	    pc = { .name = "carol" };
	struct hub hub;
	hub_init(&hub, 390, NICK_LEN_MAX);
	struct user *alice = named(&hub, "alice", &pa), *bob = named(&hub, "bob", &pb);
	assert_int_equal(hub_join(&hub, alice, "#r"), HUB_OK);
	assert_int_equal(hub_join(&hub, bob, "#r"), HUB_OK);
	struct room *r = hub_room_find(&hub, "#r");

	static struct counts c;
	memset(&c, 0, sizeof c);
	c.watch = &pb;
	assert_int_equal(hub_observe(&hub, count, &c), 0);
	assert_int_equal(hub_observe(&hub, second, &c), 0);

	/* The script: every kind of event once. */
	struct user *carol = named(&hub, "carol", &pc);             /* CONNECT */
	assert_int_equal(hub_join(&hub, carol, "#r"), HUB_OK);     /* JOIN */
	struct msg *said;
	assert_int_equal(hub_say_msg(&hub, alice, r, MSG_SAY, "hi", NULL, &said), HUB_OK);
	/* bob got it before the observer was called. */
	assert_int_equal(c.watch_got_at_call, pb.got);
	char said_id[MSGID_LEN + 1];
	memcpy(said_id, said->id, sizeof said_id);
	msg_unref(said);
	assert_int_equal(hub_say(&hub, bob, r, MSG_ACTION, "waves"), HUB_OK);
	assert_int_equal(hub_say(&hub, bob, r, MSG_NOTICE, "note"), HUB_OK);
	struct user *to;
	assert_int_equal(hub_private(&hub, alice, "bob", MSG_SAY, "psst", NULL, &to, NULL),
	    HUB_OK);
	assert_int_equal(hub_say_msg(&hub, alice, r, MSG_TAGMSG, NULL, "+x=y", NULL), HUB_OK);
	assert_int_equal(hub_topic(&hub, alice, r, "the topic"), HUB_OK);
	struct hub_mode mode = { .letter = 'v', .on = 1, .arg = "bob" };
	hub_room_modes(&hub, alice, r, &mode, 1);
	assert_int_equal(mode.result, HUB_OK);
	assert_int_equal(hub_part(&hub, carol, r, "bye"), HUB_OK);
	assert_int_equal(hub_invite(&hub, alice, r, "carol", &to), HUB_OK);
	assert_int_equal(hub_kick(&hub, alice, r, "bob", "out"), HUB_OK);
	assert_int_equal(hub_away(&hub, alice, "lunch"), HUB_OK);
	assert_int_equal(hub_setname(&hub, alice, "Alice A."), HUB_OK);
	assert_int_equal(hub_chghost(&hub, alice, "cloak.example"), HUB_OK);
	assert_int_equal(hub_nick(&hub, alice, "alicia"), HUB_OK);
	assert_int_equal(hub_redact(&hub, alice, "#r", said_id, "typo"), HUB_OK);
	hub_umode(&hub, carol, UMODE_INVISIBLE, 1);
	hub_user_quit(&hub, carol, "gone");

	for (int k = 0; k <= MSG_UMODE; k++) {
		char name[16];
		snprintf(name, sizeof name, "kind %d", k);
		if (c.kind[k] != 1)
			fail_msg("%s seen %d times", name, c.kind[k]);
	}
	assert_int_equal(c.calls, MSG_UMODE + 1);
	assert_int_equal(c.shape[MSG_SAY], AUD_ROOM);
	assert_int_equal(c.shape[MSG_PRIVATE], AUD_USER);
	assert_int_equal(c.shape[MSG_QUIT], AUD_NEIGHBOURS);
	assert_int_equal(c.shape[MSG_INVITE], AUD_INVITE);
	assert_int_equal(c.shape[MSG_CONNECT], AUD_NOBODY);
	assert_int_equal(c.shape[MSG_UMODE], AUD_NOBODY);
	/* Commands that fail emit nothing. */
	assert_int_equal(hub_say(&hub, alice, r, MSG_SAY, ""), HUB_OK);
	int calls = c.calls;
	assert_int_equal(hub_topic(&hub, bob, r, "x"), HUB_ENOTIN);
	assert_int_equal(hub_nick(&hub, bob, "alicia"), HUB_ENICKINUSE);
	hub_umode(&hub, bob, UMODE_INVISIBLE, 0);  /* no change */
	assert_int_equal(c.calls, calls);

	msg_unref(c.last);
	hub_clear(&hub);
}

/* hub_observe holds a bounded number. */
static void
test_observers_bounded(void **state)
{
	(void)state;
	struct hub hub;
	hub_init(&hub, 390, NICK_LEN_MAX);
	static struct counts c;
	for (int i = 0; i < HUB_OBSERVERS_MAX; i++)
		assert_int_equal(hub_observe(&hub, count, &c), 0);
	assert_int_equal(hub_observe(&hub, count, &c), -1);
	hub_clear(&hub);
}

/* Replay: the same script on one hub (everyone local), and on two hubs
 * (A: alice and bob; B: zed and carol), each applying the other's events
 * as its observer passes them on. After every step both hubs hold the
 * same users and rooms as the one; at the end, each person heard the
 * same on two hubs as on one. */

struct queue {
	struct msg *m[64];
	int n;
};

static void
enqueue(void *ctx, struct msg *m, const struct audience *to)
{
	struct queue *q = ctx;
	(void)to;
	assert_true(q->n < 64);
	m->refs++;
	q->m[q->n++] = m;
}

struct world {
	struct hub one;            /* everyone here */
	struct hub a, b;           /* alice and bob on a, zed and carol on b */
	struct queue to_a, to_b;
	int two;                   /* 1: the script runs on a and b */
	struct person p[2][4];     /* [two][alice, bob, zed, carol] */
};

enum { ALICE, BOB, ZED, CAROL };
static const char *const names[] = { "alice", "bob", "zed", "carol" };

static struct hub *
home(struct world *w, int who)
{
	if (!w->two)
		return &w->one;
	return who == ALICE || who == BOB ? &w->a : &w->b;
}

static struct user *
user_of(struct world *w, int who)
{
	struct hub *hub = home(w, who);
	struct hub_cursor cur = { 0 };
	struct user *u;
	/* By the person behind it: its nick may have changed. */
	while ((u = hub_cursor_user(hub, &cur)) != NULL)
		if (u->door == &w->p[w->two][who])
			return u;
	fail_msg("%s is not on its hub", names[who]);
	return NULL;
}

static void
drain(struct world *w)
{
	if (!w->two)
		return;
	while (w->to_a.n > 0 || w->to_b.n > 0) {
		struct queue qa = w->to_a, qb = w->to_b;
		w->to_a.n = w->to_b.n = 0;
		/* Applied, an event is shown to no observer: nothing goes back. */
		for (int i = 0; i < qb.n; i++) {
			assert_int_equal(hub_apply(&w->b, qb.m[i]), HUB_OK);
			assert_int_equal(w->to_a.n, 0);
			msg_unref(qb.m[i]);
		}
		for (int i = 0; i < qa.n; i++) {
			assert_int_equal(hub_apply(&w->a, qa.m[i]), HUB_OK);
			assert_int_equal(w->to_b.n, 0);
			msg_unref(qa.m[i]);
		}
	}
}

/* x and y hold the same users and rooms. */
static void
same_state(struct hub *x, struct hub *y)
{
	char why[256];
	if (!hub_same(x, y, why, sizeof why))
		fail_msg("the hubs differ: %s", why);
}

/* One step of the script done: the two hubs catch up and must hold what
 * the one does. */
static void
step(struct world *w)
{
	drain(w);
	if (w->two) {
		same_state(&w->a, &w->b);
		same_state(&w->b, &w->a);
	}
}

static void
arrive(struct world *w, int who)
{
	enum hub_status st;
	struct user *u = hub_user_new_named(home(w, who), names[who], &fake_ops,
	    &w->p[w->two][who], "~u", "10.0.0.1", "Real Name", &st);
	assert_non_null(u);
	step(w);
}

static void
mode(struct world *w, int who, const char *room, char letter, int on, const char *arg)
{
	struct hub *hub = home(w, who);
	struct hub_mode m = { .letter = letter, .on = on, .arg = arg };
	hub_room_modes(hub, user_of(w, who), hub_room_find(hub, room), &m, 1);
	step(w);
}

#define DO(w, who, call) do { \
	struct hub *hub_ = home(w, who); \
	struct user *u_ = user_of(w, who); \
	(void)hub_; (void)u_; \
	call; \
	step(w); \
} while (0)
#define ROOM(name) hub_room_find(hub_, name)

static void
script(struct world *w)
{
	struct user *to;
	arrive(w, ZED);
	assert_int_equal(hub_monitor_add(home(w, ZED), user_of(w, ZED), "alice"),
	    MONITOR_ADDED);
	assert_int_equal(hub_monitor_add(home(w, ZED), user_of(w, ZED), "alicia"),
	    MONITOR_ADDED);
	arrive(w, ALICE);
	arrive(w, BOB);
	arrive(w, CAROL);
	/* zed, watching alice and sharing no room, hears of her changes. */
	DO(w, ALICE, hub_away(hub_, u_, "brb"));
	DO(w, ALICE, hub_setname(hub_, u_, "Alice"));
	DO(w, ALICE, hub_away(hub_, u_, NULL));
	DO(w, ALICE, assert_int_equal(hub_join(hub_, u_, "#r"), HUB_OK));
	DO(w, BOB, assert_int_equal(hub_join(hub_, u_, "#r"), HUB_OK));
	DO(w, ZED, assert_int_equal(hub_join(hub_, u_, "#r"), HUB_OK));
	DO(w, ZED, assert_int_equal(hub_join(hub_, u_, "#z"), HUB_OK));
	DO(w, CAROL, assert_int_equal(hub_join(hub_, u_, "#z"), HUB_OK));
	DO(w, ALICE, hub_say(hub_, u_, ROOM("#r"), MSG_SAY, "hello"));
	DO(w, BOB, hub_say(hub_, u_, ROOM("#r"), MSG_ACTION, "waves"));
	DO(w, ZED, hub_say(hub_, u_, ROOM("#r"), MSG_NOTICE, "notice"));
	DO(w, ZED, hub_say_msg(hub_, u_, ROOM("#r"), MSG_TAGMSG, NULL, "+react=1", NULL));
	DO(w, ALICE, hub_private(hub_, u_, "zed", MSG_SAY, "psst", NULL, &to, NULL));
	DO(w, CAROL, hub_private(hub_, u_, "bob", MSG_NOTICE, "hey", NULL, &to, NULL));
	DO(w, ALICE, assert_int_equal(hub_topic(hub_, u_, ROOM("#r"), "Topic!"), HUB_OK));
	mode(w, ALICE, "#r", 'v', 1, "bob");
	mode(w, ALICE, "#r", 'o', 1, "zed");
	mode(w, ZED, "#r", 'k', 1, "sesame");
	mode(w, ZED, "#r", 'l', 1, "10");
	mode(w, ZED, "#r", 'b', 1, "bad!*@*");
	mode(w, ZED, "#r", 'e', 1, "bad!good@*");
	mode(w, ZED, "#r", 'm', 1, NULL);
	mode(w, ALICE, "#r", 'k', 0, "*");
	mode(w, ALICE, "#r", 'l', 0, NULL);
	mode(w, BOB, "#r", 't', 0, NULL);   /* not an op: nothing */
	DO(w, CAROL, hub_part(hub_, u_, ROOM("#z"), "later"));
	mode(w, ZED, "#z", 'i', 1, NULL);
	/* An operator's invitation, kept on both hubs, lets carol in. */
	DO(w, ZED, assert_int_equal(hub_invite(hub_, u_, ROOM("#z"), "carol", &to), HUB_OK));
	DO(w, CAROL, assert_int_equal(hub_join(hub_, u_, "#z"), HUB_OK));
	DO(w, ALICE, assert_int_equal(hub_join(hub_, u_, "#z"), HUB_EINVITEONLY));
	DO(w, ZED, assert_int_equal(hub_invite(hub_, u_, ROOM("#z"), "alice", &to), HUB_OK));
	DO(w, ALICE, assert_int_equal(hub_away(hub_, u_, "lunch"), HUB_OK));
	DO(w, ALICE, assert_int_equal(hub_join(hub_, u_, "#z"), HUB_OK));  /* and its AWAY */
	DO(w, BOB, hub_umode(hub_, u_, UMODE_INVISIBLE | UMODE_BOT, 1));
	DO(w, BOB, hub_umode(hub_, u_, UMODE_BOT, 0));
	DO(w, ALICE, hub_chghost(hub_, u_, "cloak.example"));
	DO(w, ALICE, assert_int_equal(hub_nick(hub_, u_, "alicia"), HUB_OK));
	DO(w, ALICE, assert_int_equal(hub_nick(hub_, u_, "ALICIA"), HUB_OK));
	DO(w, ZED, assert_int_equal(hub_kick(hub_, u_, ROOM("#r"), "bob", "out"), HUB_OK));
	struct msg *said = NULL;
	DO(w, BOB, assert_int_equal(hub_join(hub_, u_, "#b"), HUB_OK));
	DO(w, ALICE, assert_int_equal(hub_join(hub_, u_, "#b"), HUB_OK));
	DO(w, ALICE, hub_say_msg(hub_, u_, ROOM("#b"), MSG_SAY, "oops", NULL, &said));
	char id[MSGID_LEN + 1];
	memcpy(id, said->id, sizeof id);
	msg_unref(said);
	DO(w, BOB, assert_int_equal(hub_redact(hub_, u_, "#b", id, "nope"), HUB_OK));
	DO(w, ALICE, hub_private(hub_, u_, "carol", MSG_SAY, "x", NULL, &to, &said));
	memcpy(id, said->id, sizeof id);
	msg_unref(said);
	DO(w, ALICE, assert_int_equal(hub_redact(hub_, u_, "carol", id, NULL), HUB_OK));
	DO(w, ZED, hub_part(hub_, u_, ROOM("#r"), NULL));
	DO(w, ALICE, hub_user_quit(hub_, u_, "bye"));
	DO(w, CAROL, hub_user_quit(hub_, u_, "bye too"));
}

static int
heard(const struct person *p, const char *line)
{
	for (int i = 0; i < p->nheard; i++)
		if (strcmp(p->heard[i], line) == 0)
			return 1;
	return 0;
}

static void
test_apply_replays_commands(void **state)
{
	(void)state;
	static struct world w;
	memset(&w, 0, sizeof w);
	clock_fake(fake_clock);
	for (int two = 0; two < 2; two++)
		for (int i = 0; i < 4; i++)
			w.p[two][i].name = names[i];
	hub_init(&w.one, 390, NICK_LEN_MAX);
	hub_init(&w.a, 390, NICK_LEN_MAX);
	hub_init(&w.b, 390, NICK_LEN_MAX);
	hub_set_node(&w.a, 1);
	hub_set_node(&w.b, 2);
	assert_int_equal(hub_observe(&w.a, enqueue, &w.to_b), 0);
	assert_int_equal(hub_observe(&w.b, enqueue, &w.to_a), 0);

	w.two = 0;
	script(&w);
	w.two = 1;
	script(&w);
	same_state(&w.one, &w.a);
	same_state(&w.one, &w.b);

	/* Each person heard the same, in the same order. */
	for (int i = 0; i < 4; i++) {
		const struct person *one = &w.p[0][i], *two = &w.p[1][i];
		for (int k = 0; k < one->nheard || k < two->nheard; k++)
			if (k >= one->nheard || k >= two->nheard ||
			    strcmp(one->heard[k], two->heard[k]) != 0)
				fail_msg("%s, line %d: one hub \"%s\", two \"%s\"", names[i], k,
				    k < one->nheard ? one->heard[k] : "(nothing)",
				    k < two->nheard ? two->heard[k] : "(nothing)");
		assert_true(one->nheard > 10);
	}
	/* What some heard, to be sure both runs heard something: MONITOR's
	 * presence and extended-monitor's events, a message, a redaction. */
	assert_true(heard(&w.p[1][ZED], "online alice!~u@10.0.0.1"));
	assert_true(heard(&w.p[1][ZED], "offline alice"));
	assert_true(heard(&w.p[1][ZED], "online alicia!~u@cloak.example"));
	assert_true(heard(&w.p[1][ZED], "offline ALICIA"));
	assert_true(heard(&w.p[1][ZED], "watched 12 alice!~u@10.0.0.1 - - brb"));
	assert_true(heard(&w.p[1][ZED], "2 alice!~u@10.0.0.1 - zed psst"));
	assert_true(heard(&w.p[1][BOB], "8 carol!~u@10.0.0.1 - bob hey"));
	assert_true(heard(&w.p[1][ALICE], "16 bob!~u@10.0.0.1 #b - nope (ref)"));
	assert_true(heard(&w.p[1][BOB], "16 bob!~u@10.0.0.1 #b - nope (ref)"));

	/* Remote users are nobody's here. */
	struct user *bob = hub_user_find(&w.b, "bob");
	assert_non_null(bob);
	assert_true(bob->remote);
	assert_null(bob->door);
	assert_false(hub_user_find(&w.a, "bob")->remote);

	/* An event about someone unknown here changes nothing. */
	struct msg *m = hub_msg(&w.a, MSG_JOIN, hub_user_find(&w.a, "bob"), "#new", NULL, "x");
	assert_non_null(m);
	struct hub empty;
	hub_init(&empty, 390, NICK_LEN_MAX);
	assert_int_equal(hub_apply(&empty, m), HUB_ENONICK);
	assert_null(hub_room_find(&empty, "#new"));
	msg_unref(m);
	/* Nor does one this hub would never have made: bounds hold for what
	 * other nodes send too. */
	m = msg_new(MSG_CONNECT, "bad nick", "~u", "h", NULL, NULL, "r");
	assert_int_equal(hub_apply(&empty, m), HUB_EBADNICK);
	msg_unref(m);
	m = msg_new(MSG_CONNECT, "eve", "~u", "h", NULL, NULL, "r");
	assert_int_equal(hub_apply(&empty, m), HUB_OK);
	assert_int_equal(hub_apply(&empty, m), HUB_ENICKINUSE);
	assert_true(hub_user_find(&empty, "eve")->remote);
	msg_unref(m);
	m = msg_new(MSG_JOIN, "eve", "~u", "h", "no-hash", NULL, "r");
	assert_int_equal(hub_apply(&empty, m), HUB_EBADROOM);
	msg_unref(m);
	m = msg_new(MSG_CHGHOST, "eve", "~u", "h", NULL, "~u", "bad host");
	assert_int_equal(hub_apply(&empty, m), HUB_EBADHOST);
	msg_unref(m);
	assert_int_equal(empty.nrooms, 0);
	assert_string_equal(hub_user_find(&empty, "eve")->host, "h");
	hub_clear(&empty);

	clock_fake(NULL);
	hub_clear(&w.one);
	hub_clear(&w.a);
	hub_clear(&w.b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observer_sees_each_event_once),
		cmocka_unit_test(test_observers_bounded),
		cmocka_unit_test(test_apply_replays_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
