"""parley-ceiling, the benchmarks' reference broadcaster (bench/ceiling.c):
parley-bench's IRC workloads run against it losing nothing, and it keeps
its one bound (a client's unsent output) and survives bad input."""
import os
import signal
import socket
import subprocess
import time

import pytest

from chat import BIN, free_port
from test_bench import run_bench

CEILING = BIN / "parley-ceiling"


@pytest.fixture
def ceiling():
    """Starts parley-ceiling on a free port; yields (process, port), then
    kills its process group whatever happened."""
    started = []

    def start(*args):
        port = free_port()
        proc = subprocess.Popen([str(CEILING), "--listen", "127.0.0.1:%d" % port, *args],
                                start_new_session=True)
        started.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                assert proc.poll() is None, "parley-ceiling exited %s" % proc.returncode
                time.sleep(0.05)
        raise AssertionError("parley-ceiling did not listen")
    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def irc(port, nick):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"NICK %s\r\nUSER u 0 * :x\r\n" % nick.encode())
    return s


def read_until(s, needle):
    data = b""
    while needle not in data:
        chunk = s.recv(65536)
        assert chunk, "closed before %r; got %d bytes" % (needle, len(data))
        data += chunk
    return data


@pytest.mark.parametrize("load", [["--window", "50"], ["--rate", "300"]])
def test_bench_workloads_lose_nothing(ceiling, load):
    proc, port = ceiling()
    rc, r, out = run_bench("--port", str(port), "--pid", str(proc.pid),
                           "--clients", "60", "--rooms", "6", "--senders", "12",
                           *load, "--duration", "1", "--warmup", "0.3")
    assert rc == 0, out
    assert r["expected"] == 9 * r["sent"] > 0
    assert r["delivered"] == r["expected"], out
    assert r["lost"] == 0 and r["duplicated"] == 0 and r["errors"] == 0, out


def test_registration_join_ping_and_relay(ceiling):
    _, port = ceiling()
    a, b = irc(port, "alice"), irc(port, "bob")
    assert b":ceiling 001 alice " in read_until(a, b"\r\n")
    read_until(b, b"\r\n")
    a.sendall(b"JOIN #r\r\n")
    assert read_until(a, b" 366 ").startswith(b":alice!u@h JOIN #r\r\n")
    b.sendall(b"JOIN #R\r\nPING :tok\r\n")
    got = read_until(b, b"PONG ceiling :tok\r\n")
    assert b":bob!u@h JOIN #r\r\n" in got
    assert read_until(a, b"\r\n") == b":bob!u@h JOIN #r\r\n"
    # To another room than its own, or to a nick: nothing relayed.
    a.sendall(b"PRIVMSG #elsewhere :no\r\nPRIVMSG bob :no\r\nPRIVMSG #r :hello there\r\n")
    assert read_until(b, b"\r\n") == b":alice!u@h PRIVMSG #r :hello there\r\n"


def test_a_reader_past_the_bound_is_dropped_alone(ceiling):
    """With --sendq 262144, a member that never reads is dropped once its
    unsent output passes the bound; the sender and a reading member carry on."""
    _, port = ceiling("--sendq", "262144")
    a, slow, c = irc(port, "a"), irc(port, "slow"), irc(port, "c")
    for s in (a, slow, c):
        read_until(s, b"\r\n")
        s.sendall(b"JOIN #r\r\n")
        read_until(s, b" 366 ")
    read_until(a, b"JOIN")         # slow's and c's joins, seen by a and slow
    line = b"PRIVMSG #r :" + b"y" * 400 + b"\r\n"
    relayed = len(b":a!u@h ") + len(line)
    # 200 rounds of 100 lines, 8 MB in all: more than every buffer on the
    # way to slow. c reads each round before the next: never far behind.
    for _ in range(200):
        a.sendall(line * 100)
        want, got = 100 * relayed, 0
        while got < want:
            chunk = c.recv(want - got)
            assert chunk, "c was dropped"
            got += len(chunk)
    # slow's connection was closed by the server: after what its buffers held, EOF.
    slow.settimeout(10)
    total = 0
    while True:
        try:
            chunk = slow.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        total += len(chunk)
    assert total < 200 * 100 * relayed


def test_bad_input_closes_only_that_client(ceiling):
    proc, port = ceiling()
    a = irc(port, "a")
    read_until(a, b"\r\n")
    bad = socket.create_connection(("127.0.0.1", port), timeout=5)
    bad.sendall(b"JOIN #early\r\n\x00\xff\r\n:only-a-prefix\r\n\r\n \r\nNICK " + b"x" * 100 + b"\r\n")
    bad.sendall(b"A" * 5000)       # a line longer than 4096 bytes: closed
    assert bad.recv(100) == b""
    a.sendall(b"PING :still\r\n")
    assert read_until(a, b"PONG") and proc.poll() is None


def test_second_listener_and_version(ceiling):
    """--irc-listen is a second door to the same rooms (bench/ab passes it),
    and --version answers, as bench/ab asks every side."""
    second = free_port()
    _, port = ceiling("--irc-listen", "127.0.0.1:%d" % second)
    a, b = irc(port, "a"), irc(second, "b")
    for s in (a, b):
        read_until(s, b"\r\n")
        s.sendall(b"JOIN #r\r\n")
        read_until(s, b" 366 ")
    a.sendall(b"PRIVMSG #r :across\r\n")
    assert read_until(b, b":across\r\n").endswith(b":a!u@h PRIVMSG #r :across\r\n")
    out = subprocess.run([str(CEILING), "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and "parley-ceiling" in out.stdout
