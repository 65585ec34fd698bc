#!/usr/bin/env bash
# The README's demo command, end to end: installs hotpatch, builds a multi-threaded key-value
# service (v1, with a real bug) the way a user would (find_package + hotpatch_target), runs it
# under load, builds the fix (v2) and its package, applies it to the running service while the
# load goes on, shows the bug gone with no request failed and no restart, then reverts and
# re-applies.  Cleans up its processes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOTPATCH_BUILD:-$root/build}
"$root/scripts/deps.sh"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
indent() { sed 's/^/    /'; }

work=$(mktemp -d /tmp/hotpatch-demo.XXXXXX)
export HOTPATCH_SOCKET_DIR=$work/sockets
server= load=
cleanup() {
	[ -n "$load" ] && kill "$load" 2>/dev/null
	[ -n "$server" ] && kill "$server" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
# Waits until the load client has printed n more per-second lines (at most 15 s), then shows them.
show_load() {
	local from=$1 n=$2
	for _ in $(seq 150); do
		[ "$(wc -l < "$work/load.txt")" -ge $((from + n)) ] && break
		sleep 0.1
	done
	sed -n "$((from + 1)),$((from + n))p" "$work/load.txt"
}
cmake_kv() { cmake -S "$1" -B "$2" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_PREFIX_PATH="$work/prefix" "${@:3}" >/dev/null; }

say "1. Build hotpatch and install it (into $work/prefix)"
cmake -S "$root" --preset default -B "$build" >/dev/null
ninja -C "$build" >/dev/null
cmake --install "$build" --prefix "$work/prefix" >/dev/null
hpctl=$work/prefix/bin/hpctl
echo "    plugin, hpdiff, hpdump, hpctl, libhotpatch and the CMake package are installed"

say "2. Build the key-value service v1, as released: find_package(Hotpatch) + hotpatch_target(kv-server)"
cp -r "$root/demo/kv" "$work/v1-src"
cmake_kv "$work/v1-src" "$work/v1"
cmake --build "$work/v1" >/dev/null
grep -n -A3 'struct entry \*find' "$work/v1-src/server.c" | indent
echo "    (the bug: a stored key that is a prefix of the requested one matches it)"

say "3. Start v1 and put it under load: 4 connections setting and reading keys, checking every answer"
"$work/v1/kv-server" "$work/port" &
server=$!
for _ in $(seq 100); do [ -s "$work/port" ] && [ -S "$HOTPATCH_SOCKET_DIR/$server.sock" ] && break; sleep 0.05; done
echo "    kv-server runs as pid $server on 127.0.0.1:$(cat "$work/port")"
"$work/v1/kv-client" "$work/port" 4 600 "$work/stop" > "$work/load.txt" &
load=$!
show_load 0 3
echo "    v1 answers some requests with another key's value: the bug, live"

say "4. The fix (v2) compares whole keys; build it with hotpatch_package() against the kept v1 build"
cp -r "$root/demo/kv" "$work/v2-src"
sed -i 's/if (strncmp(table\[i\].key, key, strlen(table\[i\].key)) == 0)/if (strcmp(table[i].key, key) == 0)/' "$work/v2-src/server.c"
diff -u "$work/v1-src/server.c" "$work/v2-src/server.c" | grep '^[-+] ' | indent || true
cmake_kv "$work/v2-src" "$work/v2" -DBASELINE="$work/v1"
cmake --build "$work/v2" --target fix 2>&1 | grep -E 'patched|added|refused|wrote' | indent
"$work/prefix/bin/hpdump" "$work/v2/fix.hp" | grep -E 'package|redirect' | indent

say "5. Apply the fix to the running v1 (pid $server) while the load goes on"
lines=$(wc -l < "$work/load.txt")
"$hpctl" apply "$server" "$work/v2/fix.hp" | indent
show_load "$lines" 3
"$hpctl" status "$server" | indent

say "6. Revert: the bug is back; apply again: gone again"
lines=$(wc -l < "$work/load.txt")
"$hpctl" revert "$server" | indent
show_load "$lines" 2
lines=$(wc -l < "$work/load.txt")
"$hpctl" apply "$server" "$work/v2/fix.hp" | indent
show_load "$lines" 2

say "7. Result"
touch "$work/stop"
wait "$load" && load_ok=1 || load_ok=0
load=
tail -n 1 "$work/load.txt"
rm -f "$work/stop"
"$work/v1/kv-client" "$work/port" 2 2 "$work/stop" > "$work/check.txt" || true
stats=$(exec 3<>"/dev/tcp/127.0.0.1/$(cat "$work/port")" && printf 'STATS\n' >&3 && head -n 1 <&3)
echo "    server: ${stats#STATS }"
check=$(tail -n 1 "$work/check.txt")
if [ "$load_ok" = 1 ] && [[ $check == *", 0 wrong, 0 failed" ]] && [[ $stats == *"pid $server"* ]]; then
	echo "    the same process (pid $server) served the whole run: no request failed, and with the fix"
	echo "    applied a fresh check gets every answer right (${check#*total: })"
else
	echo "    unexpected: load ok=$load_ok, check: $check, stats: $stats" >&2
	exit 1
fi
