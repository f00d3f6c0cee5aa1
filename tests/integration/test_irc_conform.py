"""The IRC door where irctest found it wanting, and what was added for
today's clients: WHOX, multi-target KICK and NAMES, key validation,
labels on every reply. The expectations come from Modern IRC
(modern.ircdocs.horse) and the IRCv3 specifications (ircv3.net)."""
import re

from irc import IrcClient, parse
from test_irc import ircd, joined, line, make_irc, numerics, src, user  # noqa: F401


def isupport(client_lines):
    """The ISUPPORT tokens in the 005 lines seen: name → value or None."""
    tokens = {}
    for m in numerics(client_lines, "005"):
        for item in m.params[1:-1]:
            name, eq, value = item.partition("=")
            tokens[name] = value if eq else None
    return tokens


# Registration.

def test_user_with_empty_realname_is_refused(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("NICK foo")
    c.send("USER username * * :")
    c.expect_numeric("461", r"USER :")
    # ...and a proper USER then registers.
    c.send("USER username * * :Real")
    c.expect_numeric("001")


# labeled-response: every reply carries the label, errors included.

def test_unknown_command_reply_carries_the_label(ircd):
    a = user(ircd, "alice", caps="labeled-response batch")
    for cmd in ("NONEXISTENT_COMMAND", "FROBNICATE", "12"):
        a.send("@label=x%d %s arg" % (len(cmd), cmd))
        m = parse(a.expect(r" 421 alice ").string)
        assert m.tags.get("label") == "x%d" % len(cmd), m.line


# Channel keys.

def test_key_with_a_space_or_comma_is_refused(ircd):
    a, = joined(ircd, "#k", "alice")
    for key in ("with spaces", " ", "a,b", "x" * 33):
        a.send("MODE #k +k :%s" % key)
        got = a.sync()
        assert [m.params[1:4] for m in numerics(got, "696")] == [["#k", "k", "*"]], got
        assert not [x for x in got if " MODE " in x], got
    b = user(ircd, "bob")
    b.join("#k")   # no key was set
    a.send("MODE #k +k " + "y" * 32)
    a.expect(r"MODE #k \+k y{32}$")


def test_isupport_names_keylen_whox_and_targmax(ircd):
    c = IrcClient(ircd.irc_port)
    c.send("NICK alice")
    c.send("USER u 0 * :Real")
    got = c.collect(r" (376|422) ")
    tokens = isupport(got)
    assert tokens["KEYLEN"] == "32"
    assert "WHOX" in tokens
    targmax = dict(x.split(":") for x in tokens["TARGMAX"].split(","))
    assert targmax["KICK"] == "4" and targmax["NAMES"] == "4", targmax


# KICK and NAMES with several targets.

def test_kick_pairs_channels_with_nicks(ircd):
    a, b, c = joined(ircd, "#a", "alice", "bob", "carol")
    a.join("#b")
    c.join("#b")
    a.expect(line(src("carol") + r" JOIN :?#b"))
    a.send("KICK #a,#b bob,carol :bye")
    a.expect(line(src("alice") + r" KICK #a bob :bye"))
    a.expect(line(src("alice") + r" KICK #b carol :bye"))
    # Each KICK names one channel and one nick, as clients expect.
    c.expect(line(src("alice") + r" KICK #a bob :bye"))
    c.expect(line(src("alice") + r" KICK #b carol :bye"))
    # Two channels and one nick do not pair up.
    a.send("KICK #a,#b carol")
    a.expect_numeric("461", r"KICK :")


def test_kick_several_nicks_from_one_channel(ircd):
    a, b, c = joined(ircd, "#a", "alice", "bob", "carol")
    a.send("KICK #a bob,carol :out")
    got = a.collect(line(src("alice") + r" KICK #a carol :out"))
    assert any(re.search(r" KICK #a bob :out$", x) for x in got), got


def test_names_of_several_channels_ends_once(ircd):
    a = user(ircd, "alice")
    a.join("#one")
    a.join("#two")
    a.send("NAMES #one,#two")
    got = a.collect(r" 366 ")
    assert [m.params[2] for m in numerics(got, "353")] == ["#one", "#two"], got
    assert parse(got[-1]).params[1] == "#one,#two", got
    a.send("NAMES #ONE")
    assert parse(a.expect(r" 366 ").string).params[1] == "#one"


# WHO and WHOX.

def test_whox_fields_come_in_the_spec_order(ircd):
    a, b = joined(ircd, "#w", "alice", "bob")
    b.send("AWAY :gone")
    b.sync()
    # Asked for in any order, the fields come as t c u i h s n f d l a o r.
    a.send("WHO bob %ronfalsdhiuct,42")
    m = parse(a.expect(r" 354 ").string)
    assert m.params[:12] == ["alice", "42", "*", "~u", "127.0.0.1", "127.0.0.1",
                             "test.parley", "bob", "G", "0", m.params[10], "0"], m.line
    assert re.fullmatch(r"\d+", m.params[10]), m.line
    assert m.params[12:] == ["n/a", "Real Name"], m.line
    a.expect(r" 315 alice bob :")


def test_whox_on_a_channel_gives_prefixes(ircd):
    a, b = joined(ircd, "#w", "alice", "bob")
    b.send("WHO #w %tcnf,7")
    got = b.collect(r" 315 ")
    rows = sorted(m.params[1:] for m in numerics(got, "354"))
    assert rows == [["7", "#w", "alice", "H@"], ["7", "#w", "bob", "H"]], got
    # No token: the t field is "0"; a lone "%" gives the nick.
    b.send("WHO alice %tn")
    assert parse(b.expect(r" 354 ").string).params[1:] == ["0", "alice"]
    b.send("WHO alice %")
    assert parse(b.expect(r" 354 ").string).params[1:] == ["alice"]


def test_who_o_flag_lists_only_operators(make_irc):
    srv = make_irc("--oper", "op:secret")
    a, b = joined(srv, "#w", "alice", "bob")
    b.send("OPER op secret")
    b.expect_numeric("381")
    a.send("WHO #w o")
    got = a.collect(r" 315 ")
    assert [m.params[5] for m in numerics(got, "352")] == ["bob"], got
    a.send("WHO * o%n")
    got = a.collect(r" 315 ")
    assert [m.params[1] for m in numerics(got, "354")] == ["bob"], got


# Nickname length: nick-len goes up to 32, what Ergo allows by default.

def test_nick_len_32(make_irc):
    srv = make_irc("--nick-len", "32")
    long_nick = "n" * 32
    c = IrcClient(srv.irc_port)
    c.send("NICK %s" % ("m" * 33))
    c.expect_numeric("432")
    c.send("NICK %s" % long_nick)
    c.send("USER u 0 * :Real")
    got = c.collect(r" (376|422) ")
    assert parse(got[0]).params[0] == long_nick, got
    assert isupport(got)["NICKLEN"] == "32"
    other = user(srv, "other")
    other.send("PRIVMSG %s :hi" % long_nick)
    c.expect(r"PRIVMSG %s :hi$" % long_nick)
    c.send("NICK %s" % ("k" * 32))
    other.send("WHOIS %s" % ("k" * 32))
    other.expect_numeric("311", r"k{32} ")


def test_nick_len_over_32_is_refused():
    import subprocess
    from chat import PARLEYD
    r = subprocess.run([str(PARLEYD), "--nick-len", "33"], capture_output=True, timeout=10)
    assert r.returncode == 2 and b"nick-len" in r.stderr, r


# Ban exceptions (+e) and invite exceptions (+I).

def test_ban_exception_lets_a_banned_user_join_and_speak(ircd):
    a, = joined(ircd, "#x", "alice")
    a.send("MODE #x +b *!*@127.0.0.1")
    a.expect(r"MODE #x \+b \*!\*@127\.0\.0\.1$")
    bob = user(ircd, "bob")
    bob.send("JOIN #x")
    bob.expect_numeric("474", r"#x :")
    a.send("MODE #x +e bob!*@*")
    a.expect(r"MODE #x \+e bob!\*@\*$")
    bob.join("#x")
    bob.send("PRIVMSG #x :let in")
    a.expect(src("bob") + r" PRIVMSG #x :let in$")
    # carol matches the ban and no exception.
    carol = user(ircd, "carol")
    carol.send("JOIN #x")
    carol.expect_numeric("474", r"#x :")
    # The list, then its removal: bob is silenced as a banned member is.
    a.send("MODE #x e")
    got = a.collect(r" 349 alice #x :")
    assert [m.params[1:4] for m in numerics(got, "348")] == \
        [["#x", "bob!*@*", "alice"]], got
    a.send("MODE #x -e bob!*@*")
    a.expect(r"MODE #x -e bob!\*@\*$")
    bob.send("PRIVMSG #x :muted")
    bob.expect_numeric("404", r"#x :")


def test_invite_exception_passes_invite_only(ircd):
    a, = joined(ircd, "#i", "alice")
    a.send("MODE #i +i")
    a.expect(r"MODE #i \+i$")
    bob = user(ircd, "bob")
    bob.send("JOIN #i")
    bob.expect_numeric("473", r"#i :")
    a.send("MODE #i +I bob!*@*")
    a.expect(r"MODE #i \+I bob!\*@\*$")
    bob.join("#i")
    carol = user(ircd, "carol")
    carol.send("JOIN #i")
    carol.expect_numeric("473", r"#i :")
    a.send("MODE #i +I")
    got = a.collect(r" 347 alice #i :")
    assert [m.params[2] for m in numerics(got, "346")] == ["bob!*@*"], got
    # An invite exception does not pass a ban.
    a.send("MODE #i +b carol!*@*")
    a.send("MODE #i +I carol!*@*")
    a.expect(r"MODE #i \+I carol!\*@\*$")
    carol.send("JOIN #i")
    carol.expect_numeric("474", r"#i :")


def test_exception_lists_are_bounded_and_need_an_operator(ircd):
    a, b = joined(ircd, "#l", "alice", "bob")
    b.send("MODE #l +e bob!*@*")
    b.expect_numeric("482", r"#l :")
    for i in range(100):
        a.send("MODE #l +I m%d!*@*" % i)
    a.send("MODE #l +I full!*@*")
    got = a.collect(r" 478 ")
    assert parse(got[-1]).params[1:3] == ["#l", "I"], got[-1]
    tokens = isupport(IrcClient(ircd.irc_port).register("carol").lines)
    assert tokens["EXCEPTS"] == "e" and tokens["INVEX"] == "I"
    assert tokens["MAXLIST"] == "beI:60"


# CAP REQ -cap (IRCv3 capability negotiation): all or nothing.

def test_cap_req_minus_is_all_or_nothing(ircd):
    a = user(ircd, "alice", caps="server-time echo-message multi-prefix")
    # One name the server does not know: nothing changes.
    a.send("CAP REQ :-server-time -no-such-cap")
    a.expect(r"CAP alice NAK :-server-time -no-such-cap$")
    # cap-notify cannot be turned off by a CAP 302 client.
    a.send("CAP REQ :-echo-message -cap-notify")
    a.expect(r"CAP alice NAK :-echo-message -cap-notify$")
    a.send("CAP LIST")
    listed = set(a.expect(r"CAP alice LIST :(.*)$").group(1).split())
    assert {"server-time", "echo-message", "multi-prefix"} <= listed, listed
    # Removing one not on and adding one, in one request: both done.
    a.send("CAP REQ :-setname -server-time userhost-in-names")
    a.expect(r"CAP alice ACK :-setname -server-time userhost-in-names$")
    a.send("CAP LIST")
    listed = set(a.expect(r"CAP alice LIST :(.*)$").group(1).split())
    assert "server-time" not in listed and "userhost-in-names" in listed, listed
    a.join("#a")
    a.send("PRIVMSG #a :untimed")
    m = parse(a.expect(r"PRIVMSG #a :untimed$").string)
    assert "time" not in m.tags, m.line


# LIST with ELIST filters (M N U C T).

def listed(client, arg):
    client.send("LIST " + arg)
    got = client.collect(r" 323 ")
    return sorted(m.params[1] for m in numerics(got, "322"))


def test_list_filters(ircd):
    a = user(ircd, "alice")
    for room in ("#chan1", "#chan2", "#other"):
        a.join(room)
    b = user(ircd, "bob")
    b.join("#chan2")
    a.send("TOPIC #other :hello")
    a.sync()
    assert listed(b, "*an1") == ["#chan1"]
    assert listed(b, "#ch*,#oth*") == ["#chan1", "#chan2", "#other"]
    assert listed(b, "!#ch*") == ["#other"]
    assert listed(b, "#ch*,!*2") == ["#chan1"]
    assert listed(b, ">1") == ["#chan2"]
    assert listed(b, "<2") == ["#chan1", "#other"]
    assert listed(b, "C<10") == ["#chan1", "#chan2", "#other"]
    assert listed(b, "C>10") == []
    assert listed(b, "T<10") == ["#other"]
    assert listed(b, "#chan2") == ["#chan2"]
    tokens = isupport(IrcClient(ircd.irc_port).register("zz").lines)
    assert tokens["ELIST"] == "CMNTU"


# HELP and HELPOP.

def test_help(ircd):
    a = user(ircd, "alice")
    a.send("HELP")
    got = a.collect(r" 706 alice index :")
    assert parse(got[0]).command == "704"
    assert "MONITOR" in " ".join(m.params[2] for m in numerics(got, "705"))
    a.send("HELPOP privmsg")
    got = a.collect(r" 706 alice PRIVMSG :")
    assert parse(got[0]).params[1:3] == ["PRIVMSG", got and parse(got[0]).params[2]]
    assert parse(got[0]).params[2].startswith("PRIVMSG target"), got
    a.send("HELP NOSUCHTHING")
    a.expect_numeric("524", r"NOSUCHTHING :")
