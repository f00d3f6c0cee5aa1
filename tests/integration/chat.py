"""A tiny line client for talking to parleyd in tests, and helpers to run it."""
import os
import re
import select
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARLEYD = ROOT / "parleyd"
PARLEY = ROOT / "parley"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LineMatching:
    """What every line-reading test client shares: it has `lines` (all read
    so far), `expect(pattern, timeout)` and `_read_line(deadline)`."""

    def expect_seen(self, pattern, timeout=5):
        """Like expect, but a line already read (and skipped) counts too."""
        rx = re.compile(pattern)
        for line in self.lines:
            m = rx.search(line)
            if m:
                return m
        return self.expect(pattern, timeout)

    def expect_nothing(self, pattern, wait=0.3):
        """Asserts that no line matching pattern arrives within wait seconds."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + wait
        while True:
            line = self._read_line(deadline)
            if line is None:
                return
            assert not rx.search(line), "unexpected line %r" % line


class Client(LineMatching):
    """One TCP connection; reads lines, remembers every line it saw."""

    def __init__(self, port, host="127.0.0.1", welcome=True):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.buf = b""
        self.lines = []
        self.nick = None
        if welcome:
            m = self.expect(r"^-- you are (\S+);")
            self.nick = m.group(1)
            self.expect(r"^#lobby -- %s joined$" % re.escape(self.nick))

    def send(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.sock.sendall(line + b"\n")

    def send_raw(self, data):
        self.sock.sendall(data)

    def _read_line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        text = line.decode("utf-8")  # the server only ever sends valid UTF-8
        self.lines.append(text)
        return text

    def expect(self, pattern, timeout=5):
        """Reads lines until one matches pattern; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            line = self._read_line(deadline)
            if line is None:
                raise AssertionError("no line matching %r within %ss; got %r"
                                     % (pattern, timeout, seen))
            seen.append(line)
            m = rx.search(line)
            if m:
                return m

    def sync(self):
        """Round trip: every line sent before has been handled."""
        token = "sync%d" % time.monotonic_ns()
        self.send("/ping " + token)
        self.expect(r"^-- pong %s$" % token)

    def set_nick(self, nick):
        self.send("/nick " + nick)
        self.expect(r"^-- \S+ is now known as %s$" % re.escape(nick))
        self.nick = nick

    def expect_closed(self, timeout=5):
        """Reads until the server closes; returns the lines seen meanwhile."""
        deadline = time.monotonic() + timeout
        seen = []
        try:
            while True:
                line = self._read_line(deadline)
                if line is None:
                    raise AssertionError("connection still open; got %r" % seen)
                seen.append(line)
        except (EOFError, ConnectionResetError):
            return seen

    def close(self):
        self.sock.close()


class Server:
    """A real parleyd on a free port, its stderr kept for the test."""

    def __init__(self, *args, irc=False):
        self.port = free_port()
        self.host = "127.0.0.1"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / ("parleyd-%d.log" % self.port)
        self.log = open(self.log_path, "w+b")
        cmd = [str(PARLEYD), "--listen", "127.0.0.1:%d" % self.port,
               "--server-name", "test.parley", *args]
        # An IRC listener too, on a free port of its own, when asked.
        self.irc_port = None
        if irc:
            self.irc_port = free_port()
            cmd += ["--irc-listen", "127.0.0.1:%d" % self.irc_port]
        self.proc = subprocess.Popen(cmd, stderr=self.log, stdout=self.log)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("parleyd exited: " + self.log_text())
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    # Leave and wait for the close, so the probe is gone
                    # before any test client comes (the first into #lobby
                    # is its operator).
                    s.settimeout(5)
                    s.sendall(b"/quit\n")
                    while s.recv(4096):
                        pass
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("parleyd did not start: " + self.log_text())

    def client(self, nick=None):
        c = Client(self.port)
        if nick:
            c.set_nick(nick)
        return c

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode
