"""A command sees the state the commands before it left, also in a
cluster, where a node asks Redis before it gives a nickname or settles a
joiner's operator status: what a client sends right behind such a command
(in the same TCP segment) waits for Redis's answer, then runs in order."""
import re

import irc
from chat import Client
from cluster import nodes, plain, redis, wait_for  # noqa: F401 (fixtures)


def test_a_message_right_behind_nick_goes_out_under_the_new_nick(nodes):
    a_node, b_node = nodes
    alice = irc.connect(a_node, "alice")
    alice.join("#r")
    bob = irc.connect(b_node, "bob")
    # NAMES before B mirrors #r answers its 366 alone: read to the 366.
    wait_for("B mirrors alice in #r", lambda: bob.send("NAMES #r") or
             "alice" in bob.expect(r" 366 bob #r |( 353 bob . #r :.*)").string)
    bob.join("#r")
    alice.expect(r":bob!\S+ JOIN #r")
    alice.send_raw(b"NICK alice2\r\nPRIVMSG #r :hi\r\n")
    seen = bob.collect(r"PRIVMSG #r :hi$")
    assert any(re.search(r"^(@\S+ )?:alice!\S+ NICK :?alice2$", line) for line in seen), seen
    assert re.search(r"^(@\S+ )?:alice2!", seen[-1]), seen
    # The same on alice's own node, for a member there.
    carol = irc.connect(a_node, "carol")
    carol.join("#r")
    alice.send_raw(b"NICK alice3\r\nPRIVMSG #r :again\r\n")
    seen = carol.collect(r"PRIVMSG #r :again$")
    assert re.search(r"^(@\S+ )?:alice3!", seen[-1]), seen


def test_registration_then_join_in_one_write(nodes):
    a_node, b_node = nodes
    bob = irc.connect(b_node, "bob")
    bob.join("#r")
    dave = irc.IrcClient(a_node.irc_port)
    dave.send_raw(b"NICK dave\r\nUSER d 0 * :Dave\r\nJOIN #r\r\nPRIVMSG #r :hello\r\n")
    lines = dave.collect(r" 366 dave #r ")
    assert not any(" 451 " in line for line in lines), lines
    bob.expect(r"^(@\S+ )?:dave!\S+ JOIN #r")
    bob.expect(r"^(@\S+ )?:dave!\S+ PRIVMSG #r :hello$")


def test_a_plain_line_right_behind_nick_goes_out_under_the_new_nick(nodes):
    a_node, b_node = nodes
    bob = plain(b_node, "bob")
    erin = Client(a_node.port)
    bob.expect(r"^-- %s is now known|^#lobby -- %s joined" % (erin.nick, erin.nick))
    erin.send_raw(b"/nick erin\nhi all\n")
    bob.expect(r"^-- \S+ is now known as erin$")
    bob.expect(r"^#lobby <erin> hi all$")


def test_a_mode_right_behind_a_join_is_judged_by_the_status_redis_gives(redis, nodes):
    """Redis has a member in #x that A's mirror lacks (one it never heard
    of): A takes frank for #x's first joiner, the script says he is not.
    His MODE sent behind the JOIN waits for that answer and is refused."""
    a_node, _ = nodes
    frank = irc.connect(a_node, "frank")
    redis.command("HSET", "parley:room:#x:m", "ghost", "999 1")
    redis.command("HSET", "parley:room:#x", "name", "#x", "created", "1", "modes", "nt")
    frank.send_raw(b"JOIN #x\r\nMODE #x +s\r\n")
    frank.expect(r" 366 frank #x ")
    lines = frank.collect(r" 482 frank #x | MODE #x \+s")
    assert " 482 frank #x " in lines[-1], lines
