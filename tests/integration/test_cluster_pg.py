"""A cluster sharing one PostgreSQL (issue 16): two real parleyd nodes over
a real redis-server (cluster.py) and a throwaway PostgreSQL (pgtmp.py,
the pg_url fixture: a database of the test's own).

History is the cluster's: each node stores the events made on it, once,
and every node answers CHATHISTORY, SEARCH and TARGETS from all of them,
in one order. Accounts are the cluster's: registered on A, a login on B
(SASL PLAIN and SCRAM, NickServ IDENTIFY, plain /login); the nickname held
everywhere. Read markers are the account's wherever it sets them. A
message is committed before any client of any node gets it, so kill -9 of
a node under load loses nothing anybody saw; PostgreSQL restarted under
load stops neither the chat between the nodes nor, once back, history."""
import re
import threading
import time

import pytest

from chat import Client, Server, kill_group
from cluster import redis, wait_for  # noqa: F401 (redis: a fixture)
from irc import IrcClient
from test_chathistory import CAPS, batch, say, texts
from flood import PacedSender, Receiver, flood_end, seen_at_least
from test_irc_accounts import authenticate, finish, numerics, plain, scram, start as sasl_start
from test_pgstore import wait_log


def pg_node(make_server, redis, url, *args):
    return make_server("--cluster", redis.url, "--database", url, "--flood-rate", "0",
                       "--max-per-ip", "0", *args, irc=True)


@pytest.fixture
def nodes(redis, pg_url, make_server):
    return [pg_node(make_server, redis, pg_url) for _ in range(2)]


def irc(srv, nick, caps=CAPS):
    return IrcClient(srv.irc_port).register(nick, caps=caps)


def db_of(url):
    return url.rsplit("/", 1)[1]


def rows(pg, url, sql):
    return [line.split("|") for line in pg.psql(sql, db=db_of(url)).split("\n") if line]


def knows(watcher, nick, account=None):
    """Waits until watcher's node has heard of nick's user (another node's),
    logged in as account if given (its WHOIS says so: 330)."""
    def check():
        if account is None:
            watcher.send("ISON %s" % nick)
            return watcher.expect_numeric("303").group("rest").split(":")[-1].split() == [nick]
        watcher.send("WHOIS %s" % nick)
        said = watcher.collect(r" 318 \S+ %s " % re.escape(nick))
        return any(re.search(r" 330 \S+ %s %s " % (re.escape(nick), re.escape(account)), line)
                   for line in said)
    wait_for("%s is known on the other node%s" % (nick, " as " + account if account else ""),
             check, timeout=30)


def test_history_in_a_cluster_needs_postgresql(redis, pg_url):
    from chat import PARLEYD, free_port
    import subprocess
    run = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                          "--cluster", redis.url, "--history", "on"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    assert "database postgresql://" in run.stderr, run.stderr


def test_history_on_b_has_what_was_said_through_a_once(nodes, pg_cluster, pg_url):
    a_node, b_node = nodes
    alice = irc(a_node, "alice", caps=CAPS + " soju.im/search")
    bob = irc(b_node, "bob", caps=CAPS + " soju.im/search")
    alice.join("#h")
    bob.join("#h")
    alice.expect(r":bob!\S+ JOIN #h")
    said = say(alice, "#h", ["from a %d" % i for i in range(5)] + ["a blue whale"])
    said += say(bob, "#h", ["from b 0", "a grey whale"])
    alice.expect(r"PRIVMSG #h :a grey whale$")
    # Every node stored what was made on it, and only that: one row each.
    got = rows(pg_cluster, pg_url, "SELECT msgid, count(*) FROM events WHERE target = '#h' "
               "AND kind = 1 GROUP BY msgid ORDER BY msgid")
    assert [r[0] for r in got] == [m.tags["msgid"] for m in said]
    assert all(r[1] == "1" for r in got)
    for reader in (alice, bob):
        reader.send("CHATHISTORY LATEST #h * 10")
        assert texts(batch(reader)[1]) == [m.params[-1] for m in said]
        reader.send("SEARCH in=#h;text=whale")
        assert texts(batch(reader, "soju.im/search")[1]) == ["a blue whale", "a grey whale"]


class Talker(threading.Thread):
    """Says n numbered lines into a room as fast as it can, reading its
    echoes (and everything else) so that its sendq never fills."""

    def __init__(self, client, room, n):
        super().__init__(daemon=True)
        self.client, self.room, self.n = client, room, n

    def run(self):
        name = self.client.nick.encode()
        data = b"".join(b"PRIVMSG %s :%s %d\r\n" % (self.room.encode(), name, i)
                        for i in range(self.n))
        self.client.sock.sendall(data)


def test_two_nodes_writing_one_room_give_every_reader_one_order(nodes, pg_cluster, pg_url):
    """Messages made at the same moment on two nodes (some in the same
    millisecond) come back in msgid order, the same on both nodes and in
    the database; msgids are unique (their node is in them)."""
    a_node, b_node = nodes
    alice = irc(a_node, "alice")
    bob = irc(b_node, "bob")
    alice.join("#same")
    bob.join("#same")
    alice.expect(r":bob!\S+ JOIN #same")
    knows(bob, "alice")
    n = 300
    talkers = [Talker(alice, "#same", n), Talker(bob, "#same", n)]
    for t in talkers:
        t.start()
    for t in talkers:
        t.join(30)
    for c in (alice, bob):
        c.expect(r"PRIVMSG #same :alice %d$" % (n - 1), timeout=60)
        c.expect_seen(r"PRIVMSG #same :bob %d$" % (n - 1), timeout=60)
    stored = [r[0] for r in rows(pg_cluster, pg_url, "SELECT msgid FROM events WHERE "
                                 "target = '#same' AND kind = 1 ORDER BY msgid")]
    assert len(stored) == len(set(stored)) == 2 * n
    answers = []
    for c in (alice, bob):
        got, after = [], "timestamp=2000-01-01T00:00:00.000Z"
        while True:
            c.send("CHATHISTORY AFTER #same %s 100" % after)
            page = [m.tags["msgid"] for m in batch(c)[1] if m.command == "PRIVMSG"]
            if not page:
                break
            got += page
            after = "msgid=" + page[-1]
        answers.append(got)
    assert answers[0] == answers[1] == stored
    # How often the two nodes shared a millisecond (not asserted: timing).
    same_ms = {}
    for msgid in stored:
        ms, node = msgid_fields(msgid)
        same_ms.setdefault(ms, set()).add(node)
    print("milliseconds with messages of both nodes:",
          sum(1 for nodes_in_ms in same_ms.values() if len(nodes_in_ms) > 1))


def msgid_fields(msgid):
    """(Unix ms, node) of a msgid (chat/msgid.h: 48 bits of ms, 16 of
    node, 16 of sequence, in Crockford's base32)."""
    v = 0
    for ch in msgid:
        v = v * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(ch)
    return v >> 32, (v >> 16) & 0xFFFF


def register_on(srv, name, password):
    c = IrcClient(srv.irc_port).register(name)
    c.send("REGISTER * * %s" % password)
    c.expect(r" REGISTER SUCCESS ")
    c.send("QUIT")
    c.expect_closed()


def test_an_account_registered_on_a_logs_in_on_b_every_way(nodes, pg_cluster, pg_url):
    a_node, b_node = nodes
    register_on(a_node, "carol", "sesame-street")
    # SASL PLAIN and SCRAM-SHA-256 on B.
    c = sasl_start(b_node)
    assert numerics(authenticate(c, "PLAIN", plain("carol", "sesame-street")))[-2:] == \
        ["900", "903"]
    c.send("QUIT")
    c.expect_closed()
    c = sasl_start(b_node, caps="sasl " + CAPS)
    assert scram(c, "carol", "sesame-street")[-2:] == ["900", "903"]
    finish(c, "carol")
    # A private message between accounts, sent through A: in carol's
    # conversations on B.
    dave = irc(a_node, "dave")
    dave.send("REGISTER * * dave-password")
    dave.expect(r" REGISTER SUCCESS ")
    knows(dave, "carol")
    dave.send("PRIVMSG carol :psst")
    c.expect(r"PRIVMSG carol :psst$")
    c.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
           "timestamp=2100-01-01T00:00:00.000Z 10")
    assert [m.params[1] for m in batch(c, "draft/chathistory-targets")[1]] == ["dave"]
    c.send("CHATHISTORY LATEST dave * 10")
    assert texts(batch(c)[1]) == ["psst"]
    # NickServ IDENTIFY on B.
    d = irc(b_node, "dan", caps="")
    d.send("PRIVMSG NickServ :IDENTIFY carol sesame-street")
    d.expect_numeric("900")
    # plain /login on B.
    p = Client(b_node.port)
    p.send("/login carol sesame-street")
    p.expect(r"^-- you are logged in as carol$")
    # A password changed on B is the one A checks.
    c.send("PRIVMSG NickServ :PASSWD sesame-street new-password")
    c.expect(r"NOTICE carol :Your password is changed")
    e = sasl_start(a_node)
    assert numerics(authenticate(e, "PLAIN", plain("carol", "sesame-street")))[-1] == "904"
    assert numerics(authenticate(e, "PLAIN", plain("carol", "new-password")))[-2:] == \
        ["900", "903"]


def test_a_registered_nickname_is_held_on_every_node(nodes):
    a_node, b_node = nodes
    register_on(a_node, "mia", "sesame12")
    # B reads the accounts' names again within a second or two of a change.
    def refused_on_b():
        c = IrcClient(b_node.irc_port).register("someone")
        c.send("NICK mia")
        line = c.expect(r" 433 | NICK :?mia")
        c.close()
        return " 433 " in line.string
    wait_for("B refuses the nickname mia to a user not logged in", refused_on_b, timeout=30)
    # Logged in on B, dropped on A: logged out on B by B (once, as
    # everyone sees), and the nickname free again on B.
    on_b = sasl_start(b_node, caps="sasl account-notify")
    assert numerics(authenticate(on_b, "PLAIN", plain("mia", "sesame12")))[-2:] == \
        ["900", "903"]
    finish(on_b, "mia_b")
    on_b.join("#seen")
    watcher = irc(a_node, "watcher", caps="account-notify")
    watcher.join("#seen")
    knows(watcher, "mia_b")
    owner = sasl_start(a_node)
    assert numerics(authenticate(owner, "PLAIN", plain("mia", "sesame12")))[-2:] == \
        ["900", "903"]
    finish(owner, "mia_owner")
    owner.send("PRIVMSG NickServ :DROP sesame12")
    owner.expect(r"NOTICE \S+ :Account mia is dropped")
    on_b.expect(r":mia_b!\S+ ACCOUNT \*$", timeout=15)
    watcher.expect(r":mia_b!\S+ ACCOUNT \*$", timeout=15)
    wait_for("B gives the nickname mia again", lambda: not refused_on_b(), timeout=30)
    watcher.send("WHOIS mia_b")
    watcher.expect_numeric("318")
    assert sum(1 for l in watcher.lines if " ACCOUNT " in l) == 1, watcher.lines


def test_read_markers_follow_the_account_across_nodes(nodes):
    a_node, b_node = nodes
    register_on(a_node, "rita", "sesame12")
    caps = "sasl draft/read-marker server-time"
    on_a = sasl_start(a_node, caps=caps)
    assert numerics(authenticate(on_a, "PLAIN", plain("rita", "sesame12")))[-2:] == \
        ["900", "903"]
    finish(on_a, "rita")
    on_b = sasl_start(b_node, caps=caps)
    assert numerics(authenticate(on_b, "PLAIN", plain("rita", "sesame12")))[-2:] == \
        ["900", "903"]
    finish(on_b, "rita_b")
    # A tells the nodes where its mirror has a user logged in as rita: it
    # must have heard of rita_b first (B knowing rita says nothing of it;
    # the sanitizer CI saw the marker set before A had, and B told nothing).
    knows(on_a, "rita_b", account="rita")
    on_a.send("MARKREAD #room timestamp=2026-01-02T03:04:05.678Z")
    on_a.expect(r"MARKREAD #room timestamp=2026-01-02T03:04:05.678Z$")
    # Told to the account's connection on the other node...
    on_b.expect(r"MARKREAD #room timestamp=2026-01-02T03:04:05.678Z$")
    # ...and kept where B reads it.
    on_b.send("MARKREAD #room")
    on_b.expect(r"MARKREAD #room timestamp=2026-01-02T03:04:05.678Z$")
    # A marker only moves forward, whichever node is asked.
    on_b.send("MARKREAD #room timestamp=2025-01-01T00:00:00.000Z")
    on_b.expect(r"MARKREAD #room timestamp=2026-01-02T03:04:05.678Z$")


def two_node_flood(nodes, per_node=2, senders_on=None):
    """Receivers and paced senders in #flood on both nodes (senders on
    those of senders_on only, if given), running."""
    receivers, senders = [], []
    for k, srv in enumerate(nodes):
        for i in range(per_node):
            c = irc(srv, "r%d_%d" % (k, i), caps="message-tags")
            c.join("#flood")
            receivers.append((c, Receiver(c.sock)))
    for k, srv in enumerate(nodes):
        if senders_on is not None and srv not in senders_on:
            continue
        for i in range(per_node):
            c = irc(srv, "s%d_%d" % (k, i), caps="")
            c.join("#flood")
            senders.append((c, PacedSender(c.sock, c.nick)))
    # Every receiver hears the senders of both nodes before they start.
    for c, _ in receivers:
        knows(c, senders[0][0].nick)
        knows(c, senders[-1][0].nick)
    for _, r in receivers:
        r.start()
    for _, s in senders:
        s.start()
    return receivers, senders


def counts(receivers):
    return [len(r.seen) for _, r in receivers]


def stored_flood(pg, url):
    return {r[0] for r in rows(pg, url, "SELECT msgid FROM events WHERE kind = 1 "
                               "AND target = '#flood'")}


def test_kill_9_of_a_node_under_load_loses_nothing_any_client_saw(redis, pg_cluster, pg_url,
                                                                  make_server):
    """Each node publishes an event only once it is committed, so what a
    client of the other node saw of the killed one is stored too."""
    a_node = Server("--cluster", redis.url, "--database", pg_url, "--flood-rate", "0",
                    "--max-per-ip", "0", irc=True)
    try:
        b_node = pg_node(make_server, redis, pg_url)
        # A database slow to commit (each statement inserting events waits 100 ms): the moment
        # between an event's delivery and its commit, if there were one,
        # would be wide.
        pg_cluster.psql("CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END$$; "
                        "CREATE TRIGGER slow AFTER INSERT ON events "
                        "FOR EACH STATEMENT EXECUTE FUNCTION slow()", db=db_of(pg_url))
        # Only A's users talk: B, storing nothing of its own, delivers
        # what it hears at once.
        receivers, senders = two_node_flood([a_node, b_node], senders_on=[a_node])
        seen_at_least(receivers, 400, timeout=60)
        kill_group(a_node.proc)
        a_node.proc.wait()
        time.sleep(0.5)
        seen = flood_end(receivers, senders)
    finally:
        a_node.stop()
    assert seen, "the flood never got going"
    missing = seen - stored_flood(pg_cluster, pg_url)
    assert not missing, "%d of %d messages clients saw are not stored: %s" % (
        len(missing), len(seen), sorted(missing)[:5])


def test_postgresql_restarted_under_load(redis, own_pg, make_server):
    """The chat between the nodes goes on while the database is away; once
    it is back each node writes what it held back and history answers on
    both, with what was said through the other node."""
    url = own_pg.createdb("restart")
    a_node = pg_node(make_server, redis, url)
    b_node = pg_node(make_server, redis, url)
    receivers, senders = two_node_flood([a_node, b_node], per_node=1)
    seen_at_least(receivers, 300, timeout=60)
    own_pg.stop()
    before = counts(receivers)
    seen_at_least(receivers, max(before) + 300, timeout=60)
    during = counts(receivers)
    assert all(d > b for d, b in zip(during, before)), (before, during)
    for srv in (a_node, b_node):
        wait_log(srv, r"history: the database is away")
    own_pg.start()
    for srv in (a_node, b_node):
        wait_log(srv, r"history: the database is back", timeout=60)
    seen_at_least(receivers, max(during) + 300, timeout=60)
    seen = flood_end(receivers, senders)
    # Each node wrote its own senders' lines, those held back included;
    # history on B answers with A's sender's newest lines.
    missing = seen - stored_flood(own_pg, url)
    assert not missing, "%d of %d messages clients saw are not stored: %s" % (
        len(missing), len(seen), sorted(missing)[:5])
    asker = irc(b_node, "asker")
    asker.join("#flood")
    asker.send("CHATHISTORY LATEST #flood * 1000")
    said = texts(batch(asker)[1])
    assert any(t.startswith("s0_0 ") for t in said) and any(t.startswith("s1_0 ") for t in said)


def test_read_marker_requests_heard_from_redis_are_checked(redis, pg_url, make_server):
    """What comes on a node's channel is input: a marker request that is
    not exactly 'M <account> <target> <ms>' is dropped (counted as
    garbage), and the node goes on."""
    srv = pg_node(make_server, redis, pg_url)
    rita = irc(srv, "rita", caps="draft/read-marker")
    rita.send("REGISTER * * sesame12")
    rita.expect(r" REGISTER SUCCESS ")
    # This node's id: the one in the set, or, after a start retried on
    # "Address already in use", the newest (the first try's stays there).
    node = max(int(i) for i in redis.command("SMEMBERS", "parley:nodes"))
    channel = "parley:n:%s" % node
    for bad in ["M", "M ", "M rita", "M rita #room", "M rita #room -5", "MM rita #room 5",
                "M rita #room 5 extra", "M rita #room 9999999999999999", "M rita #room 12x",
                "M r\x01ta #room 5", "M rita #ro\nom 5", "M " + "x" * 5000 + " #room 5",
                "M rita " + "#" * 400 + " 5", "M rita nick! 5"]:
        redis.command("PUBLISH", channel, bad)
    redis.command("PUBLISH", channel, "M rita #room 1700000000000")
    rita.expect(r"MARKREAD #room timestamp=2023-11-14T22:13:20.000Z$")
    rita.send("PING :after")
    rita.expect(r"PONG \S+ :after$")
    assert [l for l in rita.lines if "MARKREAD" in l] == \
        [":test.parley MARKREAD #room timestamp=2023-11-14T22:13:20.000Z"]
