"""bench/ab: pairs of runs in alternating order, B/A ratios in its report,
a run that duplicates deliveries failing it loudly, bad arguments stopping it
before anything is measured, and every process it started reaped when it is
interrupted. Small and short runs: nothing here is a timing assertion."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chat import BENCH, PARLEYD, ROOT

AB = ROOT / "bench" / "ab"
TINY = ["--clients", "20", "--duration", "0.3", "--warmup", "0.1", "--bench", str(BENCH)]

# A stand-in parleyd: test_bench's fake IRC server on the --irc-listen port,
# repeating every 41st delivery.
FAKE_PARLEYD = r'''#!/usr/bin/python3
import signal, sys
sys.path.insert(0, %(tests)r)
if "--help" in sys.argv:
    print("  --listen\n  --irc-listen\n  --flood-rate\n  --max-per-ip\n  --max-clients\n  --sendq")
    sys.exit(0)
if "--version" in sys.argv:
    print("fake-parleyd 0")
    sys.exit(0)
import test_bench
port = int(sys.argv[sys.argv.index("--irc-listen") + 1].rsplit(":", 1)[1])
test_bench.free_port = lambda: port
fake = test_bench.FakeIrc(dup=41)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    while True:
        signal.pause()
finally:
    fake.stop()
'''


def run_ab(*args, timeout=120):
    return subprocess.run([sys.executable, str(AB), *args], capture_output=True, text=True,
                          timeout=timeout)


def report(stem):
    return Path(str(stem) + ".md").read_text(), json.loads(Path(str(stem) + ".json").read_text())


def test_same_binary_twice_gives_ratios_per_pair(tmp_path):
    out = tmp_path / "same"
    p = run_ab("--a", str(PARLEYD), "--b", str(PARLEYD), "--pairs", "2", "--workloads", "W1",
               "--b-args", "--oper x:{tmp}", "--out", str(out), *TINY)
    assert p.returncode == 0, p.stderr
    md, r = report(out)
    assert "the noise floor" not in md     # B's arguments differ from A's
    assert r["failures"] == [] and r["interrupted"] is None
    assert [(x["pair"], x["side"]) for x in r["runs"]] == [(1, "A"), (1, "B"), (2, "B"), (2, "A")]
    for x in r["runs"]:
        assert x["lost"] == 0 and x["duplicated"] == 0 and x["errors"] == 0
        assert "--max-per-ip" in x["server_cmd"] and "--flood-rate" in x["server_cmd"]
    # {tmp} is each run's own directory.
    b_dirs = [x["server_cmd"][-1] for x in r["runs"] if x["side"] == "B"]
    assert len(set(b_dirs)) == 2 and all(d.startswith("x:/") and d.endswith("-W1-B") for d in b_dirs)
    s = r["summary"]["W1"]["deliveries_per_s"]
    assert s["n"] == 2 and s["min"] <= s["median"] <= s["max"]
    assert r["a"]["sha256"] == r["b"]["sha256"]
    assert "bench/ab --a" in md and "| W1 | deliveries/s | higher |" in md


def test_each_side_its_own_door(tmp_path):
    # --a-proto irc --b-proto plain: the IRC door against the plain door of
    # the same binary, parley-bench speaking each side's own.
    out = tmp_path / "doors"
    p = run_ab("--a", str(PARLEYD), "--b", str(PARLEYD), "--pairs", "1", "--workloads", "W1",
               "--a-proto", "irc", "--b-proto", "plain", "--out", str(out), *TINY)
    assert p.returncode == 0, p.stderr
    md, r = report(out)
    assert "the noise floor" not in md     # same binary and arguments, not the same door
    assert r["failures"] == []
    assert (r["a"]["proto"], r["b"]["proto"]) == ("irc", "plain")
    assert {x["side"]: x["proto"] for x in r["runs"]} == {"A": "irc", "B": "plain"}
    assert all(x["delivered"] > 0 for x in r["runs"])
    assert "`--proto irc (A) / plain (B)" in md


def test_duplicated_deliveries_fail_the_run(tmp_path):
    fake = tmp_path / "fake-parleyd"
    fake.write_text(FAKE_PARLEYD % {"tests": str(Path(__file__).parent)})
    fake.chmod(0o755)
    out = tmp_path / "dup"
    # 2 s, not TINY's 0.3: on a loaded machine the fake (Python) had
    # delivered nothing, so duplicated nothing, by the end of 0.3 s.
    p = run_ab("--a", str(PARLEYD), "--b", str(fake), "--pairs", "1", "--workloads", "W1",
               "--out", str(out), *TINY, "--duration", "2")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAILED" in p.stdout and "duplicated" in p.stdout
    md, r = report(out)
    assert md.count("**FAILED") == 1 and "duplicated" in md
    assert len(r["failures"]) == 1 and r["failures"][0].startswith("pair 1 W1 B:")
    # The failed pair gives no ratio.
    assert r["summary"]["W1"]["deliveries_per_s"]["n"] == 0


def test_bad_arguments_stop_it_before_measuring(tmp_path):
    p = run_ab("--b-args", "--no-such-option 1", "--pairs", "3", "--out", str(tmp_path / "bad"),
               *TINY, timeout=30)
    assert p.returncode == 2
    assert "side B does not start" in p.stderr and "--no-such-option" in p.stderr
    assert not (tmp_path / "bad.md").exists()


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def sigint_as_from_a_terminal():
    """preexec_fn: SIGINT back to its default, as a terminal's Ctrl-C finds
    it. A suite started in the background by a non-interactive shell
    inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt: bench/ab would run on."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupted_it_reaps_everything_and_reports(tmp_path):
    out = tmp_path / "int"
    proc = subprocess.Popen([sys.executable, str(AB), "--pairs", "1", "--workloads", "W1",
                             "--out", str(out), "--bench", str(BENCH), "--clients", "20",
                             "--duration", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=sigint_as_from_a_terminal)
    try:
        # Wait for the measured run: its server and parley-bench running.
        deadline = time.monotonic() + 30
        kids = []
        while time.monotonic() < deadline and len(kids) < 2:
            kids = [c for c in children(proc.pid) if alive(c)]
            names = {comm(c) for c in kids}
            if len(kids) < 2 or "parley-bench" not in names:
                kids = []
                time.sleep(0.05)
        assert kids, "bench/ab never started its server and parley-bench"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not [k for k in kids if alive(k)]
    md, r = report(out)
    assert "INTERRUPTED" in md and r["interrupted"] == "SIGINT"
    assert os.path.exists(str(out) + ".json")
