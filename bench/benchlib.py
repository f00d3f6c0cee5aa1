"""What bench/compare and bench/ab share: the flags every bench run gives
parleyd, ports, fd limits, parley-bench's JSON line, the machine's facts.
Standard library only."""

import json
import os
import platform
import resource
import socket
import subprocess
import time
from pathlib import Path

# The flags every bench run gives parleyd, after the listeners: no flood
# control, no per-address limit (every bench client is on 127.0.0.1, and
# max-per-ip defaults to 10), room for every client, a 1 MiB sendq, quiet.
# (flag, value, why) -- the why goes into the reports.
PARLEYD_BENCH_FLAGS = [
    ("--flood-rate", "0", "no flood control"),
    ("--max-per-ip", "0", "no per-address limit (every client is on 127.0.0.1)"),
    ("--max-clients", "{max_clients}", "room for every bench client"),
    ("--sendq", "1048576", "1 MiB queued for one client before it is disconnected"),
    ("--log-level", "warn", "quiet"),
]


def parleyd_bench_flags(max_clients, supported=None):
    """The flags above as argv, max_clients filled in. With `supported` (a
    set of option names the binary lists in --help), flags it does not know
    are left out (an older build), and returned apart: (argv, left_out)."""
    argv, left_out = [], []
    for flag, value, _ in PARLEYD_BENCH_FLAGS:
        if supported is not None and flag not in supported:
            left_out.append(flag)
            continue
        argv += [flag, value.format(max_clients=max_clients)]
    return argv, left_out


def raise_nofile():
    """preexec_fn: soft fd limit up to the hard limit (20,000 here)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def nofile_hard():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return (1 << 20) if hard == resource.RLIM_INFINITY else hard


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct free loopback ports."""
    ports = []
    while len(ports) < n:
        p = free_port()
        if p not in ports:
            ports.append(p)
    return ports


def wait_accepting(port, proc, timeout=20.0):
    """True once 127.0.0.1:port accepts a connection; False if the process
    exits first or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def run_text(cmd, cwd=None):
    """stdout+stderr of a short command, stripped; "" if it cannot run."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=cwd)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def parse_json_line(text):
    """The last line of text that parses as a JSON object (parley-bench's
    result), or None."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def fnum(v, fmt="{:,.0f}"):
    if v is None:
        return "–"
    try:
        return fmt.format(v)
    except (ValueError, TypeError):
        return str(v)


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def machine_info():
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = "%.1f GiB" % (kb / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    distro = "?"
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                distro = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return dict(nproc=os.cpu_count(), kernel=platform.release(), model=model, memory=mem,
                distro=distro, nofile=nofile_hard(), loadavg=loadavg())
