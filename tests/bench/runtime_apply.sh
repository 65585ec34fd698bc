#!/usr/bin/env bash
# Benchmark: libhotpatch at run time: how long hp_apply takes and how long it stalls the threads
# running the code it patches, what the runtime adds to a process's memory, and how big it is.
#
# Usage: tests/bench/runtime_apply.sh [BUILD_DIR]      (default: build/ in the repository)
#        SIZES="1 100 1000"  functions the generated patches redirect (default "1 100 1000")
#        ROUNDS=N            apply/revert rounds per size (default 20)
#        WORKERS=N           threads running the patched code meanwhile (default 4)
#        KEEP=1              keep the sources, builds and raw outputs (BUILD_DIR/bench/runtime_apply/)
#
# A benchmark, not a test: it reports numbers and never judges them; the targets it prints (a
# pause under 1 ms at 1,000 functions, under 64 KiB for an idle process) are for reading.  It fails
# only when something does not work (a build, hpdiff) and exits 1 after reporting if a package
# does not hold N redirects, or the program under test fails, crashes or computes a wrong result.
# Everything is compiled one file at a time.
#
#  - apply and pause: for each N, OLD has N functions f_i(x) returning x + i, NEW returns x + i + 1
#    (noinline, all reached through a table, so all stay out of line), built by
#    tests/hpdiff/Inputs/build-pair.sh with the plugin and libhotpatch.a, and diffed by hpdiff into
#    a package that must redirect exactly N functions (hpdump).  OLD's program
#    (runtime_apply/driver.c) starts WORKERS threads calling the functions in a tight loop, each
#    noting the longest gap between two consecutive iterations (CLOCK_MONOTONIC) that overlaps a
#    call of hp_apply in the main thread; it applies and reverts ROUNDS times, checking every
#    function's result after each.  Reported: hp_apply's own duration (the first apply maps and
#    relocates the new code; later ones reuse that mapping), hp_revert's, and the longest gap.
#    On a machine with fewer cores than threads, most long gaps are the scheduler running another
#    thread, so each gap longer than 2 us is also classified (getrusage(RUSAGE_THREAD)): "without
#    preemption" keeps only the gaps in which the worker was not switched out involuntarily, i.e.
#    stalls of the thread itself (IPIs from membarrier and mprotect, page faults, waits in the
#    kernel; "slept in the kernel" counts the gaps in which it blocked).  The baseline is the same
#    measure over windows as long as the apply in which the main thread only spins.
#  - memory: an idle program (runtime_apply/idle.c, compiled with the plugin) reports its own Rss,
#    Pss and anonymous memory (/proc/self/smaps_rollup) 0.2 s after it starts, linked without the
#    runtime and with libhotpatch.a and -Wl,-u,hp_control_start (the control thread runs), and the
#    latter with HOTPATCH_DISABLE=1; medians of 3 runs.  Per patch: OLD's program in a fresh
#    process, memory just before and after one hp_apply (every function called before), next to
#    the package's segment sizes (hpdump); the anonymous pages in the program's own mappings are
#    its text pages copied on write.  The pause run also gives Rss after round 1 and at its end.
#  - size: `size` of libhotpatch.so and of the objects in libhotpatch.a (text, data, bss, and the
#    .text* sections alone), and the lines of runtime/*.c and contract/*.c (all, and code: not
#    blank, not comment).
#
# The report goes to stdout and, as JSON, to BUILD_DIR/bench/runtime_apply.json; progress goes to
# stderr.  Sources, builds and raw outputs are made in BUILD_DIR/bench/runtime_apply/, removed at the
# end unless KEEP=1.  The control sockets go to a private temporary directory (HOTPATCH_SOCKET_DIR).
name=runtime_apply
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"
src=$here/runtime_apply
plugin=$build/lib/hotpatch.so
hpdiff=$build/bin/hpdiff
hpdump=$build/bin/hpdump
lib_a=$build/lib/libhotpatch.a
lib_so=$build/lib/libhotpatch.so
for f in "$plugin" "$hpdiff" "$hpdump" "$lib_a" "$lib_so"; do
	[[ -f $f ]] || die "no $f (run: ninja -C $build)"
done
for f in driver.c idle.c procmem.h; do
	[[ -f $src/$f ]] || die "no $src/$f"
done
build_pair=$root/tests/hpdiff/Inputs/build-pair.sh
[[ -f $build_pair ]] || die "no $build_pair"
read -r -a sizes <<<"${SIZES:-1 100 1000}"
((${#sizes[@]})) || die "SIZES names no size"
for n in "${sizes[@]}"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "SIZES: '$n' is not a positive integer"
done
rounds=${ROUNDS:-20}
[[ $rounds =~ ^[1-9][0-9]*$ && $rounds -le 1000 ]] || die "ROUNDS must be an integer from 1 to 1000, not '$rounds'"
workers=${WORKERS:-4}
[[ $workers =~ ^[1-9][0-9]*$ && $workers -le 64 ]] || die "WORKERS must be an integer from 1 to 64, not '$workers'"
keep=${KEEP:-0}

cc=clang-19
command -v "$cc" >/dev/null || die "$cc not found on PATH"
command -v size >/dev/null || die "size (binutils) not found on PATH"
command -v timeout >/dev/null || die "timeout (coreutils) not found on PATH"

out=$build/bench
work=$out/runtime_apply
rm -rf "$work"
mkdir -p "$work"
sockdir=$(mktemp -d "${TMPDIR:-/tmp}/hotpatch-bench.XXXXXX") # mode 0700, short enough for sun_path
export HOTPATCH_SOCKET_DIR=$sockdir
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	rm -rf "$sockdir"
	if [[ $keep == 1 ]]; then
		note "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
start=$SECONDS
cpus=$(nproc)
kernel=$(uname -r)
load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- helpers ----------------------------------------------------------------------------------

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "null"; else printf "%.1f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { printf '%s\n' "$@" | sort -g | awk 'END { if (!NR) print "null"; else printf "%.1f\n", $1 }'; }
# field FILE KEY: every value of KEY on the "round" lines of FILE, in microseconds.
field() { awk -v k="$2" '/^round / { for (i = 3; i < NF; i += 2) if ($i == k) printf "%.1f\n", $(i + 1) / 1000 }' "$1"; }
# kv FILE PREFIX KEY: the value of KEY on FILE's first line starting with PREFIX, or null.
kv() { awk -v p="$2" -v k="$3" '$1 == p { for (i = 2; i < NF; i++) if ($i == k) { print $(i + 1); found = 1; exit } } END { if (!found) print "null" }' "$1"; }
diff_kib() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "null" || b == "null" || a < 0 || b < 0) print "null"; else print b - a }'; }
signed() { [[ $1 == null || $1 == -* ]] && printf '%s' "$1" || printf '+%s' "$1"; }
sum_list() { printf '%s\n' "$@" | awk '{ s += $1 } END { print s + 0 }'; }

# gen_fns N DELTA: fns.c with N functions f_i(x) returning x + i (+ 1 when DELTA is 1), and the table.
gen_fns() {
	awk -v n="$1" -v d="$2" 'BEGIN {
		printf "/* Generated by tests/bench/runtime_apply.sh: %d functions, all called through fn_table. */\n\n", n
		for (i = 0; i < n; i++)
			printf "__attribute__((noinline)) int f_%d(int x) { return x + %d%s; }\n", i, i, (d ? " + 1" : "")
		printf "\nint (*const fn_table[%d])(int) = {", n
		for (i = 0; i < n; i++)
			printf "%s%sf_%d", (i ? "," : ""), (i % 8 ? " " : "\n\t"), i
		printf "\n};\nconst unsigned fn_count = %d;\n", n
	}'
}

# run_app LOG ARGS...: runs a program with a time limit; prints its status ("ok", or why not).
run_app() {
	local log=$1 rc=0
	shift
	timeout 600 "$@" >"$log" 2>&1 || rc=$?
	if [[ $rc == 0 ]]; then
		echo ok
	elif [[ $rc == 124 ]]; then
		echo "timed out after 600 s"
	elif ((rc > 128)); then
		echo "crashed: signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null || echo '?'))$(grep -m1 '^error' "$log" | sed 's/^/: /')"
	else
		echo "failed (exit $rc): $(grep -m1 '^error' "$log" || tail -n1 "$log")"
	fi
}

# ---- apply, pause and memory per patch -----------------------------------------------------

declare -A redirects pkg_bytes segs seg_kib status membar
declare -A first_apply apply_med apply_max revert_med revert_max
declare -A gap_max gap_med own_max blocked rgap_max rown_max bgap_max bown_max
declare -A apply_list gap_list own_list
declare -A m_rss m_pss m_anon m_cow m_rss_rev rss_round1 rss_end calls
failed=0
for n in "${sizes[@]}"; do
	dir=$work/n$n
	mkdir -p "$dir/old" "$dir/new"
	gen_fns "$n" 0 >"$dir/old/fns.c"
	gen_fns "$n" 1 >"$dir/new/fns.c"
	cp "$src/driver.c" "$dir/old/"
	cp "$src/driver.c" "$dir/new/"
	note "N=$n: building old and new with build-pair.sh"
	LDLIBS="-Wl,-u,hp_control_start $lib_a" HOTPATCH_PLUGIN=$plugin CC=$cc \
		bash "$build_pair" "$dir" -I"$root/runtime" -I"$src" >"$dir/build.log" 2>&1 ||
		die "build-pair.sh for N=$n failed: $(grep -m1 -E 'error' "$dir/build.log" || tail -n1 "$dir/build.log") (KEEP=1 keeps $dir)"
	rc=0
	"$hpdiff" "$dir/old" "$dir/new" -o "$dir/fix.hp" >"$dir/hpdiff.out" 2>&1 || rc=$?
	[[ $rc == 0 ]] || die "hpdiff for N=$n failed (exit $rc): $(tail -n1 "$dir/hpdiff.out")"
	"$hpdump" "$dir/fix.hp" >"$dir/fix.txt" 2>&1 || die "hpdump fix.hp for N=$n failed: $(head -n1 "$dir/fix.txt")"
	pkg_bytes[$n]=$(stat -c %s "$dir/fix.hp")
	redirects[$n]=$(grep -cE '^ *redirect ' "$dir/fix.txt" || true)
	read -r t r d b < <(sed -nE 's/^ *segments: text ([0-9]+) rodata ([0-9]+) data ([0-9]+) bss ([0-9]+).*/\1 \2 \3 \4/p' "$dir/fix.txt" | head -n1) || true
	segs[$n]="${t:-0}/${r:-0}/${d:-0}/${b:-0}"
	seg_kib[$n]=$(awk -v t="${t:-0}" -v r="${r:-0}" -v d="${d:-0}" -v b="${b:-0}" \
		'function pg(x) { return int((x + 4095) / 4096) * 4 } BEGIN { print pg(t) + pg(r) + pg(d) + pg(b) }')
	status[$n]=ok
	[[ ${redirects[$n]} == "$n" ]] || status[$n]="the package has ${redirects[$n]} redirects, expected $n"

	note "N=$n: ${redirects[$n]} redirect(s), ${pkg_bytes[$n]} B package; $rounds apply/revert rounds under $workers workers"
	st=$(run_app "$dir/pause.txt" "$dir/old/app" pause "$dir/fix.hp" "$rounds" "$workers")
	[[ $st == ok ]] || status[$n]="pause run: $st"
	membar[$n]=$(kv "$dir/pause.txt" membarrier sync_core)
	mapfile -t a < <(field "$dir/pause.txt" apply_ns)
	mapfile -t g < <(field "$dir/pause.txt" apply_gap_ns)
	mapfile -t o < <(field "$dir/pause.txt" apply_own_ns)
	mapfile -t bl < <(awk '/^round / { for (i = 3; i < NF; i += 2) if ($i == "apply_blocked") print $(i + 1) }' "$dir/pause.txt")
	mapfile -t rv < <(field "$dir/pause.txt" revert_ns)
	mapfile -t rg < <(field "$dir/pause.txt" revert_gap_ns)
	mapfile -t ro < <(field "$dir/pause.txt" revert_own_ns)
	mapfile -t bg < <(field "$dir/pause.txt" baseline_gap_ns)
	mapfile -t bo < <(field "$dir/pause.txt" baseline_own_ns)
	first_apply[$n]=${a[0]:-null}
	apply_med[$n]=$(median "${a[@]}") apply_max[$n]=$(maximum "${a[@]}")
	revert_med[$n]=$(median "${rv[@]}") revert_max[$n]=$(maximum "${rv[@]}")
	gap_max[$n]=$(maximum "${g[@]}") gap_med[$n]=$(median "${g[@]}") own_max[$n]=$(maximum "${o[@]}")
	blocked[$n]=$(sum_list "${bl[@]}")
	rgap_max[$n]=$(maximum "${rg[@]}") rown_max[$n]=$(maximum "${ro[@]}")
	bgap_max[$n]=$(maximum "${bg[@]}") bown_max[$n]=$(maximum "${bo[@]}")
	apply_list[$n]=$(json_list "${a[@]}") gap_list[$n]=$(json_list "${g[@]}") own_list[$n]=$(json_list "${o[@]}")
	rss_round1[$n]=$(kv "$dir/pause.txt" summary rss_after_round1_kib)
	rss_end[$n]=$(kv "$dir/pause.txt" summary rss_at_end_kib)
	calls[$n]=$(kv "$dir/pause.txt" summary calls)
	note "N=$n: apply median ${apply_med[$n]} us, longest worker gap ${gap_max[$n]} us (${own_max[$n]} us without preemption): $st"

	st=$(run_app "$dir/mem.txt" "$dir/old/app" mem "$dir/fix.hp")
	[[ $st == ok || ${status[$n]} != ok ]] || status[$n]="memory run: $st"
	m_rss[$n]=$(diff_kib "$(kv "$dir/mem.txt" mem rss_before)" "$(kv "$dir/mem.txt" mem rss_after)")
	m_pss[$n]=$(diff_kib "$(kv "$dir/mem.txt" mem pss_before)" "$(kv "$dir/mem.txt" mem pss_after)")
	m_anon[$n]=$(diff_kib "$(kv "$dir/mem.txt" mem anonymous_before)" "$(kv "$dir/mem.txt" mem anonymous_after)")
	m_cow[$n]=$(diff_kib "$(kv "$dir/mem.txt" mem exe_cow_before)" "$(kv "$dir/mem.txt" mem exe_cow_after)")
	m_rss_rev[$n]=$(diff_kib "$(kv "$dir/mem.txt" mem rss_before)" "$(kv "$dir/mem.txt" mem rss_reverted)")
	[[ ${status[$n]} == ok ]] || failed=1
	[[ $keep == 1 ]] || rm -rf "$dir"
done

# ---- idle process -------------------------------------------------------------------------------

note "idle process: without the runtime, with libhotpatch.a, and with HOTPATCH_DISABLE=1"
idle=$work/idle
mkdir -p "$idle"
"$cc" -O2 -fplugin="$plugin" -I"$src" -c "$src/idle.c" -o "$idle/idle.o" 2>"$idle/build.log" ||
	die "compiling idle.c failed: $(head -n1 "$idle/build.log")"
"$cc" -Wl,--build-id "$idle/idle.o" -o "$idle/idle-plain" 2>>"$idle/build.log" ||
	die "linking idle-plain failed: $(tail -n1 "$idle/build.log")"
"$cc" -Wl,--build-id "$idle/idle.o" -Wl,-u,hp_control_start "$lib_a" -o "$idle/idle-runtime" 2>>"$idle/build.log" ||
	die "linking idle-runtime failed: $(tail -n1 "$idle/build.log")"
declare -A i_rss i_pss i_anon i_dirty i_threads i_status
idle_variants=(plain runtime disabled)
for v in "${idle_variants[@]}"; do
	rs=() ps=() an=() dt=()
	i_status[$v]=ok
	for r in 1 2 3; do
		exe=$idle/idle-$v
		[[ $v == disabled ]] && exe=$idle/idle-runtime
		if [[ $v == disabled ]]; then
			st=$(run_app "$idle/$v-$r.txt" env HOTPATCH_DISABLE=1 "$exe")
		else
			st=$(run_app "$idle/$v-$r.txt" "$exe")
		fi
		[[ $st == ok ]] || { i_status[$v]=$st; failed=1; }
		rs+=("$(kv "$idle/$v-$r.txt" idle rss)") ps+=("$(kv "$idle/$v-$r.txt" idle pss)") an+=("$(kv "$idle/$v-$r.txt" idle anonymous)")
		dt+=("$(kv "$idle/$v-$r.txt" idle private_dirty)")
		i_threads[$v]=$(kv "$idle/$v-$r.txt" idle threads)
	done
	i_rss[$v]=$(median "${rs[@]}") i_pss[$v]=$(median "${ps[@]}") i_anon[$v]=$(median "${an[@]}")
	i_dirty[$v]=$(median "${dt[@]}")
	i_rss[$v]=${i_rss[$v]%.0} i_pss[$v]=${i_pss[$v]%.0} i_anon[$v]=${i_anon[$v]%.0} i_dirty[$v]=${i_dirty[$v]%.0}
done
idle_rss_added=$(diff_kib "${i_rss[plain]}" "${i_rss[runtime]}")
idle_pss_added=$(diff_kib "${i_pss[plain]}" "${i_pss[runtime]}")
idle_anon_added=$(diff_kib "${i_anon[plain]}" "${i_anon[runtime]}")
idle_dirty_added=$(diff_kib "${i_dirty[plain]}" "${i_dirty[runtime]}")
control_note="the control thread runs"
[[ ${i_threads[runtime]} == 2 ]] || control_note="the control thread did NOT start (${i_threads[runtime]} thread(s))"

# ---- size ---------------------------------------------------------------------------------------

# berkeley SIZE-OUTPUT-LINE: text data bss
size_so=$(size -B "$lib_so" | awk 'NR == 2 { print $1, $2, $3 }')
code_so=$(size -A "$lib_so" | awk '$1 ~ /^\.text/ { s += $2 } END { print s + 0 }')
mapfile -t objs < <(size -B "${lib_a%.a}-objects.a" | awk 'NR > 1 { print $6, $1, $2, $3 }')
declare -A obj_code
while read -r name bytes; do obj_code[$name]=$bytes; done < <(size -A "${lib_a%.a}-objects.a" | awk '
	/\(ex / { name = $1 } $1 ~ /^\.text/ { s[name] += $2 } END { for (k in s) print k, s[k] }')
obj_total=$(printf '%s\n' "${objs[@]}" | awk '{ t += $2; d += $3; b += $4 } END { print t, d, b }')
obj_code_total=$(sum_list "${obj_code[@]}")
# code_lines FILE: lines that are not blank and not only comment.
code_lines() {
	awk '{
		line = $0; out = ""
		while (line != "") {
			if (inc) { p = index(line, "*/"); if (!p) { line = ""; break } line = substr(line, p + 2); inc = 0 }
			else { p = index(line, "/*"); if (!p) { out = out line; line = "" } else { out = out substr(line, 1, p - 1); line = substr(line, p + 2); inc = 1 } }
		}
		sub(/\/\/.*/, "", out)
		if (out ~ /[^ \t]/) n++
	} END { print n + 0 }' "$1"
}
# The library is runtime/ without the hpctl tool, and the contract/ sources compiled into it.
lib_sources=()
declare -A loc_all loc_code
c_files=()
for f in "$root"/runtime/*.c "$root"/contract/*.c; do
	b=$(basename "$f")
	c_files+=("$b")
	[[ $b == hpctl* ]] || lib_sources+=("$b")
	loc_all[$b]=$(wc -l <"$f")
	loc_code[$b]=$(code_lines "$f")
done
lib_all=0 lib_code=0 all_all=0 all_code=0
for b in "${c_files[@]}"; do
	all_all=$((all_all + loc_all[$b])) all_code=$((all_code + loc_code[$b]))
done
for b in "${lib_sources[@]}"; do
	[[ -n ${loc_all[$b]:-} ]] || continue
	lib_all=$((lib_all + loc_all[$b])) lib_code=$((lib_code + loc_code[$b]))
done
elapsed=$((SECONDS - start))

# ---- report ------------------------------------------------------------------------------------

row() { # row LABEL ARRAY-NAME [SUFFIX]: one value per size
	local label=$1 n
	local -n arr=$2
	printf '  %-50s' "$label"
	for n in "${sizes[@]}"; do printf ' %12s' "${arr[$n]}"; done
	printf '%s\n' "${3:-}"
}
report() {
	printf 'hotpatch runtime: hp_apply under load, memory and size (%s -O2 -fplugin=hotpatch, libhotpatch.a)\n' "$cc"
	printf 'machine: %d CPU(s), Linux %s, load average %s at start; membarrier SYNC_CORE:' "$cpus" "$kernel" "$load"
	for n in "${sizes[@]}"; do printf ' %s' "$([[ ${membar[$n]} == 1 ]] && echo yes || echo "no(${membar[$n]})")"; done
	printf '\n%d worker threads, %d apply/revert rounds per size; times in microseconds\n' "$workers" "$rounds"

	printf '\n  %-50s' "hp_apply / hp_revert"
	for n in "${sizes[@]}"; do printf ' %12s' "N=$n"; done
	printf '\n'
	row "functions redirected (hpdump)" redirects
	row "package bytes" pkg_bytes
	row "first apply (maps the code, registers membarrier)" first_apply
	row "apply, median of $rounds" apply_med
	row "apply, max" apply_max
	row "revert, median" revert_med
	row "revert, max" revert_max
	printf '  worker pause: longest gap between two iterations of any worker, overlapping the call\n'
	row "during hp_apply, max of $rounds" gap_max "   (target: < 1000 at N=1000)"
	row "during hp_apply, median of the per-apply max" gap_med
	row "during hp_apply, max without preemption" own_max
	row "  gaps in which a worker slept in the kernel" blocked
	row "during hp_revert, max" rgap_max
	row "during hp_revert, max without preemption" rown_max
	row "baseline (main thread spins as long), max" bgap_max
	row "baseline, max without preemption" bown_max
	row "worker calls in the whole run" calls

	printf '\n  %-50s' "memory per applied patch, KiB (fresh process)"
	for n in "${sizes[@]}"; do printf ' %12s' "N=$n"; done
	printf '\n'
	row "Rss after hp_apply - before" m_rss
	row "Pss after - before" m_pss
	row "Anonymous after - before" m_anon
	row "  of which the program's text pages, copied" m_cow
	row "package segments text/rodata/data/bss, bytes" segs
	row "  the segments rounded up to pages" seg_kib
	row "Rss after hp_revert - before hp_apply" m_rss_rev
	row "pause run: Rss after round 1" rss_round1
	row "pause run: Rss after round $rounds" rss_end

	printf '\n  %-50s %12s %14s %18s\n' "idle process, KiB (median of 3 runs)" "no runtime" "libhotpatch.a" "HOTPATCH_DISABLE=1"
	printf '  %-50s %12s %14s %18s\n' "Rss" "${i_rss[plain]}" "${i_rss[runtime]}" "${i_rss[disabled]}"
	printf '  %-50s %12s %14s %18s\n' "Pss" "${i_pss[plain]}" "${i_pss[runtime]}" "${i_pss[disabled]}"
	printf '  %-50s %12s %14s %18s\n' "Anonymous" "${i_anon[plain]}" "${i_anon[runtime]}" "${i_anon[disabled]}"
	printf '  %-50s %12s %14s %18s\n' "Private_Dirty" "${i_dirty[plain]}" "${i_dirty[runtime]}" "${i_dirty[disabled]}"
	printf '  %-50s %12s %14s %18s\n' "threads" "${i_threads[plain]}" "${i_threads[runtime]}" "${i_threads[disabled]}"
	printf '  runtime adds to an idle process: Rss %s KiB, Pss %s KiB, Anonymous %s KiB, Private_Dirty %s KiB (target: < 64 KiB);\n' \
		"$(signed "$idle_rss_added")" "$(signed "$idle_pss_added")" "$(signed "$idle_anon_added")" "$(signed "$idle_dirty_added")"
	printf '  %s (Rss and Pss include the pages of the program file and libc that are mapped, shared page cache)\n' "$control_note"

	printf '\n  %-50s %8s %8s %8s %8s\n' "runtime size, bytes (size -B)" "text" "data" "bss" ".text*"
	# shellcheck disable=SC2086 # size_so is three numbers
	printf '  %-50s %8s %8s %8s %8s\n' "libhotpatch.so" $size_so "$code_so"
	local o
	for o in "${objs[@]}"; do
		# shellcheck disable=SC2086
		set -- $o
		printf '  %-50s %8s %8s %8s %8s\n' "libhotpatch.a: $1" "$2" "$3" "$4" "${obj_code[$1]:-0}"
	done
	# shellcheck disable=SC2086
	printf '  %-50s %8s %8s %8s %8s\n' "libhotpatch.a: all objects" $obj_total "$obj_code_total"
	printf '  lines of C (all / code), runtime/*.c and contract/*.c:'
	local b
	for b in "${c_files[@]}"; do printf ' %s %s/%s;' "$b" "${loc_all[$b]}" "${loc_code[$b]}"; done
	printf '\n    the library (%s): %s/%s; all: %s/%s\n' "${lib_sources[*]}" "$lib_all" "$lib_code" "$all_all" "$all_code"

	printf '\nstatus:'
	for n in "${sizes[@]}"; do printf ' N=%s %s;' "$n" "${status[$n]}"; done
	for v in "${idle_variants[@]}"; do [[ ${i_status[$v]} == ok ]] || printf ' idle %s: %s;' "$v" "${i_status[$v]}"; done
	printf '\n("without preemption": gaps in which the worker was not switched out involuntarily, per\n'
	printf ' getrusage; with %d workers and a main thread on %d CPU(s), the plain max is mostly scheduling)\n' "$workers" "$cpus"
	printf 'took %d s; JSON in %s\n' "$elapsed" "$out/runtime_apply.json"
}

jn() { [[ -z $1 ]] && printf 'null' || printf '%s' "$1"; } # a number, or null
{
	printf '{\n'
	printf '  "compiler": %s,\n  "optimization": "-O2",\n' "$(json_str "$("$cc" --version | head -n1)")"
	printf '  "machine": {"cpus": %d, "kernel": %s, "load_average_at_start": %s},\n' "$cpus" "$(json_str "$kernel")" "$(json_str "$load")"
	printf '  "workers": %d,\n  "rounds": %d,\n  "sizes": [\n' "$workers" "$rounds"
	for ((i = 0; i < ${#sizes[@]}; i++)); do
		n=${sizes[i]}
		printf '    {"functions": %d, "redirects": %d, "package_bytes": %d, "membarrier_sync_core": %s, "status": %s,\n' \
			"$n" "${redirects[$n]}" "${pkg_bytes[$n]}" "$([[ ${membar[$n]} == 1 ]] && echo true || echo false)" "$(json_str "${status[$n]}")"
		printf '     "apply_us": {"first": %s, "median": %s, "max": %s, "all": %s},\n' \
			"$(jn "${first_apply[$n]}")" "${apply_med[$n]}" "${apply_max[$n]}" "${apply_list[$n]}"
		printf '     "revert_us": {"median": %s, "max": %s},\n' "${revert_med[$n]}" "${revert_max[$n]}"
		printf '     "pause_us": {"apply_max": %s, "apply_median": %s, "apply_max_without_preemption": %s, "apply_gaps_slept_in_kernel": %s, ' \
			"${gap_max[$n]}" "${gap_med[$n]}" "${own_max[$n]}" "${blocked[$n]}"
		printf '"revert_max": %s, "revert_max_without_preemption": %s, "baseline_max": %s, "baseline_max_without_preemption": %s, ' \
			"${rgap_max[$n]}" "${rown_max[$n]}" "${bgap_max[$n]}" "${bown_max[$n]}"
		printf '"apply_per_round": %s, "apply_without_preemption_per_round": %s},\n' "${gap_list[$n]}" "${own_list[$n]}"
		printf '     "memory_kib": {"rss_added_by_apply": %s, "pss_added_by_apply": %s, "anonymous_added_by_apply": %s, "text_pages_copied": %s, ' \
			"${m_rss[$n]}" "${m_pss[$n]}" "${m_anon[$n]}" "${m_cow[$n]}"
		printf '"rss_after_revert_minus_before_apply": %s, "segments_page_rounded": %s, "pause_run_rss_after_round1": %s, "pause_run_rss_at_end": %s},\n' \
			"${m_rss_rev[$n]}" "${seg_kib[$n]}" "${rss_round1[$n]}" "${rss_end[$n]}"
		IFS=/ read -r t r d b <<<"${segs[$n]}"
		printf '     "segments_bytes": {"text": %d, "rodata": %d, "data": %d, "bss": %d}, "worker_calls": %s}%s\n' \
			"$t" "$r" "$d" "$b" "${calls[$n]}" "$([[ $i -lt $((${#sizes[@]} - 1)) ]] && echo ,)"
	done
	printf '  ],\n  "idle_kib": {\n'
	for v in "${idle_variants[@]}"; do
		printf '    %s: {"rss": %s, "pss": %s, "anonymous": %s, "private_dirty": %s, "threads": %s, "status": %s},\n' "$(json_str "$v")" \
			"${i_rss[$v]}" "${i_pss[$v]}" "${i_anon[$v]}" "${i_dirty[$v]}" "${i_threads[$v]}" "$(json_str "${i_status[$v]}")"
	done
	printf '    "runtime_adds": {"rss": %s, "pss": %s, "anonymous": %s, "private_dirty": %s}\n  },\n' "$idle_rss_added" "$idle_pss_added" \
		"$idle_anon_added" "$idle_dirty_added"
	read -r t d b <<<"$size_so"
	printf '  "size_bytes": {\n    "libhotpatch.so": {"text": %d, "data": %d, "bss": %d, "text_sections": %d},\n' "$t" "$d" "$b" "$code_so"
	for o in "${objs[@]}"; do
		read -r name t d b <<<"$o"
		printf '    %s: {"text": %d, "data": %d, "bss": %d, "text_sections": %d},\n' "$(json_str "$name")" "$t" "$d" "$b" "${obj_code[$name]:-0}"
	done
	read -r t d b <<<"$obj_total"
	printf '    "objects_total": {"text": %d, "data": %d, "bss": %d, "text_sections": %d}\n  },\n' "$t" "$d" "$b" "$obj_code_total"
	printf '  "lines_of_c": {'
	for b in "${c_files[@]}"; do printf '%s: {"all": %d, "code": %d}, ' "$(json_str "$b")" "${loc_all[$b]}" "${loc_code[$b]}"; done
	printf '"library": {"all": %d, "code": %d}, "total": {"all": %d, "code": %d}},\n' "$lib_all" "$lib_code" "$all_all" "$all_code"
	printf '  "elapsed_seconds": %d\n' "$elapsed"
	printf '}\n'
} >"$out/runtime_apply.json.tmp"
mv "$out/runtime_apply.json.tmp" "$out/runtime_apply.json"

printf '\n'
report
exit "$failed"
