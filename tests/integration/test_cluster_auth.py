"""A cluster over a Redis that wants a password (issue 15): in the cluster
URL (redis://:PASSWORD@HOST:PORT, or USER:PASSWORD for an ACL user) or,
kept out of ps, in cluster-password-file; said (AUTH) on every connection
of every link, again on every reconnect. A wrong one is one clear line:
at start the node does not start; later it serves its own users alone and
tries again, as when Redis is away. The password is never in a log."""
import os
import re
import subprocess

from chat import PARLEYD, free_port
from cluster import Redis, plain, wait_for

PASSWORD = "pw-Zq81-secret"


def password_file(tmp_path, password, name="redis.pass"):
    path = tmp_path / name
    path.write_text(password + "\n")
    os.chmod(path, 0o600)
    return str(path)


def cmdline(srv):
    with open("/proc/%d/cmdline" % srv.proc.pid, "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


def test_nodes_say_the_password_from_the_url_a_file_or_as_an_acl_user(make_server, tmp_path):
    redis = Redis(password=PASSWORD)
    try:
        redis.command("ACL", "SETUSER", "parley", "on", ">acl-" + PASSWORD, "~*", "&*", "+@all")
        a_node = make_server("--cluster", redis.url, "--history", "off")
        b_node = make_server("--cluster", redis.url_without_password,
                             "--cluster-password-file", password_file(tmp_path, PASSWORD),
                             "--history", "off")
        c_node = make_server("--cluster", "redis://parley@127.0.0.1:%d" % redis.port,
                             "--cluster-password-file",
                             password_file(tmp_path, "acl-" + PASSWORD, "acl.pass"),
                             "--history", "off")
        assert PASSWORD not in cmdline(c_node)
        assert PASSWORD not in cmdline(b_node)
        alice = plain(a_node, "alice")
        bob = plain(b_node, "bob")
        carol = plain(c_node, "carol")
        for c in (alice, bob):
            c.expect_seen(r"^-- \S+ is now known as carol$")
        alice.send("hello from A")
        bob.expect(r"^#lobby <alice> hello from A$")
        carol.expect(r"^#lobby <alice> hello from A$")
        bob.send("from B")
        alice.expect(r"^#lobby <bob> from B$")
        carol.send("from C")
        bob.expect(r"^#lobby <carol> from C$")
        # Both links of each node said it: Redis counts the AUTHs.
        clients = redis.command("CLIENT", "LIST")
        assert len(re.findall(r" user=parley ", clients)) >= 2, clients
        for srv in (a_node, b_node, c_node):
            assert PASSWORD not in srv.log_text()
    finally:
        redis.stop()


def test_a_wrong_password_at_start_is_one_line(tmp_path):
    redis = Redis(password=PASSWORD)
    try:
        for args in (["--cluster", "redis://:wrong-%s@127.0.0.1:%d" % (PASSWORD, redis.port)],
                     ["--cluster", redis.url_without_password, "--cluster-password-file",
                      password_file(tmp_path, "wrong-" + PASSWORD)],
                     ["--cluster", redis.url_without_password]):
            run = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                                  "--history", "off"] + args,
                                 capture_output=True, text=True, timeout=30)
            assert run.returncode == 2, run.stderr
            lines = run.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("parleyd: cluster: Redis at "
                                                           "127.0.0.1:%d: " % redis.port), lines
            assert re.search(r"WRONGPASS|NOAUTH", lines[0]), lines
            assert PASSWORD not in run.stderr
        # The password in the URL and in the file: refused, unquoted.
        run = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                              "--cluster", redis.url, "--cluster-password-file",
                              password_file(tmp_path, PASSWORD), "--history", "off"],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 2 and "give it once" in run.stderr
        assert PASSWORD not in run.stderr
        # A user with no password anywhere: refused.
        run = subprocess.run([str(PARLEYD), "--listen", "127.0.0.1:%d" % free_port(),
                              "--cluster", "redis://parley@127.0.0.1:%d" % redis.port,
                              "--history", "off"], capture_output=True, text=True, timeout=30)
        assert run.returncode == 2 and "cluster-password-file" in run.stderr
    finally:
        redis.stop()


def test_a_wrong_password_after_a_restart_leaves_the_node_serving_its_own(make_server,
                                                                          tmp_path):
    redis = Redis(password=PASSWORD)
    try:
        a_node = make_server("--cluster", redis.url_without_password, "--cluster-password-file",
                             password_file(tmp_path, PASSWORD), "--history", "off")
        alice = plain(a_node, "alice")
        bob = plain(a_node, "bob")
        # Redis comes back wanting another password.
        redis.kill()
        redis.start_again(password="other-" + PASSWORD)
        wait_for("A says Redis refused its password",
                 lambda: "refused the password" in a_node.log_text(), 60)
        alice.send("still here")
        bob.expect(r"^#lobby <alice> still here$")
        # Redis wants ours again: the node is back in the cluster.
        redis.kill()
        redis.start_again(password=PASSWORD)
        wait_for("A reconnects", lambda: "reconnected to Redis" in a_node.log_text(), 60)
        wait_for("A says who it is again",
                 lambda: redis.command("HGET", "parley:users", "alice") is not None, 30)
        log = a_node.log_text()
        assert log.count("refused the password") == 1, log
        assert PASSWORD not in log
        assert a_node.proc.poll() is None
    finally:
        redis.stop()

