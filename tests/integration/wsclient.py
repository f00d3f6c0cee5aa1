"""Test clients for the web listener: raw HTTP requests, and IRC over a
WebSocket (RFC 6455 framing written out here byte by byte, so tests can
also send what a correct client never would)."""
import base64
import hashlib
import os
import struct
import time

from chat import connect, recv_until
from irc import IrcClient, TIMEOUT

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def read_response(sock, timeout=TIMEOUT, until_close=True):
    """Reads an HTTP response: (status, headers dict lowercased, body,
    bytes after the head when not reading until close)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf or until_close:
        try:
            chunk = recv_until(sock, deadline)
        except EOFError:
            break
        if chunk is None:
            raise AssertionError("no complete response within %ss: %r" % (timeout, buf))
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def http(port, request, tls=False, timeout=TIMEOUT):
    """Sends request (bytes, or a str with \\n turned into CR LF) and reads
    the response until the server closes."""
    if isinstance(request, str):
        request = request.replace("\n", "\r\n").encode()
    sock = connect(port, tls=tls, timeout=timeout)
    try:
        sock.sendall(request)
        return read_response(sock, timeout)
    finally:
        sock.close()


def frame(op, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One client frame: masked unless told otherwise."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv << 4 | op])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class WsIrcClient(IrcClient):
    """IRC over a WebSocket: each line sent is one masked text (or binary)
    frame; each message received is one line. Control frames are kept in
    `controls` as (opcode, payload); a close frame sets close_code and
    ends the reading like a closed connection."""

    def __init__(self, port, tls=False, protocols=("text.ircv3.net",), origin=None,
                 binary=False, extra=""):
        super().__init__(None)
        self.sock = connect(port, tls=tls)
        self.raw = b""
        self.controls = []
        self.close_code = None
        self.binary = binary
        self.frames = []   # (opcode, payload) of every data frame read
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               % (port, key))
        if protocols:
            req += "Sec-WebSocket-Protocol: %s\r\n" % ", ".join(protocols)
        if origin:
            req += "Origin: %s\r\n" % origin
        req += extra + "\r\n"
        self.sock.sendall(req.encode())
        self.status, self.headers, self.raw = read_response(self.sock, until_close=False)
        if self.status == 101:
            assert self.headers["sec-websocket-accept"] == accept_for(key)
        self.protocol = self.headers.get("sec-websocket-protocol")

    def send(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.sock.sendall(frame(2 if self.binary else 1, line))

    def send_frame(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        chunk = self._recv(deadline)
        if chunk is None:
            return False
        self.raw += chunk
        return True

    def read_frame(self, deadline):
        """The next frame as (fin, opcode, payload), or None at the
        deadline. Server frames must not be masked."""
        while True:
            if len(self.raw) >= 2:
                b0, b1 = self.raw[0], self.raw[1]
                assert not b1 & 0x80, "server frame masked"
                assert not b0 & 0x70, "server frame with reserved bits"
                n, at = b1 & 0x7F, 2
                if n == 126 and len(self.raw) >= 4:
                    n, at = struct.unpack(">H", self.raw[2:4])[0], 4
                elif n == 127 and len(self.raw) >= 10:
                    n, at = struct.unpack(">Q", self.raw[2:10])[0], 10
                if (b1 & 0x7F) < 126 or at > 2:
                    if len(self.raw) >= at + n:
                        payload = self.raw[at:at + n]
                        self.raw = self.raw[at + n:]
                        return bool(b0 & 0x80), b0 & 0x0F, payload
            if not self._fill(deadline):
                return None

    def _read_line(self, deadline):
        while True:
            if self.close_code is not None:
                raise EOFError("close frame received")
            got = self.read_frame(deadline)
            if got is None:
                return None
            fin, op, payload = got
            if op in (1, 2):
                assert fin, "server messages are single frames"
                self.frames.append((op, payload))
                # A text frame must be UTF-8 (RFC 6455), and the server
                # promises it for every line it sends, binary frames too.
                text = payload.decode("utf-8")
                assert "\r" not in text and "\n" not in text, "CR/LF in a message: %r" % text
                self.lines.append(text)
                self._answer_ping(text)
                return text
            self.controls.append((op, payload))
            if op == 8:
                self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_reason = payload[2:].decode("utf-8")
                raise EOFError("close frame received")

    def expect_close(self, timeout=TIMEOUT):
        """Reads until the close frame and then the end of the connection;
        returns the close code."""
        deadline = time.monotonic() + timeout
        try:
            while self.close_code is None:
                if self._read_line(deadline) is None and time.monotonic() >= deadline:
                    raise AssertionError("no close frame within %ss" % timeout)
        except EOFError:
            pass
        assert self.close_code is not None, "connection closed with no close frame"
        # After its close frame the server closes the TCP connection.
        while True:
            try:
                if not self._fill(deadline):
                    if time.monotonic() >= deadline:
                        raise AssertionError("TCP connection left open after the close")
            except EOFError:
                break
        return self.close_code
