"""What users do to a server: crash, flood, stall, send garbage, stop it."""
import contextlib
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from chat import NO_HISTORY, ROOT, Client, PARLEYD, free_port, unread_by_server


def test_quit_with_reason(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("/quit off to lunch")
    a.expect(r"^-- goodbye$")
    a.expect_closed()
    b.expect(r"^-- alice quit: off to lunch$")


def test_quit_without_reason(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("/quit")
    b.expect(r"^-- alice quit: Quit$")


def test_closed_socket_is_a_quit(server):
    a, b = server.client("alice"), server.client("bob")
    a.sync()  # nothing unread, so the kernel sends FIN rather than RST
    a.close()
    b.expect(r"^-- alice quit: Connection closed$")


def test_reset_connection_is_a_quit(server):
    a, b = server.client("alice"), server.client("bob")
    a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    a.close()
    b.expect(r"^-- alice quit: Connection reset by peer$")


def test_sigkilled_client_is_a_quit(server):
    b = server.client("bob")
    code = ("import socket,sys,time\n"
            "s=socket.create_connection(('127.0.0.1',%d))\n"
            "s.sendall(b'/nick victim\\n')\n"
            "print('ready',flush=True)\n"
            "time.sleep(60)\n" % server.port)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    b.expect(r"^-- guest\d+ is now known as victim$")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The kernel resets a socket closed with unread data, else sends FIN.
    b.expect(r"^-- victim quit: Connection (closed|reset by peer)$")


def test_reset_with_a_line_unfinished_is_a_quit(make_server):
    """A client that stopped reading (its output waits in the server) and
    resets the connection with half a line sent is gone: the write that
    finds the reset comes before any read, and the half line is the only
    thing left of it. Before, nothing handled what it had sent again, and
    it stayed in its rooms for as long as the server ran."""
    srv = make_server("--sendq", "4194304", "--flood-rate", "0")
    b = srv.client("bob")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", srv.port))
    slow.sendall(b"/nick slow\n")
    b.expect(r"^-- guest\d+ is now known as slow$")
    # More than the kernel's buffers take for slow (some 3 MB on loopback
    # with its window this small), less than its sendq: parleyd's own
    # output for it waits, its socket full.
    for start in range(0, 4000, 500):
        b.send_raw(b"".join(b"%d %s\n" % (i, b"m" * 1000) for i in range(start, start + 500)))
        b.sync()
    slow.sendall(b"half a li")
    unread_by_server(srv.port, slow.getsockname()[1])
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    slow.close()
    b.expect(r"^-- slow quit: ", timeout=10)


def test_a_reader_that_vanished_times_out_as_such(make_server):
    """A client that asked faster than it read (its lines wait for its
    output: CONN_BACKLOG_SENDQ_SHARE), then vanished without a word, is
    dropped by the kernel's TCP_USER_TIMEOUT (ping-interval + ping-timeout,
    2 s here), and its room hears why: "Connection timed out". Before, the
    write found the timeout, then the hang-up that came with it found no
    error left to read (SO_ERROR is read once) and said "Connection
    closed" (peer_closed in the metrics, not connection_timeout)."""
    srv = make_server("--sendq", "65536", "--flood-rate", "0", "--ping-interval", "1",
                      "--ping-timeout", "1")
    b = srv.client("bob")
    for i in range(10):
        b.send("%d %s" % (i, "x" * 300))
    b.sync()
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", srv.port))
    try:
        slow.sendall(b"/nick slow\n")
        b.expect(r"^-- guest\d+ is now known as slow$")
        # Some 300 KB of answers asked for; the 36 KB of asking fits in
        # the kernel's buffers. Nothing is read from here on.
        slow.sendall(b"/history #lobby 10\n" * 2000)
        b.expect(r"^-- slow quit: ", timeout=30)
    finally:
        slow.close()
    assert b.lines[-1] == "-- slow quit: Connection timed out", b.lines[-1]


def test_unterminated_line_at_eof_is_dropped(server):
    a, b = server.client("alice"), server.client("bob")
    a.send_raw(b"complete\nno newline")
    a.sock.shutdown(socket.SHUT_WR)
    b.expect(r"^#lobby <alice> complete$")
    b.expect(r"^-- alice quit: Connection closed$")
    assert not [l for l in b.lines if "no newline" in l]


def test_half_closed_client_still_gets_replies(server):
    """`echo /who | nc -N`: the reply is flushed before the server closes."""
    a = server.client("alice")
    a.send("/who")
    a.sock.shutdown(socket.SHUT_WR)
    lines = a.expect_closed()
    assert any(l.startswith("-- #lobby users: ") for l in lines), lines


def test_line_split_across_many_writes(server):
    a, b = server.client("alice"), server.client("bob")
    a.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for ch in b"split into many little writes\r\n":
        a.send_raw(bytes([ch]))
        time.sleep(0.002)
    b.expect(r"^#lobby <alice> split into many little writes$")


def test_crlf_and_lf_both_end_lines(server):
    a, b = server.client("alice"), server.client("bob")
    a.send_raw(b"one\r\ntwo\nthree\r\n")
    b.expect(r"^#lobby <alice> one$")
    b.expect(r"^#lobby <alice> two$")
    b.expect(r"^#lobby <alice> three$")


def test_overlong_line_then_normal_line(make_server):
    srv = make_server("--max-line", "100")
    a, b = srv.client("alice"), srv.client("bob")
    a.send("x" * 100)  # exactly max-line: fine
    b.expect(r"^#lobby <alice> x{100}$")
    a.send("y" * 101)
    a.expect(r"^!! line-too-long: lines may be at most 100 bytes; that one was discarded$")
    a.send("still here")
    b.expect(r"^#lobby <alice> still here$")
    assert not [l for l in b.lines if "yyy" in l]


def test_endless_line_is_discarded_without_holding_it(make_server):
    srv = make_server("--max-line", "4096")
    a, b = srv.client("alice"), srv.client("bob")
    chunk = b"z" * 65536
    for _ in range(160):  # 10 MiB with no newline
        a.send_raw(chunk)
    a.send_raw(b"\nafter the flood\n")
    a.expect(r"^!! line-too-long: ", timeout=20)
    b.expect(r"^#lobby <alice> after the flood$", timeout=20)
    a.sync()
    assert len([l for l in a.lines if "line-too-long" in l]) == 1  # once, not per chunk
    with open("/proc/%d/status" % srv.proc.pid) as f:
        rss_kb = int([l for l in f if l.startswith("VmRSS:")][0].split()[1])
    assert rss_kb < 64 * 1024, "parleyd holds %d KiB after a 10 MiB line" % rss_kb


def test_invalid_utf8_and_nul(server):
    a, b = server.client("alice"), server.client("bob")
    a.send_raw(b"caf\xc3\xa9 ok\n")
    b.expect("^#lobby <alice> caf\u00e9 ok$")
    a.send_raw(b"bad \xff\xfe byte\n")
    b.expect("^#lobby <alice> bad \ufffd\ufffd byte$")
    a.send_raw(b"nul\x00s are\x00 removed\n")
    b.expect(r"^#lobby <alice> nuls are removed$")
    a.send_raw(b"cut \xe2\x82\n")  # a truncated euro sign
    b.expect("^#lobby <alice> cut \ufffd$")
    a.send_raw(b"/nick \xff\n")
    a.expect(r"^!! bad-nick: ")
    a.send("still fine")
    b.expect(r"^#lobby <alice> still fine$")


def test_500_clients_one_message_reaches_all(make_server):
    srv = make_server("--flood-rate", "0", "--max-per-ip", "0")
    clients = [Client(srv.port) for _ in range(500)]
    sender = clients[0]
    sender.send("to all five hundred")
    for c in clients[1:]:
        c.expect(r"^#lobby <%s> to all five hundred$" % sender.nick, timeout=20)
    for c in clients:
        c.close()


def test_slow_reader_dropped_for_sendq_others_get_everything(make_server):
    srv = make_server("--sendq", "65536", "--flood-rate", "0")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", srv.port))
    slow.sendall(b"/nick slow\n")
    readers = [srv.client("r1"), srv.client("r2")]
    sender = srv.client("sender")
    # More than the kernel's socket buffers (up to 4 MiB on loopback) and
    # the 64 KiB sendq can hold for the client that never reads.
    count = 6000
    payload = b"m" * 1000
    failures = []
    progress = [0] * len(readers)

    def read_all(k, r):
        try:
            for i in range(count):
                r.expect(r"^#lobby <sender> %d m+$" % i, timeout=30)
                progress[k] = i
            r.expect_seen(r"^-- slow quit: sendq exceeded$", timeout=30)
        except Exception as e:  # reported by the main thread
            failures.append((r.nick, e))
    threads = [threading.Thread(target=read_all, args=(k, r)) for k, r in enumerate(readers)]
    for t in threads:
        t.start()
    for start in range(0, count, 10):
        # Readers that keep up (Python ones are slow) stay within 30 KiB.
        deadline = time.monotonic() + 30
        while min(progress) < start - 30 and not failures and time.monotonic() < deadline:
            time.sleep(0.001)
        sender.send_raw(b"".join(b"%d %s\n" % (i, payload)
                                 for i in range(start, start + 10)))
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert "slow: closed (sendq exceeded)" in srv.log_text()
    # In order and no duplicates: every message line seen exactly once.
    for r in readers:
        got = [l for l in r.lines if l.startswith("#lobby <sender> ")]
        assert [int(l.split()[2]) for l in got] == list(range(count))
    slow.close()


def test_sigterm_notifies_clients_and_exits_zero(make_server):
    srv = make_server()
    clients = [srv.client("u%d" % i) for i in range(5)]
    srv.proc.send_signal(signal.SIGTERM)
    for c in clients:
        lines = c.expect_closed()
        assert "-- server shutting down" in lines
        assert not [l for l in lines if " quit: " in l], lines  # no quit spam
    assert srv.proc.wait(10) == 0


def test_sigint_exits_zero(make_server):
    srv = make_server()
    c = srv.client("u")
    srv.proc.send_signal(signal.SIGINT)
    assert "-- server shutting down" in c.expect_closed()
    assert srv.proc.wait(10) == 0


def test_sigterm_with_a_stalled_client_still_exits(make_server):
    srv = make_server("--flood-rate", "0")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", srv.port))
    talker = srv.client("talker")
    for i in range(200):
        talker.send("filling the stalled client's queue %d %s" % (i, "x" * 200))
    talker.sync()
    start = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(15) == 0
    assert time.monotonic() - start < 15
    stalled.close()


def test_flood_is_delayed_not_dropped(make_server):
    """A burst of flood-burst lines goes through at once; the rest are held
    and released at flood-rate, none dropped. Held is seen by order, not by
    the clock: a line bob sends once the burst has arrived overtakes
    alice's held lines. Without flood control all of alice's lines are
    handled in the read that brought them, before bob's can exist."""
    burst, count = 5, 40
    srv = make_server("--flood-burst", str(burst), "--flood-rate", "10")
    a, b, c = srv.client("alice"), srv.client("bob"), srv.client("carol")
    a.send_raw(b"".join(b"flood %d\n" % i for i in range(count)))
    for i in range(burst):
        c.expect(r"^#lobby <alice> flood %d$" % i)
    b.send("between")
    c.expect_seen(r"^#lobby <bob> between$", timeout=10)
    last = "#lobby <alice> flood %d" % (count - 1)
    c.expect_seen("^%s$" % last, timeout=10)
    alice = [l for l in c.lines if l.startswith("#lobby <alice> ")]
    assert alice == ["#lobby <alice> flood %d" % i for i in range(count)]
    assert c.lines.index("#lobby <bob> between") < c.lines.index(last), (
        "alice's lines past the burst were not held back: %r" % c.lines)
    a.sync()


def test_flood_that_keeps_going_is_disconnected(make_server):
    srv = make_server("--flood-burst", "2", "--flood-rate", "1", "--max-line", "64")
    a, b = srv.client("alice"), srv.client("bob")
    a.sock.settimeout(0.2)
    line = b"flooding on and on and on and on\n"
    sent = 0
    try:  # until the server closes, or the kernel's buffers are full
        while sent < 4 * 1024 * 1024:
            a.sock.sendall(line * 64)
            sent += len(line) * 64
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    assert sent > 64 * 1024
    b.expect(r"^-- alice quit: Excess flood$", timeout=10)


def test_flood_backlog_is_slowed_not_killed(make_server):
    """A script of many lines is taken at flood-rate: TCP slows the sender
    down; nothing is dropped and nobody is disconnected."""
    srv = make_server("--flood-burst", "10", "--flood-rate", "200", "--max-line", "64")
    a, b = srv.client("alice"), srv.client("bob")
    count = 600  # about 10 KiB: more than the 130 bytes the framer holds
    a.send_raw(b"".join(b"script line %d\n" % i for i in range(count)))
    for i in range(count):
        b.expect(r"^#lobby <alice> script line %d$" % i, timeout=20)
    a.sync()


def test_max_clients(make_server):
    srv = make_server("--max-clients", "3")
    kept = [Client(srv.port) for _ in range(3)]
    extra = Client(srv.port, welcome=False)
    extra.expect(r"^!! server-full: the server is full, try again later$")
    extra.expect_closed()
    kept[0].close()
    kept[1].expect(r"quit: Connection (closed|reset by peer)$")
    Client(srv.port)  # a slot is free again


def test_max_per_ip(make_server):
    srv = make_server("--max-per-ip", "2")
    a, b = Client(srv.port), Client(srv.port)
    c = Client(srv.port, welcome=False)
    c.expect(r"^!! server-full: too many connections from your address")
    a.close()
    b.expect(r"quit: Connection (closed|reset by peer)$")
    Client(srv.port)


def test_idle_timeout(make_server):
    """The silent one is dropped, the one who talks is not. No clock in the
    test: b talks (a round trip every quarter second) until a is gone,
    however long the sweep takes on a busy machine."""
    srv = make_server("--idle-timeout", "1")
    a = srv.client("idler")
    b = Client(srv.port)
    deadline = time.monotonic() + 30
    while "-- idler quit: Idle timeout" not in b.lines:
        assert time.monotonic() < deadline, "the idler was not dropped: %r" % b.lines
        time.sleep(0.25)
        b.sync()
    assert "-- disconnected: Idle timeout" in a.expect_closed()
    b.sync()  # still here


@contextlib.contextmanager
def parleyd_with_config(tmp_path, text, *flags):
    """parleyd --config FILE (text, its {port} filled in) plus flags: yields
    a plain client at its welcome's first line; stops it after."""
    port = free_port()
    conf = tmp_path / "parleyd.conf"
    conf.write_text(text.format(port=port))
    proc = subprocess.Popen([str(PARLEYD), "--config", str(conf), *NO_HISTORY, *flags],
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                c = Client(port, welcome=False)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        yield c
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_options_from_config_file_and_flag_override(tmp_path):
    text = "# comment\nserver-name from.file\nlisten 127.0.0.1:{port}\nmax-line 128\n"
    with parleyd_with_config(tmp_path, text, "--max-line", "256") as c:
        c.expect(r"^-- welcome to from\.file ")
        c.send("y" * 257)
        c.expect(r"^!! line-too-long: lines may be at most 256 bytes")


def test_config_file_comments(tmp_path):
    """A line that starts with # is a comment, and so is " # ..." after a
    value; a # that starts or is inside a word is the value's."""
    text = ("# a comment\n"
            "   #listen 127.0.0.1:1\n"
            "server-name from.file   # the name others see\n"
            "listen 127.0.0.1:{port} #\n"
            "password #pa#ss\t# starts with #, has one inside\n"
            "max-line 128 # bytes\n")
    with parleyd_with_config(tmp_path, text) as c:
        c.expect(r"^-- welcome to from\.file ")
        c.expect(r"^-- this server needs a password: /pass PASSWORD$")
        c.send("/pass #pa#ss")
        c.expect(r"^#lobby -- \S+ joined$")
        c.send("y" * 129)
        c.expect(r"^!! line-too-long: lines may be at most 128 bytes")


@pytest.mark.parametrize("args,needle", [
    (["--max-line", "abc"], "max-line wants a whole number"),
    (["--bogus", "1"], "unknown option --bogus"),
    (["--listen"], "--listen needs a value"),
    (["--listen", "nonsense"], "expected HOST:PORT"),
    (["--log-level", "loud"], "log-level wants error, warn, info or debug"),
    (["--config", "/nonexistent/parleyd.conf"], "cannot read config file"),
    (["--motd-file", "/nonexistent/motd"], "cannot read motd-file /nonexistent/motd"),
    (["--motd-file", "/"], "cannot read motd-file /: not a file"),
    (["--web-dir", "/nonexistent/web"], "cannot read web-dir /nonexistent/web"),
])
def test_bad_options_exit_2_with_one_line(args, needle):
    p = subprocess.run([str(PARLEYD), *NO_HISTORY, *args], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 2
    assert needle in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_unbindable_address_exits_2(server):
    p = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % server.port, *NO_HISTORY],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert "cannot listen on 127.0.0.1:%d: Address already in use" % server.port in p.stderr


def option_keys():
    """Every option's key, read from the one table that defines them
    (src/base/config.c), so an option added there is checked here too."""
    src = (ROOT / "src" / "base" / "config.c").read_text()
    table = src[src.index("options[] = {"):]
    table = table[:table.index("\n};")]
    keys = re.findall(r'^\s*\{ "([a-z0-9-]+)", OPT_', table, re.M)
    assert len(keys) >= 20, "the option table was not read: %r" % keys
    return keys


def test_help_lists_every_option():
    out = subprocess.run([str(PARLEYD), "--help"], capture_output=True, text=True).stdout
    listed = re.findall(r"^  --([a-z0-9-]+)", out, re.M)
    assert listed == option_keys() + ["config", "backup", "help", "version"]
    v = subprocess.run([str(PARLEYD), "--version"], capture_output=True, text=True).stdout
    assert re.match(r"^parleyd \d+\.\d+\.\d+\n$", v), v


def test_readme_documents_every_option():
    readme = (ROOT / "README.md").read_text()
    documented = re.findall(r"^\| `([a-z0-9-]+)[ `]", readme, re.M)
    missing = [k for k in option_keys() if k not in documented]
    assert not missing, "options missing from the README's table: %s" % missing


def test_log_has_connection_events_not_messages(server):
    a, b = server.client("alice"), server.client("bob")
    a.send("secret message text")
    b.expect(r"secret message text")
    a.sync()
    a.close()
    b.expect(r"alice quit")
    log = server.log_text()
    assert "connected on" in log and "alice: closed (Connection closed)" in log
    assert "secret message text" not in log
