#!/usr/bin/env bash
# tools/dev.sh — set up, build and run troupe on Debian 12.
#
#   tools/dev.sh demo       install what is missing, build, run `troupe demo`
#   tools/dev.sh test       install what is missing, build, run the whole test suite
#   tools/dev.sh sanitize   the suite again under ASan+UBSan, then under TSan
#   tools/dev.sh setup      install and build only
#
# Packages come from apt only and are installed only when missing. Builds go
# to build/ (debugoptimized), build-asan/ and build-tsan/.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential pkg-config meson ninja-build libcmocka-dev libzmq3-dev
          libsodium-dev libyaml-dev)

install_missing() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() { # DIR [meson options...]
  local dir=$1; shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
  ninja -C "$dir" >/dev/null
}

# Runs the suite in DIR and prints the cmocka totals as one closing line.
run_suite() { # DIR LABEL
  local dir=$1 label=$2 rc=0
  meson test -C "$dir" --print-errorlogs || rc=$?
  local log="$dir/meson-logs/testlog.txt" passed failed
  passed=$(grep -hoE '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s += $4} END {print s + 0}' || true)
  failed=$(grep -hoE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s += $4} END {print s + 0}' || true)
  # meson-level failures (a crash, a timeout, a failing non-cmocka test) count too
  local suites_failed
  suites_failed=$(grep -hoE '^Fail: +[0-9]+|^Timeout: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}' || true)
  [ "$failed" -eq 0 ] && [ "$suites_failed" -gt 0 ] && failed=$suites_failed
  echo "$label: $passed passed, $failed failed"
  return $rc
}

cmd=${1:-}
case "$cmd" in
  setup) install_missing; build build ;;
  demo) install_missing; build build; ./build/tools/troupe demo ;;
  test) install_missing; build build; run_suite build tests ;;
  sanitize)
    install_missing
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      run_suite build-asan asan
    build build-tsan -Db_sanitize=thread -Db_lundef=false
    TSAN_OPTIONS=halt_on_error=1 run_suite build-tsan tsan
    ;;
  *) echo "usage: tools/dev.sh demo|test|sanitize|setup" >&2; exit 2 ;;
esac
