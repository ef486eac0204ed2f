#!/usr/bin/env bash
# Runs every troupe benchmark and prints one result line per result on
# stdout:
#   peer=troupe bench=<b> n=<N> seconds=<s> rate=<r> unit=<u> [key=value...]
# (idle_memory: ... bytes_per_actor=<int> unit=bytes; latency lines add
# p50_us= p99_us= max_us=). Progress, failures and the total time go to
# stderr. Workloads and sizes are those of docs/benchmarks.md, the same as
# bench/peers/run.sh's.
#
# Usage: bench/run.sh [--quick] [--list]
#   --quick   every counted size divided by 10, as peers/run.sh --quick
#   --list    print the workload names, one a line, and exit (compare.sh)
# Environment (all optional):
#   TROUPE_TIMEOUT=120   per-benchmark timeout in seconds
#   TROUPE_REPEAT=1      run every benchmark this many times
#   TROUPE_ONLY=REGEX    only workloads whose name matches (grep -E)
#   TROUPE_BENCH_BUILD   build dir (default: <repo>/build-bench, release)
# Exit status: 0 if every benchmark ran and passed its own check, else 1.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
BUILD=${TROUPE_BENCH_BUILD:-$ROOT/build-bench}
TIMEOUT=${TROUPE_TIMEOUT:-120}
REPEAT=${TROUPE_REPEAT:-1}
ONLY=${TROUPE_ONLY:-}

DIV=1
LIST=0
for arg in "$@"; do
  case "$arg" in
    --quick) DIV=10 ;;
    --list) LIST=1 ;;
    *) echo "usage: $0 [--quick] [--list]" >&2; exit 2 ;;
  esac
done

# ---------------------------------------------------------------- workloads
# One line per workload, "name: program args...": the workload's name (what
# --list prints, TROUPE_ONLY matches and compare.sh pairs with the peers'
# bench= names), then bench/<program> and its arguments, sized as in
# peers/run.sh. One program may serve several workloads (remote), and one
# workload may print several lines (monitors: monitors and demonitors;
# timers_fire: timers_arm_idle, timers_arm, timers_fire; hog_latency_*:
# hog_latency_* and hog_timer_*). Adding a workload is one line here (plus
# its program in bench/meson.build).
HOG_ROUNDS=200 # samples per latency line; not divided by --quick (0.2 s)
WORKLOADS=(
  # in-process
  "pingpong: pingpong $((1000000 / DIV))"
  "counting: counting $((10000000 / DIV))"
  "ring: ring $((10000000 / DIV)) 1000"
  "fork_join_create: fork_join_create $((1000000 / DIV))"
  "big: big 1000 $((1000 / DIV))"
  "idle_memory: idle_memory $((1000000 / DIV))"
  "call: call $((1000000 / DIV))"
  "restart: restart $((100000 / DIV))"
  # scale with counts (issue 13)
  "monitors: monitors $((100000 / DIV))"
  "timers_fire: timers_fire $((1000000 / DIV))"
  # latency under load (issue 11): H hogs of W us per message
  "hog_latency_h2_w200: hog_latency 2 200 $HOG_ROUNDS"
  "hog_latency_h4_w200: hog_latency 4 200 $HOG_ROUNDS"
  "hog_latency_h2_w2000: hog_latency 2 2000 $HOG_ROUNDS"
  "hog_latency_h4_w2000: hog_latency 4 2000 $HOG_ROUNDS"
  # two OS processes over tcp on 127.0.0.1 (issue 12)
  "remote_pingpong: remote pingpong $((100000 / DIV))"
  "remote_pingpong_curve: remote pingpong $((100000 / DIV)) curve"
  "remote_throughput: remote throughput $((1000000 / DIV))"
  "remote_throughput_curve: remote throughput $((1000000 / DIV)) curve"
)

# wl_name LINE / wl_cmd LINE: the two halves of a workload line.
wl_name() { echo "${1%%:*}"; }
wl_cmd() { local c=${1#*:}; echo "${c# }"; }

if [ $LIST -eq 1 ]; then
  for w in "${WORKLOADS[@]}"; do wl_name "$w"; done
  exit 0
fi

T_START=$(date +%s.%N)

# -------------------------------------------------------------------- build
# A release build of its own, so that a debug build dir never leaks into the
# numbers; ninja makes this a no-op when nothing changed.
PROGS=()
for w in "${WORKLOADS[@]}"; do
  read -r -a cmd <<<"$(wl_cmd "$w")"
  case " ${PROGS[*]} " in *" bench/${cmd[0]} "*) ;; *) PROGS+=("bench/${cmd[0]}") ;; esac
done
# A folder configured otherwise (by hand, or a sanitizer left on) is set
# back to release first: its numbers would mean nothing.
WANT_OPTS=(-Dbuildtype=release -Db_sanitize=none -Db_ndebug=if-release)
opts_ok() {
  meson introspect --buildoptions "$BUILD" 2>/dev/null | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
sys.exit(0 if (o.get("buildtype"), o.get("b_sanitize"), o.get("b_ndebug")) ==
         ("release", "none", "if-release") else 1)'
}
if [ -f "$BUILD/build.ninja" ] && ! opts_ok; then
  echo "# $BUILD: not a plain release build, reconfiguring" >&2
  meson configure "$BUILD" "${WANT_OPTS[@]}" >&2 && opts_ok || rm -rf -- "$BUILD"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
  echo "# configuring $BUILD (release)" >&2
  meson setup "$BUILD" "$ROOT" "${WANT_OPTS[@]}" >&2 || {
    echo "# meson setup failed" >&2; exit 1; }
fi
if ! ninja -C "$BUILD" "${PROGS[@]}" >&2; then
  echo "# build failed" >&2
  exit 1
fi

# ---------------------------------------------------------------------- run
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'echo "# interrupted" >&2; exit 130' INT TERM
FAILS=0
FAIL_LIST=()

# run_bench NAME PROGRAM ARGS...: runs the program under the timeout, prints
# its result lines, records a failure on non-zero exit, timeout or no result.
# (timeout signals its whole process group, so remote's forked server node
# goes with it.)
run_bench() {
  local name=$1 out=$TMP/out err=$TMP/err rc
  echo "# running troupe $name: ${*:2}" >&2
  timeout -k 5 "$TIMEOUT" "$BUILD/bench/$2" "${@:3}" >"$out" 2>"$err"
  rc=$?
  grep '^peer=' "$out"
  if [ $rc -ne 0 ] || ! grep -q '^peer=' "$out"; then
    local why="rc=$rc"
    [ $rc -eq 124 ] && why="timeout after ${TIMEOUT}s"
    [ $rc -eq 137 ] && why="killed after timeout"
    FAILS=$((FAILS + 1))
    FAIL_LIST+=("troupe $name ($why)")
    echo "# FAILED: troupe $name ($why)" >&2
    sed 's/^/#   /' "$err" | tail -n 8 >&2
  fi
}

if [ $DIV -ne 1 ]; then
  echo "# --quick: counted sizes divided by $DIV" >&2
fi
for w in "${WORKLOADS[@]}"; do
  name=$(wl_name "$w")
  read -r -a cmd <<<"$(wl_cmd "$w")"
  if [ -n "$ONLY" ] && ! echo "$name" | grep -Eq -- "$ONLY"; then continue; fi
  for ((i = 0; i < REPEAT; i++)); do run_bench "$name" "${cmd[@]}"; done
done

T_END=$(date +%s.%N)
ELAPSED=$(awk -v a="$T_START" -v b="$T_END" 'BEGIN { printf "%.1f", b - a }')
echo "# troupe: total wall time ${ELAPSED}s, failures: $FAILS" >&2
for f in "${FAIL_LIST[@]}"; do echo "#   $f" >&2; done
[ $FAILS -eq 0 ]
