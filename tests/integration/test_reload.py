"""SIGHUP reads the config file again: what can change live does (limits,
the MOTD, the log level, listeners opened and closed), what cannot says so
in the log, a file with an error changes nothing, and nobody connected is
disconnected."""
import signal
import socket
import time

import pytest

from chat import NO_HISTORY, Client, free_port
from irc import IrcClient


def write_conf(path, *lines):
    path.write_text("".join(line + "\n" for line in lines))


def hup(srv, timeout=5):
    """Sends SIGHUP and waits until the server has handled it: the log's
    last SIGHUP line says whether the reload took or not; returns it."""
    done = ("SIGHUP: configuration reloaded", "nothing changed")

    def count():
        return sum(line.count(d) for line in srv.log_text().splitlines() for d in done)
    before = count()
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while count() == before:
        assert time.monotonic() < deadline, srv.log_text()
        time.sleep(0.02)
    return [line for line in srv.log_text().splitlines() if any(d in line for d in done)][-1]


def refused(port):
    c = Client(port, welcome=False)
    c.expect(r"^!! server-full: too many connections from your address")
    c.expect_closed()


def test_sighup_changes_max_per_ip_and_keeps_everyone(make_server, tmp_path):
    conf = tmp_path / "parleyd.conf"
    write_conf(conf, "max-per-ip 2")
    srv = make_server(*NO_HISTORY, "--config", str(conf))
    a, b = srv.client("a"), srv.client("b")
    refused(srv.port)
    write_conf(conf, "max-per-ip 3")
    assert "reloaded, 1 option changed" in hup(srv)
    assert "SIGHUP: max-per-ip changed" in srv.log_text()
    c = srv.client("c")
    refused(srv.port)
    # Nobody was dropped: the first two still talk.
    a.send("after the reload")
    b.expect(r"<a> after the reload$")
    c.expect(r"<a> after the reload$")


def test_broken_config_keeps_the_running_one(make_server, tmp_path):
    conf = tmp_path / "parleyd.conf"
    write_conf(conf, "max-per-ip 1", "log-level info")
    srv = make_server(*NO_HISTORY, "--config", str(conf))
    a = srv.client("a")
    refused(srv.port)
    # A good change with a bad line: none of it is taken.
    write_conf(conf, "max-per-ip 5", "log-level debug", "max-clients many")
    assert "the configuration has an error: nothing changed" in hup(srv)
    assert "max-clients wants a whole number" in srv.log_text()
    refused(srv.port)
    assert "debug" not in srv.log_text().split("nothing changed")[-1]
    # A listener that cannot be bound: nothing is taken either.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        write_conf(conf, "max-per-ip 5", "irc-listen 127.0.0.1:%d" % taken.getsockname()[1])
        assert "nothing changed" in hup(srv)
        assert "Address already in use" in srv.log_text()
    refused(srv.port)
    a.sync()
    # The same file, fixed, is taken.
    write_conf(conf, "max-per-ip 5")
    assert "reloaded" in hup(srv)
    srv.client("b")


def test_sighup_changes_the_log_level(make_server, tmp_path):
    conf = tmp_path / "parleyd.conf"
    write_conf(conf, "log-level warn")
    srv = make_server(*NO_HISTORY, "--config", str(conf))
    quiet = srv.client("quiet")
    quiet.sync()
    assert "connected on" not in srv.log_text()
    write_conf(conf, "log-level debug")
    hup(srv)
    loud = srv.client("loud")
    loud.send("/quit")
    loud.expect_closed()
    quiet.sync()
    log = srv.log_text()
    assert "connected on" in log and "loud: closed (Quit)" in log
    assert " debug " in log


def irc_client(port, nick):
    c = IrcClient(port)
    c.register(nick)
    return c


def test_sighup_changes_the_motd(make_server, tmp_path):
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("the old words\n")
    new.write_text("the new words\n")
    conf = tmp_path / "parleyd.conf"
    write_conf(conf, "motd-file %s" % old)
    srv = make_server(*NO_HISTORY, "--config", str(conf), irc=True)
    c = irc_client(srv.irc_port, "alice")
    c.send("MOTD")
    c.expect_numeric("372", r":- the old words$")
    write_conf(conf, "motd-file %s" % new)
    hup(srv)
    c.send("MOTD")
    c.expect_numeric("372", r":- the new words$")
    # A motd-file that cannot be read is an error in the file: kept.
    write_conf(conf, "motd-file %s" % (tmp_path / "missing.txt"))
    assert "nothing changed" in hup(srv)
    c.send("MOTD")
    c.expect_numeric("372", r":- the new words$")


def test_sighup_opens_and_closes_listeners(make_server, tmp_path):
    first, second = free_port(), free_port()
    conf = tmp_path / "parleyd.conf"
    write_conf(conf, "irc-listen 127.0.0.1:%d" % first)
    srv = make_server(*NO_HISTORY, "--config", str(conf))
    old = irc_client(first, "old")
    old.join("#x")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", second), timeout=2).close()
    write_conf(conf, "irc-listen 127.0.0.1:%d" % second)
    hup(srv)
    assert "no longer listening on 127.0.0.1:%d (irc)" % first in srv.log_text()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", first), timeout=2).close()
    new = irc_client(second, "new")
    new.join("#x")
    # The conn that came through the closed listener stays.
    old.send("PRIVMSG #x :still here")
    new.expect(r"^:old!\S+ PRIVMSG #x :still here$")
    # Both at once, and the plain listener given as a flag untouched.
    write_conf(conf, "irc-listen 127.0.0.1:%d" % second, "irc-listen 127.0.0.1:%d" % first)
    hup(srv)
    irc_client(first, "again")
    srv.client("plain").sync()


def test_restart_only_option_says_so(make_server, tmp_path):
    conf = tmp_path / "parleyd.conf"
    write_conf(conf, "workers 2", "max-rooms 100")
    srv = make_server(*NO_HISTORY, "--config", str(conf))
    write_conf(conf, "workers 3", "history-max-rows 5", "max-rooms 100")
    line = hup(srv)
    assert "reloaded, 0 options changed" in line
    log = srv.log_text()
    assert log.count("needs a restart") == 2
    assert "workers changed; it needs a restart" in log
    assert "history-max-rows changed; it needs a restart" in log
    srv.client("a").sync()
