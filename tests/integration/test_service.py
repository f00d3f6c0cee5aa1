"""Running parleyd as a service: `make install` (and uninstall) into a
DESTDIR, the systemd unit it installs (systemd-analyze verify), and the
privilege drop (user, group) of a server started as root."""
import os
import pwd
import re
import shutil
import sqlite3
import subprocess

import pytest

from chat import PARLEYD, ROOT, Server, free_port, missing_tools, need_tools

UNIT = ROOT / "contrib" / "parleyd.service"
NOBODY = pwd.getpwnam("nobody")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (CI and make test run as root)")


def make(*args):
    """make in the tree, for the binaries under test: the sanitized ones
    under `make sanitize` (PARLEY_BIN), without the outer make's flags."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    extra = ["SANITIZE=1"] if os.environ.get("PARLEY_BIN", ".").rstrip("/") == "build/sanitize/bin" else []
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *extra, *args],
                          capture_output=True, text=True, env=env, timeout=600)


INSTALLED = {
    "bin/parleyd": 0o755, "bin/parley": 0o755,
    "share/man/man1/parley.1": 0o644, "share/man/man5/parleyd.conf.5": 0o644,
    "share/man/man8/parleyd.8": 0o644,
    "lib/systemd/system/parleyd.service": 0o644,
    "share/doc/parley/parleyd.conf": 0o644, "etc/parley/parleyd.conf": 0o644,
}


def installed_files(dest):
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """make install PREFIX=/opt/parley DESTDIR=...: the destination, and
    the prefix's place in it."""
    dest = tmp_path_factory.mktemp("destdir")
    p = make("install", "DESTDIR=%s" % dest, "PREFIX=/opt/parley")
    assert p.returncode == 0, p.stdout + p.stderr
    return dest, dest / "opt" / "parley"


def test_install_puts_everything_under_destdir_and_prefix(installed):
    dest, prefix = installed
    assert installed_files(dest) == sorted("opt/parley/" + f for f in INSTALLED)
    for f, mode in INSTALLED.items():
        assert (prefix / f).stat().st_mode & 0o777 == mode, f
    v = subprocess.run([str(prefix / "bin" / "parleyd"), "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("parleyd ")
    assert (prefix / "etc/parley/parleyd.conf").read_text() == \
        (ROOT / "contrib/parleyd.conf").read_text()
    # The unit and the manuals name the installed paths, not /usr/local.
    unit = (prefix / "lib/systemd/system/parleyd.service").read_text()
    assert re.search(r"^ExecStart=/opt/parley/bin/parleyd --config "
                     r"/opt/parley/etc/parley/parleyd\.conf --data-dir /var/lib/parley$", unit, re.M)
    assert "/usr/local" not in unit
    assert "/opt/parley/etc/parley/parleyd.conf" in (prefix / "share/man/man8/parleyd.8").read_text()


def test_install_keeps_an_edited_config_and_uninstall_removes_the_rest(tmp_path):
    p = make("install", "DESTDIR=%s" % tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    conf = tmp_path / "usr/local/etc/parley/parleyd.conf"
    conf.write_text("server-name chat.example\n")
    p = make("install", "DESTDIR=%s" % tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert conf.read_text() == "server-name chat.example\n"
    p = make("uninstall", "DESTDIR=%s" % tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert installed_files(tmp_path) == ["usr/local/etc/parley/parleyd.conf"]
    # Not edited, it goes too.
    conf.unlink()
    assert make("install", "DESTDIR=%s" % tmp_path).returncode == 0
    assert make("uninstall", "DESTDIR=%s" % tmp_path).returncode == 0
    assert installed_files(tmp_path) == []


def test_unit_verifies(installed, tmp_path):
    """systemd-analyze verify on the installed unit, with ExecStart on the
    installed binary (verify checks that it is there) and MANPATH on the
    installed manuals (it checks Documentation= too). verify exits 0 on a
    line it cannot parse, so its output must be empty as well."""
    need_tools(missing_tools("systemd-analyze"))
    dest, prefix = installed
    unit = (prefix / "lib/systemd/system/parleyd.service").read_text()
    unit = unit.replace("/opt/parley/bin/parleyd", str(prefix / "bin" / "parleyd"))
    path = tmp_path / "parleyd.service"
    path.write_text(unit)
    env = dict(os.environ, MANPATH=str(prefix / "share" / "man"))
    # Without man-db (a minimal machine) verify cannot look the manuals
    # up: test_docs.py checks them.
    man = [] if shutil.which("man") else ["--man=no"]
    p = subprocess.run(["systemd-analyze", "verify", *man, str(path)], capture_output=True,
                       text=True, env=env)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stdout + p.stderr
    # The sandbox's exposure, as systemd-analyze security scores it (0 to
    # 10, lower is better): 1.5 today; 2.0 at most.
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20",
                        str(path)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr


def test_unit_settings():
    """What the unit must say (issue 14): an unprivileged dynamic user,
    its data in its state directory, the sandbox, reload by SIGHUP, and
    the low-port capability only as a commented choice."""
    text = UNIT.read_text()
    settings = re.findall(r"^([A-Za-z]+)=(.*)$", text, re.M)
    got = {}
    for k, v in settings:
        got.setdefault(k, []).append(v)
    want = {
        "Type": "exec", "DynamicUser": "yes", "StateDirectory": "parley",
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "NoNewPrivileges": "yes", "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "ExecReload": "/bin/kill -HUP $MAINPID", "CapabilityBoundingSet": "",
    }
    for k, v in want.items():
        assert got.get(k) == [v], (k, got.get(k))
    assert "@system-service" in got["SystemCallFilter"]
    assert "--data-dir /var/lib/parley" in got["ExecStart"][0]
    assert "AmbientCapabilities" not in got
    assert re.search(r"^#AmbientCapabilities=CAP_NET_BIND_SERVICE$", text, re.M)
    assert re.search(r"^#CapabilityBoundingSet=CAP_NET_BIND_SERVICE$", text, re.M)
    # parleyd does not call sd_notify, so the unit must not wait for it.
    assert b"NOTIFY_SOCKET" not in PARLEYD.read_bytes()


def proc_ids(status_path):
    status = open(status_path).read()
    uid = [int(x) for x in re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()]
    gid = [int(x) for x in re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()]
    groups = [int(x) for x in re.search(r"^Groups:[ \t]*(.*)$", status, re.M).group(1).split()]
    return uid, gid, groups


@as_root
def test_root_drops_to_user_after_binding_and_still_serves(tmp_path):
    """Started as root with --user nobody: every thread runs as nobody
    (real, effective, saved and filesystem ids; no other group), the
    listener bound before still takes clients, and history is written to
    the data-dir, handed to nobody with the database's files, a second
    time too (over the files of the first run)."""
    data = tmp_path / "data"
    for run in range(2):
        srv = Server("--user", "nobody", "--data-dir", str(data))
        try:
            pid = srv.proc.pid
            for task in os.listdir("/proc/%d/task" % pid):
                uid, gid, groups = proc_ids("/proc/%d/task/%s/status" % (pid, task))
                assert uid == [NOBODY.pw_uid] * 4, (task, uid)
                assert gid == [NOBODY.pw_gid] * 4, (task, gid)
                assert groups == [NOBODY.pw_gid]
            a, b = srv.client("alice"), srv.client("bob")
            a.send("said in run %d" % run)
            b.expect(r"<alice> said in run %d" % run)
            a.sync()
            assert "running as user nobody (uid %d)" % NOBODY.pw_uid in srv.log_text()
            for f in [data] + [p for p in data.iterdir()]:
                assert f.stat().st_uid == NOBODY.pw_uid, f
            a.close()
            b.close()
        finally:
            assert srv.stop() == 0
    with sqlite3.connect(data / "parley.db") as db:
        texts = [r[0] for r in db.execute("SELECT text FROM events WHERE kind = 1 ORDER BY msgid")]
    assert texts == ["said in run 0", "said in run 1"], texts


def exit_2_saying(args, needle, preexec=None):
    p = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(), "--history", "off",
                        *args], capture_output=True, text=True, timeout=20, preexec_fn=preexec)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr


def test_unknown_user_or_group_is_one_line_and_exit_2():
    exit_2_saying(["--user", "no-such-user-here"], "parleyd: user no-such-user-here: no such user")
    exit_2_saying(["--user", "nobody", "--group", "no-such-group"],
                  "parleyd: group no-such-group: no such group")
    exit_2_saying(["--group", "nogroup"], "parleyd: group nogroup needs user")


@as_root
def test_started_unprivileged_it_cannot_become_another_user():
    """Started as nobody, `user daemon` cannot be obeyed: exit 2, one
    line; `user nobody` is what it is already, and it starts."""
    def as_nobody():
        os.setgroups([])
        os.setgid(NOBODY.pw_gid)
        os.setuid(NOBODY.pw_uid)
    exit_2_saying(["--user", "daemon"], "only a server started as root can become another user",
                  as_nobody)
    port = free_port()
    p = subprocess.Popen([str(PARLEYD), "--listen", "127.0.0.1:%d" % port, "--history", "off",
                          "--user", "nobody"], stderr=subprocess.PIPE, text=True,
                         preexec_fn=as_nobody, start_new_session=True)
    try:
        # Until it is ready (its signals handled), not just listening.
        lines = []
        while not lines or ("ready as" not in lines[-1] and lines[-1] and len(lines) < 20):
            lines.append(p.stderr.readline())
        assert "ready as" in lines[-1], lines
        assert any("listening on 127.0.0.1:%d" % port in l for l in lines), lines
    finally:
        p.terminate()
        p.wait(10)
        p.stderr.close()
    assert p.returncode == 0
