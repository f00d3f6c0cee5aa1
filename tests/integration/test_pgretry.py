"""An account write on PostgreSQL whose connection breaks is done once,
never twice (src/store/pg_accounts.c, in_transaction).

A proxy (real sockets) stands between parleyd and a throwaway PostgreSQL
and forwards every byte both ways; armed, it cuts parleyd's side of one
connection at the next simple-query COMMIT (or BEGIN), so that parleyd
sees its connection die there:

- after the COMMIT was forwarded, before its answer came back: the
  write is committed and parleyd cannot know it from that connection.
  It asks PostgreSQL on another (the transaction's status by its id) and
  answers success; it used to run the write again, and tell the person
  who had just registered that the name was taken (and bump
  accounts_serial twice for a password change);
- with the COMMIT never forwarded: the server rolls the transaction
  back, parleyd learns so, and runs the write again, once;
- with the COMMIT held (the server's transaction still open, neither
  committed nor rolled back, for longer than parleyd waits): parleyd
  cannot know, and says the account database cannot be read now;
  nothing is written twice when the COMMIT is let through after;
- at BEGIN (a pooled connection found dead at its first statement, as
  after a PostgreSQL restart): nothing was sent, and the write is run
  again on a new connection.

The database is read with psql."""
import socket
import threading

import pytest

from chat import Server, free_port
from irc import IrcClient
from test_irc_accounts import authenticate, numerics, plain, start as sasl_start

_started = []


@pytest.fixture(autouse=True)
def stop_servers():
    yield
    while _started:
        _started.pop().stop()


# Startup packets with no message type before them: SSLRequest and
# GSSENCRequest are followed by another untyped packet (the startup one).
_NEGOTIATION_CODES = (80877103, 80877104)


def _shut(socks):
    """Each socket shut down both ways (its peer sees the end at once)
    and closed."""
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


class CuttingProxy:
    """A TCP proxy in front of PostgreSQL on 127.0.0.1:upstream_port that
    forwards everything, reading the client's messages to find simple
    queries ('Q'). arm(word, mode) makes it act on the next 'Q' whose
    first statement is word (COMMIT or BEGIN), on one connection, once:

    - "forward": the message goes to the server, then parleyd's side is
      closed (its answer never reaches parleyd) and the server's side
      half-closed (the server runs what it got, then sees the end);
    - "drop": parleyd's side is closed, the message never sent;
    - "hold": parleyd's side is closed, the message kept, the server's
      side left open (its transaction stays open) until release().

    fired is set when it acted. cut() ends every connection and refuses
    new ones (the link to the database down) until restore(). close()
    ends every connection and thread."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.armed = None
        self.fired = threading.Event()
        self.held = None  # (server socket, the held message)
        self.socks = []
        self.threads = []
        self.closing = False
        self.down = False
        self._thread(self._accept)

    def url(self, db):
        return "postgresql://parley@127.0.0.1:%d/%s" % (self.port, db)

    def arm(self, word, mode):
        with self.lock:
            self.fired.clear()
            self.armed = (word.encode(), mode)

    def cut(self):
        """Every connection ended, new ones refused until restore()."""
        with self.lock:
            self.down = True
            socks, self.socks = self.socks, []
        _shut(socks)

    def restore(self):
        with self.lock:
            self.down = False

    def release(self):
        """The held message sent on, the server's side half-closed."""
        with self.lock:
            held, self.held = self.held, None
        if held is not None:
            ss, msg = held
            ss.sendall(msg)
            ss.shutdown(socket.SHUT_WR)

    def _thread(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        with self.lock:
            self.threads.append(t)
        t.start()

    def _accept(self):
        while True:
            try:
                cs, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                down = self.down
            if down:
                cs.close()
                continue
            try:
                ss = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                cs.close()
                continue
            with self.lock:
                if self.closing:
                    cs.close()
                    ss.close()
                    return
                self.socks += [cs, ss]
            cut = threading.Event()
            self._thread(self._client_to_server, cs, ss, cut)
            self._thread(self._server_to_client, ss, cs, cut)

    def _act_on(self, msg):
        """The mode to act in on this 'Q' message, or None (disarmed
        then: once)."""
        first = msg[5:].rstrip(b"\0").split(b";")[0].strip().upper()
        with self.lock:
            if self.armed is None or first != self.armed[0]:
                return None
            mode = self.armed[1]
            self.armed = None
        return mode

    def _client_to_server(self, cs, ss, cut):
        buf, startup = b"", True
        try:
            while True:
                data = cs.recv(65536)
                if not data:
                    break
                buf += data
                out = b""
                while True:
                    if startup:
                        if len(buf) < 8 or len(buf) < int.from_bytes(buf[:4], "big"):
                            break
                        n = int.from_bytes(buf[:4], "big")
                        startup = int.from_bytes(buf[4:8], "big") in _NEGOTIATION_CODES
                    else:
                        if len(buf) < 5 or len(buf) < 1 + int.from_bytes(buf[1:5], "big"):
                            break
                        n = 1 + int.from_bytes(buf[1:5], "big")
                    msg, buf = buf[:n], buf[n:]
                    mode = self._act_on(msg) if msg[:1] == b"Q" and not startup else None
                    if mode is None:
                        out += msg
                        continue
                    # parleyd's side first: no answer can reach it now.
                    cut.set()
                    cs.shutdown(socket.SHUT_RDWR)
                    ss.sendall(out)
                    if mode == "forward":
                        ss.sendall(msg)
                    if mode == "hold":
                        with self.lock:
                            self.held = (ss, msg)
                    else:
                        ss.shutdown(socket.SHUT_WR)
                    self.fired.set()
                    return
                ss.sendall(out)
        except OSError:
            pass
        if not cut.is_set():
            try:
                ss.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _server_to_client(self, ss, cs, cut):
        try:
            while True:
                data = ss.recv(65536)
                if not data:
                    break
                if not cut.is_set():
                    cs.sendall(data)
        except OSError:
            pass
        try:
            cs.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self):
        with self.lock:
            self.closing = True
            socks, threads = list(self.socks), list(self.threads)
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)  # wakes the accept
        except OSError:
            pass
        self.lsock.close()
        _shut(socks)
        for t in threads:
            t.join(10)


@pytest.fixture
def proxied(pg_cluster, pg_url):
    """(proxy, the database's name, a parleyd on it through the proxy)."""
    db = pg_url.rsplit("/", 1)[1]
    proxy = CuttingProxy(pg_cluster.port)
    try:
        srv = Server("--irc-listen", "127.0.0.1:%d" % free_port(), "--database",
                     proxy.url(db), "--flood-rate", "0", "--max-per-ip", "0")
        _started.append(srv)
        yield proxy, db, srv
    finally:
        while _started:
            _started.pop().stop()
        proxy.close()


def irc_port(srv):
    i = srv.cmd.index("--irc-listen")
    return int(srv.cmd[i + 1].rsplit(":", 1)[1])


def sql(cluster, db, query):
    return cluster.psql(query, db=db).strip()


def serial(cluster, db):
    return int(sql(cluster, db, "SELECT value FROM meta WHERE key = 'accounts_serial'"))


def logs_in(srv, name, password):
    c = sasl_start(srv, client=IrcClient(irc_port(srv)))
    try:
        return numerics(authenticate(c, "PLAIN", plain(name, password)))[-2:] == ["900", "903"]
    finally:
        c.close()


@pytest.mark.parametrize("mode", ["forward", "drop"])
def test_a_registration_whose_commit_answer_is_lost_is_done_once(pg_cluster, proxied, mode):
    """The COMMIT's answer lost: committed ("forward") or not ("drop"),
    the person is told it is registered, and the database holds one
    account, accounts_serial bumped once."""
    proxy, db, srv = proxied
    c = IrcClient(irc_port(srv)).register("carol")
    before = serial(pg_cluster, db)
    proxy.arm("COMMIT", mode)
    c.send("REGISTER * * correct-horse-battery")
    told = c.expect(r" REGISTER | FAIL REGISTER ").string
    assert proxy.fired.is_set(), "the proxy never cut a COMMIT"
    assert " REGISTER SUCCESS carol " in told, told
    assert sql(pg_cluster, db, "SELECT name FROM accounts") == "carol"
    assert serial(pg_cluster, db) == before + 1
    c.close()
    assert logs_in(srv, "carol", "correct-horse-battery")


def test_a_password_change_whose_commit_answer_is_lost_bumps_the_serial_once(
        pg_cluster, proxied):
    """Run again, a password change applies twice: told done both ways,
    but accounts_serial (every node's sign of a change) went up by two."""
    proxy, db, srv = proxied
    c = IrcClient(irc_port(srv)).register("dave")
    c.send("REGISTER * * first-passphrase")
    c.expect(r" REGISTER SUCCESS ")
    before = serial(pg_cluster, db)
    proxy.arm("COMMIT", "forward")
    c.send("PRIVMSG NickServ :PASSWD first-passphrase second-passphrase")
    told = c.expect(r"NickServ!\S+ NOTICE dave :(.*)$").group(1)
    assert proxy.fired.is_set()
    assert told == "Your password is changed", told
    assert serial(pg_cluster, db) == before + 1
    c.close()
    assert logs_in(srv, "dave", "second-passphrase")


def test_a_commit_whose_outcome_stays_unknown_is_a_failure_not_a_second_write(
        pg_cluster, proxied):
    """The COMMIT held back: the server's transaction is neither committed
    nor rolled back for as long as parleyd asks. It says the account
    database cannot be read now (it does not know), and writes nothing
    again; the COMMIT let through afterwards makes the one account."""
    proxy, db, srv = proxied
    c = IrcClient(irc_port(srv)).register("erin")
    before = serial(pg_cluster, db)
    proxy.arm("COMMIT", "hold")
    c.send("REGISTER * * erin-passphrase")
    told = c.expect(r" REGISTER | FAIL REGISTER ").string
    assert proxy.fired.is_set()
    assert " FAIL REGISTER TEMPORARILY_UNAVAILABLE erin " in told, told
    assert "account database cannot be read now" in told, told
    proxy.release()
    # Registering again waits for the held transaction (its row), then
    # finds the account it made.
    c.send("REGISTER * * erin-passphrase")
    told = c.expect(r" REGISTER | FAIL REGISTER ").string
    assert " FAIL REGISTER ACCOUNT_EXISTS erin " in told, told
    assert sql(pg_cluster, db, "SELECT count(*) FROM accounts") == "1"
    assert serial(pg_cluster, db) == before + 1
    c.close()
    assert logs_in(srv, "erin", "erin-passphrase")


def test_a_connection_found_dead_at_begin_is_tried_again_once(pg_cluster, proxied):
    """What a PostgreSQL restart does to a pooled connection: dead at its
    first statement, before anything was written; the write is run again
    on a new connection, and done."""
    proxy, db, srv = proxied
    c = IrcClient(irc_port(srv)).register("fay")
    proxy.arm("BEGIN", "drop")
    c.send("REGISTER * * fay-passphrase")
    told = c.expect(r" REGISTER | FAIL REGISTER ").string
    assert proxy.fired.is_set()
    assert " REGISTER SUCCESS fay " in told, told
    assert sql(pg_cluster, db, "SELECT name FROM accounts") == "fay"
    c.close()
