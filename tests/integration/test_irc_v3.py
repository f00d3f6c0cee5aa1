"""IRCv3 extensions of the IRC door against a real parleyd: no-implicit-names,
standard-replies, bot mode, UTF8ONLY, chghost, sts, multiline and message
redaction. The specifications (ircv3.net/irc) are where the expectations
come from."""
import re
import socket
import subprocess

from chat import NO_HISTORY, PARLEYD, Client, Server, free_port, tls_context
from irc import IrcClient, parse
from wsclient import WsIrcClient
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


def test_cap_ls_too_long_for_a_line_spans_several(make_irc):
    # The longest server name (63 bytes, the most server-name may be) and
    # nick leave the least of the line for the list. (Today's list fits
    # one line even so; it spans several as soon as it does not.)
    srv = make_irc("--server-name", "s" * 55 + ".example", "--sts-duration", "86400",
                   "--sts-port", "6697")
    c = IrcClient(srv.irc_port)
    c.send("NICK " + "n" * 30)
    listed = c.cap_ls()
    lines = [x for x in c.lines if " CAP " in x]
    assert all(len(x.encode()) + 2 <= 512 for x in lines)
    assert all(parse(x).params[2] == "*" for x in lines[:-1])
    assert listed["sts"] == "port=6697,duration=86400"
    assert {"away-notify", "userhost-in-names", "draft/multiline"} <= set(listed)
    # Before 302 there are no values, and one line holds them all.
    c.send("CAP LS")
    assert len(parse(c.expect(r" CAP \S+ LS :").string).params) == 3


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


# Bot mode.

def isupport(client):
    """The ISUPPORT tokens a client saw while registering: name → value."""
    tokens = {}
    for x in client.lines:
        m = parse(x)
        if m.command == "005":
            for tok in m.params[1:-1]:
                key, eq, value = tok.partition("=")
                tokens[key] = value if eq else None
    return tokens


def test_isupport_lines_hold_at_most_15_parameters(ircd):
    c = user(ircd, "alice")
    fives = [parse(x) for x in c.lines if parse(x).command == "005"]
    assert len(fives) >= 2
    for m in fives:
        assert len(m.params) <= 15, m
    tokens = isupport(c)
    assert tokens["BOT"] == "B"
    assert tokens["TARGMAX"].startswith("JOIN:")


def test_bot_mode(ircd):
    bot = user(ircd, "robot", caps="message-tags echo-message")
    alice = user(ircd, "alice", caps="message-tags")
    old = user(ircd, "old", caps="server-time")
    for c in (bot, alice, old):
        c.join("#c")
    bot.send("MODE robot +B")
    bot.expect(r"^:robot MODE robot \+B$")
    bot.send("MODE robot")
    bot.expect_numeric("221", r"\+B")
    bot.send("PRIVMSG #c :beep")
    echo = parse(bot.expect(r"PRIVMSG #c :beep$").string)
    assert "bot" in echo.tags and echo.tags["bot"] is None
    got = parse(alice.expect(r"PRIVMSG #c :beep$").string)
    assert "bot" in got.tags and "msgid" in got.tags
    # Only clients with message-tags get the tag.
    got = parse(old.expect(r"PRIVMSG #c :beep$").string)
    assert set(got.tags) == {"time"}
    # Everything the bot sends is tagged, not only messages.
    bot.send("PART #c")
    assert "bot" in parse(alice.expect(r" PART #c").string).tags
    bot.send("PRIVMSG alice :hi")
    assert "bot" in parse(alice.expect(r"PRIVMSG alice :hi$").string).tags
    # WHO and WHOIS say so.
    bot.send("JOIN #c")
    alice.expect(r" JOIN #c")
    alice.send("WHO #c")
    who = {parse(x).params[5]: parse(x).params[6] for x in alice.collect(r" 315 ")
           if parse(x).command == "352"}
    assert re.fullmatch(r"HB", who["robot"]), who
    assert "B" not in who["alice"]
    alice.send("WHOIS robot")
    whois = alice.collect(r" 318 ")
    assert any(parse(x).command == "335" and parse(x).params[1] == "robot" for x in whois)
    alice.send("WHOIS alice")
    assert not any(parse(x).command == "335" for x in alice.collect(r" 318 "))
    # And off again: no tag, no flag.
    bot.send("MODE robot -B")
    bot.expect(r"^:robot MODE robot -B$")
    bot.send("PRIVMSG #c :human now")
    assert "bot" not in parse(alice.expect(r"PRIVMSG #c :human now$").string).tags


# UTF8ONLY.

def test_utf8only_is_advertised(ircd):
    assert "UTF8ONLY" in isupport(user(ircd, "alice"))


def test_invalid_utf8_is_repaired_and_the_sender_warned(ircd):
    alice, bob = joined(ircd, "#c", "alice", "bob")
    alice.send_raw(b"PRIVMSG #c :caf\xe9 ok\r\n")
    warn = parse(alice.expect(r" WARN ").string)
    assert warn.params[:2] == ["PRIVMSG", "INVALID_UTF8"], warn
    bob.expect(line(src("alice") + " PRIVMSG #c :caf\ufffd ok"))
    # A clean line gets no warning.
    alice.send("PRIVMSG #c :café ok")
    bob.expect(line(src("alice") + " PRIVMSG #c :café ok"))
    assert not any(" WARN " in x for x in alice.sync())


def test_invalid_utf8_warning_is_the_labeled_reply(ircd):
    alice = user(ircd, "alice", caps="labeled-response batch")
    user(ircd, "bob")
    alice.send_raw(b"@label=w1 PRIVMSG bob :\xff\r\n")
    warn = parse(alice.expect(r" WARN ").string)
    assert warn.tags.get("label") == "w1"
    assert warn.params[:2] == ["PRIVMSG", "INVALID_UTF8"]


def raw_lines(client, pattern):
    """The raw bytes of the lines the client read that match pattern:
    IrcClient decodes with replacement, so check the bytes were clean."""
    return [x for x in client.lines if re.search(pattern, x)]


def test_cuts_fall_between_characters(make_irc):
    # The longest server and channel names, so that the longest topic's
    # 332 is over 512 bytes.
    srv = make_irc("--server-name", "s" * 63)
    chan = "#" + "c" * 49
    text = "a" + "é" * 200          # every cut at an even byte count splits an é
    alice = IrcClient(srv.irc_port)
    alice.send("NICK alice")
    alice.send("USER " + "éé" * 10 + " 0 * :" + text)
    alice.expect_numeric("376|422")
    alice.send("JOIN " + chan)
    alice.send("TOPIC %s :%s" % (chan, "é" * 200))  # kept: 390 bytes; the 332 must be cut
    alice.send("AWAY :" + text)
    alice.send("WHOIS alice")
    got = alice.collect(r" 318 ")
    whois = {parse(x).command: parse(x) for x in got}
    assert whois["311"].params[-1] == "a" + "é" * 63        # 127 of 128 bytes
    assert whois["311"].params[2] == "~" + "é" * 7          # 15 of 16 bytes
    assert whois["301"].params[-1] == "a" + "é" * 149        # 299 of 300 bytes
    alice.send("SETNAME :" + "é" * 100)
    alice.send("TOPIC " + chan)
    topic = parse(alice.expect_numeric("332").string)
    assert topic.params[-1] == "é" * len(topic.params[-1])
    assert 180 < len(topic.params[-1]) < 195
    for x in alice.lines:
        assert "\ufffd" not in x, x


# chghost, and CHGHOST for operators.

def oper(srv, nick, **kw):
    c = user(srv, nick, **kw)
    c.send("OPER boss pw")
    c.expect_numeric("381")
    return c


def test_chghost_needs_an_operator_and_a_valid_host(make_irc):
    srv = make_irc("--oper", "boss:pw")
    alice = user(srv, "alice")
    alice.send("CHGHOST alice my.vhost")
    alice.expect_numeric("481")
    boss = oper(srv, "boss", caps="standard-replies")
    boss.send("CHGHOST nobody x.y")
    boss.expect_numeric("401")
    boss.send("CHGHOST alice")
    boss.expect_numeric("461")
    for bad in ("a@b", "a!b", "-x", "x" * 64, "a*b"):
        boss.send("CHGHOST alice %s" % bad)
        fail = parse(boss.expect(r" FAIL ").string)
        assert fail.params[:3] == ["CHGHOST", "INVALID_HOST", bad], fail
    # Without standard-replies the same error is a notice.
    old = oper(srv, "old")
    old.send("CHGHOST alice a@b")
    old.expect(r"^:test\.parley NOTICE old :CHGHOST: ")
    assert not any(" CHGHOST " in x for x in alice.sync())


def test_chghost_tells_everyone_as_their_caps_say(make_irc):
    srv = make_irc("--oper", "boss:pw")
    alice = user(srv, "alice", caps="chghost")
    modern = user(srv, "modern", caps="chghost")
    old = user(srv, "old", caps="extended-join away-notify")
    stranger = user(srv, "stranger", caps="chghost")
    for c in (alice, modern, old):
        c.join("#c")
    alice.join("#d")
    old.join("#d")
    alice.send("MODE #c +v alice")          # alice opped #c (first in), now voiced too
    old.expect(r" MODE #c \+v alice$")
    alice.send("AWAY :lunch")
    old.expect(src("alice") + r" AWAY :lunch$")
    plain = Client(srv.port)
    plain.send("/join #c")
    old.expect(r"!plain@\S+ JOIN #c")
    boss = oper(srv, "boss")
    boss.send("CHGHOST alice cloaked.example")
    boss.expect(r" NOTICE boss :The displayed host of alice is now cloaked\.example$")
    # With the capability: one CHGHOST from the old mask, to the user too.
    modern.expect(r"^(?:@\S+ )?" + src("alice") + r" CHGHOST ~u cloaked\.example$")
    alice.expect(r"^:test\.parley 396 alice cloaked\.example :")
    alice.expect(src("alice") + r" CHGHOST ~u cloaked\.example$")
    # Without it: a quit, and a join to each shared room with modes restored.
    got = old.collect(r" AWAY :lunch$")
    got += old.collect(r" AWAY :lunch$")
    assert re.match(src("alice") + r" QUIT :Changing host$", got[0]), got
    new = r":alice!~u@cloaked\.example"
    joins = [x for x in got if " JOIN " in x]
    assert len(joins) == 2
    assert all(re.match(new + r" JOIN #[cd] \* :Real Name$", x) for x in joins), joins
    assert any(re.match(r"^:test\.parley MODE #c \+ov alice alice$", x) for x in got), got
    assert any(re.match(r"^:test\.parley MODE #d \+o alice$", x) for x in got), got
    # Nobody else hears of it; plain users see nothing of hosts.
    stranger.expect_nothing(r"CHGHOST|QUIT", wait=0.2)
    plain.sync()
    assert not any("alice" in x and "quit" in x for x in plain.lines), plain.lines
    # What follows comes from the new host; WHOIS shows it, and the
    # address behind it to the user and operators only.
    alice.send("PRIVMSG #c :hi")
    modern.expect(new + r" PRIVMSG #c :hi$")
    modern.send("WHOIS alice")
    got = modern.collect(r" 318 ")
    assert parse([x for x in got if " 311 " in x][0]).params[3] == "cloaked.example"
    assert not any(" 378 " in x for x in got)
    boss.send("WHOIS alice")
    got = boss.collect(r" 318 ")
    assert any(re.search(r" 378 boss alice :is connecting from \*@127\.0\.0\.1 ", x) for x in got)


def test_chghost_on_oneself(make_irc):
    srv = make_irc("--oper", "boss:pw")
    boss = oper(srv, "boss")
    boss.send("CHGHOST boss staff.parley")
    boss.expect(r"^:test\.parley 396 boss staff\.parley :")
    boss.send("WHOIS boss")
    got = boss.collect(r" 318 ")
    assert any(" 378 " in x for x in got)


# sts.

def sts_of(client):
    return client.cap_ls().get("sts", "absent")


def tls_irc(port, sni):
    """An IRC client over TLS, asking for the name sni (None: no SNI)."""
    c = IrcClient(None)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sock = tls_context().wrap_socket(raw, server_hostname=sni)
    return c


def test_no_sts_policy_unless_configured():
    srv = Server("--flood-burst", "1000", irc=True, tls=True)
    try:
        assert sts_of(IrcClient(srv.irc_port)) == "absent"
        assert sts_of(tls_irc(srv.irc_tls_port, "test.parley")) == "absent"
    finally:
        assert srv.stop() == 0


def test_sts_policy():
    srv = Server("--sts-duration", "300", irc=True, tls=True, web=True)
    try:
        plain = IrcClient(srv.irc_port)
        assert sts_of(plain) == "port=%d,duration=300" % srv.irc_tls_port
        # A client may not ask for it: it is a policy, not a feature.
        plain.send("CAP REQ sts")
        plain.expect(r" CAP \* NAK :sts$")
        # Before 302 there are no values, so no policy a client could read.
        listed = IrcClient(srv.irc_port).cap_ls(version=None)
        assert "sts" in listed and listed["sts"] is None
        # Over TLS, for the server's own name only: the persistence part.
        assert sts_of(tls_irc(srv.irc_tls_port, "test.parley")) == "duration=300"
        assert sts_of(tls_irc(srv.irc_tls_port, "TEST.parley")) == "duration=300"
        assert sts_of(tls_irc(srv.irc_tls_port, "other.example")) == "absent"
        assert sts_of(tls_irc(srv.irc_tls_port, None)) == "absent"
        # Web clients are not sent to a TLS IRC port their browser cannot use.
        assert sts_of(WsIrcClient(srv.web_port)) == "absent"
    finally:
        assert srv.stop() == 0


def test_sts_port_names_another_port():
    srv = Server("--sts-duration", "0", "--sts-port", "6697", irc=True)
    try:
        assert sts_of(IrcClient(srv.irc_port)) == "port=6697,duration=0"
    finally:
        assert srv.stop() == 0


def test_sts_configuration_errors():
    def run(*args):
        return subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                               "--irc-listen", "127.0.0.1:%d" % free_port(), *NO_HISTORY, *args],
                              capture_output=True, text=True, timeout=10)
    r = run("--sts-duration", "300")
    assert r.returncode == 2
    assert "sts-duration needs an \"irc-listen HOST:PORT tls\" or sts-port" in r.stderr
    for bad in ("-1", "1h", "99999999999"):
        r = run("--sts-duration", bad, "--sts-port", "6697")
        assert r.returncode == 2, bad
        assert "sts-duration wants a number of seconds" in r.stderr


# draft/multiline.

ML = "draft/multiline"
ML_CAPS = "draft/multiline batch message-tags server-time echo-message labeled-response"


def send_batch(c, target, lines, ref="b1", open_tags="", command="PRIVMSG"):
    """Sends a multiline batch: lines are texts, or (text, concat)."""
    c.send("%sBATCH +%s %s %s" % (open_tags and "@" + open_tags + " ", ref, ML, target))
    for item in lines:
        text, concat = item if isinstance(item, tuple) else (item, False)
        tags = "batch=%s%s" % (ref, ";draft/multiline-concat" if concat else "")
        c.send("@%s %s %s :%s" % (tags, command, target, text))
    c.send("BATCH -%s" % ref)


def batch_of(c):
    """The lines of the next batch c gets, BATCH + to BATCH -, parsed."""
    got = [parse(x) for x in c.collect(r" BATCH -")]
    starts = [i for i, m in enumerate(got) if m.command == "BATCH" and
              m.params[0].startswith("+")]
    return got[starts[-1]:]


def test_multiline_cap_has_its_limits(ircd):
    listed = IrcClient(ircd.irc_port).cap_ls()
    assert listed[ML] == "max-bytes=4096,max-lines=32"


def test_multiline_message_reaches_everyone_in_their_form(ircd):
    alice, bob, carol, dave = joined(ircd, "#c", "alice", "bob", "carol", "dave")
    plain = Client(ircd.port)
    plain.send("/join #c")
    alice.expect(r"!plain@\S+ JOIN #c")
    sender = user(ircd, "sender", caps=ML_CAPS)
    modern = user(ircd, "modern", caps="draft/multiline batch message-tags")
    tagged = user(ircd, "tagged", caps="message-tags")
    timed = user(ircd, "timed", caps="server-time")
    for c in (sender, modern, tagged, timed):
        c.join("#c")
    plain.expect(r"^#c -- timed joined$")
    sender.expect(r"timed!\S+ JOIN #c")
    lines = ["hello", "", "how is ", ("everyone?", True)]
    send_batch(sender, "#c", lines, open_tags="label=ml1;+draft/reply=42")
    # The echo is the batch, and the labeled reply: the label is on its start.
    echo = batch_of(sender)
    start, body, end = echo[0], echo[1:-1], echo[-1]
    assert start.command == "BATCH" and start.params[1:] == [ML, "#c"]
    assert start.tags["label"] == "ml1" and "msgid" in start.tags and "time" in start.tags
    assert start.tags["+draft/reply"] == "42"
    ref = start.params[0][1:]
    assert end.params == ["-" + ref]
    assert [m.params for m in body] == [["#c", "hello"], ["#c", ""], ["#c", "how is "],
                                        ["#c", "everyone?"]]
    assert all(m.tags["batch"] == ref and "msgid" not in m.tags for m in body)
    assert [("draft/multiline-concat" in m.tags) for m in body] == [False, False, False, True]
    msgid = start.tags["msgid"]
    # A client with the cap: the same batch.
    got = batch_of(modern)
    assert got[0].tags["msgid"] == msgid and got[0].source.startswith("sender!")
    assert [m.params[1] for m in got[1:-1]] == ["hello", "", "how is ", "everyone?"]
    # Without it: the lines as they were sent, blank ones left out; the
    # first carries the msgid, all of them the time and client tags.
    got = [parse(x) for x in tagged.collect(r"PRIVMSG #c :everyone\?$")]
    got = [m for m in got if m.command == "PRIVMSG"]
    assert [m.params[1] for m in got] == ["hello", "how is ", "everyone?"]
    assert [m.tags.get("msgid") for m in got] == [msgid, None, None]
    assert all(m.tags["time"] == start.tags["time"] for m in got)
    assert all(m.tags["+draft/reply"] == "42" for m in got)
    got = [parse(x) for x in timed.collect(r"PRIVMSG #c :everyone\?$")]
    got = [m for m in got if m.command == "PRIVMSG"]
    assert [set(m.tags) for m in got] == [{"time"}] * 3
    got = [parse(x) for x in bob.collect(r"PRIVMSG #c :everyone\?$")]
    assert [m.params[1] for m in got if m.command == "PRIVMSG"] == ["hello", "how is ",
                                                                     "everyone?"]
    # A plain user: a line per line, the continued one joined.
    plain.expect(r"^#c <sender> hello$")
    plain.expect(r"^#c <sender> how is everyone\?$")
    plain.sync()
    assert not any(x.startswith("#c <sender>  ") or x == "#c <sender> " for x in plain.lines)


def test_multiline_private_message_and_notice(ircd):
    alice = user(ircd, "alice", caps=ML_CAPS)
    bob = user(ircd, "bob", caps="draft/multiline batch")
    plain = Client(ircd.port)
    plain.set_nick("pat")
    send_batch(alice, "bob", ["one", "two"])
    got = batch_of(bob)
    assert got[0].params[1:] == [ML, "bob"]
    assert [m.params for m in got[1:-1]] == [["bob", "one"], ["bob", "two"]]
    send_batch(alice, "pat", ["three", "four"], command="NOTICE", ref="n1")
    plain.expect(r"^\*alice\* three$")
    plain.expect(r"^\*alice\* four$")


def test_multiline_long_lines_are_cut_into_continued_pieces(ircd):
    # The sender's prefix makes a 480-byte line too long to relay whole.
    nick = "n" * 30
    alice = user(ircd, nick, caps=ML_CAPS)
    bob = user(ircd, "bob", caps="draft/multiline batch")
    carol = user(ircd, "carol")
    first, second = "é" * 240, "x" * 300
    send_batch(alice, "bob", [first, second])
    body = batch_of(bob)[1:-1]
    assert len(body) == 3
    assert all(len(m.line.split(" ", 1)[1].encode()) + 2 <= 512 for m in body)
    assert [("draft/multiline-concat" in m.tags) for m in body] == [False, True, False]
    assert body[0].params[1] + body[1].params[1] == first
    assert body[2].params[1] == second
    send_batch(alice, "carol", [first, second], ref="b2")
    got = [parse(x) for x in carol.collect(r"PRIVMSG carol :x+$")]
    assert "".join(m.params[1] for m in got) == first + second
    assert all(len(m.line.encode()) + 2 <= 512 for m in got)


def fail_of(c, pattern=r" FAIL BATCH "):
    return parse(c.expect(pattern).string)


def test_multiline_errors(ircd):
    alice = user(ircd, "alice", caps=ML_CAPS)
    bob = user(ircd, "bob", caps="draft/multiline batch")
    alice.join("#c")
    send_batch(alice, "#c", ["hi"] * 33)
    assert fail_of(alice).params[1:3] == ["MULTILINE_MAX_LINES", "32"]
    send_batch(alice, "#c", ["x" * 400] * 11, ref="b2")
    assert fail_of(alice).params[1:3] == ["MULTILINE_MAX_BYTES", "4096"]
    alice.send("BATCH +b3 %s #c" % ML)
    alice.send("@batch=b3 PRIVMSG #d :hi")
    assert fail_of(alice).params[1:4] == ["MULTILINE_INVALID_TARGET", "#c", "#d"]
    alice.send("BATCH -b3")
    alice.send("BATCH +b4 %s #c" % ML)
    alice.send("@batch=b4 PRIVMSG #c :hi")
    alice.send("@batch=b4 NOTICE #c :there")
    assert fail_of(alice).params[1] == "MULTILINE_INVALID"
    alice.send("BATCH -b4")
    send_batch(alice, "#c", ["hi", ("", True)], ref="b5")
    assert fail_of(alice).params[1] == "MULTILINE_INVALID"
    send_batch(alice, "#c", ["", ""], ref="b6")
    assert fail_of(alice).params[1] == "MULTILINE_INVALID"
    alice.send("@batch=nope PRIVMSG #c :hi")
    assert fail_of(alice).params[1] == "MULTILINE_INVALID"
    alice.send("@label=L1 BATCH +b7 chathistory #c")
    f = fail_of(alice)
    assert f.params[1:3] == ["UNKNOWN_TYPE", "chathistory"] and f.tags["label"] == "L1"
    # A failed batch's label is on its FAIL; nothing of it is sent.
    alice.send("@label=L2 BATCH +b8 %s bob" % ML)
    alice.send("@batch=b8 PRIVMSG bob :one")
    alice.send("@batch=b8 PRIVMSG carol :two")
    f = fail_of(alice)
    assert f.params[1] == "MULTILINE_INVALID_TARGET" and f.tags["label"] == "L2"
    alice.send("@batch=b8 PRIVMSG bob :three")
    alice.send("BATCH -b8")
    assert not any(" FAIL " in x or " ACK" in x for x in alice.sync())
    assert not any("PRIVMSG" in x or "BATCH" in x for x in bob.sync())
    # Without the capability a client may not send one.
    old = user(ircd, "old", caps="batch")
    send_batch(old, "bob", ["a", "b"])
    assert fail_of(old).params[1] == "MULTILINE_INVALID"
    assert not any("PRIVMSG" in x for x in bob.sync())
    # And the hub's rules apply to the whole message as to one line.
    alice.send("MODE #c +m")
    carol = user(ircd, "carol", caps=ML_CAPS)
    carol.join("#c")
    send_batch(carol, "#c", ["a", "b"], open_tags="label=L3")
    assert parse(carol.expect_numeric("404").string).tags["label"] == "L3"
    # A batch left open is freed with its connection.
    alice.send("BATCH +b9 %s #c" % ML)
    alice.send("@batch=b9 PRIVMSG #c :left open")
    alice.close()
    bob.sync()


# draft/message-redaction.

RD = "draft/message-redaction"
RD_CAPS = "%s message-tags echo-message batch labeled-response" % RD


def sent_id(c, pattern):
    """The msgid of the echo of c's own message matching pattern."""
    return parse(c.expect(pattern).string).tags["msgid"]


def test_redact_own_message_and_who_hears_of_it(ircd):
    alice, bob = joined(ircd, "#c", "alice", "bob", caps=RD_CAPS)
    carol = user(ircd, "carol", caps="message-tags")
    carol.join("#c")
    plain = Client(ircd.port)
    plain.send("/join #c")
    alice.expect(r"!plain@\S+ JOIN #c")
    alice.send("PRIVMSG #c :oops")
    msgid = sent_id(alice, r"PRIVMSG #c :oops$")
    carol.expect(r"PRIVMSG #c :oops$")
    alice.send("@label=r1 REDACT #c %s :typo" % msgid)
    echo = parse(alice.expect(r" REDACT ").string)
    assert echo.tags.get("label") == "r1"
    assert echo.params == ["#c", msgid, "typo"] and echo.nick == "alice"
    got = parse(bob.expect(r" REDACT ").string)
    assert got.params == ["#c", msgid, "typo"] and got.nick == "alice"
    # No fallback for those without the cap: what they showed stays shown.
    carol.expect_nothing(r"REDACT|NOTICE", wait=0.2)
    plain.expect(r"^#c <alice> oops$")
    plain.sync()
    assert not any("typo" in x for x in plain.lines)


def test_redact_who_may(make_irc):
    srv = make_irc("--oper", "boss:pw")
    alice, bob = joined(srv, "#c", "alice", "bob", caps=RD_CAPS)
    bob.send("PRIVMSG #c :spam")
    spam = sent_id(bob, r"PRIVMSG #c :spam$")
    alice.send("PRIVMSG #c :hello")
    hello = sent_id(alice, r"PRIVMSG #c :hello$")
    # bob is no operator of #c: not alice's message.
    bob.send("REDACT #c %s" % hello)
    fail = parse(bob.expect(r" FAIL ").string)
    assert fail.params[:4] == ["REDACT", "REDACT_FORBIDDEN", "#c", hello]
    alice.expect_nothing(r" REDACT ", wait=0.2)
    # alice is: anyone's.
    alice.send("REDACT #c %s :spam" % spam)
    assert parse(bob.expect(r" REDACT ").string).params == ["#c", spam, "spam"]
    # A server operator may too.
    boss = user(srv, "boss", caps=RD_CAPS)
    boss.join("#c")
    boss.send("OPER boss pw")
    boss.expect_numeric("381")
    boss.send("REDACT #c %s" % hello)
    assert parse(alice.expect(r" REDACT #c %s" % hello).string).nick == "boss"


def test_redact_errors(ircd):
    alice, bob = joined(ircd, "#c", "alice", "bob", caps=RD_CAPS)
    carol = user(ircd, "carol", caps=RD_CAPS)
    carol.join("#d")
    carol.send("PRIVMSG #d :elsewhere")
    elsewhere = sent_id(carol, r"PRIVMSG #d :elsewhere$")

    def fail(line):
        alice.send(line)
        return parse(alice.expect(r" FAIL REDACT ").string).params[1:]
    assert fail("REDACT #c nonexistent123")[:3] == ["UNKNOWN_MSGID", "#c", "nonexistent123"]
    assert fail("REDACT #c 99999999")[:3] == ["UNKNOWN_MSGID", "#c", "99999999"]
    # A message of another room is unknown here (no telling strangers).
    assert fail("REDACT #c %s" % elsewhere)[:3] == ["UNKNOWN_MSGID", "#c", elsewhere]
    assert fail("REDACT #d %s" % elsewhere)[:2] == ["INVALID_TARGET", "#d"]
    assert fail("REDACT #nowhere 1")[:2] == ["INVALID_TARGET", "#nowhere"]
    assert fail("REDACT nobody 1")[:2] == ["INVALID_TARGET", "nobody"]
    alice.send("REDACT #c")
    alice.expect_numeric("461")


def test_redact_private_messages(ircd):
    alice = user(ircd, "alice", caps=RD_CAPS)
    bob = user(ircd, "bob", caps=RD_CAPS)
    carol = user(ircd, "carol", caps=RD_CAPS)
    alice.send("PRIVMSG bob :secret")
    msgid = sent_id(alice, r"PRIVMSG bob :secret$")
    bob.expect(r"PRIVMSG bob :secret$")
    # Only its sender takes it back; to anyone else it is unknown.
    bob.send("REDACT alice %s" % msgid)
    assert parse(bob.expect(r" FAIL ").string).params[1] == "REDACT_FORBIDDEN"
    carol.send("REDACT bob %s" % msgid)
    assert parse(carol.expect(r" FAIL ").string).params[1] == "UNKNOWN_MSGID"
    alice.send("REDACT bob %s" % msgid)
    assert parse(alice.expect(r" REDACT ").string).params == ["bob", msgid]
    assert parse(bob.expect(r" REDACT ").string).params == ["bob", msgid]
    carol.expect_nothing(r" REDACT ", wait=0.2)


def test_redact_a_multiline_message_and_a_tagmsg(ircd):
    alice, bob = joined(ircd, "#c", "alice", "bob", caps=RD_CAPS + " " + ML)
    send_batch(alice, "#c", ["one", "two"])
    msgid = batch_of(alice)[0].tags["msgid"]
    alice.send("REDACT #c %s" % msgid)
    assert parse(bob.expect(r" REDACT ").string).params == ["#c", msgid]
    alice.send("@+draft/react=x TAGMSG #c")
    msgid = sent_id(alice, r" TAGMSG #c$")
    alice.send("REDACT #c %s" % msgid)
    assert parse(bob.expect(r" REDACT ").string).params == ["#c", msgid]


def test_redact_knows_only_recent_messages(make_irc):
    srv = make_irc("--flood-rate", "0")
    alice = user(srv, "alice", caps=RD_CAPS)
    alice.join("#c")
    alice.send("PRIVMSG #c :old")
    old = sent_id(alice, r"PRIVMSG #c :old$")
    alice.send("CAP REQ -echo-message")
    alice.expect(r" ACK ")
    alice.send_raw(b"NOTICE #c :x\r\n" * 8192)
    alice.sync(timeout=30)
    alice.send("REDACT #c %s" % old)
    assert parse(alice.expect(r" FAIL ").string).params[1] == "UNKNOWN_MSGID"


# docs/protocol.md names every capability and ISUPPORT token, and no other.

def documented(section):
    """The first-column names of the table under "## section" in
    docs/protocol.md (a token's value cut off)."""
    from chat import ROOT
    text = (ROOT / "docs" / "protocol.md").read_text()
    part = text.split("## " + section + "\n", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^\| `([^`]+)` \|", part, re.M)
    return {n.split("=", 1)[0] for n in names}


def test_protocol_doc_lists_what_the_server_sends():
    srv = Server("--sts-duration", "0", "--sts-port", "6697", irc=True)
    try:
        c = IrcClient(srv.irc_port)
        caps = set(c.cap_ls())
        c.send("CAP END")
        c.register("docs")
        tokens = set(isupport(c))
    finally:
        assert srv.stop() == 0
    assert caps == documented("Capabilities")
    assert tokens == documented("ISUPPORT tokens")
