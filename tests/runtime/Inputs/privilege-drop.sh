#!/usr/bin/env bash
# privilege-drop.sh DIR: runs DIR/old/app as root (it forks, and parent and child switch to uid
# 65534), applies DIR/fix.hp to both with hpctl, then tries as another user.  Prints the
# program's distinct lines with hpctl's transcript in between, pids replaced by PARENT/CHILD.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -euo pipefail
dir=$1
hpctl=${HPCTL:?}
: > "$dir/out.txt"
rm -f "$dir/pids"
"$dir/old/app" "$dir/pids" >> "$dir/out.txt" &
launched=$!
parent= child=
cleanup() {
  kill $launched $child 2>/dev/null || true
  # Killed, they leave their sockets (in root's default directory) behind.
  for p in $launched $child; do rm -f "/tmp/hotpatch-0/$p.sock" "/run/user/0/hotpatch/$p.sock"; done
}
trap cleanup EXIT
wait_for eval '[ -s "$dir/pids" ]'
read -r parent child < "$dir/pids"
# Both have switched user once both print as 65534.
for _ in $(seq 100); do
  grep -q "parent value 1 uid 65534" "$dir/out.txt" && grep -q "child value 1 uid 65534" "$dir/out.txt" && break
  sleep 0.05
done
names() { sed -e "s/\b$parent\b/PARENT/g" -e "s/\b$child\b/CHILD/g"; }
mark() { sleep 0.2; echo "== $*" >> "$dir/out.txt"; }
mark start
{ "$hpctl" apply "$parent" "$dir/fix.hp" 2>&1 || true; } | names >> "$dir/out.txt"
{ "$hpctl" apply "$child" "$dir/fix.hp" 2>&1 || true; } | names >> "$dir/out.txt"
mark applied
# What each printed last, now that both run the fixed code.
for who in parent child; do echo "last: $(grep "^$who " "$dir/out.txt" | tail -n 1)" >> "$dir/out.txt"; done
echo "== other user" >> "$dir/out.txt"
setpriv --reuid=1 --regid=1 --clear-groups "$hpctl" status "$parent" 2>&1 | names >> "$dir/out.txt" || true
kill -0 "$parent" && kill -0 "$child"
awk '!seen[$0]++' "$dir/out.txt"  # parent and child lines alternate
