#!/usr/bin/env bash
# Runs the peer benchmarks (Erlang/OTP, CAF, raw ZeroMQ, plain C;
# bench/peers/run.sh) and troupe's (bench/run.sh) on the same workloads in
# one go, interleaved per workload so that every peer sees the same machine
# conditions (as peers/run.sh does): for each workload of `run.sh --list`,
# the peers' runs of it, then troupe's. Besides the peers of the same name,
# counting brings `c spsc_ring` (the hardware reference) and each remote
# workload its raw ZeroMQ baseline (zmq_tcp_pingpong, zmq_tcp_thr and their
# CURVE forms). Prints three markdown tables on stdout (throughput, remote,
# latency); raw result lines and progress go to stderr.
#
# Usage: bench/compare.sh [--quick]
# Environment: PEERS_TIMEOUT/PEERS_REPEAT and TROUPE_TIMEOUT/TROUPE_REPEAT
# pass through; with repeats the tables show medians. TROUPE_ONLY=REGEX
# compares only the workloads whose name matches (grep -E); PEERS_ONLY is
# set per workload here. COMPARE_OUT=FILE also keeps the raw result lines
# there. TROUPE_PEERS_RUN overrides the path of the peers' run.sh (default:
# bench/peers/run.sh in this tree).
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

# peers_for WORKLOAD: the PEERS_ONLY regex of the peer runs that go with it
# (empty: troupe only).
peers_for() {
  case $1 in
    counting) echo '^(erlang|caf) counting$|^c spsc_ring$' ;;
    remote_pingpong) echo '^(erlang|caf) remote_pingpong$|^zmq zmq_tcp_pingpong$' ;;
    remote_pingpong_curve) echo '^zmq zmq_tcp_curve_pingpong$' ;;
    remote_throughput) echo '^(erlang|caf) remote_throughput$|^zmq zmq_tcp_thr$' ;;
    remote_throughput_curve) echo '^zmq zmq_tcp_curve_thr$' ;;
    hog_*) echo "^erlang $1\$" ;;
    *) echo "^(erlang|caf) $1\$" ;;
  esac
}

WORKLOADS=$("$TROUPE_RUN" --list) || exit 1
if [ -n "${TROUPE_ONLY:-}" ]; then
  WORKLOADS=$(echo "$WORKLOADS" | grep -E -- "$TROUPE_ONLY")
  [ -n "$WORKLOADS" ] || { echo "# no workload matches TROUPE_ONLY=$TROUPE_ONLY" >&2; exit 2; }
fi
for w in $WORKLOADS; do
  p=$(peers_for "$w")
  [ -n "$p" ] && run env PEERS_ONLY="$p" "$PEERS_RUN" "${ARGS[@]}"
  run env TROUPE_ONLY="^$w\$" "$TROUPE_RUN" "${ARGS[@]}"
done
[ -n "${COMPARE_OUT:-}" ] && cp "$RESULTS" "$COMPARE_OUT"

echo "# compare: total wall time $(($(date +%s) - T_START))s" >&2

# ---------------------------------------------------------------- the tables
# Per (peer, bench) the median of its runs (of each latency field apart).
# A workload gives one row per line it prints (monitors: monitors and
# demonitors; timers_fire: timers_arm_idle, timers_arm, timers_fire;
# hog_latency_hH_wW: itself and hog_timer_hH_wW). Rows go to three tables:
#  - throughput: "vs best" is how many times better troupe is than the
#    best peer (> 1: troupe ahead): troupe/best for rates, best/troupe for
#    idle_memory, where fewer bytes per actor is better;
#  - remote: "vs ref" is troupe/reference, the reference being the peer
#    the target names (Erlang for remote_pingpong, raw ZeroMQ of the same
#    pattern otherwise), always with the raw ZeroMQ figure beside;
#  - latency (lower is better): p50, p99 and max in the units printed.
# Targets are those of docs/benchmarks.md (the issues that set them).
awk -v workloads="$WORKLOADS" -v quick="$QUICK" '
function field(line, key,   m) {
  if (match(line, "(^| )" key "=[^ ]*")) {
    m = substr(line, RSTART, RLENGTH); sub(/^ /, "", m)
    return substr(m, length(key) + 2)
  }
  return ""
}
function median_of(list,   n, i, j, v, a) {
  n = split(list, a, " ")
  if (n == 0) return ""
  for (i = 2; i <= n; i++) {          # insertion sort (mawk has no asort)
    v = a[i] + 0
    for (j = i - 1; j >= 1 && a[j] + 0 > v; j--) a[j + 1] = a[j]
    a[j + 1] = v
  }
  return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
function med(p, b) { return median_of(vals[p SUBSEP b]) }
function lmed(p, b, f) { return median_of(lat[p SUBSEP b SUBSEP f]) }
function fmt(v, mem) {
  if (v == "") return "n/a"
  if (mem) return sprintf("%d B", v)
  if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
  if (v >= 1e3) return sprintf("%.1fk", v / 1e3)
  return sprintf("%.1f", v)
}
function fmt_us(v) {
  if (v == "") return "n/a"
  if (v >= 1e6) return sprintf("%.2f s", v / 1e6)
  if (v >= 1e3) return sprintf("%.2f ms", v / 1e3)
  return sprintf("%.0f us", v)
}
function ratio_s(r) { return r == "" ? "n/a" : sprintf("%.2fx", r) }
function met_s(r, min) { return r == "" ? "n/a" : (r >= min ? "yes" : "NO") }
# the W (us per hog message) of a hog_*_h<H>_w<W> row
function hog_w(b) { return substr(b, match(b, /_w[0-9]+$/) + 2) + 0 }
function hog_h(b,   s) { s = b; sub(/_w[0-9]+$/, "", s); sub(/^.*_h/, "", s); return s + 0 }
/^peer=/ {
  p = field($0, "peer"); b = field($0, "bench")
  v = field($0, "rate"); if (v == "") v = field($0, "bytes_per_actor")
  if (v == "") next
  vals[p SUBSEP b] = vals[p SUBSEP b] " " v
  unit[b] = field($0, "unit")
  for (k = 1; k <= 3; k++) {
    f = k == 1 ? "p50_us" : (k == 2 ? "p99_us" : "max_us")
    x = field($0, f)
    if (x != "") lat[p SUBSEP b SUBSEP f] = lat[p SUBSEP b SUBSEP f] " " x
  }
}
function add_row(b) {
  if (b ~ /^remote_/) rem[++nrem] = b
  else if (b == "timers_fire" || b ~ /^hog_/) late[++nlate] = b
  else thr[++nthr] = b
}
function thr_row(b,   mem, t, e, c, best, bp, ratio, target, met, u, idle, f) {
  mem = (b == "idle_memory")
  t = med("troupe", b); e = med("erlang", b); c = med("caf", b)
  best = ""; bp = ""
  if (e != "") { best = e; bp = "erlang" }
  if (c != "" && (best == "" || (mem ? c < best : c > best))) { best = c; bp = "caf" }
  ratio = ""
  if (t != "" && best != "" && t > 0) ratio = mem ? best / t : t / best
  u = unit[b] == "" ? "n/a" : unit[b]
  if (mem) {
    target = "<= 256 B/actor"; met = t == "" ? "n/a" : (t <= 256 ? "yes" : "NO")
    u = "bytes/actor (lower is better)"
  } else if (b == "restart") {
    target = ">= 10x best peer"; met = met_s(ratio, 10)
  } else if (b == "monitors" || b == "demonitors") {
    target = ">= 1x erlang"; met = met_s(ratio, 1)
  } else if (b == "timers_arm_idle") {
    target = "(reference for timers_arm)"; met = "-"
  } else if (b == "timers_arm") {
    idle = med("troupe", "timers_arm_idle")
    f = (t != "" && idle != "" && t > 0) ? idle / t : ""
    target = "time <= 2x timers_arm_idle (" (f == "" ? "n/a" : sprintf("%.2fx", f)) ")"
    met = f == "" ? "n/a" : (f <= 2 ? "yes" : "NO")
  } else {
    target = ">= 2x best peer"; met = met_s(ratio, 2)
  }
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b, u, fmt(t, mem), fmt(e, mem),
    fmt(c, mem), bp == "" ? "n/a" : bp " " fmt(best, mem), ratio_s(ratio), target, met
  if (b == "counting") {           # the hardware reference row
    s = med("c", "spsc_ring")
    ratio = (s != "" && t != "" && s > 0) ? t / s : ""
    printf "| counting vs c spsc_ring | msgs/s | %s | | | spsc_ring %s | %s | >= 0.5x (within 2x) | %s |\n",
      fmt(t, 0), fmt(s, 0), ratio_s(ratio), met_s(ratio, 0.5)
  }
}
function rem_row(b,   z, t, e, c, zv, ref, rn, ratio, target, met) {
  z = b == "remote_pingpong" ? "zmq_tcp_pingpong" : \
      b == "remote_pingpong_curve" ? "zmq_tcp_curve_pingpong" : \
      b == "remote_throughput" ? "zmq_tcp_thr" : \
      b == "remote_throughput_curve" ? "zmq_tcp_curve_thr" : ""
  t = med("troupe", b); e = med("erlang", b); c = med("caf", b)
  zv = z == "" ? "" : med("zmq", z)
  if (b == "remote_pingpong") {
    ref = e; rn = "erlang"; target = ">= 1x erlang"
  } else if (b ~ /^remote_throughput/) {
    ref = zv; rn = z; target = ">= 0.8x raw zmq"
  } else {
    ref = zv; rn = z; target = "(reference only)"
  }
  ratio = (t != "" && ref != "" && ref > 0) ? t / ref : ""
  met = target ~ /^\(/ ? "-" : (b == "remote_pingpong" ? met_s(ratio, 1) : met_s(ratio, 0.8))
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b,
    unit[b] == "" ? "n/a" : unit[b], fmt(t, 0), fmt(e, 0), fmt(c, 0),
    z == "" ? "n/a" : fmt(zv, 0), rn == "" ? "n/a" : rn, ratio_s(ratio), target, met
}
function late_row(b,   what, tp99, ep99, w, target, met) {
  tp99 = lmed("troupe", b, "p99_us"); ep99 = lmed("erlang", b, "p99_us")
  target = "-"; met = "-"
  if (b == "timers_fire") {
    what = "lateness of each one-shot timer"
    target = "p99 <= erlang p99"
    met = (tp99 == "" || ep99 == "") ? "n/a" : (tp99 <= ep99 ? "yes" : "NO")
  } else if (b ~ /^hog_latency_/) {
    w = hog_w(b)
    what = "outside round trip, " hog_h(b) " hogs of " w " us"
    if (w >= 2000) {
      target = "p99 <= 2W = " fmt_us(2 * w)
      met = tp99 == "" ? "n/a" : (tp99 <= 2 * w ? "yes" : "NO")
    } else {
      target = "p99 <= erlang p99"
      met = (tp99 == "" || ep99 == "") ? "n/a" : (tp99 <= ep99 ? "yes" : "NO")
    }
  } else if (b ~ /^hog_timer_/) {
    w = hog_w(b)
    what = "1 ms timer tick lateness, " hog_h(b) " hogs of " w " us"
    if (w <= 200) {
      target = "p99 <= 2 ms"
      met = tp99 == "" ? "n/a" : (tp99 <= 2000 ? "yes" : "NO")
    }
  }
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b, what,
    fmt_us(lmed("troupe", b, "p50_us")), fmt_us(tp99), fmt_us(lmed("troupe", b, "max_us")),
    fmt_us(lmed("erlang", b, "p50_us")), fmt_us(ep99), fmt_us(lmed("erlang", b, "max_us")),
    target, met
}
END {
  nw = split(workloads, ws, " ")
  for (i = 1; i <= nw; i++) {
    w = ws[i]
    if (w == "monitors") { add_row("monitors"); add_row("demonitors") }
    else if (w == "timers_fire") { add_row("timers_arm_idle"); add_row("timers_arm"); add_row("timers_fire") }
    else if (w ~ /^hog_latency_/) { add_row(w); x = w; sub(/^hog_latency_/, "hog_timer_", x); add_row(x) }
    else add_row(w)
  }
  printf "troupe vs peers, %s sizes, 2 scheduler threads each, median of the runs.\n", quick ? "--quick" : "default"
  if (nthr) {
    printf "\n\"vs best\": troupe/best peer for rates, best peer/troupe for bytes; > 1 means troupe is ahead.\n\n"
    print "| workload | unit | troupe | erlang | caf | best peer | vs best | target | met |"
    print "|---|---|---:|---:|---:|---|---:|---|---|"
    for (i = 1; i <= nthr; i++) thr_row(thr[i])
  }
  if (nrem) {
    printf "\nRemote: two OS processes over tcp on 127.0.0.1, 64-byte payloads. \"raw zmq\": plain ZeroMQ, same pattern, same run\n"
    printf "(zmq_tcp_pingpong, zmq_tcp_thr, and their _curve_ forms); \"vs ref\": troupe/reference.\n\n"
    print "| workload | unit | troupe | erlang | caf | raw zmq | reference | vs ref | target | met |"
    print "|---|---|---:|---:|---:|---:|---|---:|---|---|"
    for (i = 1; i <= nrem; i++) rem_row(rem[i])
  }
  if (nlate) {
    printf "\nLatency (lower is better): p50, p99 and max of the samples.\n\n"
    print "| workload | measures | troupe p50 | troupe p99 | troupe max | erlang p50 | erlang p99 | erlang max | target | met |"
    print "|---|---|---:|---:|---:|---:|---:|---:|---|---|"
    for (i = 1; i <= nlate; i++) late_row(late[i])
  }
}' "$RESULTS"

[ $FAILED -eq 0 ]
