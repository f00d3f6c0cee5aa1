"""Accounts on the plain door and the admin command line (issue 13):
/register, /login, /logout and /passwd with their errors; a registered
nickname is nobody else's (!! nick-owned) and a guest never gets one;
logging out of the account that owns your nick gives you a guest's;
throttling counted (no timing: refusals are counted); the admin command
line (add, list, passwd, delete, exit codes) while a server runs, which
picks its changes up; accounts survive a restart; with history off there
are none. Passwords never reach the log."""
import re
import subprocess
import time

import pytest

from chat import NO_HISTORY, PARLEYD, Client, Server


def account_cli(data_dir, *words, password=None):
    """parleyd account WORDS --data-dir DIR, the password on stdin."""
    return subprocess.run([str(PARLEYD), "account", *words, "--data-dir", str(data_dir)],
                          input=(password + "\n") if password is not None else "",
                          capture_output=True, text=True, timeout=60)


def wait_for(predicate, what, timeout=10):
    """Polls predicate until it holds (a change another process made
    reaches the server at its next sweep: once a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("never happened: " + what)


def nick_taken(srv, nick):
    """Whether /nick NICK is refused as owned, tried by a fresh client (a
    nick in use is not owned)."""
    c = srv.client()
    c.send("/nick " + nick)
    m = c.expect(r"^(-- \S+ is now known as|!! nick-in-use:|!! nick-owned:)")
    # Gone before the answer counts, so it holds no nick a test wants.
    c.send("/quit")
    c.expect_closed()
    return m.group(1).startswith("!! nick-owned")


def test_register_login_logout(make_server):
    srv = make_server()
    a = srv.client("alice")
    a.send("/register sesame12")
    a.expect(r"^-- registered alice; you are logged in as alice$")
    # Registered and logged in: nothing more to register or log in to.
    a.send("/register other123")
    a.expect(r"^!! logged-in: you are logged in as alice; /logout first$")
    a.send("/login alice sesame12")
    a.expect(r"^!! logged-in:")

    # Nobody else may take the nick, in any case, even while its owner
    # is called something else.
    b = srv.client("bob")
    b.send("/nick ALICE")
    b.expect(r"^!! nick-in-use: ALICE is already taken$")
    a.set_nick("alicia")
    b.send("/nick ALICE")
    b.expect(r"^!! nick-owned: ALICE is a registered account's; /login ALICE PASSWORD to use it$")
    b.send("/register sesame12")
    b.expect(r"^-- registered bob;")
    b.send("/logout")
    b.expect(r"^-- you are logged out of bob$")
    b.expect(r"^-- bob is a registered account's: you get a guest's name$")
    m = b.expect(r"^-- bob is now known as (guest\d+)$")
    b.nick = m.group(1)
    b.send("/logout")
    b.expect(r"^!! not-logged-in: you are not logged in; /login NAME PASSWORD$")

    # Logging in takes the account's nick when it is free.
    b.send("/login bob sesame12")
    b.expect(r"^-- you are logged in as bob$")
    b.expect(r"^-- %s is now known as bob$" % b.nick)

    # Its owner takes it back; a second connection of the same account
    # keeps a nick of its own.
    a.set_nick("alice")
    a.close()
    a2 = srv.client()
    a2.send("/login Alice sesame12")
    a2.expect(r"^-- you are logged in as alice$")
    a2.expect(r"^-- \S+ is now known as alice$")
    a3 = srv.client()
    a3.send("/login alice sesame12")
    a3.expect(r"^-- you are logged in as alice$")
    a3.expect_nothing(r"is now known as alice")
    assert "sesame12" not in srv.log_text()


def test_errors(make_server):
    srv = make_server()
    c = srv.client("carol")
    c.send("/register")
    c.expect(r"^!! usage: /register PASSWORD$")
    c.send("/register short")
    c.expect(r"^!! password-length: a password is 6 to 1024 bytes$")
    c.send("/login carol")
    c.expect(r"^!! usage: /login NAME PASSWORD$")
    c.send("/login nobody whatever1")
    c.expect(r"^!! login-failed: wrong password or unknown account$")
    c.send("/passwd old new")
    c.expect(r"^!! not-logged-in:")
    c.send("/register with spaces in it")
    c.expect(r"^-- registered carol;")
    d = srv.client("dave")
    d.send("/login carol with spaces")
    d.expect(r"^!! login-failed:")
    d.send("/login carol with spaces in it")
    d.expect(r"^-- you are logged in as carol$")

    # /passwd checks the old password.
    c.send("/passwd wrong newpassword")
    c.expect(r"^!! login-failed:")
    c.send("/passwd with newpassword")
    c.expect(r"^!! login-failed:")
    # (the old one had spaces: /passwd takes one word for it)
    c.send("/logout")
    c.expect(r"^-- you are logged out of carol$")
    c.expect(r"is now known as guest")

    # Somebody's nick cannot be registered by another: it is in use; and
    # an account's name cannot be registered twice.
    e = srv.client("erin")
    e.send("/register sesame12")
    e.expect(r"^-- registered erin;")
    e.send("/logout")
    e.expect(r"is now known as guest")
    e.send("/nick Erin")
    e.expect(r"^!! nick-owned:")

    srv2 = make_server(*NO_HISTORY)
    f = srv2.client("frank")
    f.send("/register sesame12")
    f.expect(r"^!! no-accounts: this server keeps no accounts$")
    f.send("/login frank sesame12")
    f.expect(r"^!! no-accounts:")


def test_passwd(make_server):
    srv = make_server()
    c = srv.client("gwen")
    c.send("/register firstpass")
    c.expect(r"^-- registered gwen;")
    c.send("/passwd firstpass secondpass")
    c.expect(r"^-- password changed$")
    d = srv.client()
    d.send("/login gwen firstpass")
    d.expect(r"^!! login-failed:")
    d.send("/login gwen secondpass")
    d.expect(r"^-- you are logged in as gwen$")
    log = srv.log_text()
    assert "firstpass" not in log and "secondpass" not in log


def test_throttled_per_account(make_server):
    """Five failures for one account, then refusals without checking, even
    of the right password; other accounts are served meanwhile. Counted,
    not timed: all the guesses are sent at once."""
    srv = make_server()
    h = srv.client("henry")
    h.send("/register rightpass")
    h.expect(r"^-- registered henry;")
    g = srv.client()
    for i in range(8):
        g.send("/login henry wrong%d" % i)
    g.send("/login henry rightpass")
    answers = [g.expect(r"^!! (login-failed|throttled):").group(1) for _ in range(9)]
    assert answers.count("login-failed") == 5, answers
    assert answers.count("throttled") == 4, answers
    assert answers[-1] == "throttled"
    # Another account from another connection: still served.
    i = srv.client("ivy")
    i.send("/register ivypass1")
    i.expect(r"^-- registered ivy;")
    i.send("/logout")
    i.expect(r"is now known as guest")
    i.send("/login ivy ivypass1")
    i.expect(r"^-- you are logged in as ivy$")


def test_throttled_per_address(make_server):
    """From one address, twenty failures over any accounts, then
    refusals."""
    srv = make_server()
    g = srv.client()
    for i in range(24):
        g.send("/login user%d wrongpass" % i)
    answers = [g.expect(r"^!! (login-failed|throttled):").group(1) for _ in range(24)]
    assert answers.count("login-failed") == 20, answers
    assert answers.count("throttled") == 4, answers


def test_admin_cli_while_running(make_server, tmp_path):
    data = tmp_path / "data"
    srv = make_server("--data-dir", str(data))
    r = account_cli(data, "add", "Judy", password="judypass")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "added Judy\n"
    # The server hears of it at its next sweep: the nick is Judy's.
    wait_for(lambda: nick_taken(srv, "judy"), "judy owned")
    c = srv.client()
    c.send("/login judy judypass")
    c.expect(r"^-- you are logged in as Judy$")
    c.expect(r"is now known as Judy$")

    assert account_cli(data, "add", "judy", password="other123").returncode == 1
    assert account_cli(data, "add", "kim", password="short").returncode == 1
    assert account_cli(data, "add", "9lives", password="longenough").returncode == 1
    assert account_cli(data, "add", "NickServ", password="longenough").returncode == 1
    assert account_cli(data, "add", "kim").returncode == 1  # no password
    assert account_cli(data, "add", "kim", password="kimpass1").returncode == 0
    # Seen owned first: "kim free" below then proves a later read.
    wait_for(lambda: nick_taken(srv, "kim"), "kim owned")
    r = account_cli(data, "list")
    assert r.returncode == 0
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == ["Judy", "kim"]
    assert re.match(r"^Judy\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", r.stdout.splitlines()[0])

    # A new password works at once (the server reads it at each login).
    assert account_cli(data, "passwd", "JUDY", password="judynew1").returncode == 0
    d = srv.client()
    d.send("/login judy judypass")
    d.expect(r"^!! login-failed:")
    d.send("/login judy judynew1")
    d.expect(r"^-- you are logged in as Judy$")
    assert account_cli(data, "passwd", "nobody", password="whatever1").returncode == 1

    # Deleted: whoever is logged in as it is logged out, the nick is free.
    assert account_cli(data, "delete", "judy").returncode == 0
    assert account_cli(data, "delete", "judy").returncode == 1
    # kim's nick (nobody holds it, the server saw it owned) free means
    # the server has read both deletions.
    assert account_cli(data, "delete", "kim").returncode == 0
    wait_for(lambda: not nick_taken(srv, "kim"), "kim free")
    e = srv.client()
    e.send("/login judy judynew1")
    e.expect(r"^!! login-failed:")
    c.send("/register judyagain")  # logged out, so it may register again
    c.expect(r"^-- registered Judy;")

    # Usage errors.
    assert account_cli(data, "frob").returncode == 2
    assert account_cli(data).returncode == 2
    assert account_cli(data, "list", "extra").returncode == 2
    assert "judypass" not in srv.log_text()


def test_accounts_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    srv = Server("--data-dir", str(data))
    try:
        c = srv.client("liam")
        c.send("/register liampass")
        c.expect(r"^-- registered liam;")
    finally:
        assert srv.stop() == 0
    srv = Server("--data-dir", str(data))
    try:
        # Owned from the first moment: the registry is read at start.
        c = srv.client()
        c.send("/nick liam")
        c.expect(r"^!! nick-owned:")
        c.send("/login liam liampass")
        c.expect(r"^-- you are logged in as liam$")
    finally:
        assert srv.stop() == 0


def test_help_lists_account_commands(make_server):
    srv = make_server(*NO_HISTORY)
    c = srv.client()
    c.send("/help")
    for cmd in ("register PASSWORD", "login NAME PASSWORD", "logout", "passwd OLD NEW"):
        c.expect(r"^-- /%s" % re.escape(cmd))


def test_registered_elsewhere_while_held(make_server, tmp_path):
    """The admin command line registers the nick a user holds (not logged
    in as it): once the server hears of it, the user gets a guest's."""
    data = tmp_path / "data"
    srv = make_server("--data-dir", str(data))
    m = srv.client("mallory")
    assert account_cli(data, "add", "Mallory", password="theirpass").returncode == 0
    m.expect(r"^-- mallory is now known as guest\d+$", timeout=10)
    m.send("/nick mallory")
    m.expect(r"^!! nick-owned:")
