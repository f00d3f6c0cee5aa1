"""Accepting and answering a client at scale (issue 17, W4): what each new
connection and each command's reply cost the server in syscalls, checked
through what the server says of it, never through time."""
import signal
import time

from chat import NO_HISTORY
from irc import IrcClient
from test_attacks import gone_events, server_socket_timer


# A command's reply is written by the before-sleep flush of the pass that
# read the command. It was once also announced to epoll (LOOP_WRITE, two
# epoll_ctl), and the flush then skipped a conn that watched for writing,
# so every reply waited for the next pass's EPOLLOUT: a second socket event
# per command, and a loop pass more for every step of a client's
# registration and JOIN (W4's 19,000).

ROUND_TRIPS = 20


def test_a_reply_costs_no_socket_event_of_its_own(make_server):
    srv = make_server(*NO_HISTORY, "--log-level", "debug", irc=True)
    c = IrcClient(srv.irc_port).register("tripper")
    port = c.sock.getsockname()[1]
    for _ in range(ROUND_TRIPS):
        c.sync()
    c.send("QUIT :bye")
    c.expect_closed()
    c.close()
    events = gone_events(srv, port)
    # One read per command (and the registration's, and the QUIT's); with a
    # write event per reply as well it was over 2 * ROUND_TRIPS.
    assert events <= ROUND_TRIPS + 6, "%d socket events for %d round trips" % (
        events, ROUND_TRIPS)


# Every accepted socket takes TCP_NODELAY and keepalive from its listener
# (set once there, not six setsockopt per connection): a SIGHUP that
# changes ping-interval must reach the listeners too, or the clients that
# come after it keep the old keepalive.

def test_keepalive_follows_ping_interval_after_sighup(make_server, tmp_path):
    conf = tmp_path / "parleyd.conf"
    conf.write_text("ping-interval 300\nping-timeout 8\n")
    srv = make_server("--config", str(conf), irc=True)
    before = IrcClient(srv.irc_port).register("before")
    conf.write_text("ping-interval 7\nping-timeout 8\n")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "SIGHUP: configuration reloaded" not in srv.log_text():
        assert time.monotonic() < deadline, srv.log_text()
        time.sleep(0.02)
    after = IrcClient(srv.irc_port).register("after")
    for client, most in ((before, 300), (after, 7)):
        client.sync()
        deadline = time.monotonic() + 5
        while True:  # kind 1 (retransmission) until the client's ACK
            kind, left = server_socket_timer(srv.irc_port, client.sock.getsockname()[1])
            if kind != 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert kind == 2 and most - 10 < left <= most, (client.nick, kind, left)
