"""parley-bench against a real parleyd (every message reaches every other
member of its room, once, in order, through either door) and against a fake
IRC server that loses, repeats, refuses nicknames and pings (the bench must
notice and cope)."""
import asyncio
import json
import subprocess
import threading

import pytest

from chat import BENCH, free_port


def run_bench(*args, timeout=60):
    """Runs parley-bench; returns (exit code, parsed JSON line, all output)."""
    proc = subprocess.run([str(BENCH), "--json-only", *args],
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, "no JSON line:\n%s\n%s" % (proc.stdout, proc.stderr)
    return proc.returncode, json.loads(lines[0]), proc.stdout + proc.stderr


def bench_server(make_server):
    irc_port = free_port()
    srv = make_server("--irc-listen", "127.0.0.1:%d" % irc_port,
                      "--flood-rate", "0", "--max-per-ip", "0", "--log-level", "warn")
    return srv, irc_port


@pytest.mark.parametrize("proto", ["irc", "plain"])
def test_window_delivers_everything_once(make_server, proto):
    srv, irc_port = bench_server(make_server)
    port = irc_port if proto == "irc" else srv.port
    rc, r, out = run_bench("--proto", proto, "--port", str(port),
                           "--pid", str(srv.proc.pid),
                           "--clients", "50", "--rooms", "5", "--senders", "5",
                           "--window", "20", "--duration", "2", "--warmup", "0.5")
    assert rc == 0, out
    assert r["proto"] == proto and r["mode"] == "window"
    assert r["clients"] == 50 and r["rooms"] == 5 and r["senders"] == 5
    assert r["sent"] > 0
    # Each room has 10 members: a message is due to the 9 others.
    assert r["expected"] == 9 * r["sent"]
    assert r["delivered"] == r["expected"] > 0, out
    assert r["lost"] == 0 and r["duplicated"] == 0 and r["errors"] == 0, out
    assert r["p50_ms"] is not None and r["p50_ms"] <= r["max_ms"]
    assert r["server_cpu_s"] is not None and r["rss_after_kb"] is not None


@pytest.mark.parametrize("proto", ["irc", "plain"])
def test_rate_delivers_everything_once(make_server, proto):
    srv, irc_port = bench_server(make_server)
    port = irc_port if proto == "irc" else srv.port
    rc, r, out = run_bench("--proto", proto, "--port", str(port),
                           "--clients", "30", "--rooms", "3", "--senders", "6",
                           "--rate", "200", "--duration", "1", "--warmup", "0.2")
    assert rc == 0, out
    assert r["mode"] == "rate" and r["rate"] == 200 and r["window"] is None
    assert r["delivered"] == r["expected"] > 0, out
    assert r["lost"] == 0 and r["duplicated"] == 0 and r["errors"] == 0, out


def test_idle_only_connects(make_server):
    srv, irc_port = bench_server(make_server)
    rc, r, out = run_bench("--port", str(irc_port), "--pid", str(srv.proc.pid),
                           "--clients", "40", "--rooms", "4", "--idle",
                           "--duration", "0.2")
    assert rc == 0, out
    assert r["mode"] == "idle" and r["sent"] == 0 and r["errors"] == 0
    assert r["connect_s"] is not None and r["rss_per_conn_bytes"] is not None


@pytest.mark.parametrize("proto", ["irc", "plain"])
def test_nickname_in_use_gets_a_suffix(make_server, proto):
    """A client already holding b0 does not stop bench client 0 joining."""
    srv, irc_port = bench_server(make_server)
    squatter = srv.client("b0")
    port = irc_port if proto == "irc" else srv.port
    try:
        rc, r, out = run_bench("--proto", proto, "--port", str(port),
                               "--clients", "4", "--rooms", "2", "--senders", "2",
                               "--window", "4", "--duration", "0.5", "--warmup", "0")
        assert rc == 0, out
        assert r["delivered"] == r["expected"] > 0
    finally:
        squatter.close()


def test_refused_connection_is_an_error():
    rc, r, out = run_bench("--port", str(free_port()), "--clients", "3",
                           "--duration", "0.2", "--setup-timeout", "5")
    assert rc == 1
    assert r["errors"] >= 1 and r["connect_s"] is None


@pytest.mark.parametrize("args", [
    ["--proto", "smtp"],
    ["--clients", "0"],
    ["--clients", "3", "--rooms", "4"],
    ["--window", "5", "--rate", "10"],
    ["--clients", "2", "--rooms", "2"],        # a sender alone in its room
    ["--size", "100000"],
    ["--no-such-option"],
])
def test_bad_options_exit_2(args):
    proc = subprocess.run([str(BENCH), *args], capture_output=True, text=True,
                          timeout=10)
    assert proc.returncode == 2, proc.stderr
    assert "parley-bench:" in proc.stderr


def test_help_lists_every_option():
    out = subprocess.run([str(BENCH), "--help"], capture_output=True, text=True,
                         timeout=10).stdout
    for opt in ["--proto", "--host", "--port", "--clients", "--connect-concurrency",
                "--rooms", "--senders", "--nick-prefix", "--size", "--duration",
                "--warmup", "--window", "--rate", "--pid", "--idle", "--json-only",
                "--drain", "--setup-timeout", "--help"]:
        assert opt in out, opt


class FakeIrc:
    """A minimal IRC server that relays channel messages, and can drop or
    repeat every Nth delivery, answer the first NICK of each client with
    433, and PING every client once it is registered: the cases parleyd
    never produces, to prove parley-bench notices them."""

    def __init__(self, drop=0, dup=0, nick_taken=False, ping=False):
        self.port = free_port()
        self.drop, self.dup = drop, dup
        self.nick_taken, self.ping = nick_taken, ping
        self.deliveries = 0
        self.pongs = 0
        self.rooms = {}
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        assert started.wait(5)

    def _run(self, started):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port))
        started.set()
        self.loop.run_forever()
        # Stopped: close the listener and end every client task.
        self.server.close()
        tasks = asyncio.all_tasks(self.loop)
        for t in tasks:
            t.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    def _relay(self, room, sender, line):
        for w in self.rooms.get(room, []):
            if w is sender:
                continue
            self.deliveries += 1
            if self.drop and self.deliveries % self.drop == 0:
                continue
            w.write(line)
            if self.dup and self.deliveries % self.dup == 0:
                w.write(line)

    async def _client(self, reader, writer):
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _session(self, reader, writer):
        nick, user, refused, welcomed = None, False, False, False
        while True:
            raw = await reader.readline()
            if not raw:
                break
            words = raw.decode().rstrip("\r\n").split(" ", 2)
            cmd = words[0].upper()
            if cmd == "NICK" and self.nick_taken and not refused:
                refused = True
                writer.write(b":fake 433 * %s :Nickname is already in use\r\n"
                             % words[1].encode())
            elif cmd == "NICK":
                nick = words[1]
            elif cmd == "USER":
                user = True
            if nick and user and not welcomed:
                welcomed = True
                writer.write(b":fake 001 %s :Welcome\r\n" % nick.encode())
                if self.ping:
                    writer.write(b"PING :fake-token\r\n")
            if cmd == "PONG" and words[1] == ":fake-token":
                self.pongs += 1
            elif cmd == "JOIN" and nick is not None:
                self.rooms.setdefault(words[1], []).append(writer)
                writer.write(b":%s!u@h JOIN %s\r\n" % (nick.encode(), words[1].encode()))
            elif cmd == "PRIVMSG":
                self._relay(words[1], writer, b":%s!u@h PRIVMSG %s %s\r\n"
                            % (nick.encode(), words[1].encode(), words[2].encode()))
            await writer.drain()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def run_against_fake(fake, *extra):
    return run_bench("--port", str(fake.port), "--clients", "12", "--rooms", "2",
                     "--senders", "4", "--window", "8", "--duration", "1",
                     "--warmup", "0", "--drain", "0.5", *extra)


def test_lost_deliveries_are_reported():
    fake = FakeIrc(drop=37)
    try:
        rc, r, out = run_against_fake(fake)
    finally:
        fake.stop()
    assert rc == 1, out
    assert r["lost"] > 0 and r["gaps"] > 0 and r["duplicated"] == 0, out
    assert r["delivered"] + r["lost"] == r["expected"]


def test_duplicated_deliveries_are_reported():
    fake = FakeIrc(dup=41)
    try:
        rc, r, out = run_against_fake(fake)
    finally:
        fake.stop()
    assert rc == 1, out
    assert r["duplicated"] > 0 and r["lost"] == 0, out
    assert r["delivered"] == r["expected"] > 0


def test_irc_nick_in_use_and_ping():
    """Every first NICK is refused with 433, and every client is PINGed."""
    fake = FakeIrc(nick_taken=True, ping=True)
    try:
        rc, r, out = run_against_fake(fake)
        pongs = fake.pongs
    finally:
        fake.stop()
    assert rc == 0, out
    assert r["delivered"] == r["expected"] > 0
    assert pongs == 12


def test_parleyd_pings_are_answered(make_server):
    """Receivers never speak on their own; parleyd's PINGs must get PONGs,
    or it drops them ("Ping timeout") and their deliveries are lost.
    A receiver is pinged after 1 s of silence and dropped after 4 s: the
    run lasts 6 s, so one that never answers is dropped inside it, and one
    that answers has 3 s to (a loaded machine stalled the bench past the 1 s
    it had with --ping-timeout 1: ci11a, 2026-12-03)."""
    irc_port = free_port()
    make_server("--irc-listen", "127.0.0.1:%d" % irc_port, "--flood-rate", "0",
                "--max-per-ip", "0", "--ping-interval", "1", "--ping-timeout", "3")
    rc, r, out = run_bench("--port", str(irc_port), "--clients", "20", "--rooms", "2",
                           "--senders", "2", "--rate", "20", "--duration", "6",
                           "--warmup", "0")
    assert rc == 0, out
    assert r["delivered"] == r["expected"] > 0 and r["errors"] == 0
