"""A flood into #flood over IRC, for the tests of the durability contract
(test_history.py on SQLite, test_pgstore.py on PostgreSQL): receivers that
keep the msgid of every message they were sent, senders that say numbered
lines until the server goes or they are closed."""
import socket
import threading
import time

from irc import IrcClient


class Receiver(threading.Thread):
    """Reads an IRC connection to its end, keeping the msgid of every
    PRIVMSG it was sent."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock = sock
        self.seen = []

    def run(self):
        buf = b""
        self.sock.settimeout(60)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\r\n")
                for line in lines:
                    if b" PRIVMSG #flood " in line and line.startswith(b"@"):
                        tags = dict(t.partition(b"=")[::2] for t in line[1:line.index(b" ")].split(b";"))
                        self.seen.append(tags[b"msgid"].decode())
        except OSError:
            pass


class Sender(threading.Thread):
    """Says numbered lines into #flood until the server goes, reading (and
    dropping) what it is sent meanwhile, lest its sendq fill."""

    def __init__(self, sock, name):
        super().__init__(daemon=True)
        self.sock = sock
        self.name = name
        self.drain = threading.Thread(target=self.read, daemon=True)

    def read(self):
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def run(self):
        self.drain.start()
        i = 0
        try:
            while True:
                batch = b"".join(b"PRIVMSG #flood :%s %d\r\n" % (self.name.encode(), i + k)
                                 for k in range(20))
                self.sock.sendall(batch)
                i += 20
        except OSError:
            pass


class PacedSender(Sender):
    """Says numbered lines into #flood at a pace its receivers (Python
    threads on a busy machine) keep up with, until it is closed: the load
    goes on for as long as a test needs, with no sendq overflowing."""

    def run(self):
        self.drain.start()
        i = 0
        try:
            while True:
                batch = b"".join(b"PRIVMSG #flood :%s %d\r\n" % (self.name.encode(), i + k)
                                 for k in range(10))
                self.sock.sendall(batch)
                i += 10
                time.sleep(0.05)
        except OSError:
            pass


def flood(port, n=3, sender=Sender):
    """n receivers and n senders in #flood on the IRC port, running:
    ([(client, Receiver)], [(client, sender)])."""
    receivers, senders = [], []
    for i in range(n):
        c = IrcClient(port).register("r%d" % i, caps="message-tags")
        c.join("#flood")
        receivers.append((c, Receiver(c.sock)))
    for i in range(n):
        c = IrcClient(port).register("s%d" % i)
        c.join("#flood")
        senders.append((c, sender(c.sock, c.nick)))
    for _, r in receivers:
        r.start()
    for _, s in senders:
        s.start()
    return receivers, senders


def seen_at_least(receivers, n, timeout=30):
    """Until every receiver has seen n messages, or timeout seconds have
    passed (on a slow machine: the test's own checks say what is short)."""
    deadline = time.monotonic() + timeout
    while min(len(r.seen) for _, r in receivers) < n and time.monotonic() < deadline:
        time.sleep(0.01)


def hang_up(c):
    """Closes c's connection, waking its threads blocked on it (a close
    alone does not: they would wait for the server, or their timeout)."""
    try:
        c.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    c.close()


def flood_end(receivers, senders):
    """Closes every client and waits for its threads: the msgids any
    receiver saw."""
    for c, _ in receivers:
        hang_up(c)
    for _, r in receivers:
        r.join(60)
    for c, s in senders:
        hang_up(c)
        s.join(60)
        s.drain.join(60)
    seen = set()
    for _, r in receivers:
        seen.update(r.seen)
    return seen
