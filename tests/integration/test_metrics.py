"""metrics-listen: GET /metrics in the Prometheus text format, checked with
promtool, and counters that move by what clients do on every door."""
import re
import socket
import subprocess
import time

import pytest

from chat import Client, NO_HISTORY, connect, free_port, missing_tools, need_tools
from irc import IrcClient
from test_accounts import account_cli
from wsclient import WsIrcClient, http, read_response

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metrics_server(make_server, *args, **kw):
    """A parleyd with a metrics listener on a free port (metrics_port)."""
    port = free_port()
    srv = make_server("--metrics-listen", "127.0.0.1:%d" % port, *args, **kw)
    srv.metrics_port = port
    return srv


def fetch(srv, path="/metrics"):
    status, headers, body = http(srv.metrics_port,
                                 "GET %s HTTP/1.1\nHost: 127.0.0.1\n\n" % path)
    return status, headers, body.decode()


def parse(text):
    """{(name, ((label, value), ...)): value}, labels sorted."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def scrape(srv):
    status, headers, body = fetch(srv)
    assert status == 200, body
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(body)


def val(m, name, **labels):
    return m[(name, tuple(sorted(labels.items())))]


def moved(before, after, name, **labels):
    return val(after, name, **labels) - val(before, name, **labels)


def scrape_until(srv, check, timeout=10):
    """Scrapes until check(metrics) holds (what a closed socket starts
    reaches the server's reaper a moment later); returns the metrics."""
    deadline = time.monotonic() + timeout
    while True:
        m = scrape(srv)
        if check(m) or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def test_off_by_default(server):
    # No metrics listener unless asked: nothing says "metrics" at start.
    assert "(metrics" not in server.log_text()


def test_promtool_accepts_every_family(make_server):
    need_tools(missing_tools("promtool"))
    srv = metrics_server(make_server, irc=True, tls=True, web=True)
    # Something in every family first: a user, a room, a message.
    a = srv.client("alice")
    b = srv.client("bob")
    a.send("hello")
    b.expect(r"^#lobby <alice> hello$")
    status, _, body = fetch(srv)
    assert status == 200
    check = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                           capture_output=True, timeout=30)
    assert check.returncode == 0, (check.stdout + check.stderr).decode()
    m = parse(body)
    for family in ("parley_connections", "parley_connections_accepted_total",
                   "parley_connections_refused_total", "parley_disconnects_total",
                   "parley_users", "parley_rooms", "parley_lines_received_total",
                   "parley_deliveries_total", "parley_messages_total",
                   "parley_received_bytes_total", "parley_sent_bytes_total",
                   "parley_sendq_bytes", "parley_flood_delayed_lines_total",
                   "parley_tls_handshakes_total", "parley_tls_handshake_failures_total",
                   "parley_loop_iteration_duration_seconds_count",
                   "parley_history_events_written_total",
                   "parley_history_commit_duration_seconds_count",
                   "parley_history_commit_events_count",
                   "parley_history_query_duration_seconds_count", "parley_logins_total",
                   "process_resident_memory_bytes", "process_open_fds",
                   "process_start_time_seconds", "process_cpu_seconds_total"):
        assert any(name == family for name, _ in m), family
    assert val(m, "parley_users") == 2
    assert val(m, "parley_rooms") == 1
    assert val(m, "process_resident_memory_bytes") > 1e6
    assert abs(val(m, "process_start_time_seconds") - time.time()) < 600
    assert val(m, "parley_loop_iteration_duration_seconds_count") > 0
    # The histogram's buckets are cumulative and end with +Inf = count.
    buckets = sorted((float(dict(l)["le"]), v) for (n, l), v in m.items()
                     if n == "parley_loop_iteration_duration_seconds_bucket")
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert buckets[-1] == (float("inf"), val(m, "parley_loop_iteration_duration_seconds_count"))
    a.close()
    b.close()


def test_counters_move_with_every_door(make_server):
    srv = metrics_server(make_server, "--flood-rate", "0", irc=True, web=True)
    plain = srv.client("pat")
    irc = IrcClient(srv.irc_port).register("ivy")
    irc.join("#lobby")
    ws = WsIrcClient(srv.web_port)
    assert ws.status == 101
    ws.register("wes")
    ws.join("#lobby")
    irc.sync()
    ws.sync()
    plain.sync()
    before = scrape(srv)
    assert val(before, "parley_connections", door="plain", transport="tcp") == 1
    assert val(before, "parley_connections", door="irc", transport="tcp") == 1
    assert val(before, "parley_connections", door="irc", transport="websocket") == 1
    assert val(before, "parley_users") == 3
    # The WebSocket came in through the web door's listener.
    assert val(before, "parley_connections_accepted_total", door="http") == 1
    assert val(before, "parley_connections_accepted_total", door="irc") == 1

    # One message in the room from the plain door: one line received
    # there, one delivery to each IRC user (nothing back to its sender).
    plain.send("hello everyone")
    irc.expect(r"PRIVMSG #lobby :hello everyone$")
    ws.expect(r"PRIVMSG #lobby :hello everyone$")
    after = scrape(srv)
    assert moved(before, after, "parley_lines_received_total", door="plain") == 1
    assert moved(before, after, "parley_deliveries_total", door="irc") == 2
    assert moved(before, after, "parley_deliveries_total", door="plain") == 0
    assert moved(before, after, "parley_messages_total", to="room") == 1
    assert moved(before, after, "parley_messages_total", to="private") == 0
    assert moved(before, after, "parley_received_bytes_total") >= len("hello everyone\n")
    assert moved(before, after, "parley_sent_bytes_total") >= 2 * len("hello everyone")
    # Each scrape is a connection of the metrics door, answered and closed.
    assert moved(before, after, "parley_connections_accepted_total", door="metrics") == 1
    assert moved(before, after, "parley_disconnects_total", reason="http_done") == 1

    # A private message from IRC to the plain user.
    before = after
    irc.send("PRIVMSG pat :psst")
    plain.expect(r"^\*ivy\* psst$")
    after = scrape(srv)
    assert moved(before, after, "parley_lines_received_total", door="irc") == 1
    assert moved(before, after, "parley_deliveries_total", door="plain") == 1
    assert moved(before, after, "parley_messages_total", to="private") == 1

    # Goodbyes: a /quit (whatever its words), an IRC QUIT, a WebSocket
    # that just goes away.
    before = after
    plain.send("/quit see you")
    plain.expect_closed()
    irc.send("QUIT :bye")
    irc.expect_closed()
    ws.sock.close()
    after = scrape_until(srv, lambda m: val(m, "parley_users") == 0)
    assert val(after, "parley_users") == 0
    assert moved(before, after, "parley_disconnects_total", reason="quit") == 2
    assert moved(before, after, "parley_disconnects_total", reason="peer_closed") == 1
    assert val(after, "parley_connections", door="irc", transport="websocket") == 0


def test_flood_delays_counted(make_server):
    srv = metrics_server(make_server, *NO_HISTORY, "--flood-burst", "5", "--flood-rate", "100")
    before = scrape(srv)
    # Ten lines at once with a burst of five: flood control holds some.
    c = srv.client("fast")
    c.send_raw(b"".join(b"/ping %d\n" % i for i in range(10)))
    c.expect(r"^-- pong 9$")
    after = scrape(srv)
    assert moved(before, after, "parley_flood_delayed_lines_total") >= 1
    assert moved(before, after, "parley_disconnects_total", reason="excess_flood") == 0
    c.close()


def test_sendq_exceeded_counted(make_server):
    srv = metrics_server(make_server, *NO_HISTORY, "--sendq", "65536", "--flood-rate", "0",
                         irc=True)
    sender = IrcClient(srv.irc_port).register("sender")
    sender.join("#flood")
    # A plain client in the room that never reads.
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", srv.port))
    slow.sendall(b"/nick slow\n/join #flood\n")
    sender.expect(r"^:slow!\S+ JOIN #flood")
    before = scrape(srv)
    # More than the kernel's socket buffers (up to 4 MiB on loopback) and
    # the 64 KiB sendq can hold.
    payload = "m" * 400
    for start in range(0, 20000, 100):
        sender.send_raw("".join("PRIVMSG #flood :%d %s\r\n" % (i, payload)
                                for i in range(start, start + 100)).encode())
        if start % 1000 == 0 and "slow: closed (sendq exceeded)" in srv.log_text():
            break
    after = scrape_until(srv, lambda m: moved(before, m, "parley_disconnects_total",
                                              reason="sendq_exceeded") >= 1, timeout=30)
    assert moved(before, after, "parley_disconnects_total", reason="sendq_exceeded") == 1
    assert moved(before, after, "parley_deliveries_total", door="plain") > 100
    slow.close()
    sender.close()


def test_tls_handshakes_and_failures(make_server):
    srv = metrics_server(make_server, tls=True)
    before = scrape(srv)
    good = connect(srv.tls_port, tls=True)
    good.settimeout(5)
    assert b"welcome" in good.recv(4096)
    # Plain text to the TLS port: the handshake fails.
    bad = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=5)
    bad.sendall(b"hello, this is no TLS\r\n" * 10)
    try:
        while bad.recv(4096):
            pass
    except OSError:
        pass
    bad.close()
    after = scrape_until(srv, lambda m: moved(before, m, "parley_tls_handshake_failures_total") >= 1)
    assert moved(before, after, "parley_tls_handshakes_total") == 1
    assert moved(before, after, "parley_tls_handshake_failures_total") == 1
    assert val(after, "parley_connections", door="plain", transport="tls") == 1
    assert moved(before, after, "parley_disconnects_total", reason="protocol_error") == 1
    good.close()


def test_logins_and_history_counted(make_server, tmp_path):
    data = tmp_path / "data"
    assert account_cli(data, "add", "alice", password="alicepass").returncode == 0
    srv = metrics_server(make_server, "--data-dir", str(data))
    before = scrape(srv)
    c = srv.client()
    c.send("/login alice wrongpass")
    c.expect(r"^!! login-failed")
    c.send("/login alice alicepass")
    c.expect(r"^-- you are logged in as alice$")
    # Another reader in the room: the message reaches it once committed.
    reader = srv.client("reader")
    c.send("remember this")
    reader.expect(r"^#lobby <alice> remember this$")
    c.send("/history #lobby")
    c.expect(r"remember this")
    c.sync()
    after = scrape(srv)
    assert moved(before, after, "parley_logins_total", result="failure") == 1
    assert moved(before, after, "parley_logins_total", result="success") == 1
    assert moved(before, after, "parley_history_events_written_total") >= 2  # a join, a message
    assert moved(before, after, "parley_history_commit_duration_seconds_count") >= 1
    assert moved(before, after, "parley_history_commit_events_sum") >= 2
    assert moved(before, after, "parley_history_query_duration_seconds_count") >= 1
    c.close()
    reader.close()


def test_no_history_families_without_history(make_server):
    srv = metrics_server(make_server, *NO_HISTORY)
    m = scrape(srv)
    assert not any(name.startswith("parley_history_") for name, _ in m)


def test_refuses_what_is_not_a_scrape(make_server):
    srv = metrics_server(make_server, *NO_HISTORY)
    port = srv.metrics_port
    status, headers, _ = http(port, "GET / HTTP/1.1\nHost: x\n\n")
    assert status == 404 and headers["connection"] == "close"
    assert http(port, "GET /metrics/x HTTP/1.1\nHost: x\n\n")[0] == 404
    status, headers, _ = http(port, "POST /metrics HTTP/1.1\nHost: x\nContent-Length: 0\n\n")
    assert status == 405 and headers["allow"] == "GET"
    assert http(port, "HEAD /metrics HTTP/1.1\nHost: x\n\n")[0] == 405
    assert http(port, "GET /metrics HTTP/1.1\n\n")[0] == 400      # no Host
    assert http(port, "GET /metrics HTTP/2.0\nHost: x\n\n")[0] == 505
    # Oversized: a request line, one header, the whole head.
    assert http(port, "GET /%s HTTP/1.1\nHost: x\n\n" % ("a" * 4000))[0] == 414
    assert http(port, "GET /metrics HTTP/1.1\nHost: x\nX-Big: %s\n\n" % ("b" * 4000))[0] == 431
    many = "".join("X-%d: %s\n" % (i, "c" * 100) for i in range(100))
    assert http(port, "GET /metrics HTTP/1.1\nHost: x\n%s\n" % many)[0] == 431
    # The metrics port speaks no chat.
    assert http(port, "NICK bob\nUSER b 0 * :b\n\n")[0] == 400
    # And it still answers.
    assert fetch(srv)[0] == 200


def test_bounded_connections(make_server):
    srv = metrics_server(make_server, *NO_HISTORY, "--max-per-ip", "0")
    idle = [socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=5)
            for _ in range(16)]
    # Each is counted once the server has taken it: the 17th is refused.
    deadline = time.monotonic() + 10
    while srv.log_text().count("connected on 127.0.0.1:%d" % srv.metrics_port) < 16:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sock = socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=5)
    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, _ = read_response(sock)
    assert status == 503 and "retry-after" in headers
    sock.close()
    for s in idle:
        s.close()
    # Those going frees the slots.
    deadline = time.monotonic() + 10
    while True:
        status = fetch(srv)[0]
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200


def test_request_on_the_handshake_deadline(make_server):
    srv = metrics_server(make_server, *NO_HISTORY, "--handshake-timeout", "1")
    sock = socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=5)
    sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # and nothing more
    try:
        assert sock.recv(4096) == b""
    except ConnectionResetError:
        pass
    sock.close()
    m = scrape_until(srv, lambda m: val(m, "parley_disconnects_total",
                                        reason="handshake_timeout") == 1)
    assert val(m, "parley_disconnects_total", reason="handshake_timeout") == 1


def test_sighup_adds_the_metrics_listener(make_server, tmp_path):
    from test_reload import hup, write_conf
    conf = tmp_path / "parleyd.conf"
    write_conf(conf, "# no metrics yet")
    srv = make_server(*NO_HISTORY, "--config", str(conf))
    srv.metrics_port = free_port()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=2).close()
    write_conf(conf, "metrics-listen 127.0.0.1:%d" % srv.metrics_port)
    assert "configuration reloaded" in hup(srv)
    a, b = srv.client("ann"), srv.client("ben")
    before = scrape(srv)
    # Counting messages and timing the loop start with the listener.
    a.send("counted")
    b.expect(r"^#lobby <ann> counted$")
    after = scrape(srv)
    assert moved(before, after, "parley_messages_total", to="room") == 1
    assert val(after, "parley_loop_iteration_duration_seconds_count") > 0
    assert val(after, "parley_users") == 2
    # And taken away again.
    write_conf(conf, "# no metrics again")
    hup(srv)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.metrics_port), timeout=2).close()
    a.close()
    b.close()
