"""The log: a reader that stops reading never stalls the server (lines
past a bound are dropped and counted, then one line says how many), and
log-format json writes one JSON object per line."""
import fcntl
import os
import select
import time

from chat import NO_HISTORY, Client

# Clients that connect, talk and quit while nobody reads the log: each
# logs a few lines at debug, far more than a pipe (64 KiB) and the
# server's queue for it (256 KiB) hold.
STALL_CLIENTS = 1500


def read_available(fd, wait=0.2):
    """What the pipe's read end holds now (and within wait of going quiet)."""
    out = b""
    while True:
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return out
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return out
        out += chunk


def test_unread_log_pipe_never_stalls_the_server(make_server):
    r, w = os.pipe()
    try:
        fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
        srv = make_server(*NO_HISTORY, "--log-level", "debug", "--max-per-ip", "0",
                          "--flood-rate", "0", stderr=w)
        os.close(w)
        w = None
        watcher = srv.client("watcher")
        for i in range(STALL_CLIENTS):
            c = Client(srv.port)
            c.send("hello %d" % i)
            c.send("/quit")
            c.expect_closed()
            if i % 100 == 0:
                watcher.expect("hello %d" % i)
        # Still accepting and answering, with the pipe full all along.
        last = srv.client("last")
        last.send("still here")
        watcher.expect("still here")
        last.sync()
        # The reader comes back: what was queued comes, and one line says
        # how many were dropped meanwhile, with nothing more to log (the
        # server writes as soon as the pipe takes it).
        text = b""
        deadline = time.monotonic() + 10
        while b"lines dropped" not in text and time.monotonic() < deadline:
            text += read_available(r)
        assert b"lines dropped" in text, text[-2000:]
        notice = [line for line in text.decode(errors="replace").splitlines()
                  if "lines dropped" in line]
        assert len(notice) == 1 and int(notice[0].split("log: ")[1].split()[0]) > 0, notice
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def test_log_burst_waits_for_a_slow_reader(make_server):
    """More than the pipe holds, less than the queue: nothing is lost when
    the reader comes back."""
    r, w = os.pipe()
    try:
        fcntl.fcntl(r, fcntl.F_SETFL, os.O_NONBLOCK)
        srv = make_server(*NO_HISTORY, "--max-per-ip", "0", stderr=w)
        os.close(w)
        w = None
        # About 200 bytes of log each (connected, closed): 500 make about
        # 100 KiB, past the pipe's 64 KiB.
        n = 500
        for i in range(n):
            c = Client(srv.port)
            c.send("/quit")
            c.expect_closed()
        srv.client("last").sync()
        text = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = read_available(r, 0.5)
            text += got
            if not got and text.count(b"closed (Quit)") >= n:
                break
        assert len(text) > 65536
        assert b"lines dropped" not in text, text[-2000:]
        assert text.count(b"closed (Quit)") >= n
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def test_log_format_json_every_line_parses(make_server):
    """Every line is one JSON object, whatever clients put in it; lines
    about a connection name it."""
    import json
    from irc import connect
    srv = make_server(*NO_HISTORY, "--log-format", "json", "--log-level", "debug",
                      "--oper", "root:pw", irc=True)
    a = connect(srv, "alice")
    # An OPER name is logged: quotes, a backslash, an escape sequence,
    # a C1 control and bytes that are not UTF-8.
    a.send_raw(b'OPER "x\\y\x1b[2J\xc2\x9b\xff\xfe" wrong\r\n')
    a.expect_numeric("464")
    a.send("OPER root pw")
    a.expect_numeric("381")
    a.close()
    c = srv.client("bob")
    c.send("/quit")
    c.expect_closed()
    srv.stop()
    lines = srv.log_text().splitlines()
    assert len(lines) > 5
    records = [json.loads(line) for line in lines]
    for r in records:
        assert set(r) >= {"time", "level", "msg"}, r
        assert r["level"] in ("error", "warn", "info", "debug")
    failed = [r for r in records if "failed OPER" in r["msg"]]
    assert len(failed) == 1
    assert '"x\\y\x1b[2J\x9b\ufffd\ufffd"' in failed[0]["msg"]
    about = [r for r in records if "connected on" in r["msg"] or "closed (" in r["msg"]
             or "OPER" in r["msg"] or "registered" in r["msg"]]
    assert len(about) >= 6
    for r in about:
        assert isinstance(r["conn"], int) and r["conn"] > 0, r
        assert r["msg"].startswith(r["addr"]), r
    # One connection's lines share its id; another's differ.
    alice = {r["conn"] for r in records if "alice" in r["msg"]}
    bob = {r["conn"] for r in records if "bob" in r["msg"]}
    assert len(alice) == 1 and len(bob) == 1 and alice != bob


def test_text_log_names_the_connection(server):
    c = server.client("carol")
    c.send("/quit")
    c.expect_closed()
    server.client("dave").sync()
    log = server.log_text()
    closed = [line for line in log.splitlines() if "carol: closed" in line]
    assert len(closed) == 1
    conn = closed[0].split(" info ")[1].split()[0]
    assert conn.startswith("conn=")
    connected = [line for line in log.splitlines()
                 if " info %s " % conn in line and "connected on" in line]
    assert len(connected) == 1, log
