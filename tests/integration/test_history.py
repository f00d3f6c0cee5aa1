"""History on disk (issue 12) against a real parleyd: what is stored, that
it outlives the server, the durability contract (a message is stored
before anyone receives it: kill -9 during a flood loses nothing a client
saw), the data-dir's errors at start, history off, and --backup.

The database is read with Python's sqlite3 module, apart from the
server's own queries (CHATHISTORY has tests of its own)."""
import os
import signal
import sqlite3
import time
import subprocess

from chat import PARLEYD, Server, free_port
from flood import Sender, flood, flood_end, hang_up, seen_at_least
from irc import IrcClient, parse

DB = "parley.db"


def rows(data_dir, sql="SELECT msgid, target, kind, sender, text, extra FROM events"):
    """The events stored in data_dir (after the server stopped, or while it
    runs: a reader of a WAL database sees what is committed)."""
    db = sqlite3.connect(str(data_dir / DB))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def start(tmp_path, *args, name="data"):
    return Server("--irc-listen", "127.0.0.1:%d" % free_port(), "--data-dir",
                  str(tmp_path / name), "--flood-rate", "0", "--max-per-ip", "0", *args)


def irc_port(srv):
    i = srv.cmd.index("--irc-listen")
    return int(srv.cmd[i + 1].rsplit(":", 1)[1])


def client(srv, nick, caps=None):
    return IrcClient(irc_port(srv)).register(nick, caps=caps)


def stop(srv):
    assert srv.stop() == 0, srv.log_text()


SK_PRIVMSG, SK_ACTION, SK_NOTICE, SK_JOIN, SK_PART, SK_QUIT, SK_NICK, SK_TOPIC, \
    SK_KICK, SK_MODE, SK_TAGMSG = range(1, 12)


def test_room_events_are_stored_with_their_msgid_and_survive_a_restart(tmp_path):
    srv = start(tmp_path)
    alice = client(srv, "alice", caps="message-tags echo-message")
    bob = client(srv, "bob")
    alice.join("#Room")
    bob.join("#Room")   # the room as its maker spelled it; stored folded
    alice.send("PRIVMSG #room :hello there")
    sent = parse(alice.expect(r"PRIVMSG #Room :hello there").string)
    alice.send("PRIVMSG #room :\x01ACTION waves\x01")
    alice.send("NOTICE #room :a notice")
    alice.send("TOPIC #room :the topic")
    alice.send("MODE #room +v bob")
    alice.send("@+typing=active TAGMSG #room")    # not stored: fleeting
    alice.send("@+draft/react=yes;+draft/reply=%s TAGMSG #room" % sent.tags["msgid"])
    alice.send("PRIVMSG bob :a private word")   # not stored (issue 13)
    bob.expect(r"MODE #Room \+v bob")
    bob.expect(r"PRIVMSG bob :a private word")
    alice.send("KICK #room bob :out")
    alice.expect(r"KICK #Room bob")
    alice.send("PART #room :later")
    alice.expect(r"PART #Room")
    alice.close()
    bob.close()
    stop(srv)

    got = rows(tmp_path / "data")
    kinds = [(k, t, e) for _, tgt, k, _, t, e in got if tgt == "#room"]
    for want in [(SK_PRIVMSG, "hello there", None), (SK_ACTION, "waves", None),
                 (SK_NOTICE, "a notice", None), (SK_TOPIC, "the topic", None),
                 (SK_MODE, "+v bob", None), (SK_KICK, "out", "bob"),
                 (SK_PART, "later", None), (SK_JOIN, None, None)]:
        assert want in kinds, (want, got)
    assert not [r for r in got if "private" in (r[4] or "")], got
    tagmsgs = rows(tmp_path / "data", "SELECT tags FROM events WHERE kind = 11")
    assert tagmsgs == [("+draft/react=yes;+draft/reply=%s" % sent.tags["msgid"],)], tagmsgs
    # The msgid every client saw is the one stored, with the sender's mask.
    by_id = {r[0]: r for r in got}
    assert by_id[sent.tags["msgid"]][3].startswith("alice!~u@"), got

    # Started again on the same data-dir: what was stored is there, and
    # more is added.
    srv = start(tmp_path)
    carol = client(srv, "carol")
    carol.join("#room")
    carol.send("PRIVMSG #room :after the restart")
    carol.send("QUIT :bye")
    carol.expect_closed()
    stop(srv)
    texts = [r[4] for r in rows(tmp_path / "data")]
    assert "hello there" in texts and "after the restart" in texts, texts


def test_quit_and_nick_are_stored_once_in_every_room_of_the_user(tmp_path):
    srv = start(tmp_path)
    alice = client(srv, "alice")
    bob = client(srv, "bob")
    for room in ("#a", "#b", "#c"):
        alice.join(room)
    bob.join("#a")
    bob.join("#b")
    alice.send("NICK alicia")
    bob.expect(r":alice!\S+ NICK :?alicia")
    alice.send("QUIT :gone")
    bob.expect(r":alicia!\S+ QUIT")
    bob.close()
    stop(srv)
    got = rows(tmp_path / "data")
    nicks = sorted((tgt, extra) for _, tgt, k, _, _, extra in got if k == SK_NICK and
                   extra == "alicia")
    quits = sorted((tgt, text) for _, tgt, k, sender, text, _ in got if k == SK_QUIT and
                   sender.startswith("alicia!"))
    assert nicks == [("#a", "alicia"), ("#b", "alicia"), ("#c", "alicia")], got
    assert quits == [("#a", "Quit: gone"), ("#b", "Quit: gone"), ("#c", "Quit: gone")], got
    # One event, one msgid, in each room.
    assert len({m for m, _, k, s, _, _ in got if k == SK_QUIT and s.startswith("alicia!")}) == 1


def test_redact_marks_the_stored_message(tmp_path):
    srv = start(tmp_path)
    caps = "message-tags echo-message draft/message-redaction"
    alice = client(srv, "alice", caps=caps)
    alice.join("#r")
    alice.send("PRIVMSG #r :oops, a password")
    msgid = parse(alice.expect(r"PRIVMSG #r :oops").string).tags["msgid"]
    alice.send("REDACT #r %s :typo" % msgid)
    alice.expect(r"REDACT #r %s" % msgid)
    alice.close()
    stop(srv)
    got = rows(tmp_path / "data", "SELECT text, redacted FROM events WHERE msgid = '%s'" % msgid)
    assert got == [(None, 1)], got


def test_kill_9_during_a_flood_loses_nothing_a_client_saw(tmp_path):
    """The durability contract: a message is in the database before any
    client receives it, so whatever a receiver saw is there after kill -9
    (SQLite's WAL is in the OS's page cache once COMMIT returns; only a
    power loss could take it)."""
    srv = start(tmp_path)
    receivers, senders = flood(irc_port(srv))
    # Until every receiver has seen a good many (or a while has passed, on
    # a slow machine), then in the middle of it.
    seen_at_least(receivers, 500)
    os.killpg(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait()
    seen = flood_end(receivers, senders)
    srv.stop()
    assert min(len(r.seen) for _, r in receivers) > 0, "the flood never got going"
    stored = {m for (m,) in rows(tmp_path / "data", "SELECT msgid FROM events WHERE kind = 1")}
    missing = seen - stored
    assert not missing, "%d of %d messages clients saw are not stored: %s" % (
        len(missing), len(seen), sorted(missing)[:5])


def run_parleyd(*args):
    return subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(), *args],
                          capture_output=True, text=True, timeout=20)


def one_line_exit_2(p, needle):
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert needle in p.stderr, p.stderr


def test_a_data_dir_that_cannot_be_made_or_written_is_one_line_and_exit_2(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("not a directory\n")
    # Its parent is a file: it cannot be made.
    one_line_exit_2(run_parleyd("--data-dir", str(a_file / "data")), "cannot be created")
    # ... and says what to do instead.
    one_line_exit_2(run_parleyd("--data-dir", str(a_file / "data")),
                    "(--data-dir DIR names another, --history off keeps none)")
    # It is a file: said so (it said "is not writable: Not a directory").
    one_line_exit_2(run_parleyd("--data-dir", str(a_file)),
                    "data-dir %s is not a directory (" % a_file)
    # /proc takes no directories, whoever asks (root included).
    one_line_exit_2(run_parleyd("--data-dir", "/proc/parley-data"), "/proc/parley-data")


def test_a_second_parleyd_on_the_same_data_dir_exits_2(tmp_path):
    srv = start(tmp_path)
    one_line_exit_2(run_parleyd("--data-dir", str(tmp_path / "data")),
                    "locked by another parleyd")
    # The first goes on.
    c = client(srv, "alice")
    c.join("#still")
    c.close()
    stop(srv)


def test_a_corrupt_database_is_one_line_and_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / DB).write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    one_line_exit_2(run_parleyd("--data-dir", str(data)), "parleyd: history:")


def test_history_off_makes_no_database(tmp_path):
    data = tmp_path / "data"
    srv = start(tmp_path, "--history", "off")
    c = client(srv, "alice")
    c.join("#x")
    c.send("PRIVMSG #x :not kept")
    c.send("QUIT")
    c.expect_closed()
    log = srv.log_text()
    stop(srv)
    assert not data.exists(), list(data.iterdir())
    assert " info history: off (nothing is stored)" in log, log


def test_the_log_says_where_history_is_kept(tmp_path):
    """An operator's first questions at start: where the history is, and
    what is kept (the log said nothing of it)."""
    srv = start(tmp_path)
    client(srv, "alice").close()
    log = srv.log_text()
    stop(srv)
    assert " info history: in %s/parley.db (SQLite), kept 365 days, at most 100000" \
        " events a room\n" % (tmp_path / "data") in log, log
    srv = start(tmp_path, "--history-max-age", "0", "--history-max-rows", "0")
    client(srv, "alice").close()
    log = srv.log_text()
    stop(srv)
    assert "(SQLite), kept forever, any number of events a room\n" in log, log


def test_backup_while_the_server_runs(tmp_path):
    srv = start(tmp_path)
    c = client(srv, "alice")
    c.join("#b")
    for i in range(50):
        c.send("PRIVMSG #b :line %d" % i)
    c.send("PING :synced")
    c.expect(r"PONG .*synced")
    copy = tmp_path / "copy.db"
    # Under the usual umask 022, as from a shell: the copy is still its
    # owner's alone (it holds password hashes and private messages).
    p = subprocess.run([str(PARLEYD), "--data-dir", str(tmp_path / "data"), "--backup",
                        str(copy)], capture_output=True, text=True, timeout=30,
                       preexec_fn=lambda: os.umask(0o022))
    assert p.returncode == 0, p.stderr
    mode = copy.stat().st_mode & 0o777
    db = sqlite3.connect(str(copy))
    texts = {t for (t,) in db.execute("SELECT text FROM events WHERE kind = 1")}
    db.close()
    assert {"line %d" % i for i in range(50)} <= texts
    # A data-dir with no database is an error, not an empty copy.
    p = subprocess.run([str(PARLEYD), "--data-dir", str(tmp_path / "none"), "--backup",
                        str(tmp_path / "x.db")], capture_output=True, text=True, timeout=30)
    one_line_exit_2(p, "parleyd: backup: no database in data-dir %s" % (tmp_path / "none"))
    assert "give the server's --data-dir, or its --config" in p.stderr, p.stderr
    # Not onto the live database or its log, by any name: the copy's write
    # would put an older moment back over what the server commits.
    for target, what in (("data/parley.db", "database"), ("data/../data/parley.db-wal", "wal")):
        p = subprocess.run([str(PARLEYD), "--data-dir", str(tmp_path / "data"), "--backup",
                            str(tmp_path / target)], capture_output=True, text=True, timeout=30)
        one_line_exit_2(p, "parleyd: backup: %s is the data-dir's own %s: name another file"
                        % (tmp_path / target, what))
    c.send("PRIVMSG #b :after the backups")
    c.send("PING :again")
    c.expect(r"PONG .*again")
    c.close()
    stop(srv)
    assert mode == 0o600, oct(mode)
    texts = {t for (_, _, _, _, t, _) in rows(tmp_path / "data")}
    assert {"line %d" % i for i in range(50)} | {"after the backups"} <= texts


class SteadySender(Sender):
    """Says numbered lines into #flood, 100 every 10 ms: faster than a
    database held up can take, slower than the receivers (Python threads)
    read."""

    def run(self):
        self.drain.start()
        i = 0
        try:
            while True:
                self.sock.sendall(b"".join(b"PRIVMSG #flood :%s %d\r\n" % (self.name.encode(), i + k)
                                           for k in range(100)))
                i += 100
                time.sleep(0.01)
        except OSError:
            pass


def test_a_database_behind_the_chat_slows_it_and_loses_nobody(tmp_path):
    """While the database cannot keep up (here another process holds its
    write lock for 3 s), the server takes no more lines from clients once
    STORE_BEHIND_MAX (4,096) events wait to be committed, and goes on when
    it has caught up. Before, it read on: the receivers' output, waiting
    for the commit, pushed them past their sendq ("sendq exceeded"), and
    past 65,536 waiting events the rest went unstored. Now every receiver
    stays and sees every line said, each of them stored."""
    srv = start(tmp_path)
    receivers, senders = flood(irc_port(srv), n=2, sender=SteadySender)
    seen_at_least(receivers, 200)
    lock = sqlite3.connect(str(tmp_path / "data" / DB), timeout=20, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        time.sleep(3)
        lock.execute("ROLLBACK")
    finally:
        lock.close()
    time.sleep(1)
    for c, _ in senders:
        hang_up(c)
    for _, s in senders:
        s.join(10)
    # Until the store has taken the senders' last lines.
    counted, stored = -1, 0
    while stored != counted:
        time.sleep(0.5)
        counted, stored = stored, rows(tmp_path / "data", "SELECT count(*) FROM events WHERE kind = 1")[0][0]
    seen_at_least(receivers, stored)
    log = srv.log_text()
    seen = flood_end(receivers, senders)
    stop(srv)
    assert "sendq exceeded" not in log, log[-2000:]
    assert "behind the chat: clients' lines wait" in log, log[-2000:]
    assert [len(r.seen) for _, r in receivers] == [stored, stored]
    texts = rows(tmp_path / "data", "SELECT text FROM events WHERE kind = 1")
    for c, _ in senders:
        said = sorted(int(t.split()[1]) for (t,) in texts if t.split()[0] == c.nick)
        assert said == list(range(len(said))), "%s: lines lost" % c.nick
    assert len(seen) == stored


def newcomer_in_a_stall(tmp_path, lines, answer):
    """A newcomer says lines while the database is behind a flood (another
    process holds the write lock 3.5 s: under STORE_BUSY_MS, 5 s, past
    which the writer's commit fails and drops its batch), on a server with
    a registration timeout of 2 s; answer(newcomer) then reads what it
    gets. Returns whether the server said it was behind, that answer and
    the server's log."""
    srv = start(tmp_path, "--registration-timeout", "2")
    try:
        receivers, senders = flood(irc_port(srv), n=2, sender=SteadySender)
        seen_at_least(receivers, 200)
        newcomer = IrcClient(irc_port(srv))
        lock = sqlite3.connect(str(tmp_path / "data" / DB), timeout=20, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")
            held_at = time.monotonic()
            while "behind the chat" not in srv.log_text() and time.monotonic() < held_at + 3:
                time.sleep(0.02)
            behind = "behind the chat: clients' lines wait" in srv.log_text()
            for line in lines:
                newcomer.send(line)
            time.sleep(max(0.0, held_at + 3.5 - time.monotonic()))
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        got = answer(newcomer)
        for c, _ in senders:
            hang_up(c)
        flood_end(receivers, senders)
        newcomer.close()
        log = srv.log_text()
    finally:
        rc = srv.stop()
    assert rc == 0, srv.log_text()
    return behind, got, log


def test_a_newcomer_registers_while_the_database_is_behind(tmp_path):
    """Registration adds no events, so the rule that holds the chat's lines
    while the store is behind does not hold a newcomer's NICK and USER:
    with a registration timeout shorter than the stall (2 s against 3.5 s),
    the newcomer is registered, and welcomed once the epochs before its
    welcome are committed (the durability gate holds every reply made
    while events wait to be sealed: it cannot tell which of them show
    one). Before, its lines waited with everyone's and it was cut off,
    "Registration timed out", for a database it never wrote to."""
    behind, welcome, log = newcomer_in_a_stall(
        tmp_path, ["NICK newcomer", "USER u 0 * :Real Name"],
        lambda newcomer: newcomer.collect(r"^ERROR |^:\S+ 001 "))
    assert behind, log[-2000:]
    assert " 001 newcomer " in welcome[-1], welcome
    assert "Registration timed out" not in log, log[-2000:]


def test_a_stalled_database_drops_nobody_for_silence(tmp_path):
    """While the database cannot commit (another process holds its write
    lock for 4 s), every client's output queued since the epoch in flight
    waits for it, a PING the server sends for silence with the rest: no
    client can answer it, so the server's own stall is not a client's
    silence. Before, carol, idle for ping-interval + ping-timeout (1 + 1 s
    here) behind a message that waited for the commit, was dropped for
    "Ping timeout". The silence counts again once the database is back:
    eve, who never answers a PING, is still dropped."""
    srv = start(tmp_path, "--ping-interval", "1", "--ping-timeout", "1")
    try:
        carol, dave = client(srv, "carol"), client(srv, "dave")
        eve = IrcClient(irc_port(srv), auto_pong=False).register("eve")
        for c in (carol, dave, eve):
            c.join("#r")
        carol.sync()
        lock = sqlite3.connect(str(tmp_path / "data" / DB), timeout=20, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")
            carol.sync()
            dave.send("PRIVMSG #r :while the database is stuck")
            time.sleep(4)
            lock.execute("ROLLBACK")
        finally:
            lock.close()
        try:
            carol.expect(r"PRIVMSG #r :while the database is stuck")
            carol.sync()
        except (AssertionError, OSError):
            pass   # the log says why
        eve.expect_closed(timeout=30)
        log = srv.log_text()
        for c in (carol, dave, eve):
            c.close()
    finally:
        rc = srv.stop()
    assert rc == 0, srv.log_text()
    assert "carol: closed" not in log, log[-3000:]
    assert "eve: closed (Ping timeout" in log, log[-3000:]


def test_a_newcomer_negotiating_caps_registers_while_the_database_is_behind(tmp_path):
    """As above, with CAP LS first, as most clients register: the answer
    to CAP LS waits with every reply while the database holds the chat
    back (the durability gate cannot tell it shows no event), so the
    client cannot send CAP END and registration waits for the stall. The
    registration timeout counts from the end of the stall, as ping-timeout
    does: before, a newcomer was cut off ("Registration timed out") for a
    database it never wrote to."""
    def answer(newcomer):
        got = newcomer.collect(r"^ERROR |^:\S+ CAP \* LS ")
        if "ERROR" not in got[-1]:
            newcomer.send("CAP END")
            got += newcomer.collect(r"^ERROR |^:\S+ 001 ")
        return got
    behind, got, log = newcomer_in_a_stall(
        tmp_path, ["CAP LS 302", "NICK newcomer", "USER u 0 * :Real Name"], answer)
    assert behind, log[-2000:]
    assert " 001 newcomer " in got[-1], got
    assert "Registration timed out" not in log, log[-2000:]
