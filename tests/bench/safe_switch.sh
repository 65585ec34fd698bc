#!/usr/bin/env bash
# Benchmark: hpctl apply --safe, the switch that waits until no thread is inside a function the
# package replaces: how long it keeps the process's threads stopped, and how often a busy function
# delays it, next to the fast switch (no --safe) on the same process.
#
# Usage: tests/bench/safe_switch.sh [BUILD_DIR]       (default: build/ in the repository)
#        THREADS="1 8 64"  threads in the program (default "1 8 64")
#        BUSY="0 10 50 90" percent of each thread's time spent inside the replaced function
#        ROUNDS=N          applies (and reverts) per case (default 10)
#        WAIT=SECONDS      how long each safe apply may wait for a free moment (default 10)
#
# A benchmark, not a test: it reports numbers and never judges them.  The program
# (safe_switch/app.c) runs THREADS threads, each calling work() (about 1 ms) and sleeping so that
# BUSY percent of its time is spent inside it; the package changes work().  For each case, ROUNDS
# times: hpctl apply --safe=WAIT then hpctl revert, and the same with the fast switch.  Reported
# per case: how many safe applies found a free moment within WAIT (with many threads mostly
# inside work(), one may never come: all of them must be outside at once), the median and
# largest time the threads were stopped for the switch (hpctl's own report: from the first thread
# stopped to the last resumed, which includes unwinding every stack and the runtime's apply), the
# median attempts and wait until a free moment, and hpctl's wall time for both switches.  The
# report goes to stdout and as JSON to BUILD_DIR/bench/safe_switch.json.
name=safe_switch
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"
threads_list=${THREADS:-1 8 64}
busy_list=${BUSY:-0 10 50 90}
rounds=${ROUNDS:-10}
wait_s=${WAIT:-10}
work=$build/bench/safe_switch
rm -rf "$work" && mkdir -p "$work/old" "$work/new"
cp "$here/safe_switch/app.c" "$work/old/app.c"
# The new work() shifts by 4, not 3: new machine code in work() alone (its callers see the same
# function: a change that let the compiler infer other attributes for it would change them too).
sed 's/s += i ^ (s >> 3);/s += i ^ (s >> 4);/' "$here/safe_switch/app.c" > "$work/new/app.c"
grep -q 's >> 4' "$work/new/app.c" || die "could not make the new work()"
HOTPATCH_PLUGIN=$build/lib/hotpatch.so LDLIBS="$build/lib/libhotpatch.a -Wl,-u,hp_control_start -pthread" \
	bash "$root/tests/hpdiff/Inputs/build-pair.sh" "$work" || die "cannot build the program"
"$build/bin/hpdiff" "$work/old" "$work/new" -o "$work/fix.hp" > "$work/hpdiff.txt" || die "hpdiff failed"
grep -q '1 function(s) redirected' "$work/hpdiff.txt" || die "the package should redirect work() alone: $(cat "$work/hpdiff.txt")"
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
pid=
trap 'kill $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
# Of the numbers given as arguments; "-" when there are none.
median() { printf '%s\n' "$@" | sort -g | awk 'NF { a[++n] = $1 } END { print n ? a[int((n + 1) / 2)] : "-" }'; }
largest() { printf '%s\n' "$@" | sort -g | awk 'NF { v = $1; n++ } END { print n ? v : "-" }'; }
now_ms() { date +%s.%N | awk '{ printf "%.3f", $1 * 1000 }'; }
printf '%-8s %-6s %9s %12s %12s %9s %10s %10s %10s\n' threads busy% switched "stopped ms" "stopped max" attempts "waited ms" "safe ms" "fast ms"
json="{\"cases\":["
first=1
for threads in $threads_list; do
	for busy in $busy_list; do
		"$work/old/app" "$threads" "$busy" &
		pid=$!
		for _ in $(seq 400); do [ -S "$HOTPATCH_SOCKET_DIR/$pid.sock" ] && break; sleep 0.05; done
		sleep 0.3
		stopped=() attempts=() waited=() safe=() fast=()
		switched=0
		for _ in $(seq "$rounds"); do
			t0=$(now_ms)
			status=0
			out=$("$build/bin/hpctl" apply --safe="$wait_s" "$pid" "$work/fix.hp" 2>&1) || status=$?
			t1=$(now_ms)
			if ((status == 7)); then
				note "$threads threads, $busy%: no free moment in $wait_s s: $out"
			elif ((status)); then
				die "safe apply failed: $out"
			else
				switched=$((switched + 1))
				safe+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')")
				line=$(grep 'switched safely' <<<"$out") || die "no switch report in: $out"
				stopped+=("$(sed 's/.*stopped for \([0-9.]*\) ms.*/\1/' <<<"$line")")
				attempts+=("$(sed 's/.*after \([0-9]*\) attempt.*/\1/' <<<"$line")")
				waited+=("$(sed 's/.* in \([0-9]*\) ms.*/\1/' <<<"$line")")
				"$build/bin/hpctl" revert "$pid" > /dev/null || die "revert failed"
			fi
			t0=$(now_ms)
			"$build/bin/hpctl" apply "$pid" "$work/fix.hp" > /dev/null || die "fast apply failed"
			t1=$(now_ms)
			fast+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')")
			"$build/bin/hpctl" revert "$pid" > /dev/null || die "revert failed"
		done
		kill "$pid"
		wait "$pid" 2>/dev/null || true  # killed: not a failure
		pid=
		s_med=$(median "${stopped[@]}")
		s_max=$(largest "${stopped[@]}")
		a_med=$(median "${attempts[@]}")
		w_med=$(median "${waited[@]}")
		safe_med=$(median "${safe[@]}")
		fast_med=$(median "${fast[@]}")
		printf '%-8s %-6s %9s %12s %12s %9s %10s %10s %10s\n' "$threads" "$busy" "$switched/$rounds" "$s_med" "$s_max" "$a_med" "$w_med" "$safe_med" "$fast_med"
		((first)) || json+=","
		first=0
		json+="{\"threads\":$threads,\"busy_percent\":$busy,\"rounds\":$rounds,\"switched\":$switched,\"stopped_ms\":$(json_list "${stopped[@]}"),"
		json+="\"attempts\":$(json_list "${attempts[@]}"),\"waited_ms\":$(json_list "${waited[@]}"),"
		json+="\"safe_ms\":$(json_list "${safe[@]}"),\"fast_ms\":$(json_list "${fast[@]}")}"
	done
done
json+="]}"
mkdir -p "$build/bench"
printf '%s\n' "$json" > "$build/bench/safe_switch.json"
note "JSON report: $build/bench/safe_switch.json"
