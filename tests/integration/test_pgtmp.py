"""pgtmp.py's throwaway PostgreSQL goes with the pytest that made it, even
when that pytest is ended by a signal (SIGTERM from a CI runner's timeout,
SIGHUP from a closed terminal, Ctrl-C's SIGINT): nothing of it is left
running, and its directory is removed."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import pgtmp
from chat import need_tools, stop_group

HERE = os.path.dirname(os.path.abspath(__file__))

INNER = textwrap.dedent('''
    import os, sys, time
    sys.path.insert(0, %(here)r)
    import pgtmp
    import pytest

    @pytest.fixture
    def cluster():
        with pgtmp.running() as c:
            yield c

    def test_hold(cluster):
        with open(%(note)r + ".tmp", "w") as f:
            f.write(cluster.root)
        os.rename(%(note)r + ".tmp", %(note)r)
        time.sleep(120)
''')


def postmaster_pid(root):
    try:
        with open(os.path.join(root, "data", "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def default_signals():
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_to_pytest_stops_its_postgresql(tmp_path, sig):
    need_tools(pgtmp.missing())
    note = str(tmp_path / "root")
    test = tmp_path / "test_inner.py"
    test.write_text(INNER % {"here": HERE, "note": note})
    # The inner pytest's temporary directory, where its cluster and the
    # template it copies are made: open to postgres, unlike tmp_path.
    tmp = tempfile.mkdtemp(prefix="parley-pgtmp-test-")
    os.chmod(tmp, 0o755)
    # The signals as a terminal's child has them: a suite run under
    # nohup (or a runner that ignores SIGHUP) hands its children SIGHUP
    # ignored, and pgtmp rightly leaves an ignored signal ignored.
    inner = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "-p", "no:xdist", str(test)], cwd=str(tmp_path),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True, env=dict(os.environ, TMPDIR=tmp),
                             preexec_fn=default_signals)
    pid = None
    root = None
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(note) and time.monotonic() < deadline:
            assert inner.poll() is None, "the inner pytest ended before its cluster ran"
            time.sleep(0.1)
        root = open(note).read()
        pid = postmaster_pid(root)
        assert pid is not None and alive(pid)
        os.kill(inner.pid, sig)
        inner.wait(60)
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid), "postgres %d outlived the pytest that made it" % pid
        assert not os.path.exists(root), "its directory %s is left" % root
        assert not os.listdir(tmp), "its template is left: %s" % os.listdir(tmp)
    finally:
        stop_group(inner)
        shutil.rmtree(tmp, ignore_errors=True)
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)
