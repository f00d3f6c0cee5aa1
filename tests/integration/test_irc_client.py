"""A real IRC client against parleyd's IRC door: irssi, in a tmux pane of
its own, talking in #lobby with a plain-text user."""
import shlex

import pytest

from chat import Client, Server, missing_tools, need_tools
from tmux import TIMEOUT, Tmux


@pytest.fixture
def irc_server():
    srv = Server(irc=True)
    yield srv
    rc = srv.stop()
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


def test_irssi_talks_with_a_plain_user(irc_server, tmp_path):
    need_tools(missing_tools("irssi", "tmux"))
    home = tmp_path / "irssi"
    home.mkdir()
    # A fresh home: no scripts, no autoconnects, no old settings. The sleep
    # keeps the pane (and what irssi left in it) should irssi exit early.
    command = ("env LANG=C.UTF-8 TERM=screen irssi --home=%s -n ircuser -c 127.0.0.1 -p %d; sleep %d"
               % (shlex.quote(str(home)), irc_server.irc_port, TIMEOUT))
    with Tmux(tmp_path / "tmux.sock", command, width=160, height=40) as tmux:
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
        plain.close()
