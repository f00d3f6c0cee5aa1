#!/bin/bash
# w4.sh NAME HOST CC [N]: server NAME (parleyd|ceiling) on HOST (127.0.0.1 or ::1),
# parley-bench --idle with N clients (19000) in rooms of 19, connect-concurrency CC.
# Prints connect_s, bench/server CPU and the kernel's listen-queue overflow counters.
# GEN=naive runs bench/naive-w4 (one source address, CC threads) instead of
# parley-bench; PARLEYD=path another parleyd.
set -u
NAME=$1; HOST=$2; CC=$3; N=${4:-19000}
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PORT=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
PORT2=$(/usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
ulimit -n 20000
if [ "$HOST" = "::1" ]; then L="[::1]"; else L=$HOST; fi
if [ "$NAME" = ceiling ]; then
  setsid $ROOT/parley-ceiling --listen $L:$PORT > /dev/null 2>&1 &
else
  setsid ${PARLEYD:-$ROOT/parleyd} --listen 127.0.0.1:$PORT2 --irc-listen $L:$PORT --flood-rate 0 --max-per-ip 0 --max-clients 20000 --sendq 1048576 --log-level warn --history off > /dev/null 2>&1 &
fi
SPID=$!
trap 'kill -- -$SPID 2>/dev/null' EXIT
sleep 0.5
nstat -n >/dev/null
if [ "${GEN:-bench}" = naive ]; then
  JA=motd; [ "$NAME" = ceiling ] && JA=001
  R=$(/usr/bin/time -f "BENCHCPU %U %S" -o ${TMPDIR:-/tmp}/w4-bench.time $ROOT/naive-w4 --host $HOST --port $PORT --clients $N --rooms $(( (N+18)/19 )) --threads $CC --join-after $JA --hold 0.3 2>/dev/null | tail -1)
else
  R=$(/usr/bin/time -f "BENCHCPU %U %S" -o ${TMPDIR:-/tmp}/w4-bench.time $ROOT/parley-bench --host $HOST --port $PORT --pid $SPID --clients $N --rooms $(( (N+18)/19 )) --idle --duration 0.3 --connect-concurrency $CC --setup-timeout 120 --json-only 2>/dev/null | tail -1)
fi
RSS=$(awk '/VmRSS/{print $2}' /proc/$SPID/status)
SCPU=$(awk '{printf "%.2f", ($14+$15)/100}' /proc/$SPID/stat)
BCPU=$(awk '/BENCHCPU/{printf "%.2f", $2+$3}' ${TMPDIR:-/tmp}/w4-bench.time)
NS=$(nstat -z TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop TcpExtTCPTimeouts TcpRetransSegs 2>/dev/null | awk 'NR>1{printf "%s=%s ", $1, $2}')
echo "$NAME $HOST cc=$CC n=$N: $(echo "$R" | /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print("connect_s=%s errors=%s" % (r["connect_s"], r.get("errors", r.get("failed"))) + (" connect_call_s=%s" % r["connect_call_s"] if "connect_call_s" in r else " rss/conn=%s" % r.get("rss_per_conn_bytes")))') rss_kb=$RSS server_cpu_total=$SCPU bench_cpu_total=$BCPU $NS"
