#!/usr/bin/env bash
# Benchmark: what reading a field through shadow data (hp_shadow_get, hotpatch_state.h) costs next
# to reading a field of the object itself, from 1 and from 8 threads.
#
# Usage: tests/bench/shadow_get.sh [BUILD_DIR]        (default: build/ in the repository)
#        THREADS="1 8"     threads reading at once (default "1 8")
#        OBJECTS=N         objects, each with a shadow block (default 100000)
#        OPS=N             reads per thread per run (default 2000000)
#        ROUNDS=N          runs of each mode per thread count, interleaved (default 5)
#        COMPARE_WITH=FILE another shadow.c (say, an older version: git show REV:runtime/shadow.c)
#                          compiled into the same program and measured as a third mode
#
# A benchmark, not a test: it reports numbers and never judges them.  It fails only when
# something does not work (a build, a run, or reads that do not add up).  The program
# (shadow_get/bench.c) allocates OBJECTS objects of 64 bytes one by one and gives each a shadow
# block, then THREADS threads read OPS fields each, over all objects in a fixed shuffled order:
# "direct" reads object->field, "shadow" reads hp_shadow_get(object, id)->field (libhotpatch.a,
# as a program links it).  Both modes build the same heap, and run alternately, ROUNDS times.
# Reported per thread count and mode, medians over the rounds: CPU ns per read (the threads' CPU
# time over all reads: what one read costs on a core, contention included, waiting for a core
# not), the reads per second of all threads together (wall clock), and both as ratios to direct.
# With more threads than cores, the wall-clock rate is shared by the threads on the same cores.
# The report goes to stdout and as JSON to BUILD_DIR/bench/shadow_get.json; the programs are built
# in BUILD_DIR/bench/shadow_get/.
name=shadow_get
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"
lib=$build/lib/libhotpatch.a
[[ -f $lib ]] || die "no $lib (run: ninja -C $build)"
read -r -a thread_counts <<<"${THREADS:-1 8}"
((${#thread_counts[@]})) || die "THREADS names no thread count"
for t in "${thread_counts[@]}"; do
	[[ $t =~ ^[1-9][0-9]*$ && $t -le 64 ]] || die "THREADS: '$t' is not an integer from 1 to 64"
done
objects=${OBJECTS:-100000}
ops=${OPS:-2000000}
rounds=${ROUNDS:-5}
for v in objects ops rounds; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v^^} must be a positive integer, not '${!v}'"
done
compare=${COMPARE_WITH:-}
[[ -z $compare || -f $compare ]] || die "COMPARE_WITH: no file $compare"
cc=clang-19
command -v "$cc" >/dev/null || die "$cc not found on PATH"

work=$build/bench/shadow_get
rm -rf "$work" && mkdir -p "$work"
flags=(-O2 -pthread -I"$root/runtime")
"$cc" "${flags[@]}" "$here/shadow_get/bench.c" "$lib" -o "$work/bench" 2>"$work/build.log" ||
	die "cannot build the program: $(head -n1 "$work/build.log")"
modes=(direct shadow)
declare -A program=([direct]=$work/bench [shadow]=$work/bench)
if [[ -n $compare ]]; then
	cp "$compare" "$work/compare_shadow.c"
	"$cc" "${flags[@]}" -I"$root/contract" "$here/shadow_get/bench.c" "$work/compare_shadow.c" -o "$work/bench-compare" \
		2>"$work/build-compare.log" || die "cannot build the program with $compare: $(head -n1 "$work/build-compare.log")"
	modes+=(compare)
	program[compare]=$work/bench-compare
fi

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "null"; else printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# field LINE KEY: the value after KEY on one of bench's lines.
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$1"; }

cpus=$(nproc)
load=$(cut -d' ' -f1-3 /proc/loadavg)
note "$objects objects, $ops reads per thread, $rounds rounds, ${modes[*]}"
declare -A cpu_ns wall_rate
for t in "${thread_counts[@]}"; do
	for ((r = 0; r < rounds; r++)); do
		for m in "${modes[@]}"; do
			# The compare program reads through its own hp_shadow_get: the "shadow" mode of bench.c.
			arg=$m
			[[ $m == compare ]] && arg=shadow
			line=$("${program[$m]}" "$arg" "$t" "$objects" "$ops" 2>&1) || die "$m with $t thread(s) failed: $line"
			total=$(field "$line" ops)
			cpu_ns[$t,$m]+="$(awk -v c="$(field "$line" cpu_ns)" -v n="$total" 'BEGIN { printf "%.3f", c / n }') "
			wall_rate[$t,$m]+="$(awk -v w="$(field "$line" wall_ns)" -v n="$total" 'BEGIN { printf "%.3f", n / w * 1000 }') "
		done
	done
done

printf 'shadow data: hp_shadow_get vs a field read (%s -O2, libhotpatch.a), %d objects, %d reads per thread,\n' "$cc" "$objects" "$ops"
printf 'median of %d interleaved rounds; machine: %d CPU(s), load average %s at start\n' "$rounds" "$cpus" "$load"
[[ -n $compare ]] && printf 'compare: hp_shadow_get of %s\n' "$compare"
printf '%-8s %-8s %12s %14s %14s %14s\n' threads mode "CPU ns/read" "Mreads/s" "CPU vs direct" "rate vs direct"
json="{\"objects\":$objects,\"ops_per_thread\":$ops,\"rounds\":$rounds,\"cpus\":$cpus,\"load_average\":$(json_str "$load"),"
json+="\"compare_with\":$(json_str "$compare"),\"cases\":["
first=1
for t in "${thread_counts[@]}"; do
	# shellcheck disable=SC2086 # the lists are words on purpose
	base_cpu=$(median ${cpu_ns[$t,direct]})
	# shellcheck disable=SC2086
	base_rate=$(median ${wall_rate[$t,direct]})
	for m in "${modes[@]}"; do
		# shellcheck disable=SC2086
		c=$(median ${cpu_ns[$t,$m]})
		# shellcheck disable=SC2086
		w=$(median ${wall_rate[$t,$m]})
		rc=$(awk -v a="$c" -v b="$base_cpu" 'BEGIN { printf "%.2f", a / b }')
		rw=$(awk -v a="$w" -v b="$base_rate" 'BEGIN { printf "%.2f", b / a }')
		printf '%-8s %-8s %12s %14s %13sx %13sx\n' "$t" "$m" "$c" "$w" "$rc" "$rw"
		((first)) || json+=","
		first=0
		# shellcheck disable=SC2086
		json+="{\"threads\":$t,\"mode\":\"$m\",\"cpu_ns_per_read\":$(json_list ${cpu_ns[$t,$m]}),"
		# shellcheck disable=SC2086
		json+="\"mreads_per_s\":$(json_list ${wall_rate[$t,$m]}),\"median_cpu_ns\":$c,\"median_mreads_per_s\":$w,"
		json+="\"cpu_ratio\":$rc,\"rate_ratio\":$rw}"
	done
done
json+="]}"
printf '(ratios: CPU per read over that of direct; the rate of direct over that of the mode, i.e. how many times slower)\n'
printf '%s\n' "$json" >"$build/bench/shadow_get.json"
note "JSON report: $build/bench/shadow_get.json"
