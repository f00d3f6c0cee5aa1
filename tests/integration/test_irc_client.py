"""A real IRC client against parleyd's IRC door: irssi, in a tmux pane of
its own, talking in #lobby with a plain-text user."""
import os
import re
import shlex
import shutil
import subprocess
import time

import pytest

from chat import Client, Server

# Generous: under the sanitizers everything is slower. Nothing is asserted
# about how long anything takes; these only keep a hung test from hanging.
TIMEOUT = 30

pytestmark = pytest.mark.skipif(
    shutil.which("irssi") is None or shutil.which("tmux") is None,
    reason="needs irssi and tmux (apt-get install irssi tmux)")


@pytest.fixture
def irc_server():
    srv = Server(irc=True)
    yield srv
    rc = srv.stop()
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


class Tmux:
    """A tmux server of our own (its own socket name), so nothing of the
    user's tmux is touched, and killing it ends everything it ran."""

    def __init__(self):
        self.name = "parleytest-%d" % os.getpid()
        self.socket_path = None

    def start(self, *args):
        self.run("new-session", "-d", "-s", "irc", *args)
        self.socket_path = self.run("display-message", "-p", "-t", "irc",
                                    "#{socket_path}").stdout.strip()

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.name, *args], check=True,
                              capture_output=True, text=True, timeout=TIMEOUT)

    def pane(self):
        return self.run("capture-pane", "-p", "-t", "irc").stdout

    def wait_for(self, regex, timeout=TIMEOUT):
        """The pane's text once a line of it matches regex."""
        deadline = time.monotonic() + timeout
        while True:
            pane = self.pane()
            if re.search(regex, pane, re.MULTILINE):
                return pane
            if time.monotonic() > deadline:
                pytest.fail("pane never matched %r:\n%s" % (regex, pane))
            time.sleep(0.1)

    def type(self, text):
        self.run("send-keys", "-t", "irc", "-l", text)
        self.run("send-keys", "-t", "irc", "Enter")

    def kill(self):
        subprocess.run(["tmux", "-L", self.name, "kill-server"],
                       capture_output=True, timeout=TIMEOUT)
        # tmux leaves its socket file behind.
        if self.socket_path:
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass


def test_irssi_talks_with_a_plain_user(irc_server, tmp_path):
    home = tmp_path / "irssi"
    home.mkdir()
    # A fresh home: no scripts, no autoconnects, no old settings. The sleep
    # keeps the pane (and what irssi left in it) should irssi exit early.
    command = ("env LANG=C.UTF-8 TERM=screen irssi --home=%s -n ircuser -c 127.0.0.1 -p %d; sleep %d"
               % (shlex.quote(str(home)), irc_server.irc_port, TIMEOUT))
    tmux = Tmux()
    plain = None
    try:
        tmux.start("-x", "160", "-y", "40", command)
        plain = Client(irc_server.port)
        plain.set_nick("plainer")
        # Registered: the welcome (001) shows in irssi's status window.
        tmux.wait_for(r"Welcome to the Parley IRC Network")
        tmux.type("/join #lobby")
        plain.expect(r"^#lobby -- ircuser joined$", timeout=TIMEOUT)
        tmux.wait_for(r"ircuser .*has joined #lobby")

        plain.send("hello from the plain side")
        tmux.wait_for(r"<[ @+]?plainer> hello from the plain side$")

        tmux.type("hello from irssi")
        plain.expect(r"^#lobby <ircuser> hello from irssi$", timeout=TIMEOUT)

        tmux.type("/me waves")
        plain.expect(r"^#lobby \* ircuser waves$", timeout=TIMEOUT)
        plain.send("/me waves back")
        tmux.wait_for(r"\* plainer waves back$")

        tmux.type("/quit see you")
        plain.expect(r"^-- ircuser quit: (Quit: )?see you$", timeout=TIMEOUT)
    finally:
        if plain is not None:
            plain.close()
        tmux.kill()
