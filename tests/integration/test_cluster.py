"""Several parleyd nodes over one real redis-server (issue 15, the core):
what a user does on one node is seen by the users of the others, through
either door, and a room's traffic costs Redis one command per message."""
import re
import subprocess
import time

import irc
from chat import PARLEYD, free_port
from cluster import node, nodes, plain, redis, start_node, wait_for  # noqa: F401 (fixtures)


def test_a_room_message_reaches_the_members_on_another_node(nodes):
    a_node, b_node = nodes
    alice = plain(a_node, "alice")
    bob = plain(b_node, "bob")
    alice.expect_seen(r"^-- \S+ is now known as bob$")
    alice.send("hello from A")
    bob.expect(r"^#lobby <alice> hello from A$")
    bob.send("and back from B")
    alice.expect(r"^#lobby <bob> and back from B$")
    # The sender does not get its own message back from the other node.
    alice.expect_nothing(r"hello from A")


def test_irc_and_plain_users_on_two_nodes_share_a_room(nodes):
    a_node, b_node = nodes
    alice = plain(a_node, "alice")
    carol = irc.connect(b_node, "carol")
    carol.join("#lobby")
    alice.expect(r"^#lobby -- carol joined$")
    alice.send("to the IRC user")
    carol.expect(r"^(@\S+ )?:alice!\S+ PRIVMSG #lobby :to the IRC user$")
    carol.send("PRIVMSG #lobby :to the plain user")
    alice.expect(r"^#lobby <carol> to the plain user$")


def test_private_messages_cross_nodes(nodes):
    a_node, b_node = nodes
    alice = plain(a_node, "alice")
    bob = plain(b_node, "bob")
    dave = irc.connect(b_node, "dave")
    alice.expect_seen(r"^-- \S+ is now known as bob$")
    alice.send("/msg bob psst")
    bob.expect(r"^\*alice\* psst$")
    bob.send("/msg ALICE back at you")
    alice.expect(r"^\*bob\* back at you$")
    # dave is in no room: only the directory tells A of him.
    alice.send("/msg dave hi dave")
    dave.expect(r"^(@\S+ )?:alice!\S+ PRIVMSG dave :hi dave$")
    dave.send("PRIVMSG alice :hi alice")
    alice.expect(r"^\*dave\* hi alice$")


def test_join_part_nick_and_quit_are_seen_on_the_other_node(nodes):
    a_node, b_node = nodes
    watcher = plain(b_node, "watcher")
    watcher.send("/join #side")
    watcher.expect(r"^#side -- watcher joined$")
    alice = plain(a_node, "alice")
    watcher.expect(r"^-- \S+ is now known as alice$")
    alice.send("/join #side")
    watcher.expect(r"^#side -- alice joined$")
    alice.send("/nick alicia")
    watcher.expect(r"^-- alice is now known as alicia$")
    alice.send("/part #side bye")
    watcher.expect(r"^#side -- alicia left: bye$")
    alice.send("/quit gone")
    watcher.expect(r"^-- alicia quit: gone$")


def test_names_on_one_node_list_the_users_of_the_other(nodes):
    a_node, b_node = nodes
    bob = plain(b_node, "bob")
    alice = plain(a_node, "alice")
    bob.expect(r"^-- \S+ is now known as alice$")
    erin = irc.connect(b_node, "erin")
    erin.join("#lobby")
    alice.expect_seen(r"^#lobby -- erin joined$")
    erin.send("NAMES #lobby")
    names = erin.expect(r" 353 erin \S #lobby :(.*)$").group(1).split()
    assert {"alice", "bob", "erin"} <= {n.lstrip("@+") for n in names}
    alice.send("/who #lobby")
    alice.expect(r"\berin\b")


def test_each_sender_s_messages_arrive_in_order_on_every_node(nodes):
    a_node, b_node = nodes
    sender = plain(a_node, "sender")
    here = plain(a_node, "here")
    there = plain(b_node, "there")
    irc_there = irc.connect(b_node, "irc_there")
    irc_there.join("#lobby")
    sender.expect_seen(r"^#lobby -- irc_there joined$")
    n = 1000
    sender.send_raw(b"".join(b"m%d\n" % i for i in range(n)))
    for who in (here, there):
        got = []
        while len(got) < n:
            got.append(int(who.expect(r"^#lobby <sender> m(\d+)$", timeout=30).group(1)))
        assert got == list(range(n))
    got = []
    while len(got) < n:
        got.append(int(irc_there.expect(r"PRIVMSG #lobby :m(\d+)$", timeout=30).group(1)))
    assert got == list(range(n))


def numsub(redis, room):
    return redis.command("PUBSUB", "SHARDNUMSUB", "parley:r:" + room)[1]


def test_a_node_hears_a_room_only_while_it_has_members_there(redis, nodes):
    a_node, b_node = nodes
    alice = plain(a_node, "alice")
    bob = plain(b_node, "bob")
    alice.expect(r"^-- \S+ is now known as bob$")
    alice.send("/join #quiet")
    alice.expect(r"^#quiet -- alice joined$")
    # A hears #quiet; B has nobody there. #lobby: both have members.
    wait_for("A hears #quiet", lambda: numsub(redis, "#quiet") == 1)
    assert numsub(redis, "#lobby") == 2
    # B must have heard of #quiet (alice's JOIN through Redis) before bob
    # joins it by another spelling: else B makes a room "#Quiet" of its
    # own, and A shows the JOIN under that name (seen under the sanitizer).
    def b_knows_quiet():
        bob.send("/rooms")
        lines = []
        while not lines or not re.search(r"^-- \d+ rooms?$", lines[-1]):
            lines.append(bob.expect(r"^-- ").string)
        return any(line.startswith("-- #quiet:") for line in lines)
    wait_for("B knows #quiet", b_knows_quiet)
    bob.send("/join #Quiet")
    alice.expect(r"^#quiet -- bob joined$")
    wait_for("B hears #quiet", lambda: numsub(redis, "#quiet") == 2)
    bob.send("/part #quiet")
    alice.expect(r"^#quiet -- bob left")
    wait_for("B no longer hears #quiet", lambda: numsub(redis, "#quiet") == 1)
    alice.send("/part #quiet")
    alice.expect(r"^#quiet -- alice left")
    wait_for("nobody hears #quiet",
             lambda: "parley:r:#quiet" not in redis.command("PUBSUB", "SHARDCHANNELS"))
    assert numsub(redis, "#lobby") == 2
    # A user who quits takes its node's last membership with it.
    bob.send("/quit")
    wait_for("B no longer hears #lobby", lambda: numsub(redis, "#lobby") == 1)


def test_a_room_message_costs_redis_one_command(redis, nodes):
    a_node, b_node = nodes
    talker = plain(a_node, "talker")
    local_listener = plain(a_node, "local_listener")
    listener = plain(b_node, "listener")
    talker.expect_seen(r"^-- \S+ is now known as listener$")
    before = redis.commandstats()
    n = 100
    talker.send_raw(b"".join(b"c%d\n" % i for i in range(n)))
    listener.expect(r"^#lobby <talker> c%d$" % (n - 1), timeout=30)
    local_listener.expect(r"^#lobby <talker> c%d$" % (n - 1), timeout=30)
    after = redis.commandstats()
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert delta.get("spublish", 0) == n
    # The heartbeat (SET, SADD) and the check of the others (SMEMBERS,
    # MGET) may tick meanwhile, and INFO is the test's own.
    others = {k: v for k, v in delta.items()
              if v and k not in ("spublish", "set", "sadd", "smembers", "mget", "info")}
    assert others == {}


def test_without_redis_a_node_does_not_start():
    port = free_port()
    run = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                          "--cluster", "redis://127.0.0.1:%d" % port],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and re.match(r"^parleyd: cluster: cannot reach Redis at "
                                        r"127\.0\.0\.1:\d+: ", lines[0]), lines


def test_history_on_is_refused_in_a_cluster(redis):
    run = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                          "--cluster", redis.url, "--history", "on"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    assert run.stderr == ("parleyd: history in a cluster needs a database every node "
                          "shares: add database postgresql://USER@HOST/DB (SQLite in "
                          "data-dir is one node's), or use history off\n")


def test_nodes_take_distinct_ids_and_register(redis):
    a_node = node(redis)
    b_node = node(redis)
    try:
        ids = sorted(redis.command("SMEMBERS", "parley:nodes"))
        assert len(ids) == 2
        for i in ids:
            assert redis.command("TTL", "parley:node:%s" % i) > 0
        # The id is taken: a third node given it explicitly is refused.
        run = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                              "--cluster", redis.url, "--node-id", ids[0]],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 2
        assert "node-id %s is held by a live node" % ids[0] in run.stderr
    finally:
        assert a_node.stop() == 0
        assert b_node.stop() == 0


def test_accounts_say_they_are_not_available_in_a_cluster(nodes):
    a_node, _ = nodes
    alice = plain(a_node, "alice")
    alice.send("/register secret-password")
    alice.expect(r"^!! no-accounts: this cluster keeps no accounts: they need a database "
                 r"its nodes share \(database postgresql://\.\.\.\)$")
    frank = irc.connect(a_node, "frank")
    frank.send("REGISTER * * secret-password")
    frank.expect(r"^(@\S+ )?:\S+ FAIL REGISTER TEMPORARILY_UNAVAILABLE \S+ "
                 r":This cluster keeps no accounts: they need a database its nodes share$")
    frank.send("AUTHENTICATE PLAIN")
    frank.expect_numeric("904")


def test_another_node_s_user_never_acts_as_a_local_user_of_the_same_name(redis, make_server):
    # While Redis is away, both nodes give the name zed to a user of their
    # own; B's came first and keeps it (test_cluster_fail.py). When Redis
    # is back, A tells B of its zed and its rooms before it hears of B's
    # and renames its own: what A's zed did must not be done by B's.
    a_node = start_node(make_server, redis, flood=True)
    b_node = start_node(make_server, redis, flood=True)
    other = plain(b_node, "other")
    redis.kill()
    zed_b = plain(b_node, "zed")
    time.sleep(1.1)   # A's zed comes later, to the second
    zed_a = plain(a_node, "zed")
    zed_a.send("/join #trap")
    zed_a.expect(r"^#trap -- zed joined$")
    redis.start_again()
    zed_a.expect(r"you are now guest\d+$", timeout=60)
    witness = plain(a_node, "witness")
    other.expect(r"^-- \S+ is now known as witness$", timeout=60)
    zed_b.expect_nothing(r"#trap")
    other.expect_nothing(r"#trap")


def test_a_node_that_starts_later_knows_the_users_already_there(redis, make_server):
    # B starts after A's zed came: it loads the directory from Redis
    # (snapshot.c) before it lets anyone in, so it does not give the name
    # to a user of its own, and what A's zed does reaches B's users.
    a_node = start_node(make_server, redis, flood=True)
    zed_a = plain(a_node, "zed")
    b_node = start_node(make_server, redis, flood=True)
    other = plain(b_node, "other")
    other.send("/nick zed")
    other.expect(r"^!! nick-in-use: zed is already taken")
    zed_a.expect_seen(r"^-- \S+ is now known as other$")
    zed_a.send("from A's zed")
    other.expect(r"^#lobby <zed> from A's zed$")


def test_nodes_reconnect_when_redis_comes_back(redis, nodes):
    a_node, b_node = nodes
    bob = plain(b_node, "bob")
    alice = plain(a_node, "alice")
    bob.expect(r"^-- \S+ is now known as alice$")
    redis.kill()
    # Each node goes on serving its own users.
    alice.send("/join #alone")
    alice.expect(r"^#alone -- alice joined$")
    redis.start_again()
    # The links come back within the backoff (1, 2, 4 ... s) and the rooms
    # with members are heard again.
    for i in range(60):
        alice.send("/join #lobby")
        alice.send("again %d" % i)
        try:
            bob.expect(r"^#lobby <alice> again \d+$", timeout=0.5)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError("B never heard A again")
    assert "reconnected to Redis" in a_node.log_text()
    assert a_node.log_text().count("lost the") == 1, a_node.log_text()


def lusers(c):
    """LUSERS as {numeric: its text after the target}."""
    c.send("LUSERS")
    return {m.command: " ".join(m.params[1:])
            for m in map(irc.parse, c.collect(r" 266 ")) if m.command.isdigit()}


def test_lusers_count_the_cluster_and_say_what_is_local(nodes):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    alice.join("#a")
    bob = irc.connect(b_node, "bob")
    bob.join("#b")
    carol = plain(b_node, "carol")
    wait_for("A hears of B's users and rooms, and of B alive",
             lambda: lusers(alice).get("251") ==
             "There are 3 users and 0 invisible on 2 servers", 20)
    got = lusers(alice)
    assert got["254"] == "3 channels formed"   # #a, #b, and carol's #lobby
    assert got["255"] == "I have 1 clients and 1 servers"
    assert got["265"] == "1 1 Current local users 1, max 1"
    assert got["266"] == "3 3 Current global users 3, max 3"
    bob.send("MODE bob +i")
    wait_for("B's", lambda: lusers(bob)["251"] ==
             "There are 2 users and 1 invisible on 2 servers")
    got = lusers(bob)
    assert got["255"] == "I have 2 clients and 1 servers"
    assert got["265"] == "2 2 Current local users 2, max 2"
    carol.send("/quit")
    wait_for("A hears carol quit", lambda: lusers(alice)["266"] ==
             "2 3 Current global users 2, max 3")
