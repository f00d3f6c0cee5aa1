"""The parley client against a real parleyd: a refused connection, lines
piped in, the server going away, control characters from the server, and
(in tmux) typing while lines arrive."""

import os
import queue
import re
import shlex
import socket
import subprocess
import threading
import time

import pytest

import chat
from chat import Client, free_port, missing_tools, need_tools
from tmux import Tmux

PARLEY = str(chat.PARLEY)
# Generous: under the sanitizers everything is slower. Nothing is asserted
# about how long anything takes; these only keep a hung test from hanging.
TIMEOUT = 30


def env():
    # Plain output: colour codes would only get in the way of matching.
    return dict(os.environ, NO_COLOR="1")


def address(server):
    """The server as parley takes it: HOST:PORT, [IPv6]:PORT."""
    host = f"[{server.host}]" if ":" in server.host else server.host
    return f"{host}:{server.port}"


class LineReader:
    """Reads a stream's lines on a thread, so a test can wait for one
    without blocking forever."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, args=(stream,),
                         daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, regex, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.0, deadline - time.monotonic())
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                line = None
            if line is None:
                pytest.fail(f"no line matching {regex!r}; saw {self.seen!r}")
            self.seen.append(line)
            m = re.search(regex, line)
            if m:
                return m


def test_help_lists_every_option():
    p = subprocess.run([PARLEY, "--help"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert p.returncode == 0
    for option in ("--nick", "--password", "--reconnect", "--tls", "--tls-ca",
                   "--insecure", "--help", "--version"):
        assert option in p.stdout


@pytest.mark.parametrize("args, named", [
    (["--bogus"], "--bogus"),
    (["--bogus=1"], "--bogus"),
    (["-x"], "-x"),
    (["--nick"], "--nick"),
])
def test_a_bad_option_gets_one_line_naming_it(args, named):
    p = subprocess.run([PARLEY, *args], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert named in lines[0]


def test_refused_connection_names_the_address_and_exits_1():
    port = free_port()  # bound, then released: nobody listens there
    p = subprocess.run([PARLEY, f"127.0.0.1:{port}"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, env=env(),
                       timeout=TIMEOUT)
    assert p.returncode == 1
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert f"127.0.0.1:{port}" in lines[0]
    assert "refused" in lines[0]
    assert p.stdout == ""


def test_piped_lines_are_sent_then_quit(server):
    watcher = server.client("watcher")
    p = subprocess.run([PARLEY, address(server)],
                       input="/nick piper\nhello from a pipe\n",
                       capture_output=True, text=True, env=env(),
                       timeout=TIMEOUT)
    watcher.expect(r"^#lobby <piper> hello from a pipe$")
    watcher.expect(r"^-- piper quit: ")
    watcher.close()
    assert p.returncode == 0, p.stderr
    # It read until the server closed: the reply to /quit is there.
    assert "-- goodbye" in p.stdout.splitlines()


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_password_is_given_first(make_server, how):
    srv = make_server("--password", "pw0")
    watcher = Client(srv.port, welcome=False)
    watcher.send("/pass pw0")
    watcher.expect(r"^#lobby -- guest\d+ joined$")
    args, environ = [PARLEY, address(srv), "--nick", "piper"], env()
    if how == "flag":
        args.append("--password=pw0")
    else:
        environ["PARLEY_PASSWORD"] = "pw0"
    p = subprocess.run(args, input="hello with a password\n", capture_output=True,
                       text=True, env=environ, timeout=TIMEOUT)
    watcher.expect(r"^#lobby <piper> hello with a password$")
    assert p.returncode == 0, p.stderr
    assert "!!" not in p.stdout, p.stdout


def test_piped_script_is_taken_at_the_flood_rate(make_server):
    """A script far over flood-burst: the server slows it down, the client
    waits for it, and every line arrives in order."""
    srv = make_server("--flood-burst", "5", "--flood-rate", "400")
    watcher = srv.client("watcher")
    count = 1000
    script = "/nick scripter\n" + "".join("line %d\n" % i for i in range(count))
    p = subprocess.run([PARLEY, address(srv)], input=script, capture_output=True,
                       text=True, env=env(), timeout=60)
    for i in range(count):
        watcher.expect(r"^#lobby <scripter> line %d$" % i)
    watcher.expect(r"^-- scripter quit: ")
    assert p.returncode == 0, p.stderr


def test_server_gone_mid_session_exits_1(server):
    addr = address(server)
    p = subprocess.Popen([PARLEY, addr], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env())
    try:
        out = LineReader(p.stdout)
        out.expect(r"^#lobby -- guest\d+ joined$")
        # stdin stays open: the client has no reason to leave but this.
        server.proc.terminate()
        server.proc.wait(TIMEOUT)
        assert p.wait(TIMEOUT) == 1
        err = p.stderr.read()
        assert re.search(rf"connection to {re.escape(addr)} "
                         r"(closed by the server|lost: )", err), err
    finally:
        if p.poll() is None:
            p.kill()
        p.stdin.close()
        p.wait()


def test_control_characters_from_the_server_are_defused():
    # parleyd itself sends a plain client no control characters (see
    # test_attacks), so a stand-in server sends them, as another server
    # or a man in the middle could: the client shows them harmlessly.
    import socket
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"-- you are viewer; change it with /nick NAME\n"
                         b"#lobby -- viewer joined\n"
                         b"#lobby <watcher> \x1b[2Jred\x07alert\ttab\n")
            got = b""
            while b"/quit" not in got:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                got += chunk
            conn.sendall(b"-- goodbye\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        p = subprocess.run([PARLEY, "127.0.0.1:%d" % port], input=b"", capture_output=True,
                           env=env(), timeout=TIMEOUT)
    finally:
        listener.close()
        t.join(TIMEOUT)
    assert p.returncode == 0, p.stderr
    assert b"#lobby <watcher> ^[[2Jred^Galert\ttab\n" in p.stdout
    assert b"\x1b" not in p.stdout and b"\x07" not in p.stdout


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_typing_survives_incoming_lines(make_server, tmp_path, tls):
    need_tools(missing_tools("tmux"))
    server = make_server(tls=tls)
    other = server.client("other")
    where = shlex.quote(address(server))
    if tls:
        where = (f"127.0.0.1:{server.tls_port} "
                 f"--tls-ca {shlex.quote(str(server.cert))}")
    # The sleep keeps the pane, and what parley left in it, after it exits.
    command = (f"env NO_COLOR=1 {shlex.quote(PARLEY)} {where} --nick typist; "
               f"sleep {TIMEOUT}")
    with Tmux(tmp_path / "tmux.sock", command) as term:
        other.expect(r"^-- \S+ is now known as typist$")
        term.wait_for(r"^#lobby>\s*$")
        term.keys("a partial line, typed")
        term.wait_for(r"^#lobby> a partial line, typed$")

        # Shorter than what is typed: anything of it left on the screen
        # would show.
        other.send("hi")
        # It shows on a row of its own, and the typed text is drawn again
        # below it.
        term.wait_for(r"^#lobby <other> hi\n"
                      r"#lobby> a partial line, typed$")

        term.keys(" and the rest")
        term.enter()
        other.expect(r"^#lobby <typist> a partial line, typed and the rest$")
        # The server does not echo it: the client shows it itself.
        term.wait_for(r"^#lobby <typist> a partial line, typed and the rest$")
    other.close()


def parley_in_tmux(tmp_path, where, nick):
    """parley at a terminal (tmux), talking to where (HOST:PORT and any
    options) as nick; the pane stays after it exits."""
    need_tools(missing_tools("tmux"))
    command = (f"env NO_COLOR=1 {shlex.quote(PARLEY)} {where} --nick {nick}; "
               f"sleep {TIMEOUT}")
    return Tmux(tmp_path / "tmux.sock", command)


def test_tab_completes_nicknames_of_the_room_and_commands(server, tmp_path):
    # In the room before the client: it knows of them only from the /who
    # it asks quietly on joining.
    early = server.client("early")
    with parley_in_tmux(tmp_path, shlex.quote(address(server)), "typist") as term:
        early.expect(r"^-- \S+ is now known as typist$")
        term.wait_for(r"^#lobby>\s*$")
        # And one that comes after: its join and nick change tell.
        late = server.client("latecomer")
        early.expect(r"^-- \S+ is now known as latecomer$")

        term.keys("ea\t")
        term.wait_for(r"^#lobby> early:$")  # tmux drops the space
        term.keys("hi, see you la\t")
        term.wait_for(r"^#lobby> early: hi, see you latecomer$")
        term.enter()
        late.expect(r"^#lobby <typist> early: hi, see you latecomer $")

        # Commands, as the server's /help lists them.
        term.keys("/pi\t")
        term.wait_for(r"^#lobby> /ping$")
        term.keys("completed")
        term.enter()
        term.wait_for(r"^-- pong completed$")

        # Whoever leaves is not completed any more; the line stays as typed.
        late.send("/quit")
        early.expect(r"^-- latecomer quit: ")
        term.keys("la\t")
        term.wait_for(r"^-- latecomer quit: ")
        term.keys("X")
        term.wait_for(r"^#lobby> laX$")
        pane = term.pane()
    # The quiet questions' answers were never shown.
    assert "users:" not in pane and "-- /nick" not in pane, pane
    assert "pong parley:" not in pane and "a line not starting" not in pane, pane
    early.close()


def test_help_shows_the_servers_commands_then_the_keys(server, tmp_path):
    with parley_in_tmux(tmp_path, shlex.quote(address(server)), "helped") as term:
        term.wait_for(r"^#lobby>\s*$")
        term.keys("/help")
        term.enter()
        pane = term.wait_for(r"^-- Tab +complete")
    lines = pane.splitlines()
    first = next(i for i, l in enumerate(lines) if l.startswith("-- a line not starting"))
    assert lines[first + 1].startswith("-- /nick NAME"), pane
    keys = next(i for i, l in enumerate(lines) if l.startswith("-- keys of parley"))
    assert keys > first and lines[keys - 1].startswith("-- /help"), pane


class FakeServer:
    """A plain-text server of a later version, in a thread: its /help
    lists commands this client has never heard of. It answers /help,
    /who and /ping, and keeps every line it gets."""

    HELP = ["-- a line not starting with / goes to your current room",
            "-- /nick NAME             change your nickname",
            "-- /history [ROOM] [N]    the last N messages of a room",
            "-- /search TEXT           find messages",
            "-- /login NAME PASSWORD   log in to your account",
            "-- /help                  this list"]

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.got = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as f:
            def say(*lines):
                f.write("".join(line + "\n" for line in lines))
                f.flush()
            say("-- welcome to fake (parley 9.0)", "-- you are guest1; change it with /nick NAME",
                "#lobby -- guest1 joined")
            for line in f:
                line = line.rstrip("\n")
                self.got.put(line)
                if line == "/help":
                    say(*self.HELP)
                elif line.startswith("/ping "):
                    say("-- pong " + line[6:])
                elif line == "/who #lobby":
                    say("-- #lobby users: guest1", "-- #lobby: 1 user")
                elif line == "/quit":
                    say("-- goodbye")
                    return

    def expect(self, wanted):
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self.got.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the server never got {wanted!r}")
            if line == wanted:
                return

    def close(self):
        self.listener.close()
        self.thread.join(TIMEOUT)


def test_commands_the_server_adds_complete_and_pass_through(tmp_path):
    fake = FakeServer()
    try:
        with parley_in_tmux(tmp_path, f"127.0.0.1:{fake.port}", "futurist") as term:
            term.wait_for(r"^#lobby>\s*$")
            fake.expect("/help")
            term.keys("/his\t")
            term.wait_for(r"^#lobby> /history$")
            term.keys("#lobby 20")
            term.enter()
            # Sent as it was typed: the client knows nothing of it.
            fake.expect("/history #lobby 20")
            term.keys("/lo\t")
            term.wait_for(r"^#lobby> /login$")
            term.keys("me secret")
            term.enter()
            fake.expect("/login me secret")
            term.keys("/quit")
            term.enter()
            fake.expect("/quit")
            pane = term.wait_for(r"^-- goodbye$")
        assert "/search" not in pane and "a line not starting" not in pane, pane
    finally:
        fake.close()
