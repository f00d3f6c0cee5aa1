"""Replies finished later, by a worker (the seam CHATHISTORY and AUTHENTICATE
will use): the test-only DEBUG ASYNC command (debug-commands 1) answers one
line at once and two more when a worker thread has done its part, on a later
pass of the loop. Its label and batch hold across the wait, and whatever the
client is sent meanwhile comes after it."""
import re

from irc import parse
from test_irc import line, make_irc, user  # noqa: F401 (fixtures)

DEBUG = ("--debug-commands", "1")
CAPS = "labeled-response batch"


def test_debug_commands_are_off_by_default(make_irc):
    srv = make_irc()
    alice = user(srv, "alice")
    alice.send("DEBUG ASYNC x")
    alice.expect_numeric("421", r"DEBUG :Unknown command")


def test_async_reply_keeps_its_label_batch_and_place(make_irc):
    srv = make_irc(*DEBUG)
    alice = user(srv, "alice", caps=CAPS)
    # Both at once: the PING is handled while the worker still works.
    alice.send_raw(b"@label=a1 DEBUG ASYNC hello\r\n@label=a2 PING tok\r\n")
    got = [parse(x) for x in alice.collect(r"PONG \S+ :?tok$")]
    opening, *inside, closing, pong = got
    assert opening.command == "BATCH" and opening.tags.get("label") == "a1", got
    ref = opening.params[0]
    assert ref.startswith("+") and opening.params[1] == "labeled-response", got
    ref = ref[1:]
    assert [m.params[-1] for m in inside] == [
        "DEBUG ASYNC: working on hello", "DEBUG ASYNC: HELLO", "DEBUG ASYNC: done"], got
    assert all(m.command == "NOTICE" and m.tags.get("batch") == ref for m in inside), got
    assert closing.command == "BATCH" and closing.params == ["-" + ref], got
    assert pong.command == "PONG" and pong.tags.get("label") == "a2", got


def test_async_replies_come_in_the_order_asked(make_irc):
    srv = make_irc(*DEBUG)
    alice = user(srv, "alice", caps=CAPS)
    alice.send_raw(b"@label=x1 DEBUG ASYNC one\r\n@label=x2 DEBUG ASYNC two\r\n"
                   b"@label=x3 PING tok\r\n")
    got = [parse(x) for x in alice.collect(r"PONG \S+ :?tok$")]
    labels = [m.tags.get("label") for m in got if "label" in m.tags]
    assert labels == ["x1", "x2", "x3"], got
    texts = [m.params[-1] for m in got if m.command == "NOTICE"]
    assert texts == ["DEBUG ASYNC: working on one", "DEBUG ASYNC: ONE", "DEBUG ASYNC: done",
                     "DEBUG ASYNC: working on two", "DEBUG ASYNC: TWO", "DEBUG ASYNC: done"], got


def test_unlabeled_async_reply_holds_what_follows(make_irc):
    srv = make_irc(*DEBUG)
    alice = user(srv, "alice")
    alice.send_raw(b"DEBUG ASYNC abc\r\nPING tok\r\n")
    got = alice.collect(r"PONG \S+ :?tok$")
    notices = [parse(x).params[-1] for x in got if " NOTICE " in x]
    assert notices == ["DEBUG ASYNC: working on abc", "DEBUG ASYNC: ABC", "DEBUG ASYNC: done"], got
    assert re.search(r"PONG \S+ :?tok$", got[-1]), got


def test_quit_while_a_reply_waits(make_irc):
    """The conn goes before the worker is done: the answer finds nobody,
    the QUIT's ERROR still goes out, and the server carries on (and exits
    cleanly: the fixture checks)."""
    srv = make_irc(*DEBUG)
    alice = user(srv, "alice", caps=CAPS)
    bob = user(srv, "bob")
    alice.send_raw(b"@label=q1 DEBUG ASYNC bye\r\nQUIT :gone\r\n")
    seen = alice.expect_closed()
    assert any(x.startswith("ERROR :Closing Link") for x in seen), seen
    bob.send("DEBUG ASYNC still")
    bob.expect(line(r":\S+ NOTICE bob :DEBUG ASYNC: STILL"))
