"""Rooms shared by the nodes of a cluster (issue 15, lane C): their state
lives in Redis, changed by one script per kind of change, so an operator
on any node rules the room everywhere, the first joiner of a room is its
one operator whichever node it is on, and a node started later mirrors
the rooms, topics, modes and members that exist."""
import re

import irc
from cluster import nodes, redis, start_node, until, wait_for  # noqa: F401 (fixtures)


def wait_loaded(srv, timeout=10):
    """Until srv logged that it loaded the cluster's shared state."""
    wait_for("loaded: " + srv.log_text()[-2000:],
             lambda: "loaded the shared state" in srv.log_text(), timeout)


def names(c, room):
    """NAMES room as {nick: prefix}."""
    c.send("NAMES %s" % room)
    got = {}
    for line in c.collect(r" 366 \S+ %s " % re.escape(room)):
        m = irc.parse(line)
        if m.command == "353":
            for word in m.params[-1].split():
                prefix = word[0] if word[0] in "@+" else ""
                got[word[len(prefix):]] = prefix
    return got


def listed(c):
    """LIST as {room: (count, topic)}."""
    c.send("LIST")
    return {m.params[1]: (int(m.params[2]), m.params[3])
            for m in map(irc.parse, c.collect(r" 323 ")) if m.command == "322"}


def join_after(c, room, nick):
    """c joins room once c's node mirrors nick's membership there (a node
    checks a JOIN against its mirror, which another node's change
    reaches a Redis round trip later)."""
    assert until(lambda: nick in names(c, room)), names(c, room)
    c.join(room)


def until_modes(c, room, letter):
    """Until c's node shows letter among room's modes."""
    def has():
        c.send("MODE %s" % room)
        m = c.expect_numeric("324|403")
        return " 324 " in m.group(0) and letter in m.group("rest").split()[1]
    assert until(has)


def members(redis, room):
    """The room's members in Redis: {nick folded: (node, modes)}."""
    flat = redis.command("HGETALL", "parley:room:%s:m" % room.lower()) or []
    return {flat[i]: tuple(int(x) for x in flat[i + 1].split())
            for i in range(0, len(flat), 2)}


def test_modes_set_on_one_node_hold_for_joiners_on_another(nodes):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    bob = irc.connect(b_node, "bob")
    carol = irc.connect(b_node, "carol")
    for room, change, refused in (("#ban", "+b carol!*@*", "474"),
                                  ("#key", "+k sesame", "475"),
                                  ("#lim", "+l 2", "471"),
                                  ("#inv", "+i", "473")):
        alice.join(room)
        join_after(bob, room, "alice")
        alice.expect(r":bob!\S+ JOIN :?%s" % room)
        alice.send("MODE %s %s" % (room, change))
        # bob, on B, hears it: B's mirror has it.
        bob.expect(r":alice!\S+ MODE %s %s$" % (room, re.escape(change)))
        carol.send("JOIN %s" % room)
        carol.expect_numeric(refused, re.escape(room))
    # The right key opens it, on B too.
    carol.send("JOIN #key sesame")
    carol.expect(r":carol!\S+ JOIN :?#key")
    # +o given on A: bob rules the room from B, and A follows.
    alice.send("MODE #key +o bob")
    bob.expect(r":alice!\S+ MODE #key \+o bob$")
    bob.send("MODE #key -k sesame")
    alice.expect(r":bob!\S+ MODE #key -k \*$")
    alice.send("JOIN #inv")   # (alice is in it: nothing)
    assert names(alice, "#key") == names(bob, "#key") == {"alice": "@", "bob": "@",
                                                          "carol": ""}


def test_an_operator_on_one_node_kicks_a_user_of_another(redis, nodes):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    bob = irc.connect(b_node, "bob")
    dave = irc.connect(b_node, "dave")
    alice.join("#k")
    join_after(bob, "#k", "alice")
    dave.join("#k")
    alice.expect(r":dave!\S+ JOIN :?#k")
    alice.send("KICK #k bob :out you go")
    bob.expect(r":alice!\S+ KICK #k bob :out you go$")
    dave.expect(r":alice!\S+ KICK #k bob :out you go$")
    assert names(dave, "#k") == names(alice, "#k") == {"alice": "@", "dave": ""}
    assert set(members(redis, "#k")) == {"alice", "dave"}
    # A user of B without op cannot kick on A's behalf.
    dave.send("KICK #k alice")
    dave.expect_numeric("482")
    alice.expect_nothing(r" KICK #k alice")


def test_a_topic_set_on_one_node_is_seen_on_the_other_and_by_later_joiners(redis, nodes):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    bob = irc.connect(b_node, "bob")
    bob.join("#t")
    join_after(alice, "#t", "bob")
    bob.send("TOPIC #t :set on B")
    alice.expect(r":bob!\S+ TOPIC #t :set on B$")
    carol = irc.connect(a_node, "carol")
    carol.send("JOIN #t")
    carol.expect_numeric("332", r"#t :set on B$")
    carol.expect_numeric("333", r"#t bob!\S+ \d+$")
    assert redis.command("HGET", "parley:room:#t", "topic") == "set on B"
    # alice has no op on A: +t holds there too.
    alice.send("TOPIC #t :not mine to set")
    alice.expect_numeric("482")
    bob.expect_nothing(r"not mine to set")


def test_an_invitation_from_another_node_opens_an_invite_only_room(nodes):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    bob = irc.connect(b_node, "bob")
    alice.join("#i")
    alice.send("MODE #i +i")
    alice.expect(r" MODE #i \+i$")
    until_modes(bob, "#i", "i")
    bob.send("JOIN #i")
    bob.expect_numeric("473", "#i")
    # A invites the bob its mirror has: his coming must have reached A (B
    # having A's +i says nothing of it).
    assert until(lambda: alice.send("ISON bob") or
                 alice.expect_numeric("303").group("rest").split(":")[-1].split() == ["bob"])
    alice.send("INVITE bob #i")
    alice.expect_numeric("341", r"bob #i")
    bob.expect(r":alice!\S+ INVITE bob :?#i$")
    bob.send("JOIN #i")
    bob.expect(r":bob!\S+ JOIN :?#i")
    alice.expect(r":bob!\S+ JOIN :?#i")


def test_two_first_joiners_on_two_nodes_give_the_room_one_operator(redis, nodes):
    a_node, b_node = nodes
    a = irc.connect(a_node, "ana")
    b = irc.connect(b_node, "ben")
    # In batches: a user may have made at most 10 rooms that still exist.
    for batch in range(3):
        rooms = ["#race%d-%d" % (batch, i) for i in range(8)]
        for room in rooms:
            a.send("JOIN " + room)
            b.send("JOIN " + room)
        for room in rooms:
            # Both nodes end with both members and the same one operator.
            def settled(c, want=None):
                n = names(c, room)
                ok = len(n) == 2 and list(n.values()).count("@") == 1
                return n if ok and (want is None or n == want) else None
            a_view = until(lambda: settled(a))
            assert a_view is not None, (room, names(a, room), [l for l in a.lines if room in l])
            assert until(lambda: settled(b, a_view)) == a_view, names(b, room)
            ops = [nick for nick, (node, modes) in members(redis, room).items()
                   if modes & 1]
            assert len(ops) == 1 and a_view[ops[0]] == "@"
        for room in rooms:
            a.send("PART " + room)
            b.send("PART " + room)
        # Gone on both nodes before the next batch (a room ana made counts
        # while ben is still in it).
        assert until(lambda: not listed(a) and not listed(b))
    assert redis.command("SMEMBERS", "parley:rooms") == []


def test_a_node_started_later_mirrors_the_rooms(redis, nodes, make_server):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    bob = irc.connect(b_node, "bob")
    alice.join("#one")
    join_after(bob, "#one", "alice")
    alice.expect(r":bob!\S+ JOIN :?#one")
    alice.send("MODE #one +v bob")
    alice.send("MODE #one +kl sesame 10")
    alice.send("MODE #one +b spam!*@*")
    alice.send("MODE #one +b-t eggs!*@*")
    alice.send("TOPIC #one :the first room")
    bob.expect(r" TOPIC #one :the first room$")
    bob.join("#two")
    bob.send("MODE #two +m")
    bob.join("#gone")
    bob.send("PART #gone")
    bob.sync()
    alice.sync()
    c_node = start_node(make_server, redis, irc=True)
    wait_loaded(c_node)
    # C's readiness probe is a plain client, in #lobby until its QUIT
    # reaches A and B through Redis a moment later (CI saw A list it).
    for n, srv in enumerate((a_node, b_node)):
        w = irc.connect(srv, "wait%d" % n)
        assert until(lambda: "#lobby" not in listed(w)), listed(w)
    # A viewer in no room asks each node the same questions.
    views = []
    for srv in (a_node, b_node, c_node):
        v = irc.connect(srv, "view%d" % len(views))
        view = {"names": names(v, "#one")}
        view["list"] = listed(v)
        v.send("TOPIC #one")
        view["topic"] = v.expect_numeric("332").group("rest")
        view["by"] = v.expect_numeric("333").group("rest")
        v.send("MODE #one")
        view["modes"] = v.expect_numeric("324").group("rest")
        v.send("MODE #one b")
        view["bans"] = sorted(irc.parse(l).params[2] for l in v.collect(r" 368 ")
                              if irc.parse(l).command == "367")
        v.send("WHO #one")
        view["who"] = sorted(irc.parse(l).params[2:] for l in v.collect(r" 315 ")
                             if irc.parse(l).command == "352")
        v.send("WHOIS bob")
        view["whois"] = v.expect_numeric("311").group("rest")
        views.append(view)
    assert views[2] == views[0] == views[1]
    assert views[2]["names"] == {"alice": "@", "bob": "+"}
    assert [w[3] for w in views[2]["who"]] == ["alice", "bob"]
    assert views[2]["bans"] == ["eggs!*@*", "spam!*@*"]
    assert "#gone" not in str(views[2]["list"])
    # It mirrors what happens next too, and its users join with the rest.
    carol = irc.connect(c_node, "carol")
    carol.send("JOIN #one")
    carol.expect_numeric("475", "#one")
    carol.send("JOIN #one sesame")
    carol.expect(r":carol!\S+ JOIN :?#one")
    alice.expect(r":carol!\S+ JOIN :?#one")
    carol.send("PRIVMSG #one :from the third node")
    alice.expect(r":carol!\S+ PRIVMSG #one :from the third node$")
    bob.expect(r":carol!\S+ PRIVMSG #one :from the third node$")
    bob.send("PRIVMSG #one :back to it")
    carol.expect(r":bob!\S+ PRIVMSG #one :back to it$")


def test_a_room_state_in_redis_cannot_forge_a_line_on_a_node_started_later(redis, nodes,
                                                                        make_server):
    """What a node loads from Redis is held to a client's rules: a topic,
    setter or key holding a line break (written into Redis by whoever can
    reach it) is left out, not sent to clients as a line of its own."""
    a_node, _ = nodes
    alice = irc.connect(a_node, "alice")
    alice.join("#t")
    alice.send("TOPIC #t :clean")
    alice.expect(r" TOPIC #t :clean$")
    alice.sync()
    redis.command("HSET", "parley:room:#t", "topic", "hi\r\nPRIVMSG carol :INJECTED",
                  "topic_by", "x\ny", "key", "a\nb")
    c_node = start_node(make_server, redis, irc=True)
    wait_loaded(c_node)
    carol = irc.connect(c_node, "carol")
    carol.send("JOIN #t")
    carol.expect_numeric("366")
    carol.send("TOPIC #t")
    carol.expect_numeric("331")
    carol.expect_nothing(r"INJECTED")


def test_room_state_is_told_again_to_a_redis_restarted_empty(redis, nodes, make_server):
    """Redis restarts empty: the nodes tell it their users and memberships
    again, and the rooms' topic, key, limit and masks, so that a node
    started after the restart sees the rooms as they were."""
    a_node, _ = nodes
    alice = irc.connect(a_node, "alice")
    alice.join("#kept")
    alice.send("TOPIC #kept :still here")
    alice.expect(r" TOPIC #kept :still here$")
    alice.send("MODE #kept +kl sesame 10")
    alice.expect(r" MODE #kept \+kl sesame 10$")
    alice.send("MODE #kept +b bad!*@*")
    alice.expect(r" MODE #kept \+b bad!\*@\*$")
    redis.kill()
    redis.start_again()
    wait_for("A back", lambda: "reconnected to Redis" in a_node.log_text(), 60)
    wait_for("A tells Redis #kept's topic again",
             lambda: redis.command("HGET", "parley:room:#kept", "topic") == "still here")
    # A's own mirror and Redis agree; a node started now sees it all.
    c_node = start_node(make_server, redis, irc=True)
    wait_loaded(c_node)
    carol = irc.connect(c_node, "carol")
    carol.send("TOPIC #kept")
    carol.expect_numeric("332", r"#kept :still here$")
    carol.send("MODE #kept")
    # A non-member is not shown the key.
    assert carol.expect_numeric("324").group("rest").split()[1:] == ["+ntkl", "*", "10"]
    carol.send("MODE #kept b")
    carol.expect_numeric("367", r"#kept bad!\*@\* alice")
    carol.send("JOIN #kept")
    carol.expect_numeric("475", r"#kept ")
    carol.join("#kept", "sesame")
    assert names(carol, "#kept") == {"alice": "@", "carol": ""}
