"""What belongs to someone holds in a cluster (issue 16): two real parleyd
nodes over a real redis-server (cluster.py) sharing one throwaway
PostgreSQL (pgtmp.py, the pg_url fixture).

A room registered with ChanServ on one node is registered on every node
at once (and dropped at once); its founder gets +o from ChanServ and keeps
it whichever node they join through, on every node; someone else who is
the first to join the empty registered room gets no op, as on a single
server."""
import re

from cluster import redis, wait_for  # noqa: F401 (redis: a fixture)
from irc import IrcClient, parse
from test_cluster_pg import nodes, pg_node  # noqa: F401 (nodes: a fixture, two nodes)


def irc(srv, nick):
    return IrcClient(srv.irc_port).register(nick)


def account(srv, nick, password):
    """An IRC client of srv registered (and so logged in) as nick."""
    c = irc(srv, nick)
    c.send("REGISTER * * %s" % password)
    c.expect(r" REGISTER SUCCESS ")
    return c


def login(srv, nick, name, password):
    """An IRC client of srv as nick, logged in as the account name."""
    c = irc(srv, nick)
    c.send("PRIVMSG NickServ :IDENTIFY %s %s" % (name, password))
    c.expect_numeric("900")
    return c


def chanserv(c, text):
    """ChanServ's answer to text: its first NOTICE's text."""
    c.send("PRIVMSG ChanServ :%s" % text)
    return parse(c.expect(r"^(?:@\S+ )?:ChanServ!\S+ NOTICE ").string).params[-1]


def names(c, room):
    """room's NAMES as c's node has them: {nick: prefix}."""
    c.send("NAMES %s" % room)
    got = {}
    while True:
        m = parse(c.expect(r" (353|366) ").string)
        if m.command == "366":
            return got
        for n in m.params[-1].split():
            got[n.lstrip("@+")] = n[:len(n) - len(n.lstrip("@+"))]


def ops_everywhere(watchers, room, nick):
    return all(names(w, room).get(nick) == "@" for w in watchers)


def test_a_registration_reaches_every_node_at_once(nodes):
    a_node, b_node = nodes
    kim = account(a_node, "kim", "sesame-kim")
    kim.join("#kims")
    assert chanserv(kim, "REGISTER #kims") == "#kims is registered to kim"
    lou = irc(b_node, "lou")
    wait_for("B knows #kims as registered",
             lambda: chanserv(lou, "INFO #kims").startswith("#kims is registered to kim"))
    # Kept on B when empty, as on A.
    kim.send("PART #kims")
    kim.expect(r" PART #kims")
    wait_for("B has #kims still, registered and empty",
             lambda: chanserv(lou, "INFO #kims").startswith("#kims is registered to kim"))
    # Dropped on A: not registered on B, and gone there (empty).
    assert chanserv(kim, "DROP #kims") == "#kims is not registered any more"
    wait_for("B forgets #kims", lambda: "does not exist" in chanserv(lou, "INFO #kims"))


def test_the_founder_gets_and_keeps_op_through_either_node(nodes):
    a_node, b_node = nodes
    mona = account(a_node, "mona", "sesame-mona")
    mona.join("#kept")
    assert chanserv(mona, "REGISTER #kept") == "#kept is registered to mona"
    watch_a, watch_b = irc(a_node, "wa"), irc(b_node, "wb")
    for w in (watch_a, watch_b):
        w.join("#kept")
    mona.send("QUIT")
    mona.expect_closed()
    watch_b.expect(r":mona!\S+ QUIT")
    # The founder comes back through B: ChanServ's +o, on both nodes.
    wait_for("B knows #kept as registered",
             lambda: chanserv(watch_b, "INFO #kept").startswith("#kept is registered"))
    again = login(b_node, "mona_b", "mona", "sesame-mona")
    again.join("#kept")
    assert any(re.search(r":ChanServ!\S+ MODE #kept \+o mona_b$", l) for l in again.lines), \
        again.lines
    for w in (watch_a, watch_b):
        w.expect(r":ChanServ!\S+ MODE #kept \+o mona_b")
    wait_for("mona is an operator of #kept on both nodes",
             lambda: ops_everywhere((watch_a, watch_b), "#kept", "mona_b"))
    # And keeps it: nothing takes it back (the JOIN's answer came long
    # since: a PING round trip through B after it).
    again.send("TOPIC #kept :mona rules")
    watch_a.expect(r":mona_b!\S+ TOPIC #kept :mona rules")
    assert ops_everywhere((watch_a, watch_b), "#kept", "mona_b")
    assert not any(" -o mona" in l for l in again.lines + watch_a.lines + watch_b.lines)


def test_a_stranger_first_in_a_registered_room_gets_no_op(nodes):
    a_node, b_node = nodes
    ned = account(a_node, "ned", "sesame-ned")
    ned.join("#reg")
    assert chanserv(ned, "REGISTER #reg") == "#reg is registered to ned"
    ned.send("PART #reg")
    ned.expect(r" PART #reg")
    watch = irc(a_node, "watcher")
    stranger = irc(b_node, "stranger")
    wait_for("B knows #reg as registered",
             lambda: chanserv(stranger, "INFO #reg").startswith("#reg is registered"))
    stranger.join("#reg")
    watch.join("#reg")
    # As on a single server: the room was there (registered), so its
    # first joiner made nothing and is no operator, on either node.
    stranger.send("PING :after")
    stranger.expect(r"PONG \S+ :after")
    assert names(stranger, "#reg").get("stranger") == ""
    wait_for("A has stranger in #reg", lambda: "stranger" in names(watch, "#reg"))
    assert names(watch, "#reg").get("stranger") == ""
    stranger.send("MODE #reg +t")
    stranger.expect_numeric("482")


def test_a_registered_nickname_is_refused_on_every_node_at_connection(nodes):
    a_node, b_node = nodes
    zoe = account(a_node, "zoe", "sesame-zoe")
    zoe.send("QUIT")
    zoe.expect_closed()
    watcher = irc(b_node, "watcher")
    def gone():
        watcher.send("ISON zoe")
        return watcher.expect_numeric("303").group("rest").strip(" :") == ""
    wait_for("B has heard zoe leave", gone)
    # Taken by someone else connecting to B, not logged in: refused (433)
    # as on a single server, and as NICK is there
    # (test_cluster_pg.test_a_registered_nickname_is_held_on_every_node).
    def refused_on_b():
        c = IrcClient(b_node.irc_port)
        c.send("NICK zoe")
        c.send("USER u 0 * :Real Name")
        line = c.expect(r" 433 | 001 ")
        c.close()
        return " 433 " in line.string
    assert refused_on_b()


def test_what_was_registered_while_redis_was_away_is_read_again(nodes, redis):
    a_node, b_node = nodes
    kim = account(a_node, "kim", "sesame-kim")
    kim.join("#old")
    kim.join("#new")
    assert chanserv(kim, "REGISTER #old") == "#old is registered to kim"
    lou = irc(b_node, "lou")
    wait_for("B knows #old as registered",
             lambda: chanserv(lou, "INFO #old").startswith("#old is registered to kim"))
    # Cut from Redis, A registers one room and drops another: the
    # database has both, no event reaches B.
    redis.kill()
    assert chanserv(kim, "REGISTER #new") == "#new is registered to kim"
    assert chanserv(kim, "DROP #old") == "#old is not registered any more"
    assert chanserv(lou, "INFO #old").startswith("#old is registered to kim")
    redis.start_again()
    # Back, B reads the registrations again: the database's.
    wait_for("B knows #new as registered and #old no more",
             lambda: chanserv(lou, "INFO #new").startswith("#new is registered to kim") and
             "registered to" not in chanserv(lou, "INFO #old"), timeout=30)


def test_a_registered_room_emptied_keeps_its_state_for_a_node_started_later(
        nodes, redis, pg_url, make_server):
    a_node, b_node = nodes
    ned = account(a_node, "ned", "sesame-ned")
    ned.join("#st")
    ned.send("TOPIC #st :kept topic")
    ned.send("MODE #st +k sesame")
    ned.expect(r" MODE #st \+k sesame")
    assert chanserv(ned, "REGISTER #st") == "#st is registered to ned"
    # Emptied: Redis forgets the room (its keys go with its last member);
    # the nodes keep it, registered. The founder back makes it anew there.
    ned.send("PART #st")
    ned.expect(r" PART #st")
    ned.join("#st")
    ned.send("PING :after")
    ned.expect(r"PONG \S+ :after")
    # A node started now loads the room from Redis (and the database):
    # its topic and key as they are.
    c_node = pg_node(make_server, redis, pg_url)
    x = irc(c_node, "x")
    x.send("TOPIC #st")
    assert x.expect(r" (331|332) ").group(1) == "332"
    x.send("JOIN #st")
    x.expect_numeric("475")


def test_after_a_link_blip_a_node_reads_the_rooms_state_again(nodes, redis):
    a_node, b_node = nodes
    amy, bea = irc(a_node, "amy"), irc(b_node, "bea")
    amy.join("#blip")
    bea.join("#blip")
    amy.send("TOPIC #blip :before")
    bea.expect(r" TOPIC #blip :before")
    # Every node's pub/sub link cut, Redis keeping its data: A's command
    # link is up, so the changes it makes reach Redis while B hears
    # nothing, for a second (its first retry).
    redis.command("CLIENT", "KILL", "TYPE", "pubsub")
    amy.send("TOPIC #blip :after")
    amy.expect(r" TOPIC #blip :after")
    amy.send("MODE #blip +k sesame")
    amy.expect(r" MODE #blip \+k sesame")
    def topic_on_b():
        bea.send("TOPIC #blip")
        return bea.expect(r" (331|332) ").string.endswith(":after")
    wait_for("B has the topic set while its link was down", topic_on_b, timeout=30)
    late = irc(b_node, "late")
    late.send("JOIN #blip")
    late.expect_numeric("475")
