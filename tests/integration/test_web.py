"""The web listener: HTTP answers (the web client's files, and a proper
error for anything else) and IRC over WebSocket at /ws (RFC 6455 and the
IRCv3 WebSocket specification), over TCP and TLS."""
import signal
import socket
import struct
import time

import pytest

from chat import ROOT, Server, connect
from irc import IrcClient
from wsclient import WsIrcClient, frame, http, read_response


@pytest.fixture
def web():
    srv = Server("--handshake-timeout", "2", irc=True, tls=True, web=True)
    yield srv
    rc = srv.stop()
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


def served(name, title="Parley", description=""):
    """A file of web/ as parleyd serves it: the landing page with the
    server's web-title and web-description in it."""
    data = (ROOT / "web" / name).read_bytes()
    if name == "index.html":
        data = data.replace(b"{{title}}", title.encode()).replace(
            b"{{description}}", description.encode())
    return data


def get(port, path, method="GET", extra="", tls=False):
    return http(port, "%s %s HTTP/1.1\nHost: 127.0.0.1:%d\n%s\n" % (method, path, port, extra),
                tls=tls)


# HTTP.

@pytest.mark.parametrize("path,name,ctype", [
    ("/", "index.html", "text/html; charset=utf-8"),
    ("/app.js", "app.js", "text/javascript; charset=utf-8"),
    ("/style.css", "style.css", "text/css; charset=utf-8"),
])
def test_serves_the_web_client_built_in(web, path, name, ctype):
    status, headers, body = get(web.web_port, path)
    assert status == 200
    assert headers["content-type"] == ctype
    assert int(headers["content-length"]) == len(body)
    assert body == served(name)
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["connection"] == "close"


def test_serves_over_tls_too(web):
    status, _, body = get(web.web_tls_port, "/", tls=True)
    assert status == 200 and body.startswith(b"<!doctype html>")


def test_head_has_the_headers_and_no_body(web):
    status, headers, body = get(web.web_port, "/", method="HEAD")
    assert status == 200
    assert int(headers["content-length"]) == len(served("index.html"))
    assert body == b""


@pytest.mark.parametrize("request_text,status", [
    ("GET /nope.js HTTP/1.1\nHost: x\n\n", 404),
    ("GET /../etc/passwd HTTP/1.1\nHost: x\n\n", 404),
    ("GET /.hidden HTTP/1.1\nHost: x\n\n", 404),
    ("POST / HTTP/1.1\nHost: x\nContent-Length: 0\n\n", 405),
    ("DELETE /ws HTTP/1.1\nHost: x\n\n", 426),
    ("BREW / HTTP/1.1\nHost: x\n\n", 501),
    ("GET / HTTP/2.0\nHost: x\n\n", 505),
    ("GET / HTTP/1.1\n\n", 400),
    ("GET / HTTP/1.1\nHost: a\nHost: b\n\n", 400),
    ("GET / HTTP/1.1\nHost: x\n folded: line\n\n", 400),
    ("GET / HTTP/1.1\nHost : x\n\n", 400),
    ("GET /\n\n", 400),
    ("hello\n\n", 400),
    ("GET relative HTTP/1.1\nHost: x\n\n", 400),
    ("GET /" + "a" * 2000 + " HTTP/1.1\nHost: x\n\n", 414),
    ("GET / HTTP/1.1\nHost: x\nX-Big: " + "b" * 9000 + "\n\n", 431),
    ("GET / HTTP/1.1\nHost: x\n" + "X-Many: 1\n" * 70 + "\n", 431),
    ("GET /ws HTTP/1.1\nHost: x\n\n", 426),
])
def test_http_errors(web, request_text, status):
    got, headers, body = http(web.web_port, request_text)
    assert got == status, body
    assert body.decode().startswith("%d " % status)
    if status == 405:
        assert headers["allow"] == "GET, HEAD"
    if status == 426:
        assert headers["sec-websocket-version"] == "13"


def test_http_1_0_needs_no_host(web):
    status, _, _ = http(web.web_port, "GET / HTTP/1.0\n\n")
    assert status == 200


def test_a_silent_http_client_is_dropped_and_delays_nobody(web):
    silent = socket.create_connection(("127.0.0.1", web.web_port), timeout=10)
    silent.sendall(b"GET / HTTP/1.1\r\n")   # and never the rest
    assert get(web.web_port, "/")[0] == 200
    a = WsIrcClient(web.web_port).register("meanwhile")
    a.join("#lobby")
    assert silent.recv(100) == b""
    assert "Handshake timed out" in web.log_text()


def test_web_dir_serves_files_from_disk(tmp_path):
    (tmp_path / "index.html").write_text("<p>mine</p>")
    (tmp_path / "x.svg").write_text("<svg/>")
    srv = Server("--web-dir", str(tmp_path), web=True)
    try:
        status, headers, body = get(srv.web_port, "/")
        assert (status, body) == (200, b"<p>mine</p>")
        status, headers, body = get(srv.web_port, "/x.svg")
        assert headers["content-type"] == "image/svg+xml"
        assert get(srv.web_port, "/app.js")[0] == 404
    finally:
        assert srv.stop() == 0, srv.log_text()


# The WebSocket handshake.

def upgrade(port, **fields):
    base = {"Host": "127.0.0.1:%d" % port, "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
    base.update(fields)
    head = "".join("%s: %s\r\n" % (k, v) for k, v in base.items() if v is not None)
    sock = connect(port)
    try:
        sock.sendall(("GET /ws HTTP/1.1\r\n%s\r\n" % head).encode())
        return read_response(sock, until_close=False)
    finally:
        sock.close()


def test_handshake_accept_key_is_the_rfc_example(web):
    sock = connect(web.web_port)
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n"
                 b"Connection: keep-alive, Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    status, headers, _ = read_response(sock, until_close=False)
    sock.close()
    assert status == 101
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert headers["upgrade"].lower() == "websocket"
    assert "sec-websocket-protocol" not in headers


@pytest.mark.parametrize("fields,status", [
    ({"Sec-WebSocket-Key": None}, 400),
    ({"Sec-WebSocket-Key": "short"}, 400),
    ({"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ"}, 400),
    ({"Sec-WebSocket-Version": "8"}, 426),
    ({"Sec-WebSocket-Version": None}, 426),
    ({"Connection": "keep-alive"}, 400),
    ({"Upgrade": "h2c"}, 400),
    ({"Origin": "http://evil.example"}, 403),
])
def test_bad_handshakes_are_refused(web, fields, status):
    got, headers, _ = upgrade(web.web_port, **fields)
    assert got == status
    if status == 426:
        assert headers["sec-websocket-version"] == "13"


def test_same_origin_is_allowed_and_allowed_origins_adds_more():
    srv = Server("--allowed-origins", "https://chat.example", web=True)
    try:
        port = srv.web_port
        ok = WsIrcClient(port, origin="http://127.0.0.1:%d" % port)
        assert ok.status == 101
        assert WsIrcClient(port, origin="https://chat.example").status == 101
        assert WsIrcClient(port, origin="https://other.example").status == 403
        assert "origin https://other.example refused" in srv.log_text()
    finally:
        assert srv.stop() == 0, srv.log_text()
    srv = Server("--allowed-origins", "*", web=True)
    try:
        assert WsIrcClient(srv.web_port, origin="https://any.example").status == 101
    finally:
        assert srv.stop() == 0, srv.log_text()


@pytest.mark.parametrize("host,status", [
    ("evil.example", 403),          # DNS rebinding: a name we do not answer to
    ("localhost", 101),
    ("127.0.0.1", 101),
    ("test.parley", 101),           # the server-name
])
def test_same_origin_counts_only_for_names_we_answer_to(web, host, status):
    hostport = "%s:%d" % (host, web.web_port)
    got, _, _ = upgrade(web.web_port, Host=hostport, Origin="http://" + hostport)
    assert got == status


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_frames_sent_before_the_101_are_refused(web, tls):
    port = web.web_tls_port if tls else web.web_port
    sock = connect(port, tls=tls)
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                 + frame(9, "too early"))
    got = b""
    sock.settimeout(5)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
    except (ConnectionResetError, OSError):
        pass
    assert b" 101 " not in got
    assert "data before the handshake's end" in web.log_text()


@pytest.mark.parametrize("offered,chosen,opcode", [
    (("text.ircv3.net",), "text.ircv3.net", 1),
    (("binary.ircv3.net", "text.ircv3.net"), "binary.ircv3.net", 2),
    (("text.ircv3.net", "binary.ircv3.net"), "text.ircv3.net", 1),
    (("chat", "binary.ircv3.net"), "binary.ircv3.net", 2),
    ((), None, 1),
    (("chat",), None, 1),
])
def test_subprotocol_follows_the_clients_preference(web, offered, chosen, opcode):
    c = WsIrcClient(web.web_port, protocols=offered)
    assert c.status == 101
    assert c.protocol == chosen
    c.register("p%d" % len(offered))
    assert {op for op, _ in c.frames} == {opcode}


# IRC over WebSocket.

def test_websocket_plain_and_irc_users_share_lobby(web):
    ws = WsIrcClient(web.web_port).register("webby", caps=["server-time"])
    ws.join("#lobby")
    nc = web.client("ncuser")
    irc = IrcClient(web.irc_port).register("ircer")
    irc.join("#lobby")
    ws.send("PRIVMSG #lobby :hello from the browser")
    nc.expect(r"^#lobby <webby> hello from the browser$")
    irc.expect(r"^:webby!\S+ PRIVMSG #lobby :hello from the browser$")
    nc.send("hi web")
    ws.expect(r"^@time=\S+ :ncuser!\S+ PRIVMSG #lobby :hi web$")
    irc.send("PRIVMSG webby :private hello")
    ws.expect(r":ircer!\S+ PRIVMSG webby :private hello$")


def test_wss_is_secure_in_whois(web):
    ws = WsIrcClient(web.web_tls_port, tls=True).register("wss")
    plain = WsIrcClient(web.web_port).register("ws")
    plain.send("WHOIS wss")
    assert any(" 671 ws wss :" in l for l in plain.collect(" 318 "))
    ws.send("WHOIS ws")
    assert not any(" 671 " in l for l in ws.collect(" 318 "))


def test_fragmented_message_with_ping_between_fragments(web):
    ws = WsIrcClient(web.web_port).register("frag")
    ws.join("#lobby")
    nc = web.client("watcher")
    ws.send_frame(frame(1, "PRIVMSG #lobby :one ", fin=False))
    ws.send_frame(frame(9, "are you there"))
    ws.send_frame(frame(0, "two ", fin=False))
    ws.send_frame(frame(0, "thr\u00e9e"))
    nc.expect(r"^#lobby <frag> one two thr\u00e9e$")
    ws.sync()
    assert (10, b"are you there") in ws.controls


def test_message_split_byte_by_byte(web):
    ws = WsIrcClient(web.web_port).register("slow")
    data = frame(1, "PING :bytewise") + frame(1, "PING :again")
    for b in data:
        ws.send_frame(bytes([b]))
    ws.expect(r"PONG \S+ :bytewise$")
    ws.expect(r"PONG \S+ :again$")


def test_binary_frames_are_lines_too(web):
    ws = WsIrcClient(web.web_port, binary=True).register("bin")
    ws.send("PING :binary")
    ws.expect(r"PONG \S+ :binary$")


PROTOCOL_ERRORS = [
    (frame(1, "PING :x", mask=False), 1002),
    (frame(1, "PING :x", rsv=4), 1002),
    (frame(3, "x"), 1002),
    (frame(0, "continuing nothing"), 1002),
    (frame(9, "x" * 126), 1002),
    (frame(9, "ping", fin=False), 1002),
    (frame(1, b"PRIVMSG #lobby :\xff\xfe"), 1007),
    (frame(1, b"PRIVMSG #lobby :\xed\xa0\x80"), 1007),
    (frame(1, "a", fin=False) + frame(1, "b"), 1002),
    (frame(1, "x" * 5000), 1009),
    (frame(1, "x" * 3000, fin=False) + frame(0, "x" * 3000), 1009),
    (frame(8, b"\x03"), 1002),
    (frame(8, struct.pack(">H", 1005)), 1002),
    (frame(8, struct.pack(">H", 1000) + b"\xff"), 1007),
]
PROTOCOL_ERROR_IDS = ["unmasked", "rsv", "opcode3", "lone-continuation", "long-ping",
                      "fragmented-ping", "bad-utf8", "surrogate", "text-in-text",
                      "big-frame", "big-message", "close-1-byte", "close-1005",
                      "close-bad-reason"]


@pytest.mark.parametrize("data,code", PROTOCOL_ERRORS, ids=PROTOCOL_ERROR_IDS)
def test_protocol_errors_get_a_close_frame_with_the_right_code(web, data, code):
    ws = WsIrcClient(web.web_port).register("bad%d" % code)
    ws.join("#lobby")
    watcher = IrcClient(web.irc_port).register("watch")
    watcher.join("#lobby")
    ws.send_frame(data)
    assert ws.expect_close() == code
    watcher.expect(r"^:bad%d!\S+ QUIT :.*WebSocket error" % code)
    # Nothing else broke.
    WsIrcClient(web.web_port).register("after")


def test_pings_inside_a_fragmented_message_are_limited(web):
    ws = WsIrcClient(web.web_port).register("pingy")
    ws.send_frame(frame(1, "PRIVMSG #lobby :a", fin=False) + frame(9, "x") * 17)
    assert ws.expect_close() == 1008


def test_huge_declared_length_is_refused_without_waiting(web):
    ws = WsIrcClient(web.web_port).register("huge")
    ws.send_frame(bytes([0x81, 0x80 | 127]) + struct.pack(">Q", 1 << 40) + b"mask")
    assert ws.expect_close() == 1009
    ws2 = WsIrcClient(web.web_port).register("huge2")
    ws2.send_frame(bytes([0x81, 0x80 | 127]) + struct.pack(">Q", 1 << 63) + b"mask")
    assert ws2.expect_close() == 1002


def test_client_close_is_answered_and_quits_the_user(web):
    ws = WsIrcClient(web.web_port).register("leaver")
    ws.join("#lobby")
    nc = web.client("stay")
    ws.send("PRIVMSG #lobby :last words")
    ws.send_frame(frame(8, struct.pack(">H", 1000) + b"bye"))
    assert ws.expect_close() == 1000
    nc.expect(r"^#lobby <leaver> last words$")
    nc.expect(r"^-- leaver quit")


def test_lines_held_by_flood_control_are_all_handled_before_the_close():
    srv = Server("--flood-burst", "5", "--flood-rate", "100", web=True)
    try:
        ws = WsIrcClient(srv.web_port).register("burst")
        ws.join("#lobby")
        nc = srv.client("watch")
        data = b"".join(frame(1, "PRIVMSG #lobby :n%02d" % i) for i in range(40))
        ws.send_frame(data + frame(8, struct.pack(">H", 1000)))
        for i in range(40):
            nc.expect(r"^#lobby <burst> n%02d$" % i)
        nc.expect(r"^-- burst quit")
        assert ws.expect_close() == 1000
    finally:
        assert srv.stop() == 0, srv.log_text()


def test_quit_sends_error_then_a_normal_close(web):
    ws = WsIrcClient(web.web_port).register("quitter")
    ws.send("QUIT :done")
    assert ws.expect_close() == 1000
    assert any(l.startswith("ERROR :") for l in ws.lines)


def test_server_shutdown_is_going_away():
    srv = Server(web=True)
    ws = WsIrcClient(srv.web_port).register("shut")
    srv.proc.send_signal(signal.SIGTERM)
    assert ws.expect_close() == 1001
    assert srv.stop() == 0, srv.log_text()


def test_ping_flood_is_flood_controlled():
    srv = Server("--flood-burst", "5", "--flood-rate", "2", web=True)
    try:
        ws = WsIrcClient(srv.web_port).register("pinger")
        ping = frame(9, "p" * 125) * 1000
        try:
            for _ in range(40):
                ws.sock.sendall(ping)
        except OSError:  # the server stopped reading, then hung up
            pass
        deadline = time.monotonic() + 10
        while "pinger: closed (Excess flood)" not in srv.log_text():
            assert time.monotonic() < deadline, srv.log_text()[-2000:]
            time.sleep(0.05)
        assert srv.proc.poll() is None
    finally:
        assert srv.stop() == 0, srv.log_text()
