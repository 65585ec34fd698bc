#!/usr/bin/env bash
# channel-squatted.sh DIR: uid 4243 makes /tmp/hotpatch-4242 (the directory uid 4242's processes
# use when /run/user/4242 does not exist) and runs DIR/impostor.py in it, listening as the
# victims' sockets; uid 4242 then runs DIR/old/app twice (VICTIM, and HIDDEN, not dumpable).
# Prints the runtime's stderr, where VICTIM's socket is, root's hpctl apply and what VICTIM then
# runs, uid 4242's hpctl status of HIDDEN (which must compute the path), and what the impostor
# received.  Then the same with /tmp/hotpatch-4242 a link to a directory of uid 4243.
set -u
dir=$1
hpctl=${HPCTL:?}
victim=(setpriv --reuid=4242 --regid=4242 --clear-groups)
other=(setpriv --reuid=4243 --regid=4243 --clear-groups)
squat=/tmp/hotpatch-4242
pids=
cleanup() {
  kill $pids 2>/dev/null
  wait 2>/dev/null
  rm -rf "$squat" "$squat".* /tmp/hpatk-4243.*
}
trap cleanup EXIT
cleanup
if [ -e /run/user/4242 ]; then echo "/run/user/4242 exists: the test needs /tmp/hotpatch-4242"; exit 1; fi
# Waits for process $1's socket in the fallback directory; sets sock.
wait_socket() {
  sock=
  for _ in $(seq 400); do  # 20 s: a loaded machine may start the program slowly
    sock=$(ls -d "$squat".*/"$1".sock 2>/dev/null | head -n 1)
    [ -n "$sock" ] && break
    sleep 0.05
  done
}
echo "== directory made by uid 4243"
"${other[@]}" mkdir -m 755 "$squat"
touch "$dir/value" "$dir/hidden-value" && chown 4242 "$dir/value" "$dir/hidden-value"
"${victim[@]}" "$dir/old/app" "$dir/value" 2> "$dir/stderr.txt" &
app=$!
"${victim[@]}" "$dir/old/app" "$dir/hidden-value" hidden 2> /dev/null &
hidden=$!
pids="$app $hidden"
wait_socket $app
wait_socket $hidden
"${other[@]}" python3 "$dir/impostor.py" "$squat/received" "$squat/$app.sock" "$squat/$hidden.sock" > "$dir/listening" &
pids="$pids $!"
for _ in $(seq 400); do [ -s "$dir/listening" ] && break; sleep 0.05; done
names() { sed -e "s/\b$app\b/VICTIM/g" -e "s/\b$hidden\b/HIDDEN/g"; }
echo "stderr: $(cat "$dir/stderr.txt")" | names
wait_socket $app
echo "victim's socket: $(stat -c '%n %u %a' "$sock" | names) $(stat -c '%a' "$(dirname "$sock")")" | sed 's/ 4242 700 700$/ 4242 700/'
"$hpctl" apply $app "$dir/fix.hp" 2>&1 | names | sed 's/^/root: /'
echo "root: exit ${PIPESTATUS[0]}"
# The program rewrites the file (truncate, write): what was read when it held the new value is shown.
for _ in $(seq 400); do v=$(cat "$dir/value"); [[ $v == *"value 2"* ]] && break; sleep 0.05; done
echo "$v"
"${victim[@]}" "$hpctl" status $hidden 2>&1 | names | sed 's/^/uid 4242: /'
echo "uid 4242: exit ${PIPESTATUS[0]}"
cat "$squat/received" 2>/dev/null || echo "impostor received: nothing"
kill $pids 2>/dev/null
wait 2>/dev/null
pids=
echo "== link to a directory of uid 4243"
rm -rf "$squat" "$squat".*
target=$("${other[@]}" mktemp -d /tmp/hpatk-4243.XXXXXX)
chmod 777 "$target"
"${other[@]}" ln -s "$target" "$squat"
"${victim[@]}" "$dir/old/app" "$dir/value" 2> "$dir/stderr.txt" &
app=$!
pids=$app
wait_socket $app
echo "stderr: $(cat "$dir/stderr.txt")" | names
echo "in the link's target:$(ls "$target")"
"$hpctl" status $app 2>&1 | names | sed 's/^/root: /'
fallback=$(dirname "$sock")
kill $app
wait $app 2>/dev/null
pids=
echo "== directory removed at exit: $([ -e "$fallback" ] && echo no || echo yes)"
