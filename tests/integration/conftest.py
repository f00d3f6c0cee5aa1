import ctypes
import os
import signal
import time

import pytest

from chat import Server

# How long a test's processes may take to finish exiting after it ends.
LEFTOVER_GRACE = 10


def pytest_configure(config):
    """Orphans of what the tests start (tmux's server, whatever ran in its
    panes, a browser a script left) become this process's children rather
    than init's, so the check below sees them."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def pytest_collection_modifyitems(session, config, items):
    """Under pytest-xdist (--dist loadgroup) the tests of an xdist_group
    run on one worker one after the other, one long piece of work: they go
    first, so that it starts at once instead of being the tail the other
    workers wait for. The order is otherwise kept (the sort is stable)."""
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


def running_descendants():
    """Every living process below this one: [(pid, command line)]. Zombies
    are dead already and not counted."""
    found, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for task in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            for child in children:
                try:
                    with open("/proc/%d/stat" % child) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    with open("/proc/%d/cmdline" % child, "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    continue
                if state != "Z":
                    found.append((child, cmd))
                    todo.append(child)
    return found


@pytest.fixture(autouse=True)
def nothing_left_running():
    """Every test reaps what it starts: once it is over (its fixtures
    stopped), no process it started may still run. What is left is killed,
    and the test fails naming it. Processes of wider fixtures (a module's
    server), there before the test began, are theirs to stop."""
    before = {pid for pid, _ in running_descendants()}

    def leftovers():
        return [(pid, cmd) for pid, cmd in running_descendants() if pid not in before]
    yield
    deadline = time.monotonic() + LEFTOVER_GRACE
    left = leftovers()
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = leftovers()
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, "the test left processes running (now killed): %r" % left


def pytest_sessionfinish(session, exitstatus):
    """Reaps the orphans that died as our children (the subreaper's part)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@pytest.fixture
def server():
    """A parleyd with default options on a free port."""
    srv = Server()
    yield srv
    rc = srv.stop()
    # Under ASan a leak or error changes the exit code: every test checks it.
    assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


@pytest.fixture
def make_server():
    """Starts parleyd with the given options; stops them all at the end."""
    started = []

    def make(*args, **kw):
        srv = Server(*args, **kw)
        started.append(srv)
        return srv
    yield make
    for srv in started:
        rc = srv.stop()
        assert rc == 0, "parleyd exited with %s:\n%s" % (rc, srv.log_text())


def _throwaway_pg():
    """A started pgtmp cluster, closed at the end even after a failure.
    Without PostgreSQL installed the test skips, or fails under `make
    test` (need_tools)."""
    import pgtmp
    from chat import need_tools
    need_tools(pgtmp.missing())
    with pgtmp.running() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL (pgtmp.py) for the tests that need one, one
    per pytest worker, started when the first of them asks and stopped at
    the end of the session; pg_url gives each test a database in it."""
    yield from _throwaway_pg()


@pytest.fixture
def own_pg():
    """A throwaway PostgreSQL of the test's own, which it may stop and
    start (the database away, restarted), stopped at its end."""
    yield from _throwaway_pg()


_pg_databases = [0]


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh, empty database in the session's cluster: its libpq URL
    (postgresql://parley@127.0.0.1:PORT/NAME), for parleyd's `database`."""
    _pg_databases[0] += 1
    name = "t%d_%d" % (os.getpid(), _pg_databases[0])
    url = pg_cluster.createdb(name)
    yield url
    try:
        pg_cluster.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    except Exception:
        pass  # the cluster may be down (a test stopped it): it goes at the end
