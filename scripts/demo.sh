#!/usr/bin/env bash
# The README's demo command, end to end: installs hotpatch, builds a multi-threaded key-value
# service (v1, with a real bug) the way a user would (find_package + hotpatch_target), runs it
# under load, builds the fix (v2) and its package, applies it to the running service while the
# load goes on, shows the bug gone with no request failed and no restart, then reverts and
# re-applies.  Cleans up its processes.
#   scripts/demo.sh                  on this machine (x86-64)
#   scripts/demo.sh --arch aarch64   the same story on AArch64: the service and its load client
#                                    cross-built with the installed toolchain file and package
#                                    (docs/patch-author-guide.md, "Cross-building for AArch64"),
#                                    both run under qemu-user, fixed with the host's hpdiff and
#                                    hpctl through the emulated process's control channel
set -euo pipefail
arch=x86-64
while (($#)); do
	case $1 in
	--arch)
		(($# > 1)) || { echo "demo.sh: --arch needs an architecture: x86-64 or aarch64" >&2; exit 2; }
		arch=$2; shift 2 ;;
	--arch=*) arch=${1#--arch=}; shift ;;
	*) echo "demo.sh: unexpected argument '$1' (usage: demo.sh [--arch x86-64|aarch64])" >&2; exit 2 ;;
	esac
done
case $arch in
x86-64 | x86_64) arch=x86-64 ;;
aarch64 | arm64) arch=aarch64 ;;
*) echo "demo.sh: --arch '$arch': no such demo (x86-64, the default, or aarch64)" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOTPATCH_BUILD:-$root/build}
"$root/scripts/deps.sh"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
indent() { sed 's/^/    /'; }

work=$(mktemp -d /tmp/hotpatch-demo.XXXXXX)
export HOTPATCH_SOCKET_DIR=$work/sockets
server='' load=''
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
# What differs on AArch64: hotpatch is built with its AArch64 runtime (an error, not a quiet
# omission, without the cross packages); the service's configure names the toolchain file and the
# package installed with it (a toolchain file searches packages in the target's tree only); its
# programs run under qemu-user, whose process is the service's (its pid, its control socket).
build_options=() kv_options=() run=() for_arch="" under=""
if [ "$arch" = aarch64 ]; then
	qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64) ||
		{ echo "demo.sh: no qemu-aarch64-static (scripts/deps.sh installs qemu-user-static)" >&2; exit 1; }
	package_dir=$work/prefix/lib/cmake/Hotpatch
	build_options=(-DHOTPATCH_AARCH64_RUNTIME=ON)
	kv_options=(-DCMAKE_TOOLCHAIN_FILE="$package_dir/aarch64-linux-gnu.cmake" -DHotpatch_DIR="$package_dir")
	run=("$qemu" -L /usr/aarch64-linux-gnu)
	for_arch=" for AArch64" under=" under qemu-user"
fi
cmake_kv() { cmake -S "$1" -B "$2" -G Ninja -DCMAKE_C_COMPILER=clang-19 -DCMAKE_PREFIX_PATH="$work/prefix" "${kv_options[@]}" "${@:3}" >/dev/null; }

say "1. Build hotpatch and install it (into $work/prefix)"
cmake -S "$root" --preset default -B "$build" "${build_options[@]}" >/dev/null
ninja -C "$build" >/dev/null
cmake --install "$build" --prefix "$work/prefix" >/dev/null
hpctl=$work/prefix/bin/hpctl
echo "    plugin, hpdiff, hpdump, hpctl, libhotpatch and the CMake package are installed"
if [ "$arch" = aarch64 ]; then
	echo "    with the AArch64 runtime (lib/aarch64-linux-gnu) and the toolchain file (lib/cmake/Hotpatch)"
fi

say "2. Build the key-value service v1$for_arch, as released: find_package(Hotpatch) + hotpatch_target(kv-server)"
cp -r "$root/demo/kv" "$work/v1-src"
cmake_kv "$work/v1-src" "$work/v1"
cmake --build "$work/v1" >/dev/null
if [ "$arch" = aarch64 ]; then
	echo "    cross-built: cmake -DCMAKE_TOOLCHAIN_FILE=<prefix>/lib/cmake/Hotpatch/aarch64-linux-gnu.cmake \\"
	echo "                       -DHotpatch_DIR=<prefix>/lib/cmake/Hotpatch"
	echo "    kv-server: $(readelf -h "$work/v1/kv-server" | sed -n 's/^ *Machine: *//p') executable," \
		"linked with lib/aarch64-linux-gnu/libhotpatch.a"
fi
grep -n -A3 'struct entry \*find' "$work/v1-src/server.c" | indent
echo "    (the bug: a stored key that is a prefix of the requested one matches it)"

say "3. Start v1$under and put it under load: 4 connections setting and reading keys, checking every answer"
"${run[@]}" "$work/v1/kv-server" "$work/port" &
server=$!
for _ in $(seq 300); do [ -s "$work/port" ] && [ -S "$HOTPATCH_SOCKET_DIR/$server.sock" ] && break; sleep 0.05; done
if ! [ -s "$work/port" ] || ! [ -S "$HOTPATCH_SOCKET_DIR/$server.sock" ]; then
	echo "demo.sh: kv-server (pid $server) did not start listening within 15 s" >&2
	exit 1
fi
echo "    kv-server runs as pid $server on 127.0.0.1:$(cat "$work/port")"
if [ "$arch" = aarch64 ]; then
	echo "    (qemu-user runs the AArch64 kv-server inside its own process: pid $server is the service hpctl"
	echo "    patches; the load client is the AArch64 kv-client, under qemu-user too)"
fi
"${run[@]}" "$work/v1/kv-client" "$work/port" 4 600 "$work/stop" > "$work/load.txt" &
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
"${run[@]}" "$work/v1/kv-client" "$work/port" 2 2 "$work/stop" > "$work/check.txt" || true
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
