#!/usr/bin/python3
"""Per-pass timing of a server's loop from `perf script` of raw_syscalls
enter/exit: reads, writevs, time in each, and for every read that brought
bytes, the time until the last writev of its pass returned."""
import re, sys, statistics as st
from collections import Counter
rows = []
pat = re.compile(r'^\s*(\d+)\s+([\d.]+):\s+raw_syscalls:sys_(enter|exit): NR (\d+)(?: = (-?\d+))?')
for line in sys.stdin:
    m = pat.match(line)
    if m:
        rows.append((int(m[1]), float(m[2]), m[3], int(m[4]), int(m[5]) if m[5] else None))
main = Counter(r[0] for r in rows if r[3] == 232).most_common(1)[0][0]
rows = [r for r in rows if r[0] == main]
EPOLL, READ, WRITEV, WRITE = 232, 0, 20, 1
passes = []; cur = None; enter_t = None; sys_time = Counter(); sys_n = Counter()
for tid, t, kind, nr, ret in rows:
    if kind == 'enter':
        enter_t = (nr, t)
        if nr == EPOLL and cur is not None:
            cur['end'] = t; passes.append(cur); cur = None
        continue
    if enter_t is None or enter_t[0] != nr:
        continue
    dt = t - enter_t[1]
    sys_time[nr] += dt; sys_n[nr] += 1
    if nr == EPOLL:
        cur = dict(start=t, reads=[], writevs=[], sys=0.0, wait=dt)
        continue
    if cur is None:
        continue
    cur['sys'] += dt
    if nr == READ and ret and ret > 0:
        cur['reads'].append(t)
    elif nr in (WRITEV, WRITE):
        cur['writevs'].append(t)
lat = []; dur = []; user = []; nr_ = []; nw = []
for p in passes:
    if not p['reads'] or not p['writevs']:
        continue
    last = p['writevs'][-1]
    lat += [(last - r) * 1e6 for r in p['reads']]
    dur.append((p['end'] - p['start']) * 1e6)
    user.append((p['end'] - p['start'] - p['sys']) * 1e6)
    nr_.append(len(p['reads'])); nw.append(len(p['writevs']))
def q(xs, f): xs = sorted(xs); return xs[min(len(xs) - 1, int(f * len(xs)))]
tot_r, tot_w = sum(nr_), sum(nw)
total = rows[-1][1] - rows[0][1]
print("%s: %d passes with work in %.2f s; reads %d, writevs %d (%.2f per read)" % (sys.argv[1], len(dur), total, tot_r, tot_w, tot_w / max(tot_r, 1)))
print("  per pass: %.1f reads, %.1f writevs; duration median %.0f us, p90 %.0f us; outside syscalls %.1f%%" % (
    st.mean(nr_), st.mean(nw), q(dur, .5), q(dur, .9), 100 * sum(user) / sum(dur)))
print("  read -> last writev of its pass: median %.0f us, p90 %.0f us, mean %.0f us" % (q(lat, .5), q(lat, .9), st.mean(lat)))
print("  syscall time: writev %.2f us each (%d), read %.2f us (%d), epoll_wait %.0f us (%d, blocked %.0f%% of the time)" % (
    1e6 * sys_time[WRITEV] / max(sys_n[WRITEV], 1), sys_n[WRITEV], 1e6 * sys_time[READ] / max(sys_n[READ], 1), sys_n[READ],
    1e6 * sys_time[EPOLL] / max(sys_n[EPOLL], 1), sys_n[EPOLL], 100 * sys_time[EPOLL] / total))
print("  user time per delivery (outside syscalls, per writev): %.2f us; syscall time per writev incl. its share of reads: %.2f us" % (
    sum(user) / max(tot_w, 1), sum(p['sys'] for p in passes) * 1e6 / max(tot_w, 1)))
