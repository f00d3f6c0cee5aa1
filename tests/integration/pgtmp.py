"""A throwaway PostgreSQL for the tests: a cluster made by initdb in a
temporary directory, run by an unprivileged user (root may not run
postgres: as root, the cluster belongs to the `postgres` user the Debian
package makes, else to `nobody`), listening on a free loopback port only
(no Unix socket outside its directory), with trust authentication for the
superuser `parley`. Stopped and removed at the end, even on failure.

As a module: running(), a started PgCluster closed at the end whatever
happens (conftest.py's fixtures pg_cluster and own_pg use it). As a
command, for the cmocka tests (the Makefile's unit runs):

    pgtmp.py -- CMD ARGS...

starts a cluster, runs CMD with PARLEY_TEST_PG set to the superuser's URL
(postgresql://parley@127.0.0.1:PORT/postgres; each test makes its own
database), stops the cluster and exits with CMD's status. Without
PostgreSQL installed it runs CMD without PARLEY_TEST_PG, or fails under
PARLEY_TOOLS=required (make test), as other tool-needing tests do.

A cluster runs in a process group of its own (a Ctrl-C at the terminal
does not cut it down mid-test), so whoever made it stops it: close(), or,
when the process ends another way (pytest killed by SIGTERM or SIGHUP,
an exception past every finally), the atexit hook and the signal handler
this module installs, which stop every cluster still running and remove
its directory. Only SIGKILL of the process leaves one behind.

initdb runs once a process (2 s): its data directory is the template
each cluster copies (cp -a, a fifth of that), removed at exit."""
import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

START_TIMEOUT = 60
STOP_TIMEOUT = 30


def pg_bindir():
    """The directory of initdb and postgres, or None when not installed."""
    found = shutil.which("pg_config")
    if found:
        try:
            d = subprocess.run([found, "--bindir"], capture_output=True, text=True,
                               check=True).stdout.strip()
            if os.path.exists(os.path.join(d, "initdb")):
                return d
        except (OSError, subprocess.CalledProcessError):
            pass
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


def missing():
    """Why no cluster can be made (a reason), or None."""
    if pg_bindir() is None:
        return "not installed: postgresql (initdb, postgres)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "not installed: runuser (util-linux)"
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner():
    """The user the cluster runs as when we are root: (name, uid, gid)."""
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
            return name, pw.pw_uid, pw.pw_gid
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user (postgres, nobody) to run PostgreSQL as")


# Every cluster of this process not yet closed: reaped at exit.
_live = set()
# The directory holding "data", the data directory initdb made, which
# each cluster copies: made by the first, removed at exit.
_template = {"root": None}


def _reap_all():
    for cluster in list(_live):
        try:
            cluster.close()
        except Exception:
            pass
    if _template["root"] is not None:
        shutil.rmtree(_template["root"], ignore_errors=True)
        _template["root"] = None


def _on_signal(sig, frame):
    """SIGTERM or SIGHUP: the clusters go, then the process as the signal
    would have ended it."""
    _reap_all()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def _install_reaper():
    atexit.register(_reap_all)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        # Not over a handler someone else chose, nor off the main thread
        # (where Python refuses).
        try:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _on_signal)
        except ValueError:
            pass


class PgCluster:
    """One running cluster. url(db) names a database in it."""

    def __init__(self):
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise RuntimeError(missing())
        self.root = tempfile.mkdtemp(prefix="parley-pg-")
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "postgres.log")
        self.port = None
        self.proc = None
        self.user = None
        _live.add(self)
        if os.geteuid() == 0:
            self.user, uid, gid = _owner()
            os.chown(self.root, uid, gid)
        self._run(["cp", "-a", self._template_data(), self.data])

    def _template_data(self):
        """The template's data directory, made by initdb if this is the
        process's first cluster."""
        if _template["root"] is None:
            root = tempfile.mkdtemp(prefix="parley-pg-template-")
            os.chmod(root, 0o755)
            if self.user is not None:
                os.chown(root, *_owner()[1:])
            try:
                self._run([os.path.join(self.bindir, "initdb"), "-D",
                           os.path.join(root, "data"), "-U", "parley", "--auth=trust",
                           "-E", "UTF8", "--locale=C", "--no-sync"])
            except Exception:
                shutil.rmtree(root, ignore_errors=True)
                raise
            _template["root"] = root
        return os.path.join(_template["root"], "data")

    def _cmd(self, argv):
        return ["runuser", "-u", self.user, "--"] + argv if self.user else argv

    def _run(self, argv):
        r = subprocess.run(self._cmd(argv), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (argv[0], r.stdout, r.stderr))

    def start(self):
        """Starts postgres (again, on the same port after a stop) and
        waits until it takes connections."""
        if self.port is None:
            self.port = _free_port()
        logf = open(self.log, "ab")
        # Durability across a crash of the machine is not what the tests
        # check (a killed parleyd, a restarted postgres are): no fsync,
        # unless PGTMP_DURABLE=1 (benchmarks: PostgreSQL as it ships).
        fast = [] if os.environ.get("PGTMP_DURABLE") == "1" else [
            "-c", "fsync=off", "-c", "full_page_writes=off"]
        self.proc = subprocess.Popen(
            self._cmd([os.path.join(self.bindir, "postgres"), "-D", self.data,
                       "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                       "-c", "unix_socket_directories=" + self.root, *fast,
                       "-c", "max_connections=200", "-c", "shared_buffers=32MB"]),
            stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: %s" % self._log_tail())
            if self._ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("postgres did not start: %s" % self._log_tail())

    def _ready(self):
        r = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", "parley", "-d", "postgres"],
                           capture_output=True)
        return r.returncode == 0

    def _log_tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return "(no log)"

    def url(self, db="postgres"):
        return "postgresql://parley@127.0.0.1:%d/%s" % (self.port, db)

    def psql(self, sql, db="postgres"):
        """Runs sql (psql -c) as the superuser; its output."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", self.url(db), "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql %r: %s" % (sql, r.stderr))
        return r.stdout

    def createdb(self, name):
        """A new empty database called name; its URL."""
        self.psql('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def stop(self, mode=signal.SIGINT):
        """Stops postgres (SIGINT: a fast shutdown; SIGKILL its group at
        once or when it takes longer than STOP_TIMEOUT)."""
        if self.proc is None:
            return
        try:
            if mode == signal.SIGKILL:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self._signal_postmaster(mode)
            self.proc.wait(STOP_TIMEOUT)
        except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
            pass
        # Whatever is left of the group (runuser, the backends).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None
        if mode == signal.SIGKILL:
            # The backends of a killed postmaster die with it, but may take
            # a moment: wait until nothing holds the data directory.
            deadline = time.monotonic() + STOP_TIMEOUT
            pidfile = os.path.join(self.data, "postmaster.pid")
            while os.path.exists(pidfile) and time.monotonic() < deadline:
                try:
                    with open(pidfile) as f:
                        os.kill(int(f.readline()), 0)
                except (OSError, ValueError):
                    break
                time.sleep(0.05)

    def _signal_postmaster(self, sig):
        """postgres itself, not runuser, which would pass SIGINT on but
        not wait for the backends."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                os.kill(int(f.readline()), sig)
        except (OSError, ValueError):
            os.killpg(self.proc.pid, sig)

    def close(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        _live.discard(self)


@contextlib.contextmanager
def running():
    """A started cluster, stopped and removed when the block ends, however
    it ends (a failed start too)."""
    cluster = PgCluster()
    try:
        yield cluster.start()
    finally:
        cluster.close()


def main(argv):
    if not argv or argv[0] != "--" or len(argv) < 2:
        sys.stderr.write("usage: pgtmp.py -- CMD ARGS...\n")
        return 2
    cmd = argv[1:]
    why = missing()
    if why is not None:
        if os.environ.get("PARLEY_TOOLS") == "required":
            sys.stderr.write("pgtmp: %s (make test installs it)\n" % why)
            return 1
        return subprocess.call(cmd)
    # A signal ends the command and still stops the cluster.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with running() as cluster:
            env = dict(os.environ, PARLEY_TEST_PG=cluster.url())
            return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as e:
        sys.stderr.write("pgtmp: %s\n" % e)
        return 1
    finally:
        _reap_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
else:
    _install_reaper()
