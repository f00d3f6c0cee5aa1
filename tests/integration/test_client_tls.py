"""parley --tls against a real parleyd's tls listener: the certificate
trusted with --tls-ca, refused without it, not checked with --insecure
(and said so), a wrong name, a plain port, and a burst of lines read
through TLS; typing over TLS in tmux is in test_client.py."""
import contextlib
import subprocess

import pytest

from chat import Server, kill_group, make_cert
from test_client import PARLEY, TIMEOUT, LineReader, env


@pytest.fixture
def tls_server():
    srv = Server("--flood-burst", "1000", "--flood-rate", "1000", tls=True)
    yield srv
    rc = srv.stop()
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


def run(*args, script="hello over tls\n"):
    return subprocess.run([PARLEY, *map(str, args)], input=script,
                          capture_output=True, text=True, env=env(),
                          timeout=TIMEOUT)


def one_line(stderr):
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_tls_ca_trusts_the_servers_certificate(tls_server):
    watcher = tls_server.client("watcher")
    p = run("127.0.0.1:%d" % tls_server.tls_port, "--tls", "--tls-ca",
            tls_server.cert, "--nick", "secure",
            script="hello over tls\n")
    watcher.expect(r"^#lobby <secure> hello over tls$")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert "-- goodbye" in p.stdout.splitlines()
    # The server saw a TLS connection, not a plain one.
    assert "on 127.0.0.1:%d" % tls_server.tls_port in tls_server.log_text()


def test_without_the_ca_the_certificate_is_refused(tls_server):
    watcher = tls_server.client("watcher")
    addr = "127.0.0.1:%d" % tls_server.tls_port
    p = run(addr, "--tls", "--nick", "trusting")
    assert p.returncode == 1
    line = one_line(p.stderr)
    assert addr in line and "not trusted" in line and "self-signed" in line, line
    assert "--tls-ca" in line and "--insecure" in line, line
    assert p.stdout == ""
    # Nothing was said: the client never got in.
    watcher.expect_nothing(r"trusting|hello")


def test_insecure_connects_and_warns(tls_server):
    watcher = tls_server.client("watcher")
    addr = "127.0.0.1:%d" % tls_server.tls_port
    p = run(addr, "--insecure", "--nick", "careless")
    watcher.expect(r"^#lobby <careless> hello over tls$")
    assert p.returncode == 0, p.stderr
    line = one_line(p.stderr)
    assert "warning" in line and "--insecure" in line and addr in line, line
    assert "not checked" in line, line


def test_a_certificate_for_another_name_is_refused(tls_server):
    # The certificate names 127.0.0.1 only.
    addr = "localhost:%d" % tls_server.tls_port
    p = run(addr, "--tls-ca", tls_server.cert)
    assert p.returncode == 1
    line = one_line(p.stderr)
    assert "not for localhost" in line and addr in line, line


def test_a_certificate_from_another_ca_is_refused(tls_server):
    other, _ = make_cert("someone-else")
    p = run("127.0.0.1:%d" % tls_server.tls_port, "--tls-ca", other)
    assert p.returncode == 1
    line = one_line(p.stderr)
    assert "not trusted" in line, line


def test_tls_to_a_plain_port_says_so(tls_server):
    addr = "127.0.0.1:%d" % tls_server.port
    p = run(addr, "--tls-ca", tls_server.cert)
    assert p.returncode == 1
    line = one_line(p.stderr)
    assert "TLS handshake with %s failed" % addr in line, line
    assert "plain-text port" in line, line


def test_plain_to_a_tls_port_hints_at_tls(tls_server):
    addr = "127.0.0.1:%d" % tls_server.tls_port
    p = run(addr)
    assert p.returncode == 1
    line = one_line(p.stderr)
    assert addr in line and "--tls" in line, line


def test_a_connection_cut_while_writing_is_one_line_not_sigpipe(make_server):
    """OpenSSL writes with write(2): to a connection the server has reset
    that raises SIGPIPE, which would kill the client without a word."""
    srv = make_server(tls=True)
    # Far more than flood control lets wait in the kernel: the server
    # cuts the connection ("Excess flood") while the client writes.
    script = "".join("%d %s\n" % (i, "x" * 3000) for i in range(400))
    p = run("127.0.0.1:%d" % srv.tls_port, "--tls-ca", srv.cert, script=script)
    assert p.returncode == 1, p.returncode
    line = one_line(p.stderr)
    assert "connection to 127.0.0.1:%d lost" % srv.tls_port in line, line


@pytest.mark.parametrize("ca, says", [
    ("/nonexistent/ca.pem", "cannot read --tls-ca /nonexistent/ca.pem"),
    (__file__, "no usable PEM certificate"),
])
def test_an_unusable_ca_file_is_one_line_and_exit_2(ca, says):
    p = run("127.0.0.1:1", "--tls-ca", ca)
    assert p.returncode == 2
    assert says in one_line(p.stderr)


def test_tls_ca_and_insecure_together_are_refused():
    cert, _ = make_cert()
    p = run("127.0.0.1:1", "--tls-ca", cert, "--insecure")
    assert p.returncode == 2
    assert "--insecure" in one_line(p.stderr)


@contextlib.contextmanager
def reader(srv):
    """parley over TLS as the user "reader", its stdin left open so that it
    stays, its stdout not read yet; reaped on the way out."""
    p = subprocess.Popen([PARLEY, "127.0.0.1:%d" % srv.tls_port,
                          "--tls-ca", str(srv.cert), "--nick", "reader"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env(),
                         start_new_session=True)
    try:
        while "is now known as reader" not in p.stdout.readline():
            assert p.poll() is None, p.stderr.read()
        yield p
        p.stdin.close()
        assert p.wait(TIMEOUT) == 0
        assert p.stderr.read() == ""
    finally:
        if not p.stdin.closed:
            p.stdin.close()
        kill_group(p)
        p.wait()
        p.stdout.close()
        p.stderr.close()


def test_a_burst_of_lines_arrives_whole_through_tls(tls_server):
    sender = tls_server.client("sender")
    with reader(tls_server) as p:
        out = LineReader(p.stdout)
        count = 1000
        for i in range(count):
            sender.send("burst line %d %s" % (i, "x" * (i % 300)))
        for i in range(count):
            out.expect(r"^#lobby <sender> burst line %d x*$" % i)


def test_the_last_bytes_are_not_left_inside_tls(make_server):
    """TLS records are decrypted whole; a client that asks for fewer bytes
    than a record holds gets them, and TLS keeps the rest, where poll does
    not see it. Lines so long that the client's line buffer, holding one,
    has less room left than the short line after it: the record with the
    end of the last long line and that short line is read in two goes,
    and nothing more comes on the socket to wake the client for the
    second."""
    srv = make_server("--max-line", "65520", "--sendq", "16777216",
                      "--flood-burst", "1000", "--flood-rate", "1000", tls=True)
    sender = srv.client("sender")

    # "#lobby <sender> " + 65,510 bytes + LF: the client's buffer (65,538
    # bytes) has 11 bytes to spare beside one, and the last line is 24.
    def text(i):
        return "%03d %s" % (i, chr(ord("a") + i % 26) * 65506)

    # The same line as a pattern with a count: compiling the 65 KB literal
    # took a tenth of a second each, 10 s a run on a busy machine.
    def pattern(i):
        return r"^#lobby <sender> %03d %s{65506}$" % (i, chr(ord("a") + i % 26))
    with reader(srv) as p:
        # Nobody reads parley's stdout yet: it stalls writing it, stops
        # reading the server, and the server queues the lines beyond what
        # the kernel holds, to send them end to end in full records.
        count = 100
        for i in range(count):
            sender.send(text(i))
        sender.send("the end")
        sender.sync()
        out = LineReader(p.stdout)
        for i in range(count):
            out.expect(pattern(i), timeout=10)
        out.expect(r"^#lobby <sender> the end$", timeout=10)
