#!/bin/bash
# threads.sh BIN LABEL on|off WINDOW [ROOMS CLIENTS SENDERS RATE]: W3 (1,000 clients, 100 rooms, 100
# senders, window W; or with RATE an open loop, W2 with 1 room and 10 senders) against BIN with history on
# or off; over 3 s of the measured phase each thread of the server: CPU (user, system ticks from
# /proc/PID/task/TID/stat), context switches, read/write syscalls and bytes (/proc/.../io), and
# `perf stat --per-thread`, printed a message. Output in $OUTDIR (default /tmp)/LABEL. Under flock /work/bench.lock.
set -u
BIN=$1; LABEL=$2; HIST=$3; WIN=$4; ROOMS=${5:-100}; CLIENTS=${6:-1000}; SENDERS=${7:-100}; RATE=${8:-}
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${OUTDIR:-/tmp}/$LABEL; mkdir -p $OUT; rm -rf $OUT/data
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port)
ulimit -n 20000
HA="--history off"; [ $HIST = on ] && HA="--history on --data-dir $OUT/data"
setsid $BIN --listen 127.0.0.1:$P1 --irc-listen 127.0.0.1:$P2 --flood-rate 0 --max-per-ip 0 --max-clients 2000 --sendq 1048576 --log-level warn $HA > $OUT/server.log 2>&1 &
SPID=$!
trap 'kill -- -$SPID 2>/dev/null' EXIT
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$P2) 2>/dev/null && break; sleep 0.1; done
LOAD="--window $WIN"; [ -n "$RATE" ] && LOAD="--rate $RATE"
$ROOT/parley-bench --port $P2 --pid $SPID --clients $CLIENTS --rooms $ROOMS --senders $SENDERS $LOAD \
  --duration ${DUR:-6} --warmup 2 --connect-concurrency 200 > $OUT/bench.json 2> $OUT/bench.err &
BPID=$!
until grep -q "registered and joined" $OUT/bench.err 2>/dev/null; do kill -0 $BPID 2>/dev/null || break; sleep 0.1; done
sleep 2.5
snap() { for t in /proc/$SPID/task/*; do tid=${t##*/}; echo "$tid $(awk '{print $14,$15,$12}' $t/stat) $(awk '/voluntary_ctxt/{printf "%s ",$2}' $t/status) $(awk '{printf "%s ",$2}' $t/io)"; done; }
snap > $OUT/snap0
perf stat --per-thread -e task-clock,context-switches,cpu-migrations,page-faults -p $SPID -o $OUT/perfstat -- sleep 3 
snap > $OUT/snap1
wait $BPID
/usr/bin/python3 - $OUT <<'PY'
import json,sys
o=sys.argv[1]
r=json.loads([l for l in open(o+'/bench.json') if l.startswith('{')][-1])
mps=r.get('messages_per_s') or r.get('deliveries_per_s',0)/9
msgs=mps*3
def rd(f):
    d={}
    for l in open(f):
        p=l.split(); d[p[0]]=[int(x) for x in p[1:]]
    return d
a,b=rd(o+'/snap0'),rd(o+'/snap1')
print('%s: msgs/s %.0f deliveries/s %.0f p50 %s p99 %s cpu_us/deliv %s' % (o.split('/')[-1], mps, r.get('deliveries_per_s',0), r.get('p50_ms'), r.get('p99_ms'), r.get('cpu_us_per_delivery')))
print('tid      utime stime majflt vcsw nvcsw  rchar wchar syscr syscw  (per message: us user, us sys, vcsw, syscr, syscw, wbytes)')
for t in sorted(b):
    if t not in a: continue
    d=[y-x for x,y in zip(a[t],b[t])]
    ut,st,mf,vc,nvc,rch,wch,scr,scw=d[:9]
    if ut+st+vc+nvc==0: continue
    print('%s %5d %5d %4d %6d %5d %9d %9d %7d %7d   %.2f %.2f %.3f %.3f %.3f %.1f'%(t,ut,st,mf,vc,nvc,rch,wch,scr,scw, ut*1e4/msgs, st*1e4/msgs, vc/msgs, scr/msgs, scw/msgs, wch/msgs))
PY
