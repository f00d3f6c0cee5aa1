/* Unit tests for what accounts unlock in the store (issue 13): the keys
 * of private conversations (either order, any case; the other side
 * read back); private events stored and read under their key, and
 * SQ_TARGETS finding an account's conversations (and no one else's)
 * beside its rooms; one-sided conversations (an account with a nick),
 * found for their account only and gone with it; read markers (none, set, only forward, per account
 * and target, any case); registered rooms saved whole through the
 * writer, replaced, loaded back, forgotten, and kept across a reopen;
 * an account deleted takes its conversations (both sides'), markers and
 * operator entries with it, its history in batches with the writer's
 * commits between them; a version 2 database brought to version 3
 * with its accounts kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/sqlite_int.h"
#include "store/store.h"
#include "store_fixture.h"
#include "store_helpers.h"

/* Seals what is pending and waits until the writer has committed it. */
static void
commit(struct store *s)
{
	uint64_t n = store_seal(s);
	assert_true(n > 0);
	while (store_finished(s) < n) {
		struct pollfd p = { .fd = store_fd(s), .events = POLLIN };
		poll(&p, 1, 1000);
	}
}

/* A private message from nick from (logged in as from_account, or NULL)
 * to nick to, under key. */
static void
keyed_event(struct store *s, const char *id, const char *key, const char *from,
    const char *to, const char *from_account, const char *text)
{
	char sender[64];
	snprintf(sender, sizeof sender, "%s!u@h", from);
	struct store_event e = { .at_ms = 1000, .kind = SK_PRIVMSG, .target = key,
		.sender = sender, .account = from_account, .text = text, .extra = to };
	snprintf(e.msgid, sizeof e.msgid, "%s", id);
	assert_int_equal(store_append(s, &e), 0);
}

static void
private_event(struct store *s, const char *id, const char *from, const char *to,
    const char *from_account, const char *to_account, const char *text)
{
	char pair[STORE_TARGET_MAX + 1];
	store_pair_target(from_account, to_account, pair);
	keyed_event(s, id, pair, from, to, from_account, text);
}

static void
test_pair_keys(void **state)
{
	(void)state;
	char a[STORE_TARGET_MAX + 1], b[STORE_TARGET_MAX + 1], peer[ACCOUNT_LEN_MAX + 1];
	store_pair_target("Bob", "alice", a);
	store_pair_target("ALICE", "bob", b);
	assert_string_equal(a, "@alice bob");
	assert_string_equal(a, b);
	assert_true(STORE_TARGET_IS_PAIR(a));
	assert_int_equal(store_pair_peer(a, "Alice", peer), 0);
	assert_string_equal(peer, "bob");
	assert_int_equal(store_pair_peer(a, "BOB", peer), 0);
	assert_string_equal(peer, "alice");
	assert_int_equal(store_pair_peer(a, "carol", peer), -1);
	assert_int_equal(store_pair_peer("#room", "alice", peer), -1);
	/* Oneself: the same account twice. */
	store_pair_target("zed", "Zed", a);
	assert_string_equal(a, "@zed zed");
	assert_int_equal(store_pair_peer(a, "zed", peer), 0);
	assert_string_equal(peer, "zed");
	/* The longest names fit. */
	char longest[ACCOUNT_LEN_MAX + 1];
	memset(longest, 'x', ACCOUNT_LEN_MAX);
	longest[ACCOUNT_LEN_MAX] = '\0';
	store_pair_target(longest, longest, a);
	assert_int_equal(strlen(a), 2 * ACCOUNT_LEN_MAX + 2);
}

static void
test_private_and_targets(void **state)
{
	struct fixture *f = *state;
	private_event(f->s, "0000000000000001", "alice", "bob", "alice", "bob", "hi bob");
	private_event(f->s, "0000000000000002", "bob", "alice", "bob", "alice", "hi alice");
	private_event(f->s, "0000000000000003", "carol", "dave", "carol", "dave", "not theirs");
	struct store_event room = { .msgid = "0000000000000004", .at_ms = 1000,
		.kind = SK_PRIVMSG, .target = "#r", .sender = "alice!u@h", .text = "room" };
	assert_int_equal(store_append(f->s, &room), 0);
	commit(f->s);

	char pair[STORE_TARGET_MAX + 1];
	store_pair_target("bob", "alice", pair);
	struct store_query q = { .kind = SQ_LATEST, .target = pair, .limit = 10 };
	struct store_result r;
	store_query(f->s, &q, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.events[0].text, "hi bob");
	assert_string_equal(r.events[0].extra, "bob");
	assert_string_equal(r.events[0].account, "alice");
	assert_string_equal(r.events[1].text, "hi alice");
	store_result_free(&r);

	/* TARGETS: alice's room and her conversation, not carol's. */
	const char *rooms[] = { "#r" };
	struct store_query t = { .kind = SQ_TARGETS, .targets = rooms, .ntargets = 1,
		.account = "ALICE", .limit = 10 };
	store_query(f->s, &t, &r);
	assert_int_equal(r.n, 2);
	int seen_pair = 0, seen_room = 0;
	for (size_t i = 0; i < r.n; i++) {
		seen_pair += strcmp(r.events[i].target, pair) == 0;
		seen_room += strcmp(r.events[i].target, "#r") == 0;
	}
	assert_int_equal(seen_pair, 1);
	assert_int_equal(seen_room, 1);
	store_result_free(&r);
	/* An account with no conversation and no room: nothing. */
	struct store_query none = { .kind = SQ_TARGETS, .targets = rooms, .ntargets = 0,
		.account = "erin", .limit = 10 };
	store_query(f->s, &none, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);

	/* Its words are in the search index (under its key)... */
	struct store_query s = { .kind = SQ_SEARCH, .target = pair, .text = "hi", .limit = 10 };
	store_query(f->s, &s, &r);
	assert_int_equal(r.n, 2);
	store_result_free(&r);

	/* bob deleted: both sides of his conversations go, carol's stay. */
	assert_int_equal(store_marker_set(f->s, "bob", "#r", 5, &(int64_t){ 0 }), STORE_OK);
	struct store_account acc = { .name = "bob", .pwhash = "x", .scram_iter = 1 };
	assert_int_equal(store_account_create(f->s, &acc), STORE_OK);
	assert_int_equal(store_account_delete(f->s, "bob"), STORE_OK);
	store_query(f->s, &q, &r);
	assert_int_equal(r.n, 0);
	store_result_free(&r);
	store_query(f->s, &t, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.events[0].target, "#r");
	store_result_free(&r);
	char other[STORE_TARGET_MAX + 1];
	store_pair_target("carol", "dave", other);
	struct store_query q2 = { .kind = SQ_LATEST, .target = other, .limit = 10 };
	store_query(f->s, &q2, &r);
	assert_int_equal(r.n, 1);
	store_result_free(&r);
	int64_t at;
	assert_int_equal(store_marker_get(f->s, "bob", "#r", &at), STORE_NOT_FOUND);
	/* ...and left it with them. */
	store_query(f->s, &s, &r);
	assert_int_equal(r.n, 0);
	assert_false(r.failed);
	store_result_free(&r);
}

/* How many events q finds. */
static size_t
found(struct store *s, const struct store_query *q)
{
	struct store_result r;
	store_query(s, q, &r);
	assert_false(r.failed);
	size_t n = r.n;
	store_result_free(&r);
	return n;
}

/* account's TARGETS (no rooms) are the keys a and b, in either order;
 * NULL for none. */
static void
targets_are_keys(struct store *s, const char *account, const char *a, const char *b)
{
	struct store_query t = { .kind = SQ_TARGETS, .account = account, .limit = 10 };
	struct store_result r;
	store_query(s, &t, &r);
	assert_int_equal(r.n, (a != NULL) + (b != NULL));
	for (size_t i = 0; i < r.n; i++)
		assert_true(strcmp(r.events[i].target, a) == 0 ||
		    (b != NULL && strcmp(r.events[i].target, b) == 0));
	if (r.n == 2)
		assert_string_not_equal(r.events[0].target, r.events[1].target);
	store_result_free(&r);
}

/* One-sided conversations (an account with a nick that is no account's):
 * their keys, found by TARGETS for their account only (not for another
 * whose name the first's is a prefix of), and gone with the account. */
static void
test_one_sided(void **state)
{
	struct fixture *f = *state;
	char half[STORE_TARGET_MAX + 1], pair[STORE_TARGET_MAX + 1], nick[NICK_LEN_MAX + 1];
	store_half_target("Alice", "CaRol", half);
	assert_string_equal(half, "@alice!carol");
	assert_true(STORE_TARGET_IS_PAIR(half));
	assert_int_equal(store_half_peer(half, "ALICE", nick), 0);
	assert_string_equal(nick, "carol");
	assert_int_equal(store_half_peer(half, "carol", nick), -1);
	assert_int_equal(store_half_peer(half, "alic", nick), -1);
	assert_int_equal(store_half_peer("@alice bob", "alice", nick), -1);
	assert_int_equal(store_pair_peer(half, "alice", nick), -1);
	assert_int_equal(store_half_peer("#room", "alice", nick), -1);

	char alicex[STORE_TARGET_MAX + 1], bobs[STORE_TARGET_MAX + 1];
	store_half_target("alicex", "carol", alicex);
	store_half_target("bob", "carol", bobs);
	store_pair_target("alice", "bob", pair);
	keyed_event(f->s, "0000000000000001", half, "alice", "carol", "alice", "to carol");
	keyed_event(f->s, "0000000000000002", half, "carol", "alice", NULL, "from carol");
	keyed_event(f->s, "0000000000000003", alicex, "alicex", "carol", "alicex", "x");
	keyed_event(f->s, "0000000000000004", bobs, "carol", "bob", NULL, "to bob");
	keyed_event(f->s, "0000000000000005", pair, "alice", "bob", "alice", "pair");
	commit(f->s);

	struct store_result r;
	struct store_query q = { .kind = SQ_LATEST, .target = half, .limit = 10 };
	store_query(f->s, &q, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.events[0].text, "to carol");
	assert_string_equal(r.events[1].text, "from carol");
	store_result_free(&r);

	targets_are_keys(f->s, "Alice", half, pair);
	targets_are_keys(f->s, "bob", bobs, pair);
	/* A nick's account, had it one, would find none of them. */
	targets_are_keys(f->s, "carol", NULL, NULL);

	/* alice deleted: her one-sided conversation goes, alicex's and
	 * bob's stay. */
	struct store_account acc = { .name = "alice", .pwhash = "x", .scram_iter = 1 };
	assert_int_equal(store_account_create(f->s, &acc), STORE_OK);
	assert_int_equal(store_account_delete(f->s, "alice"), STORE_OK);
	assert_int_equal(found(f->s, &q), 0);
	q.target = alicex;
	assert_int_equal(found(f->s, &q), 1);
	q.target = bobs;
	assert_int_equal(found(f->s, &q), 1);
}

/* What a commit of the deleting connection found, the lock let go
 * (SQLite's WAL hook runs after it): whether the account was still
 * there with rows of its conversations left, and whether the history
 * writer committed an epoch sealed then (one private message of the
 * account's among them, which the deletion must take too). */
struct midway {
	struct store *s;
	const char *dir;
	int commits, partial, gone_with_rows;
	uint64_t epochs_between;
};

#define ALICE_ROWS "SELECT count(*) FROM events WHERE target IN" \
	" ('@alice bob', '@alice carol', '@alice!dave')"

static int
midway_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	(void)pages;
	struct midway *m = arg;
	m->commits++;
	int64_t rows = db_int(m->dir, ALICE_ROWS);
	int64_t there = db_int(m->dir, "SELECT count(*) FROM accounts WHERE key = 'alice'");
	if (rows > 0 && there == 1) {
		m->partial++;
		keyed_event(m->s, "1000000000000001", "@alice bob", "bob", "alice", "bob",
		    "said meanwhile");
		struct store_event room = { .at_ms = 1000, .kind = SK_PRIVMSG, .target = "#r",
			.sender = "erin!u@h", .text = "room meanwhile" };
		snprintf(room.msgid, sizeof room.msgid, "20000000000000%02d", m->commits);
		assert_int_equal(store_append(m->s, &room), 0);
		wait_epoch(m->s, store_seal(m->s));
		m->epochs_between++;
	}
	m->gone_with_rows += rows > 0 && there == 0;
	return SQLITE_OK;
}

/* An account with more history than a batch is deleted in batches of
 * transactions of their own, the account's row in the last: between
 * two, the history writer commits (in one transaction, it waited for
 * the whole deletion, and past STORE_BUSY_MS dropped its events), the
 * account is still there (a crash leaves nothing a name registered
 * again could read), and what came meanwhile goes too, with the rows
 * past the room index's mark. An account that is not there takes
 * nobody's history. */
static void
test_delete_in_batches(void **state)
{
	struct fixture *f = *state;
	struct store_account acc = { .name = "alice", .pwhash = "x", .scram_iter = 1 };
	assert_int_equal(store_account_create(f->s, &acc), STORE_OK);
	int n = 3 * STORE_PRUNE_BATCH + 100;
	static const char *const keys[] = { "@alice bob", "@alice carol", "@alice!dave" };
	for (int i = 0; i < n; i++) {
		char id[MSGID_LEN + 1];
		id_of(i, id);
		keyed_event(f->s, id, keys[i % 3], "alice", "x", "alice", "secret words");
		id_of(n + i, id);
		struct store_event room = { .at_ms = 1000, .kind = SK_PRIVMSG, .target = "#r",
			.sender = "erin!u@h", .text = "room words" };
		snprintf(room.msgid, sizeof room.msgid, "%s", id);
		assert_int_equal(store_append(f->s, &room), 0);
	}
	keyed_event(f->s, "3000000000000001", "@bob ghost", "bob", "ghost", "bob", "keep");
	keyed_event(f->s, "3000000000000002", "@bob erin", "bob", "erin", "bob", "secret too");
	commit(f->s);
	assert_int_equal(search_n(f->s, "@alice bob", "secret"), 100);
	/* A few rows past the room index's mark. */
	store_test_room_hold(f->s, 1);
	keyed_event(f->s, "3000000000000003", "@alice bob", "bob", "alice", "bob", "late secret");
	commit(f->s);
	assert_int_equal(db_int(f->dir, ALICE_ROWS), n + 1);

	assert_int_equal(store_account_delete(f->s, "ghost"), STORE_NOT_FOUND);
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM events WHERE target = '@bob ghost'"),
	    1);

	struct midway m = { .s = f->s, .dir = f->dir };
	assert_non_null(f->s->rws[0].db);
	sqlite3_wal_hook(f->s->rws[0].db, midway_hook, &m);
	assert_int_equal(store_account_delete(f->s, "alice"), STORE_OK);
	sqlite3_wal_hook(f->s->rws[0].db, NULL, NULL);
	assert_true(m.partial >= 3);
	assert_int_equal(m.epochs_between, (uint64_t)m.partial);
	assert_int_equal(m.gone_with_rows, 0);
	struct store_stats st;
	store_finished(f->s);
	store_stats(f->s, &st);
	assert_int_equal(st.dropped, 0);

	assert_int_equal(db_int(f->dir, ALICE_ROWS), 0);
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM events_room WHERE target IN"
	    " ('@alice bob', '@alice carol', '@alice!dave')"), 0);
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM conversations WHERE"
	    " target LIKE '@alice%'"), 0);
	/* The deleting connection's list of ids is gone with it. */
	sqlite3_stmt *temp = NULL;
	assert_int_equal(sqlite3_prepare_v2(f->s->rws[0].db,
	    "SELECT count(*) FROM temp.sqlite_master", -1, &temp, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(temp), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(temp, 0), 0);
	sqlite3_finalize(temp);
	store_test_room_hold(f->s, 0);
	assert_int_equal(search_n(f->s, "@alice bob", "secret"), 0);
	assert_int_equal(search_n(f->s, "@bob erin", "secret"), 1);
	assert_int_equal(db_int(f->dir, "SELECT count(*) FROM events WHERE target = '#r'"),
	    n + m.partial);
}

static void
test_markers(void **state)
{
	struct fixture *f = *state;
	int64_t at = 0, now = 0;
	assert_int_equal(store_marker_get(f->s, "alice", "#a", &at), STORE_NOT_FOUND);
	assert_int_equal(store_marker_set(f->s, "alice", "#A", 2000, &now), STORE_OK);
	assert_int_equal(now, 2000);
	/* Only forward. */
	assert_int_equal(store_marker_set(f->s, "ALICE", "#a", 1000, &now), STORE_OK);
	assert_int_equal(now, 2000);
	assert_int_equal(store_marker_set(f->s, "alice", "#a", 3000, &now), STORE_OK);
	assert_int_equal(now, 3000);
	assert_int_equal(store_marker_get(f->s, "Alice", "#a", &at), STORE_OK);
	assert_int_equal(at, 3000);
	/* Per account and per target. */
	assert_int_equal(store_marker_get(f->s, "bob", "#a", &at), STORE_NOT_FOUND);
	assert_int_equal(store_marker_get(f->s, "alice", "#b", &at), STORE_NOT_FOUND);
	assert_int_equal(store_marker_set(f->s, "alice", "bob", 7, &now), STORE_OK);
	assert_int_equal(store_marker_get(f->s, "alice", "BOB", &at), STORE_OK);
	assert_int_equal(at, 7);
}

static void
test_rooms(void **state)
{
	struct fixture *f = *state;
	struct store_room_mask masks[] = {
		{ .letter = 'b', .mask = "bad!*@*", .by = "alice", .at = 11 },
		{ .letter = 'I', .mask = "bob!*@*", .by = "alice", .at = 12 },
	};
	char *ops[] = { "bob" };
	struct store_room r = { .name = "#Kept", .founder = "alice", .topic = "the topic",
		.topic_by = "alice!u@h", .topic_at = 10, .created = 9, .modes = "int",
		.password = "sekrit", .limit = 42, .masks = masks, .nmasks = 2, .ops = ops,
		.nops = 1, .version = 1 };
	struct store_room other = { .name = "#other", .founder = "carol", .modes = "" };
	assert_int_equal(store_room_save(f->s, &r), 0);
	assert_int_equal(store_room_save(f->s, &other), 0);
	assert_true(store_pending(f->s));
	commit(f->s);

	struct store_room *rooms;
	size_t n;
	assert_int_equal(store_rooms_load(f->s, &rooms, &n), STORE_OK);
	assert_int_equal(n, 2);
	const struct store_room *k = &rooms[0];
	assert_string_equal(k->name, "#Kept");
	assert_string_equal(k->founder, "alice");
	assert_string_equal(k->topic, "the topic");
	assert_string_equal(k->topic_by, "alice!u@h");
	assert_int_equal(k->topic_at, 10);
	assert_int_equal(k->created, 9);
	assert_string_equal(k->modes, "int");
	assert_string_equal(k->password, "sekrit");
	assert_int_equal(k->limit, 42);
	assert_int_equal(k->nmasks, 2);
	assert_int_equal(k->masks[0].letter, 'b');
	assert_string_equal(k->masks[0].mask, "bad!*@*");
	assert_string_equal(k->masks[0].by, "alice");
	assert_int_equal(k->masks[0].at, 11);
	assert_int_equal(k->masks[1].letter, 'I');
	assert_int_equal(k->nops, 1);
	assert_string_equal(k->ops[0], "bob");
	assert_null(rooms[1].topic);
	assert_null(rooms[1].password);
	assert_int_equal(rooms[1].nmasks, 0);
	store_rooms_free(rooms, n);

	/* Saved again: replaced whole (the ban gone, no key, no op). */
	r.nmasks = 1;
	r.masks = &masks[1];
	r.password = NULL;
	r.nops = 0;
	r.topic = NULL;
	r.version = 2;
	assert_int_equal(store_room_save(f->s, &r), 0);
	assert_int_equal(store_room_forget(f->s, "#OTHER", 1), 0);
	commit(f->s);
	/* And kept across a reopen. */
	store_close(f->s);
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	assert_int_equal(store_rooms_load(f->s, &rooms, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rooms[0].name, "#Kept");
	assert_null(rooms[0].password);
	assert_null(rooms[0].topic);
	assert_int_equal(rooms[0].nmasks, 1);
	assert_string_equal(rooms[0].masks[0].mask, "bob!*@*");
	assert_int_equal(rooms[0].nops, 0);
	store_rooms_free(rooms, n);

	/* A save without a founder is refused. */
	struct store_room bad = { .name = "#x" };
	assert_int_equal(store_room_save(f->s, &bad), -1);
}

/* One room's single snapshot, loaded: its topic (NULL when none, "-"
 * when the room is not there), masks and operators counted. */
static const char *
loaded(struct store *s, size_t *nmasks, size_t *nops)
{
	static char topic[64];
	struct store_room *rooms;
	size_t n;
	assert_int_equal(store_rooms_load(s, &rooms, &n), STORE_OK);
	assert_true(n <= 1);
	snprintf(topic, sizeof topic, "%s", n == 0 ? "-" : rooms[0].topic ? rooms[0].topic : "");
	*nmasks = n == 0 ? 0 : rooms[0].nmasks;
	*nops = n == 0 ? 0 : rooms[0].nops;
	store_rooms_free(rooms, n);
	return topic;
}

/* PostgreSQL: a room's save or forget is kept only over an older
 * version's (a node's save written late, after the database came back,
 * must not replace a newer one another node wrote meanwhile, nor bring
 * back a room dropped since, nor a forget drop a newer registration). */
static void
test_room_versions(void **state)
{
	struct fixture *f = *state;
	if (f->pg_name[0] == '\0')
		skip();   /* SQLite: one server, its saves in order */
	struct store_room_mask mask = { .letter = 'b', .mask = "bad!*@*", .by = "a", .at = 1 };
	char *ops[] = { "bob" };
	struct store_room ten = { .name = "#v", .founder = "alice", .topic = "ten", .modes = "",
		.masks = &mask, .nmasks = 1, .ops = ops, .nops = 1, .version = 10 };
	struct store_room five = { .name = "#v", .founder = "alice", .topic = "five",
		.modes = "", .version = 5 };
	size_t nmasks, nops;
	assert_int_equal(store_room_save(f->s, &ten), 0);
	assert_int_equal(store_room_save(f->s, &five), 0);
	commit(f->s);
	assert_string_equal(loaded(f->s, &nmasks, &nops), "ten");
	assert_int_equal(nmasks, 1);
	assert_int_equal(nops, 1);
	/* The same save again (a COMMIT whose answer was lost): the same. */
	assert_int_equal(store_room_save(f->s, &ten), 0);
	commit(f->s);
	assert_string_equal(loaded(f->s, &nmasks, &nops), "ten");
	assert_int_equal(nmasks, 1);
	/* Dropped at 20: a save of 15 written after does not bring it back. */
	assert_int_equal(store_room_forget(f->s, "#V", 20), 0);
	five.version = 15;
	assert_int_equal(store_room_save(f->s, &five), 0);
	commit(f->s);
	assert_string_equal(loaded(f->s, &nmasks, &nops), "-");
	/* Registered again at 30: a forget of 25 written after leaves it. */
	five.version = 30;
	five.topic = "thirty";
	assert_int_equal(store_room_save(f->s, &five), 0);
	assert_int_equal(store_room_forget(f->s, "#v", 25), 0);
	commit(f->s);
	assert_string_equal(loaded(f->s, &nmasks, &nops), "thirty");
	assert_int_equal(nmasks, 0);
	assert_int_equal(nops, 0);
}

/* A database of version 2 (accounts, no v3 tables) gets them and keeps
 * its accounts. */
static void
test_from_version_2(void **state)
{
	struct fixture *f = *state;
	struct store_account acc = { .name = "keep", .pwhash = "x", .scram_iter = 1 };
	assert_int_equal(store_account_create(f->s, &acc), STORE_OK);
	store_close(f->s);
	f->s = NULL;
	db_exec(f->dir, SQL_BACK_TO_V6 "DROP TABLE conversations; DROP TABLE read_markers;"
	    " DROP TABLE rooms; DROP TABLE room_masks; DROP TABLE room_ops; PRAGMA user_version = 2;");
	f->s = open_store(f->dir, 0, 0);
	assert_non_null(f->s);
	struct store_account out;
	assert_int_equal(store_account_get(f->s, "KEEP", &out), STORE_OK);
	int64_t now;
	assert_int_equal(store_marker_set(f->s, "keep", "#a", 1, &now), STORE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_keys),
		cmocka_unit_test_setup_teardown(test_private_and_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_sided, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_in_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_markers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rooms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_room_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_version_2, setup, teardown),
	};
	static const char *const on_pg[] = {
		"test_private_and_targets", "test_one_sided", "test_markers", "test_rooms",
		"test_room_versions", NULL,
	};
	return run_both(tests, sizeof tests / sizeof tests[0], on_pg);
}
