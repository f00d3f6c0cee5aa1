"""The IRC door against a real parleyd: registration, channels, messages,
queries, operators, IRCv3 capabilities, and IRC and plain users together.

Modern IRC (modern.ircdocs.horse) and the IRCv3 specifications
(ircv3.net) are what the expectations come from."""
import datetime
import re
import subprocess
import time

import pytest

from chat import PARLEYD, Client, Server
from irc import IrcClient, parse

# Flood control is the plain door's business and is tested there; here it
# would only slow the busier tests down.
BASE_ARGS = ("--flood-burst", "1000")

HOST = r"127\.0\.0\.1"
ALL_CAPS = {"away-notify", "batch", "cap-notify", "echo-message", "extended-join",
            "invite-notify", "labeled-response", "message-tags", "multi-prefix",
            "server-time", "setname", "userhost-in-names"}


def src(nick, ident="~u"):
    """A regex for the source of a line from nick (registered with the
    default USER u)."""
    return r":%s!%s@%s" % (re.escape(nick), re.escape(ident), HOST)


def line(rest):
    """A regex for a whole line, any tags allowed in front."""
    return r"^(?:@\S+ )?" + rest + "$"


@pytest.fixture
def make_irc():
    """Starts parleyd with an IRC listener and the given options; checks
    each one exits cleanly at the end."""
    started = []

    def make(*args):
        srv = Server(*BASE_ARGS, *args, irc=True)
        started.append(srv)
        return srv
    yield make
    for srv in started:
        rc = srv.stop()
        assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


@pytest.fixture
def ircd(make_irc):
    return make_irc()


def user(server, nick, **kw):
    """A registered IRC client. The server keeps a reference to it, so a
    test that does not keep one itself does not close it (and make its
    user quit) by dropping it."""
    c = IrcClient(server.irc_port).register(nick, **kw)
    if not hasattr(server, "irc_clients"):
        server.irc_clients = []
    server.irc_clients.append(c)
    return c


def joined(server, channel, *nicks, **kw):
    """Registered IRC clients, each in channel (the first is its operator),
    every join seen by the first."""
    clients = []
    for nick in nicks:
        c = user(server, nick, **kw)
        c.join(channel)
        if clients:
            clients[0].expect(line(src(nick) + r" JOIN :?%s(?: .*)?" % re.escape(channel)))
        clients.append(c)
    return clients


def numerics(lines, num):
    return [parse(x) for x in lines if parse(x).command == num]


# Registration.

def test_register_without_cap(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("NICK alice")
    c.send("USER al 0 * :Alice Liddell")
    m = c.expect_numeric("001")
    assert m.group("target") == "alice"
    assert re.search(r"alice!~al@%s$" % HOST, m.group("rest")), m.group(0)
    c.expect_numeric("376|422")
    c.send("WHOIS alice")
    c.expect_numeric("311", r"alice ~al %s \* :Alice Liddell$" % HOST)


def test_a_web_pages_request_registers_nobody(ircd):
    """A web page can make its visitors' browsers POST to the IRC port
    (fetch with mode no-cors, text/plain): the request line and headers
    were unknown commands, then the body registered a client that joined
    and spoke ('#lobby <evil> spam from a web page' on main, tried as a
    new user). A first line that is an HTTP request is answered ERROR and
    the link closed; a TLS handshake too."""
    alice = user(ircd, "alice")
    alice.join("#lobby")
    body = (b"NICK evil\r\nUSER e 0 * :e\r\nJOIN #lobby\r\n"
            b"PRIVMSG #lobby :spam from a web page\r\n")
    for first in (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body,
                  b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03\n" + body):
        c = IrcClient(ircd.irc_port)
        c.send_raw(first)
        assert any(re.match(r"^ERROR :Closing [Ll]ink: .*Not IRC", x) for x in c.expect_closed())
    alice.send("NAMES #lobby")
    names = alice.expect_numeric("353")
    assert "evil" not in names.group(0), names.group(0)
    assert not [x for x in alice.lines if "evil" in x or "spam" in x], alice.lines


def test_register_user_before_nick(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("USER u 0 * :Real Name")
    c.send("NICK alice")
    c.expect_numeric("001")


def test_cap_ls_lists_caps_and_holds_registration_until_cap_end(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("CAP LS 302")
    c.send("NICK bob")
    c.send("USER u 0 * :Bob")
    m = c.expect(r"^:\S+ CAP \S+ LS :(.*)$")
    listed = {item.split("=", 1)[0] for item in m.group(1).split()}
    assert ALL_CAPS <= listed, listed
    # PING is answered before registration: everything sent so far has been
    # handled, and still no welcome.
    c.sync()
    assert not any(parse(x).command == "001" for x in c.lines), c.lines
    c.send("CAP REQ :server-time")
    c.expect(r"^:\S+ CAP \S+ ACK :server-time$")
    c.sync()
    assert not any(parse(x).command == "001" for x in c.lines), c.lines
    c.send("CAP END")
    c.expect_numeric("001")
    c.expect_numeric("376|422")


def test_register_with_caps(ircd):
    c = user(ircd, "carol", caps="server-time echo-message")
    c.send("CAP LIST")
    m = c.expect(r"^:\S+ CAP carol LIST :(.*)$")
    assert {"server-time", "echo-message"} <= set(m.group(1).split())


def test_password_right(make_irc):
    srv = make_irc("--password", "secret")
    c = user(srv, "alice", password="secret")
    assert c.nick == "alice"


@pytest.mark.parametrize("password", ["wrong", None])
def test_password_wrong_or_missing(make_irc, password):
    srv = make_irc("--password", "secret")
    c = IrcClient(srv.irc_port)
    if password is not None:
        c.send("PASS " + password)
    c.send("NICK alice")
    c.send("USER u 0 * :Real Name")
    c.expect_numeric("464")
    c.expect(r"^ERROR :")
    rest = c.expect_closed()
    assert not any(parse(x).command == "001" for x in c.lines + rest)
    # The nick was never taken.
    user(srv, "alice", password="secret")


def test_nick_in_use_then_another(ircd):
    user(ircd, "alice")
    c = IrcClient(ircd.irc_port)
    c.send("NICK alice")
    c.expect_numeric("433", r"alice :")
    c.send("NICK ALICE")  # nicknames ignore ASCII case
    c.expect_numeric("433", r"ALICE :")
    c.send("NICK alice2")
    c.send("USER u 0 * :Real Name")
    m = c.expect_numeric("001")
    assert m.group("target") == "alice2"


def test_nick_in_use_after_registration(ircd):
    user(ircd, "alice")
    b = user(ircd, "bob")
    b.send("NICK Alice")
    b.expect_numeric("433", r"Alice :")
    b.send("NICK bobby")
    b.expect(r"^" + src("bob") + r" NICK :?bobby$")


@pytest.mark.parametrize("nick", ["1abc", "a!b", "#chan", "x" * 31])
def test_erroneous_nick(ircd, nick):
    c = IrcClient(ircd.irc_port)
    c.send("NICK " + nick)
    c.expect_numeric("432")
    c.send("NICK fine")
    c.send("USER u 0 * :Real Name")
    c.expect_numeric("001")
    c.send("NICK " + nick)
    c.expect_numeric("432")


def test_nick_without_name(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("NICK")
    c.expect_numeric("431")


@pytest.mark.parametrize("command", ["JOIN #a", "PRIVMSG #a :hi", "WHOIS x",
                                     "MODE #a", "LIST"])
def test_commands_before_registration(ircd, command):
    c = IrcClient(ircd.irc_port)
    c.send(command)
    c.expect_numeric("451", r":")


def test_user_twice(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("USER u 0 * :Real Name")
    c.send("USER v 0 * :Other Name")
    c.expect_numeric("462")
    c.send("NICK alice")
    c.expect_numeric("001")
    c.send("USER w 0 * :Again")
    c.expect_numeric("462")
    c.send("PASS whatever")
    c.expect_numeric("462")
    c.send("WHOIS alice")
    c.expect_numeric("311", r"alice ~u ")


def test_user_missing_params(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("USER u 0")
    c.expect_numeric("461", r"USER :")


def test_welcome_numerics_and_isupport(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("NICK alice")
    c.send("USER u 0 * :Real Name")
    got = c.collect(r"^:\S+ (376|422) ")
    commands = [parse(x).command for x in got]
    for num in ("001", "002", "003", "004", "005"):
        assert num in commands, (num, got)
    # In order: 001 to 004, then 005.
    firsts = [commands.index(n) for n in ("001", "002", "003", "004", "005")]
    assert firsts == sorted(firsts)
    for m in numerics(got, "001") + numerics(got, "005"):
        assert m.source == "test.parley"
        assert m.params[0] == "alice"
    four = numerics(got, "004")[0]
    assert four.params[1] == "test.parley"
    tokens = {}
    for m in numerics(got, "005"):
        assert m.params[-1] == "are supported by this server"
        for tok in m.params[1:-1]:
            key, _, value = tok.partition("=")
            tokens[key] = value
    assert tokens["CASEMAPPING"] == "ascii"
    assert tokens["CHANTYPES"] == "#"
    assert tokens["PREFIX"] == "(ov)@+"
    assert tokens["NICKLEN"] == "30"
    assert tokens["CHANMODES"] == "beI,k,l,imnst"


def test_lusers(ircd):
    plain = Client(ircd.port)  # users are users, whatever their door
    a = user(ircd, "alice")
    b = user(ircd, "bob")
    b.send("MODE bob +i")
    b.expect(r"^:bob MODE bob :?\+i$")
    # One connection that has not registered yet.
    lurker = IrcClient(ircd.irc_port)
    lurker.sync()
    a.send("LUSERS")
    got = a.collect(r"^:\S+ 255 ")
    by = {parse(x).command: parse(x) for x in got}
    for num in ("251", "252", "253", "254", "255"):
        assert num in by, (num, got)
    assert re.search(r"\b2 users and 1 invisible\b", by["251"].params[-1]), by["251"]
    assert by["252"].params[1] == "0"
    assert by["253"].params[1] == "1"
    assert by["254"].params[1] == "1"  # #lobby, where the plain user is
    assert re.search(r"\b3 clients\b", by["255"].params[-1]), by["255"]
    plain.close()


def test_motd_missing(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("NICK alice")
    c.send("USER u 0 * :Real Name")
    got = c.collect(r"^:\S+ (376|422) ")
    assert parse(got[-1]).command == "422"
    c.send("MOTD")
    c.expect_numeric("422")


def test_motd_from_file(make_irc, tmp_path):
    motd = tmp_path / "motd.txt"
    motd.write_text("Welcome to the test server\nBe nice\n")
    srv = make_irc("--motd-file", str(motd))
    c = IrcClient(srv.irc_port)
    c.send("NICK alice")
    c.send("USER u 0 * :Real Name")
    got = c.collect(r"^:\S+ (376|422) ")
    assert parse(got[-1]).command == "376"
    lines = [parse(x) for x in got]
    i = [m.command for m in lines].index("375")
    assert [m.command for m in lines[i:]] == ["375", "372", "372", "376"]
    assert "Welcome to the test server" in lines[i + 1].params[-1]
    assert "Be nice" in lines[i + 2].params[-1]
    c.send("MOTD")
    c.expect_numeric("375")
    c.expect_numeric("372", r":- Welcome to the test server$")
    c.expect_numeric("372", r":- Be nice$")
    c.expect_numeric("376")


# PING and PONG.

def test_client_ping(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("PING before-registration")
    c.expect(r"^:test\.parley PONG test\.parley :before-registration$")
    c.register("alice")
    c.send("PING :some token")
    c.expect(r"^:test\.parley PONG test\.parley :some token$")
    c.send("PING")
    c.expect_numeric("409")


def test_server_pings_silent_clients(make_irc):
    # Three seconds to answer: enough for a client that reads on a busy
    # machine, while the silent one is still dropped within seconds.
    srv = make_irc("--ping-interval", "1", "--ping-timeout", "3")
    alive = user(srv, "alive")
    silent = IrcClient(srv.irc_port, auto_pong=False).register("silent")
    alive.join("#c")
    silent.join("#c")
    alive.expect(line(src("silent") + r" JOIN :?#c"))
    # alive answers every PING while it reads; silent never does.
    alive.expect(line(src("silent") + r" QUIT :Ping timeout\b.*"), timeout=30)
    assert alive.pings >= 1, alive.lines
    alive.expect(r"^PING ", timeout=30)  # pinged again, and still here
    alive.sync()
    rest = silent.expect_closed(timeout=30)
    assert any(parse(x).command == "PING" for x in silent.lines + rest)
    # The last word is an ERROR saying why.
    assert any(x.startswith("ERROR :Closing Link: ") and "Ping timeout" in x
               for x in silent.lines + rest), silent.lines + rest


# Channels.

def test_join_several_channels(ircd):
    a = user(ircd, "alice")
    a.send("JOIN #a,#b")
    for ch in ("#a", "#b"):
        a.expect(r"^%s JOIN :?%s$" % (src("alice"), ch))
        a.expect_numeric("353", r"[=@*] %s :@alice$" % ch)
        a.expect_numeric("366", r"%s :" % ch)
    b = user(ircd, "bob")
    b.send("JOIN #a")
    b.expect(r"^%s JOIN :?#a$" % src("bob"))
    m = b.expect_numeric("353", r"= #a :")
    assert set(m.group("rest").split(":", 1)[1].split()) == {"@alice", "bob"}
    b.expect_numeric("366", r"#a :")
    a.expect(r"^%s JOIN :?#a$" % src("bob"))


def test_join_bad_channel_name(ircd):
    a = user(ircd, "alice")
    a.send("JOIN nohash")
    a.expect_numeric("403|476", r"nohash :")
    a.send("JOIN")
    a.expect_numeric("461", r"JOIN :")


def test_join_with_keys(ircd):
    a, = joined(ircd, "#k1", "alice")
    a.join("#k2")
    a.send("MODE #k1 +k one")
    a.expect(r"^%s MODE #k1 \+k :?one$" % src("alice"))
    a.send("MODE #k2 +k two")
    a.expect(r"^%s MODE #k2 \+k :?two$" % src("alice"))
    b = user(ircd, "bob")
    b.send("JOIN #k1")
    b.expect_numeric("475", r"#k1 :")
    b.send("JOIN #k1 wrong")
    b.expect_numeric("475", r"#k1 :")
    b.send("JOIN #k1,#k2 one,two")
    b.expect(r"^%s JOIN :?#k1$" % src("bob"))
    b.expect_numeric("366", r"#k1 ")
    b.expect(r"^%s JOIN :?#k2$" % src("bob"))
    b.expect_numeric("366", r"#k2 ")


def test_join_zero_parts_all(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    a.join("#b")
    a.send("JOIN 0")
    parted = {a.expect(r"^%s PART :?(#a|#b)$" % src("alice")).group(1)
              for _ in range(2)}
    assert parted == {"#a", "#b"}
    b.expect(r"^%s PART :?#a$" % src("alice"))
    b.send("NAMES #a")
    m = b.expect_numeric("353", r"= #a :")
    assert m.group("rest").split(":", 1)[1].split() == ["bob"]
    a.send("WHOIS alice")
    got = a.collect(r"^:\S+ 318 ")
    assert not numerics(got, "319"), got


def test_join_shows_topic(ircd):
    a, = joined(ircd, "#t", "alice")
    a.send("TOPIC #t :the topic")
    a.expect(r"^%s TOPIC #t :the topic$" % src("alice"))
    b = user(ircd, "bob")
    b.send("JOIN #t")
    got = b.collect(r"^:\S+ 366 ")
    cmds = [parse(x).command for x in got]
    assert cmds.index("JOIN") < cmds.index("332") < cmds.index("353") < cmds.index("366")
    assert numerics(got, "332")[0].params[1:] == ["#t", "the topic"]


def test_part_with_reason(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    b.send("PART #a :gone fishing")
    b.expect(r"^%s PART #a :gone fishing$" % src("bob"))
    a.expect(r"^%s PART #a :gone fishing$" % src("bob"))
    b.send("PART #a")
    b.expect_numeric("442", r"#a :")
    b.send("PART #nowhere")
    b.expect_numeric("403", r"#nowhere :")


def test_topic(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    a.send("TOPIC #a")
    a.expect_numeric("331", r"#a :")
    a.send("TOPIC #a :hello world")
    a.expect(r"^%s TOPIC #a :hello world$" % src("alice"))
    b.expect(r"^%s TOPIC #a :hello world$" % src("alice"))
    b.send("TOPIC #a")
    b.expect_numeric("332", r"#a :hello world$")
    m = b.expect_numeric("333", r"#a alice(!\S+)? \d+$")
    set_at = int(m.group("rest").split()[-1])
    assert abs(set_at - time.time()) < 3600
    # +t (on by default): only operators set the topic.
    b.send("TOPIC #a :mine now")
    b.expect_numeric("482", r"#a :")
    a.send("MODE #a -t")
    b.expect(r"^%s MODE #a -t$" % src("alice"))
    b.send("TOPIC #a :mine now")
    a.expect(r"^%s TOPIC #a :mine now$" % src("bob"))
    # An empty topic clears it.
    a.send("TOPIC #a :")
    b.expect(r"^%s TOPIC #a :?$" % src("alice"))
    b.send("TOPIC #a")
    b.expect_numeric("331", r"#a :")


def test_topic_errors(ircd):
    a, = joined(ircd, "#a", "alice")
    b = user(ircd, "bob")
    b.send("TOPIC #a :outsider")
    b.expect_numeric("442", r"#a :")
    b.send("TOPIC #nowhere")
    b.expect_numeric("403", r"#nowhere :")


def test_names(ircd):
    a, b, c = joined(ircd, "#a", "alice", "bob", "carol")
    c.send("NAMES #a")
    m = c.expect_numeric("353", r"= #a :")
    assert set(m.group("rest").split(":", 1)[1].split()) == {"@alice", "bob", "carol"}
    c.expect_numeric("366", r"#a :")
    c.send("NAMES #nowhere")
    c.expect_numeric("366", r"#nowhere :")


def test_list(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    a.send("TOPIC #a :all about a")
    a.expect(r"TOPIC #a :")
    a.join("#b")
    c = user(ircd, "carol")
    c.send("LIST")
    got = c.collect(r"^:\S+ 323 ")
    cmds = [parse(x).command for x in got]
    assert cmds[0] == "321" and cmds[-1] == "323", got
    rows = {m.params[1]: m for m in numerics(got, "322")}
    assert set(rows) == {"#a", "#b"}
    assert rows["#a"].params[2] == "2"
    assert rows["#a"].params[3].endswith("all about a")
    assert rows["#b"].params[2] == "1"
    c.send("LIST #b")
    got = c.collect(r"^:\S+ 323 ")
    assert [m.params[1] for m in numerics(got, "322")] == ["#b"]


def test_kick(ircd):
    a, b, c = joined(ircd, "#a", "alice", "bob", "carol")
    a.send("KICK #a bob :behave")
    for x in (a, b, c):
        x.expect(r"^%s KICK #a bob :behave$" % src("alice"))
    a.send("NAMES #a")
    m = a.expect_numeric("353", r"= #a :")
    assert "bob" not in m.group("rest").split(":", 1)[1].split()
    # A member who is not an operator may not kick.
    c.send("KICK #a alice :no")
    c.expect_numeric("482", r"#a :")
    # bob is no longer there.
    a.send("KICK #a bob")
    a.expect_numeric("441", r"bob #a :")
    # Not a member at all.
    b.send("KICK #a carol")
    b.expect_numeric("442|482", r"#a :")


def test_invite(ircd):
    a, = joined(ircd, "#i", "alice")
    a.send("MODE #i +i")
    a.expect(r"^%s MODE #i \+i$" % src("alice"))
    b = user(ircd, "bob")
    b.send("JOIN #i")
    b.expect_numeric("473", r"#i :")
    a.send("INVITE bob #i")
    a.expect_numeric("341", r"bob #i$")
    b.expect(r"^%s INVITE bob :?#i$" % src("alice"))
    b.join("#i")
    a.expect(r"^%s JOIN :?#i$" % src("bob"))
    # Only operators invite to a +i channel; nobody invites a member.
    c = user(ircd, "carol")
    b.send("INVITE carol #i")
    b.expect_numeric("482", r"#i :")
    a.send("INVITE bob #i")
    a.expect_numeric("443", r"bob #i :")
    a.send("INVITE nobody #i")
    a.expect_numeric("401", r"nobody :")
    c.send("INVITE bob #i")
    c.expect_numeric("442", r"#i :")


def test_mode_op_and_voice(ircd):
    a, b, c = joined(ircd, "#m", "alice", "bob", "carol")
    a.send("MODE #m +o bob")
    for x in (a, b, c):
        x.expect(r"^%s MODE #m \+o :?bob$" % src("alice"))
    a.send("MODE #m +v carol")
    c.expect(r"^%s MODE #m \+v :?carol$" % src("alice"))
    c.send("NAMES #m")
    m = c.expect_numeric("353", r"= #m :")
    assert set(m.group("rest").split(":", 1)[1].split()) == {"@alice", "@bob", "+carol"}
    # bob is an operator now.
    b.send("MODE #m -o alice")
    a.expect(r"^%s MODE #m -o :?alice$" % src("bob"))
    a.send("MODE #m +o alice")
    a.expect_numeric("482", r"#m :")
    # Several at once.
    b.send("MODE #m +o-v alice carol")
    c.expect(r"^%s MODE #m \+o-v alice :?carol$" % src("bob"))


def test_mode_query(ircd):
    a, = joined(ircd, "#m", "alice")
    a.send("MODE #m")
    m = a.expect_numeric("324", r"#m \+")
    assert set(m.group("rest").split()[1].lstrip("+")) == {"n", "t"}
    a.send("MODE #nowhere")
    a.expect_numeric("403", r"#nowhere :")


def test_mode_ban(ircd):
    a, b = joined(ircd, "#b", "alice", "bob")
    c = user(ircd, "carol")
    a.send("MODE #b +b carol!*@*")
    a.expect(r"^%s MODE #b \+b :?carol!\*@\*$" % src("alice"))
    c.send("JOIN #b")
    c.expect_numeric("474", r"#b :")
    for query in ("MODE #b +b", "MODE #b b"):
        a.send(query)
        a.expect_numeric("367", r"#b carol!\*@\* \S+ \d+$")
        a.expect_numeric("368", r"#b :")
    # A banned member may not speak (+b silences members too).
    a.send("MODE #b +b bob!*@*")
    b.expect(r"MODE #b \+b :?bob!\*@\*$")
    b.send("PRIVMSG #b :can you hear me")
    b.expect_numeric("404", r"#b :")
    a.send("MODE #b -b carol!*@*")
    a.expect(r"MODE #b -b :?carol!\*@\*$")
    c.join("#b")


def test_mode_key(ircd):
    a, = joined(ircd, "#k", "alice")
    a.send("MODE #k +k sesame")
    a.expect(r"MODE #k \+k :?sesame$")
    b = user(ircd, "bob")
    b.send("JOIN #k")
    b.expect_numeric("475", r"#k :")
    b.join("#k", "sesame")
    a.send("MODE #k -k *")
    a.expect(r"MODE #k -k")
    c = user(ircd, "carol")
    c.join("#k")


def test_mode_limit(ircd):
    a, = joined(ircd, "#l", "alice")
    a.send("MODE #l +l 2")
    a.expect(r"MODE #l \+l :?2$")
    b = user(ircd, "bob")
    b.join("#l")
    c = user(ircd, "carol")
    c.send("JOIN #l")
    c.expect_numeric("471", r"#l :")
    a.send("MODE #l -l")
    a.expect(r"MODE #l -l$")
    c.join("#l")


def test_mode_moderated(ircd):
    a, b, c = joined(ircd, "#m", "alice", "bob", "carol")
    a.send("MODE #m +m")
    b.expect(r"MODE #m \+m$")
    b.send("PRIVMSG #m :may I speak")
    b.expect_numeric("404", r"#m :")
    a.send("MODE #m +v bob")
    b.expect(r"MODE #m \+v :?bob$")
    b.send("PRIVMSG #m :now I may")
    c.expect(r"^%s PRIVMSG #m :now I may$" % src("bob"))
    a.send("PRIVMSG #m :ops always may")
    c.expect(r"^%s PRIVMSG #m :ops always may$" % src("alice"))


def test_mode_no_external(ircd):
    a, = joined(ircd, "#n", "alice")
    outsider = user(ircd, "bob")
    outsider.send("PRIVMSG #n :from outside")
    outsider.expect_numeric("404", r"#n :")  # ERR_CANNOTSENDTOCHAN
    a.send("MODE #n -n")
    a.expect(r"MODE #n -n$")
    outsider.send("PRIVMSG #n :from outside again")
    a.expect(r"^%s PRIVMSG #n :from outside again$" % src("bob"))


def test_mode_secret(ircd):
    a, = joined(ircd, "#s", "alice")
    a.join("#open")
    a.send("MODE #s +s")
    a.expect(r"MODE #s \+s$")
    b = user(ircd, "bob")
    b.send("LIST")
    got = b.collect(r"^:\S+ 323 ")
    assert [m.params[1] for m in numerics(got, "322")] == ["#open"]
    a.send("LIST")
    got = a.collect(r"^:\S+ 323 ")
    assert {m.params[1] for m in numerics(got, "322")} == {"#s", "#open"}
    b.send("NAMES #s")
    got = b.collect(r"^:\S+ 366 ")
    assert not numerics(got, "353")
    a.send("NAMES #s")
    a.expect_numeric("353", r"@ #s :@alice$")  # '@' marks a secret channel


def test_mode_needs_operator(ircd):
    a, b = joined(ircd, "#m", "alice", "bob")
    b.send("MODE #m +m")
    b.expect_numeric("482", r"#m :")
    a.send("MODE #m")
    m = a.expect_numeric("324", r"#m ")
    assert "m" not in m.group("rest").split()[1]


def test_unknown_channel_mode(ircd):
    a, = joined(ircd, "#m", "alice")
    a.send("MODE #m +z")
    a.expect_numeric("472", r"z :")


def test_unknown_non_ascii_mode_is_named_whole(ircd):
    """472 names a character that is no mode whole: one of its bytes alone
    is not UTF-8 (tests/fuzz/fuzz_server found it). The client reads
    strictly: a byte of it would fail the read."""
    a, = joined(ircd, "#m", "alice")
    a.send("MODE #m +\u00e9t\u20ac")
    a.expect_numeric("472", "\u00e9 :")
    a.expect_numeric("472", "\u20ac :")
    a.send("MODE #m")
    a.expect_numeric("324", r"#m \+\S*t")


def test_a_reply_that_cuts_a_name_stays_utf8(ircd):
    """A reply that names a long target cut short (BATCH's 401 keeps 64
    bytes) must not end the cut inside a character: every line the server
    sends is valid UTF-8 (tests/fuzz/fuzz_server found it; the client reads
    strictly)."""
    a = user(ircd, "alice", caps=["batch", "draft/multiline"])
    a.send("BATCH +m draft/multiline #" + "\u00e9" * 100)
    m = a.expect_numeric("401")
    assert "\u00e9" * 20 in m.group("rest"), m.group(0)
    a.sync()


def test_user_mode(ircd):
    a = user(ircd, "alice")
    user(ircd, "bob")
    a.send("MODE alice +i")
    a.expect(r"^:alice(!\S+)? MODE alice :?\+i$")
    a.send("MODE alice")
    a.expect_numeric("221", r"\+i$")
    a.send("MODE alice -i")
    a.expect(r"^:alice(!\S+)? MODE alice :?-i$")
    a.send("MODE bob +i")
    a.expect_numeric("502", r":")
    a.send("MODE nobody +i")
    a.expect_numeric("401", r"nobody :")
    # +o only through OPER.
    a.send("MODE alice +o")
    a.sync()
    a.send("MODE alice")
    a.expect_numeric("221", r"\+$")


# Messages.

def test_privmsg_to_channel_and_nick(ircd):
    a, b, c = joined(ircd, "#a", "alice", "bob", "carol")
    a.send("PRIVMSG #a :hello all")
    b.expect(r"^%s PRIVMSG #a :hello all$" % src("alice"))
    c.expect(r"^%s PRIVMSG #a :hello all$" % src("alice"))
    a.send("PRIVMSG bob :just you")
    b.expect(r"^%s PRIVMSG bob :just you$" % src("alice"))
    # No echo without echo-message; carol never sees the private one.
    a.sync()
    assert not any(parse(x).command == "PRIVMSG" for x in a.lines), a.lines
    c.sync()
    assert not any("just you" in x for x in c.lines), c.lines


def test_privmsg_several_targets(ircd):
    a, b, c = joined(ircd, "#a", "alice", "bob", "carol")
    a.send("PRIVMSG bob,#a :hey")
    b.expect(r"^%s PRIVMSG bob :hey$" % src("alice"))
    b.expect(r"^%s PRIVMSG #a :hey$" % src("alice"))
    c.expect(r"^%s PRIVMSG #a :hey$" % src("alice"))
    c.sync()
    assert not any("PRIVMSG bob" in x for x in c.lines)


def test_privmsg_errors(ircd):
    a = user(ircd, "alice")
    a.send("PRIVMSG nobody :hi")
    a.expect_numeric("401", r"nobody :")
    a.send("PRIVMSG #nowhere :hi")
    a.expect_numeric("401|403", r"#nowhere :")
    a.send("PRIVMSG")
    a.expect_numeric("411", r":")
    a.send("PRIVMSG alice")
    a.expect_numeric("412", r":")
    a.send("PRIVMSG alice :")
    a.expect_numeric("412", r":")


def test_notice(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    a.send("NOTICE #a :channel notice")
    b.expect(r"^%s NOTICE #a :channel notice$" % src("alice"))
    a.send("NOTICE bob :private notice")
    b.expect(r"^%s NOTICE bob :private notice$" % src("alice"))


def test_notice_errors_are_silent(ircd):
    a = user(ircd, "alice")
    b, = joined(ircd, "#n", "bob")
    for cmd in ("NOTICE nobody :hi", "NOTICE #nowhere :hi", "NOTICE", "NOTICE alice",
                "NOTICE #n :outsider on +n"):
        a.send(cmd)
    got = a.sync()
    assert got == [], got


def test_away(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    b.send("AWAY :out for lunch")
    b.expect_numeric("306", r":")
    a.send("PRIVMSG bob :are you there")
    a.expect_numeric("301", r"bob :out for lunch$")
    b.expect(r"PRIVMSG bob :are you there$")
    a.send("WHOIS bob")
    a.expect_numeric("301", r"bob :out for lunch$")
    a.send("WHO #a")
    a.expect_numeric("352", r"#a \S+ \S+ \S+ bob G")
    a.send("USERHOST bob")
    a.expect_numeric("302", r":bob=-")
    b.send("AWAY")
    b.expect_numeric("305", r":")
    a.send("PRIVMSG bob :back?")
    got = a.sync()
    assert not numerics(got, "301"), got
    # No away reply to a NOTICE.
    b.send("AWAY :gone again")
    b.expect_numeric("306")
    a.send("NOTICE bob :fyi")
    got = a.sync()
    assert not numerics(got, "301"), got


def test_who_channel(ircd):
    a, b = joined(ircd, "#a", "alice", "bob", realname="The Real Name")
    b.send("WHO #a")
    got = b.collect(r"^:\S+ 315 ")
    rows = {m.params[5]: m for m in numerics(got, "352")}
    assert set(rows) == {"alice", "bob"}
    r = rows["alice"].params
    assert r[1:5] == ["#a", "~u", "127.0.0.1", "test.parley"]
    assert r[6] == "H@"
    assert r[7] == "0 The Real Name"
    assert rows["bob"].params[6] == "H"
    assert parse(got[-1]).params[1] == "#a"


def test_whois(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    b.join("#b")
    a.send("WHOIS bob")
    got = a.collect(r"^:\S+ 318 ")
    cmds = [parse(x).command for x in got]
    for num in ("311", "319", "312", "317", "318"):
        assert num in cmds, (num, got)
    assert numerics(got, "311")[0].params[1:] == ["bob", "~u", "127.0.0.1", "*", "Real Name"]
    assert set(numerics(got, "319")[0].params[2].split()) == {"#a", "@#b"}
    assert numerics(got, "312")[0].params[1:3] == ["bob", "test.parley"]
    idle = numerics(got, "317")[0].params
    assert idle[1] == "bob" and idle[2].isdigit() and idle[3].isdigit()
    assert abs(int(idle[3]) - time.time()) < 3600
    assert numerics(got, "318")[0].params[1] == "bob"
    a.send("WHOIS nobody")
    a.expect_numeric("401", r"nobody :")
    a.expect_numeric("318", r"nobody :")


def test_whowas(ircd):
    a, b = joined(ircd, "#a", "alice", "bob", realname="Bob Real")
    b.send("QUIT :bye")
    a.expect(r"^%s QUIT :" % src("bob"))
    a.send("WHOWAS bob")
    a.expect_numeric("314", r"bob ~u 127\.0\.0\.1 \* :Bob Real$")
    a.expect_numeric("369", r"bob :")
    a.send("WHOWAS nobody")
    got = a.collect(r"^:\S+ 369 ")
    assert [parse(x).command for x in got] == ["406", "369"]


def test_ison_and_userhost(ircd):
    a = user(ircd, "alice")
    user(ircd, "bob")
    a.send("ISON bob nobody ALICE")
    m = a.expect_numeric("303")
    assert {n.lower() for n in m.group("rest").lstrip(":").split()} == {"alice", "bob"}
    a.send("ISON :nobody")
    a.expect_numeric("303", r":?$")
    a.send("USERHOST bob alice nobody")
    m = a.expect_numeric("302")
    assert set(m.group("rest").lstrip(":").split()) == {
        "bob=+~u@127.0.0.1", "alice=+~u@127.0.0.1"}


def test_server_queries(ircd):
    version = subprocess.run([str(PARLEYD), "--version"], capture_output=True,
                             text=True).stdout.split()[1]
    a = user(ircd, "alice")
    # 351 <client> <version> <server> :<comments>
    a.send("VERSION")
    v = parse(a.expect_numeric("351").string)
    assert v.params[:3] == ["alice", "parley-" + version, "test.parley"], v
    assert v.params[3].strip(), v
    a.expect_numeric("005", r".*CASEMAPPING=ascii")  # ISUPPORT follows
    # 391 <client> <server> <timestamp> <offset> :<human-readable time>,
    # both times the same and now.
    a.send("TIME")
    t = parse(a.expect_numeric("391").string)
    assert t.params[:2] == ["alice", "test.parley"], t
    stamp = int(t.params[2])
    assert abs(stamp - time.time()) < 3600, t
    when = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
    assert when.strftime("%Y") in t.params[-1] and when.strftime("%H:%M:%S") in t.params[-1], t
    # 256 <client> <server> :Administrative info, then 257, 258 and 259
    # (an e-mail address), each with something to say.
    a.send("ADMIN")
    got = [parse(l) for l in a.collect(r"^:\S+ 259 ")]
    admin = [m for m in got if m.command in ("256", "257", "258", "259")]
    assert [m.command for m in admin] == ["256", "257", "258", "259"], got
    assert admin[0].params[1] == "test.parley", admin[0]
    assert all(m.params[0] == "alice" and m.params[-1].strip() for m in admin), admin
    assert "@" in admin[3].params[-1], admin[3]
    # 371 lines of text, the version among them, then 374 once.
    a.send("INFO")
    got = [parse(l) for l in a.collect(r"^:\S+ 374 ")]
    info = [m for m in got if m.command in ("371", "374")]
    assert [m.command for m in info[:-1]] == ["371"] * (len(info) - 1) and len(info) >= 2, got
    assert all(m.params[0] == "alice" and m.params[-1].strip() for m in info), info
    assert any(version in m.params[-1] for m in info[:-1]), info


def test_oper_and_kill(make_irc):
    srv = make_irc("--oper", "admin:pw")
    a, b, c = joined(srv, "#a", "alice", "bob", "carol")
    a.send("KILL bob :nope")
    a.expect_numeric("481", r":")
    a.send("OPER admin wrong")
    a.expect_numeric("464", r":")
    a.send("OPER nobody pw")
    a.expect_numeric("464|491", r":")
    a.send("OPER admin pw")
    a.expect_numeric("381", r":")
    c.send("WHOIS alice")
    c.expect_numeric("313", r"alice :")
    a.send("KILL nobody :x")
    a.expect_numeric("401", r"nobody :")
    a.send("KILL bob :spamming")
    c.expect(r"^%s QUIT :.*Killed.*alice.*spamming" % src("bob"))
    b.expect_closed()
    a.send("WHOIS bob")
    a.expect_numeric("401", r"bob :")


def test_killed_user_gets_error(make_irc):
    # Modern IRC, KILL: "The user being killed then receives the ERROR
    # message ... After this, their connection is closed."
    srv = make_irc("--oper", "admin:pw")
    a = user(srv, "alice")
    b = user(srv, "bob")
    a.send("OPER admin pw")
    a.expect_numeric("381")
    a.send("KILL bob :spamming")
    got = b.expect_closed()
    assert any(re.match(r"^ERROR :.*Killed.*spamming", x) for x in got), got


def test_unknown_command(ircd):
    a = user(ircd, "alice")
    a.send("FROBNICATE now")
    a.expect_numeric("421", r"FROBNICATE :")


def test_overlong_line(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    a.send("PRIVMSG #a :" + "x" * 600)
    a.expect_numeric("417", r":")
    # Longer than anything the door frames at all.
    a.send("PRIVMSG #a :" + "y" * 20000)
    a.expect_numeric("417", r":")
    a.send("PRIVMSG #a :still here")
    b.expect(r"^%s PRIVMSG #a :still here$" % src("alice"))
    assert not any("xxxx" in x or "yyyy" in x for x in b.lines)
    # Exactly 512 bytes with CR LF is fine.
    head = "PRIVMSG #a :"
    a.send(head + "z" * (510 - len(head)))
    b.expect(r"PRIVMSG #a :z+$")
    assert not any(parse(x).command == "417" for x in a.sync())


def test_quit_with_reason(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    b.send("QUIT :see you later")
    b.expect(r"^ERROR :")
    b.expect_closed()
    a.expect(r"^%s QUIT :Quit: see you later$" % src("bob"))


def test_closed_connection_is_a_quit(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    b.sync()
    b.close()
    a.expect(r"^%s QUIT :\S.*$" % src("bob"))


# IRCv3.

TIME_TAG = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_server_time(ircd):
    a, b = joined(ircd, "#a", "alice", "bob", caps="server-time")
    c = user(ircd, "carol")
    c.join("#a")
    a.send("PRIVMSG #a :what time is it")
    m = parse(b.expect(r"PRIVMSG #a :what time is it$").string)
    assert re.fullmatch(TIME_TAG, m.tags["time"]), m.line
    assert "msgid" not in m.tags  # that needs message-tags
    when = datetime.datetime.strptime(m.tags["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((now - when).total_seconds()) < 3600
    # No tags for whoever did not ask.
    c.expect(r"^:alice!\S+ PRIVMSG #a :what time is it$")


def test_message_tags_gives_msgid(ircd):
    a, b = joined(ircd, "#a", "alice", "bob", caps="message-tags")
    a.send("PRIVMSG #a :one")
    a.send("PRIVMSG #a :two")
    one = parse(b.expect(r"PRIVMSG #a :one$").string)
    two = parse(b.expect(r"PRIVMSG #a :two$").string)
    for m in (one, two):
        assert re.fullmatch(TIME_TAG, m.tags.get("time") or ""), m.line
        assert m.tags.get("msgid"), m.line
    assert one.tags["msgid"] != two.tags["msgid"]


def test_client_only_tags_are_relayed(ircd):
    # IRCv3 message-tags: "Client-only tags MUST be relayed on PRIVMSG and
    # NOTICE messages" (to clients that negotiated message-tags).
    a, b = joined(ircd, "#a", "alice", "bob", caps="message-tags")
    a.send("@+example.com/mood=happy PRIVMSG #a :tagged")
    m = parse(b.expect(r"PRIVMSG #a :tagged$").string)
    assert m.tags.get("+example.com/mood") == "happy", m.line


def test_tagmsg(ircd):
    # IRCv3 message-tags: the message-tags capability "enables the use of
    # client-only tags and the TAGMSG command".
    a, b = joined(ircd, "#a", "alice", "bob", caps="message-tags")
    a.send("@+typing=active TAGMSG #a")
    m = parse(b.expect(r" TAGMSG #a$").string)
    assert m.tags.get("+typing") == "active", m.line
    assert m.source.startswith("alice!")


def test_echo_message(ircd):
    a, b = joined(ircd, "#a", "alice", "bob", caps="echo-message")
    a.send("PRIVMSG #a :echo me")
    a.expect(r"^%s PRIVMSG #a :echo me$" % src("alice"))
    b.expect(r"^%s PRIVMSG #a :echo me$" % src("alice"))
    a.send("PRIVMSG bob :privately")
    a.expect(r"^%s PRIVMSG bob :privately$" % src("alice"))
    a.send("NOTICE bob :noted")
    a.expect(r"^%s NOTICE bob :noted$" % src("alice"))


def test_labeled_echo(ircd):
    caps = "echo-message labeled-response batch"
    a, b = joined(ircd, "#a", "alice", "bob", caps=caps)
    a.send("@label=abc PRIVMSG #a :labeled hello")
    m = parse(a.expect(r"PRIVMSG #a :labeled hello$").string)
    assert m.tags.get("label") == "abc", m.line
    assert m.source.startswith("alice!")
    # bob gets it without alice's label.
    m = parse(b.expect(r"PRIVMSG #a :labeled hello$").string)
    assert "label" not in m.tags, m.line


def test_labeled_echo_keeps_server_time(ircd):
    # A labeled reply is still the same message: server-time (and msgid)
    # belong on it as on any other.
    caps = "echo-message labeled-response batch server-time message-tags"
    a, b = joined(ircd, "#a", "alice", "bob", caps=caps)
    a.send("@label=t1 PRIVMSG #a :timed")
    m = parse(a.expect(r"PRIVMSG #a :timed$").string)
    assert m.tags.get("label") == "t1", m.line
    assert re.fullmatch(TIME_TAG, m.tags.get("time") or ""), m.line
    assert m.tags.get("msgid"), m.line
    # The same message has the same msgid for everyone.
    other = parse(b.expect(r"PRIVMSG #a :timed$").string)
    assert other.tags.get("msgid") == m.tags.get("msgid")


def test_labeled_ping(ircd):
    a = user(ircd, "alice", caps="labeled-response batch")
    a.send("@label=x PING y")
    m = parse(a.expect(r" PONG ").string)
    assert m.tags == {"label": "x"}, m.line
    assert m.params[-1] == "y"


def test_labeled_batch(ircd):
    a = user(ircd, "alice", caps="labeled-response batch")
    user(ircd, "bob")
    a.send("@label=w WHOIS bob")
    start = parse(a.expect(r" BATCH \+").string)
    assert start.tags.get("label") == "w", start.line
    assert start.params[1] == "labeled-response"
    ref = start.params[0][1:]
    got = a.collect(r"^(?:@\S+ )?:\S+ BATCH -%s$" % re.escape(ref))
    inner = [parse(x) for x in got[:-1]]
    assert [m.command for m in inner][0] == "311"
    assert inner[-1].command == "318"
    for m in inner:
        assert m.tags.get("batch") == ref, m.line
        assert "label" not in m.tags, m.line


def test_labeled_ack(ircd):
    a = user(ircd, "alice", caps="labeled-response batch")
    a.send("@label=z PONG x")
    m = parse(a.expect(r" ACK$").string)
    assert m.tags.get("label") == "z"
    assert m.source == "test.parley"
    # A channel message without echo-message answers nothing either.
    a.join("#a")
    a.send("@label=q PRIVMSG #a :hi")
    m = parse(a.expect(r" ACK$").string)
    assert m.tags.get("label") == "q"


def test_labeled_error(ircd):
    a = user(ircd, "alice", caps="labeled-response batch")
    a.send("@label=e PRIVMSG nobody :hi")
    m = parse(a.expect(r" 401 ").string)
    assert m.tags.get("label") == "e", m.line


def test_label_not_on_message_to_oneself(ircd):
    # IRCv3 labeled-response: "When a client sends a message to itself, the
    # server MUST NOT include the label tag, except for any acknowledgment
    # sent with the echo-message mechanism."
    a = user(ircd, "alice", caps="labeled-response batch")
    a.send("@label=me PRIVMSG alice :note to self")
    got = a.collect(r"PRIVMSG alice :note to self$")
    m = parse(got[-1])
    assert "label" not in m.tags, m.line
    assert not any(parse(x).tags.get("batch") for x in got), got


def test_multi_prefix(ircd):
    a, = joined(ircd, "#a", "alice", caps="multi-prefix")
    a.send("MODE #a +v alice")
    a.expect(r"MODE #a \+v :?alice$")
    a.send("NAMES #a")
    a.expect_numeric("353", r"= #a :@\+alice$")
    a.send("WHO #a")
    a.expect_numeric("352", r"#a \S+ \S+ \S+ alice H@\+ ")
    plainer = user(ircd, "bob")
    plainer.send("NAMES #a")
    plainer.expect_numeric("353", r"= #a :@alice$")


def test_userhost_in_names(ircd):
    a, b = joined(ircd, "#a", "alice", "bob", caps="userhost-in-names")
    b.send("NAMES #a")
    m = b.expect_numeric("353", r"= #a :")
    assert set(m.group("rest").split(":", 1)[1].split()) == {
        "@alice!~u@127.0.0.1", "bob!~u@127.0.0.1"}


def test_extended_join(ircd):
    a = user(ircd, "alice", caps="extended-join")
    a.join("#a")
    c = user(ircd, "carol")
    c.join("#a")
    a.expect(r"^%s JOIN #a \* :Real Name$" % src("carol"))
    b = user(ircd, "bob", realname="Bob the Builder")
    b.join("#a")
    a.expect(r"^%s JOIN #a \* :Bob the Builder$" % src("bob"))
    c.expect(r"^%s JOIN :?#a$" % src("bob"))


def test_away_notify(ircd):
    a, b, c = joined(ircd, "#a", "alice", "bob", "carol")
    a.send("CAP REQ away-notify")
    a.expect(r"CAP alice ACK :?away-notify")
    b.send("AWAY :brb")
    a.expect(r"^%s AWAY :brb$" % src("bob"))
    b.send("AWAY")
    a.expect(r"^%s AWAY$" % src("bob"))
    got = c.sync()
    assert not any(" AWAY" in x for x in got), got


def test_away_notify_on_join(ircd):
    # IRCv3 away-notify: AWAY is sent "as well as when a user joins and has
    # an away message set".
    a = user(ircd, "alice", caps="away-notify")
    a.join("#a")
    b = user(ircd, "bob")
    b.send("AWAY :not here")
    b.expect_numeric("306")
    b.join("#a")
    a.expect(r"^%s JOIN :?#a$" % src("bob"))
    a.expect(r"^%s AWAY :not here$" % src("bob"))


def test_invite_notify(ircd):
    a, b = joined(ircd, "#i", "alice", "bob", caps="invite-notify")
    a.send("MODE #i +o bob")
    b.expect(r"MODE #i \+o :?bob$")
    member = user(ircd, "erin")  # no invite-notify
    member.join("#i")
    dave = user(ircd, "dave")
    a.send("INVITE dave #i")
    a.expect_numeric("341", r"dave #i$")
    dave.expect(r"^%s INVITE dave :?#i$" % src("alice"))
    b.expect(r"^%s INVITE dave :?#i$" % src("alice"))
    member.sync()
    assert not any(" INVITE " in x for x in member.lines), member.lines


def test_setname(ircd):
    a, b = joined(ircd, "#a", "alice", "bob", caps="setname")
    c = user(ircd, "carol")
    c.join("#a")
    a.send("SETNAME :Alice Newname")
    a.expect(r"^%s SETNAME :Alice Newname$" % src("alice"))
    b.expect(r"^%s SETNAME :Alice Newname$" % src("alice"))
    c.send("WHOIS alice")
    c.expect_numeric("311", r"alice ~u \S+ \* :Alice Newname$")
    got = c.sync()
    assert not any("SETNAME" in x for x in c.lines), got


def test_cap_req_unknown_is_nak(ircd):
    c = IrcClient(ircd.irc_port)
    c.cap_ls()
    c.send("CAP REQ :bogus-cap")
    c.expect(r"^:\S+ CAP \* NAK :bogus-cap$")
    # All or nothing: a known cap in the same request is not enabled.
    c.send("CAP REQ :server-time bogus-cap")
    c.expect(r"^:\S+ CAP \* NAK :server-time bogus-cap$")
    c.send("CAP LIST")
    m = c.expect(r"^:\S+ CAP \* LIST :?(.*)$")
    assert "server-time" not in m.group(1).split()
    c.send("CAP END")
    c.register("alice")


def test_cap_list_and_remove(ircd):
    a = user(ircd, "alice", caps="server-time echo-message")
    a.send("CAP REQ :-echo-message")
    a.expect(r"CAP alice ACK :-echo-message$")
    a.send("CAP LIST")
    m = a.expect(r"CAP alice LIST :(.*)$")
    names = set(m.group(1).split())
    assert "server-time" in names and "echo-message" not in names
    a.join("#a")
    a.send("PRIVMSG #a :no echo now")
    got = a.sync()
    assert not any("no echo now" in x for x in got), got


def test_cap_unknown_subcommand(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("CAP FOO")
    c.expect_numeric("410", r"FOO :")


# IRC and plain users together.

def test_cross_room_messages(ircd):
    i = user(ircd, "ircer")
    i.join("#lobby")
    p = Client(ircd.port)
    guest = p.nick
    i.expect(r"^:%s!plain@%s JOIN :?#lobby$" % (guest, HOST))
    p.set_nick("plainer")
    i.expect(r"^:%s!plain@%s NICK :?plainer$" % (guest, HOST))
    p.send("hello")
    i.expect(r"^:plainer!plain@%s PRIVMSG #lobby :hello$" % HOST)
    i.send("PRIVMSG #lobby :hi from irc")
    p.expect(r"^#lobby <ircer> hi from irc$")
    i.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    p.expect(r"^#lobby \* ircer waves$")
    p.send("/me dances")
    i.expect(r"^:plainer!plain@%s PRIVMSG #lobby :\x01ACTION dances\x01$" % HOST)
    i.send("NOTICE #lobby :a notice")
    p.expect(r"^#lobby <ircer> a notice$")


def test_cross_joins_and_parts(ircd):
    i = user(ircd, "ircer")
    i.join("#lobby")
    p = Client(ircd.port)
    i.expect(r"^:%s!plain@%s JOIN :?#lobby$" % (re.escape(p.nick), HOST))
    p.set_nick("plainer")
    i.join("#room")
    p.send("/join #room")
    p.expect(r"^#room -- plainer joined$")
    i.expect(r"^:plainer!plain@%s JOIN :?#room$" % HOST)
    i2 = user(ircd, "other")
    i2.join("#room")
    p.expect(r"^#room -- other joined$")
    i2.send("PART #room :later")
    p.expect(r"^#room -- other left: later$")
    p.send("/part #room see you")
    i.expect(r"^:plainer!plain@%s PART #room :see you$" % HOST)


def test_cross_quits(ircd):
    i = user(ircd, "ircer")
    i.join("#lobby")
    p = Client(ircd.port)
    p.set_nick("plainer")
    i.expect(r"NICK :?plainer$")
    p.send("/quit gone home")
    i.expect(r"^:plainer!plain@%s QUIT :(Quit: )?gone home$" % HOST)
    p2 = Client(ircd.port)
    p2.set_nick("watcher")
    i.expect(r"NICK :?watcher$")
    i.send("QUIT :off now")
    p2.expect(r"^-- ircer quit: (Quit: )?off now$")


def test_cross_nick_changes(ircd):
    i = user(ircd, "ircer")
    i.join("#lobby")
    p = Client(ircd.port)
    p.set_nick("plainer")
    i.expect(r"^:%s!plain@%s NICK :?plainer$" % (r"guest\d+", HOST))
    i.send("NICK ircer2")
    i.expect(r"^%s NICK :?ircer2$" % src("ircer"))
    p.expect(r"^-- ircer is now known as ircer2$")


def test_cross_topics(ircd):
    i = user(ircd, "ircer")
    i.join("#irctopic")
    p = Client(ircd.port)
    p.set_nick("plainer")
    p.send("/join #irctopic")
    i.expect(r"JOIN :?#irctopic$")
    i.send("TOPIC #irctopic :set from irc")
    p.expect(r"^#irctopic -- ircer set the topic: set from irc$")
    p.send("/join #plaintopic")
    p.expect(r"^#plaintopic -- plainer joined$")
    i.join("#plaintopic")
    p.send("/topic #plaintopic set from plain")
    i.expect(r"^:plainer!plain@%s TOPIC #plaintopic :set from plain$" % HOST)
    i.send("TOPIC #plaintopic")
    i.expect_numeric("332", r"#plaintopic :set from plain$")
    i.expect_numeric("333", r"#plaintopic plainer")


def test_cross_private_messages(ircd):
    i = user(ircd, "ircer")
    p = Client(ircd.port)
    p.set_nick("plainer")
    p.send("/msg ircer psst")
    i.expect(r"^:plainer!plain@%s PRIVMSG ircer :psst$" % HOST)
    i.send("PRIVMSG plainer :psst back")
    p.expect(r"^\*ircer\* psst back$")
    i.send("PRIVMSG PLAINER :case does not matter")
    p.expect(r"^\*ircer\* case does not matter$")


def test_cross_nick_uniqueness(ircd):
    p = Client(ircd.port)
    p.set_nick("Shared")
    c = IrcClient(ircd.irc_port)
    c.send("NICK shared")
    c.expect_numeric("433", r"shared :")
    c.register("ircer")
    c.send("NICK SHARED")
    c.expect_numeric("433", r"SHARED :")
    p.send("/nick IRCER")
    p.expect(r"^!! nick-in-use: ")


def test_cross_kick_and_modes(ircd):
    i = user(ircd, "ircop")
    i.join("#lobby")  # first in: the operator
    p = Client(ircd.port)
    p.set_nick("bob")
    i.expect(r"NICK :?bob$")
    i.send("MODE #lobby +v bob")
    p.expect(r"^#lobby -- ircop set mode \+v bob$")
    i.send("KICK #lobby bob :behave")
    p.expect(r"^#lobby -- ircop kicked bob: behave$")
    i.expect(r"^%s KICK #lobby bob :behave$" % src("ircop"))


def test_cross_invite(ircd):
    i = user(ircd, "ircop")
    i.join("#club")
    i.send("MODE #club +i")
    i.expect(r"MODE #club \+i$")
    p = Client(ircd.port)
    p.set_nick("bob")
    p.send("/join #club")
    p.expect(r"^!! invite-only: ")
    i.send("INVITE bob #club")
    i.expect_numeric("341", r"bob #club$")
    p.expect(r"^-- ircop invited bob to #club$")
    p.send("/join #club")
    p.expect(r"^#club -- bob joined$")
    i.expect(r"^:bob!plain@%s JOIN :?#club$" % HOST)


def test_plain_user_seen_by_irc_queries(ircd):
    p = Client(ircd.port)
    p.set_nick("plainer")
    i = user(ircd, "ircer")
    i.send("WHOIS plainer")
    i.expect_numeric("311", r"plainer plain 127\.0\.0\.1 \* :")
    i.expect_numeric("318")
    i.send("NAMES #lobby")
    m = i.expect_numeric("353", r"= #lobby :")
    assert "plainer" in {n.lstrip("@+") for n in m.group("rest").split(":", 1)[1].split()}


def test_many_users_names_split_into_short_lines(make_irc):
    ircd = make_irc("--max-per-ip", "100")  # a crowd from one address
    # Plain users land in #lobby on their own: an easy crowd.
    crowd = []
    for n in range(40):
        p = Client(ircd.port)
        p.set_nick("plain_user_with_a_long_nick%02d" % n)
        crowd.append(p)
    i = user(ircd, "ircer", caps="userhost-in-names")
    i.send("NAMES #lobby")
    got = i.collect(r"^:\S+ 366 ")
    rows = numerics(got, "353")
    assert len(rows) > 1
    names = set()
    for m in rows:
        assert len(m.line.encode()) + 2 <= 512, m.line
        names |= {n.lstrip("@+").split("!")[0] for n in m.params[-1].split()}
    assert names == {p.nick for p in crowd}


# Lines the server relays: 512 bytes at most, and never a bare CR or LF
# inside (RFC 1459 2.3.1: the trailing parameter holds no CR or LF; Modern
# IRC: a message, CR LF included, is at most 512 bytes, tags aside).

def test_relayed_irc_line_fits_in_512_bytes(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    head = "PRIVMSG #a :"
    text = "z" * (510 - len(head))  # the longest line alice may send
    a.send(head + text)
    m = parse(b.expect(r"PRIVMSG #a :z+$").string)
    assert len(m.line.encode()) + 2 <= 512, len(m.line.encode()) + 2
    assert text.startswith(m.params[-1])


def test_plain_long_message_fits_irc_lines(ircd):
    i = user(ircd, "ircer")
    i.join("#lobby")
    p = Client(ircd.port)
    p.set_nick("plainer")
    text = "".join("word%03d " % n for n in range(125)).strip()  # ~1000 bytes
    p.send(text)
    got = i.collect(r"^:plainer!\S+ PRIVMSG #lobby :.*word124$")
    parts = [parse(x) for x in got if parse(x).command == "PRIVMSG"]
    for m in parts:
        assert len(m.line.encode()) + 2 <= 512, len(m.line.encode()) + 2
    # Nothing lost: split into several lines, the text is all there.
    joined_text = "".join(m.params[-1] for m in parts)
    assert joined_text.replace(" ", "") == text.replace(" ", "")


def test_no_bare_cr_relayed_from_irc(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    a.send_raw(b"PRIVMSG #a :one\r:evil!e@e PRIVMSG bob :spoofed\r\n")
    a.send("PRIVMSG #a :after")
    got = b.collect(r"PRIVMSG #a :after$")
    assert not any("\r" in x for x in got), got
    assert not any(re.match(r"^:evil!", x) for x in got), got


def test_no_bare_cr_relayed_from_plain(ircd):
    i = user(ircd, "ircer")
    i.join("#lobby")
    p = Client(ircd.port)
    p.set_nick("plainer")
    i.expect(r"NICK :?plainer$")
    p.send_raw(b"hello\r:evil!e@e PRIVMSG ircer :spoofed\n")
    p.send("after")
    got = i.collect(r"PRIVMSG #lobby :after$")
    assert not any("\r" in x for x in got), got


def test_too_many_targets(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    a.send("PRIVMSG #a,bob,#a,bob,#a :five")
    a.expect_numeric("407", r"#a :")
    b.expect(r"PRIVMSG bob :five$")


def test_invisible_users_hidden_from_who(ircd):
    # Modern IRC: +i hides a user from WHO masks, not from a WHO of their
    # exact nickname (WHOIS finds them anyway), nor from who shares a room.
    a = user(ircd, "alice")
    b = user(ircd, "bob")
    b.send("MODE bob +i")
    b.expect(r"MODE bob :?\+i$")
    a.send("WHO bo*")
    got = a.collect(r"^:\S+ 315 ")
    assert not numerics(got, "352"), got
    a.send("WHO BOB")
    got = a.collect(r"^:\S+ 315 ")
    assert [m.params[5] for m in numerics(got, "352")] == ["bob"]
    a.join("#a")
    b.join("#a")
    a.send("WHO bo*")
    got = a.collect(r"^:\S+ 315 ")
    assert [m.params[5] for m in numerics(got, "352")] == ["bob"]


def test_channel_names_ignore_case(ircd):
    a, = joined(ircd, "#Chan", "alice")
    b = user(ircd, "bob")
    b.send("JOIN #CHAN")
    b.expect_numeric("366")
    a.expect(r"(?i)^%s JOIN :?#chan$" % src("bob"))
    b.send("PRIVMSG #chan :lower case")
    a.expect(r"PRIVMSG #[Cc][Hh][Aa][Nn] :lower case$")
    a.send("NICK ALICE")  # a change of case is a change of nick
    b.expect(r"^%s NICK :?ALICE$" % src("alice"))


def test_mode_on_missing_nick(ircd):
    a, = joined(ircd, "#m", "alice")
    user(ircd, "bob")
    a.send("MODE #m +o nobody")
    a.expect_numeric("401|441", r"nobody ")
    a.send("MODE #m +v bob")
    a.expect_numeric("441", r"bob #m :")


def test_channel_name_too_long(ircd):
    a = user(ircd, "alice")
    a.send("JOIN #" + "c" * 60)
    a.expect_numeric("403|476|479")
    got = a.sync()
    assert not any(parse(x).command == "JOIN" for x in got), got


def test_topic_is_cut_at_topiclen(ircd):
    a, b = joined(ircd, "#a", "alice", "bob")
    a.send("TOPIC #a :" + "t" * 450)
    m = parse(b.expect(r"TOPIC #a :t+$").string)
    assert len(m.params[-1]) == 390


def test_tags_over_the_limit(ircd):
    # IRCv3 message-tags: clients send at most 4094 bytes of tag data;
    # "Servers MUST reply with the ERR_INPUTTOOLONG (417) error numeric if a
    # client sends a message with more tag data than the allowed limit."
    a, b = joined(ircd, "#a", "alice", "bob", caps="message-tags")
    a.send("@+big=" + "x" * 5000 + " PRIVMSG #a :huge tags")
    a.expect_numeric("417", r":")
    a.send("PRIVMSG #a :normal")
    got = b.collect(r"PRIVMSG #a :normal$")
    assert not any("huge tags" in x for x in got), got


def test_labeled_join_in_a_batch(ircd):
    a = user(ircd, "alice", caps="labeled-response batch")
    a.send("@label=j JOIN #a")
    start = parse(a.expect(r" BATCH \+").string)
    assert start.tags.get("label") == "j"
    ref = start.params[0][1:]
    got = a.collect(r"^(?:@\S+ )?:\S+ BATCH -%s$" % re.escape(ref))
    inner = [parse(x) for x in got[:-1]]
    assert [m.command for m in inner] == ["JOIN", "353", "366"]
    assert all(m.tags.get("batch") == ref for m in inner)


def test_server_shutdown_tells_irc_clients(ircd):
    a = user(ircd, "alice")
    ircd.proc.terminate()
    got = a.expect_closed()
    assert any(re.match(r"^ERROR :.*shutting down", x, re.I) for x in got), got


def test_cross_kill_of_plain_user(make_irc):
    srv = make_irc("--oper", "admin:pw")
    i = user(srv, "ircop")
    i.join("#lobby")
    victim = Client(srv.port)
    victim.set_nick("victim")
    watcher = Client(srv.port)
    watcher.set_nick("watcher")
    i.send("OPER admin pw")
    i.expect_numeric("381")
    i.send("KILL victim :enough")
    watcher.expect(r"^-- victim quit: Killed \(ircop \(enough\)\)$")
    i.expect(r"^:victim!plain@%s QUIT :Killed \(ircop \(enough\)\)$" % HOST)
    victim.expect_closed()


def test_cross_ban_of_plain_user(ircd):
    i = user(ircd, "ircop")
    i.join("#club")
    i.send("MODE #club +b bob!*@*")
    i.expect(r"MODE #club \+b")
    p = Client(ircd.port)
    p.set_nick("bob")
    p.send("/join #club")
    p.expect(r"^!! banned: ")
    i.send("MODE #club +m")
    i.expect(r"MODE #club \+m$")
    i.send("MODE #club -b bob!*@*")
    i.expect(r"MODE #club -b")
    p.send("/join #club")
    p.expect(r"^#club -- bob joined$")
    p.send("may I")
    p.expect(r"^!! cannot-send: ")


def test_labeled_reply_longer_than_the_label_buffer(make_irc):
    ircd = make_irc("--max-per-ip", "100")  # a crowd from one address
    # More replies than the server holds back for one label: they must
    # still come in one labeled batch, every line of it tagged.
    crowd = []
    for n in range(80):
        p = Client(ircd.port)
        crowd.append(p)
    a = user(ircd, "alice", caps="labeled-response batch")
    a.send("@label=big WHO #lobby")
    start = parse(a.expect(r" BATCH \+").string)
    assert start.tags.get("label") == "big", start.line
    ref = start.params[0][1:]
    got = a.collect(r"^(?:@\S+ )?:\S+ BATCH -%s$" % re.escape(ref))
    inner = [parse(x) for x in got[:-1]]
    assert all(m.tags.get("batch") == ref for m in inner), got
    assert [m.command for m in inner] == ["352"] * 80 + ["315"]
    assert {m.params[5] for m in inner[:-1]} == {p.nick for p in crowd}


def test_labeled_quit_still_gets_error(ircd):
    a, b = joined(ircd, "#a", "alice", "bob", caps="labeled-response batch")
    b.send("@label=bye QUIT :leaving")
    got = b.expect_closed()
    assert any(parse(x).command == "ERROR" for x in got), got
    a.expect(r"^%s QUIT :Quit: leaving$" % src("bob"))


def test_too_many_channels(ircd):
    # Made by others: one user makes at most 10 rooms (see test_attacks).
    for m in range(5):
        maker = user(ircd, "maker%d" % m)
        maker.send("JOIN " + ",".join("#c%d" % n for n in range(m * 10, m * 10 + 10)))
        maker.expect_numeric("366", r"#c%d :" % (m * 10 + 9))
    a = user(ircd, "alice")
    a.send("JOIN " + ",".join("#c%d" % n for n in range(51)))
    a.expect_numeric("366", r"#c49 :")
    a.expect_numeric("405", r"#c50 :")


def test_ipv6_host_is_a_valid_parameter(make_irc):
    # A host like "::1" where a middle parameter goes would start with ':'
    # and swallow the rest of the line as the trailing parameter (Modern
    # IRC, "Parameters"); servers write it "0::1".
    import socket
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]
    srv = make_irc("--irc-listen", "[::1]:%d" % port)
    c = IrcClient(port, host="::1").register("six", realname="Six Of One")
    c.join("#v6")
    for query, num in (("WHOIS six", "311"), ("WHO #v6", "352")):
        c.send(query)
        m = parse(c.expect_numeric(num).string)
        host = m.params[3]
        assert not host.startswith(":") and host.endswith("::1"), m.line
        assert m.params[-1].endswith("Six Of One"), m.line


def test_no_batch_without_the_batch_cap(ircd):
    # IRCv3 labeled-response: batch "MUST be negotiated to use labeled
    # responses"; a client that did not ask for batch is never sent one.
    a = user(ircd, "alice", caps="labeled-response")
    user(ircd, "bob")
    a.send("@label=w WHOIS bob")
    got = a.collect(r"^(?:@\S+ )?:\S+ 318 ")
    assert not any(parse(x).command == "BATCH" for x in got), got
    assert not any("batch" in parse(x).tags for x in got), got
