"""TLS on the plain and IRC doors: registration and chat over TLS, WHOIS
671, a handshake that stalls (it delays nobody and is dropped), modern
protocol versions only, SIGHUP reloading the certificate without dropping
anyone, and clear errors for bad certificate files."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from chat import NO_HISTORY, PARLEYD, Client, Server, free_port, make_cert, tls_context
from irc import IrcClient


@pytest.fixture
def tls_server():
    srv = Server("--handshake-timeout", "1", irc=True, tls=True)
    yield srv
    rc = srv.stop()
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


def cert_of(port):
    """The DER certificate the server presents now."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with tls_context().wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def pem_to_der(path):
    return ssl.PEM_cert_to_DER_cert(path.read_text())


def test_plain_door_over_tls_talks_with_plain_tcp(tls_server):
    secure = Client(tls_server.tls_port, tls=True)
    assert secure.sock.version() in ("TLSv1.2", "TLSv1.3")
    secure.set_nick("alice")
    clear = tls_server.client("bob")
    secure.send("hello from tls")
    clear.expect(r"^#lobby <alice> hello from tls$")
    clear.send("hello from tcp")
    secure.expect(r"^#lobby <bob> hello from tcp$")


def test_irc_registration_over_tls_and_whois_671(tls_server):
    secure = IrcClient(tls_server.irc_tls_port, tls=True).register("sec")
    clear = IrcClient(tls_server.irc_port).register("clr")
    clear.send("WHOIS sec")
    lines = clear.collect(r" 318 ")
    assert any(" 671 clr sec :is using a secure connection" in l for l in lines), lines
    secure.send("WHOIS clr")
    lines = secure.collect(r" 318 ")
    assert not any(" 671 " in l for l in lines), lines
    secure.join("#tls")
    clear.join("#tls")
    secure.send("PRIVMSG #tls :encrypted hello")
    clear.expect(r"^:sec!\S+ PRIVMSG #tls :encrypted hello$")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_12_is_enough_and_11_is_refused(tls_server):
    ctx = tls_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            assert s.version() == "TLSv1.2"
            assert s.recv(100).startswith(b"-- welcome")
    old = tls_context()
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            old.wrap_socket(raw).recv(100)
    deadline = time.monotonic() + 5
    while "unsupported protocol" not in tls_server.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "TLS handshake failed: unsupported protocol" in tls_server.log_text()


@pytest.mark.parametrize("stall", [b"", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"],
                         ids=["silent", "half-hello"])
def test_stalled_handshake_delays_nobody_and_is_dropped(tls_server, stall):
    staller = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10)
    staller.sendall(stall)
    # While it stalls, others connect over TLS and talk at once.
    a = Client(tls_server.tls_port, tls=True)
    a.set_nick("quick")
    b = IrcClient(tls_server.irc_tls_port, tls=True).register("quicker")
    b.join("#lobby")
    a.send("still here")
    b.expect(r"PRIVMSG #lobby :still here$")
    # The staller is dropped after handshake-timeout (1 s here).
    staller.settimeout(10)
    assert staller.recv(100) == b""
    assert "Handshake timed out" in tls_server.log_text()
    a.send("after")
    b.expect(r"PRIVMSG #lobby :after$")


def test_plain_text_on_a_tls_port_is_dropped(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5) as s:
        s.sendall(b"/nick oops\nhello\n")
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    assert "TLS handshake failed" in tls_server.log_text()
    Client(tls_server.tls_port, tls=True).set_nick("fine")


@pytest.mark.parametrize("flood", [["--flood-rate", "0"], ["--flood-burst", "5", "--flood-rate", "500"]],
                         ids=["unlimited", "flood-control"])
def test_many_lines_in_one_tls_record_are_all_read(flood):
    # 300 lines in one write: more than the framer takes at once, so some
    # wait decrypted inside OpenSSL, where epoll cannot see them; with
    # flood control they wait there for the timer.
    srv = Server(*flood, tls=True)
    try:
        sender = Client(srv.tls_port, tls=True)
        sender.set_nick("bulk")
        reader = srv.client("reader")
        lines = b"".join(b"line %04d padding padding padding\n" % i for i in range(300))
        sender.send_raw(lines)
        for i in range(300):
            reader.expect(r"^#lobby <bulk> line %04d " % i, timeout=15)
    finally:
        assert srv.stop() == 0, srv.log_text()


def test_large_output_over_tls_arrives_whole_and_in_order():
    srv = Server("--flood-rate", "0", irc=True, tls=True)
    try:
        large_output(srv)
    finally:
        assert srv.stop() == 0, srv.log_text()


def large_output(tls_server):
    reader = Client(tls_server.tls_port, tls=True)
    reader.set_nick("big")
    writer = IrcClient(tls_server.irc_port).register("w")
    writer.join("#lobby")
    body = "x" * 400
    for i in range(150):
        writer.send("PRIVMSG #lobby :%04d %s" % (i, body))
    for i in range(150):
        reader.expect(r"^#lobby <w> %04d x{400}$" % i, timeout=15)


def test_sighup_reloads_the_certificate_without_dropping_anyone(tmp_path):
    cert_a, key_a = make_cert("first")
    cert_b, key_b = make_cert("second")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(cert_a, cert)
    shutil.copy(key_a, key)
    port = free_port()
    srv = Server("--listen", "127.0.0.1:%d tls" % port, "--tls-cert", str(cert),
                 "--tls-key", str(key))
    try:
        assert cert_of(port) == pem_to_der(cert_a)
        old = Client(port, tls=True)
        old.set_nick("old")
        shutil.copy(cert_b, cert)
        shutil.copy(key_b, key)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while cert_of(port) != pem_to_der(cert_b):
            assert time.monotonic() < deadline, "the new certificate was not used"
            time.sleep(0.05)
        # The session that began before the reload goes on.
        new = Client(port, tls=True)
        new.set_nick("new")
        old.send("still talking")
        new.expect(r"^#lobby <old> still talking$")
        # A broken key: the reload is refused, the old pair stays.
        key.write_text("not a key\n")
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "kept the old certificate" not in srv.log_text():
            assert time.monotonic() < deadline, srv.log_text()
            time.sleep(0.05)
        assert "tls-key %s: not a usable PEM private key" % key in srv.log_text()
        assert cert_of(port) == pem_to_der(cert_b)
        new.send("and still")
        old.expect(r"^#lobby <new> and still$")
    finally:
        assert srv.stop() == 0, srv.log_text()


def run_parleyd(*args):
    return subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d tls" % free_port(),
                           *NO_HISTORY, *args],
                          capture_output=True, text=True, timeout=10)


def test_tls_listener_without_a_certificate_is_an_error():
    r = run_parleyd()
    assert r.returncode == 2
    assert "needs tls-cert and tls-key" in r.stderr


def test_missing_or_wrong_files_are_clear_errors(tmp_path):
    cert, key = make_cert()
    other_cert, other_key = make_cert("other")
    r = run_parleyd("--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope.pem"))
    assert r.returncode == 2
    assert r.stderr.strip() == "parleyd: cannot read tls-key %s: No such file or directory" % (
        tmp_path / "nope.pem")
    if os.geteuid() != 0:  # root reads anything
        unreadable = tmp_path / "secret.pem"
        shutil.copy(key, unreadable)
        unreadable.chmod(0)
        r = run_parleyd("--tls-cert", str(cert), "--tls-key", str(unreadable))
        assert r.returncode == 2
        assert "cannot read tls-key %s: Permission denied" % unreadable in r.stderr
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello\n")
    r = run_parleyd("--tls-cert", str(garbage), "--tls-key", str(key))
    assert r.returncode == 2
    assert "tls-cert %s: not a usable PEM certificate" % garbage in r.stderr
    r = run_parleyd("--tls-cert", str(cert), "--tls-key", str(other_key))
    assert r.returncode == 2
    assert "tls-key %s does not belong to tls-cert %s" % (other_key, cert) in r.stderr
