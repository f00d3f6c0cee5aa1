#!/bin/bash
# w3.sh NAME MODE [WINDOW]: start server NAME (parleyd or ceiling) from the repository,
# run parley-bench W3 (1000 clients, 100 rooms, 100 senders, window W), and
# during the measured phase run MODE: stat (perf stat: syscalls by kind), record (perf record
# -g, cpu-clock) or trace (perf record of every syscall enter and exit, for passes.py).
# PROTO=plain: parley-bench speaks parleyd's plain door instead of its IRC door (NAME parleyd).
# Output: $OUTDIR (default /tmp)/NAME-MODE-WINDOW.*. Run it under flock /work/bench.lock.
# passes.py: perf script -i OUT.trace.data -F tid,time,event,trace | passes.py NAME
set -u
NAME=$1; MODE=$2; WIN=${3:-100}
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${OUTDIR:-/tmp}/$NAME${PROTO:+-$PROTO}-$MODE-$WIN
mkdir -p "$(dirname "$OUT")"
PORT=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
PORT2=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
ulimit -n 20000
if [ "$NAME" = ceiling ]; then
  setsid $ROOT/parley-ceiling --listen 127.0.0.1:$PORT > $OUT.server.log 2>&1 &
else
  setsid ${PARLEYD:-$ROOT/parleyd} --listen 127.0.0.1:$PORT2 --irc-listen 127.0.0.1:$PORT --flood-rate 0 --max-per-ip 0 --max-clients 20000 --sendq 1048576 --log-level warn --history off > $OUT.server.log 2>&1 &
fi
SPID=$!
BPORT=$PORT
[ "${PROTO:-irc}" = plain ] && BPORT=$PORT2
trap 'kill -- -$SPID 2>/dev/null; [ -n "${BPID:-}" ] && kill $BPID 2>/dev/null' EXIT
sleep 0.5
$ROOT/parley-bench --proto ${PROTO:-irc} --port $BPORT --pid $SPID --clients 1000 --rooms 100 --senders 100 --window $WIN \
   --duration ${DUR:-6} --warmup 2 --connect-concurrency 200 > $OUT.bench.json 2> $OUT.bench.err &
BPID=$!
until grep -q "registered and joined" $OUT.bench.err 2>/dev/null; do sleep 0.1; done
sleep 2.5   # warm-up (2 s) over, measuring
case $MODE in
stat)
  EV=raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_writev,syscalls:sys_enter_sendto,syscalls:sys_enter_write,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,context-switches,task-clock
  perf stat -e $EV -p $SPID -o $OUT.server.stat -- sleep 3 &
  perf stat -e $EV -p $BPID -o $OUT.bench.stat -- sleep 3
  wait %2 2>/dev/null ;;
record)
  perf record -F 2999 -g -e cpu-clock -p $SPID -o $OUT.perf.data -- sleep 3 2> $OUT.record.err ;;
trace)
  perf record -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -p $SPID -o $OUT.trace.data -- sleep 1 2> $OUT.record.err ;;
esac
wait $BPID
tail -1 $OUT.bench.json
