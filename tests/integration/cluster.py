"""A real redis-server for the cluster tests, parleyd nodes joined to it,
and what the cluster tests share (the fixtures redis and nodes, plain
clients, waiting for what a node does at its own pace).

The Redis runs on a free loopback port in a temporary directory, in its
own process group, persisting nothing; stop() kills the group and removes
the directory, whatever happened in the test. A test module takes the
fixtures with `from cluster import redis, nodes`."""
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from chat import Client, Server, free_port, kill_group, missing_tools, need_tools, stop_group


class Redis:
    """password: redis-server's requirepass (the default user's), which
    command() and url give; None: no password."""

    def __init__(self, password=None):
        need_tools(missing_tools("redis-server"))
        self.password = password
        self.dir = Path(tempfile.mkdtemp(prefix="parley-redis-"))
        for attempt in range(5):
            self.port = free_port()
            if self._start():
                return
        raise RuntimeError("redis-server did not start: " + self.log_text())

    def _start(self):
        self.log = open(self.dir / "redis.log", "a+b")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir),
             "--daemonize", "no", "--protected-mode", "no"] +
            (["--requirepass", self.password] if self.password is not None else []),
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        if self._wait_ready():
            return True
        self.log.close()
        kill_group(self.proc)
        self.proc.wait()
        return False

    def kill(self):
        """Gone at once (SIGKILL), as a crash."""
        kill_group(self.proc)
        self.proc.wait()
        self.log.close()

    def start_again(self, password=None):
        """A fresh redis-server (empty) on the same port (with password,
        if given, from now on)."""
        if password is not None:
            self.password = password
        if not self._start():
            raise RuntimeError("redis-server did not start again: " + self.log_text())

    def _wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.command("PING") == "PONG":
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    @property
    def url(self):
        if self.password is not None:
            return "redis://:%s@127.0.0.1:%d" % (self.password, self.port)
        return "redis://127.0.0.1:%d" % self.port

    @property
    def url_without_password(self):
        return "redis://127.0.0.1:%d" % self.port

    def command(self, *args):
        """One command in RESP, its reply as Python values (str, int, list,
        None); an error reply raises RuntimeError."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            reader = _Reader(s)
            if self.password is not None:
                s.sendall(_resp(("AUTH", self.password)))
                reader.reply()
            s.sendall(_resp(args))
            return reader.reply()

    def commandstats(self):
        """INFO commandstats as {command: calls}."""
        calls = {}
        for line in self.command("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, _, rest = line[len("cmdstat_"):].partition(":")
                fields = dict(f.split("=", 1) for f in rest.split(","))
                calls[name] = int(fields["calls"])
        return calls

    def log_text(self):
        try:
            return (self.dir / "redis.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        stop_group(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _resp(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class _Reader:
    """RESP2 replies from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("not RESP: %r" % line)


class Proxy:
    """A TCP relay to redis for the nodes given its url, which can cut and
    hold what it relays (Redis and its data untouched):
      - drop(): every connection relayed is cut (the nodes reconnect);
      - hold_subscribe() ... release(): the bytes of a new connection whose
        first command is a SUBSCRIBE (a pub/sub link) wait: its node has
        both links connected, Redis has not heard it subscribe;
      - hold_commands() ... release_commands(): what the command links
        send waits;
      - hold_replies_after_mget() ... release_replies(): once a command
        link has sent an MGET (a node's check of the others' heartbeats),
        what Redis answers it waits (mget_seen is set);
      - hold_next_answers() ... release_answers(): what Redis answers the
        next connection made waits (a node reconnecting opens its command
        link first: with a password, that link is not up until Redis
        answers its AUTH).
    Threads; stop() ends them and every connection."""

    def __init__(self, redis):
        self.redis = redis
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.socks = []
        # Each gate is open when set.
        self.subscribe_gate = threading.Event()
        self.command_gate = threading.Event()
        self.reply_gate = threading.Event()
        for gate in (self.subscribe_gate, self.command_gate, self.reply_gate):
            gate.set()
        self.on_mget = False
        self.mget_seen = threading.Event()
        self.next_gate = None              # the next connection's answers'
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    @property
    def url(self):
        if self.redis.password is not None:
            return "redis://:%s@127.0.0.1:%d" % (self.redis.password, self.port)
        return "redis://127.0.0.1:%d" % self.port

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.redis.port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.socks += [client, upstream]
            conn = {"kind": None, "ready": threading.Event(), "gate": self.next_gate}
            self.next_gate = None
            for args in ((client, upstream, conn, True), (upstream, client, conn, False)):
                t = threading.Thread(target=self._pump, args=args, daemon=True)
                t.start()
                self.threads.append(t)

    def _pump(self, src, dst, conn, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    if conn["kind"] is None:
                        conn["kind"] = "sub" if b"\r\nSUBSCRIBE\r\n" in data else "cmd"
                        conn["ready"].set()
                        if conn["kind"] == "sub":
                            self.subscribe_gate.wait()
                    if conn["kind"] == "cmd":
                        self.command_gate.wait()
                        if self.on_mget and b"\r\nMGET\r\n" in data:
                            self.on_mget = False
                            self.reply_gate.clear()
                            self.mget_seen.set()
                else:
                    conn["ready"].wait()
                    if conn["kind"] == "cmd":
                        self.reply_gate.wait()
                    if conn["gate"] is not None:
                        conn["gate"].wait()
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop(self):
        with self.lock:
            socks, self.socks = self.socks, []
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def hold_subscribe(self):
        self.subscribe_gate.clear()

    def release(self):
        self.subscribe_gate.set()

    def hold_commands(self):
        self.command_gate.clear()

    def release_commands(self):
        self.command_gate.set()

    def hold_replies_after_mget(self):
        self.mget_seen.clear()
        self.on_mget = True

    def release_replies(self):
        self.on_mget = False
        self.reply_gate.set()

    def hold_next_answers(self):
        self.held_answers = self.next_gate = threading.Event()

    def release_answers(self):
        self.held_answers.set()

    def stop(self):
        for gate in (self.subscribe_gate, self.command_gate, self.reply_gate):
            gate.set()
        if getattr(self, "held_answers", None) is not None:
            self.held_answers.set()
        self.listener.close()
        self.drop()
        for t in self.threads:
            t.join(timeout=5)


def node(redis, *args, **kw):
    """A parleyd joined to redis's cluster (history off: a cluster keeps
    none yet)."""
    return Server("--cluster", redis.url, "--history", "off", *args, **kw)


def start_node(make_server, redis, *extra, flood=False, **kw):
    """A node of redis's cluster through make_server (stopped with the
    test), history off; without flood control unless flood, so a test may
    send many lines at once. kw: make_server's (irc, web, ...)."""
    args = ["--cluster", redis.url, "--history", "off"]
    if not flood:
        args += ["--flood-rate", "0"]
    return make_server(*args, *extra, **kw)


@pytest.fixture
def redis():
    r = Redis()
    yield r
    r.stop()


@pytest.fixture
def nodes(redis, make_server):
    """Two nodes, A and B, of redis's cluster, with plain, IRC and web
    doors, without flood control."""
    return [start_node(make_server, redis, irc=True, web=True) for _ in range(2)]


def plain(srv, nick):
    """A plain-text client of srv, renamed nick."""
    c = Client(srv.port)
    c.set_nick(nick)
    return c


def wait_for(what, check, timeout=10):
    """check() until true, or AssertionError naming what: the condition is
    reached at the nodes' own pace, bounded (no timing asserted)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within %s s: %s" % (timeout, what))
        time.sleep(0.02)


def until(what, timeout=10):
    """what() until it is true (bounded); its last value."""
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)
