"""IRCv3 extensions of the IRC door against a real parleyd: no-implicit-names,
standard-replies, bot mode, UTF8ONLY, chghost, sts, multiline and message
redaction. The specifications (ircv3.net/irc) are where the expectations
come from."""
import re

from chat import Client
from irc import IrcClient, parse
from test_irc import ircd, joined, line, make_irc, src, user  # noqa: F401 (fixtures)


# Capability negotiation.

def test_cap_ls_offers_the_new_caps(ircd):
    c = IrcClient(ircd.irc_port)
    listed = c.cap_ls()
    for cap in ("no-implicit-names", "standard-replies"):
        assert cap in listed, listed
        assert listed[cap] is None
    c.send("CAP REQ :no-implicit-names standard-replies")
    c.expect(r"^:\S+ CAP \* ACK :no-implicit-names standard-replies$")


# no-implicit-names.

def test_no_implicit_names_skips_the_names_burst(ircd):
    alice = user(ircd, "alice")
    alice.join("#c")
    alice.send("TOPIC #c :the topic")
    alice.expect(line(src("alice") + " TOPIC #c :the topic"))
    bob = user(ircd, "bob", caps="no-implicit-names")
    bob.send("JOIN #c")
    got = bob.sync()
    commands = [parse(x).command for x in got]
    assert "JOIN" in commands and "332" in commands, got
    assert "353" not in commands and "366" not in commands, got
    # An explicit NAMES is answered as usual.
    bob.send("NAMES #c")
    names = bob.expect_numeric("353")
    assert set(names.group("rest").split(":", 1)[1].split()) == {"@alice", "bob"}
    bob.expect_numeric("366")


def test_without_no_implicit_names_join_sends_names(ircd):
    bob = user(ircd, "bob", caps="")
    bob.send("JOIN #c")
    commands = [parse(x).command for x in bob.sync()]
    assert "353" in commands and "366" in commands
