#!/usr/bin/env bash
# tools/dev.sh — set up, build and run troupe on Debian 12.
#
#   tools/dev.sh demo           install what is missing, build, run `troupe demo`
#   tools/dev.sh test           install what is missing, build, run the whole test suite
#   tools/dev.sh sanitize       the suite again under ASan+UBSan, then under TSan
#   tools/dev.sh valgrind       the suite again under valgrind's memcheck (no error,
#                               no definite or possible leak)
#   tools/dev.sh install-check  the README's install recipe (private prefix), run as
#                               written on a copy of the tree, and its first program
#   tools/dev.sh fuzz [SECONDS] the libFuzzer targets (clang, build-fuzz/), each for
#                               SECONDS (default 20) from its seed corpus; any crash
#                               fails (.ci/run runs it with the default)
#   tools/dev.sh stress [SECONDS] the randomized stress test (tests/test_stress.c) alone
#                               for SECONDS (default 60) in build/, build-asan/ and
#                               build-tsan/ in turn, a fresh seed each (not run by
#                               .ci/run: `test` and `sanitize` run it for a few seconds
#                               as part of the suite)
#   tools/dev.sh coverage       the plain suite once in a coverage build (build-cov/,
#                               gcovr): per-file and per-folder line coverage, and a
#                               failure when actors/, supervisor/ or transport/ has
#                               less of its lines run than its minimum (95% each;
#                               COVERAGE_MIN=N sets all three)
#                               (report: build-cov/coverage/index.html)
#   tools/dev.sh docs           the API reference from include/'s comments (Doxygen):
#                               build/docs/html/index.html; any doxygen warning fails
#   tools/dev.sh setup          install and build only
#
# Packages come from apt only and are installed only when missing. Builds go
# to build/ (debugoptimized), build-asan/ and build-tsan/. A build folder
# configured with other options than the ones wanted here (by hand, or by
# an older version of this script) is reconfigured, or wiped and set up
# again, never reused as it is. Compiler and test output goes to the
# terminal (and so to the CI log).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential pkg-config meson ninja-build libcmocka-dev libzmq3-dev
          libsodium-dev libyaml-dev python3 gcovr doxygen)

install_missing() { # [extra packages...]
  local missing=() p
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
}

# options_match DIR NAME=VALUE...: whether DIR is configured with exactly
# these values (as `meson introspect --buildoptions` reports them). A folder
# meson cannot read (its error is shown) does not match.
options_match() {
  local dir=$1 json; shift
  json=$(meson introspect --buildoptions "$dir") || {
    echo "dev.sh: cannot read $dir's options" >&2; return 1; }
  printf '%s' "$json" | python3 -c '
import json, sys
have = {o["name"]: o["value"] for o in json.load(sys.stdin)}
def text(v):
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, list): return ",".join(map(str, v))
    return str(v)
for kv in sys.argv[1:]:
    name, want = kv.split("=", 1)
    if name not in have or text(have[name]) != want:
        print(f"dev.sh: {name} is {text(have.get(name))!s}, want {want}", file=sys.stderr)
        sys.exit(1)
' "$@"
}

# build DIR [NAME=VALUE...]: configures DIR with these options (buildtype,
# b_sanitize, b_lundef and b_coverage default to debugoptimized, none, true
# and false, so that no folder keeps an option another step gave it), then
# builds it with ninja.
build() {
  local dir=$1; shift
  local want=(buildtype=debugoptimized b_sanitize=none b_lundef=true b_coverage=false) kv i
  for kv in "$@"; do
    for i in "${!want[@]}"; do
      if [ "${want[i]%%=*}" = "${kv%%=*}" ]; then want[i]=$kv; continue 2; fi
    done
    want+=("$kv")
  done
  local args=()
  for kv in "${want[@]}"; do args+=("-D$kv"); done
  if [ -f "$dir/build.ninja" ] && options_match "$dir" "${want[@]}"; then
    :
  elif [ -f "$dir/build.ninja" ] && meson configure "$dir" "${args[@]}" &&
       options_match "$dir" "${want[@]}"; then
    # (not `meson setup --reconfigure`: meson 1.0 ignores a b_sanitize
    # given to it; ninja regenerates the build files from the new options)
    echo "dev.sh: $dir reconfigured" >&2
  else
    [ -e "$dir" ] && echo "dev.sh: $dir set up anew" >&2
    rm -rf -- "$dir"
    meson setup "$dir" "${args[@]}"
  fi
  ninja -C "$dir"
}

# Runs the suite in DIR and prints the cmocka totals as one closing line.
run_suite() { # DIR LABEL [meson test options...]
  local dir=$1 label=$2 rc=0; shift 2
  local log="$dir/meson-logs/testlog.txt" a
  for a in "$@"; do
    case "$a" in --setup=*) log="$dir/meson-logs/testlog-${a#--setup=}.txt" ;; esac
  done
  meson test -C "$dir" --print-errorlogs "$@" || rc=$?
  local passed failed
  passed=$(grep -hoE '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s += $4} END {print s + 0}' || true)
  failed=$(grep -hoE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s += $4} END {print s + 0}' || true)
  # meson-level failures (a crash, a timeout, a failing non-cmocka test) count too
  local suites_failed
  suites_failed=$(grep -hoE '^Fail: +[0-9]+|^Timeout: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}' || true)
  [ "$failed" -eq 0 ] && [ "$suites_failed" -gt 0 ] && failed=$suites_failed
  echo "$label: $passed passed, $failed failed"
  return $rc
}

# readme_block MARKER: prints the fenced code block that follows the line
# "<!-- MARKER -->" in README.md (without the fences).
readme_block() {
  awk -v marker="<!-- $1 -->" '
    $0 == marker { found = 1; next }
    found == 1 && /^```/ { found = 2; next }
    found == 2 && /^```/ { exit }
    found == 2 { print }
  ' README.md
}

# The README's first program is examples/hello.c, byte for byte; the
# README's private-prefix recipe, run as written (with HOME in a temporary
# folder, on a copy of the tree), installs troupe, builds that program
# against the installed troupe.pc with plain cc and runs it.
install_check() {
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/troupe-install.XXXXXX")
  # shellcheck disable=SC2064  # expand now: $tmp is local
  trap "rm -rf '$tmp'" EXIT
  readme_block first-program >"$tmp/readme_hello.c"
  if ! cmp -s "$tmp/readme_hello.c" examples/hello.c; then
    echo "install-check: README's first program differs from examples/hello.c:" >&2
    diff -u examples/hello.c "$tmp/readme_hello.c" >&2 || true
    return 1
  fi
  readme_block install-private >"$tmp/recipe.sh"
  [ -s "$tmp/recipe.sh" ] || { echo "install-check: no install-private block in README.md" >&2; return 1; }
  mkdir -p "$tmp/src" "$tmp/home"
  tar -c --exclude='./build*' --exclude=./.git --exclude=./bench/peers/build . | tar -x -C "$tmp/src"
  # The recipe's own checks, then proof that the program found the
  # installed library and the installed .pc, not another one.
  cat >>"$tmp/recipe.sh" <<'EOF'
test "$(pkg-config --variable=prefix troupe)" = "$PREFIX"
ldd ./hello | grep -F "$PREFIX/lib/libtroupe.so.0"
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -c examples/hello.c -o hello.o $(pkg-config --cflags troupe)
EOF
  echo "install-check: running README's recipe:" >&2
  sed 's/^/    /' "$tmp/recipe.sh" >&2
  (cd "$tmp/src" && env -u PKG_CONFIG_PATH HOME="$tmp/home" bash -euxo pipefail "$tmp/recipe.sh")
  echo "install-check: 1 passed, 0 failed"
}

# fuzz_run TARGET SECONDS: runs build-fuzz/fuzz/fuzz_TARGET from the seeds
# in fuzz/corpus/TARGET (read only: what it finds goes to build-fuzz/), with
# fuzz/TARGET.dict when there is one. A crash leaves its input in
# build-fuzz/ and fails.
fuzz_run() {
  local t=$1 secs=$2 work="build-fuzz/corpus-$1" log="build-fuzz/fuzz-$1.log" rc=0
  local dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  mkdir -p "$work"
  echo "dev.sh: fuzz_$t for ${secs}s (log: $log)" >&2
  "./build-fuzz/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=16384 "${dict[@]}" \
    -print_final_stats=1 -artifact_prefix=build-fuzz/ "$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  if [ $rc -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz_$t: failed (exit $rc) after ${runs:-?} executions; input in build-fuzz/"
    return 1
  fi
  echo "fuzz_$t: ${runs:-0} executions in ${secs}s, no crash"
}

# The fuzz targets need clang: a build-fuzz made with another compiler is
# set up anew (CC only counts when a build folder is set up).
fuzz() { # [SECONDS]
  local secs=${1:-20} failed=0
  install_missing clang libclang-rt-14-dev
  if [ -f build-fuzz/build.ninja ] &&
     ! grep -q '^C compiler for the host machine: clang' build-fuzz/meson-logs/meson-log.txt; then
    echo "dev.sh: build-fuzz not set up with clang; set up anew" >&2
    rm -rf build-fuzz
  fi
  CC=clang build build-fuzz fuzz=true
  local t passed=0
  for t in wire config args; do # the frame decoder, the config loader, args
    if fuzz_run "$t" "$secs"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
  echo "fuzz: $passed passed, $failed failed"
  [ $failed -eq 0 ]
}

# Long runs of the stress test in the three builds; a failure prints its
# seed and the command that replays it.
stress() { # [SECONDS]
  local secs=${1:-60} failed=0 b
  install_missing
  build build
  build build-asan b_sanitize=address,undefined b_lundef=false
  build build-tsan b_sanitize=thread b_lundef=false
  for b in build build-asan build-tsan; do
    echo "dev.sh: $b/tests/test_stress for ${secs}s" >&2
    TROUPE_STRESS_SECONDS=$secs ASAN_OPTIONS=detect_leaks=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 TSAN_OPTIONS=halt_on_error=1 \
      "./$b/tests/test_stress" || failed=$((failed + 1))
  done
  echo "stress: $((3 - failed)) passed, $failed failed"
  return $((failed > 0))
}

# coverage: the plain suite once in build-cov/ (debug, b_coverage), counters
# zeroed first; gcovr's per-file table goes to the log, then one line per
# folder, and the step fails when a folder is below its minimum percent of
# lines (FOLDER:MIN below; COVERAGE_MIN, when set, for all): 95 for each.
# gcovr's exclusion markers (GCOVR_EXCL_LINE, _START/_STOP) are used only
# on lines no test can reach, each with a comment that says why.
COVERAGE_FOLDERS=(actors:95 supervisor:95 transport:95)
coverage() {
  local dir=build-cov rc=0 f
  install_missing
  build "$dir" buildtype=debug b_coverage=true
  find "$dir" -name '*.gcda' -delete
  run_suite "$dir" coverage || rc=$?
  local filters=() mins=()
  for f in "${COVERAGE_FOLDERS[@]}"; do
    filters+=(--filter "${f%%:*}/")
    mins+=("${f%%:*}:${COVERAGE_MIN:-${f##*:}}")
  done
  mkdir -p "$dir/coverage"
  gcovr --root . --object-directory "$dir" "${filters[@]}" \
    --txt "$dir/coverage/coverage.txt" --json-summary "$dir/coverage/summary.json" \
    --html-details "$dir/coverage/index.html"
  cat "$dir/coverage/coverage.txt" >&2
  python3 - "$dir/coverage/summary.json" "${mins[@]}" <<'EOF' || rc=1
import json, sys
files = json.load(open(sys.argv[1]))["files"]
low = 0
for arg in sys.argv[2:]:
    folder, least = arg.split(":")
    least = float(least)
    mine = [f for f in files if f["filename"].startswith(folder + "/")]
    run = sum(f["line_covered"] for f in mine)
    total = sum(f["line_total"] for f in mine)
    pct = 100.0 * run / total if total else 0.0
    verdict = "ok" if pct >= least else f"BELOW {least:g}%"
    print(f"coverage: {folder + '/':12} {pct:5.1f}% of {total} lines ({total - run} not run) {verdict}",
          file=sys.stderr)
    low += pct < least
sys.exit(1 if low else 0)
EOF
  return $rc
}

# docs: `ninja -C build docs` (docs/Doxyfile.in). Doxygen fails on any
# warning (an undocumented public declaration, a broken command); the
# warnings are shown and counted either way.
docs() {
  local rc=0 log=build/docs/warnings.log n=0
  install_missing
  build build
  # a build/ set up before doxygen was installed has no docs target yet
  ninja -C build -t query docs >/dev/null 2>&1 || meson setup --reconfigure build
  rm -f "$log"
  ninja -C build docs || rc=$?
  if [ -s "$log" ]; then
    cat "$log" >&2
    n=$(grep -cE ': (warning|error): ' "$log" || true)
  fi
  echo "dev.sh: $n doxygen warnings; reference in build/docs/html/index.html" >&2
  if [ $rc -eq 0 ] && [ "$n" -eq 0 ]; then
    echo "docs: 1 passed, 0 failed"
  else
    echo "docs: 0 passed, 1 failed"
    return 1
  fi
}

cmd=${1:-}
case "$cmd" in
  setup) install_missing; build build ;;
  demo) install_missing; build build; ./build/tools/troupe demo ;;
  test) install_missing; build build; run_suite build tests ;;
  sanitize)
    install_missing
    build build-asan b_sanitize=address,undefined b_lundef=false
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      run_suite build-asan asan
    build build-tsan b_sanitize=thread b_lundef=false
    TSAN_OPTIONS=halt_on_error=1 run_suite build-tsan tsan
    ;;
  valgrind)
    install_missing valgrind
    build build
    run_suite build valgrind --setup=valgrind
    ;;
  install-check) install_missing; install_check ;;
  fuzz) fuzz "${2:-20}" ;;
  stress) stress "${2:-60}" ;;
  coverage) coverage ;;
  docs) docs ;;
  *) echo "usage: tools/dev.sh demo|test|sanitize|valgrind|coverage|install-check|docs|fuzz [SECONDS]|stress [SECONDS]|setup" >&2; exit 2 ;;
esac
