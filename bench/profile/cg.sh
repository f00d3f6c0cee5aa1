#!/bin/bash
# cg.sh BIN LABEL W1|W2|W3-100|W3-1000 [extra server args]: the server's user-space
# instructions per delivery, counted by callgrind (they do not move with the machine's load).
# A small workload of 200 clients (W1: one room, 10 senders, window 100; W2: one room, 10
# senders, 400 msgs/s; W3-100: 20 rooms of 10, 20 senders, window 20, so one message in
# flight a room as W3 at window 100 has with 100 rooms; W3-1000: the same at window 200),
# instrumentation on once every client has joined and off when the bench ends; then
# cgsum.py divides the whole count by the calls of the door's deliver (and of hub_say_msg).
# PROTO=plain: the bench speaks the plain door (default irc).
# Output in $OUTDIR (default /tmp/cg)/LABEL-W. Server and bench at nice 19: no lock needed.
set -u
BIN=$1; LABEL=$2; W=$3; shift 3
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${OUTDIR:-/tmp/cg}/$LABEL-$W; rm -rf "$OUT"; mkdir -p "$OUT"
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port)
case $W in
W3-100) LOAD="--clients 200 --rooms 20 --senders 20 --window 20" ;;
W3-1000) LOAD="--clients 200 --rooms 20 --senders 20 --window 200" ;;
W1) LOAD="--clients 200 --rooms 1 --senders 10 --window 100" ;;
W2) LOAD="--clients 200 --rooms 1 --senders 10 --rate 400" ;;
*) echo "cg.sh: W1, W2, W3-100 or W3-1000" >&2; exit 2 ;;
esac
ulimit -n 20000
setsid nice -n 19 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.out" \
  "$BIN" --listen 127.0.0.1:$P1 --irc-listen 127.0.0.1:$P2 --flood-rate 0 --max-per-ip 0 \
  --max-clients 400 --sendq 1048576 --log-level warn "$@" > "$OUT/server.log" 2>&1 &
SPID=$!
trap 'kill -- -$SPID 2>/dev/null' EXIT
for _ in $(seq 300); do (echo > /dev/tcp/127.0.0.1/$P2) 2>/dev/null && break; sleep 0.2; done
BP=$P2; [ "${PROTO:-irc}" = plain ] && BP=$P1
nice -n 19 "$ROOT/parley-bench" --proto ${PROTO:-irc} --port $BP --size 64 --connect-concurrency 50 $LOAD \
  --duration ${DUR:-8} --warmup 2 --setup-timeout 120 > "$OUT/bench.json" 2> "$OUT/bench.err" &
BPID=$!
until grep -q "registered and joined" "$OUT/bench.err" 2>/dev/null; do
  kill -0 $BPID 2>/dev/null || break; sleep 0.2; done
callgrind_control -i on $SPID >/dev/null
wait $BPID
callgrind_control -i off $SPID >/dev/null
kill -TERM $SPID; wait $SPID 2>/dev/null
trap - EXIT
/usr/bin/python3 "$ROOT/bench/profile/cgsum.py" "$OUT/cg.out" "$OUT/bench.json"
