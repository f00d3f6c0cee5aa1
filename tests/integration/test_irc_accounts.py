"""Accounts on the IRC door (issue 13): the sasl capability and AUTHENTICATE
with PLAIN, SCRAM-SHA-256 and EXTERNAL (each succeeding and failing),
chunks of 400 bytes, abort and too-long payloads; draft/account-registration;
nick ownership; account-notify, account-tag and extended-join as another
client sees them; WHOIS 330 and WHOX %a; NickServ; throttling (refusals
counted, nothing timed). Accounts are made with the admin command line
(`parleyd account add`) or by the client itself."""
import base64
import hashlib
import hmac
import os
import socket
import ssl

import pytest

from chat import Server, make_cert, tls_context
from irc import IrcClient, parse


@pytest.fixture
def srv():
    s = Server(irc=True, tls=True)  # a data-dir of its own (chat.py)
    yield s
    rc = s.stop()
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, s.log_text())


def add_account(srv, name, password):
    """An account, registered by a client that then leaves."""
    c = IrcClient(srv.irc_port).register(name)
    c.send("REGISTER * * %s" % password)
    c.expect(r" REGISTER SUCCESS ")
    c.send("QUIT")
    c.expect_closed()


def b64(data):
    return base64.b64encode(data).decode()


def plain(authcid, password, authzid=""):
    return b64(b"\0".join([authzid.encode(), authcid.encode(), password.encode()]))


def start(srv, caps="sasl", tls=False, client=None):
    """A client that asked for caps and is still negotiating."""
    c = client or IrcClient(srv.irc_tls_port if tls else srv.irc_port, tls=tls)
    c.send("CAP LS 302")
    c.send("CAP REQ :%s" % caps)
    c.expect(r" CAP \S+ ACK ")
    return c


def authenticate(c, mech, payload):
    """AUTHENTICATE mech, then payload in 400-byte chunks ("+" after a full
    last one). Returns the lines up to the outcome (900-908 but 900)."""
    c.send("AUTHENTICATE %s" % mech)
    c.expect(r"^AUTHENTICATE \+$")
    for i in range(0, len(payload), 400):
        c.send("AUTHENTICATE %s" % payload[i:i + 400])
    if len(payload) % 400 == 0:
        c.send("AUTHENTICATE +")
    return c.collect(r" 90[3-8] ")


def numerics(lines):
    return [parse(l).command for l in lines]


def finish(c, nick):
    c.send("NICK %s" % nick)
    c.send("USER u 0 * :Real Name")
    c.send("CAP END")
    c.expect_numeric("001")
    c.expect_numeric("376|422")
    c.nick = nick
    return c


def logged_in(srv, account, password, nick=None, caps="sasl"):
    c = start(srv, caps)
    assert numerics(authenticate(c, "PLAIN", plain(account, password)))[-2:] == ["900", "903"]
    return finish(c, nick or account)


# The capabilities.

def test_caps_offer_sasl_mechanisms_and_account_caps(srv):
    c = IrcClient(srv.irc_port)
    caps = c.cap_ls()
    assert caps["sasl"] == "PLAIN,SCRAM-SHA-256,EXTERNAL"
    assert "account-notify" in caps and "account-tag" in caps
    assert caps["draft/account-registration"] == "before-connect"
    old = IrcClient(srv.irc_port).cap_ls(version=None)
    assert "sasl" in old  # 3.1: no value


def test_no_accounts_without_a_database(make_server):
    s = make_server("--history", "off", irc=True)
    c = IrcClient(s.irc_port)
    caps = c.cap_ls()
    assert "sasl" not in caps and "draft/account-registration" not in caps
    c.send("AUTHENTICATE PLAIN")
    c.expect_numeric("904")


# PLAIN.

def test_plain_success_before_registration(srv):
    add_account(srv, "alice", "sesame12")
    c = start(srv)
    lines = authenticate(c, "PLAIN", plain("alice", "sesame12"))
    m = parse(lines[-2])
    assert m.command == "900" and m.params[2] == "alice"
    assert parse(lines[-1]).command == "903"
    finish(c, "alice")   # its own nick is its to take


def test_plain_failure_then_retry(srv):
    add_account(srv, "bob", "sesame12")
    c = start(srv)
    assert numerics(authenticate(c, "PLAIN", plain("bob", "wrong-one")))[-1] == "904"
    assert numerics(authenticate(c, "PLAIN", plain("nobody", "sesame12")))[-1] == "904"
    assert numerics(authenticate(c, "PLAIN", plain("bob", "sesame12")))[-2:] == ["900", "903"]


def test_plain_malformed_payloads_fail(srv):
    add_account(srv, "carol", "sesame12")
    c = start(srv)
    for bad in ["!!!", b64(b"\0carol"), b64(b"\0\0sesame12"), b64(b"\0carol\0"),
                b64(b"\0carol\0sesa\0me12"), plain("carol", "sesame12", authzid="bob")]:
        assert numerics(authenticate(c, "PLAIN", bad))[-1] == "904", bad


def test_plain_chunks_of_400_and_a_plus(srv):
    """A payload of exactly 400 bytes of base64 (then "+"), and one of 400
    and a piece."""
    pw = "x" * 290
    add_account(srv, "dave", pw)
    c = start(srv)
    payload = plain("dave", pw, authzid="dave")
    assert len(payload) == 400
    assert numerics(authenticate(c, "PLAIN", payload))[-2:] == ["900", "903"]
    pw = "y" * 400
    add_account(srv, "eve", pw)
    c2 = start(srv)
    payload = plain("eve", pw)
    assert 400 < len(payload) < 800
    assert numerics(authenticate(c2, "PLAIN", payload))[-2:] == ["900", "903"]


def test_abort_too_long_and_overflow(srv):
    c = start(srv)
    c.send("AUTHENTICATE PLAIN")
    c.expect(r"^AUTHENTICATE \+$")
    c.send("AUTHENTICATE *")
    c.expect_numeric("906")
    c.send("AUTHENTICATE PLAIN")
    c.expect(r"^AUTHENTICATE \+$")
    c.send("AUTHENTICATE " + "A" * 401)
    c.expect_numeric("905")
    c.send("AUTHENTICATE PLAIN")
    c.expect(r"^AUTHENTICATE \+$")
    for _ in range(20):
        c.send("AUTHENTICATE " + "A" * 400)
    c.expect_numeric("904")
    c.send("AUTHENTICATE FOO")
    m = c.expect_numeric("908")
    assert m.group("rest").startswith("PLAIN,SCRAM-SHA-256,EXTERNAL ")
    c.expect_numeric("904")


def test_registration_during_sasl_aborts_it(srv):
    c = start(srv)
    c.send("AUTHENTICATE PLAIN")
    c.expect(r"^AUTHENTICATE \+$")
    c.send("NICK erin")
    c.send("USER u 0 * :R")
    c.send("CAP END")
    lines = c.collect(r" 001 ")
    assert "906" in numerics(lines)


def test_reauthentication_after_registration(srv):
    add_account(srv, "frank", "sesame12")
    add_account(srv, "gina", "sesame12")
    c = logged_in(srv, "frank", "sesame12", nick="someone")
    assert numerics(authenticate(c, "PLAIN", plain("gina", "sesame12")))[-2:] == ["900", "903"]
    c.send("WHOIS someone")
    m = c.expect_numeric("330")
    assert m.group("rest").startswith("someone gina ")


def test_labeled_authenticate_keeps_its_label(srv):
    add_account(srv, "hank", "sesame12")
    c = IrcClient(srv.irc_port).register("hank2", caps="labeled-response batch sasl")
    c.send("AUTHENTICATE PLAIN")
    c.expect(r"^AUTHENTICATE \+$")
    c.send("@label=L7 AUTHENTICATE " + plain("hank", "sesame12"))
    lines = c.collect(r"BATCH -")
    assert lines[0].startswith("@label=L7 ") and "BATCH +" in lines[0]
    assert [parse(l).command for l in lines[1:-1]] == ["900", "903"]


# SCRAM-SHA-256 (RFC 5802, 7677): the client's side.

def hmac256(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def scram(c, user, password, tamper=False):
    """Runs the exchange; returns the last numerics."""
    nonce = b64(os.urandom(18))
    bare = "n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), nonce)
    c.send("AUTHENTICATE SCRAM-SHA-256")
    c.expect(r"^AUTHENTICATE \+$")
    c.send("AUTHENTICATE " + b64(("n,," + bare).encode()))
    first = base64.b64decode(c.expect(r"^AUTHENTICATE (\S+)$").group(1)).decode()
    attrs = dict(a.split("=", 1) for a in first.split(","))
    assert attrs["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac256(salted, b"Client Key")
    without_proof = "c=biws,r=%s" % attrs["r"]
    auth = ",".join([bare, first, without_proof]).encode()
    proof = bytes(a ^ b for a, b in zip(client_key, hmac256(hashlib.sha256(client_key).digest(), auth)))
    if tamper:
        proof = bytes([proof[0] ^ 1]) + proof[1:]
    c.send("AUTHENTICATE " + b64(("%s,p=%s" % (without_proof, b64(proof))).encode()))
    line = c.expect(r"^AUTHENTICATE (\S+)$| 90[3-8] ")
    if line.group(1) is None:
        return numerics([line.string])
    final = base64.b64decode(line.group(1)).decode()
    server_sig = hmac256(hmac256(salted, b"Server Key"), auth)
    assert final == "v=" + b64(server_sig), "the server proved nothing"
    c.send("AUTHENTICATE +")
    return numerics(c.collect(r" 90[3-8] "))


def test_scram_success_and_failure(srv):
    add_account(srv, "ivy", "sesame12")
    c = start(srv)
    assert scram(c, "ivy", "wrong-pass")[-1] == "904"
    assert scram(c, "nobody", "sesame12")[-1] == "904"
    assert scram(c, "ivy", "sesame12", tamper=True)[-1] == "904"
    assert scram(c, "ivy", "sesame12")[-2:] == ["900", "903"]
    finish(c, "ivy")


# EXTERNAL: the TLS client certificate's fingerprint.

def cert_client(srv, name):
    """An IRC client over TLS presenting certificate name."""
    cert, key = make_cert(name)
    ctx = tls_context()
    ctx.load_cert_chain(str(cert), str(key))
    c = IrcClient(None)
    c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.irc_tls_port), timeout=5))
    return c


def fingerprint(name):
    cert, _ = make_cert(name)
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest()


def test_external_by_certificate(srv):
    add_account(srv, "jack", "sesame12")
    # No certificate: nothing to go by.
    plain_tls = start(srv, tls=True)
    plain_tls.send("AUTHENTICATE EXTERNAL")
    plain_tls.expect_numeric("904")
    # A certificate no account has.
    c = start(srv, client=cert_client(srv, "jack-laptop"))
    assert numerics(authenticate(c, "EXTERNAL", ""))[-1] == "904"
    # Added by its account (NickServ CERT ADD, this connection's), it logs in.
    finish(c, "jacks")
    c.send("PRIVMSG NickServ :IDENTIFY jack sesame12")
    c.expect_numeric("900")
    c.send("PRIVMSG NickServ :CERT ADD")
    c.expect(r"NOTICE jacks :This certificate now logs you in as jack")
    c2 = start(srv, client=cert_client(srv, "jack-laptop"))
    lines = authenticate(c2, "EXTERNAL", "")
    assert numerics(lines)[-2:] == ["900", "903"] and parse(lines[-2]).params[2] == "jack"
    # CERT LIST names it (and another added by fingerprint), and this
    # connection's.
    other = "ab" * 32
    c.send("PRIVMSG NickServ :CERT ADD %s" % other.upper())
    c.expect(r"NOTICE jacks :This certificate now logs you in as jack")
    c.send("PRIVMSG NickServ :CERT LIST")
    listed = sorted(c.expect(r"NOTICE jacks :Certificate of jack: ([0-9a-f]{64})$").group(1)
                    for _ in range(2))
    assert listed == sorted([fingerprint("jack-laptop"), other])
    c.expect(r"NOTICE jacks :2 certificates log in as jack$")
    c.expect(r"NOTICE jacks :This connection's certificate: %s$" % fingerprint("jack-laptop"))
    c.send("PRIVMSG NickServ :CERT DEL %s" % other)
    c.expect(r"NOTICE jacks :That certificate no longer logs anyone in")
    # Asking for another account by it fails.
    c3 = start(srv, client=cert_client(srv, "jack-laptop"))
    assert numerics(authenticate(c3, "EXTERNAL", b64(b"bob")))[-1] == "904"
    # Named by its fingerprint, then removed.
    c.send("PRIVMSG NickServ :CERT DEL %s" % fingerprint("jack-laptop"))
    c.expect(r"NOTICE jacks :That certificate no longer logs anyone in")
    c4 = start(srv, client=cert_client(srv, "jack-laptop"))
    assert numerics(authenticate(c4, "EXTERNAL", ""))[-1] == "904"
    c.send("PRIVMSG NickServ :CERT LIST")
    c.expect(r"NOTICE jacks :0 certificates log in as jack$")


# draft/account-registration.

def test_register_before_connect_logs_in(srv):
    c = IrcClient(srv.irc_port)
    c.send("CAP LS 302")
    c.send("NICK kate")
    c.send("REGISTER * * sesame12")
    m = c.expect(r" REGISTER SUCCESS (\S+) ")
    assert m.group(1) == "kate"
    c.expect_numeric("900")
    c.send("USER u 0 * :R")
    c.send("CAP END")
    c.expect_numeric("001")
    # The account exists: SASL takes it.
    c2 = start(srv)
    assert numerics(authenticate(c2, "PLAIN", plain("kate", "sesame12")))[-2:] == ["900", "903"]


def test_register_refusals(srv):
    holder = IrcClient(srv.irc_port).register("root")
    c = IrcClient(srv.irc_port).register("leo")
    c.send("REGISTER other * sesame12")
    c.expect(r" FAIL REGISTER ACCOUNT_NAME_MUST_BE_NICK other ")
    c.send("REGISTER leo * short")
    c.expect(r" FAIL REGISTER UNACCEPTABLE_PASSWORD leo ")
    c.send("REGISTER leo * sesame12")
    c.expect(r" REGISTER SUCCESS leo ")
    c.send("REGISTER leo * sesame12")
    c.expect(r" FAIL REGISTER ALREADY_AUTHENTICATED ")
    c.send("VERIFY leo 123")
    c.expect(r" FAIL VERIFY ALREADY_AUTHENTICATED ")
    # Nobody registers the nickname someone else holds now.
    grab = IrcClient(srv.irc_port)
    grab.send("NICK root")
    grab.expect_numeric("433")
    grab.send("REGISTER * * sesame12")
    grab.expect(r" FAIL REGISTER ACCOUNT_EXISTS root ")
    holder.sync()


# Nick ownership.

def test_an_owned_nick_is_refused_to_others(srv):
    add_account(srv, "mia", "sesame12")
    # At registration's end: 433, and another nick may be chosen.
    c = IrcClient(srv.irc_port)
    c.send("NICK mia")
    c.send("USER u 0 * :R")
    c.expect_numeric("433", r"mia ")
    c.send("NICK mia_")
    c.expect_numeric("001")
    # By NICK later: 433 too.
    c.send("NICK Mia")
    c.expect_numeric("433", r"Mia ")
    # Its owner takes it, logged in before or after registration.
    owner = logged_in(srv, "mia", "sesame12")
    owner.send("NICK other")
    owner.expect(r"NICK :?other")
    owner.send("NICK mia")
    owner.expect(r"NICK :?mia")
    # Logged out, the owner is not left holding it.
    owner.send("PRIVMSG NickServ :LOGOUT")
    owner.expect_numeric("901")
    m = owner.expect(r":mia!\S+ NICK :?(\S+)")
    assert m.group(1) != "mia"
    # A plain-door user cannot take it either.
    p = srv.client("plainuser")
    p.send("/nick mia")
    p.expect(r"^!! ")


# account-notify, account-tag, extended-join, WHOIS, WHOX: as others see them.

def test_others_see_the_account(srv):
    add_account(srv, "nina", "sesame12")
    watcher = IrcClient(srv.irc_port).register(
        "watcher", caps="account-notify account-tag extended-join")
    watcher.join("#room")
    nina = logged_in(srv, "nina", "sesame12", nick="ninaphone")
    nina.send("JOIN #room")
    m = watcher.expect(r":ninaphone!\S+ JOIN (\S+) (\S+) :")
    assert m.group(2) == "nina"
    nina.send("PRIVMSG #room :hello")
    m = parse(watcher.expect(r"PRIVMSG #room :hello").string)
    assert m.tags.get("account") == "nina"
    nina.send("PRIVMSG NickServ :LOGOUT")
    watcher.expect(r":ninaphone!\S+ ACCOUNT \*$")
    nina.send("PRIVMSG NickServ :IDENTIFY nina sesame12")
    watcher.expect(r":ninaphone!\S+ ACCOUNT nina$")
    watcher.send("WHOIS ninaphone")
    assert watcher.expect_numeric("330").group("rest").startswith("ninaphone nina ")
    watcher.send("WHO ninaphone %na")
    assert watcher.expect_numeric("354").group("rest") == "ninaphone nina"
    # One without account-tag sees no tag; a logged-out sender has none.
    other = IrcClient(srv.irc_port).register("other", caps="message-tags")
    other.join("#room")
    nina.send("PRIVMSG #room :again")
    assert "account" not in parse(other.expect(r"PRIVMSG #room :again").string).tags
    other.send("PRIVMSG #room :mine")
    assert "account" not in parse(watcher.expect(r"PRIVMSG #room :mine").string).tags


# NickServ.

def test_nickserv_commands(srv):
    c = IrcClient(srv.irc_port).register("oscar")
    c.send("PRIVMSG NickServ :HELP")
    c.expect(r"^:NickServ!\S+ NOTICE oscar :.*REGISTER")
    c.send("PRIVMSG NickServ :REGISTER sesame12")
    c.expect_numeric("900")
    c.expect(r"NOTICE oscar :Account oscar registered")
    c.send("PRIVMSG NickServ :INFO")
    c.expect(r"NOTICE oscar :Account oscar, registered ")
    c.send("PRIVMSG NickServ :PASSWD wrong-one newpass12")
    c.expect(r"NOTICE oscar :PASSWD: invalid account name or password")
    c.send("PRIVMSG NickServ :PASSWD sesame12 newpass12")
    c.expect(r"NOTICE oscar :Your password is changed")
    c.send("NS LOGOUT")
    c.expect_numeric("901")
    c.send("PRIVMSG NickServ :IDENTIFY oscar sesame12")
    c.expect(r"NOTICE \S+ :IDENTIFY: invalid account name or password")
    c.send("PRIVMSG NickServ :IDENTIFY oscar newpass12")
    c.expect_numeric("900")
    c.send("PRIVMSG NickServ :DROP newpass12")
    c.expect(r"NOTICE \S+ :Account oscar is dropped")
    c.send("PRIVMSG NickServ :INFO oscar")
    c.expect(r"NOTICE \S+ :INFO: ")
    # Nothing said to NickServ is echoed, logged or relayed.
    e = IrcClient(srv.irc_port).register("echoer", caps="echo-message")
    e.send("PRIVMSG NickServ :IDENTIFY echoer secret-pw")
    e.expect(r"NOTICE echoer :IDENTIFY: ")
    assert not any("secret-pw" in l for l in e.lines)
    assert "secret-pw" not in srv.log_text() and "newpass12" not in srv.log_text()


# Throttling: counted, never timed.

def test_failed_logins_are_throttled(srv):
    add_account(srv, "pete", "sesame12")
    c = start(srv)
    texts = []
    for _ in range(30):
        lines = authenticate(c, "PLAIN", plain("pete", "wrong-one"))
        texts.append(parse(lines[-1]).params[-1])
    throttled = [t for t in texts if "too many" in t]
    assert throttled, texts
    # Past the bound even the right password is refused, without a check.
    lines = authenticate(c, "PLAIN", plain("pete", "sesame12"))
    assert "too many" in parse(lines[-1]).params[-1]


def test_account_notify_reaches_monitor_watchers_and_follows_900(srv):
    """extended-monitor: a watcher sharing no room hears of a login; the
    user itself gets 900 and 903 together, then its own ACCOUNT."""
    add_account(srv, "quinn", "sesame12")
    watcher = IrcClient(srv.irc_port).register(
        "watcher2", caps="extended-monitor account-notify")
    watcher.send("MONITOR + quinnphone")
    watcher.expect_numeric("731")
    q = IrcClient(srv.irc_port).register("quinnphone", caps="account-notify sasl")
    watcher.expect_numeric("730")
    lines = authenticate(q, "PLAIN", plain("quinn", "sesame12"))
    assert numerics(lines)[-2:] == ["900", "903"]
    assert not any(" ACCOUNT " in l for l in lines), lines
    q.expect(r":quinnphone!\S+ ACCOUNT quinn$")
    watcher.expect(r":quinnphone!\S+ ACCOUNT quinn$")


def test_register_before_connect_off(make_server):
    s = make_server("--register-before-connect", "off", irc=True)
    c = IrcClient(s.irc_port)
    assert c.cap_ls()["draft/account-registration"] is None
    c.send("NICK rita")
    c.send("REGISTER * * sesame12")
    c.expect(r" FAIL REGISTER COMPLETE_CONNECTION_REQUIRED rita :")
    c.send("USER u 0 * :R")
    c.send("CAP END")
    c.expect_numeric("001")
    c.send("REGISTER * * sesame12")
    c.expect(r" REGISTER SUCCESS rita ")
