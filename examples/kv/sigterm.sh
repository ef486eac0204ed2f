#!/bin/sh
# Starts kv unbounded, waits for its "kv: ready" line (through a fifo: no
# sleeping), sends SIGTERM, and checks that the tree shut down cleanly
# (exit 0) and the summary was printed.
set -eu
kv=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/out"
"$kv" >"$dir/out" &
pid=$!
exec 3<"$dir/out"
IFS= read -r line <&3
if [ "$line" != "kv: ready" ]; then
    echo "kv_sigterm: first line: $line" >&2
    kill -KILL "$pid"
    exit 1
fi
kill -TERM "$pid"
rest=$(cat <&3)
status=0
wait "$pid" || status=$?
printf '%s\n' "$rest"
if [ "$status" -ne 0 ]; then
    echo "kv_sigterm: kv exited $status" >&2
    exit 1
fi
printf '%s\n' "$rest" | grep -q '^kv: requests=[0-9]* ok=' || {
    echo "kv_sigterm: no summary" >&2
    exit 1
}
