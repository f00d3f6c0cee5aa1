#!/usr/bin/python3
"""Memory per connection for the worst chat state one user can make the
server hold (issue 9, finding 7): each of N IRC clients creates as many
rooms as it may (--rooms), sets the longest topic and as many of the
longest ban masks as the server takes in each (--bans, --mask-len), sets
the longest away message and real name, then stays. The server's VmRSS
(/proc/PID/status) is read once every client is registered and has joined
nothing, and again when all of them are done:

    bytes per connection = (VmRSS after - VmRSS before) / N

Flood control is off and sendq large, so that only the state counts.
Standard library only; one client at a time (the server's replies are read
as they come, so nobody is dropped for sendq).

    /usr/bin/python3 bench/state_mem.py                  # N=20, 50 rooms x 100 bans of 480 bytes
    /usr/bin/python3 bench/state_mem.py --mask-len 113 --bans 50

Prints what the server accepted and the figure; the last line is JSON.
"""
import argparse
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid):
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Client:
    def __init__(self, port, nick):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.counts = {}
        self.sock.sendall(("NICK %s\r\nUSER u 0 * :%s\r\n" % (nick, "r" * 200)).encode())
        self.until(b" 001 ")

    def send(self, *lines):
        self.sock.sendall(b"".join(l.encode() + b"\r\n" for l in lines))
        self.drain(0)

    def drain(self, wait):
        """Reads what has come; counts replies by command."""
        while select.select([self.sock], [], [], wait)[0]:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("server closed the connection: %r" % self.buf[-300:])
            self.buf += chunk
            *lines, self.buf = self.buf.split(b"\r\n")
            for l in lines:
                parts = l.split(b" ")
                if len(parts) > 1:
                    self.counts[parts[1]] = self.counts.get(parts[1], 0) + 1
                if b" PONG " in l and b"done" in l:
                    return True
                if l.startswith(b"PING"):
                    self.sock.sendall(b"PONG" + l[4:] + b"\r\n")
            wait = 0
        return False

    def until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("closed")
            self.buf += chunk
        self.buf = b""

    def sync(self):
        self.sock.sendall(b"PING done\r\n")
        while not self.drain(5):
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=20, help="clients (default 20)")
    ap.add_argument("--rooms", type=int, default=50, help="rooms each creates (default 50)")
    ap.add_argument("--bans", type=int, default=100, help="bans tried in each (default 100)")
    ap.add_argument("--mask-len", type=int, default=480, help="ban mask bytes (default 480)")
    ap.add_argument("--topic-len", type=int, default=390, help="topic bytes (default 390)")
    ap.add_argument("--parleyd", default=str(ROOT / "parleyd"))
    args = ap.parse_args()

    port = free_port()
    proc = subprocess.Popen([args.parleyd, "--irc-listen", "127.0.0.1:%d" % port,
                             "--listen", "127.0.0.1:%d" % free_port(),
                             "--flood-rate", "0", "--sendq", "1073741824", "--max-per-ip", "0",
                             "--log-level", "warn", "--history", "off"])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        clients = [Client(port, "u%d" % i) for i in range(args.n)]
        for c in clients:
            c.sync()
        time.sleep(0.5)
        before = rss(proc.pid)
        for i, c in enumerate(clients):
            for r in range(args.rooms):
                room = "#s%d_%d" % (i, r)
                lines = ["JOIN " + room, "TOPIC %s :%s" % (room, "t" * args.topic_len)]
                for b in range(args.bans):
                    head = "%d_%d_%d!" % (i, r, b)
                    lines.append("MODE %s +b %s" % (room, head + "m" * (args.mask_len - len(head))))
                c.send(*lines)
            c.send("AWAY :" + "a" * 300)
            c.sync()
        time.sleep(0.5)
        after = rss(proc.pid)
        accepted = {k.decode(): v for k, v in clients[0].counts.items()
                    if k in (b"MODE", b"TOPIC", b"JOIN", b"405", b"478", b"696", b"403")}
        per = (after - before) / args.n
        print("parleyd %s: %d clients, each %d rooms x %d bans of %d bytes, topics of %d"
              % (args.parleyd, args.n, args.rooms, args.bans, args.mask_len, args.topic_len))
        print("replies to the first client: %s" % accepted)
        print("VmRSS before %.1f MB, after %.1f MB: %.0f bytes per connection"
              % (before / 1e6, after / 1e6, per))
        print(json.dumps({"clients": args.n, "rooms": args.rooms, "bans": args.bans,
                          "mask_len": args.mask_len, "topic_len": args.topic_len,
                          "rss_before": before, "rss_after": after,
                          "bytes_per_connection": round(per), "replies": accepted}))
        for c in clients:
            c.sock.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
