"""A tiny line client for talking to parleyd in tests, and helpers to run it."""
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The binaries under test: the release ones at the top of the tree, or
# those in PARLEY_BIN (`make sanitize` builds its own in build/sanitize/bin).
BIN = ROOT / os.environ.get("PARLEY_BIN", ".")
PARLEYD = BIN / "parleyd"
PARLEY = BIN / "parley"
BENCH = BIN / "parley-bench"


def missing_tools(*names):
    """Which of the commands names are not installed, as a reason, or None."""
    gone = [n for n in names if shutil.which(n) is None]
    return "not installed: %s" % " ".join(gone) if gone else None


def need_tools(reason):
    """For a test whose tools are missing (reason says which; None: they are
    all there): skipped when run by hand, failed under `make test`
    (PARLEY_TOOLS=required), which installs them first."""
    if reason is None:
        return
    if os.environ.get("PARLEY_TOOLS") == "required":
        pytest.fail(reason + " (make test installs them)")
    pytest.skip(reason)


def kill_group(proc):
    """Kills what is left of proc's process group (proc was started with
    start_new_session=True): a child it started and left behind too."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_group(proc, wait=10):
    """Stops proc (SIGTERM, then SIGKILL after wait seconds) and whatever
    is left of its process group; returns its exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            proc.wait()
    kill_group(proc)
    return proc.returncode


_CERTS = {}


def make_cert(name="default"):
    """A self-signed certificate and key for 127.0.0.1 (made once per name
    per test run with the openssl command): (cert path, key path)."""
    if name not in _CERTS:
        d = Path(tempfile.mkdtemp(prefix="parley-tls-"))
        cert, key = d / "cert.pem", d / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                        "-subj", "/CN=%s" % name, "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        _CERTS[name] = (cert, key)
    return _CERTS[name]


def tls_context():
    """A client context that trusts only the test certificates: checks on,
    no hostname, since each test makes its own."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(port, host="127.0.0.1", tls=False, timeout=5):
    """A TCP socket to port, wrapped in TLS when asked."""
    sock = socket.create_connection((host, port), timeout=timeout)
    if tls:
        sock = tls_context().wrap_socket(sock)
    return sock


def wait_readable(sock, timeout):
    """select() that knows TLS may hold decrypted bytes already."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    r, _, _ = select.select([sock], [], [], timeout)
    return bool(r)


def recv_until(sock, deadline):
    """The next bytes from sock, or None at the deadline; EOFError when the
    peer closed (or reset) the connection."""
    left = deadline - time.monotonic()
    if left <= 0 or not wait_readable(sock, left):
        return None
    try:
        chunk = sock.recv(65536)
    except ConnectionResetError:
        chunk = b""
    if not chunk:
        raise EOFError("server closed the connection")
    return chunk


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unread_by_server(server_port, client_port, timeout=5):
    """Waits until parleyd has read all a client sent (its end of the
    connection has nothing queued to read, in /proc/net/tcp)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in open("/proc/net/tcp").read().splitlines()[1:]:
            f = line.split()
            if (int(f[1].split(":")[1], 16) == server_port and
                    int(f[2].split(":")[1], 16) == client_port and
                    int(f[4].split(":")[1], 16) == 0):
                return
        time.sleep(0.01)
    raise AssertionError("parleyd did not read what %d sent" % client_port)


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

    def __init__(self, port, host="127.0.0.1", welcome=True, tls=False):
        self.sock = connect(port, host, tls)
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
            chunk = recv_until(self.sock, deadline)
            if chunk is None:
                return None
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

    def expect_nothing(self, pattern, wait=None):
        """Asserts that no line matching pattern came, nor comes before the
        answer to a round trip: the server handles what it is sent in
        order, so whatever it was to send this client has arrived by then.
        No waiting (wait is for the clients that cannot do this): a slow
        server cannot make it pass."""
        self.sync()
        rx = re.compile(pattern)
        got = [line for line in self.lines if rx.search(line)]
        assert not got, "unexpected lines %r" % got

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
        except EOFError:
            return seen

    def close(self):
        self.sock.close()


# For a parleyd a test starts itself when it does not care for history:
# none is stored, and no data-dir is made where the tests run.
NO_HISTORY = ("--history", "off")


class Server:
    """A real parleyd on a free port, its stderr kept for the test. Unless
    the arguments name a data-dir or history, it stores history in a fresh
    data-dir of its own (data_dir), removed when it stops, so that servers
    running side by side never share a database."""

    def __init__(self, *args, irc=False, tls=False, web=False, stderr=None):
        # stderr: where parleyd's log goes instead of log_path (a pipe's
        # write end, say); log_text then has nothing.
        self.stderr = stderr
        self.data_dir = None
        if not any(a.split("=")[0] in ("--data-dir", "--history") for a in args):
            self.data_dir = Path(tempfile.mkdtemp(prefix="parley-data-"))
            args = (*args, "--data-dir", str(self.data_dir))
        # A port free_port() found may be taken before parleyd binds it
        # (by some client's ephemeral port): then start again elsewhere.
        for attempt in range(5):
            try:
                self._start(args, irc, tls, web)
                return
            except RuntimeError as e:
                if "Address already in use" not in str(e) or attempt == 4:
                    raise
                self.log.close()

    def _start(self, args, irc, tls, web):
        self.port = free_port()
        self.host = "127.0.0.1"
        # Named for the port and the pytest-xdist worker: two workers that
        # picked the same free port at once (one of them will retry) do not
        # truncate each other's log.
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        name = "parleyd-%s-%d.log" % (worker, self.port) if worker else "parleyd-%d.log" % self.port
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / name
        self.log = open(self.log_path, "w+b")
        cmd = [str(PARLEYD), "--listen", "127.0.0.1:%d" % self.port,
               "--server-name", "test.parley", *args]
        # An IRC listener too, on a free port of its own, when asked.
        self.irc_port = None
        if irc:
            self.irc_port = free_port()
            cmd += ["--irc-listen", "127.0.0.1:%d" % self.irc_port]
        # With tls, every door gets a TLS listener too (tls_port,
        # irc_tls_port, web_tls_port) and a certificate of its own.
        self.tls_port = self.irc_tls_port = self.web_port = self.web_tls_port = None
        if tls:
            self.cert, self.key = make_cert()
            self.tls_port = free_port()
            cmd += ["--listen", "127.0.0.1:%d" % self.tls_port, "tls",
                    "--tls-cert", str(self.cert), "--tls-key", str(self.key)]
            if irc:
                self.irc_tls_port = free_port()
                cmd += ["--irc-listen", "127.0.0.1:%d tls" % self.irc_tls_port]
        if web:
            self.web_port = free_port()
            cmd += ["--web-listen", "127.0.0.1:%d" % self.web_port]
            if tls:
                self.web_tls_port = free_port()
                cmd += ["--web-listen", "127.0.0.1:%d tls" % self.web_tls_port]
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stderr=self.stderr or self.log, stdout=self.log,
                                     start_new_session=True)
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
                # The probe may have been answered by another test's
                # parleyd that took our port, or by ours on its way out
                # after another of its ports was taken: ready is when this
                # process listens on every port it was given.
                if self._listens_on_all():
                    return
                time.sleep(0.02)
            except OSError:
                time.sleep(0.02)
        kill_group(self.proc)
        self.proc.wait()
        raise RuntimeError("parleyd did not start: " + self.log_text())

    def _listens_on_all(self):
        pid = self.proc.pid
        try:
            if os.path.basename(os.readlink("/proc/%d/exe" % pid)) != "parleyd":
                return True   # a wrapper: the probe has to do
            inodes = set()
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            return False
        listening = set()
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                rows = Path(path).read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                f = row.split()
                if len(f) > 9 and f[3] == "0A" and f[9] in inodes:
                    listening.add(int(f[1].rsplit(":", 1)[1], 16))
        wanted = {p for p in (self.port, self.irc_port, self.tls_port, self.irc_tls_port,
                              self.web_port, self.web_tls_port) if p is not None}
        return wanted <= listening

    def client(self, nick=None):
        c = Client(self.port)
        if nick:
            c.set_nick(nick)
        return c

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_group(self.proc)
        self.log.close()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.proc.returncode
