#!/bin/bash
# w2.sh BINARY LABEL [RATE]: W2 at RATE messages/s (default 2000; 1,000 clients in one room,
# 10 senders) against BINARY --history off, and during 3 s of the measured phase perf stat
# of the server's syscalls: writevs, writevs that found the socket full (EAGAIN), epoll_ctl,
# epoll_wait, and its CPU, and the kernel's TCP segments out over the same 3 s (nstat: loopback,
# so both directions, the bench's too). Prints the bench's JSON summary and the counts per
# 1,000 deliveries.
# Output: $OUTDIR (default /tmp)/w2-LABEL.*. Run it under flock /work/bench.lock, not niced.
set -u
BIN=$1; LABEL=$2; RATE=${3:-2000}
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${OUTDIR:-/tmp}/w2-$LABEL
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port)
ulimit -n 20000
setsid "$BIN" --listen 127.0.0.1:$P1 --irc-listen 127.0.0.1:$P2 --flood-rate 0 --max-per-ip 0 \
  --max-clients 1100 --sendq 1048576 --log-level warn --history off > $OUT.server.log 2>&1 &
SPID=$!
trap 'kill -- -$SPID 2>/dev/null' EXIT
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$P2) 2>/dev/null && break; sleep 0.1; done
"$ROOT/parley-bench" --port $P2 --pid $SPID --clients 1000 --rooms 1 --senders 10 --rate $RATE \
  --duration ${DUR:-6} --warmup 2 --connect-concurrency 200 > $OUT.bench.json 2> $OUT.bench.err &
BPID=$!
until grep -q "registered and joined" $OUT.bench.err 2>/dev/null; do
  kill -0 $BPID 2>/dev/null || break; sleep 0.1; done
sleep 2.5
nstat -n > /dev/null
perf stat -x, -e syscalls:sys_enter_writev -e syscalls:sys_exit_writev --filter 'ret == -11' \
  -e syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_read,task-clock \
  -p $SPID -o $OUT.stat -- sleep 3
nstat TcpOutSegs | awk '/TcpOutSegs/{print $2 ",,TcpOutSegs,x"}' >> $OUT.stat
wait $BPID
/usr/bin/python3 - "$OUT.bench.json" "$OUT.stat" <<'PY'
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
c = {}
for line in open(sys.argv[2]):
    p = line.strip().split(',')
    if len(p) > 3 and p[0].replace('.', '').isdigit():
        c[p[2]] = float(p[0])
d = r['deliveries_per_s'] * 3
print('deliveries/s %.0f lost %s p50 %s p99 %s ms, server CPU us/delivery %s' % (
    r['deliveries_per_s'], r['lost'], r.get('p50_ms'), r.get('p99_ms'), r.get("cpu_us_per_delivery")))
print('per 1,000 deliveries: ' + ', '.join('%s %.2f' % (k.replace('syscalls:sys_', ''), v * 1000 / d)
      for k, v in c.items() if d))
PY
