"""Chat behaviour of the plain-text door, over real sockets."""
import re

from chat import Client


def test_welcome_names_server_nick_and_help(server):
    c = Client(server.port, welcome=False)
    c.expect(r"^-- welcome to test\.parley \(parley \d+\.\d+\.\d+\)$")
    c.expect(r"^-- you are guest\d+; change it with /nick NAME$")
    c.expect(r"^-- type /help for commands$")
    c.expect(r"^#lobby -- guest\d+ joined$")


def test_guest_nicks_are_unique(server):
    nicks = {Client(server.port).nick for _ in range(5)}
    assert len(nicks) == 5


def test_broadcast_among_three(server):
    a, b, c = server.client("alice"), server.client("bob"), server.client("carol")
    a.send("hello everyone")
    b.expect(r"^#lobby <alice> hello everyone$")
    c.expect(r"^#lobby <alice> hello everyone$")
    a.expect_nothing(r"hello everyone")  # no echo to the sender
    b.send("/me waves")
    a.expect(r"^#lobby \* bob waves$")
    c.expect(r"^#lobby \* bob waves$")


def test_double_slash_sends_literal_slash(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("//etc/passwd is a path")
    b.expect(r"^#lobby <alice> /etc/passwd is a path$")


def test_room_isolation(server):
    a, b, c = server.client("alice"), server.client("bob"), server.client("carol")
    a.send("/join rust")  # '#' is added
    a.expect(r"^#rust -- alice joined$")
    b.send("/join #rust")
    b.expect(r"^#rust -- bob joined$")
    a.expect(r"^#rust -- bob joined$")
    a.send("in rust only")
    b.expect(r"^#rust <alice> in rust only$")
    c.send("in lobby only")
    a.expect(r"^#lobby <carol> in lobby only$")  # alice is still in #lobby
    c.expect_nothing(r"in rust only")


def test_join_existing_room_makes_it_current(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("/join #rust")
    a.expect(r"^#rust -- alice joined$")
    a.send("/join #lobby")
    a.expect(r"^-- now talking in #lobby$")
    a.send("back in lobby")
    b.expect(r"^#lobby <alice> back in lobby$")


def test_part_moves_to_previous_room(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("/join #rust")
    a.expect(r"^#rust -- alice joined$")
    a.send("/part #rust see you")
    a.expect(r"^#rust -- alice left: see you$")
    a.expect(r"^-- now talking in #lobby$")
    a.send("/part")
    a.expect(r"^#lobby -- alice left$")
    b.expect(r"^#lobby -- alice left$")
    a.send("anyone?")
    a.expect(r"^!! no-room: ")
    a.send("/part #nowhere")
    a.expect(r"^!! no-such-room: there is no room #nowhere$")
    a.send("/part #lobby")
    a.expect(r"^!! not-in-room: you are not in #lobby$")


def test_private_messages(server):
    a, b, c = server.client("alice"), server.client("bob"), server.client("carol")
    a.send("/msg BOB psst, just you")  # nicknames ignore case
    a.expect(r"^-> \*bob\* psst, just you$")
    b.expect(r"^\*alice\* psst, just you$")
    c.expect_nothing(r"psst")
    a.send("/msg nobody hi")
    a.expect(r"^!! no-such-nick: nobody is called nobody$")
    a.send("/msg bob")
    a.expect(r"^!! usage: /msg NICK TEXT$")


def test_nick_change_and_uniqueness(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("/nick ALICIA")
    a.expect(r"^-- alice is now known as ALICIA$")
    b.expect(r"^-- alice is now known as ALICIA$")
    b.send("/nick alicia")
    b.expect(r"^!! nick-in-use: alicia is already taken$")
    b.send("/nick 9lives")
    b.expect(r"^!! bad-nick: ")
    b.send("/nick " + "x" * 31)
    b.expect(r"^!! bad-nick: ")
    b.send("/nick")
    b.expect(r"^-- you are bob; /nick NAME changes it$")
    a.send("/nick alicia")  # a change of case only is allowed
    a.expect(r"^-- ALICIA is now known as alicia$")
    b.expect(r"^-- ALICIA is now known as alicia$")


def test_who_rooms_and_topic(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("/who")
    m = a.expect(r"^-- #lobby users: (.*)$")
    assert {"alice", "bob"} <= set(m.group(1).split())
    a.expect(r"^-- #lobby: \d+ users$")
    a.send("/topic")
    a.expect(r"^-- #lobby has no topic$")
    a.send("/topic Parley development")
    a.expect(r"^#lobby -- alice set the topic: Parley development$")
    b.expect(r"^#lobby -- alice set the topic: Parley development$")
    b.send("/topic #lobby")
    b.expect(r"^-- #lobby topic: Parley development$")
    b.send("/join #other")
    b.expect(r"^#other -- bob joined$")
    b.send("/rooms")
    lines = {b.expect(r"^-- #lobby: .*$").group(0), b.expect(r"^-- #other: .*$").group(0)}
    assert "-- #lobby: 2 users: Parley development" in lines  # the probe has gone
    assert "-- #other: 1 user" in lines
    b.expect(r"^-- 2 rooms$")
    a.send("/topic #other sneaky")
    a.expect(r"^!! not-in-room: you are not in #other$")
    a.send("/topic -")
    b.expect(r"^#lobby -- alice cleared the topic$")
    c = server.client("carol")
    c.send("/join #other")
    c.expect(r"^#other -- carol joined$")


def test_topic_shown_on_join(server):
    a = server.client("alice")
    a.send("/join #t")
    a.send("/topic #t the topic")
    a.expect(r"^#t -- alice set the topic: the topic$")
    b = server.client("bob")
    b.send("/join #t")
    b.expect(r"^#t -- bob joined$")
    b.expect(r"^-- #t topic: the topic$")


def test_errors_for_bad_commands(server):
    a = server.client("alice")
    a.send("/frobnicate now")
    a.expect(r"^!! unknown-command: /frobnicate is not a command; /help lists them$")
    a.send("/")
    a.expect(r"^!! unknown-command: ")
    a.send("/join")
    a.expect(r"^!! usage: /join ROOM \[KEY\]$")
    a.send("/join #bad,room")
    a.expect(r"^!! bad-room: ")
    a.send("/me")
    a.expect(r"^!! usage: /me TEXT$")
    a.send("/HELP")
    a.expect(r"^-- /nick NAME")
    a.expect(r"^-- /help ")
    a.sync()


def test_blank_lines_are_ignored(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("")
    a.send("    ")
    a.send("after blanks")
    b.expect(r"^#lobby <alice> after blanks$")
    b.sync()
    assert not [l for l in b.lines if re.match(r"^#lobby <alice>\s*$", l)]


def test_only_the_rooms_operator_sets_its_topic(server):
    """New rooms are +t, as IRC users expect: their creator is operator."""
    a, b = server.client("alice"), server.client("bob")
    a.send("/join #ops")
    a.expect(r"^#ops -- alice joined$")
    b.send("/join #ops")
    b.expect(r"^#ops -- bob joined$")
    b.send("/topic #ops mine now")
    b.expect(r"^!! not-room-op: only operators of #ops may do that$")
    a.send("/topic #ops set by the op")
    b.expect(r"^#ops -- alice set the topic: set by the op$")


def test_long_plain_message_reaches_irc_split_not_cut(make_server):
    """IRC carries 512-byte lines; a 3000-byte plain line arrives whole, in
    several PRIVMSGs cut between UTF-8 characters."""
    import socket as _socket
    from chat import free_port
    irc_port = free_port()
    srv = make_server("--irc-listen", "127.0.0.1:%d" % irc_port)
    irc = _socket.create_connection(("127.0.0.1", irc_port), timeout=5)
    irc.sendall(b"NICK ircy\r\nUSER u 0 * :R\r\nJOIN #lobby\r\n")
    buf = b""
    while b" 366 " not in buf:
        buf += irc.recv(65536)
    plain = srv.client("alice")
    text = ("\u00e9" * 1000) + ("x" * 1000)  # 3000 bytes
    plain.send(text)
    got, data = "", b""
    while len(got.encode()) < len(text.encode()):
        data += irc.recv(65536)
        *lines, data = data.split(b"\r\n")
        for line in lines:
            assert len(line) + 2 <= 512, len(line)
            line = line.decode("utf-8")  # each piece is valid UTF-8 alone
            prefix = ":alice!plain@127.0.0.1 PRIVMSG #lobby :"
            if line.startswith(prefix):
                got += line[len(prefix):]
    assert got == text
    irc.close()


def test_a_browser_or_tls_client_at_the_plain_port_says_nothing(server):
    """A browser pointed at the plain port (or a web page's request sent
    there) and a TLS client at it are told so and closed: nothing they
    send is said. Before, `curl http://HOST:7000/` put its request line
    and headers (a browser's cookies too) in #lobby, for everyone there
    and for its history: '#lobby <guest2> GET / HTTP/1.1', '#lobby
    <guest2> Host: ...'; `parley --tls HOST:7000` its ClientHello."""
    alice = server.client("alice")
    hello = (b"\x16\x03\x01\x00\xf1\x01\x00\x00\xed\x03\x03" + bytes(range(32)) +
             b"\nlocalhost\n")
    for first in (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: session=s3cret\r\n\r\n",
                  b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n/nick mallory\nhi all\n",
                  hello):
        c = Client(server.port)
        c.send_raw(first)
        c.expect(r"^!! wrong-protocol: this is parley's plain-text port")
        c.expect_closed()
        alice.expect(r"^-- %s quit: Not plain text$" % re.escape(c.nick))
    alice.expect_nothing(r"<guest\d+>|mallory|s3cret|HTTP")
