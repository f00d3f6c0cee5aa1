#!/usr/bin/python3
"""Memory per idle connection, by transport: IRC over plain TCP, over TLS,
and over a WebSocket (and, with --kinds, over TLS 1.2 only, and over a
WebSocket over TLS).

For each kind, a fresh ./parleyd; N clients of that kind connect, register
(NICK/USER, wait for 001) and join one of N/19 rooms (client i joins
#tm<i % rooms>, wait for 366); the clients then keep reading and stay
silent until nothing has arrived for --quiet seconds. The server's VmRSS
(/proc/PID/status) is read before and after:

    bytes per connection = (VmRSS after - VmRSS before) / N

"Before" is read after --warmup clients of the same kind (default 1) have
connected, registered and joined a room of their own and stay connected:
that takes one-time costs (OpenSSL's lazily loaded algorithms, the first
room, the first user, ...) out of the per-connection figure. The figure
from a fresh server (VmRSS at start) is printed too, as "cold", and the
one from RssAnon alone (heap and stacks, no file-backed pages), as "anon".

Standard library only; one selector loop, at most --concurrency clients
connecting at once.

    /usr/bin/python3 bench/transport_mem.py                    # N=2000, plain,tls,ws
    /usr/bin/python3 bench/transport_mem.py -n 5000 --kinds plain,tls,ws,wss

Prints a table and one JSON line (last line of stdout). Exit status 0 when
every client of every kind registered and joined, 1 otherwise, 2 on bad
usage or when parleyd is missing.
"""
import argparse
import base64
import errno
import hashlib
import json
import os
import resource
import selectors
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_CONNS = 19000
KINDS = {
    # name: (listener, tls, websocket, highest TLS version the client offers)
    "plain": ("irc", False, False, None),
    "tls": ("irc_tls", True, False, None),
    "tls12": ("irc_tls", True, False, ssl.TLSVersion.TLSv1_2),
    "ws": ("web", False, True, None),
    "wss": ("web_tls", True, True, None),
}
LABELS = {"plain": "IRC over TCP", "tls": "IRC over TLS", "tls12": "IRC over TLS 1.2",
          "ws": "IRC over WebSocket", "wss": "IRC over WebSocket over TLS"}


def log(msg):
    print("transport_mem: " + msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_cert(d):
    """A self-signed EC (P-256) certificate for 127.0.0.1, as the tests make."""
    cert, key = Path(d) / "cert.pem", Path(d) / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                    "-subj", "/CN=transport-mem", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def proc_status(pid):
    """VmRSS, RssAnon (kB) of pid."""
    out = {}
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile"):
            out[k] = int(v.split()[0])
    return out


def proc_cpu_ticks(pid):
    f = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """One parleyd with a plain, an IRC, an IRC-over-TLS and a web listener
    (and a web-over-TLS one when asked)."""

    def __init__(self, parleyd, cert, key, logdir, web_tls=False):
        self.ports = {"plain_text": free_port(), "irc": free_port(), "irc_tls": free_port(),
                      "web": free_port()}
        self.cmd = [str(parleyd), "--listen", "127.0.0.1:%d" % self.ports["plain_text"],
                    "--irc-listen", "127.0.0.1:%d" % self.ports["irc"],
                    "--irc-listen", "127.0.0.1:%d tls" % self.ports["irc_tls"],
                    "--web-listen", "127.0.0.1:%d" % self.ports["web"], "--history", "off"]
        if web_tls:
            self.ports["web_tls"] = free_port()
            self.cmd += ["--web-listen", "127.0.0.1:%d tls" % self.ports["web_tls"]]
        self.cmd += ["--tls-cert", str(cert), "--tls-key", str(key),
                     "--max-clients", str(MAX_CONNS), "--max-per-ip", "0",
                     "--flood-rate", "0"]
        self.log_path = Path(logdir) / ("parleyd-%d.log" % self.ports["irc"])
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=self.log,
                                     preexec_fn=raise_nofile)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        for name in self.ports:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("parleyd exited %d: %s" % (self.proc.returncode,
                                       self.log_path.read_text(errors="replace")[-500:]))
                try:
                    socket.create_connection(("127.0.0.1", self.ports[name]), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("parleyd did not listen on %s" % name)
                    time.sleep(0.05)
        time.sleep(0.2)  # let it reap the probe connections

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ------------------------------------------------------------------ clients

def ws_frame(payload, op=1):
    """One masked client frame."""
    n = len(payload)
    head = bytes([0x80 | op])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    key = os.urandom(4)
    k = (key * (n // 4 + 1))[:n]
    return head + key + bytes(a ^ b for a, b in zip(payload, k))


# client states
CONNECTING, HANDSHAKE, HTTP, REGISTERING, JOINING, DONE, FAILED = range(7)


class Client:
    __slots__ = ("i", "sock", "state", "tls", "ws", "out", "inbuf", "nick", "room",
                 "ws_key", "events", "t0")

    def __init__(self, i, nick, room, tls, ws):
        self.i, self.nick, self.room, self.tls, self.ws = i, nick, room, tls, ws
        self.sock = None
        self.state = CONNECTING
        self.out = b""
        self.inbuf = b""
        self.ws_key = None
        self.events = 0


class Driver:
    def __init__(self, port, tls, ws, concurrency, timeout, tls_max=None):
        self.port, self.tls, self.ws = port, tls, ws
        self.concurrency, self.timeout = concurrency, timeout
        self.sel = selectors.DefaultSelector()
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.ctx.check_hostname = False
            self.ctx.verify_mode = ssl.CERT_NONE
            if tls_max is not None:
                self.ctx.maximum_version = tls_max
        self.clients = []
        self.in_setup = 0
        self.done = 0
        self.failed = 0
        self.failures = []
        self.last_rx = time.monotonic()
        self.rx_bytes = 0

    # -- selector bookkeeping
    def want(self, c, events):
        if events == c.events:
            return
        if c.events == 0:
            self.sel.register(c.sock, events, c)
        elif events == 0:
            self.sel.unregister(c.sock)
        else:
            self.sel.modify(c.sock, events, c)
        c.events = events

    def fail(self, c, why):
        if c.state in (DONE, FAILED):
            if c.state == DONE:
                self.done -= 1
            else:
                return
        else:
            self.in_setup -= 1
        c.state = FAILED
        self.failed += 1
        if len(self.failures) < 10:
            self.failures.append("client %d: %s" % (c.i, why))
        try:
            self.want(c, 0)
        except (KeyError, ValueError):
            pass
        try:
            c.sock.close()
        except OSError:
            pass

    # -- starting
    def start(self, c):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sock = s
        c.t0 = time.monotonic()
        self.clients.append(c)
        self.in_setup += 1
        rc = s.connect_ex(("127.0.0.1", self.port))
        if rc not in (0, errno.EINPROGRESS):
            self.fail(c, "connect: %s" % os.strerror(rc))
            return
        self.want(c, selectors.EVENT_WRITE)

    def connected(self, c):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.fail(c, "connect: %s" % os.strerror(err))
            return
        if c.tls:
            self.want(c, 0)
            c.sock = self.ctx.wrap_socket(c.sock, do_handshake_on_connect=False)
            c.state = HANDSHAKE
            self.handshake(c)
        else:
            self.begin(c)

    def handshake(self, c):
        try:
            c.sock.do_handshake()
        except ssl.SSLWantReadError:
            self.want(c, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self.want(c, selectors.EVENT_WRITE)
            return
        except (ssl.SSLError, OSError) as e:
            self.fail(c, "TLS handshake: %s" % e)
            return
        self.begin(c)

    def begin(self, c):
        if c.ws:
            c.state = HTTP
            c.ws_key = base64.b64encode(os.urandom(16)).decode()
            req = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n" % (self.port, c.ws_key))
            self.queue(c, req.encode())
        else:
            self.register(c)

    def register(self, c):
        c.state = REGISTERING
        self.send_line(c, "NICK %s" % c.nick)
        self.send_line(c, "USER %s 0 * :transport_mem" % c.nick)

    # -- output
    def send_line(self, c, line):
        if c.ws:
            self.queue(c, ws_frame(line.encode()))
        else:
            self.queue(c, (line + "\r\n").encode())

    def queue(self, c, data):
        c.out += data
        self.flush(c)

    def flush(self, c):
        while c.out:
            try:
                n = c.sock.send(c.out)
            except (BlockingIOError, ssl.SSLWantWriteError):
                break
            except ssl.SSLWantReadError:
                break
            except OSError as e:
                self.fail(c, "send: %s" % e)
                return
            c.out = c.out[n:]
        self.want(c, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0))

    # -- input
    def readable(self, c):
        while True:
            try:
                data = c.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                return
            except ssl.SSLWantWriteError:
                self.want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
                return
            except OSError as e:
                self.fail(c, "recv: %s" % e)
                return
            if not data:
                self.fail(c, "server closed the connection (state %d): %r" % (c.state, c.inbuf[-200:]))
                return
            self.last_rx = time.monotonic()
            self.rx_bytes += len(data)
            c.inbuf += data
            self.parse(c)
            if c.state == FAILED:
                return
            if not c.tls:
                return  # level-triggered: come back for more

    def parse(self, c):
        if c.state == HTTP:
            head, sep, rest = c.inbuf.partition(b"\r\n\r\n")
            if not sep:
                return
            lines = head.decode("latin-1").split("\r\n")
            status = lines[0].split(" ")[1] if " " in lines[0] else "?"
            hdrs = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            want = base64.b64encode(hashlib.sha1(c.ws_key.encode() + GUID).digest()).decode()
            if status != "101" or hdrs.get("sec-websocket-accept") != want:
                self.fail(c, "upgrade refused: %s" % lines[0])
                return
            c.inbuf = rest
            self.register(c)
        if c.ws:
            lines = []
            buf = c.inbuf
            while len(buf) >= 2:
                b0, b1 = buf[0], buf[1]
                n, at = b1 & 0x7F, 2
                if n == 126:
                    if len(buf) < 4:
                        break
                    n, at = struct.unpack(">H", buf[2:4])[0], 4
                elif n == 127:
                    if len(buf) < 10:
                        break
                    n, at = struct.unpack(">Q", buf[2:10])[0], 10
                if len(buf) < at + n:
                    break
                op, payload = b0 & 0x0F, buf[at:at + n]
                buf = buf[at + n:]
                if op in (1, 2):
                    lines.append(payload)
                elif op == 8:
                    self.fail(c, "close frame %r" % payload)
                    return
                elif op == 9:
                    self.queue(c, ws_frame(payload, op=10))
            c.inbuf = buf
        else:
            *lines, c.inbuf = c.inbuf.split(b"\n")
        for line in lines:
            self.line(c, line.rstrip(b"\r"))
            if c.state == FAILED:
                return

    def line(self, c, line):
        parts = line.split(b" ")
        if line.startswith(b"PING"):
            self.send_line(c, "PONG" + line[4:].decode("utf-8", "replace"))
            return
        if line.startswith(b"ERROR"):
            self.fail(c, line.decode("utf-8", "replace"))
            return
        if len(parts) < 2:
            return
        cmd = parts[1]
        if c.state == REGISTERING:
            if cmd == b"001":
                c.state = JOINING
                self.send_line(c, "JOIN %s" % c.room)
            elif cmd in (b"432", b"433", b"451", b"465"):
                self.fail(c, line.decode("utf-8", "replace"))
        elif c.state == JOINING:
            if cmd == b"366":
                c.state = DONE
                self.in_setup -= 1
                self.done += 1
            elif cmd in (b"403", b"405", b"471", b"473", b"474", b"475"):
                self.fail(c, line.decode("utf-8", "replace"))

    def event(self, c, mask):
        if c.state == FAILED:
            return
        if c.state == CONNECTING:
            if mask & selectors.EVENT_WRITE:
                self.connected(c)
            return
        if c.state == HANDSHAKE:
            self.handshake(c)
            return
        if mask & selectors.EVENT_WRITE and c.out:
            self.flush(c)
            if c.state == FAILED:
                return
        if mask & selectors.EVENT_READ:
            self.readable(c)
        if c.state != FAILED and not c.out and c.events & selectors.EVENT_WRITE:
            self.want(c, selectors.EVENT_READ)

    def poll(self, timeout):
        for key, mask in self.sel.select(timeout):
            self.event(key.data, mask)

    def run(self, todo, server):
        """Connects every client in todo, at most concurrency at once, until
        each has joined or failed. Returns the seconds it took."""
        t0 = time.monotonic()
        deadline = t0 + self.timeout
        todo = list(todo)
        todo.reverse()
        while todo or self.in_setup > 0:
            while todo and self.in_setup < self.concurrency:
                self.start(todo.pop())
            self.poll(0.2)
            if time.monotonic() > deadline:
                for c in self.clients:
                    if c.state not in (DONE, FAILED):
                        self.fail(c, "not joined within %.0f s (state %d)" % (self.timeout, c.state))
                break
            if not server.alive():
                raise RuntimeError("parleyd died")
        return time.monotonic() - t0

    def settle(self, quiet, longest):
        """Reads (and answers PINGs) until nothing has arrived for quiet s."""
        t0 = time.monotonic()
        while time.monotonic() - self.last_rx < quiet and time.monotonic() - t0 < longest:
            self.poll(0.1)
        return time.monotonic() - t0

    def close(self):
        for c in self.clients:
            if c.state != FAILED:
                try:
                    self.want(c, 0)
                except (KeyError, ValueError):
                    pass
                try:
                    c.sock.close()
                except OSError:
                    pass
        self.sel.close()


def measure(kind, args, cert, key, logdir):
    listener, tls, ws, tls_max = KINDS[kind]
    srv = Server(args.parleyd, cert, key, logdir, web_tls="wss" in args.kinds)
    try:
        rss_start = proc_status(srv.pid)
        d = Driver(srv.ports[listener], tls, ws, args.concurrency, args.setup_timeout, tls_max)
        # Warm-up clients: connected, registered, in a room of their own, kept.
        warm = [Client(-1 - j, "w%s%d" % (kind, j), "#warmup", tls, ws) for j in range(args.warmup)]
        d.run(warm, srv)
        d.settle(args.quiet, 10)
        if d.failed:
            raise RuntimeError("warm-up failed: %s" % "; ".join(d.failures))
        rss_base = proc_status(srv.pid)
        rooms = max(1, round(args.n / 19))
        clients = [Client(i, "m%d" % i, "#tm%d" % (i % rooms), tls, ws) for i in range(args.n)]
        setup_s = d.run(clients, srv)
        settle_s = d.settle(args.quiet, 60)
        # Idle: the server should use (next to) no CPU now.
        cpu0 = proc_cpu_ticks(srv.pid)
        time.sleep(args.idle)
        d.poll(0)
        cpu1 = proc_cpu_ticks(srv.pid)
        rss_after = proc_status(srv.pid)
        joined = d.done - args.warmup
        res = dict(kind=kind, label=LABELS[kind], clients=args.n, rooms=rooms, joined=joined,
                   failed=d.failed, failures=d.failures, setup_s=round(setup_s, 3),
                   settle_s=round(settle_s, 2),
                   idle_cpu_ticks=cpu1 - cpu0, idle_window_s=args.idle,
                   rss_start_kb=rss_start["VmRSS"], rss_before_kb=rss_base["VmRSS"],
                   rss_after_kb=rss_after["VmRSS"],
                   anon_before_kb=rss_base["RssAnon"], anon_after_kb=rss_after["RssAnon"],
                   bytes_per_conn=round((rss_after["VmRSS"] - rss_base["VmRSS"]) * 1024 / args.n),
                   anon_bytes_per_conn=round((rss_after["RssAnon"] - rss_base["RssAnon"]) * 1024 / args.n),
                   cold_bytes_per_conn=round((rss_after["VmRSS"] - rss_start["VmRSS"]) * 1024 / args.n),
                   warmup_bytes=(rss_base["VmRSS"] - rss_start["VmRSS"]) * 1024)
        d.close()
        return res
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--clients", dest="n", type=int, default=2000,
                    help="idle connections per kind (default 2000; at most %d)" % (MAX_CONNS - 1))
    ap.add_argument("--kinds", default="plain,tls,ws",
                    help="comma-separated, from plain, tls, tls12 (TLS 1.2 only), ws, wss "
                    "(default plain,tls,ws)")
    ap.add_argument("--parleyd", default=str(ROOT / "parleyd"), help="server binary (default ./parleyd)")
    ap.add_argument("--concurrency", type=int, default=200,
                    help="clients connecting/registering/joining at once (default 200)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="clients connected before the 'before' reading (default 1)")
    ap.add_argument("--quiet", type=float, default=1.0,
                    help="idle means nothing received for this many seconds (default 1)")
    ap.add_argument("--idle", type=float, default=1.0,
                    help="then seconds to count the server's CPU ticks before reading RSS (default 1)")
    ap.add_argument("--setup-timeout", type=float, default=300, help="longest setup per kind (default 300)")
    args = ap.parse_args()
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = [k for k in args.kinds if k not in KINDS]
    if bad or not args.kinds:
        ap.error("unknown kind(s): %s" % ", ".join(bad))
    if not 1 <= args.n <= MAX_CONNS - args.warmup:
        ap.error("--clients must be 1..%d" % (MAX_CONNS - args.warmup))
    if not Path(args.parleyd).is_file():
        print("transport_mem: %s is missing (run make)" % args.parleyd, file=sys.stderr)
        sys.exit(2)
    raise_nofile()
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < args.n + args.warmup + 64:
        ap.error("the fd limit is too low for %d clients" % args.n)

    results = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="transport-mem-") as tmp:
        cert, key = make_cert(tmp)
        for kind in args.kinds:
            log("%s: %d clients" % (kind, args.n))
            try:
                r = measure(kind, args, cert, key, tmp)
            except RuntimeError as e:
                log("%s: %s" % (kind, e))
                ok = False
                results.append(dict(kind=kind, label=LABELS[kind], error=str(e)))
                continue
            if r["failed"] or r["joined"] != args.n:
                ok = False
                log("%s: %d failed: %s" % (kind, r["failed"], "; ".join(r["failures"])))
            log("%s: joined %d in %.2f s, %d B per connection" % (kind, r["joined"], r["setup_s"],
                                                                   r["bytes_per_conn"]))
            results.append(r)

    plain = next((r for r in results if r["kind"] == "plain" and "error" not in r), None)
    print("parleyd %s, %d idle IRC clients per kind in rooms of about 19, fresh server per kind"
          % (args.parleyd, args.n))
    print("%-28s %9s %9s %7s %8s %8s %9s %9s" % ("kind", "before kB", "after kB", "joined",
                                                 "B/conn", "vs plain", "anon B/c", "cold B/c"))
    for r in results:
        if "error" in r:
            print("%-28s %s" % (r["label"], r["error"]))
            continue
        if plain:
            r["vs_plain"] = round(r["bytes_per_conn"] / plain["bytes_per_conn"], 2)
            r["extra_bytes_vs_plain"] = r["bytes_per_conn"] - plain["bytes_per_conn"]
        print("%-28s %9d %9d %7d %8d %8s %9d %9d" % (
            r["label"], r["rss_before_kb"], r["rss_after_kb"], r["joined"], r["bytes_per_conn"],
            "%.2fx" % r["vs_plain"] if plain else "-", r["anon_bytes_per_conn"],
            r["cold_bytes_per_conn"]))
    print(json.dumps(dict(clients=args.n, parleyd=str(args.parleyd), warmup=args.warmup,
                          results=results)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
