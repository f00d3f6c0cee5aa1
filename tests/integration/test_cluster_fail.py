"""A cluster's failures (issue 15, lane D): a node killed with -9, Redis
killed and started again while users talk on two nodes, two users given
one nickname while the nodes were apart. Over a real redis-server; no
timing is asserted beyond generous waits."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

import irc
from chat import PARLEYD, ROOT, Client, kill_group, missing_tools
from cluster import Proxy, Redis, node, nodes, plain, redis, start_node, until  # noqa: F401 (fixtures)
from cluster import wait_for as wait_for_soon

# What this file waits for (a node reaped, Redis back) takes its heartbeat's
# seconds.
SLOW = 60


def wait_for(what, check, timeout=SLOW):
    wait_for_soon(what, check, timeout)


def node_id(srv):
    return re.search(r"cluster: node (\d+) ", srv.log_text()).group(1)


def test_a_killed_node_s_users_quit_everywhere_and_their_nicknames_are_free(redis, make_server):
    a_node = start_node(make_server, redis, flood=True)
    b_node = node(redis)
    try:
        alice = plain(a_node, "alice")
        bob = plain(b_node, "bob")
        alice.expect_seen(r"^-- \S+ is now known as bob$")
        b_id = node_id(b_node)
        kill_group(b_node.proc)
        b_node.proc.wait()
        # The heartbeat key lives 10 s, the others look every 3 s.
        alice.expect(r"^-- bob quit: node lost$", timeout=40)
        # Its reaper took its users out of the shared state (lane C's keys):
        # a node started now does not load them.
        def b_s(key):
            return [v for v in (redis.command("HVALS", key) or [])
                    if v.split()[0] == str(b_id)]
        wait_for("B's users leave the directory and #lobby's members in Redis",
                 lambda: not b_s("parley:users") and not b_s("parley:room:#lobby:m"))
        assert redis.command("HGET", "parley:room:#lobby:m", "alice") is not None
        alice.send("/msg bob are you there")
        alice.expect(r"^!! ")
        # The nickname is free again, and the node left Redis's set.
        bobby = Client(a_node.port)
        bobby.set_nick("bob")
        wait_for("node %s leaves the nodes set" % b_id,
                 lambda: b_id not in redis.command("SMEMBERS", "parley:nodes"))
        assert a_node.log_text().count("node %s is gone" % b_id) == 1
        del bob
    finally:
        b_node.stop()


def test_a_node_started_later_hears_of_the_users_already_there(redis, make_server):
    a_node = start_node(make_server, redis, flood=True)
    alice = plain(a_node, "alice")
    alice.send("/join #early")
    alice.expect(r"^#early -- alice joined$")
    b_node = start_node(make_server, redis, flood=True)
    carol = plain(b_node, "carol")
    # A tells B of its users once it sees B's heartbeat.
    for _ in range(100):
        carol.send("/msg alice hello early bird")
        try:
            carol.expect(r"^-> \*alice\* hello early bird$", timeout=0.5)
            break
        except AssertionError:
            pass
    alice.expect(r"^\*carol\* hello early bird$")
    carol.send("/join #early")
    alice.expect(r"^#early -- carol joined$")
    carol.send("/who #early")
    carol.expect(r"\balice\b")


def tokens(client, pattern):
    rx = re.compile(pattern)
    return [m.group(1) for m in map(rx.search, client.lines) if m]


def test_redis_restarted_under_load(redis, nodes):
    a_node, b_node = nodes
    alice = plain(a_node, "alice")
    carol = plain(a_node, "carol")
    bob = plain(b_node, "bob")
    dave = irc.connect(b_node, "dave")
    dave.join("#lobby")
    alice.expect_seen(r"^#lobby -- dave joined$")
    # Both nodes talk, and go on talking while Redis goes and comes back.
    n = 0

    def talk(count):
        nonlocal n
        for _ in range(count):
            alice.send("a%d" % n)
            bob.send("b%d" % n)
            dave.send("PRIVMSG #lobby :d%d" % n)
            n += 1

    talk(50)
    bob.expect(r"^#lobby <alice> a49$", timeout=30)
    redis.kill()
    talk(50)
    # One notice in the room shared with the other node; its users drop.
    alice.expect(r"^#lobby <\S+> the cluster link is down", timeout=30)
    alice.expect_seen(r"^-- bob quit: netsplit$", timeout=30)
    # Local rooms keep working.
    alice.send("only for carol")
    carol.expect(r"^#lobby <alice> only for carol$")
    redis.start_again()
    # Back within the backoff: the nodes tell each other their users, each
    # once it listens and again when it hears the other's new epoch
    # (whichever came back first), and chat resumes across them. A node
    # that missed the other's telling would never hear its users again:
    # so each line is said once, after its sender is back in the room
    # where it is heard.
    for srv in nodes:
        wait_for("%s reconnected" % srv.port, lambda: "reconnected to Redis" in srv.log_text())
    bob.expect(r"^#lobby -- alice joined$", timeout=SLOW)
    alice.expect(r"^#lobby -- bob joined$", timeout=SLOW)
    alice.send("again")
    bob.expect(r"^#lobby <alice> again$", timeout=30)
    bob.send("back at you")
    alice.expect(r"^#lobby <bob> back at you$", timeout=30)
    dave.send("PRIVMSG #lobby :dave is back")
    alice.expect(r"^#lobby <dave> dave is back$", timeout=30)
    alice.send("/msg bob private again")
    bob.expect(r"^\*alice\* private again$", timeout=30)
    for who in (alice, carol, bob):
        who.sync()
    # Nothing delivered twice, and each sender's lines in order.
    for who, pattern in ((bob, r"^#lobby <alice> a(\d+)$"), (alice, r"^#lobby <bob> b(\d+)$"),
                         (carol, r"^#lobby <dave> d(\d+)$"), (carol, r"^#lobby <bob> b(\d+)$")):
        got = [int(t) for t in tokens(who, pattern)]
        assert got == sorted(set(got)), (pattern, got)
    assert len(tokens(alice, r"^#lobby <\S+> (the cluster link is down)")) == 1
    for srv in nodes:
        assert srv.proc.poll() is None
        log = srv.log_text()
        for said in ("lost the", "users of other nodes dropped here", "reconnected to Redis"):
            assert log.count(said) == 1, (said, log)


def lobby(c):
    """NAMES #lobby of IRC client c, as a set of nicknames."""
    c.send("NAMES #lobby")
    got = set()
    for line in c.collect(r" 366 \S+ #lobby "):
        m = irc.parse(line)
        if m.command == "353":
            got |= {w.lstrip("@+") for w in m.params[-1].split()}
    return got


def hear_each_other(a_node, b_node):
    """alice and erin (IRC) on A, bob and dave (IRC) on B, all in #lobby,
    each node mirroring the other's."""
    alice, bob = plain(a_node, "alice"), plain(b_node, "bob")
    erin, dave = irc.connect(a_node, "erin"), irc.connect(b_node, "dave")
    for c in (erin, dave):
        c.join("#lobby")
    wait_for("each node has the other's users",
             lambda: {"bob", "dave"} <= lobby(erin) and {"alice", "erin"} <= lobby(dave))
    return alice, erin, bob, dave


def once_each_way(alice, erin, bob, dave):
    """Each node's users are in #lobby on the other again, and a line of
    each side crosses, once."""
    wait_for("B hears A's users again (NAMES at B: %s)" % sorted(lobby(dave)),
             lambda: {"alice", "erin"} <= lobby(dave), SLOW)
    wait_for("A hears B's users again (NAMES at A: %s)" % sorted(lobby(erin)),
             lambda: {"bob", "dave"} <= lobby(erin), SLOW)
    alice.send("once from A")
    bob.expect(r"^#lobby <alice> once from A$", timeout=30)
    dave.expect(r" PRIVMSG #lobby :once from A$", timeout=30)
    bob.send("once from B")
    alice.expect(r"^#lobby <bob> once from B$", timeout=30)
    erin.expect(r" PRIVMSG #lobby :once from B$", timeout=30)
    for c in (alice, bob, erin, dave):
        c.sync()
    for c, text in ((alice, "once from B"), (bob, "once from A"), (erin, "once from B"),
                    (dave, "once from A")):
        assert sum(line.endswith(text) for line in c.lines) == 1, (text, c.lines)


def test_a_node_subscribed_late_after_an_outage_hears_the_others_users(redis, make_server):
    # B's links to Redis are cut (a relay between them); back, its command
    # link gets through at once, but Redis hears its pub/sub link subscribe
    # only later. B used to tell its users as soon as both links were
    # connected: A, seeing B's new epoch, answered with its own users at
    # once, to a B not subscribed yet, which never heard them (nothing
    # else made A tell them again).
    proxy = Proxy(redis)
    try:
        a_node = start_node(make_server, redis, irc=True)
        b_node = start_node(make_server, proxy, irc=True)
        alice, erin, bob, dave = hear_each_other(a_node, b_node)
        told = a_node.log_text().count("lost touch with the cluster")
        proxy.hold_subscribe()
        proxy.drop()
        wait_for("B reconnected", lambda: "reconnected to Redis" in b_node.log_text(), 30)
        # Time for what B did before (A answers within a round trip; not
        # asserted), short of B's heartbeat expiring: then B subscribes.
        until(lambda: a_node.log_text().count("lost touch with the cluster") > told, 3)
        proxy.release()
        once_each_way(alice, erin, bob, dave)
    finally:
        proxy.stop()


def test_a_node_heard_from_since_a_check_was_sent_is_not_reaped_by_it(redis, make_server):
    # A's check reads no heartbeat key for B (gone, as after Redis restarted
    # empty while B is not back yet), then A hears B tell its users again
    # (its key back, a new epoch), then A reads the check's answer. A reaped
    # B then, dropping the users it had just heard: for good, since B had
    # told them and nothing made it tell them again. Relays between each
    # node and Redis give that order.
    a_proxy, b_proxy = Proxy(redis), Proxy(redis)
    try:
        a_node = start_node(make_server, a_proxy, irc=True)
        b_node = start_node(make_server, b_proxy, irc=True)
        alice, erin, bob, dave = hear_each_other(a_node, b_node)
        b_proxy.hold_commands()
        a_proxy.hold_replies_after_mget()
        redis.command("DEL", "parley:node:%s" % node_id(b_node))
        a_proxy.mget_seen.wait(30)
        assert a_proxy.mget_seen.is_set(), "A never checked"
        # B beats again: its key was gone, a new epoch, its users told.
        b_proxy.release_commands()
        alice.expect(r"^#lobby -- bob joined$", timeout=30)
        erin.expect(r":dave!\S+ JOIN #lobby", timeout=30)
        a_proxy.release_replies()
        once_each_way(alice, erin, bob, dave)
        assert "is gone" not in a_node.log_text(), a_node.log_text()
    finally:
        a_proxy.stop()
        b_proxy.stop()


def epoch(redis, srv):
    """The epoch srv's heartbeat key shows (0: none)."""
    value = redis.command("GET", "parley:node:%s" % node_id(srv)) or "0:"
    return int(value.split(":")[0])


def test_a_node_subscribed_before_its_command_link_is_up_shows_its_new_epoch(make_server):
    # B's links to Redis are cut (a relay); back, its pub/sub link is
    # subscribed before its command link is up (Redis's answer to the
    # command link's AUTH is held). B's heartbeat went on showing the epoch
    # before while its events had the new one: a node that made its peer B
    # from that heartbeat (one that had reaped B) dropped B's users at B's
    # next event, for good; with Redis restarted empty, B's first beat took
    # its key for expired (a second epoch: its users dropped and told again
    # everywhere).
    redis = Redis(password="pw-reassert")
    proxy = Proxy(redis)
    try:
        a_node = start_node(make_server, redis, irc=True)
        b_node = start_node(make_server, proxy, irc=True)
        alice, erin, bob, dave = hear_each_other(a_node, b_node)
        was = epoch(redis, b_node)
        proxy.hold_next_answers()
        proxy.drop()
        wait_for("B's pub/sub link subscribed again",
                 lambda: redis.command("PUBSUB", "NUMSUB", "parley:u")[1] == 2, 30)
        proxy.release_answers()
        wait_for("B reconnected", lambda: "reconnected to Redis" in b_node.log_text(), 30)
        wait_for("B's heartbeat shows a new epoch (was %d)" % was,
                 lambda: epoch(redis, b_node) > was, 30)
        once_each_way(alice, erin, bob, dave)
    finally:
        proxy.stop()
        redis.stop()


def test_nodes_whose_command_links_alone_were_cut_beat_again(redis, make_server):
    # Redis cuts every command link (CLIENT KILL TYPE normal): the pub/sub
    # links stay, subscribed. A node announced its epoch only when its
    # pub/sub link was subscribed anew: it never beat again, and the others
    # took it for dead once its key expired (its users quit, "node lost").
    a_node, b_node = [start_node(make_server, redis, irc=True) for _ in range(2)]
    alice, erin, bob, dave = hear_each_other(a_node, b_node)
    before = [epoch(redis, srv) for srv in (a_node, b_node)]
    assert redis.command("CLIENT", "KILL", "TYPE", "normal") >= 2
    for srv, was in zip((a_node, b_node), before):
        wait_for("%s reconnected" % srv.port, lambda: "reconnected to Redis" in srv.log_text(), 30)
        wait_for("%s's heartbeat shows a new epoch (was %d)" % (srv.port, was),
                 lambda: epoch(redis, srv) > was, 30)
    once_each_way(alice, erin, bob, dave)
    for srv in (a_node, b_node):
        assert "is gone" not in srv.log_text(), srv.log_text()


def test_the_earlier_user_keeps_a_nickname_taken_twice_during_a_split(redis, nodes):
    a_node, b_node = nodes
    alice = plain(a_node, "alice")
    zed = plain(b_node, "zed")
    alice.expect_seen(r"^-- \S+ is now known as zed$")
    redis.kill()
    alice.expect(r"^-- zed quit: netsplit$", timeout=30)
    # Later than B's zed, to the second (the rule's tie goes by node id).
    time.sleep(1.1)
    other = plain(a_node, "zed")
    redis.start_again()
    # A's zed came later: it is renamed and told.
    other.expect(r"^\*\S+\* a user of another node had the nickname zed before you "
                 r"\(the cluster was split\): you are now (guest\d+)$", timeout=60)
    other.expect_seen(r"^-- zed is now known as guest\d+$")
    for _ in range(100):
        alice.send("/msg zed which zed")
        try:
            zed.expect(r"^\*alice\* which zed$", timeout=0.5)
            break
        except AssertionError:
            pass
    else:
        raise AssertionError("B's zed never heard from A again")
    other.expect_nothing(r"which zed")


def test_metrics_count_the_cluster(redis, make_server):
    from test_metrics import fetch, metrics_server, parse, scrape, val
    a_node, b_node = [metrics_server(make_server, "--cluster", redis.url, "--history", "off")
                      for _ in range(2)]
    alice = plain(a_node, "alice")
    bob = plain(b_node, "bob")
    alice.expect_seen(r"^-- \S+ is now known as bob$")
    alice.send("counted")
    bob.expect(r"^#lobby <alice> counted$")
    wait_for("A sees two nodes", lambda: val(scrape(a_node), "parley_cluster_nodes") == 2)
    m = scrape(a_node)
    assert val(m, "parley_cluster_redis_up") == 1
    assert val(m, "parley_cluster_events_published_total") >= 3   # connect, nick, say
    assert val(m, "parley_cluster_events_received_total", result="applied") >= 2
    assert val(m, "parley_cluster_events_received_total", result="undecodable") == 0
    assert val(m, "parley_cluster_redis_reconnects_total") == 0
    # Garbage on the users' channel is counted, not applied.
    redis.command("PUBLISH", "parley:u", b"\x01garbage")
    wait_for("the garbage counted", lambda: val(
        scrape(a_node), "parley_cluster_events_received_total", result="undecodable") == 1)
    redis.kill()
    wait_for("A sees Redis down", lambda: val(scrape(a_node), "parley_cluster_redis_up") == 0)
    alice.expect(r"^-- bob quit: netsplit$", timeout=30)
    redis.start_again()
    wait_for("A back", lambda: val(scrape(a_node), "parley_cluster_redis_reconnects_total") == 1)
    # It tells its users again once Redis answered its SUBSCRIBE, a round
    # trip after it is back.
    wait_for("A told its users again",
             lambda: val(scrape(a_node), "parley_cluster_reasserts_total") >= 1)
    m = scrape(a_node)
    assert val(m, "parley_cluster_users_dropped_total") == 1
    if not missing_tools("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"],
                               input=fetch(a_node)[2].encode(), capture_output=True, timeout=30)
        assert check.returncode == 0, (check.stdout + check.stderr).decode()
    # A single server shows no cluster family.
    assert not any(name.startswith("parley_cluster_") for name, _ in
                   parse(fetch(metrics_server(make_server, "--history", "off"))[2]))


def test_parley_bench_spread_over_two_nodes_loses_and_repeats_nothing(redis, make_server):
    # parley-bench's --port P1,P2: client i on node i mod 2, every message
    # checked at every other member, once and in order (exit 0).
    from chat import BENCH
    two = [start_node(make_server, redis, "--max-per-ip", "0", irc=True)
           for _ in range(2)]
    run = subprocess.run([str(BENCH), "--json-only", "--port",
                          ",".join(str(srv.irc_port) for srv in two), "--clients", "40",
                          "--rooms", "2", "--senders", "6", "--window", "50",
                          "--duration", "1", "--warmup", "0.2",
                          "--pid", ",".join(str(srv.proc.pid) for srv in two)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["delivered"] > 0
    assert result["server_cpu_s"] is not None


def test_a_node_stopped_cleanly_tells_the_others_its_users_quit(redis, make_server):
    a_node = start_node(make_server, redis, flood=True)
    b_node = node(redis)
    try:
        alice = plain(a_node, "alice")
        bob = plain(b_node, "bob")
        alice.expect_seen(r"^-- \S+ is now known as bob$")
        b_id = node_id(b_node)
        assert b_node.stop() == 0
        # At once, not when the heartbeat expires.
        alice.expect(r"^-- bob quit: Server shutting down$")
        bob.close()
        assert redis.command("EXISTS", "parley:node:%s" % b_id) == 0
        wait_for("node %s leaves the nodes set" % b_id,
                 lambda: b_id not in redis.command("SMEMBERS", "parley:nodes"))
        # Its reaper took its users out of the shared state (lane C's keys):
        # a node started now does not load them (the bob there now is A's).
        def b_s(key):
            return [v for v in (redis.command("HVALS", key) or [])
                    if v.split()[0] == str(b_id)]
        wait_for("B's users leave the directory and #lobby's members in Redis",
                 lambda: not b_s("parley:users") and not b_s("parley:room:#lobby:m"))
        assert redis.command("HGET", "parley:room:#lobby:m", "alice") is not None
    finally:
        b_node.stop()


def test_a_node_says_when_another_took_its_id(redis, make_server):
    a_node = start_node(make_server, redis, "--node-id", "5", flood=True)
    wait_for("A's epoch in its heartbeat",
             lambda: not (redis.command("GET", "parley:node:5") or "0:").startswith("0:"))
    # As a node that took id 5 while A's key was gone would have it.
    redis.command("SET", "parley:node:5", "1234:99:impostor", "EX", "10")
    wait_for("A says so", lambda: "another node took node id 5" in a_node.log_text(), 20)
    assert a_node.log_text().count("another node took node id 5") == 1


def test_events_redis_could_not_take_are_told_again(redis, make_server):
    # Redis stops answering (SIGSTOP) while A's user talks: past
    # CLUSTER_INFLIGHT_MAX (100,000) commands unanswered A sends nothing
    # more. When Redis answers again, A starts a new epoch: B drops A's
    # users (what B missed of them may be wrong) and hears them again.
    import signal
    a_node, b_node = [start_node(make_server, redis) for _ in range(2)]
    alice = plain(a_node, "alice")
    bob = plain(b_node, "bob")
    alice.expect_seen(r"^-- \S+ is now known as bob$")
    # alice talks in a room of her own (B has nobody there, and hears
    # none of it); she and bob share #lobby, where her quit shows.
    alice.send("/join #flood")
    alice.expect(r"^#flood -- alice joined$")
    redis.proc.send_signal(signal.SIGSTOP)
    try:
        alice.send_raw(b"x\n" * 110000)
        # All handled (slowly under the sanitizers).
        alice.send("/ping lagged")
        alice.expect(r"^-- pong lagged$", timeout=120)
    finally:
        redis.proc.send_signal(signal.SIGCONT)
    bob.expect(r"^-- alice quit: netsplit$", timeout=60)
    for _ in range(100):
        alice.send("/msg bob after the lag")
        try:
            bob.expect(r"^\*alice\* after the lag$", timeout=0.5)
            break
        except AssertionError:
            pass
    else:
        raise AssertionError("B never heard alice again")
    # The log is written by its own thread: the line may come a little
    # after what it tells of.
    wait_for("A says Redis keeps up", lambda: "Redis keeps up again" in a_node.log_text(), 30)
    assert a_node.log_text().count("Redis keeps up again") == 1


def test_run_cluster_keeps_the_others_when_one_node_stops():
    """tools/run-cluster: a node killed is named, and the other nodes and
    Redis go on; TERM stops everything it started."""
    need = missing_tools("redis-server", "redis-cli")
    if need:
        pytest.skip(need)
    proc = subprocess.Popen([str(ROOT / "tools" / "run-cluster")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env=dict(os.environ, PARLEYD=str(PARLEYD)))
    try:
        nodes_seen = {}
        for line in proc.stdout:
            m = re.match(r"run-cluster: (node\d) \(pid (\d+)\): IRC \S+, plain 127\.0\.0\.1:(\d+),",
                         line)
            if m:
                nodes_seen[m.group(1)] = (int(m.group(2)), int(m.group(3)))
            if "Ctrl-C stops them all" in line:
                break
        assert set(nodes_seen) == {"node1", "node2", "node3"}, nodes_seen
        def ready(port):
            try:
                Client(port).close()
                return True
            except OSError:
                return False
        for name, (_, port) in nodes_seen.items():
            wait_for(name + " listens", lambda: ready(port), 20)
        alice = Client(nodes_seen["node1"][1])
        os.kill(nodes_seen["node2"][0], signal.SIGKILL)
        line = proc.stdout.readline()
        while line and not line.startswith("run-cluster:"):
            line = proc.stdout.readline()   # bash's own word of a job killed
        assert re.match(r"run-cluster: node2 \(pid %d\) stopped \(status 137;"
                        % nodes_seen["node2"][0], line), line
        # node1 and node3 still serve, through Redis.
        bob = Client(nodes_seen["node3"][1])
        alice.expect(r"^#lobby -- %s joined$" % re.escape(bob.nick))
        bob.send("still here")
        alice.expect(r"^#lobby <%s> still here$" % re.escape(bob.nick))
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        proc.wait(timeout=30)
        assert "run-cluster: stopped" in rest, rest
        # What it started is gone with it (the autouse check looks too).
        for name in ("node1", "node3"):
            assert not os.path.exists("/proc/%d" % nodes_seen[name][0]), name
    finally:
        kill_group(proc)
        proc.wait()
