"""Attacks on a running parleyd, one test (or a few) per finding of issue 9:
what one user can do to the server or to the others. Each failed on the
code before its fix."""
import re

import pytest

from chat import Client, Server
from irc import IrcClient
from wsclient import WsIrcClient

# Flood control would only slow these tests down; where it matters a test
# starts its own server.
FAST = ("--flood-burst", "1000")


@pytest.fixture
def doors():
    """A parleyd with plain, IRC and web listeners."""
    srv = Server(*FAST, irc=True, web=True)
    yield srv
    rc = srv.stop()
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


def body(line):
    """An IRC line without its tags: what the 512-byte rule is about."""
    return line.split(" ", 1)[1] if line.startswith("@") else line


def irc_privmsg_text(lines, target):
    """The texts of the PRIVMSGs to target among lines, in order."""
    out = []
    for l in lines:
        m = re.match(r"^:\S+ PRIVMSG %s :(.*)$" % re.escape(target), body(l))
        if m:
            out.append(m.group(1))
    return out


# Finding 1: a heap overflow in render_split from one plain line.

def test_plain_line_of_invalid_bytes_reaches_irc_whole(doors):
    irc = IrcClient(doors.irc_port).register("ircer")
    irc.join("#lobby")
    nc = doors.client()  # guestN, as in the report
    nc.send_raw(b"\xff" * 4073 + b"\n")
    nc.sync()
    irc.send("PING done")
    lines = irc.collect(r"PONG \S+ :?done$")
    for l in lines:
        assert len(body(l).encode()) + 2 <= 512, l
    assert "".join(irc_privmsg_text(lines, "#lobby")) == "\ufffd" * 4073
    # And the server is still there for everyone.
    nc.sync()


@pytest.mark.parametrize("unit", ["\ufffd", "é", "😃", "a"])
def test_long_plain_lines_of_any_width_split_into_whole_characters(doors, unit):
    irc = IrcClient(doors.irc_port).register("ircer")
    irc.join("#lobby")
    nc = doors.client("g" * 30)
    text = unit * (4000 // len(unit.encode()))
    nc.send(text)
    nc.sync()
    irc.send("PING done")
    lines = irc.collect(r"PONG \S+ :?done$")
    for l in lines:
        assert len(body(l).encode()) + 2 <= 512, l
    assert "".join(irc_privmsg_text(lines, "#lobby")) == text


def test_websocket_invalid_bytes_reach_irc_as_valid_lines(doors):
    irc = IrcClient(doors.irc_port).register("ircer")
    irc.join("#lobby")
    ws = WsIrcClient(doors.web_port, binary=True).register("webby")
    ws.join("#lobby")
    ws.send(b"PRIVMSG #lobby :" + b"\xff" * 490)
    ws.send(b"PRIVMSG #lobby :\x01ACTION " + b"\xc3" * 480 + b"\x01")
    ws.sync()
    irc.send("PING done")
    lines = irc.collect(r"PONG \S+ :?done$")
    got = irc_privmsg_text(lines, "#lobby")
    assert got and got[0].startswith("\ufffd" * 100)
    for l in lines:
        assert len(body(l).encode()) + 2 <= 512, l
