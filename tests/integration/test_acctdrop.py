"""A dropped account's name inherits nothing (issue 13's rule: a name
registered again is someone else). What the account had goes with it,
on both backends: the rooms it founded are unregistered, it leaves every
registered room's operators, its private conversations and read markers
are deleted. Each test registers, gains, drops, registers the same name
from another client, and shows the new account gets none of it, before
and after a restart (what the database kept)."""
import shutil
import tempfile
from pathlib import Path

import pytest

from chat import Server, free_port
from cluster import redis  # noqa: F401 (a fixture)
from irc import IrcClient, parse

CAPS = ("batch server-time message-tags echo-message labeled-response "
        "draft/chathistory draft/read-marker")


def starter(where):
    """start() runs a parleyd on the database where (again after a stop:
    a restart); stopped(started) stops every one."""
    started = []

    def run():
        srv = Server("--irc-listen", "127.0.0.1:%d" % free_port(), "--flood-rate", "0",
                     "--max-per-ip", "0", *where)
        i = srv.cmd.index("--irc-listen")
        srv.irc = int(srv.cmd[i + 1].rsplit(":", 1)[1])
        srv.clients = []
        started.append(srv)
        return srv
    return run, started


def stopped(started):
    for srv in started:
        for c in srv.clients:
            c.close()
        srv.stop()


@pytest.fixture
def sqlite_start():
    d = Path(tempfile.mkdtemp(prefix="parley-acctdrop-"))
    run, started = starter(("--data-dir", str(d)))
    yield run
    stopped(started)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def pg_start(pg_url):
    run, started = starter(("--database", pg_url))
    yield run
    stopped(started)


def irc(srv, nick, password=None):
    """An IRC client as nick, logged in (SASL PLAIN) when password."""
    c = IrcClient(srv.irc)
    srv.clients.append(c)
    if password is None:
        return c.register(nick, caps=CAPS)
    return c.register_sasl(nick, password, caps=CAPS)


def register(srv, nick, password):
    """A new connection registers the account nick (NickServ)."""
    c = irc(srv, nick)
    c.send("PRIVMSG NickServ :REGISTER %s" % password)
    c.expect(r"NOTICE %s :Account %s registered" % (nick, nick))
    return c


def drop(c, password):
    c.send("PRIVMSG NickServ :DROP %s" % password)
    c.expect(r"NOTICE \S+ :Account \S+ is dropped")


def chanserv(c, line):
    c.send("PRIVMSG ChanServ :" + line)
    return parse(c.expect(r"^(?:@\S+ )?:ChanServ!\S+ NOTICE ").string).params[-1]


def join_modes(c, room):
    """c joins room: (whether ChanServ gave c +o, c's prefix in NAMES)."""
    c.send("JOIN " + room)
    lines = c.collect(r" 366 ")
    opped = any(":ChanServ!" in l and " MODE %s +o %s" % (room, c.nick) in l for l in lines)
    names = [parse(l).params[-1].split() for l in lines if " 353 " in l][0]
    me = [n for n in names if n.lstrip("@+").lower() == c.nick.lower()][0]
    return opped, me


def operator_case(start):
    srv = start()
    owner = register(srv, "own", "sesame-own")
    opd = register(srv, "opd", "sesame-opd")
    owner.join("#ops")
    assert chanserv(owner, "REGISTER #ops") == "#ops is registered to own"
    opd.join("#ops")
    owner.send("MODE #ops +o opd")
    owner.expect(r" MODE #ops \+o opd$")
    opd.send("PART #ops")
    opd.expect(r" PART #ops")
    drop(opd, "sesame-opd")
    # A save of the room after the drop (a topic change).
    owner.send("TOPIC #ops :after the drop")
    owner.expect(r" TOPIC #ops :after the drop$")
    opd.close()
    again = register(srv, "opd", "another-person")
    assert join_modes(again, "#ops") == (False, "opd")
    for c in srv.clients:
        c.close()
    assert srv.stop() == 0
    srv = start()
    again = irc(srv, "opd", "another-person")
    assert join_modes(again, "#ops") == (False, "opd")
    owner = irc(srv, "own", "sesame-own")
    assert join_modes(owner, "#ops") == (True, "@own")


def founder_case(start):
    srv = start()
    fnd = register(srv, "fnd", "sesame-fnd")
    pal = register(srv, "pal", "sesame-pal")
    fnd.join("#found")
    assert chanserv(fnd, "REGISTER #found") == "#found is registered to fnd"
    pal.join("#found")
    fnd.send("PRIVMSG pal :a secret for pal")
    pal.expect(r" PRIVMSG pal :a secret for pal$")
    pal.send("PRIVMSG fnd :a secret for fnd")
    fnd.expect(r" PRIVMSG fnd :a secret for fnd$")
    fnd.send("PART #found")
    pal.expect(r" PART #found")
    drop(fnd, "sesame-fnd")
    assert chanserv(pal, "INFO #found") == "#found is not registered"
    fnd.close()
    again = register(srv, "fnd", "another-person")
    # pal stayed: the room is there, but nobody's any more.
    assert join_modes(again, "#found") == (False, "fnd")
    assert chanserv(again, "DROP #found") == "#found is not registered"
    again.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
               "timestamp=2100-01-01T00:00:00.000Z 50")
    lines = again.collect(r" BATCH -")
    assert not any("pal" in l for l in lines), lines
    again.send("CHATHISTORY LATEST pal * 50")
    lines = again.collect(r" BATCH -")
    assert not any("secret" in l for l in lines), lines
    for c in srv.clients:
        c.close()
    assert srv.stop() == 0
    srv = start()
    again = irc(srv, "fnd", "another-person")
    assert "registered to" not in chanserv(again, "INFO #found")
    again.send("CHATHISTORY LATEST pal * 50")
    lines = again.collect(r" BATCH -")
    assert not any("secret" in l for l in lines), lines


def test_a_dropped_operator_account_leaves_the_rooms_operators(sqlite_start):
    operator_case(sqlite_start)


def test_a_dropped_operator_account_leaves_the_rooms_operators_pg(pg_start):
    operator_case(pg_start)


def test_a_dropped_founder_leaves_no_room_and_no_history(sqlite_start):
    founder_case(sqlite_start)


def test_a_dropped_founder_leaves_no_room_and_no_history_pg(pg_start):
    founder_case(pg_start)


def test_a_drop_on_one_node_leaves_nothing_on_another(redis, pg_url, make_server):
    """Two nodes on one PostgreSQL: opd, dropped on A, had +o in a room
    and founded another; the name registered again on B (once B's
    registry let go of it, within its next read of the accounts) gets
    neither."""
    from cluster import wait_for
    from test_cluster_owners import account, chanserv as cs
    from test_cluster_pg import pg_node
    a_node = pg_node(make_server, redis, pg_url)
    b_node = pg_node(make_server, redis, pg_url)
    own = account(a_node, "own", "sesame-own")
    opd = account(a_node, "opd", "sesame-opd")
    own.join("#cr")
    assert cs(own, "REGISTER #cr") == "#cr is registered to own"
    opd.join("#cr")
    own.send("MODE #cr +o opd")
    opd.expect(r" MODE #cr \+o opd$")
    opd.join("#cf")
    assert cs(opd, "REGISTER #cf") == "#cf is registered to opd"
    pal = IrcClient(b_node.irc_port).register("pal")
    wait_for("B knows #cf as registered",
             lambda: cs(pal, "INFO #cf").startswith("#cf is registered to opd"))
    pal.join("#cf")
    opd.send("PART #cr")
    opd.send("PART #cf")
    opd.expect(r" PART #cf")
    drop(opd, "sesame-opd")
    opd.close()
    probe = IrcClient(b_node.irc_port).register("probe")

    def b_let_go():
        probe.send("NICK opd")
        return " NICK " in probe.expect(r" (433|NICK) ").string
    wait_for("B lets go of the name opd", b_let_go)
    probe.nick = "opd"
    probe.send("REGISTER * * another-person")
    probe.expect(r" REGISTER SUCCESS ")
    assert cs(probe, "INFO #cf") == "#cf is not registered"
    assert join_modes(probe, "#cr") == (False, "opd")
    assert join_modes(probe, "#cf") == (False, "opd")
    for c in (own, pal, probe):
        c.close()


def test_an_account_deleted_beside_the_running_server(sqlite_start):
    """`parleyd account delete` writes the database; the server, at its
    next read of the accounts, lets go of what the name had."""
    import subprocess
    from cluster import wait_for
    from chat import PARLEYD
    srv = sqlite_start()
    data_dir = srv.cmd[srv.cmd.index("--data-dir") + 1]
    owner = register(srv, "own", "sesame-own")
    opd = register(srv, "opd", "sesame-opd")
    owner.join("#ops")
    assert chanserv(owner, "REGISTER #ops") == "#ops is registered to own"
    opd.join("#fo")
    assert chanserv(opd, "REGISTER #fo") == "#fo is registered to opd"
    opd.join("#ops")
    owner.send("MODE #ops +o opd")
    owner.expect(r" MODE #ops \+o opd$")
    owner.join("#fo")
    opd.close()
    owner.expect(r" QUIT ")
    done = subprocess.run([str(PARLEYD), "account", "delete", "opd", "--data-dir", data_dir],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    probe = irc(srv, "probe")

    def let_go():
        probe.send("NICK opd")
        return " NICK " in probe.expect(r" (433|NICK) ").string
    wait_for("the server lets go of the name opd", let_go)
    probe.nick = "opd"
    probe.send("PRIVMSG NickServ :REGISTER another-person")
    probe.expect(r"NOTICE opd :Account opd registered")
    assert chanserv(probe, "INFO #fo") == "#fo is not registered"
    assert join_modes(probe, "#ops") == (False, "opd")
    assert join_modes(probe, "#fo") == (False, "opd")
