"""What accounts unlock (issue 13), against a real parleyd with a data dir:
private history between two accounts (CHATHISTORY on a nick, TARGETS, the
plain door's /history NICK) and nobody else's, and between an account and
a nick that is not one (kept for the account alone); read markers (IRCv3
draft/read-marker: MARKREAD got and set, only forward, on JOIN before
RPL_ENDOFNAMES, the same account's other connections told); registered
rooms (ChanServ REGISTER / DROP / INFO and their refusals, plain
/register #room, a registered room kept when empty and across a restart
with its topic, modes, key, limit, lists and founder's +o).

Accounts are made with the admin command line (parleyd account add, the
password on stdin), as an operator makes them; IRC clients log in with
SASL PLAIN, plain ones with /login."""
import base64
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from chat import PARLEYD, Client, Server
from irc import IrcClient, parse

CAPS = ("batch server-time message-tags echo-message labeled-response "
        "draft/chathistory draft/read-marker")


@pytest.fixture
def data_dir():
    d = Path(tempfile.mkdtemp(prefix="parley-unlock-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def servers(data_dir):
    """start() runs a parleyd on data_dir (again after a stop: a restart);
    every one is stopped, and must have exited cleanly, at the end."""
    started = []

    def start():
        srv = Server("--flood-rate", "0", "--data-dir", str(data_dir), irc=True)
        started.append(srv)
        return srv
    yield start
    for srv in started:
        rc = srv.stop()
        assert rc in (0, None), "parleyd exited with %s:\n%s" % (rc, srv.log_text())


def account_add(data_dir, name, password):
    done = subprocess.run([str(PARLEYD), "account", "add", name, "--data-dir", str(data_dir)],
                          input=(password + "\n").encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def irc(srv, nick, password=None, caps=CAPS):
    """An IRC client registered as nick, logged in (SASL PLAIN) when a
    password is given."""
    c = IrcClient(srv.irc_port)
    srv.__dict__.setdefault("clients", []).append(c)
    if password is None:
        return c.register(nick, caps=caps)
    return c.register_sasl(nick, password, caps=caps)


def plain(srv, nick, password=None):
    c = Client(srv.port)
    srv.__dict__.setdefault("clients", []).append(c)
    if password is None:
        c.set_nick(nick)
    else:
        c.send("/login %s %s" % (nick, password))
        c.expect(r"^-- .*logged in")
        c.sync()
    return c


def batch(c, btype="chathistory"):
    """Reads up to the end of the next batch of btype: (opening, lines)."""
    opening = parse(c.expect(r"^(?:@\S+ )?:\S+ BATCH \+\S+ %s" % re.escape(btype)).string)
    ref = opening.params[0][1:]
    inside = []
    while True:
        m = parse(c.expect(r".").string)
        if m.command == "BATCH" and m.params == ["-" + ref]:
            return opening, inside
        assert m.tags.get("batch") == ref, m
        inside.append(m)


def chanserv(c):
    """ChanServ's next NOTICE to c: its text."""
    return parse(c.expect(r"^(?:@\S+ )?:ChanServ!\S+ NOTICE ").string).params[-1]


# ---- Private history ----

def test_private_history_between_two_accounts(servers, data_dir):
    for name in ("alice", "bob", "carol"):
        account_add(data_dir, name, "sesame-" + name)
    srv = servers()
    alice = irc(srv, "alice", "sesame-alice")
    bob = irc(srv, "bob", "sesame-bob")
    alice.send("PRIVMSG bob :hello bob")
    bob.expect(r"PRIVMSG bob :hello bob$")
    bob.send("NOTICE alice :hi alice")
    alice.expect(r"NOTICE alice :hi alice$")
    alice.send("PRIVMSG bob :\x01ACTION waves\x01")
    bob.expect(r"ACTION waves")
    # A guest (not logged in) talking to an account: kept apart, for
    # that account only (test_one_sided_history).
    guest = irc(srv, "guest7")
    guest.send("PRIVMSG alice :from a guest")
    alice.expect(r"from a guest")

    for who, other in ((alice, "bob"), (bob, "alice")):
        who.send("CHATHISTORY LATEST %s * 10" % other)
        opening, lines = batch(who)
        assert opening.params[-1] == other
        assert [(m.nick, m.command, m.params[0], m.params[-1]) for m in lines] == [
            ("alice", "PRIVMSG", "bob", "hello bob"),
            ("bob", "NOTICE", "alice", "hi alice"),
            ("alice", "PRIVMSG", "bob", "\x01ACTION waves\x01"),
        ]
        assert all("msgid" in m.tags and "time" in m.tags for m in lines)
    # Any case, and by the registered name when its owner is away.
    alice.send("CHATHISTORY BEFORE BOB timestamp=2262-01-01T00:00:00.000Z 2")
    assert [m.params[-1] for m in batch(alice)[1]] == ["hi alice", "\x01ACTION waves\x01"]
    bob.close()
    alice.send("CHATHISTORY LATEST bob * 1")
    assert [m.params[-1] for m in batch(alice)[1]] == ["\x01ACTION waves\x01"]
    # The guest's message to alice is in her conversation with guest7.
    alice.send("CHATHISTORY LATEST guest7 * 10")
    assert [m.params[-1] for m in batch(alice)[1]] == ["from a guest"]

    # A third account reads nothing of it, by either name.
    carol = irc(srv, "carol", "sesame-carol")
    for other in ("alice", "bob"):
        carol.send("CHATHISTORY LATEST %s * 10" % other)
        assert batch(carol)[1] == []
    # Nor does anyone not logged in.
    guest.send("CHATHISTORY LATEST alice * 10")
    assert batch(guest)[1] == []


def test_one_sided_history(servers, data_dir):
    """A conversation between an account and a nick that is no account's
    is kept for the account alone (as Ergo does): read back by it on any
    door, listed by its TARGETS under the nick; never by the nick, nor by
    whoever holds the nick later, logged in or not."""
    for name in ("alice", "paul", "carol"):
        account_add(data_dir, name, "sesame-" + name)
    srv = servers()
    alice = irc(srv, "alice", "sesame-alice")
    paul = plain(srv, "paul", "sesame-paul")
    guest = irc(srv, "guest7")
    guest.send("PRIVMSG alice :from a guest")
    alice.expect(r"from a guest$")
    alice.send("PRIVMSG guest7 :to the guest")
    guest.expect(r"PRIVMSG guest7 :to the guest$")
    guest.send("PRIVMSG paul :hello paul")
    paul.expect(r"^\*guest7\* hello paul$")
    paul.send("/msg guest7 hi guest")
    guest.expect(r"PRIVMSG guest7 :hi guest$")

    alice.send("CHATHISTORY LATEST GUEST7 * 10")
    opening, lines = batch(alice)
    assert [(m.nick, m.params[0], m.params[-1]) for m in lines] == [
        ("guest7", "alice", "from a guest"), ("alice", "guest7", "to the guest")]
    alice.send("CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z "
               "timestamp=2262-01-01T00:00:00.000Z 10")
    _, lines = batch(alice, "draft/chathistory-targets")
    assert [m.params[1] for m in lines] == ["guest7"]
    # The plain door's /history NICK: paul's, not alice's.
    paul.send("/history guest7")
    paul.expect(r"^<< \S+Z \*guest7\* hello paul$")
    paul.expect(r"^<< \S+Z -> \*guest7\* hi guest$")
    paul.expect(r"^-- guest7: 2 earlier messages$")
    # Another account has no conversation with guest7.
    carol = irc(srv, "carol", "sesame-carol")
    carol.send("CHATHISTORY LATEST guest7 * 10")
    assert batch(carol)[1] == []

    # The nick reads nothing of it, nor does its next holder.
    guest.send("CHATHISTORY LATEST alice * 10")
    assert batch(guest)[1] == []
    guest.send("QUIT")
    guest.expect_closed()
    later = irc(srv, "guest7")
    later.send("CHATHISTORY LATEST alice * 10")
    assert batch(later)[1] == []
    later.send("QUIT")
    later.expect_closed()
    # Nor an account of that name made later.
    account_add(data_dir, "guest7", "sesame-guest7")
    owner = irc(srv, "guest7", "sesame-guest7")
    for other in ("alice", "paul"):
        owner.send("CHATHISTORY LATEST %s * 10" % other)
        assert batch(owner)[1] == []
    owner.send("CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z "
               "timestamp=2262-01-01T00:00:00.000Z 10")
    assert batch(owner, "draft/chathistory-targets")[1] == []


def test_targets_lists_rooms_and_conversations(servers, data_dir):
    for name in ("dora", "eve", "finn"):
        account_add(data_dir, name, "sesame-" + name)
    srv = servers()
    dora = irc(srv, "dora", "sesame-dora")
    eve = irc(srv, "eve", "sesame-eve")
    finn = irc(srv, "finn", "sesame-finn")
    dora.join("#t1")
    dora.send("PRIVMSG #t1 :in the room")
    dora.expect(r"PRIVMSG #t1 :in the room")
    dora.send("PRIVMSG eve :to eve")
    eve.expect(r"to eve")
    finn.send("PRIVMSG dora :from finn")
    dora.expect(r"from finn")
    eve.send("PRIVMSG finn :not dora's")
    finn.expect(r"not dora's")

    dora.send("CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z "
              "timestamp=2262-01-01T00:00:00.000Z 10")
    _, lines = batch(dora, "draft/chathistory-targets")
    names = sorted(m.params[1] for m in lines)
    assert names == ["#t1", "eve", "finn"]
    # eve's conversations: dora and finn, no room.
    eve.send("CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z "
             "timestamp=2262-01-01T00:00:00.000Z 10")
    _, lines = batch(eve, "draft/chathistory-targets")
    assert sorted(m.params[1] for m in lines) == ["dora", "finn"]


def test_plain_history_nick(servers, data_dir):
    account_add(data_dir, "gina", "sesame-gina")
    account_add(data_dir, "hugo", "sesame-hugo")
    srv = servers()
    gina = plain(srv, "gina", "sesame-gina")
    hugo = irc(srv, "hugo", "sesame-hugo")
    gina.send("/msg hugo hello from plain")
    hugo.expect(r"PRIVMSG hugo :hello from plain$")
    hugo.send("PRIVMSG gina :hello from irc")
    gina.expect(r"^\*hugo\* hello from irc$")
    gina.send("/history hugo")
    gina.expect(r"^<< \S+Z -> \*hugo\* hello from plain$")
    gina.expect(r"^<< \S+Z \*hugo\* hello from irc$")
    gina.expect(r"^-- hugo: 2 earlier messages$")
    # A nick never talked to: nothing.
    gina.send("/history nobody")
    gina.expect(r"^-- nobody: 0 earlier messages$")


# ---- Read markers ----

def test_read_marker_without_account(servers):
    srv = servers()
    c = irc(srv, "ivy")
    c.send("MARKREAD #nowhere")
    c.expect(r" MARKREAD #nowhere \*$")
    c.send("JOIN #rm")
    lines = [c.expect(r" (?:MARKREAD|366) ").string]
    assert " MARKREAD #rm *" in lines[0], lines
    c.expect_numeric("366")
    c.send("MARKREAD #rm timestamp=2024-05-01T10:00:00.000Z")
    c.expect(r" MARKREAD #rm timestamp=2024-05-01T10:00:00.000Z$")
    c.send("MARKREAD #rm timestamp=2023-01-01T00:00:00.000Z")
    c.expect(r" MARKREAD #rm timestamp=2024-05-01T10:00:00.000Z$")
    c.send("MARKREAD #rm timestamp=nonsense")
    c.expect(r"FAIL MARKREAD INVALID_PARAMS")
    c.send("MARKREAD #rm *")
    c.expect(r"FAIL MARKREAD INVALID_PARAMS")
    c.send("MARKREAD")
    c.expect(r"FAIL MARKREAD NEED_MORE_PARAMS")


def test_read_markers_synced_across_connections(servers, data_dir):
    account_add(data_dir, "jade", "sesame-jade")
    srv = servers()
    phone = irc(srv, "jade", "sesame-jade")
    # A second connection of the same account, under a nick of its own.
    laptop = IrcClient(srv.irc_port)
    srv.clients.append(laptop)
    laptop.cap_ls()
    laptop.send("CAP REQ :%s sasl" % CAPS)
    laptop.expect(r" CAP \S+ ACK ")
    laptop.send("NICK jade_laptop")
    laptop.send("USER u 0 * :Real Name")
    laptop.send("AUTHENTICATE PLAIN")
    laptop.expect(r"^AUTHENTICATE \+")
    laptop.send("AUTHENTICATE " + base64.b64encode(b"jade\0jade\0sesame-jade").decode())
    laptop.expect_numeric("903")
    laptop.send("CAP END")
    laptop.expect_numeric("376|422")
    phone.send("JOIN #sync")
    phone.expect(r" MARKREAD #sync \*$")
    phone.expect_numeric("366")
    phone.send("MARKREAD #sync timestamp=2025-02-02T02:02:02.022Z")
    phone.expect(r" MARKREAD #sync timestamp=2025-02-02T02:02:02.022Z$")
    laptop.expect(r" MARKREAD #sync timestamp=2025-02-02T02:02:02.022Z$")
    # Only forward, on either.
    laptop.send("MARKREAD #sync timestamp=2020-01-01T00:00:00.000Z")
    laptop.expect(r" MARKREAD #sync timestamp=2025-02-02T02:02:02.022Z$")
    # Kept for the account: a new connection joining is told it, before 366.
    laptop.send("JOIN #sync")
    laptop.expect(r" MARKREAD #sync timestamp=2025-02-02T02:02:02.022Z$")
    laptop.expect_numeric("366")
    # And across a restart.
    for c in srv.clients:
        c.close()
    assert srv.stop() == 0
    srv = servers()
    again = irc(srv, "jade", "sesame-jade")
    again.send("MARKREAD #sync")
    again.expect(r" MARKREAD #sync timestamp=2025-02-02T02:02:02.022Z$")


# ---- Registered rooms ----

def test_chanserv_refusals(servers, data_dir):
    account_add(data_dir, "kim", "sesame-kim")
    account_add(data_dir, "lou", "sesame-lou")
    srv = servers()
    guest = irc(srv, "nobody1")
    guest.join("#open")
    guest.send("PRIVMSG ChanServ :REGISTER #open")
    assert "logged in" in chanserv(guest)
    lou = irc(srv, "lou", "sesame-lou")
    lou.join("#open")
    lou.send("PRIVMSG ChanServ :REGISTER #open")
    assert "operator" in chanserv(lou)
    lou.send("PRIVMSG ChanServ :REGISTER #nosuch")
    assert "does not exist" in chanserv(lou)
    kim = irc(srv, "kim", "sesame-kim")
    kim.join("#kims")
    kim.send("CS REGISTER #kims")
    assert chanserv(kim) == "#kims is registered to kim"
    kim.send("CHANSERV REGISTER #kims")
    assert "already registered" in chanserv(kim)
    lou.send("PRIVMSG ChanServ :INFO #kims")
    assert chanserv(lou).startswith("#kims is registered to kim")
    lou.send("PRIVMSG ChanServ :DROP #kims")
    assert "founder" in chanserv(lou)
    lou.send("PRIVMSG ChanServ :INFO #open")
    assert chanserv(lou) == "#open is not registered"
    lou.send("PRIVMSG ChanServ :FLY #kims")
    assert "Unknown command" in chanserv(lou)
    # Nobody may take the service's name.
    guest.send("NICK ChanServ")
    guest.expect_numeric("432")
    kim.send("PRIVMSG ChanServ :DROP #kims")
    assert chanserv(kim) == "#kims is not registered any more"
    # Unregistered, an empty room goes as before.
    kim.send("PART #kims")
    kim.send("PRIVMSG ChanServ :INFO #kims")
    assert "does not exist" in chanserv(kim)


def test_registered_room_across_restart(servers, data_dir):
    account_add(data_dir, "mona", "sesame-mona")
    account_add(data_dir, "ned", "sesame-ned")
    srv = servers()
    mona = irc(srv, "mona", "sesame-mona")
    ned = irc(srv, "ned", "sesame-ned")
    mona.join("#kept")
    mona.send("PRIVMSG ChanServ :REGISTER #kept")
    assert chanserv(mona) == "#kept is registered to mona"
    mona.send("TOPIC #kept :a topic that lasts")
    mona.expect(r" TOPIC #kept :a topic that lasts$")
    mona.send("MODE #kept +imk-t sekrit")
    mona.expect(r" MODE #kept ")
    mona.send("MODE #kept +l 42")
    mona.expect(r" MODE #kept \+l 42$")
    mona.send("MODE #kept +b bad!*@*")
    mona.expect(r" MODE #kept \+b bad!\*@\*$")
    mona.send("MODE #kept +e good!*@*")
    mona.expect(r" MODE #kept \+e good!\*@\*$")
    mona.send("MODE #kept +I ned!*@*")
    mona.expect(r" MODE #kept \+I ned!\*@\*$")
    ned.send("JOIN #kept sekrit")
    ned.expect_numeric("366")
    mona.send("MODE #kept +o ned")
    mona.expect(r" MODE #kept \+o ned$")
    # Empty, it stays.
    mona.send("PART #kept")
    ned.send("PART #kept")
    ned.expect(r" PART #kept")
    mona.send("PRIVMSG ChanServ :INFO #kept")
    assert chanserv(mona).startswith("#kept is registered to mona")
    for c in srv.clients:
        c.close()
    assert srv.stop() == 0

    srv = servers()
    guest = irc(srv, "someone")
    guest.send("JOIN #kept")
    guest.expect_numeric("473")  # +i, and guest is on no +I list
    mona = irc(srv, "mona", "sesame-mona")
    mona.send("JOIN #kept sekrit")
    mona.expect(r":ChanServ!\S+ MODE #kept \+o mona$")
    mona.expect(r" 353 mona = #kept :@mona$")
    mona.expect_numeric("366")
    mona.send("TOPIC #kept")
    mona.expect(r" 332 mona #kept :a topic that lasts$")
    mona.send("MODE #kept")
    mode = parse(mona.expect_numeric("324").string).params
    assert set(mode[2].lstrip("+")) == set("imnkl"), mode
    assert mode[3:] == ["sekrit", "42"]
    for letter, mask, end in (("b", "bad!*@*", "368"), ("e", "good!*@*", "349"),
                              ("I", "ned!*@*", "347")):
        mona.send("MODE #kept %s" % letter)
        assert mask in mona.expect(r" %s mona #kept " % {"b": "367", "e": "348",
                                                         "I": "346"}[letter]).string
        mona.expect_numeric(end)
    # The account mona opped gets +o on joining too (it is on the +I list).
    ned = irc(srv, "ned", "sesame-ned")
    ned.send("JOIN #kept sekrit")
    ned.expect(r":ChanServ!\S+ MODE #kept \+o ned$")


def test_plain_register_room(servers, data_dir):
    account_add(data_dir, "olga", "sesame-olga")
    srv = servers()
    olga = plain(srv, "olga", "sesame-olga")
    olga.send("/join #plainroom")
    olga.expect(r"^#plainroom -- olga joined$")
    olga.send("/register #plainroom")
    olga.expect(r"^-- #plainroom is registered to olga$")
    olga.send("/register #plainroom")
    olga.expect(r"^!! \S+: #plainroom is already registered")
    guest = plain(srv, "pat")
    guest.send("/join #other")
    guest.send("/register #other")
    guest.expect(r"^!! not-logged-in: ")
