/* Unit tests for the cluster's event codec (cluster/codec.h):
 * - every event a hub makes, of every kind, encodes, and decodes to the
 *   same event; a second hub that applies the decoded events holds what
 *   the first holds;
 * - what a MSG_CONNECT carries of its user, and a joiner's member modes;
 * - every cut of a valid encoding, and a changed length, is refused, with
 *   nothing left held; every byte changed either is refused or is read
 *   as another event that encodes to exactly those bytes;
 * - what a client could not have made is refused: bad names, long or
 *   strange texts, fields a kind does not have, unknown versions, kinds,
 *   fields and flags, numbers written long.
 * CLUSTER_CODEC_SEEDS=dir writes the encodings made here into dir, one a
 * file, and a whole session's events in one: fuzz_cluster_codec's seed
 * corpus (tests/fuzz/seeds/). */
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
#include "cluster/codec.h"

#include "hub_same.h"

static int64_t
fake_clock(void)
{
	return INT64_C(1700000000123);
}

static void
nothing(struct user *u, struct msg *m)
{
	(void)u;
	(void)m;
}

static const struct user_ops quiet_ops = { .deliver = nothing };

static int
same_str(const char *x, const char *y)
{
	return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/* x and y are the same event, all a node sends of it. */
static void
assert_same_msg(const struct msg *x, const struct msg *y)
{
	assert_int_equal(x->kind, y->kind);
	assert_true(same_str(x->from, y->from));
	assert_true(same_str(x->ident, y->ident));
	assert_true(same_str(x->host, y->host));
	assert_true(same_str(x->room, y->room));
	assert_true(same_str(x->target, y->target));
	assert_true(same_str(x->text, y->text));
	assert_true(same_str(x->client_tags, y->client_tags));
	assert_string_equal(x->id, y->id);
	assert_string_equal(x->ref, y->ref);
	assert_string_equal(x->account, y->account);
	assert_int_equal(x->from_bot, y->from_bot);
	assert_int_equal(x->multiline, y->multiline);
	assert_int_equal(x->one_line, y->one_line);
	assert_int_equal(x->at_ms, y->at_ms);
	assert_int_equal(y->refs, 1);
}

static void
assert_same_event(const struct cluster_event *x, const struct cluster_event *y)
{
	assert_int_equal(x->node, y->node);
	assert_true(x->node_seq == y->node_seq);
	assert_true(x->seq == y->seq);
	assert_same_msg(x->msg, y->msg);
	assert_int_equal(x->user.signon, y->user.signon);
	assert_int_equal(x->user.umodes, y->user.umodes);
	assert_int_equal(x->user.secure, y->user.secure);
	assert_string_equal(x->user.away, y->user.away);
	assert_string_equal(x->user.addr, y->user.addr);
	assert_int_equal(x->member_modes, y->member_modes);
}

/* Seeds for the fuzzer, when asked for. */
static void
seed(const struct buf *b)
{
	static int n;
	const char *dir = getenv("CLUSTER_CODEC_SEEDS");
	if (dir == NULL)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/event-%02d", dir, n++);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
	assert_int_equal(fclose(f), 0);
}

/* Every cut of b's bytes is refused, and leaves ev holding nothing. */
static void
assert_cuts_refused(const struct buf *b)
{
	for (size_t n = 0; n < b->len; n++) {
		struct cluster_event ev;
		assert_int_equal(cluster_decode(b->data, n, &ev), -1);
		assert_null(ev.msg);
	}
}

/* ev encodes, decodes to itself, and its bytes are ev's only ones:
 * decoded and encoded again they are the same bytes. */
static void
roundtrip(const struct cluster_event *ev)
{
	struct buf b = { 0 }, again = { 0 };
	assert_int_equal(cluster_encode(ev, &b), 0);
	assert_true(b.len <= CLUSTER_EVENT_MAX);
	assert_int_equal(cluster_version(b.data, b.len), CLUSTER_CODEC_VERSION);
	struct cluster_event back;
	assert_int_equal(cluster_decode(b.data, b.len, &back), 0);
	assert_same_event(ev, &back);
	assert_int_equal(cluster_encode(&back, &again), 0);
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.data, b.data, b.len);
	cluster_event_clear(&back);
	assert_null(back.msg);
	assert_cuts_refused(&b);
	seed(&b);
	buf_free(&b);
	buf_free(&again);
}

/* A hub's every event through the codec, into a mirror hub. */

struct relay {
	struct hub *mirror;
	uint64_t node_seq;
	unsigned kinds;     /* bit per msg_kind seen */
	int events;
	int cut;            /* every cut of the next event is tried too */
	struct buf session; /* every event's bytes, one after another */
};

static void
relay(void *ctx, struct msg *m, const struct audience *to)
{
	struct relay *r = ctx;
	(void)to;
	struct cluster_event ev = { .node = 7, .node_seq = ++r->node_seq,
	    .seq = m->kind == MSG_SAY ? 0 : r->node_seq * 1000, .msg = m };
	struct buf b = { 0 };
	if (cluster_encode(&ev, &b) != 0)
		fail_msg("event %d (kind %d, from %s) does not encode", r->events, (int)m->kind,
		    m->from);
	struct cluster_event back;
	assert_int_equal(cluster_decode(b.data, b.len, &back), 0);
	assert_same_event(&ev, &back);
	if (r->cut)
		assert_cuts_refused(&b);
	seed(&b);
	assert_int_equal(buf_append(&r->session, b.data, b.len), 0);
	/* What the other node needs to apply it, it got. */
	assert_int_equal(hub_apply(r->mirror, back.msg), HUB_OK);
	cluster_event_clear(&back);
	buf_free(&b);
	r->kinds |= 1u << m->kind;
	r->events++;
}

static void
test_every_kind_round_trips_and_applies(void **state)
{
	(void)state;
	static struct hub a, b;
	clock_fake(fake_clock);
	hub_init(&a, HUB_TOPIC_MAX, NICK_LEN_MAX);
	hub_init(&b, HUB_TOPIC_MAX, NICK_LEN_MAX);
	hub_set_node(&a, 7);
	struct relay r = { .mirror = &b, .cut = 1 };
	assert_int_equal(hub_observe(&a, relay, &r), 0);

	enum hub_status st;
	struct user *alice = hub_user_new_as(&a, "alice", "Alice", &quiet_ops, NULL, "~al",
	    "10.0.0.1", "Alice Liddell", &st);
	struct user *bob = hub_user_new_named(&a, "bob", &quiet_ops, NULL, "plain", "0::1",
	    "Bob ☃", &st);
	struct user *carol = hub_user_new(&a, &quiet_ops, NULL, "~c", "2001:db8::7", "C");
	assert_non_null(alice);
	assert_non_null(bob);
	assert_non_null(carol);
	r.cut = 0;
	alice->one_line = 1;
	struct user *to;
	assert_int_equal(hub_join(&a, alice, "#room"), HUB_OK);
	assert_int_equal(hub_join(&a, bob, "#room"), HUB_OK);
	assert_int_equal(hub_join(&a, carol, "#Ünïcode"), HUB_OK);
	struct room *room = hub_room_find(&a, "#room");
	assert_int_equal(hub_say(&a, alice, room, MSG_SAY, "hello \x02world\x02 ☃"), HUB_OK);
	r.cut = 1;
	assert_int_equal(hub_say_msg(&a, alice, room, MSG_SAY, "one\ntwo\rcontinued\n\nfour",
	    "+draft/reply=X1;+typing=active;+esc=a\\sb\\:c\\\\", NULL), HUB_OK);
	r.cut = 0;
	assert_int_equal(hub_say(&a, bob, room, MSG_ACTION, "waves"), HUB_OK);
	assert_int_equal(hub_say(&a, bob, room, MSG_NOTICE, ""), HUB_OK);
	assert_int_equal(hub_say_msg(&a, bob, room, MSG_TAGMSG, NULL, "+react=👍", NULL), HUB_OK);
	assert_int_equal(hub_private(&a, alice, "bob", MSG_SAY, "psst", NULL, &to, NULL), HUB_OK);
	assert_int_equal(hub_private(&a, alice, "bob", MSG_ACTION, "nods", NULL, &to, NULL),
	    HUB_OK);
	assert_int_equal(hub_private(&a, bob, "alice", MSG_NOTICE, "hey", NULL, &to, NULL),
	    HUB_OK);
	assert_int_equal(hub_private(&a, bob, "alice", MSG_TAGMSG, NULL, "+typing=done", &to,
	    NULL), HUB_OK);
	assert_int_equal(hub_topic(&a, alice, room, "The topic"), HUB_OK);
	assert_int_equal(hub_topic(&a, alice, room, NULL), HUB_OK);
	/* Registered (ChanServ): its founder's account with it. */
	assert_int_equal(hub_room_register(&a, alice, room), HUB_OK);
	struct hub_mode modes[] = {
		{ .letter = 'v', .on = 1, .arg = "bob" }, { .letter = 'k', .on = 1, .arg = "sesame" },
		{ .letter = 'l', .on = 1, .arg = "10" }, { .letter = 'b', .on = 1, .arg = "bad!*@*" },
		{ .letter = 'm', .on = 1 }, { .letter = 'i', .on = 1 },
	};
	hub_room_modes(&a, alice, room, modes, 6);
	assert_int_equal(hub_invite(&a, alice, room, "guest1", &to), HUB_OK);
	assert_int_equal(hub_away(&a, bob, "lunch"), HUB_OK);
	assert_int_equal(hub_join(&a, bob, "#other"), HUB_OK);  /* with its AWAY to the room */
	assert_int_equal(hub_away(&a, bob, NULL), HUB_OK);
	assert_int_equal(hub_setname(&a, bob, "Robert"), HUB_OK);
	hub_umode(&a, bob, UMODE_INVISIBLE | UMODE_BOT, 1);
	assert_int_equal(hub_say(&a, bob, room, MSG_SAY, "beep"), HUB_OK);  /* from_bot */
	hub_umode(&a, bob, UMODE_BOT, 0);
	assert_int_equal(hub_chghost(&a, alice, "cloak.example"), HUB_OK);
	assert_int_equal(hub_nick(&a, carol, "Carol"), HUB_OK);
	hub_account(&a, bob, "Robert");
	hub_account(&a, bob, NULL);
	struct msg *said = NULL;
	assert_int_equal(hub_say_msg(&a, alice, room, MSG_SAY, "oops", NULL, &said), HUB_OK);
	char id[MSGID_LEN + 1];
	memcpy(id, said->id, sizeof id);
	msg_unref(said);
	r.cut = 1;
	assert_int_equal(hub_redact(&a, alice, "#room", id, "typo"), HUB_OK);
	r.cut = 0;
	assert_int_equal(hub_private(&a, alice, "bob", MSG_SAY, "x", NULL, &to, &said), HUB_OK);
	memcpy(id, said->id, sizeof id);
	msg_unref(said);
	assert_int_equal(hub_redact(&a, alice, "bob", id, NULL), HUB_OK);
	assert_int_equal(hub_kick(&a, alice, room, "bob", "out"), HUB_OK);
	assert_int_equal(hub_part(&a, carol, hub_room_find(&a, "#Ünïcode"), NULL), HUB_OK);
	assert_int_equal(hub_part(&a, alice, room, "later"), HUB_OK);
	/* The founder back in the registered room, empty: ChanServ's +o, a
	 * MODE from the service that the mirror takes; then dropped. */
	assert_int_equal(hub_join(&a, alice, "#room"), HUB_OK);
	assert_true(hub_member(room, alice)->modes & MEMBER_OP);
	assert_true(hub_member(hub_room_find(&b, "#room"), hub_user_find(&b, "alice"))->modes &
	    MEMBER_OP);
	assert_string_equal(hub_room_find(&b, "#room")->reg->founder, "Alice");
	assert_int_equal(hub_room_drop(&a, alice, room), HUB_OK);
	assert_null(hub_room_find(&b, "#room")->reg);

	char why[256];
	if (!hub_same(&a, &b, why, sizeof why))
		fail_msg("the mirror differs: %s", why);
	hub_user_quit(&a, carol, "bye");
	hub_user_quit(&a, bob, NULL);
	if (!hub_same(&a, &b, why, sizeof why))
		fail_msg("the mirror differs: %s", why);

	for (int k = MSG_SAY; k <= MSG_UNREGISTER; k++)
		if (!(r.kinds & (1u << k)))
			fail_msg("no event of kind %d was made", k);
	/* The whole session, one seed: the fuzzer applies events in turn. */
	seed(&r.session);
	buf_free(&r.session);
	clock_fake(NULL);
	hub_clear(&a);
	hub_clear(&b);
}

/* An event of kind from msg_new, stamped as hub_msg would. */
static struct msg *
made(enum msg_kind kind, const char *room, const char *target, const char *text)
{
	struct msg *m = msg_new(kind, "eve", "~e", "192.0.2.1", room, target, text);
	assert_non_null(m);
	m->at_ms = INT64_C(1700000000456);
	msgid_write(1700000000456u, 3, 9, m->id);
	return m;
}

static void
test_connect_carries_the_user(void **state)
{
	(void)state;
	struct cluster_event ev = { .node = 65535, .node_seq = UINT64_MAX, .seq = 1,
	    .msg = made(MSG_CONNECT, NULL, NULL, "Eve") };
	snprintf(ev.msg->account, sizeof ev.msg->account, "Eve");
	ev.msg->from_bot = 1;
	ev.user = (struct cluster_user){ .signon = 1600000000, .secure = 1,
	    .umodes = UMODE_INVISIBLE | UMODE_OPER | UMODE_BOT, .away = "gone fishing",
	    .addr = "198.51.100.3" };
	roundtrip(&ev);
	/* A user is the same with nothing of that. */
	ev.user = (struct cluster_user){ 0 };
	roundtrip(&ev);
	msg_unref(ev.msg);

	/* The first joiner's op. */
	ev = (struct cluster_event){ .node = 1, .msg = made(MSG_JOIN, "#r", NULL, "Eve") };
	ev.member_modes = MEMBER_OP;
	roundtrip(&ev);
	/* ...but no other kind has them, nor a user's fields. */
	ev.msg->kind = MSG_PART;
	struct buf b = { 0 };
	assert_int_equal(cluster_encode(&ev, &b), -1);
	ev.member_modes = 0;
	ev.user.secure = 1;
	assert_int_equal(cluster_encode(&ev, &b), -1);
	ev.user = (struct cluster_user){ .away = "x" };
	assert_int_equal(cluster_encode(&ev, &b), -1);
	ev.user = (struct cluster_user){ 0 };
	ev.member_modes = 0;
	assert_int_equal(cluster_encode(&ev, &b), 0);
	buf_free(&b);
	msg_unref(ev.msg);
}

/* A long message, as the plain door takes one with a large max-line. */
static void
test_long_text(void **state)
{
	(void)state;
	char *text = malloc(CLUSTER_TEXT_MAX + 2);
	assert_non_null(text);
	memset(text, 'x', CLUSTER_TEXT_MAX + 1);
	text[CLUSTER_TEXT_MAX] = '\0';
	struct cluster_event ev = { .msg = made(MSG_SAY, "#r", NULL, text) };
	struct buf b = { 0 };
	assert_int_equal(cluster_encode(&ev, &b), 0);
	struct cluster_event back;
	assert_int_equal(cluster_decode(b.data, b.len, &back), 0);
	assert_same_event(&ev, &back);
	cluster_event_clear(&back);
	msg_unref(ev.msg);
	/* A byte more is more than any client could have sent. */
	text[CLUSTER_TEXT_MAX] = 'x';
	text[CLUSTER_TEXT_MAX + 1] = '\0';
	ev.msg = made(MSG_SAY, "#r", NULL, text);
	size_t was = b.len;
	assert_int_equal(cluster_encode(&ev, &b), -1);
	assert_int_equal(b.len, was);   /* out as it was */
	msg_unref(ev.msg);
	buf_free(&b);
	free(text);
}

/* Every byte of a valid encoding changed to other values: each result is
 * refused, or is another valid event whose encoding is exactly it. */
static void
test_changed_bytes(void **state)
{
	(void)state;
	struct cluster_event ev = { .node = 300, .node_seq = 70000, .seq = 5,
	    .msg = made(MSG_KICK, "#r", "bob", "out") };
	snprintf(ev.msg->account, sizeof ev.msg->account, "eve");
	struct buf b = { 0 };
	assert_int_equal(cluster_encode(&ev, &b), 0);
	static const uint8_t values[] = { 0, 1, 2, 0x7F, 0x80, 0xFF, '\n', '\r', ' ', '#' };
	int refused = 0, other = 0;
	for (size_t i = 0; i < b.len; i++)
		for (size_t v = 0; v < sizeof values; v++) {
			char *copy = malloc(b.len);
			assert_non_null(copy);
			memcpy(copy, b.data, b.len);
			if ((uint8_t)b.data[i] == values[v]) {
				free(copy);
				continue;
			}
			copy[i] = (char)values[v];
			struct cluster_event back;
			if (cluster_decode(copy, b.len, &back) < 0) {
				assert_null(back.msg);
				refused++;
			} else {
				struct buf again = { 0 };
				assert_int_equal(cluster_encode(&back, &again), 0);
				assert_int_equal(again.len, b.len);
				assert_memory_equal(again.data, copy, b.len);
				buf_free(&again);
				cluster_event_clear(&back);
				other++;
			}
			free(copy);
		}
	assert_true(refused > 0);
	assert_true(other > 0);   /* a number or a letter changed */
	msg_unref(ev.msg);
	buf_free(&b);
}

/* Hand-made bytes: a version, then a body (a header, then fields),
 * given its length when decoded. */
struct craft {
	uint8_t version;
	uint8_t b[1024];
	size_t n;
};

static void
craft_bytes(struct craft *c, const void *p, size_t n)
{
	assert_true(c->n + n <= sizeof c->b);
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

/* kind, node 1, node_seq 2, seq 0, at_ms 3, flags. */
static void
craft_head(struct craft *c, uint8_t version, uint8_t kind, uint8_t flags)
{
	c->version = version;
	c->n = 0;
	uint8_t head[] = { kind, 0, 1, 2, 0, 3, flags };
	craft_bytes(c, head, sizeof head);
}

static void
craft_field(struct craft *c, uint8_t tag, const char *s, size_t n)
{
	uint8_t head[2] = { tag, (uint8_t)n };
	assert_true(n < 0x80);
	craft_bytes(c, head, 2);
	craft_bytes(c, s, n);
}

static void
craft_str(struct craft *c, uint8_t tag, const char *s)
{
	craft_field(c, tag, s, strlen(s));
}

/* The tags of codec.c's fields. */
enum { T_FROM = 1, T_IDENT, T_HOST, T_ROOM, T_TARGET, T_TEXT, T_ID, T_REF, T_ACCOUNT, T_TAGS,
	T_AWAY, T_ADDR, T_SIGNON, T_UMODES, T_MEMBER };

/* Decodes version, body's length and body[0..n): 0 or -1, leaving
 * nothing held. */
static int
decode_body(uint8_t version, const uint8_t *body, size_t n)
{
	uint8_t bytes[1100];
	assert_true(n < 0x4000 && n + 3 <= sizeof bytes);
	size_t h = 0;
	bytes[h++] = version;
	if (n >= 0x80)
		bytes[h++] = (uint8_t)(n | 0x80);
	bytes[h++] = (uint8_t)(n >> (n >= 0x80 ? 7 : 0));
	memcpy(bytes + h, body, n);
	assert_int_equal(cluster_version(bytes, h + n), version);
	struct cluster_event ev;
	int r = cluster_decode(bytes, h + n, &ev);
	if (r < 0)
		assert_null(ev.msg);
	cluster_event_clear(&ev);
	return r;
}

static int
decodes(const struct craft *c)
{
	return decode_body(c->version, c->b, c->n);
}

/* A SAY from eve to #r of text (n bytes), with a field more or not. */
static int
say_with(const char *text, size_t n, uint8_t tag, const char *extra)
{
	struct craft c;
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_SAY,
	    memchr(text, '\n', n) || memchr(text, '\r', n) ? 2 : 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	craft_field(&c, T_TEXT, text, n);
	if (extra != NULL)
		craft_str(&c, tag, extra);
	return decodes(&c);
}

static void
test_refuses_what_no_client_makes(void **state)
{
	(void)state;
	struct craft c;
	/* The shape first: the crafted SAY itself decodes. */
	assert_int_equal(say_with("hi", 2, 0, NULL), 0);
	assert_int_equal(say_with("", 0, 0, NULL), 0);
	/* Versions, kinds, flags. */
	for (int v = 0; v < 256; v++) {
		craft_head(&c, (uint8_t)v, MSG_QUIT, 0);
		craft_str(&c, T_FROM, "eve");
		assert_int_equal(decodes(&c), v == CLUSTER_CODEC_VERSION ? 0 : -1);
	}
	assert_int_equal(cluster_version(c.b, 0), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_UNREGISTER + 1, 0);
	craft_str(&c, T_FROM, "eve");
	assert_int_equal(decodes(&c), -1);
	for (int f = 1; f < 256; f <<= 1) {
		craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, (uint8_t)f);
		craft_str(&c, T_FROM, "eve");
		assert_int_equal(decodes(&c), f == 1 || f == 4 ? 0 : -1);  /* bot, one_line */
	}
	/* Numbers written long, and past 64 bits. */
	static const uint8_t longer[] = { MSG_QUIT, 0, 1, 0x82, 0x00, 0, 3, 0, 1, 3, 'e', 'v',
	    'e' };
	assert_int_equal(decode_body(CLUSTER_CODEC_VERSION, longer, sizeof longer), -1);
	static const uint8_t past[] = { MSG_QUIT, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0x02, 0, 3, 0, 1, 3, 'e', 'v', 'e' };
	assert_int_equal(decode_body(CLUSTER_CODEC_VERSION, past, sizeof past), -1);
	static const uint8_t max[] = { MSG_QUIT, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0x01, 0, 3, 0, 1, 3, 'e', 'v', 'e' };
	assert_int_equal(decode_body(CLUSTER_CODEC_VERSION, max, sizeof max), 0);
	/* A time past msgids' 48 bits. */
	static const uint8_t late[] = { MSG_QUIT, 0, 1, 2, 0, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x01, 0, 1, 3, 'e', 'v', 'e' };
	assert_int_equal(decode_body(CLUSTER_CODEC_VERSION, late, sizeof late), -1);
	/* A body length that is not the body's, or written long. */
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_FROM, "eve");
	uint8_t bytes[64] = { CLUSTER_CODEC_VERSION, (uint8_t)c.n };
	memcpy(bytes + 2, c.b, c.n);
	struct cluster_event ev;
	assert_int_equal(cluster_decode(bytes, c.n + 2, &ev), 0);
	assert_int_equal(ev.node, 1);
	assert_true(ev.node_seq == 2 && ev.seq == 0 && ev.msg->at_ms == 3);
	cluster_event_clear(&ev);
	bytes[1]++;
	assert_int_equal(cluster_decode(bytes, c.n + 2, &ev), -1);
	assert_int_equal(cluster_decode(bytes, c.n + 3, &ev), -1);   /* a byte more */
	bytes[1] -= 2;
	assert_int_equal(cluster_decode(bytes, c.n + 2, &ev), -1);
	assert_int_equal(cluster_decode(bytes, c.n + 1, &ev), -1);
	bytes[1] = (uint8_t)(c.n | 0x80);
	memmove(bytes + 3, bytes + 2, c.n);
	bytes[2] = 0;
	assert_int_equal(cluster_decode(bytes, c.n + 3, &ev), -1);
	assert_null(ev.msg);

	/* Fields: unknown, twice, out of order, missing, a length past the end. */
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_MEMBER + 1, "x");
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_FROM, "eve");
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_HOST, "h");
	craft_str(&c, T_FROM, "eve");
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_TEXT, "no sender");
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_FROM, "eve");
	c.b[c.n - 4] = 4;   /* "eve" said to be 4 bytes */
	assert_int_equal(decodes(&c), -1);
	c.b[c.n - 4] = 2;   /* or 2, leaving a byte that is no field */
	assert_int_equal(decodes(&c), -1);
	c.b[c.n - 4] = 0;   /* or none */
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ID, "");   /* an empty array is left out, never written */
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_CONNECT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_AWAY, "");   /* here is no away field */
	assert_int_equal(decodes(&c), -1);

	/* Names. */
	static const char *const bad_nicks[] = { "", "bad nick", "9lives", "a,b", "#r",
	    "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */, "e\xffve" };
	for (size_t i = 0; i < sizeof bad_nicks / sizeof *bad_nicks; i++) {
		craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
		craft_str(&c, T_FROM, bad_nicks[i]);
		assert_int_equal(decodes(&c), -1);
	}
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_field(&c, T_FROM, "eve\0x", 5);   /* a NUL inside */
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_NICK, 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_TARGET, "NickServ");   /* a service's */
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_SAY, 0);   /* to a room and a user */
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	craft_str(&c, T_TARGET, "bob");
	craft_str(&c, T_TEXT, "hi");
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_SAY, 0);   /* to nobody */
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_TEXT, "hi");
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_SAY, 0);   /* to a user */
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_TARGET, "bob");
	craft_str(&c, T_TEXT, "hi");
	assert_int_equal(decodes(&c), 0);
	static const char *const bad_hosts[] = { "", "a b", ":1", "-x", "h@st",
	    "0123456789012345678901234567890123456789012345678901234567890123" };
	for (size_t i = 0; i < sizeof bad_hosts / sizeof *bad_hosts; i++) {
		craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
		craft_str(&c, T_FROM, "eve");
		craft_str(&c, T_HOST, bad_hosts[i]);
		assert_int_equal(decodes(&c), -1);
	}
	static const char *const bad_idents[] = { "", "a b", "a@b", "a!b", "~toolongidentname" };
	for (size_t i = 0; i < sizeof bad_idents / sizeof *bad_idents; i++) {
		craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
		craft_str(&c, T_FROM, "eve");
		craft_str(&c, T_IDENT, bad_idents[i]);
		assert_int_equal(decodes(&c), -1);
	}
	static const char *const bad_rooms[] = { "r", "#", "#a b", "#a,b", "#\xc2\x85" };
	for (size_t i = 0; i < sizeof bad_rooms / sizeof *bad_rooms; i++) {
		craft_head(&c, CLUSTER_CODEC_VERSION, MSG_JOIN, 0);
		craft_str(&c, T_FROM, "eve");
		craft_str(&c, T_ROOM, bad_rooms[i]);
		assert_int_equal(decodes(&c), -1);
	}
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ID, "0123456789ABCDEU");   /* U is not in the alphabet */
	assert_int_equal(decodes(&c), -1);

	/* Texts: invalid UTF-8, NUL, CR, lines where none may be, a
	 * multiline text that says it is not (and the other way). */
	assert_int_equal(say_with("a\xc0\x80", 3, 0, NULL), -1);
	assert_int_equal(say_with("a\0b", 3, 0, NULL), -1);
	assert_int_equal(say_with("\rcontinues nothing", 18, 0, NULL), -1);
	assert_int_equal(say_with("a\r", 2, 0, NULL), -1);   /* an empty continued line */
	assert_int_equal(say_with("a\r\nb", 4, 0, NULL), -1);
	assert_int_equal(say_with("a\n\rb", 4, 0, NULL), 0);   /* b continues an empty line */
	assert_int_equal(say_with("a\nb", 3, 0, NULL), 0);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_SAY, 0);   /* not flagged multiline */
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	craft_str(&c, T_TEXT, "a\nb");
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_SAY, 2);   /* flagged, but one line */
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	craft_str(&c, T_TEXT, "a");
	assert_int_equal(decodes(&c), -1);
	char lines[80];
	memset(lines, '\n', sizeof lines);
	lines[0] = 'a';
	assert_int_equal(say_with(lines, 32, 0, NULL), 0);    /* 32 lines */
	assert_int_equal(say_with(lines, 33, 0, NULL), -1);   /* more than max-lines */
	for (uint8_t flags = 0; flags <= 2; flags += 2) {   /* flagged multiline or not */
		craft_head(&c, CLUSTER_CODEC_VERSION, MSG_PART, flags);
		craft_str(&c, T_FROM, "eve");
		craft_str(&c, T_ROOM, "#r");
		craft_str(&c, T_TEXT, "two\nlines");
		assert_int_equal(decodes(&c), -1);
	}
	/* A multiline message within the IRC door's max-bytes (4096, its
	 * newlines counted, and a mark for each continued line), or past. */
	for (size_t n = 4096 + 31; n <= 4096 + 33; n++) {
		char *text = malloc(n + 1);
		assert_non_null(text);
		memset(text, 'x', n);
		text[n] = '\0';
		text[1] = '\n';
		struct cluster_event e = { .msg = made(MSG_SAY, "#r", NULL, text) };
		struct buf b = { 0 };
		assert_int_equal(cluster_encode(&e, &b), n <= 4096 + 32 ? 0 : -1);
		buf_free(&b);
		msg_unref(e.msg);
		free(text);
	}
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_SAY, 0);   /* a SAY says something */
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	assert_int_equal(decodes(&c), -1);

	/* Bounds of the hub's texts, at them and one past. */
	static const struct { uint8_t kind; const char *room, *target; size_t max; } bounds[] = {
		{ MSG_PART, "#r", NULL, HUB_REASON_MAX }, { MSG_QUIT, NULL, NULL, HUB_REASON_MAX },
		{ MSG_TOPIC, "#r", NULL, HUB_TOPIC_MAX }, { MSG_AWAY, NULL, NULL, HUB_AWAY_MAX },
		{ MSG_SETNAME, NULL, NULL, USER_REALNAME_MAX },
		{ MSG_KICK, "#r", "bob", HUB_REASON_MAX },
	};
	for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++)
		for (size_t extra = 0; extra < 2; extra++) {
			size_t n = bounds[i].max + extra;
			char *text = malloc(n + 1);
			assert_non_null(text);
			memset(text, 'r', n);
			text[n] = '\0';
			struct msg *m = made(bounds[i].kind, bounds[i].room, bounds[i].target, text);
			struct cluster_event e = { .msg = m };
			struct buf b = { 0 };
			assert_int_equal(cluster_encode(&e, &b), extra ? -1 : 0);
			if (!extra) {
				/* The decoder's bound too: one byte more in the bytes. */
				struct cluster_event back;
				assert_int_equal(cluster_decode(b.data, b.len, &back), 0);
				cluster_event_clear(&back);
			}
			buf_free(&b);
			msg_unref(m);
			free(text);
		}

	/* Modes: a room's and a user's. */
	static const struct { uint8_t kind; const char *text; int ok; } modes[] = {
		{ MSG_MODE, "+o bob", 0 }, { MSG_MODE, "o bob", -1 }, { MSG_MODE, "+", -1 },
		{ MSG_UMODE, "+iB", 0 }, { MSG_UMODE, "-o", 0 }, { MSG_UMODE, "+x", -1 },
		{ MSG_UMODE, "+", -1 }, { MSG_UMODE, "+iiiiiii", -1 },
	};
	for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
		craft_head(&c, CLUSTER_CODEC_VERSION, modes[i].kind, 0);
		craft_str(&c, T_FROM, "eve");
		if (modes[i].kind == MSG_MODE)
			craft_str(&c, T_ROOM, "#r");
		craft_str(&c, T_TEXT, modes[i].text);
		assert_int_equal(decodes(&c), modes[i].ok);
	}

	/* A registration names its room and its founder's account; a drop
	 * its room. */
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_REGISTER, 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	assert_int_equal(decodes(&c), -1);
	craft_str(&c, T_ACCOUNT, "eve");
	assert_int_equal(decodes(&c), 0);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_UNREGISTER, 0);
	craft_str(&c, T_FROM, "eve");
	assert_int_equal(decodes(&c), -1);
	craft_str(&c, T_ROOM, "#r");
	assert_int_equal(decodes(&c), 0);
	craft_str(&c, T_TEXT, "why");
	assert_int_equal(decodes(&c), -1);

	/* Client-only tags, as the IRC door writes them, or not. */
	static const struct { const char *tags; int ok; } tags[] = {
		{ "+a", 0 }, { "+a=b;+c", 0 }, { "+x/y=a\\sb\\:\\\\\\r\\n", 0 },
		{ "a=b", -1 }, { "+", -1 }, { "+a=", -1 }, { "+a;", -1 }, { "+a;;+b", -1 },
		{ "+a=b c", -1 }, { "+a b", -1 }, { "+a=\\", -1 }, { "+a=\\x", -1 },
		{ "+a=b\n", -1 }, { "+a\x01", -1 },
	};
	for (size_t i = 0; i < sizeof tags / sizeof *tags; i++)
		assert_int_equal(say_with("hi", 2, T_TAGS, tags[i].tags), tags[i].ok);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_JOIN, 0);   /* no tags on a JOIN */
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	craft_str(&c, T_TAGS, "+a");
	assert_int_equal(decodes(&c), -1);

	/* What belongs to other kinds: a ref, a user's fields, member modes. */
	assert_int_equal(say_with("hi", 2, T_REF, "0123456789ABCDEF"), -1);
	assert_int_equal(say_with("hi", 2, T_AWAY, "away"), -1);
	assert_int_equal(say_with("hi", 2, T_ADDR, "10.0.0.1"), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_REDACT, 0);   /* a REDACT without its ref */
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	assert_int_equal(decodes(&c), -1);
	craft_str(&c, T_REF, "0123456789ABCDEF");
	assert_int_equal(decodes(&c), 0);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_CONNECT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_field(&c, T_UMODES, "\x08", 1);   /* a user mode the hub does not know */
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_CONNECT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_field(&c, T_UMODES, "\x00", 1);   /* 0 is left out */
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_CONNECT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_field(&c, T_SIGNON, "\x81\x01", 2);
	assert_int_equal(decodes(&c), 0);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_CONNECT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_field(&c, T_SIGNON, "\x81\x01\x00", 3);   /* a byte past its number */
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_QUIT, 0);
	craft_str(&c, T_FROM, "eve");
	craft_field(&c, T_MEMBER, "\x01", 1);
	assert_int_equal(decodes(&c), -1);
	craft_head(&c, CLUSTER_CODEC_VERSION, MSG_JOIN, 0);
	craft_str(&c, T_FROM, "eve");
	craft_str(&c, T_ROOM, "#r");
	craft_field(&c, T_MEMBER, "\x04", 1);   /* no such member mode */
	assert_int_equal(decodes(&c), -1);

	/* Nothing, and more than any event may be. */
	assert_int_equal(cluster_decode("", 0, &ev), -1);
	assert_null(ev.msg);
	assert_int_equal(cluster_decode("\x01", 1, &ev), -1);
	assert_null(ev.msg);
	uint8_t *huge = calloc(1, CLUSTER_EVENT_MAX + 1);
	assert_non_null(huge);
	huge[0] = CLUSTER_CODEC_VERSION;
	assert_int_equal(cluster_decode(huge, CLUSTER_EVENT_MAX + 1, &ev), -1);
	free(huge);
}

static void
test_encode_refuses(void **state)
{
	(void)state;
	struct buf b = { 0 };
	assert_int_equal(buf_append(&b, "kept", 4), 0);
	struct cluster_event ev = { 0 };
	assert_int_equal(cluster_encode(&ev, &b), -1);   /* no msg */
	ev.msg = msg_new(MSG_QUIT, "bad nick", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(cluster_encode(&ev, &b), -1);
	msg_unref(ev.msg);
	ev.msg = made(MSG_QUIT, NULL, NULL, NULL);
	ev.msg->at_ms = -1;
	assert_int_equal(cluster_encode(&ev, &b), -1);
	ev.msg->at_ms = 0;
	memset(ev.msg->account, 'a', sizeof ev.msg->account);   /* unterminated */
	assert_int_equal(cluster_encode(&ev, &b), -1);
	memset(ev.msg->account, 0, sizeof ev.msg->account);
	ev.msg->multiline = 1;   /* but one line */
	assert_int_equal(cluster_encode(&ev, &b), -1);
	ev.msg->multiline = 0;
	assert_int_equal(b.len, 4);   /* out as it was each time */
	/* Appended after what out held. */
	assert_int_equal(cluster_encode(&ev, &b), 0);
	assert_memory_equal(b.data, "kept", 4);
	struct cluster_event back;
	assert_int_equal(cluster_decode(b.data + 4, b.len - 4, &back), 0);
	assert_same_event(&ev, &back);
	cluster_event_clear(&back);
	cluster_event_clear(&ev);
	assert_null(ev.msg);
	buf_free(&b);
}

static int
frame(const char *s, uint64_t *seq, uint8_t *modes, const char **rest)
{
	size_t n = strlen(s);
	*rest = s;
	int rc = cluster_frame_read(rest, &n, seq, modes);
	assert_int_equal(n, strlen(*rest));
	return rc;
}

static void
test_frames(void **state)
{
	(void)state;
	uint64_t seq = 0;
	uint8_t modes = 0;
	const char *rest;
	assert_int_equal(frame("S12 1 \x01body", &seq, &modes, &rest), 1);
	assert_true(seq == 12 && modes == MEMBER_OP);
	assert_string_equal(rest, "\x01body");
	assert_int_equal(frame("S999999999999999999 3 ", &seq, &modes, &rest), 1);
	assert_true(seq == 999999999999999999ull && modes == 3 && *rest == '\0');
	/* Not a frame: an event's bytes as they are. */
	assert_int_equal(frame("\x01S1 0 ", &seq, &modes, &rest), 0);
	assert_int_equal(frame("", &seq, &modes, &rest), 0);
	/* Broken: refused, nothing read. */
	const char *broken[] = { "S", "S1", "S1 ", "S1 0", "S 0 x", "S1  x", "S1 4 x",
		"S1 10 x", "S-1 0 x", "S1x0 x", "S1000000000000000000 0 x" };
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		assert_int_equal(frame(broken[i], &seq, &modes, &rest), -1);
		assert_ptr_equal(rest, broken[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_round_trips_and_applies),
		cmocka_unit_test(test_connect_carries_the_user),
		cmocka_unit_test(test_long_text),
		cmocka_unit_test(test_changed_bytes),
		cmocka_unit_test(test_refuses_what_no_client_makes),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
