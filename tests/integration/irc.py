"""A small raw IRC client for talking to parleyd's IRC door in tests.

It sends what the test says, byte for byte (plus CR LF), and reads lines
until one matches what the test waits for, keeping every line it saw. While
it reads it answers the server's PING (unless told not to), as any client
must to stay connected."""
import base64
import re
import time

from chat import LineMatching, recv_until
from chat import connect as tcp_connect

# Generous: under the sanitizers everything is slower. Nothing is asserted
# about how long anything takes; timeouts only keep a broken test from
# hanging.
TIMEOUT = 5

# @tags :source COMMAND params...
_LINE = re.compile(r"^(?:@(?P<tags>\S+) +)?(?::(?P<source>\S+) +)?(?P<command>\S+)(?P<rest>.*)$")


def unescape_tag(value):
    """IRCv3 message-tags value unescaping (\\: \\s \\\\ \\r \\n)."""
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}.get(nxt, nxt))
            i += 2
        else:
            if ch != "\\":
                out.append(ch)
            i += 1
    return "".join(out)


class Message:
    """One parsed IRC line: tags (dict), source, command, params (list)."""

    def __init__(self, line):
        self.line = line
        m = _LINE.match(line)
        if m is None:
            raise ValueError("not an IRC line: %r" % line)
        self.tags = {}
        if m.group("tags"):
            for item in m.group("tags").split(";"):
                key, eq, value = item.partition("=")
                self.tags[key] = unescape_tag(value) if eq else None
        self.source = m.group("source")
        self.command = m.group("command").upper()
        rest = m.group("rest")
        self.params = []
        while rest:
            rest = rest.lstrip(" ")
            if not rest:
                break
            if rest.startswith(":"):
                self.params.append(rest[1:])
                break
            word, _, rest = rest.partition(" ")
            self.params.append(word)

    @property
    def nick(self):
        """The nick of the source (nick!user@host), or the server name."""
        return self.source.split("!", 1)[0] if self.source else None

    def __repr__(self):
        return "Message(%r)" % self.line


def parse(line):
    return Message(line)


class IrcClient(LineMatching):
    """One TCP connection to the IRC door; remembers every line it saw."""

    def __init__(self, port, host="127.0.0.1", auto_pong=True, tls=False):
        self.sock = tcp_connect(port, host, tls, TIMEOUT) if port is not None else None
        self.buf = b""
        self.lines = []          # every line read, in order
        self.nick = None
        self.auto_pong = auto_pong
        self.pings = 0           # PINGs from the server answered
        self.closed = False

    # Sending.

    def send(self, line):
        """Sends one line; CR LF is added."""
        if isinstance(line, str):
            line = line.encode()
        self.sock.sendall(line + b"\r\n")

    def send_raw(self, data):
        self.sock.sendall(data)

    # Reading.

    def _read_line(self, deadline):
        """The next line (without CR LF), None at the deadline; EOFError
        when the server closed the connection."""
        while b"\n" not in self.buf:
            chunk = self._recv(deadline)
            if chunk is None:
                return None
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n", 1)
        assert raw.endswith(b"\r"), "line not ended by CR LF: %r" % raw
        text = raw[:-1].decode("utf-8")  # the server only ever sends valid UTF-8
        self.lines.append(text)
        self._answer_ping(text)
        return text

    def _recv(self, deadline):
        try:
            return recv_until(self.sock, deadline)
        except EOFError:
            self.closed = True
            raise

    def _answer_ping(self, text):
        if self.auto_pong:
            m = re.match(r"^(?:@\S+ +)?(?::\S+ +)?PING(?: +:?(.*))?$", text)
            if m:
                self.pings += 1
                self.send("PONG :%s" % (m.group(1) or ""))

    def expect(self, pattern, timeout=TIMEOUT):
        """Reads lines until one matches pattern (a regex searched in the
        line); returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                line = self._read_line(deadline)
            except EOFError:
                raise AssertionError("connection closed before a line matching %r; got %r"
                                     % (pattern, seen))
            if line is None:
                raise AssertionError("no line matching %r within %ss; got %r"
                                     % (pattern, timeout, seen))
            seen.append(line)
            m = rx.search(line)
            if m:
                return m

    def collect(self, pattern, timeout=TIMEOUT):
        """Reads lines until one matches pattern; returns all the lines
        read meanwhile, the matching one last."""
        start = len(self.lines)
        self.expect(pattern, timeout)
        return self.lines[start:]

    def expect_numeric(self, num, rest=None, timeout=TIMEOUT):
        """Waits for numeric num (e.g. "001") addressed to anyone; rest, if
        given, is a regex the text after the target must match from its
        start. The match's group "rest" is that text."""
        pattern = r"^(?:@\S+ +)?:\S+ (?:%s) (?P<target>\S+)(?: (?P<rest>.*))?$" % num
        if rest is None:
            return self.expect(pattern, timeout)
        rx = re.compile(rest)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s matching %r" % (num, rest))
            m = self.expect(pattern, left)
            if rx.match(m.group("rest") or ""):
                return m

    def expect_seen(self, pattern, timeout=TIMEOUT):
        return LineMatching.expect_seen(self, pattern, timeout)

    def sync(self, timeout=TIMEOUT):
        """Round trip: every line sent before has been handled, and every
        reply to it read. Returns the lines read meanwhile (the PONG
        excluded)."""
        token = "sync%d" % time.monotonic_ns()
        self.send("PING " + token)
        got = self.collect(r"^(?:@\S+ +)?:\S+ PONG \S+ :?%s$" % token, timeout)
        return got[:-1]

    def expect_closed(self, timeout=TIMEOUT):
        """Reads until the server closes; returns the lines seen meanwhile."""
        deadline = time.monotonic() + timeout
        seen = []
        try:
            while True:
                line = self._read_line(deadline)
                if line is None:
                    raise AssertionError("connection still open; got %r" % seen)
                seen.append(line)
        except EOFError:
            return seen

    # Registration.

    def cap_ls(self, version="302"):
        """CAP LS [version]; returns the capabilities listed (name → value
        or None), following multiline (CAP * LS * :...) replies."""
        self.send("CAP LS %s" % version if version else "CAP LS")
        listed = {}
        while True:
            msg = parse(self.expect(r"^(?:@\S+ +)?:\S+ CAP \S+ LS ").string)
            more = len(msg.params) == 4 and msg.params[2] == "*"
            for item in msg.params[-1].split():
                name, eq, value = item.partition("=")
                listed[name] = value if eq else None
            if not more:
                return listed

    def register(self, nick, user="u", realname="Real Name", caps=None,
                 password=None):
        """Registers: optional CAP LS 302 + CAP REQ + CAP END, PASS, NICK,
        USER; waits for 001 and the end of the MOTD (376 or 422)."""
        if caps is not None:
            self.cap_ls()
            if caps:
                if not isinstance(caps, str):
                    caps = " ".join(caps)
                self.send("CAP REQ :%s" % caps)
                self.expect(r"^(?:@\S+ +)?:\S+ CAP \S+ ACK :?%s\s*$" % re.escape(caps))
            self.send("CAP END")
        if password is not None:
            self.send("PASS %s" % password)
        self.send("NICK %s" % nick)
        self.send("USER %s 0 * :%s" % (user, realname))
        self.expect_numeric("001")
        self.expect_numeric("376|422")
        self.nick = nick
        return self

    def register_sasl(self, nick, password, caps=""):
        """Registers as nick logged in to the account nick with SASL PLAIN
        (CAP REQ of caps and sasl, NICK, USER, AUTHENTICATE, 903, CAP END);
        waits for 001 and the end of the MOTD."""
        self.cap_ls()
        self.send("CAP REQ :%s" % " ".join(c for c in (caps, "sasl") if c))
        self.expect(r" CAP \S+ ACK ")
        self.send("NICK %s" % nick)
        self.send("USER u 0 * :Real Name")
        self.send("AUTHENTICATE PLAIN")
        self.expect(r"^AUTHENTICATE \+")
        self.send("AUTHENTICATE " + base64.b64encode(
            ("%s\0%s\0%s" % (nick, nick, password)).encode()).decode())
        self.expect_numeric("903")
        self.send("CAP END")
        self.expect_numeric("001")
        self.expect_numeric("376|422")
        self.nick = nick
        return self

    # Channels.

    def join(self, channel, key=None):
        """JOIN and wait for the end of its NAMES (366)."""
        self.send("JOIN %s%s" % (channel, " " + key if key else ""))
        self.expect(r"^(?:@\S+ +)?:\S+ 366 \S+ %s " % re.escape(channel))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connect(server, nick=None, **kw):
    """An IRC client on server's IRC port, registered as nick if given."""
    c = IrcClient(server.irc_port)
    if nick is not None:
        c.register(nick, **kw)
    return c
