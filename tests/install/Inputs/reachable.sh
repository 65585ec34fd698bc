#!/usr/bin/env bash
# reachable.sh HPCTL PROGRAM...: runs each program (which sleeps) with no library path, asks
# hpctl for its status, and prints "NAME: " and hpctl's answer (first line, pid replaced by PID)
# or how the program failed to start.
set -u
hpctl=$1
shift
# Their sockets go to a directory of their own, removed at the end: killed, they leave them.
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
trap 'rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
for prog in "$@"; do
  name=$(basename "$prog")
  env -u LD_LIBRARY_PATH "$prog" 2> "$prog.err" &
  pid=$!
  answer=
  for _ in $(seq 50); do
    if ! kill -0 $pid 2>/dev/null; then answer="did not run: $(head -n 1 "$prog.err")"; break; fi
    answer=$("$hpctl" status $pid 2>&1 | sed -n 1p) && [ "${answer#*no live patch}" != "$answer" ] && break
    sleep 0.1
  done
  kill $pid 2>/dev/null
  wait $pid 2>/dev/null
  echo "$name: ${answer//$pid/PID}"
done
