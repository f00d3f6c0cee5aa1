"""A terminal program driven in tmux, for the tests of the parley client and
of irssi: a tmux server of our own (its own socket), one window, keys sent
and the screen read back."""
import os
import re
import signal
import subprocess
import time

import pytest

# Generous: under the sanitizers everything is slower. Nothing is asserted
# about how long anything takes; these only keep a hung test from hanging.
TIMEOUT = 30


class Tmux:
    """One tmux server on socket path sock running command in a window of
    width x height. Use it in a with block: on the way out what ran in the
    pane is killed (its whole process group: a client that will not die
    of the hang-up, as a sanitized one may not, is not left behind), then
    the server."""

    def __init__(self, sock, command, width=100, height=30):
        self.sock = str(sock)
        self.run("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                 command)

    def run(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, *args], check=True,
                              capture_output=True, text=True, timeout=TIMEOUT)

    def pane(self):
        return self.run("capture-pane", "-p", "-t", "t").stdout

    def wait_for(self, regex, timeout=TIMEOUT):
        """The pane's text once a line of it matches regex."""
        deadline = time.monotonic() + timeout
        while True:
            pane = self.pane()
            if re.search(regex, pane, re.MULTILINE):
                return pane
            if time.monotonic() > deadline:
                pytest.fail("pane never matched %r:\n%s" % (regex, pane))
            time.sleep(0.05)

    def keys(self, text):
        """Types text, literally."""
        self.run("send-keys", "-t", "t", "-l", text)

    def enter(self):
        self.run("send-keys", "-t", "t", "Enter")

    def type(self, text):
        """Types a line and Enter."""
        self.keys(text)
        self.enter()

    def kill(self):
        try:
            pids = self.run("list-panes", "-a", "-F", "#{pane_pid}").stdout.split()
        except (subprocess.SubprocessError, OSError):
            pids = []
        for pid in pids:
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True,
                       timeout=TIMEOUT)
        # tmux leaves its socket file behind.
        try:
            os.unlink(self.sock)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
