#!/usr/bin/env bash
# Runs every troupe benchmark and prints one result line per run on stdout:
#   peer=troupe bench=<b> n=<N> seconds=<s> rate=<r> unit=<u>
# (idle_memory: ... bytes_per_actor=<int> unit=bytes). Progress, failures
# and the total time go to stderr. Workloads and sizes are those of
# docs/benchmarks.md, the same as bench/peers/run.sh's.
#
# Usage: bench/run.sh [--quick | --list]
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
case "${1:-}" in
  --quick) DIV=10 ;;
  --list) LIST=1 ;;
  "") ;;
  *) echo "usage: $0 [--quick | --list]" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------- workloads
# One line per workload: the program (bench/<name>.c, also the bench= name)
# and its arguments, sized as in peers/run.sh. Adding a workload is one line
# here (plus its program in bench/meson.build).
WORKLOADS=(
  "pingpong $((1000000 / DIV))"
  "counting $((10000000 / DIV))"
  "ring $((10000000 / DIV)) 1000"
  "fork_join_create $((1000000 / DIV))"
  "big 1000 $((1000 / DIV))"
  "idle_memory $((1000000 / DIV))"
  "call $((1000000 / DIV))"
  "restart $((100000 / DIV))"
)

if [ $LIST -eq 1 ]; then
  for w in "${WORKLOADS[@]}"; do echo "${w%% *}"; done
  exit 0
fi

T_START=$(date +%s.%N)

# -------------------------------------------------------------------- build
# A release build of its own, so that a debug build dir never leaks into the
# numbers; ninja makes this a no-op when nothing changed.
PROGS=()
for w in "${WORKLOADS[@]}"; do PROGS+=("bench/${w%% *}"); done
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

# run_bench NAME ARGS...: runs the program under the timeout, prints its
# result lines, records a failure on non-zero exit, timeout or no result.
run_bench() {
  local name=$1 out=$TMP/out err=$TMP/err rc
  echo "# running troupe $*" >&2
  timeout -k 5 "$TIMEOUT" "$BUILD/bench/$name" "${@:2}" >"$out" 2>"$err"
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
  read -r -a cmd <<<"$w"
  if [ -n "$ONLY" ] && ! echo "${cmd[0]}" | grep -Eq -- "$ONLY"; then continue; fi
  for ((i = 0; i < REPEAT; i++)); do run_bench "${cmd[@]}"; done
done

T_END=$(date +%s.%N)
ELAPSED=$(awk -v a="$T_START" -v b="$T_END" 'BEGIN { printf "%.1f", b - a }')
echo "# troupe: total wall time ${ELAPSED}s, failures: $FAILS" >&2
for f in "${FAIL_LIST[@]}"; do echo "#   $f" >&2; done
[ $FAILS -eq 0 ]
