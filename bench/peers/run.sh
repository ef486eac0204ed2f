#!/usr/bin/env bash
# Runs every peer benchmark (Erlang/OTP, CAF 0.17, raw ZeroMQ, plain C) and
# prints one result line per benchmark on stdout:
#   peer=<p> bench=<b> n=<N> seconds=<s> rate=<r> unit=<u>
# Progress, failures and the total time go to stderr.
#
# Usage: ./run.sh [--quick]      (--quick: counted sizes divided by 10)
# Labels ("<peer> <bench>", what PEERS_ONLY matches) are those of the
# workloads; a label may print several lines (erlang monitors: monitors and
# demonitors; erlang timers_fire: timers_arm_idle, timers_arm, timers_fire).
# Environment (all optional):
#   PEERS_TIMEOUT=120   per-benchmark timeout in seconds
#   PEERS_REPEAT=1      run every benchmark this many times
#   PEERS_ONLY=REGEX    only run benchmarks whose label ("<peer> <bench>")
#                       matches REGEX (grep -E), e.g. PEERS_ONLY='caf|zmq'
# Exit status: 0 if every benchmark ran and passed its own check, else 1.
#
# Only processes started by this script are ever killed, by PID: the remote
# benchmark servers and a private epmd (on a free port in 43690-43699,
# bound to 127.0.0.1), which is stopped at exit.
set -u

cd "$(dirname "$0")" || exit 1

DIV=1
case "${1:-}" in
  --quick) DIV=10 ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
TIMEOUT=${PEERS_TIMEOUT:-120}
REPEAT=${PEERS_REPEAT:-1}
ONLY=${PEERS_ONLY:-}

T_START=$(date +%s.%N)

# ------------------------------------------------------------------- build
# Build into build/ here, or into PEERS_BUILD, or (when this folder is
# read-only, as a read-only checkout may be) into a folder under /tmp.
if [ -n "${PEERS_BUILD:-}" ]; then BUILD=$PEERS_BUILD
elif [ -w . ]; then BUILD=build
else BUILD=${TMPDIR:-/tmp}/troupe-peers-build
fi
if ! make -s BUILD="$BUILD" all >&2; then
  echo "# build failed" >&2
  exit 1
fi

# ------------------------------------------------------------------- sizes
N_PINGPONG=$((1000000 / DIV))
N_COUNTING=$((10000000 / DIV))
RING_HOPS=$((10000000 / DIV)); RING_ACTORS=1000
N_FJ=$((1000000 / DIV))
BIG_W=1000; BIG_P=$((1000 / DIV))
N_IDLE=$((1000000 / DIV))
N_CALL=$((1000000 / DIV))
N_RESTART=$((100000 / DIV))
N_MONITORS=$((100000 / DIV))
N_TIMERS=$((1000000 / DIV))
HOG_ROUNDS=200 # rounds of 1 ms: not divided by --quick
N_RPP=$((100000 / DIV))
N_RTHR=$((1000000 / DIV))
N_ZMQ_INPROC=$((10000000 / DIV))
N_ZMQ_TCP=$((5000000 / DIV))
N_ZMQ_PP=$((200000 / DIV))
N_SPSC=$((10000000 / DIV))

# -------------------------------------------------------- process handling
TMP=$(mktemp -d /tmp/peers-run.XXXXXX)
FAILS=0
FAIL_LIST=()
BG_PIDS=()   # background processes started by this script (not yet reaped)

is_running() { # pid -> true while the process exists and is not a zombie
  local st
  st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ]
}

forget_pid() {
  local p keep=()
  for p in "${BG_PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
  BG_PIDS=("${keep[@]}")
}

# stop_pid PID GRACE_SECONDS [quiet]: wait up to GRACE for PID to exit by
# itself, then SIGTERM, then SIGKILL; reap it.
stop_pid() {
  local pid=$1 grace=$2 i
  for ((i = 0; i < grace * 10; i++)); do
    is_running "$pid" || break
    sleep 0.1
  done
  if is_running "$pid"; then
    [ -z "${3:-}" ] && echo "# stopping leftover process $pid" >&2
    kill "$pid" 2>/dev/null
    for ((i = 0; i < 30; i++)); do is_running "$pid" || break; sleep 0.1; done
    is_running "$pid" && kill -9 "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  local rc=$?
  forget_pid "$pid"
  return $rc
}

cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do stop_pid "$p" 0; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "# interrupted" >&2; exit 130' INT TERM

record_failure() {
  FAILS=$((FAILS + 1))
  FAIL_LIST+=("$1")
  echo "# FAILED: $1" >&2
}

selected() { [ -z "$ONLY" ] || echo "$1" | grep -Eq -- "$ONLY"; }

# run_bench LABEL CMD...: runs CMD under the timeout, prints its result
# lines, records a failure on non-zero exit, timeout or missing output.
run_bench() {
  local label=$1; shift
  local out=$TMP/out err=$TMP/err rc
  echo "# running $label" >&2
  timeout -k 5 "$TIMEOUT" "$@" >"$out" 2>"$err"
  rc=$?
  grep '^peer=' "$out"
  if [ $rc -ne 0 ] || ! grep -q '^peer=' "$out"; then
    local why="rc=$rc"
    [ $rc -eq 124 ] && why="timeout after ${TIMEOUT}s"
    [ $rc -eq 137 ] && why="killed after timeout"
    record_failure "$label ($why)"
    sed 's/^/#   /' "$err" | tail -n 8 >&2
  fi
  return $rc
}

local_bench() { # LABEL CMD...
  selected "$1" || return 0
  local i
  for ((i = 0; i < REPEAT; i++)); do run_bench "$@"; done
}

# ------------------------------------------------------------- Erlang setup
ERL_LOCAL=(erl -noshell +S 2:2 +P 4194304 -pa "$BUILD/ebin"
           -run peers_bench main)
ERL_SCALE=(erl -noshell +S 2:2 +P 4194304 -pa "$BUILD/ebin"
           -run peers_scale main)
ERL_HOG=(erl -noshell +S 2:2 -pa "$BUILD/ebin" -run peers_hog main)
COOKIE="peers_bench_$$"
ERL_DIST=(erl -noshell +S 2:2 -setcookie "$COOKIE"
          -kernel inet_dist_use_interface '{127,0,0,1}' -pa "$BUILD/ebin")
EPMD_PID=""

start_epmd() {
  local p pid i
  for p in $(seq 43690 43699); do
    epmd -port "$p" -names >/dev/null 2>&1 && continue   # in use: not ours
    epmd -port "$p" -address 127.0.0.1 >/dev/null 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    for ((i = 0; i < 30; i++)); do
      is_running "$pid" || break
      if epmd -port "$p" -names >/dev/null 2>&1; then
        EPMD_PID=$pid
        export ERL_EPMD_PORT=$p
        echo "# private epmd pid $pid on 127.0.0.1:$p" >&2
        return 0
      fi
      sleep 0.1
    done
    stop_pid "$pid" 0
  done
  return 1
}

erlang_remote() { # BENCH N
  local bench=$1 n=$2 label="erlang $1" i
  selected "$label" || return 0
  if [ -z "$EPMD_PID" ] && ! start_epmd; then
    record_failure "$label (could not start a private epmd)"
    return
  fi
  for ((i = 0; i < REPEAT; i++)); do
    local tag="peers${$}_${i}_$RANDOM"
    local srv="${tag}_srv@127.0.0.1" cli="${tag}_cli@127.0.0.1"
    # `erl` execs the VM, so $! is the beam.smp PID.
    "${ERL_DIST[@]}" -name "$srv" -run peers_remote server $((TIMEOUT + 30)) \
      >"$TMP/srv.out" 2>&1 &
    local spid=$!
    BG_PIDS+=("$spid")
    run_bench "$label" "${ERL_DIST[@]}" -name "$cli" \
      -run peers_remote client "$bench" "$srv" "$n"
    local crc=$?
    if [ $crc -eq 0 ]; then stop_pid "$spid" 5; else stop_pid "$spid" 0; fi
  done
}

caf_remote() { # BENCH N
  local bench=$1 n=$2 label="caf $1" i j
  selected "$label" || return 0
  for ((i = 0; i < REPEAT; i++)); do
    local pf=$TMP/caf_port
    rm -f "$pf"
    "$BUILD"/caf_remote server "$pf" $((TIMEOUT + 30)) >"$TMP/srv.out" 2>&1 &
    local spid=$!
    BG_PIDS+=("$spid")
    for ((j = 0; j < 100; j++)); do
      [ -s "$pf" ] && break
      is_running "$spid" || break
      sleep 0.1
    done
    if [ ! -s "$pf" ]; then
      record_failure "$label (server did not publish)"
      sed 's/^/#   /' "$TMP/srv.out" | tail -n 8 >&2
      stop_pid "$spid" 0
      continue
    fi
    run_bench "$label" "$BUILD"/caf_remote client "$bench" "$(cat "$pf")" "$n"
    local crc=$?
    if [ $crc -eq 0 ]; then stop_pid "$spid" 5; else stop_pid "$spid" 0; fi
  done
}

# ------------------------------------------------------------------ run all
if [ $DIV -ne 1 ]; then
  echo "# --quick: counted sizes divided by $DIV" >&2
fi

# Local actor workloads, Erlang and CAF back to back for each workload.
local_bench "erlang pingpong" "${ERL_LOCAL[@]}" pingpong $N_PINGPONG
local_bench "caf pingpong" "$BUILD"/caf_local pingpong $N_PINGPONG
local_bench "erlang counting" "${ERL_LOCAL[@]}" counting $N_COUNTING
local_bench "caf counting" "$BUILD"/caf_local counting $N_COUNTING
local_bench "erlang ring" "${ERL_LOCAL[@]}" ring $RING_HOPS $RING_ACTORS
local_bench "caf ring" "$BUILD"/caf_local ring $RING_HOPS $RING_ACTORS
local_bench "erlang fork_join_create" "${ERL_LOCAL[@]}" fork_join_create $N_FJ
local_bench "caf fork_join_create" "$BUILD"/caf_local fork_join_create $N_FJ
local_bench "erlang big" "${ERL_LOCAL[@]}" big $BIG_W $BIG_P
local_bench "caf big" "$BUILD"/caf_local big $BIG_W $BIG_P
local_bench "erlang idle_memory" "${ERL_LOCAL[@]}" idle_memory $N_IDLE
local_bench "caf idle_memory" "$BUILD"/caf_local idle_memory $N_IDLE
local_bench "erlang call" "${ERL_LOCAL[@]}" call $N_CALL
local_bench "caf call" "$BUILD"/caf_local call $N_CALL
# Erlang only: CAF 0.17 has no supervisors.
local_bench "erlang restart" "${ERL_LOCAL[@]}" restart $N_RESTART
# Scale with counts, Erlang only (the troupe side: bench/monitors.c and
# bench/timers_fire.c). monitors prints bench=monitors and demonitors;
# timers_fire prints timers_arm_idle, timers_arm and timers_fire.
local_bench "erlang monitors" "${ERL_SCALE[@]}" monitors $N_MONITORS
local_bench "erlang timers_fire" "${ERL_SCALE[@]}" timers_fire $N_TIMERS
# Latency under load, Erlang only (troupe's side: bench/hog_latency.c):
# prints hog_latency_hH_wW and hog_timer_hH_wW.
for hw in "2 200" "4 200" "2 2000" "4 2000"; do
  read -r hogs w <<<"$hw"
  local_bench "erlang hog_latency_h${hogs}_w$w" "${ERL_HOG[@]}" "$hogs" "$w" $HOG_ROUNDS
done

# Two OS processes over TCP on 127.0.0.1.
erlang_remote remote_pingpong $N_RPP
caf_remote remote_pingpong $N_RPP
erlang_remote remote_throughput $N_RTHR
caf_remote remote_throughput $N_RTHR
if [ -n "$EPMD_PID" ]; then
  echo "# stopping private epmd pid $EPMD_PID" >&2
  stop_pid "$EPMD_PID" 0 quiet
  EPMD_PID=""
fi

# Transport / hardware baselines.
local_bench "zmq zmq_inproc_thr" "$BUILD"/zmq_bench zmq_inproc_thr $N_ZMQ_INPROC
local_bench "zmq zmq_tcp_thr" "$BUILD"/zmq_bench zmq_tcp_thr $N_ZMQ_TCP
local_bench "zmq zmq_tcp_pingpong" "$BUILD"/zmq_bench zmq_tcp_pingpong $N_ZMQ_PP
local_bench "zmq zmq_tcp_curve_thr" "$BUILD"/zmq_bench zmq_tcp_curve_thr $N_ZMQ_TCP
local_bench "zmq zmq_tcp_curve_pingpong" "$BUILD"/zmq_bench \
  zmq_tcp_curve_pingpong $N_ZMQ_PP
local_bench "c spsc_ring" "$BUILD"/spsc_ring $N_SPSC

T_END=$(date +%s.%N)
ELAPSED=$(awk -v a="$T_START" -v b="$T_END" 'BEGIN { printf "%.1f", b - a }')
echo "# total wall time ${ELAPSED}s, failures: $FAILS" >&2
for f in "${FAIL_LIST[@]}"; do echo "#   $f" >&2; done
[ $FAILS -eq 0 ]
