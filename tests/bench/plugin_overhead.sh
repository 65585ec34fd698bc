#!/usr/bin/env bash
# Benchmark: the cost of -fplugin=hotpatch on SQLite 3.47.0 in compile CPU time, .text size and run time.
#
# Usage: tests/bench/plugin_overhead.sh [BUILD_DIR]      (default: build/ in the repository)
#        ROUNDS=N (default 3) sets how many interleaved plain/plugin compiles of sqlite3.c are timed.
#
# A benchmark, not a test: it reports numbers and never judges them.  It fails only when something
# does not work (a download, a compile, the workload) and exits 1 after reporting if the three
# workload builds disagree on their checksum.  The compiles run one at a time, on purpose.
#
#  - compile cost: instructions the compiler executes (callgrind, deterministic) on three files of
#    this project, without and with the plugin;
#  - compile time: user+sys CPU seconds of `clang-19 -O2 -c sqlite3.c`, without and with the plugin,
#    interleaved (A B A B ...) so that drift in machine load hits both alike; medians and their ratio.
#  - size: the sum of the sections named .text* in both objects (the plugin puts each function in
#    its own section, and the padding between those sections is only added by linking, so the
#    linked workload's .text is reported as well).
#  - run time: sqlite_workload (tests/bench/sqlite_workload.c) built at -O2 four ways, plain,
#    -fpatchable-function-entry=10,8 (executed 2-byte NOP at every entry), with the plugin (the
#    first instruction is the patch site, a 2-byte NOP added before a 1-byte one) and with the
#    plugin's entry=padding-only (padding alone, nothing added at the entry), run under callgrind,
#    whose instruction counts (Ir) are deterministic.  The timed objects are reused for the plain
#    and plugin workloads.
#
# The report goes to stdout and, as JSON, to BUILD_DIR/bench/plugin_overhead.json; progress, objects,
# compiler logs and callgrind profiles stay in BUILD_DIR/bench/plugin_overhead/.
name=plugin_overhead
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"
plugin=$build/lib/hotpatch.so
hpdump=$build/bin/hpdump
[[ -f $plugin ]] || die "no plugin at $plugin (run: ninja -C $build)"
rounds=${ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$rounds'"

cc=clang-19
sqlite_npm=11.5.0 # better-sqlite3 11.5.0 ships SQLite 3.47.0
command -v "$cc" >/dev/null || die "$cc not found on PATH"
command -v size >/dev/null || die "size (binutils) not found on PATH"
if ! command -v valgrind >/dev/null; then
	note "valgrind is missing; installing the Debian package"
	[[ $(id -u) -eq 0 ]] || die "valgrind is missing and installing it needs root (apt-get install valgrind)"
	{ apt-get install -y -qq valgrind >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq valgrind >/dev/null 2>&1; }; } ||
		die "apt-get install valgrind failed"
fi

sqlite_dir=$("$root/tests/tools/fetch-sqlite.sh" "$sqlite_npm") || exit 1
sqlite_c=$sqlite_dir/sqlite3.c
sqlite_version=$(sed -nE 's/^#define SQLITE_VERSION +"([^"]+)".*/\1/p' "$sqlite_dir/sqlite3.h" | head -n1)
out=$build/bench
work=$out/plugin_overhead
mkdir -p "$work"
start=$SECONDS

# ---- compile time ------------------------------------------------------------------------------

# compile NAME FLAGS...: compiles sqlite3.c at -O2 into $work/sqlite3-NAME.o and prints the
# user+sys CPU seconds it took; the compiler's messages go to $work/sqlite3-NAME.log.
compile() {
	local obj=$work/sqlite3-$1.o log=$work/sqlite3-$1.log
	shift
	local TIMEFORMAT='%3U %3S'
	if ! { time "$cc" -O2 "$@" -c "$sqlite_c" -o "$obj" 2>"$log"; } 2>"$work/time.txt"; then
		die "$cc -O2 $* -c sqlite3.c failed: $(grep -m1 -E 'error' "$log" || head -n1 "$log") (log: $log)"
	fi
	awk '{ printf "%.3f\n", $1 + $2 }' "$work/time.txt"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b / a - 1) * 100 }'; } # b vs a, in percent

plain_times=()
plugin_times=()
for ((r = 1; r <= rounds; r++)); do
	t=$(compile plain)
	plain_times+=("$t")
	note "round $r/$rounds: plain  ${t} s"
	t=$(compile plugin "-fplugin=$plugin")
	plugin_times+=("$t")
	note "round $r/$rounds: plugin ${t} s"
done
plain_med=$(median "${plain_times[@]}")
plugin_med=$(median "${plugin_times[@]}")
ratio=$(awk -v a="$plain_med" -v b="$plugin_med" 'BEGIN { printf "%.1f\n", b / a * 100 }')
compile_overhead=$(pct "$plain_med" "$plugin_med")

warnings() { grep -c 'warning:' "$1" || true; }
plain_warnings=$(warnings "$work/sqlite3-plain.log")
plugin_warnings=$(warnings "$work/sqlite3-plugin.log")
if [[ -s $work/sqlite3-plugin.log ]]; then
	note "the plugin compile said (first lines of $work/sqlite3-plugin.log):"
	head -n5 "$work/sqlite3-plugin.log" >&2
fi

# ---- .text size ------------------------------------------------------------------------------

text_size() { size -A "$1" | awk '$1 ~ /^\.text/ { s += $2 } END { print s + 0 }'; }
plain_text=$(text_size "$work/sqlite3-plain.o")
plugin_text=$(text_size "$work/sqlite3-plugin.o")
text_growth=$((plugin_text - plain_text))
text_growth_pct=$(pct "$plain_text" "$plugin_text")

# Every recorded function of the plugin object should have a good patch site.
sites_ok=0 sites_bad=0 sites_nop=0 sites_note="hpdump not built"
if [[ -x $hpdump ]]; then
	rc=0
	"$hpdump" --prologues "$work/sqlite3-plugin.o" >"$work/prologues.txt" 2>&1 || rc=$?
	sites_ok=$(grep -cE '^  function .* \+[0-9]+:[0-9a-f]{4} ' "$work/prologues.txt" || true)
	sites_bad=$(grep -cE '^  function .*(BAD:|no symbol)' "$work/prologues.txt" || true)
	# Sites that are a 2-byte NOP (66 90) LLVM added because the first instruction was 1 byte long:
	# the only instructions the plugin's design executes on top of plain code.
	sites_nop=$(grep -cE '^  function .* \+[0-9]+:6690 ' "$work/prologues.txt" || true)
	case $rc in
	0) sites_note="ok" ;;
	2) sites_note="BAD sites, see $work/prologues.txt" ;;
	*) sites_note="hpdump failed (exit $rc): $(head -n1 "$work/prologues.txt")" ;;
	esac
fi

# ---- run time under callgrind ----------------------------------------------------------------

note "building sqlite_workload with -fpatchable-function-entry=10,8"
t=$(compile nop -fpatchable-function-entry=10,8)
note "  (${t} s)"
note "building sqlite_workload with the plugin's entry=padding-only"
t=$(compile padding "-fplugin=$plugin" -fplugin-arg-hotpatch-entry=padding-only)
note "  (${t} s)"

# The padding-only object's sites: how many start with a 1-byte instruction (hpdump marks them
# "stopped": switched only with every thread stopped), and none may be an added 2-byte NOP.
padding_ok=0 padding_stopped=0 padding_nop=0 padding_note="hpdump not built"
if [[ -x $hpdump ]]; then
	rc=0
	"$hpdump" --prologues "$work/sqlite3-padding.o" >"$work/prologues-padding.txt" 2>&1 || rc=$?
	padding_ok=$(grep -cE '^  function .* \+[0-9]+:[0-9a-f]{4} ' "$work/prologues-padding.txt" || true)
	padding_stopped=$(grep -cE '^  function .* \+[0-9]+:[0-9a-f]{4} stopped ' "$work/prologues-padding.txt" || true)
	padding_nop=$(grep -cE '^  function .* \+[0-9]+:6690 ' "$work/prologues-padding.txt" || true)
	case $rc in
	0) padding_note="ok" ;;
	2) padding_note="BAD sites, see $work/prologues-padding.txt" ;;
	*) padding_note="hpdump failed (exit $rc): $(head -n1 "$work/prologues-padding.txt")" ;;
	esac
fi

variants=(plain nop plugin padding)
declare -A vflags=([plain]="" [nop]="-fpatchable-function-entry=10,8" [plugin]="-fplugin=$plugin"
	[padding]="-fplugin=$plugin -fplugin-arg-hotpatch-entry=padding-only")
declare -A ir line text
for v in "${variants[@]}"; do
	exe=$work/sqlite_workload-$v
	# shellcheck disable=SC2086 # vflags holds flags without spaces, split on purpose
	"$cc" -O2 ${vflags[$v]} -I "$sqlite_dir" -c "$here/sqlite_workload.c" -o "$exe.o" 2>"$exe.log" ||
		die "compiling sqlite_workload.c ($v) failed: $(head -n1 "$exe.log")"
	"$cc" -o "$exe" "$exe.o" "$work/sqlite3-$v.o" -lm -lpthread -ldl 2>>"$exe.log" ||
		die "linking sqlite_workload ($v) failed: $(head -n1 "$exe.log")"
	note "running sqlite_workload ($v) under callgrind"
	valgrind --tool=callgrind --callgrind-out-file="$exe.callgrind" "$exe" >"$exe.out" 2>"$exe.valgrind" ||
		die "sqlite_workload ($v) failed under valgrind: $(grep -v '^==' "$exe.valgrind" | head -n1) (log: $exe.valgrind)"
	ir[$v]=$(awk '/^(summary|totals):/ { print $2; exit }' "$exe.callgrind")
	[[ ${ir[$v]} =~ ^[0-9]+$ ]] || die "no instruction total in $exe.callgrind"
	line[$v]=$(head -n1 "$exe.out")
	text[$v]=$(text_size "$exe")
done
if [[ ${line[plain]} == "${line[nop]}" && ${line[plain]} == "${line[plugin]}" && ${line[plain]} == "${line[padding]}" &&
	${line[plain]} == "sqlite-workload ok "* ]]; then
	same=true
	checksum_note="same in all four: ${line[plain]}"
else
	same=false
	checksum_note="DIFFER: plain '${line[plain]}', nop '${line[nop]}', plugin '${line[plugin]}', padding-only '${line[padding]}'"
fi
nop_overhead=$(pct "${ir[plain]}" "${ir[nop]}")
plugin_overhead=$(pct "${ir[plain]}" "${ir[plugin]}")
padding_overhead=$(pct "${ir[plain]}" "${ir[padding]}")
# Ratios to plain, to three decimals: the target for padding-only is within 0.1 %.
ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.5f\n", b / a }'; }
nop_ratio=$(ratio3 "${ir[plain]}" "${ir[nop]}")
plugin_ratio=$(ratio3 "${ir[plain]}" "${ir[plugin]}")
padding_ratio=$(ratio3 "${ir[plain]}" "${ir[padding]}")
nop_text_pct=$(pct "${text[plain]}" "${text[nop]}")
plugin_text_pct=$(pct "${text[plain]}" "${text[plugin]}")
padding_text_pct=$(pct "${text[plain]}" "${text[padding]}")
# ---- compile instructions under callgrind ------------------------------------------------------
# Wall-clock compile times on a shared machine vary by more than the plugin costs; the compiler's
# instruction count does not.  Same command lines, only -fplugin differing, on files of this
# project (small, medium, large).  valgrind 3.19 cannot read the plugin's DWARF 5, so it gets a
# copy without debug information.
cg_files=(demo/kv/server.c runtime/hotpatch.c differ/diff.c)
cg_plugin=$work/hotpatch-nodebug.so
strip -g -o "$cg_plugin" "$plugin"
declare -A cg_plain cg_plugin_ir cg_pct
for f in "${cg_files[@]}"; do
	for v in plain plugin; do
		note "compiling $f ($v) under callgrind"
		flags=(-O2 -I"$root/contract" -I"$root/differ" -I"$root/plugin" -I"$root/runtime")
		[[ $v == plugin ]] && flags+=(-fplugin="$cg_plugin")
		valgrind --tool=callgrind --callgrind-out-file="$work/cc.callgrind" "$cc" "${flags[@]}" \
			-c "$root/$f" -o "$work/cc.o" >/dev/null 2>"$work/cc.callgrind.log" ||
			die "callgrind of $cc on $f failed (log: $work/cc.callgrind.log)"
		n=$(awk '/^summary:/ { print $2 }' "$work/cc.callgrind")
		if [[ $v == plain ]]; then cg_plain[$f]=$n; else cg_plugin_ir[$f]=$n; fi
		rm -f "$work/cc.callgrind"
	done
	cg_pct[$f]=$(pct "${cg_plain[$f]}" "${cg_plugin_ir[$f]}")
done

elapsed=$((SECONDS - start))

# ---- report ------------------------------------------------------------------------------------

signed() { [[ $1 == -* ]] && printf '%s' "$1" || printf '+%s' "$1"; }
report() {
	printf 'hotpatch plugin overhead: SQLite %s (better-sqlite3 %s), %s -O2, %d round(s)\n' \
		"$sqlite_version" "$sqlite_npm" "$cc" "$rounds"
	printf '\n%-28s %14s %14s   %s\n' "sqlite3.c" "plain" "plugin" "plugin vs plain"
	printf '%-28s %12s s %12s s   %s %% (%s %%)\n' "compile CPU, median" "$plain_med" "$plugin_med" \
		"$ratio" "$(signed "$compile_overhead")"
	printf '%-28s %14s %14s   %s B (%s %%)\n' ".text bytes" "$plain_text" "$plugin_text" \
		"$(signed "$text_growth")" "$(signed "$text_growth_pct")"
	printf '%-28s %14s %14s\n' "compiler warnings" "$plain_warnings" "$plugin_warnings"
	printf '\n%-34s %14s %9s %9s %12s %9s\n' "sqlite_workload (linked)" "callgrind Ir" "ratio" "vs plain" \
		".text bytes" "vs plain"
	printf '%-34s %14s %9s %9s %12s %9s\n' "plain" "${ir[plain]}" "1" "-" "${text[plain]}" "-"
	printf '%-34s %14s %9s %7s %% %12s %7s %%\n' "-fpatchable-function-entry=10,8" "${ir[nop]}" "$nop_ratio" \
		"$(signed "$nop_overhead")" "${text[nop]}" "$(signed "$nop_text_pct")"
	printf '%-34s %14s %9s %7s %% %12s %7s %%\n' "plugin" "${ir[plugin]}" "$plugin_ratio" \
		"$(signed "$plugin_overhead")" "${text[plugin]}" "$(signed "$plugin_text_pct")"
	printf '%-34s %14s %9s %7s %% %12s %7s %%\n' "plugin, entry=padding-only" "${ir[padding]}" "$padding_ratio" \
		"$(signed "$padding_overhead")" "${text[padding]}" "$(signed "$padding_text_pct")"
	printf '\n%-34s %14s %14s %9s\n' "compiler instructions (callgrind)" "plain" "plugin" "overhead"
	for f in "${cg_files[@]}"; do
		printf '%-34s %14s %14s %7s %%\n' "$f" "${cg_plain[$f]}" "${cg_plugin_ir[$f]}" "$(signed "${cg_pct[$f]}")"
	done
	printf '\nchecksum: %s\n' "$checksum_note"
	printf 'patch sites in sqlite3.o (hpdump --prologues): %s ok, %s bad (%s); %s of them an added 2-byte NOP\n' \
		"$sites_ok" "$sites_bad" "$sites_note" "$sites_nop"
	printf 'entry=padding-only: %s patchable sites (%s); %s start with a 1-byte instruction (stopped world only); %s an added 2-byte NOP\n' \
		"$padding_ok" "$padding_note" "$padding_stopped" "$padding_nop"
	printf 'compile times (s): plain %s; plugin %s\n' "${plain_times[*]}" "${plugin_times[*]}"
	printf 'took %d s; JSON in %s\n' "$elapsed" "$out/plugin_overhead.json"
}

{
	printf '{\n'
	printf '  "sqlite_version": %s,\n  "better_sqlite3": %s,\n' "$(json_str "$sqlite_version")" "$(json_str "$sqlite_npm")"
	printf '  "compiler": %s,\n  "optimization": "-O2",\n  "rounds": %d,\n' \
		"$(json_str "$("$cc" --version | head -n1)")" "$rounds"
	printf '  "compile_cpu_seconds": {"plain": %s, "plugin": %s, "plain_median": %s, "plugin_median": %s, "ratio_percent": %s, "overhead_percent": %s},\n' \
		"$(json_list "${plain_times[@]}")" "$(json_list "${plugin_times[@]}")" "$plain_med" "$plugin_med" "$ratio" "$compile_overhead"
	printf '  "compiler_warnings": {"plain": %d, "plugin": %d},\n' "$plain_warnings" "$plugin_warnings"
	printf '  "compiler_instructions": {'
	sep=
	for f in "${cg_files[@]}"; do
		printf '%s%s: {"plain": %s, "plugin": %s, "overhead_percent": %s}' "$sep" "$(json_str "$f")" \
			"${cg_plain[$f]}" "${cg_plugin_ir[$f]}" "${cg_pct[$f]}"
		sep=', '
	done
	printf '},\n'
	printf '  "text_bytes": {"plain": %d, "plugin": %d, "growth": %d, "growth_percent": %s},\n' \
		"$plain_text" "$plugin_text" "$text_growth" "$text_growth_pct"
	printf '  "patch_sites": {"ok": %d, "bad": %d, "added_2_byte_nop": %d, "status": %s},\n' \
		"$sites_ok" "$sites_bad" "$sites_nop" "$(json_str "$sites_note")"
	printf '  "padding_only_sites": {"ok": %d, "stopped_world": %d, "added_2_byte_nop": %d, "status": %s},\n' \
		"$padding_ok" "$padding_stopped" "$padding_nop" "$(json_str "$padding_note")"
	printf '  "callgrind_instructions": {"plain": %d, "patchable_function_entry_10_8": %d, "plugin": %d, "plugin_padding_only": %d, ' \
		"${ir[plain]}" "${ir[nop]}" "${ir[plugin]}" "${ir[padding]}"
	printf '"patchable_function_entry_10_8_overhead_percent": %s, "plugin_overhead_percent": %s, "plugin_padding_only_overhead_percent": %s, ' \
		"$nop_overhead" "$plugin_overhead" "$padding_overhead"
	printf '"ratio_to_plain": {"patchable_function_entry_10_8": %s, "plugin": %s, "plugin_padding_only": %s}},\n' \
		"$nop_ratio" "$plugin_ratio" "$padding_ratio"
	printf '  "workload_text_bytes": {"plain": %d, "patchable_function_entry_10_8": %d, "plugin": %d, "plugin_padding_only": %d},\n' \
		"${text[plain]}" "${text[nop]}" "${text[plugin]}" "${text[padding]}"
	printf '  "checksum": {"same": %s, "plain": %s, "patchable_function_entry_10_8": %s, "plugin": %s, "plugin_padding_only": %s},\n' \
		"$same" "$(json_str "${line[plain]}")" "$(json_str "${line[nop]}")" "$(json_str "${line[plugin]}")" \
		"$(json_str "${line[padding]}")"
	printf '  "elapsed_seconds": %d\n' "$elapsed"
	printf '}\n'
} >"$out/plugin_overhead.json.tmp"
mv "$out/plugin_overhead.json.tmp" "$out/plugin_overhead.json"

printf '\n'
report
[[ $same == true ]] || exit 1
