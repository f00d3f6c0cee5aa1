"""One nickname space over the nodes of a cluster (issue 15, lane B): a
nickname is claimed in Redis before a node gives it, so of two users
asking for one nickname on two nodes at once exactly one gets it, on every
door; a nickname is free everywhere once its user left it; and what one
asks about a user of another node (WHOIS, ISON, MONITOR, KILL, AWAY)
answers as for a user of its own."""
import re
import socket
import time

import irc
from chat import Client, kill_group
from cluster import node, nodes, plain, redis, start_node, wait_for  # noqa: F401 (fixtures)
from wsclient import WsIrcClient


def claim_of(redis, nick):
    """The claim's value in Redis ("node owner ms"), or None."""
    return redis.command("GET", "parley:nick:" + nick.lower())


def node_ids(redis):
    return sorted(int(i) for i in redis.command("SMEMBERS", "parley:nodes"))


def node_id(node):
    """node's id, from the number of a guest it names (id * 65536 + n): not
    the order of the ids in Redis, where a start retried after "Address
    already in use" leaves its first try's id (test_a_guest_nick_... failed
    so under make sanitize)."""
    probe = Client(node.port, welcome=False)
    guest = int(probe.expect(r"^-- you are guest(\d+);").group(1))
    probe.close()
    return guest >> 16


def raw_irc(srv):
    s = socket.create_connection(("127.0.0.1", srv.irc_port), timeout=10)
    return s


def read_until_registered_or_refused(sock):
    """'001' or '433' from an unregistered IRC connection."""
    buf = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in buf.split(b"\r\n"):
            parts = line.split(b" ")
            if len(parts) > 1 and parts[1] in (b"001", b"433"):
                return parts[1].decode()
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    raise AssertionError("neither 001 nor 433: %r" % buf[-500:])


def test_two_clients_racing_for_one_nick_on_two_nodes_exactly_one_gets_it(redis, nodes):
    a_node, b_node = nodes
    ids = {"a": node_id(a_node), "b": node_id(b_node)}
    rounds = 40
    wins = {"a": 0, "b": 0}
    for i in range(rounds):
        nick = "racer%d" % i
        a, b = raw_irc(a_node), raw_irc(b_node)
        line = ("NICK %s\r\nUSER u 0 * :r\r\n" % nick).encode()
        # Both asked before either is answered.
        a.sendall(line)
        b.sendall(line)
        got = {"a": read_until_registered_or_refused(a),
               "b": read_until_registered_or_refused(b)}
        assert sorted(got.values()) == ["001", "433"], (i, got)
        winner = "a" if got["a"] == "001" else "b"
        wins[winner] += 1
        # The claim is the winner's node's.
        owner_node = int(claim_of(redis, nick).split()[0])
        assert owner_node == ids[winner]
        a.close()
        b.close()
    # (Who wins is the machine's business: no share is asserted.)
    assert wins["a"] + wins["b"] == rounds


def test_plain_users_racing_for_one_nick_exactly_one_gets_it(nodes):
    a_node, b_node = nodes
    alice = Client(a_node.port)
    bob = Client(b_node.port)
    for i in range(20):
        nick = "plainrace%d" % i
        alice.send("/nick " + nick)
        bob.send("/nick " + nick)
        results = []
        for who in (alice, bob):
            m = who.expect(r"^(?:-- %s is now known as %s|!! nick-in-use: %s is already taken)$"
                           % (re.escape(who.nick), nick, nick))
            if "known as" in m.group(0):
                results.append("won")
                who.nick = nick
            else:
                results.append("lost")
        assert sorted(results) == ["lost", "won"], (i, results)


def test_a_nick_held_in_redis_is_refused_on_every_door(redis, nodes):
    # A claim no node has heard of (its user is in no node's mirror): only
    # Redis says it is taken.
    a_node, _ = nodes
    redis.command("SET", "parley:nick:ghost", "999 1.c1 0")
    c = irc.IrcClient(a_node.irc_port)
    c.send("NICK Ghost")
    c.send("USER u 0 * :r")
    c.expect_numeric("433", r"Ghost :Nickname is already in use")
    # The client picks another and is registered.
    c.send("NICK ghost2")
    c.expect_numeric("001")
    c.send("NICK GHOST")
    c.expect_numeric("433", r"GHOST ")
    p = Client(a_node.port)
    p.send("/nick ghost")
    p.expect(r"^!! nick-in-use: ghost is already taken$")
    ws = WsIrcClient(a_node.web_port)
    ws.send("NICK ghost")
    ws.send("USER u 0 * :r")
    ws.expect_numeric("433", r"ghost ")
    ws.send("NICK wsuser")
    ws.expect_numeric("001")
    assert claim_of(redis, "ghost") == "999 1.c1 0"


def test_registration_collides_across_nodes_on_every_door(redis, nodes):
    a_node, b_node = nodes
    # (Each kept: a client dropped closes, and its nick is free again.)
    holders = [irc.connect(a_node, "alice"), plain(a_node, "pam"),
               WsIrcClient(a_node.web_port).register("wendy")]
    for nick in ("alice", "pam", "wendy"):
        wait_for("the claim of " + nick, lambda: claim_of(redis, nick) is not None)
        c = irc.IrcClient(b_node.irc_port)
        c.send("NICK " + nick.upper())
        c.send("USER u 0 * :r")
        c.expect_numeric("433", nick.upper() + " ")
        p = Client(b_node.port)
        p.send("/nick " + nick)
        p.expect(r"^!! nick-in-use: %s is already taken$" % nick)
        w = WsIrcClient(b_node.web_port)
        w.send("NICK " + nick)
        w.send("USER u 0 * :r")
        w.expect_numeric("433", nick + " ")
    assert len(holders) == 3


def test_a_nick_change_is_seen_everywhere_and_frees_the_old_nick(redis, nodes):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    alice.join("#lobby")
    bob = plain(b_node, "bob")
    alice.expect(r"^:\S+ NICK :?bob$")
    alice.send("NICK alicia")
    alice.expect(r"^:alice!\S+ NICK :?alicia$")
    bob.expect(r"^-- alice is now known as alicia$")
    wait_for("alice released", lambda: claim_of(redis, "alice") is None)
    assert claim_of(redis, "alicia") is not None
    # The old nick is free on the other node; the new one is not.
    again = irc.connect(b_node, "alice")
    again.send("NICK alicia")
    again.expect_numeric("433", "alicia ")
    # A change of case only keeps the nick (and its claim).
    claim = claim_of(redis, "alicia")
    alice.send("NICK Alicia")
    alice.expect(r"^:alicia!\S+ NICK :?Alicia$")
    bob.expect(r"^-- alicia is now known as Alicia$")
    assert claim_of(redis, "alicia") == claim
    # The plain door's /nick too.
    bob.send("/nick robert")
    bob.expect(r"^-- bob is now known as robert$")
    wait_for("bob released", lambda: claim_of(redis, "bob") is None)
    plain(a_node, "bob")


def test_a_user_that_goes_releases_its_nick(redis, nodes):
    a_node, b_node = nodes
    quitter = irc.connect(a_node, "quitter")
    dropper = irc.connect(a_node, "dropper")
    walker = plain(a_node, "walker")
    for nick in ("quitter", "dropper", "walker"):
        wait_for("the claim of " + nick, lambda: claim_of(redis, nick) is not None)
    quitter.send("QUIT :bye")
    quitter.expect_closed()
    dropper.close()            # the connection is lost, no QUIT
    walker.send("/quit")
    for nick in ("quitter", "dropper", "walker"):
        wait_for(nick + " released", lambda: claim_of(redis, nick) is None)
        irc.connect(b_node, nick)


def test_a_guest_nick_is_claimed_and_a_taken_one_replaced(redis, nodes):
    a_node, _ = nodes
    # A's guests are numbered from its node id * 65536 (node_id took the
    # first). The next ones are taken in Redis already (by users no node
    # has heard of).
    first = node_id(a_node)
    assert first in node_ids(redis)
    taken = {"guest%d" % ((first << 16) + i) for i in range(1, 40)}
    for nick in taken:
        redis.command("SET", "parley:nick:" + nick, "999 1.c1 0")
    c = Client(a_node.port, welcome=False)
    guest = c.expect(r"^-- you are (guest\d+);").group(1)
    assert guest in taken
    while guest in taken:
        guest = c.expect(r"^-- %s is now known as (guest\d+)$" % guest).group(1)
    wait_for("the guest's claim", lambda: claim_of(redis, guest) is not None)
    assert int(claim_of(redis, guest).split()[0]) == first
    for nick in taken:
        assert claim_of(redis, nick) == "999 1.c1 0"


def test_whois_ison_userhost_and_monitor_see_users_of_another_node(nodes):
    a_node, b_node = nodes
    asker = irc.connect(a_node, "asker")
    asker.send("MONITOR + bob")
    asker.expect_numeric("731", r":bob$")
    bob = irc.connect(b_node, "bob", realname="Bob Builder")
    asker.expect_numeric("730", r":bob!")
    asker.send("WHOIS bob")
    asker.expect_numeric("311", r"bob \S+ \S+ \* :Bob Builder")
    asker.expect_numeric("318")
    asker.send("ISON bob nobody")
    asker.expect_numeric("303", r":bob\s*$")
    asker.send("USERHOST bob")
    asker.expect_numeric("302", r":bob=\+\S+@\S+")
    bob.send("QUIT :later")
    asker.expect_numeric("731", r":bob$")
    asker.send("ISON bob")
    asker.expect_numeric("303", r":\s*$")
    irc.connect(b_node, "bob")
    asker.expect_numeric("730", r":bob!")


def test_an_operator_kills_a_user_of_another_node(redis, make_server):
    a_node, b_node = [start_node(make_server, redis, "--oper", "admin:pw", irc=True, web=True)
                      for _ in range(2)]
    op = irc.connect(a_node, "op")
    op.send("OPER admin pw")
    op.expect_numeric("381")
    op.join("#lobby")
    victim = irc.connect(b_node, "victim")
    victim.join("#lobby")
    op.expect(r"^:victim!\S+ JOIN #lobby")
    op.send("KILL victim :spamming")
    lines = victim.expect_closed()
    assert any("Killed (op (spamming))" in line for line in lines), lines
    op.expect(r"^:victim!\S+ QUIT :.*Killed \(op \(spamming\)\)")
    wait_for("victim released", lambda: claim_of(redis, "victim") is None)
    # Only an operator may.
    plainuser = irc.connect(a_node, "someone")
    other = irc.connect(b_node, "other")
    plainuser.send("KILL other :no")
    plainuser.expect_numeric("481")
    other.send("PING :still")
    other.expect(r"PONG \S+ :still$")


def test_away_and_setname_cross_nodes(nodes):
    a_node, b_node = nodes
    watcher = irc.connect(a_node, "watcher", caps="away-notify setname")
    watcher.join("#lobby")
    bob = irc.connect(b_node, "bob", caps="setname")
    bob.join("#lobby")
    watcher.expect(r"^:bob!\S+ JOIN #lobby")
    bob.send("AWAY :at lunch")
    bob.expect_numeric("306")
    watcher.expect(r"^(@\S+ )?:bob!\S+ AWAY :at lunch$")
    watcher.send("WHOIS bob")
    watcher.expect_numeric("301", r"bob :at lunch")
    watcher.send("PRIVMSG bob :hello?")
    watcher.expect_numeric("301", r"bob :at lunch")
    bob.send("AWAY")
    watcher.expect(r"^(@\S+ )?:bob!\S+ AWAY\s*$")
    bob.send("SETNAME :Robert Builder")
    watcher.expect(r"^(@\S+ )?:bob!\S+ SETNAME :Robert Builder$")
    watcher.send("WHOIS bob")
    watcher.expect_numeric("311", r"bob \S+ \S+ \* :Robert Builder")


def test_claims_are_asserted_again_when_redis_comes_back_empty(redis, nodes):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    wait_for("alice's claim", lambda: claim_of(redis, "alice") is not None)
    # A's node id, from its own claim: after the restart parley:nodes fills
    # again at each node's next heartbeat, so its order says nothing yet.
    a_id = int(claim_of(redis, "alice").split()[0])
    redis.kill()
    # While Redis is away a node gives nicknames by its own rule alone.
    alice.send("NICK alison")
    alice.expect(r"^:alice!\S+ NICK :?alison$")
    redis.start_again()
    # Back (an empty Redis): the node claims what its users hold again.
    wait_for("alison claimed again", lambda: claim_of(redis, "alison") is not None, timeout=60)
    assert int(claim_of(redis, "alison").split()[0]) == a_id
    c = irc.IrcClient(b_node.irc_port)
    c.send("NICK alison")
    c.send("USER u 0 * :r")
    c.expect_numeric("433", "alison ")


def test_a_restarted_node_forgets_the_claims_of_its_run_before(redis, make_server):
    a_node = node(redis, "--node-id", "7", irc=True)
    try:
        keeper = irc.connect(a_node, "keeper")
        held = irc.connect(a_node, "stale")
        wait_for("stale's claim", lambda: claim_of(redis, "stale") is not None)
        assert redis.command("SISMEMBER", "parley:nicks:7", "parley:nick:stale") == 1
        # A claim another node made is not node 7's to forget.
        redis.command("SET", "parley:nick:other", "8 1.c1 0")
        redis.command("SADD", "parley:nicks:7", "parley:nick:other")
        kill_group(a_node.proc)
        a_node.proc.wait()
        held.close()
        keeper.close()
    finally:
        a_node.stop()
    # Node 7 comes back (its heartbeat key gone first): its old claims go
    # before it serves anyone.
    redis.command("DEL", "parley:node:7")
    again = start_node(make_server, redis, "--node-id", "7", flood=True, irc=True)
    assert claim_of(redis, "stale") is None
    assert claim_of(redis, "keeper") is None
    assert claim_of(redis, "other") == "8 1.c1 0"
    irc.connect(again, "stale")


def test_a_kill_request_that_breaks_the_rules_is_dropped(redis, nodes):
    a_node, _ = nodes
    alice = irc.connect(a_node, "alice")
    a_id = node_id(a_node)
    channel = "parley:n:%d" % a_id
    for bad in ("K", "K 2", "K 2 alice", "K 2 alice ", "K 2 al!ce why",
                "K 2 alice two\nlines", "K 2 alice " + "x" * 400, "K 2 nobody why",
                "K 2 alice \r"):
        redis.command("PUBLISH", channel, bad)
    alice.send("PING :alive")
    alice.expect(r"PONG \S+ :alive$")
    # What a node sends is obeyed, as any event of it is.
    redis.command("PUBLISH", channel, "K 2 alice Killed (op (enough))")
    lines = alice.expect_closed()
    assert any("Killed (op (enough))" in line for line in lines), lines
