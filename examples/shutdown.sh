#!/bin/sh
# shutdown.sh PROGRAM SIGNAL: starts examples/shutdown, waits for its
# "ready" line (through a fifo: no sleeping), sends it SIGNAL (INT or
# TERM), and checks that it exited 0 after stopping its tree in reverse
# start order.
set -eu
exe=$1
sig=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/out"
"$exe" >"$dir/out" &
pid=$!
exec 3<"$dir/out"
IFS= read -r line <&3
if [ "$line" != "shutdown: ready, send SIGINT or SIGTERM" ]; then
    echo "shutdown.sh: first line: $line" >&2
    kill -KILL "$pid"
    exit 1
fi
kill -"$sig" "$pid"
rest=$(cat <&3)
status=0
wait "$pid" || status=$?
printf '%s\n%s\n' "$line" "$rest"
want="shutdown: got SIG$sig
stopped /root/service/web
stopped /root/service/cache
stopped /root/service/db
shutdown: ok"
if [ "$status" -ne 0 ] || [ "$rest" != "$want" ]; then
    echo "shutdown.sh: exit status $status; wanted this output after the signal:" >&2
    printf '%s\n' "$want" >&2
    exit 1
fi
