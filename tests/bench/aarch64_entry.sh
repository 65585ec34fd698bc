#!/usr/bin/env bash
# Benchmark: the cost of the AArch64 patch site (an added NOP at every function's entry, after
# `bti c` with branch protection) on SQLite built for AArch64, measured by counting instructions
# under qemu-user, plus .text size and emulated run time.
#
# Usage: tests/bench/aarch64_entry.sh [BUILD_DIR]      (default: build/ in the repository)
#        ROWS=N   rows of the traced workload run (default 1000; the full workload has 20000)
#        ROUNDS=N interleaved emulated runs of each build for the run time (default 9)
#
# A benchmark, not a test: it reports numbers side by side and never judges them.  It fails only
# when something does not work (a tool, a download, a compile, a trace), and exits 1 after
# reporting if the builds disagree on the workload's checksum.  The compiles run one at a time.
#
# Four builds of sqlite_workload (tests/bench/sqlite_workload.c with the SQLite 3.47.0
# amalgamation), clang-19 --target=aarch64-linux-gnu -O2, linked statically with lld: plain, with
# the plugin, and both again with -mbranch-protection=standard.  Static, so that every address
# qemu reports is a link-time address of the one executable; the C library inside it is not built
# with the plugin, so it has no sites but its instructions count in the totals, as they would in
# a real program.
#
#  - instruction counts: there is no instruction counter under qemu here (no TCG plugins in
#    Debian's static qemu, no valgrind for foreign code), so each build's stripped executable runs
#    the workload with ROWS rows under `qemu-aarch64-static -singlestep -d exec,nochain`: every
#    translation block holds one instruction, no block is chained to the next, and qemu logs one
#    "Trace" line, with the guest PC, before executing each block, so the lines are exactly the
#    executed instructions, one each.  The trace goes through a pipe into awk and is never stored
#    (about 1 us per instruction: hence a reduced ROWS).  The runs get the same argv, an empty
#    environment and a file as standard output (the C library takes other paths for a terminal
#    or /dev/null), which makes the counts reproducible to the instruction.
#  - entry NOPs executed: the same trace, counting the lines whose PC is a patch site.  The sites
#    are hpdump --prologues' (function, +offset, bytes 1f2003d5) of the plugin builds, turned into
#    addresses by llvm-nm: a NOP executes exactly once per call of a patchable function, so this is
#    the number of those calls, tail calls included.  Their ratio to the plain build's total is the
#    site's instruction-count overhead.
#  - added landing pads executed (branch protection): a function that plain code begins with
#    `paciasp` needs no `bti c`, since `paciasp` is a landing pad itself; with the site, the NOP
#    comes first (new code signs the return address itself, so it must find it unsigned), so LLVM
#    puts a `bti c` before it.  Those pads are found by comparing each site's function with the
#    same function of the plain build (its first instruction is not a `bti c`), and counted in the
#    trace like the NOPs.  Next to both: the plugin build's total minus the plain one, and what of
#    it is neither (0 when the plugin changed nothing else in the code that ran).  The first
#    traced PC must be the ELF entry point, a check that the trace was read right.
#  - size: the sum of the sections named .text* in sqlite3.o (the plugin puts each function in
#    its own section), and .text of the linked executable (C library included).
#  - run time: the full workload (20000 rows) under plain qemu-aarch64-static, the four builds
#    interleaved (A B C D, ROUNDS times) so that drift in machine load hits all alike; medians of
#    wall time and their ratios.  This is emulated time: qemu translates each NOP into next to
#    nothing, and a real core's cost of a NOP is not an emulator's; the counts above are the
#    measurement, this is a sanity check that nothing else got slower.
#
# The report goes to stdout and, as JSON, to BUILD_DIR/bench/aarch64_entry.json; progress goes to
# stderr; objects, executables, logs and the most-run sites stay in BUILD_DIR/bench/aarch64_entry/.
name=aarch64_entry
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"
plugin=$build/lib/hotpatch.so
hpdump=$build/bin/hpdump
for f in "$plugin" "$hpdump"; do
	[[ -f $f ]] || die "no $f (run: ninja -C $build)"
done
rows=${ROWS:-1000}
rounds=${ROUNDS:-9}
[[ $rows =~ ^[1-9][0-9]*$ && $rows -le 1000000 ]] || die "ROWS must be an integer from 1 to 1000000, not '$rows'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$rounds'"

cc=clang-19
sysroot=/usr/aarch64-linux-gnu
sqlite_npm=11.5.0 # better-sqlite3 11.5.0 ships SQLite 3.47.0
for t in "$cc" ld.lld llvm-nm llvm-readelf llvm-strip size; do
	command -v "$t" >/dev/null || die "$t not found on PATH"
done
qemu=$(command -v qemu-aarch64-static) || die "qemu-aarch64-static not found (Debian: qemu-user-static; scripts/deps.sh installs it)"
[[ -f $sysroot/lib/libc.a && -f $sysroot/lib/crt1.o ]] ||
	die "no static AArch64 C library in $sysroot/lib (Debian: libc6-dev-arm64-cross; scripts/deps.sh installs it)"
compgen -G '/usr/lib/gcc-cross/aarch64-linux-gnu/*/libgcc.a' >/dev/null ||
	die "no AArch64 libgcc.a (Debian: libgcc-12-dev-arm64-cross; scripts/deps.sh installs it)"

sqlite_dir=$("$root/tests/tools/fetch-sqlite.sh" "$sqlite_npm") || exit 1
sqlite_version=$(sed -nE 's/^#define SQLITE_VERSION +"([^"]+)".*/\1/p' "$sqlite_dir/sqlite3.h" | head -n1)
out=$build/bench
work=$out/aarch64_entry
rm -rf "$work" && mkdir -p "$work"
start=$SECONDS

variants=(plain plugin plain-bp plugin-bp)
declare -A vflags=([plain]="" [plugin]="-fplugin=$plugin" [plain-bp]="-mbranch-protection=standard"
	[plugin-bp]="-mbranch-protection=standard -fplugin=$plugin")
target=(--target=aarch64-linux-gnu -O2)

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b / a - 1) * 100 }'; } # b vs a, in percent
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.5f\n", b / a }'; }          # b / a
text_size() { size -A "$1" | awk '$1 ~ /^\.text/ { s += $2 } END { print s + 0 }'; }

# ---- builds ------------------------------------------------------------------------------------

declare -A obj_text exe_text
for v in "${variants[@]}"; do
	d=$work/$v
	mkdir -p "$d"
	note "building $v (${vflags[$v]:-no flags}): sqlite3.c"
	# shellcheck disable=SC2086 # vflags holds flags without spaces, split on purpose
	"$cc" "${target[@]}" ${vflags[$v]} -c "$sqlite_dir/sqlite3.c" -o "$d/sqlite3.o" 2>"$d/build.log" ||
		die "compiling sqlite3.c ($v) failed: $(grep -m1 error "$d/build.log" || head -n1 "$d/build.log") (log: $d/build.log)"
	# shellcheck disable=SC2086
	"$cc" "${target[@]}" ${vflags[$v]} -I "$sqlite_dir" -c "$here/sqlite_workload.c" -o "$d/workload.o" 2>>"$d/build.log" ||
		die "compiling sqlite_workload.c ($v) failed (log: $d/build.log)"
	"$cc" --target=aarch64-linux-gnu -fuse-ld=lld -static -o "$d/workload" "$d/workload.o" "$d/sqlite3.o" -lm \
		2>>"$d/build.log" || die "linking sqlite_workload ($v) failed: $(tail -n1 "$d/build.log") (log: $d/build.log)"
	# The traced copy has no symbols: qemu would otherwise look one up for every line it logs.
	mkdir -p "$d/trace"
	llvm-strip -o "$d/trace/workload" "$d/workload" || die "llvm-strip of $d/workload failed"
	obj_text[$v]=$(text_size "$d/sqlite3.o")
	exe_text[$v]=$(text_size "$d/workload")
done

# ---- patch sites -------------------------------------------------------------------------------

# sites V: writes $work/V/sites.txt, one "ADDRESS KIND NAME" a line (ADDRESS in qemu's 16-digit
# hex): KIND "site" for every function hpdump finds a NOP site in, and "pad" for the `bti c` before
# a site where the same function of the plain build of the same branch protection does not begin
# with one.  That happens when it begins with `paciasp`, which is a landing pad itself: the NOP
# must come before it (new code signs the return address itself), so LLVM adds a `bti c` in front.
# Plain builds have no sites.
declare -A nsites npads
declare -A base=([plugin]=plain [plugin-bp]=plain-bp)
sites() {
	local d=$work/$1 rc=0
	: >"$d/sites.txt"
	nsites[$1]=0 npads[$1]=0
	[[ $1 == plugin* ]] || return 0
	"$hpdump" --prologues "$d/workload" >"$d/prologues.txt" 2>&1 || rc=$?
	((rc == 0)) || die "hpdump --prologues $d/workload failed (exit $rc): $(head -n1 "$d/prologues.txt")"
	llvm-nm --defined-only "$d/workload" >"$d/nm.txt" || die "llvm-nm $d/workload failed"
	# The first instruction of every function of the plain build ("NAME MNEMONIC OPERANDS").
	local plain_first=$work/${base[$1]}/first.txt
	llvm-objdump -d --no-show-raw-insn "$work/${base[$1]}/workload" >"$plain_first.tmp" ||
		die "llvm-objdump of $work/${base[$1]}/workload failed"
	awk '/^[0-9a-f]+ <.*>:$/ { n = substr($2, 2, length($2) - 3); getline; $1 = ""; print n $0 }' \
		"$plain_first.tmp" >"$plain_first" && rm -f "$plain_first.tmp"
	awk -v nm="$d/nm.txt" -v plain="$plain_first" '
		function hex(s,   i, n) { n = 0; s = tolower(s)
			for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return n }
		BEGIN {
			while ((getline line < nm) > 0) {
				split(line, f, " ")
				if (f[2] !~ /^[tT]$/) continue
				seen[f[3]]++; addr[f[3]] = hex(f[1])
			}
			while ((getline line < plain) > 0) {
				split(line, f, " ")
				nplain[f[1]]++; pad[f[1]] = (f[2] == "bti" && f[3] == "c") || (f[2] == "hint" && f[3] == "#34")
			}
		}
		$1 == "function" && $(NF - 1) ~ /^\+[0-9]+:[0-9a-f]+$/ {
			name = $NF
			split(substr($(NF - 1), 2), s, ":")
			if (s[2] != "1f2003d5") { printf "site of %s is %s, not a NOP\n", name, s[2] > "/dev/stderr"; bad = 1; next }
			if (seen[name] != 1) { printf "%s has %d code symbols\n", name, seen[name] + 0 > "/dev/stderr"; bad = 1; next }
			printf "%016x site %s\n", addr[name] + s[1], name
			if (s[1] == 4) {
				# The plain build has the source name: the plugin renames file-local functions.
				p = name
				sub(/\.__uniq\.[0-9]+$/, "", p)
				if (nplain[p] != 1) { printf "%s: %d functions %s in the plain build\n", name, nplain[p] + 0, p > "/dev/stderr"; bad = 1; next }
				if (!pad[p]) printf "%016x pad %s\n", addr[name], name
			}
		}
		END { exit bad }' "$d/prologues.txt" >"$d/sites.txt" 2>"$d/sites.err" ||
		die "cannot place the sites of $d/workload: $(head -n1 "$d/sites.err")"
	nsites[$1]=$(grep -c ' site ' "$d/sites.txt" || true)
	npads[$1]=$(grep -c ' pad ' "$d/sites.txt" || true)
	((nsites[$1] > 0)) || die "hpdump found no NOP site in $d/workload"
}
for v in "${variants[@]}"; do sites "$v"; done

# ---- checksums ---------------------------------------------------------------------------------

declare -A line line_rows
for v in "${variants[@]}"; do
	d=$work/$v
	line[$v]=$("$qemu" -L "$sysroot" "$d/workload" 2>"$d/run.err") ||
		die "sqlite_workload ($v) failed under qemu: $(head -n1 "$d/run.err")"
	line_rows[$v]=$("$qemu" -L "$sysroot" "$d/workload" "$rows" 2>"$d/run.err") ||
		die "sqlite_workload $rows ($v) failed under qemu: $(head -n1 "$d/run.err")"
done
same=true
for v in "${variants[@]}"; do
	[[ ${line[$v]} == "${line[plain]}" && ${line_rows[$v]} == "${line_rows[plain]}" &&
		${line[$v]} == "sqlite-workload ok "* && ${line_rows[$v]} == "sqlite-workload ok "* ]] || same=false
done
if $same; then
	checksum_note="same in all four: ${line[plain]} (20000 rows), ${line_rows[plain]} ($rows rows)"
else
	checksum_note="DIFFER:"
	for v in "${variants[@]}"; do checksum_note+=" $v '${line[$v]}' / '${line_rows[$v]}';"; done
fi

# ---- instruction counts ------------------------------------------------------------------------

declare -A insns nops pads hit
for v in "${variants[@]}"; do
	d=$work/$v
	note "tracing $v, $rows rows, one instruction per block"
	t0=$SECONDS
	entry=$(llvm-readelf -h "$d/workload" | awk '/Entry point address:/ { print $NF }')
	[[ $entry =~ ^0x[0-9a-fA-F]+$ ]] || die "no entry point in $d/workload"
	entry=$(printf '%016x' "$entry")
	# The same argv (./workload ROWS, from the build's own directory) and no environment for every build.
	# shellcheck disable=SC2016 # awk's own variables
	counts=$(cd "$d/trace" && env -i "$qemu" -L "$sysroot" -singlestep -d exec,nochain -D /dev/fd/3 ./workload "$rows" \
		3>&1 >"$d/trace.out" 2>"$d/trace.err" | awk -v sites="$d/sites.txt" -v top="$d/site-counts.txt" '
			BEGIN { while ((getline l < sites) > 0) { split(l, f, " "); kind[f[1]] = f[2]; name[f[1]] = f[3] } }
			$1 == "Trace" {
				pc = substr($4, 19, 16)
				if (!n++) first = pc
				if (pc in kind) {
					if (kind[pc] == "site") { nops++; count[pc]++ } else pads++
				}
				next
			}
			{ other++ }
			END {
				for (pc in count) { printf "%d %s %s\n", count[pc], pc, name[pc] > top; hit++ }
				printf "%d %d %d %d %s %d\n", n, nops, pads, hit, first, other
			}') || die "the trace of $v failed: $(head -n1 "$d/trace.err")"
	read -r n nop npad nhit first other <<<"$counts"
	[[ $(cat "$d/trace.out") == "${line_rows[$v]}" ]] ||
		die "the traced run of $v printed '$(head -n1 "$d/trace.out")', not '${line_rows[$v]}'"
	[[ $first == "$entry" ]] || die "the trace of $v starts at $first, not at the entry point $entry: unexpected trace format"
	((other == 0)) || die "the trace of $v has $other lines that are not a Trace line"
	insns[$v]=$n nops[$v]=$nop pads[$v]=$npad hit[$v]=$nhit
	[[ -s $d/site-counts.txt ]] && sort -rn "$d/site-counts.txt" -o "$d/site-counts.txt"
	note "  $n instructions, $nop of them entry NOPs, $npad added landing pads ($((SECONDS - t0)) s)"
done

# ---- emulated run time ---------------------------------------------------------------------------

declare -A times
for ((r = 1; r <= rounds; r++)); do
	for v in "${variants[@]}"; do
		d=$work/$v
		TIMEFORMAT=%3R
		{ time "$qemu" -L "$sysroot" "$d/workload" >"$d/timed.out" 2>"$d/run.err"; } 2>"$work/time.txt" ||
			die "sqlite_workload ($v) failed under qemu: $(head -n1 "$d/run.err")"
		[[ $(cat "$d/timed.out") == "${line[$v]}" ]] || die "a timed run of $v printed '$(head -n1 "$d/timed.out")'"
		times[$v]+="$(cat "$work/time.txt") "
	done
	note "round $r/$rounds: $(for v in "${variants[@]}"; do printf '%s %s s  ' "$v" "$(awk '{ print $NF }' <<<"${times[$v]}")"; done)"
done
declare -A tmed
for v in "${variants[@]}"; do
	# shellcheck disable=SC2086 # a list of numbers
	tmed[$v]=$(median ${times[$v]})
done
elapsed=$((SECONDS - start))

# ---- report ------------------------------------------------------------------------------------

# The plugin build against the plain one of the same branch protection.
declare -A nop_pct pad_pct extra rest extra_pct insn_ratio time_ratio obj_pct exe_pct
share() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.3f\n", n / a * 100 }'; } # n of a, in percent
for v in plugin plugin-bp; do
	b=${base[$v]}
	nop_pct[$v]=$(share "${insns[$b]}" "${nops[$v]}")
	pad_pct[$v]=$(share "${insns[$b]}" "${pads[$v]}")
	extra[$v]=$((insns[$v] - insns[$b]))
	rest[$v]=$((extra[$v] - nops[$v] - pads[$v]))
	extra_pct[$v]=$(pct "${insns[$b]}" "${insns[$v]}")
	insn_ratio[$v]=$(ratio "${insns[$b]}" "${insns[$v]}")
	time_ratio[$v]=$(ratio "${tmed[$b]}" "${tmed[$v]}")
	obj_pct[$v]=$(pct "${obj_text[$b]}" "${obj_text[$v]}")
	exe_pct[$v]=$(pct "${exe_text[$b]}" "${exe_text[$v]}")
done

signed() { [[ $1 == -* ]] && printf '%s' "$1" || printf '+%s' "$1"; }
report() {
	printf 'AArch64 patch site: SQLite %s (better-sqlite3 %s), %s --target=aarch64-linux-gnu -O2, static, qemu %s\n' \
		"$sqlite_version" "$sqlite_npm" "$cc" "$("$qemu" --version | awk 'NR == 1 { print $3 }')"
	printf '\n%-36s %16s %16s %16s %16s\n' "" "plain" "plugin" "plain, bp" "plugin, bp"
	printf '%-36s %16s %16s %16s %16s\n' "instructions, $rows rows (traced)" \
		"${insns[plain]}" "${insns[plugin]}" "${insns[plain-bp]}" "${insns[plugin-bp]}"
	printf '%-36s %16s %16s %16s %16s\n' "entry NOPs executed" "-" "${nops[plugin]}" "-" "${nops[plugin-bp]}"
	printf '%-36s %16s %16s %16s %16s\n' "added bti c executed" "-" "${pads[plugin]}" "-" "${pads[plugin-bp]}"
	printf '%-36s %16s %16s %16s %16s\n' "patch sites (executed)" "-" "${nsites[plugin]} (${hit[plugin]})" \
		"-" "${nsites[plugin-bp]} (${hit[plugin-bp]})"
	printf '%-36s %16s %16s %16s %16s\n' "added bti c" "-" "${npads[plugin]}" "-" "${npads[plugin-bp]}"
	printf '%-36s %16s %16s %16s %16s\n' "sqlite3.o .text* bytes" \
		"${obj_text[plain]}" "${obj_text[plugin]}" "${obj_text[plain-bp]}" "${obj_text[plugin-bp]}"
	printf '%-36s %16s %16s %16s %16s\n' "linked .text bytes (with libc)" \
		"${exe_text[plain]}" "${exe_text[plugin]}" "${exe_text[plain-bp]}" "${exe_text[plugin-bp]}"
	printf '%-36s %16s %16s %16s %16s\n' "emulated wall s, median of $rounds" \
		"${tmed[plain]}" "${tmed[plugin]}" "${tmed[plain-bp]}" "${tmed[plugin-bp]}"
	printf '\n%-44s %18s %18s\n' "plugin vs plain (same branch protection)" "no bp" "bp=standard"
	printf '%-44s %16s %% %16s %%\n' "entry NOPs / plain instructions" "${nop_pct[plugin]}" "${nop_pct[plugin-bp]}"
	printf '%-44s %16s %% %16s %%\n' "added bti c / plain instructions" "${pad_pct[plugin]}" "${pad_pct[plugin-bp]}"
	printf '%-44s %18s %18s\n' "instructions, ratio" "${insn_ratio[plugin]}" "${insn_ratio[plugin-bp]}"
	printf '%-44s %18s %18s\n' "extra instructions (plugin - plain)" "$(signed "${extra[plugin]}")" \
		"$(signed "${extra[plugin-bp]}")"
	printf '%-44s %18s %18s\n' "  of which neither NOP nor added bti c" "$(signed "${rest[plugin]}")" \
		"$(signed "${rest[plugin-bp]}")"
	printf '%-44s %16s %% %16s %%\n' "sqlite3.o .text*" "$(signed "${obj_pct[plugin]}")" "$(signed "${obj_pct[plugin-bp]}")"
	printf '%-44s %16s %% %16s %%\n' "linked .text" "$(signed "${exe_pct[plugin]}")" "$(signed "${exe_pct[plugin-bp]}")"
	printf '%-44s %18s %18s\n' "emulated wall time, ratio of medians" "${time_ratio[plugin]}" "${time_ratio[plugin-bp]}"
	printf '\nmost-run sites (plugin, no bp; of %s NOPs):\n' "${nops[plugin]}"
	head -n5 "$work/plugin/site-counts.txt" | awk -v t="${nops[plugin]}" '{ printf "  %10d %6.2f %%  %s\n", $1, $1 / t * 100, $3 }'
	printf '\nchecksum: %s\n' "$checksum_note"
	for v in "${variants[@]}"; do printf 'emulated wall s, %s: %s\n' "$v" "${times[$v]% }"; done
	printf 'took %d s; JSON in %s\n' "$elapsed" "$out/aarch64_entry.json"
}

{
	printf '{\n'
	printf '  "sqlite_version": %s,\n  "better_sqlite3": %s,\n' "$(json_str "$sqlite_version")" "$(json_str "$sqlite_npm")"
	printf '  "compiler": %s,\n  "target": "aarch64-linux-gnu",\n  "optimization": "-O2",\n  "link": "static, lld",\n' \
		"$(json_str "$("$cc" --version | head -n1)")"
	printf '  "emulator": %s,\n  "traced_rows": %d,\n  "timed_rows": 20000,\n  "rounds": %d,\n' \
		"$(json_str "$("$qemu" --version | head -n1)")" "$rows" "$rounds"
	printf '  "builds": {'
	sep=
	for v in "${variants[@]}"; do
		printf '%s\n    %s: {"flags": %s, "instructions": %d, "entry_nops": %d, "added_bti_c_executed": %d, ' \
			"$sep" "$(json_str "$v")" "$(json_str "${vflags[$v]}")" "${insns[$v]}" "${nops[$v]}" "${pads[$v]}"
		printf '"sites": %d, "sites_executed": %d, "added_bti_c": %d, ' "${nsites[$v]}" "${hit[$v]}" "${npads[$v]}"
		# shellcheck disable=SC2086 # a list of numbers
		printf '"object_text_bytes": %d, "linked_text_bytes": %d, "wall_seconds": %s, "wall_median": %s}' \
			"${obj_text[$v]}" "${exe_text[$v]}" "$(json_list ${times[$v]})" "${tmed[$v]}"
		sep=,
	done
	printf '\n  },\n  "plugin_vs_plain": {'
	sep=
	for v in plugin plugin-bp; do
		printf '%s\n    %s: {"entry_nops_percent_of_plain": %s, "added_bti_c_percent_of_plain": %s, ' \
			"$sep" "$(json_str "$v vs ${base[$v]}")" "${nop_pct[$v]}" "${pad_pct[$v]}"
		printf '"instruction_ratio": %s, "extra_instructions": %d, "extra_neither_nop_nor_bti_c": %d, ' \
			"${insn_ratio[$v]}" "${extra[$v]}" "${rest[$v]}"
		printf '"extra_instructions_percent": %s, "object_text_percent": %s, "linked_text_percent": %s, "emulated_wall_ratio": %s}' \
			"${extra_pct[$v]}" "${obj_pct[$v]}" "${exe_pct[$v]}" "${time_ratio[$v]}"
		sep=,
	done
	printf '\n  },\n  "checksum": {"same": %s, "note": %s},\n' "$same" "$(json_str "$checksum_note")"
	printf '  "elapsed_seconds": %d\n' "$elapsed"
	printf '}\n'
} >"$out/aarch64_entry.json.tmp"
mv "$out/aarch64_entry.json.tmp" "$out/aarch64_entry.json"

printf '\n'
report
[[ $same == true ]] || exit 1
