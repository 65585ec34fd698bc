#!/usr/bin/env bash
# mount-namespace.sh DIR [pid]: runs DIR/old/app in a mount namespace of its own with a private tmpfs
# on /tmp and its socket directory there (as systemd's PrivateTmp=yes gives a service), then
# applies DIR/fix.hp from outside with hpctl (loading the runtime into it first when the program
# is not linked with it), shows status, reverts.  Prints the program's
# distinct lines with hpctl's transcript in between.
set -euo pipefail
dir=$1
hpctl=${HPCTL:?}
sockdir=$(mktemp -u /tmp/hpns.XXXXXX)  # a name only, made inside the namespace's /tmp
: > "$dir/out.txt"
# With a second argument "pid", also a pid namespace of its own, where the program is pid 1 and
# names its socket 1.sock.  unshare and sh exec in place: $! is the program's pid, except that
# a new pid namespace needs a fork (-f): the program is then unshare's child.
flags=(-m)
[ "${2:-}" = pid ] && flags=(-m -p -f)
# The program is started from its directory, entered before the tmpfs hides /tmp: the tests
# themselves may run under /tmp.
unshare "${flags[@]}" sh -c 'cd "$1" && mount -t tmpfs none /tmp && HOTPATCH_SOCKET_DIR=$0 exec ./app' "$sockdir" "$dir/old" \
  >> "$dir/out.txt" &
pid=$!
# SIGKILL: the first process of a pid namespace ignores other signals sent from outside.
trap 'kill -KILL $pid 2>/dev/null || true' EXIT
if [ "${2:-}" = pid ]; then
  for _ in $(seq 100); do
    child=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null) && child=${child%% *} && [ -n "$child" ] && break
    sleep 0.05
  done
  pid=$child
  grep NSpid "/proc/$pid/status" | awk '{ print "pid inside:", $NF }' >> "$dir/out.txt"
fi
for _ in $(seq 100); do [ -n "$(ls "/proc/$pid/root$sockdir" 2>/dev/null)" ] && break; sleep 0.05; done
mark() { sleep 0.2; echo "== $*" >> "$dir/out.txt"; }
mark start
[ -e "$sockdir" ] && echo "socket outside: $sockdir" >> "$dir/out.txt" || echo "socket outside: none" >> "$dir/out.txt"
run() { { "$hpctl" "$@" 2>&1 || true; } | sed "s/\b$pid\b/PID/g" >> "$dir/out.txt"; }
run apply "$pid" "$dir/fix.hp"
mark applied
# A program not linked with libhotpatch got a copy of it in its own /tmp, removed once loaded.
if grep -q 'hotpatch-runtime-' "/proc/$pid/maps"; then
  echo "runtime copy mapped: $(grep -c 'hotpatch-runtime-.*(deleted)' "/proc/$pid/maps") mappings deleted" >> "$dir/out.txt"
  echo "runtime copies left in its /tmp: $(ls "/proc/$pid/root/tmp" | grep -c hotpatch-runtime || true)" >> "$dir/out.txt"
fi
run status "$pid"
run revert "$pid"
mark reverted
uniq "$dir/out.txt"
