"""MONITOR and extended-monitor (IRCv3 monitor, extended-monitor):
watching nicknames, across both doors."""
import re

from chat import Client
from irc import IrcClient, parse
from test_irc import ircd, make_irc, numerics, user  # noqa: F401
from test_irc_conform import isupport

ONLINE = r" 730 alice :"
OFFLINE = r" 731 alice :"


def targets(line):
    return parse(line).params[-1].split(",")


def test_monitor_online_offline_and_nick_changes(ircd):
    a = user(ircd, "alice")
    a.send("MONITOR + bob,Carol")
    got = a.collect(OFFLINE)
    assert targets(got[-1]) == ["bob", "Carol"], got
    b = user(ircd, "bob")
    assert targets(a.expect(ONLINE).string) == ["bob!~u@127.0.0.1"]
    # A change of case is no change of nickname: nothing is said.
    b.send("NICK BOB")
    b.expect(r"NICK :?BOB$")
    b.send("NICK carol")
    assert targets(a.expect(OFFLINE).string) == ["BOB"]
    assert targets(a.expect(ONLINE).string) == ["carol!~u@127.0.0.1"]
    b.send("QUIT :bye")
    b.expect_closed()
    assert targets(a.expect(OFFLINE).string) == ["carol"]
    assert not [x for x in a.sync() if " 73" in x]


def test_monitor_sees_plain_users_too(ircd):
    a = user(ircd, "alice")
    a.send("MONITOR + dave")
    a.expect(OFFLINE)
    p = Client(ircd.port)
    p.send("/nick dave")
    assert targets(a.expect(ONLINE).string)[0].startswith("dave!")
    p.send("/quit")
    assert targets(a.expect(OFFLINE).string) == ["dave"]


def test_monitor_list_status_remove_and_clear(ircd):
    a = user(ircd, "alice")
    user(ircd, "bob")
    a.send("MONITOR + bob,zed")
    a.send("MONITOR S")
    got = [x for x in a.sync() if " 73" in x]
    # + then S: each tells who is on (730) and who is not (731).
    assert [parse(x).command for x in got] == ["730", "731", "730", "731"], got
    a.send("MONITOR L")
    got = a.collect(r" 733 alice :")
    assert sorted(t for m in numerics(got, "732") for t in m.params[1].split(",")) == \
        ["bob", "zed"]
    a.send("MONITOR - bob")
    a.send("MONITOR L")
    got = a.collect(r" 733 alice :")
    assert [m.params[1] for m in numerics(got, "732")] == ["zed"], got
    a.send("MONITOR C")
    a.send("MONITOR L")
    got = a.collect(r" 733 alice :")
    assert not numerics(got, "732"), got
    # Masks are not nicknames: not watched.
    a.send("MONITOR + *!*@127.0.0.1")
    assert not [x for x in a.sync() if " 73" in x]


def test_monitor_list_is_bounded(ircd):
    a = user(ircd, "alice")
    nicks = ["n%d" % i for i in range(100)]
    for i in range(0, 100, 20):
        a.send("MONITOR + " + ",".join(nicks[i:i + 20]))
    a.sync()
    a.send("MONITOR + n5,extra1,extra2")
    m = parse(a.expect(r" 734 ").string)
    assert m.params[1:3] == ["100", "extra1,extra2"], m.line
    # Already watched: no place is used, so it is still answered.
    a.send("MONITOR + n7")
    a.expect(r" 731 alice :n7$")
    tokens = isupport(IrcClient(ircd.irc_port).register("zz").lines)
    assert tokens["MONITOR"] == "100"


def test_extended_monitor_away_and_setname(ircd):
    a = user(ircd, "alice", caps="extended-monitor away-notify setname")
    plain = user(ircd, "carl", caps="away-notify setname")   # no extended-monitor
    for c in (a, plain):
        c.send("MONITOR + bob")
        c.sync()
    b = user(ircd, "bob", caps="setname")
    a.expect(ONLINE)
    b.send("AWAY :lunch")
    a.expect(r":bob!~u@127\.0\.0\.1 AWAY :lunch$")
    b.send("SETNAME :New Name")
    a.expect(r":bob!~u@127\.0\.0\.1 SETNAME :New Name$")
    assert not [x for x in plain.sync() if " AWAY " in x or " SETNAME " in x]
    # Sharing a room, it comes once, not twice.
    a.join("#r")
    b.join("#r")
    a.sync()
    b.send("AWAY")
    got = a.collect(r" AWAY$")
    assert not [x for x in a.sync() if " AWAY" in x], got


def test_extended_monitor_needs_the_event_cap(ircd):
    a = user(ircd, "alice", caps="extended-monitor")
    a.send("MONITOR + bob")
    a.sync()
    b = user(ircd, "bob")
    a.expect(ONLINE)
    b.send("AWAY :gone")
    b.sync()
    assert not [x for x in a.sync() if re.search(r" AWAY", x)]
