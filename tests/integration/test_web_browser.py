"""The web client in a real browser: tests/browser/e2e.mjs drives two headless
Chromium pages and one `nc` against a real parleyd with --web-listen, over
HTTP (ws:) and over TLS (wss:, with a self-signed certificate); and one page
against a room with history (draft/chathistory, soju.im/search).

Needs node, Debian's chromium and `npm ci --prefix tests/browser` (`make
browser-deps` installs them). Run by hand without them it skips, saying which
is missing; under `make test` (PARLEY_TOOLS=required) it fails instead."""
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from chat import NO_HISTORY, ROOT, free_port, kill_group, make_cert, need_tools
from irc import IrcClient

# One Chromium at a time: under pytest-xdist these tests all go to one
# worker (make test's --dist loadgroup), the others' tests beside them.
# Two browsers at once on a busy two-core machine missed e2e.mjs's 10 s
# page loads.
pytestmark = pytest.mark.xdist_group("browser")

BROWSER_DIR = ROOT / "tests" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "build" / "artifacts"


def missing_tools():
    if not shutil.which("node"):
        return "node is not installed (apt-get install nodejs)"
    if not CHROMIUM.exists():
        return "%s is missing (apt-get install chromium)" % CHROMIUM
    for module in ("playwright-core", "axe-core"):
        if not (BROWSER_DIR / "node_modules" / module).is_dir():
            return "tests/browser/node_modules/%s is missing (npm ci --prefix tests/browser)" % module
    return None


def run_e2e(cmd, srv, timeout=120):
    """Runs e2e.mjs in its own process group (node, and the Chromium it
    starts, are killed together whatever happens); fails with what it said."""
    run = subprocess.Popen(cmd, cwd=BROWSER_DIR, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(run)
        out, err = run.communicate()
        pytest.fail("e2e.mjs still running after %d s:\n%s\n%s\nparleyd log:\n%s"
                    % (timeout, out, err, srv.log_text()))
    finally:
        kill_group(run)
    assert run.returncode == 0, (
        "e2e.mjs exited %d\n--- stdout\n%s--- stderr\n%s--- parleyd log (last 40 lines)\n%s"
        % (run.returncode, out, err,
           "\n".join(srv.log_text().splitlines()[-40:])))


@pytest.mark.parametrize("scheme", ["http", "https", "http-password", "http-nohistory"])
def test_web_client_in_chromium(make_server, scheme):
    """With history (the server's default) and without it (as an older
    server): the page works the same, and offers history only with it."""
    need_tools(missing_tools())
    web_port = free_port()
    if scheme == "https":
        cert, key = make_cert()
        srv = make_server("--web-listen", "127.0.0.1:%d tls" % web_port,
                          "--tls-cert", str(cert), "--tls-key", str(key))
        artifacts = ARTIFACTS / "tls"
    elif scheme == "http-password":
        # The page asks for the password when the server says 464.
        srv = make_server("--web-listen", "127.0.0.1:%d" % web_port, "--password", "pw 1")
        artifacts = ARTIFACTS / "password"
    elif scheme == "http-nohistory":
        srv = make_server("--web-listen", "127.0.0.1:%d" % web_port, *NO_HISTORY)
        artifacts = ARTIFACTS / "nohistory"
    else:
        srv = make_server("--web-listen", "127.0.0.1:%d" % web_port)
        artifacts = ARTIFACTS
    artifacts.mkdir(parents=True, exist_ok=True)
    shots = [artifacts / "web-chat.png", artifacts / "web-chat-phone.png"]
    for shot in shots:
        shot.unlink(missing_ok=True)

    cmd = ["node", str(BROWSER_DIR / "e2e.mjs"),
           "--url", "%s://127.0.0.1:%d/" % (scheme.split("-")[0], web_port),
           "--plain-port", str(srv.port),
           "--artifacts", str(artifacts)]
    if scheme == "http-password":
        cmd += ["--password", "pw 1"]
    cmd += ["--history", "off" if scheme == "http-nohistory" else "on"]
    run_e2e(cmd, srv)
    for shot in shots:
        assert shot.is_file() and shot.stat().st_size > 0, "no screenshot %s" % shot


def test_web_client_history(make_server, tmp_path):
    """A room with more than four pages of lines, said by a raw IRC client
    before the page opens: the page shows the newest with their times, a
    divider above the live ones, the rest as it is scrolled up until none
    are left, all of them once after a reload, and a search finds one."""
    need_tools(missing_tools())
    web_port = free_port()
    # A page of 20 (the server's CHATHISTORY=20): the room has more than four.
    srv = make_server("--web-listen", "127.0.0.1:%d" % web_port, "--flood-rate", "0",
                      "--data-dir", str(tmp_path / "data"), "--chathistory-max", "20", irc=True)
    cmd = ["node", str(BROWSER_DIR / "e2e.mjs"), "--url", "http://127.0.0.1:%d/" % web_port,
           "--plain-port", str(srv.port), "--irc-port", str(srv.irc_port),
           "--artifacts", str(ARTIFACTS / "history"), "--scenario", "history"]
    run_e2e(cmd, srv)


def test_web_client_shows_the_topic_of_now_after_a_restart(make_server, tmp_path):
    """A page that rejoins after the server restarted shows the room as it is
    now: the old server's topic must not stay in the header. With history
    (kept across the restart) the room fills again, without doubles."""
    need_tools(missing_tools())
    web_port = free_port()
    # The same data-dir for both servers: the history outlives the restart.
    args = ("--web-listen", "127.0.0.1:%d" % web_port, "--data-dir", str(tmp_path / "data"))
    srv = make_server(*args)
    cmd = ["node", str(BROWSER_DIR / "e2e.mjs"), "--url", "http://127.0.0.1:%d/" % web_port,
           "--plain-port", str(srv.port), "--artifacts", str(ARTIFACTS / "rejoin"),
           "--scenario", "rejoin"]
    run = subprocess.Popen(cmd, cwd=BROWSER_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(l) for l in run.stdout] + [lines.put("")])
    reader.start()
    seen = []
    try:
        while not seen or seen[-1] != "e2e: restart the server":
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                line = ""
            if not line:
                kill_group(run)
                pytest.fail("e2e.mjs did not ask for the restart:\n%s\n%s"
                            % ("\n".join(seen), run.stderr.read()))
            seen.append(line.rstrip("\n"))
        assert srv.stop() == 0
        make_server(*args)  # the same port: the page reconnects to it
        try:
            run.stdin.write("restarted\n")
            run.stdin.flush()
        except BrokenPipeError:
            pass  # it failed: what it said is below
        run.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail("e2e.mjs still running after 60 s")
    finally:
        kill_group(run)
        reader.join(10)
        err = run.stderr.read()
    out = []
    while not lines.empty():
        out.append(lines.get().rstrip("\n"))
    assert run.returncode == 0, "e2e.mjs exited %s\n--- stdout\n%s\n--- stderr\n%s" % (
        run.returncode, "\n".join(seen + out), err)


def test_web_client_site_settings_and_notifications(make_server):
    """web-title and web-description on the landing page (as text, not
    markup) and in the tab's title; notifications of mentions and private
    messages while the tab is hidden, with the permission granted in the
    browser context, none without it; "Notify me" asks on a click."""
    need_tools(missing_tools())
    web_port = free_port()
    title, description = "Chat <b>&\"Co'", "Be <i>kind</i> & brief"
    srv = make_server("--web-listen", "127.0.0.1:%d" % web_port, "--web-title", title,
                      "--web-description", description)
    cmd = ["node", str(BROWSER_DIR / "e2e.mjs"), "--url", "http://127.0.0.1:%d/" % web_port,
           "--plain-port", str(srv.port), "--artifacts", str(ARTIFACTS / "site"),
           "--scenario", "site", "--title", title, "--description", description]
    run_e2e(cmd, srv)


def caps_offered(irc_port):
    """The capabilities (names) a parleyd offers in CAP LS 302."""
    probe = IrcClient(irc_port)
    try:
        probe.send("CAP LS 302")
        offered = set()
        more = True
        while more:  # CAP * LS * :... while more lines follow
            line = probe.expect(r"^(?:@\S+ +)?:\S+ CAP \S+ LS (\* )?:(.*)$", timeout=30)
            offered |= {c.split("=")[0] for c in line.group(2).split()}
            more = bool(line.group(1))
        return offered
    finally:
        probe.close()


def run_accounts_scenario(make_server, scenario, needs):
    """Runs e2e.mjs's scenario against a parleyd with accounts; skipped,
    saying which, when that parleyd does not offer a capability it needs."""
    need_tools(missing_tools())
    web_port = free_port()
    srv = make_server("--web-listen", "127.0.0.1:%d" % web_port, irc=True)
    missing = sorted(set(needs) - caps_offered(srv.irc_port))
    if missing:
        pytest.skip("this parleyd does not offer %s in CAP LS" % ", ".join(missing))
    cmd = ["node", str(BROWSER_DIR / "e2e.mjs"), "--url", "http://127.0.0.1:%d/" % web_port,
           "--plain-port", str(srv.port), "--artifacts", str(ARTIFACTS / scenario),
           "--scenario", scenario]
    run_e2e(cmd, srv, timeout=200)


def test_web_client_accounts(make_server):
    """Create an account and sign in from the landing page (SASL PLAIN),
    each refusal said (name taken, short password, wrong password, too
    many attempts); Remember me and signing out; axe-core on the new
    forms and the chat signed in."""
    run_accounts_scenario(make_server, "accounts", ("sasl", "draft/account-registration"))


def test_web_client_private_history_and_read_markers(make_server):
    """What accounts unlock, on the page: a second page of an account finds
    its private conversation with its earlier messages (CHATHISTORY TARGETS
    and LATEST on the nick); reading #lobby in one page of the account
    clears its unread badge in the other (draft/read-marker). Private
    history came with read markers (issue 13's unlock lane): without
    draft/read-marker in CAP LS the test says so and is skipped."""
    run_accounts_scenario(make_server, "markers",
                          ("sasl", "draft/account-registration", "draft/chathistory", "batch",
                           "draft/read-marker"))
