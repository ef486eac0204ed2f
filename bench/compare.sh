#!/usr/bin/env bash
# Runs the peer benchmarks (Erlang/OTP, CAF; bench/peers/run.sh) and
# troupe's (bench/run.sh) on the same workloads in one go, interleaved per
# workload so that every peer sees the same machine conditions (as
# peers/run.sh does), then `c spsc_ring`, the hardware reference for
# counting. Prints a markdown table on stdout; raw result lines and progress
# go to stderr.
#
# Usage: bench/compare.sh [--quick]
# Environment: PEERS_TIMEOUT/PEERS_REPEAT and TROUPE_TIMEOUT/TROUPE_REPEAT
# pass through; with repeats the table shows medians. COMPARE_OUT=FILE also
# keeps the raw result lines there. TROUPE_PEERS_RUN overrides the path of
# the peers' run.sh (default: bench/peers/run.sh in this tree).
# Needs erl/erlc (erlang-nox), libcaf-dev, g++ and make for the peers
# (apt-get install erlang-nox libcaf-dev libzmq3-dev g++ make).
# Exit status: 0 if every benchmark ran and passed its check, else 1.
set -u

HERE=$(cd "$(dirname "$0")" && pwd) || exit 1
PEERS_RUN=${TROUPE_PEERS_RUN:-$HERE/peers/run.sh}
TROUPE_RUN=$HERE/run.sh

ARGS=()
QUICK=0
case "${1:-}" in
  --quick) ARGS=(--quick); QUICK=1 ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
if [ ! -x "$PEERS_RUN" ]; then
  echo "# $PEERS_RUN not found" >&2
  exit 1
fi
for tool in erl erlc g++ make; do
  command -v "$tool" >/dev/null || {
    echo "# $tool not found: apt-get install erlang-nox libcaf-dev libzmq3-dev g++ make" >&2
    exit 1
  }
done

RESULTS=$(mktemp /tmp/troupe-compare.XXXXXX) || exit 1
trap 'rm -f "$RESULTS"' EXIT
trap 'echo "# interrupted" >&2; exit 130' INT TERM
FAILED=0
T_START=$(date +%s)

# run CMD...: appends CMD's result lines to RESULTS, echoing them to stderr.
run() {
  "$@" | tee -a "$RESULTS" >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] || FAILED=1
}

WORKLOADS=$("$TROUPE_RUN" --list) || exit 1
for w in $WORKLOADS; do
  run env PEERS_ONLY="^(erlang|caf) $w\$" "$PEERS_RUN" "${ARGS[@]}"
  run env TROUPE_ONLY="^$w\$" "$TROUPE_RUN" "${ARGS[@]}"
done
run env PEERS_ONLY='^c spsc_ring$' "$PEERS_RUN" "${ARGS[@]}"
[ -n "${COMPARE_OUT:-}" ] && cp "$RESULTS" "$COMPARE_OUT"

echo "# compare: total wall time $(($(date +%s) - T_START))s" >&2

# ---------------------------------------------------------------- the table
# Per (peer, bench) the median of its runs. "vs best" is always "how many
# times better troupe is" (> 1: troupe ahead): troupe/best for rates,
# best/troupe for idle_memory, where fewer bytes per actor is better.
awk -v workloads="$WORKLOADS" -v quick="$QUICK" '
function field(line, key,   m) {
  if (match(line, "(^| )" key "=[^ ]*")) {
    m = substr(line, RSTART, RLENGTH); sub(/^ /, "", m)
    return substr(m, length(key) + 2)
  }
  return ""
}
function median(key,   n, i, j, v, a) {
  n = split(vals[key], a, " ")
  if (n == 0) return ""
  for (i = 2; i <= n; i++) {          # insertion sort (mawk has no asort)
    v = a[i] + 0
    for (j = i - 1; j >= 1 && a[j] + 0 > v; j--) a[j + 1] = a[j]
    a[j + 1] = v
  }
  return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v, mem) {
  if (v == "") return "n/a"
  if (mem) return sprintf("%d B", v)
  if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
  if (v >= 1e3) return sprintf("%.1fk", v / 1e3)
  return sprintf("%.1f", v)
}
/^peer=/ {
  p = field($0, "peer"); b = field($0, "bench")
  v = field($0, "rate"); if (v == "") v = field($0, "bytes_per_actor")
  if (v == "") next
  vals[p SUBSEP b] = vals[p SUBSEP b] " " v
  unit[b] = field($0, "unit")
}
END {
  printf "troupe vs peers, %s sizes, 2 scheduler threads each, median of the runs.\n", quick ? "--quick" : "default"
  printf "\"vs best\": troupe/best peer for rates, best peer/troupe for bytes; > 1 means troupe is ahead.\n\n"
  print "| workload | unit | troupe | erlang | caf | best peer | vs best | target | met |"
  print "|---|---|---:|---:|---:|---|---:|---|---|"
  nw = split(workloads, ws, " ")
  for (i = 1; i <= nw; i++) {
    w = ws[i]; mem = (w == "idle_memory")
    t = median("troupe" SUBSEP w); e = median("erlang" SUBSEP w); c = median("caf" SUBSEP w)
    best = ""; bp = ""
    if (e != "") { best = e; bp = "erlang" }
    if (c != "" && (best == "" || (mem ? c < best : c > best))) { best = c; bp = "caf" }
    ratio = ""
    if (t != "" && best != "" && t > 0) ratio = mem ? best / t : t / best
    if (mem) {
      target = "<= 256 B/actor"; met = t == "" ? "n/a" : (t <= 256 ? "yes" : "NO")
      u = "bytes/actor (lower is better)"
    } else {
      target = ">= 2x best peer"; met = ratio == "" ? "n/a" : (ratio >= 2 ? "yes" : "NO")
      u = unit[w] == "" ? "n/a" : unit[w]
    }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, u, fmt(t, mem), fmt(e, mem),
      fmt(c, mem), bp == "" ? "n/a" : bp " " fmt(best, mem),
      ratio == "" ? "n/a" : sprintf("%.2fx", ratio), target, met
    if (w == "counting") {           # the hardware reference row
      s = median("c" SUBSEP "spsc_ring"); t = median("troupe" SUBSEP "counting")
      ratio = (s != "" && t != "") ? t / s : ""
      printf "| counting vs c spsc_ring | msgs/s | %s | | | spsc_ring %s | %s | >= 0.5x (within 2x) | %s |\n",
        fmt(t, 0), fmt(s, 0), ratio == "" ? "n/a" : sprintf("%.2fx", ratio),
        ratio == "" ? "n/a" : (ratio >= 0.5 ? "yes" : "NO")
    }
  }
}' "$RESULTS"

[ $FAILED -eq 0 ]
