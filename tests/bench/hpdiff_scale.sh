#!/usr/bin/env bash
# Benchmark: how hpdiff's wall time and peak memory grow with the size of the builds it compares,
# next to a real pair (SQLite 3.47.0 -> 3.47.1), and how small a one-function package is.
#
# Usage: tests/bench/hpdiff_scale.sh [BUILD_DIR]      (default: build/ in the repository)
#        SIZES="1000 10000"  the generated sizes, in functions (default "1000 10000 100000"; each a
#                            multiple of 1000)
#        JOBS=N              parallel compiles (default 2: the project machine has 2 cores, shared)
#        KEEP=1              keep the generated sources and builds (BUILD_DIR/bench/hpdiff_scale/)
#
# A benchmark, not a test: it reports numbers and never judges them.  It fails only when something
# does not work (generating, compiling, a download), and exits 1 after reporting if an hpdiff run
# did not write its package, or a generated package holds anything but the one redirect of f000_7.
#
#  - generated builds: N functions in N/1000 files of 1,000 small functions each (arithmetic on the
#    arguments; calls to four "hub" functions of the same file; a static helper that is inlined
#    and a static noinline one; a lookup in a static const table; a string literal; an external
#    and two static file-scope variables), plus each file's dispatch function reaching all 1,000
#    through a static const function-pointer table, called from main.c.  NEW differs from OLD in
#    exactly one function body: f000_7 (called only through the table, so inlined nowhere) adds 1
#    to its result.  Both sides are compiled like tests/hpdiff/Inputs/build-pair.sh does (clang-19
#    -O2 -fplugin, from inside the side's directory, then linked with a build-id), JOBS at a time.
#  - SQLite: the amalgamations of better-sqlite3 11.5.0 (3.47.0) and 11.6.0 (3.47.1), with
#    tests/bench/sqlite_workload.c, built by build-pair.sh.
#  - each pair: `/usr/bin/time hpdiff OLD NEW -o fix.hp` once: wall seconds (to the millisecond,
#    from bash's EPOCHREALTIME around it), user+sys CPU seconds and peak RSS (from /usr/bin/time);
#    the package's size and its redirects (hpdump); the functions the plugin recorded in OLD's app
#    (hpdump), to put the time per 1,000 functions next to a real program's.  hpdiff runs once per
#    pair, so the smallest times carry the machine's noise.
#
# The report goes to stdout and, as JSON, to BUILD_DIR/bench/hpdiff_scale.json; progress goes to
# stderr.  Sources, objects, logs and packages are made in BUILD_DIR/bench/hpdiff_scale/, each pair
# deleted once measured, and the directory at the end, unless KEEP=1.
name=hpdiff_scale
source "$(dirname "${BASH_SOURCE[0]}")/common.sh" "$@"
plugin=$build/lib/hotpatch.so
hpdiff=$build/bin/hpdiff
hpdump=$build/bin/hpdump
for f in "$plugin" "$hpdiff" "$hpdump"; do
	[[ -f $f ]] || die "no $f (run: ninja -C $build)"
done
read -r -a sizes <<<"${SIZES:-1000 10000 100000}"
((${#sizes[@]})) || die "SIZES names no size"
for n in "${sizes[@]}"; do
	[[ $n =~ ^[1-9][0-9]*$ && $((n % 1000)) -eq 0 ]] || die "SIZES: '$n' is not a positive multiple of 1000"
done
jobs=${JOBS:-2}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "JOBS must be a positive integer, not '$jobs'"
keep=${KEEP:-0}

cc=clang-19
command -v "$cc" >/dev/null || die "$cc not found on PATH"
if [[ ! -x /usr/bin/time ]]; then
	note "/usr/bin/time is missing; installing the Debian package time"
	[[ $(id -u) -eq 0 ]] || die "/usr/bin/time is missing and installing it needs root (apt-get install time)"
	{ apt-get install -y -qq time >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq time >/dev/null 2>&1; }; } ||
		die "apt-get install time failed"
fi

sqlite_old_npm=11.5.0 # SQLite 3.47.0
sqlite_new_npm=11.6.0 # SQLite 3.47.1
sqlite_old_dir=$("$root/tests/tools/fetch-sqlite.sh" "$sqlite_old_npm") || exit 1
sqlite_new_dir=$("$root/tests/tools/fetch-sqlite.sh" "$sqlite_new_npm") || exit 1
sqlite_version() { sed -nE 's/^#define SQLITE_VERSION +"([^"]+)".*/\1/p' "$1/sqlite3.h" | head -n1; }
sqlite_old_version=$(sqlite_version "$sqlite_old_dir")
sqlite_new_version=$(sqlite_version "$sqlite_new_dir")

out=$build/bench
work=$out/hpdiff_scale
rm -rf "$work"
mkdir -p "$work"
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [[ $keep == 1 ]]; then
		note "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
start=$SECONDS

# ---- generated sources -------------------------------------------------------------------------

# gen_file K COUNT CHANGED: prints file K's source: COUNT functions fK_0 .. fK_{COUNT-1}, and fK_run,
# which calls them through a table.  The function numbered CHANGED (-1: none) adds 1 to its result.
# Function i >= 4 is of kind i % 6; the four hubs (i < 4), which the kind-1 functions call, are
# plain arithmetic.  All arithmetic is unsigned, so no input is undefined behaviour.
gen_file() {
	awk -v k="$1" -v count="$2" -v changed="$3" '
	function c(x) { return (x * 2654435761 + k * 40503) % 65521 }  # constants, exact in doubles
	BEGIN {
		f = sprintf("f%03d", k)
		printf "/* Generated by tests/bench/hpdiff_scale.sh: file %d, %d functions. */\n\n", k, count
		printf "unsigned %s_calls;\n", f
		printf "static unsigned %s_seed = %du;\n", f, c(1)
		printf "static unsigned long %s_sum;\n", f
		printf "static const unsigned short %s_tab[64] = {", f
		for (j = 0; j < 64; j++)
			printf "%s%s%d", (j ? "," : ""), (j % 8 ? " " : "\n\t"), c(j + 100)
		printf "\n};\n\n"
		printf "static unsigned %s_h(unsigned x)\n{\n\tx ^= x >> 7;\n\treturn x * %du + %s_seed;\n}\n\n", f, c(2), f
		printf "static __attribute__((noinline)) unsigned %s_mix(unsigned x, unsigned y)\n{\n", f
		printf "\tfor (int j = 0; j < 4; j++)\n\t\tx = (x << 5 | x >> 27) ^ (y + %du * (unsigned)j);\n", c(3)
		printf "\treturn x;\n}\n\n"
		for (i = 0; i < 4; i++)
			printf "int %s_%d(int a, int b);\n", f, i
		printf "\n"
		for (i = 0; i < count; i++) {
			printf "int %s_%d(int a, int b)\n{\n", f, i
			printf "\tunsigned r = (unsigned)a * %du + ((unsigned)b ^ %du);\n", c(i) + 1, c(i + 7)
			kind = i < 4 ? 0 : i % 6
			if (kind == 0)
				printf "\tr += ((unsigned)a >> %d) - (unsigned)b * %du;\n", i % 5 + 1, c(i + 11)
			else if (kind == 1)
				printf "\tr += (unsigned)%s_%d(a, b + %d) - (unsigned)%s_%d(b, (int)(r & 0xffff));\n", f, i % 4, c(i + 13) % 1000, f, (i + 1) % 4
			else if (kind == 2)
				printf "\tr ^= %s_h(r + %du) + %s_mix(r, (unsigned)b);\n", f, c(i + 17), f
			else if (kind == 3)
				printf "\tr += %s_tab[((unsigned)a + %du) & 63u] * ((unsigned)b | 1u);\n", f, i
			else if (kind == 4) {
				s = sprintf("%s_%d: a string literal of its own", f, i)
				printf "\tr += (unsigned char)\"%s\"[(unsigned)a %% %du];\n", s, length(s)
			} else {
				printf "\t%s_calls++;\n\t%s_sum += r;\n", f, f
				printf "\tr ^= (unsigned)%s_sum + %s_seed * %du;\n", f, f, c(i + 19)
			}
			printf "\treturn (int)(r & 0x7fffffffu)%s;\n}\n\n", (i == changed ? " + 1" : "")
		}
		printf "static int (*const %s_fns[%d])(int, int) = {", f, count
		for (i = 0; i < count; i++)
			printf "%s%s%s_%d", (i ? "," : ""), (i % 8 ? " " : "\n\t"), f, i
		printf "\n};\n\n"
		printf "int %s_run(int i, int a, int b)\n{\n\treturn %s_fns[(unsigned)i %% %du](a, b);\n}\n", f, f, count
	}'
}

# gen_main FILES: prints main.c, which calls every file's dispatch function.
gen_main() {
	awk -v files="$1" 'BEGIN {
		printf "/* Generated by tests/bench/hpdiff_scale.sh: calls the %d files. */\n\n", files
		for (k = 0; k < files; k++)
			printf "int f%03d_run(int i, int a, int b);\n", k
		printf "\nint main(int argc, char **argv)\n{\n\tunsigned s = 0;\n\t(void)argv;\n"
		for (k = 0; k < files; k++)
			printf "\ts += (unsigned)f%03d_run(argc + %d, argc, %d);\n", k, k, k
		printf "\treturn (int)(s & 127u);\n}\n"
	}'
}

# build_sides DIR: compiles every DIR/{old,new}/*.c as build-pair.sh does, JOBS at a time, then links
# each side's app.  Compiler messages go to DIR/logs/.
build_sides() {
	local dir=$1 side
	mkdir -p "$dir/logs"
	# shellcheck disable=SC2016 # the inner script's $1..$4 are its arguments
	(cd "$dir" && printf '%s\n' old/*.c new/*.c) |
		xargs -P "$jobs" -I{} bash -c 'src=$1; side=${src%%/*}; file=${src#*/}
			cd "$2/$side" && "$3" -O2 -fplugin="$4" -c "$file" -o "${file%.c}.o" 2>"$2/logs/$side-${file%.c}.log" ||
			{ echo "$3 -c $src failed: $(grep -m1 error "$2/logs/$side-${file%.c}.log")" >&2; exit 255; }' \
			_ {} "$dir" "$cc" "$plugin" || die "compiling in $dir failed (logs in $dir/logs; KEEP=1 keeps them)"
	for side in old new; do
		(cd "$dir/$side" && objs=(*.o) && "$cc" -Wl,--build-id "${objs[@]}" -o app 2>"$dir/logs/$side-link.log") ||
			die "linking $dir/$side/app failed: $(head -n1 "$dir/logs/$side-link.log")"
	done
}

# ---- measuring ---------------------------------------------------------------------------------

declare -A wall cpu rss pkg redirects recorded status build_s
# measure NAME DIR: runs hpdiff on DIR/old and DIR/new and records its numbers under NAME.
measure() {
	local name=$1 dir=$2 rc=0
	recorded[$name]=$("$hpdump" "$dir/old/app" | grep -cE '^  function ' || true)
	note "$name: hpdiff (${recorded[$name]} functions recorded in old/app)"
	local t0=$EPOCHREALTIME
	/usr/bin/time -f '%e %U %S %M' -o "$dir/time.txt" \
		"$hpdiff" "$dir/old" "$dir/new" -o "$dir/fix.hp" >"$dir/hpdiff.out" 2>&1 || rc=$?
	local t1=$EPOCHREALTIME
	# /usr/bin/time's %e has 10 ms steps, too coarse for the small pairs: the wall time is taken
	# around it with EPOCHREALTIME (which adds the ~1 ms of starting /usr/bin/time).
	read -r "wall[$name]" "cpu[$name]" "rss[$name]" < <(awk -v t0="$t0" -v t1="$t1" '
		/^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$/ { printf "%.3f %.2f %d\n", t1 - t0, $2 + $3, $4; found = 1 }
		END { if (!found) printf "%.3f 0 0\n", t1 - t0 }' "$dir/time.txt")
	pkg[$name]=0 redirects[$name]=0
	case $rc in
	0) status[$name]=ok ;;
	2) status[$name]="refused: $(grep -m1 -iE 'refus' "$dir/hpdiff.out" || head -n1 "$dir/hpdiff.out")" ;;
	3) status[$name]="no change found" ;;
	*) status[$name]="failed (exit $rc): $(tail -n1 "$dir/hpdiff.out")" ;;
	esac
	if [[ $rc == 0 ]]; then
		pkg[$name]=$(stat -c %s "$dir/fix.hp")
		"$hpdump" "$dir/fix.hp" >"$dir/fix.txt" 2>&1 || status[$name]="hpdump fix.hp failed: $(head -n1 "$dir/fix.txt")"
		redirects[$name]=$(grep -cE '^ *redirect ' "$dir/fix.txt" || true)
	fi
	note "$name: ${wall[$name]} s, ${rss[$name]} KiB peak, ${pkg[$name]} B package, ${redirects[$name]} redirect(s): ${status[$name]}"
}

failed=0
for n in "${sizes[@]}"; do
	name=gen$n
	dir=$work/n$n
	files=$((n / 1000))
	note "N=$n: generating $files file(s) of 1000 functions"
	mkdir -p "$dir/old" "$dir/new"
	for ((k = 0; k < files; k++)); do
		gen_file "$k" 1000 -1 >"$dir/old/$(printf 'f%03d.c' "$k")"
	done
	gen_main "$files" >"$dir/old/main.c"
	cp "$dir/old/"*.c "$dir/new/"
	gen_file 0 1000 7 >"$dir/new/f000.c"
	cmp -s "$dir/old/f000.c" "$dir/new/f000.c" && die "generator: new/f000.c is the same as old/f000.c"
	note "N=$n: compiling 2 x $((files + 1)) files, $jobs at a time"
	t0=$SECONDS
	build_sides "$dir"
	build_s[$name]=$((SECONDS - t0))
	note "N=$n: built in ${build_s[$name]} s"
	measure "$name" "$dir"
	if [[ ${status[$name]} == ok && ${redirects[$name]} != 1 ]]; then
		status[$name]="${redirects[$name]} redirects, expected 1"
	fi
	if [[ ${status[$name]} == ok ]] && ! grep -qE '^ *redirect +f000_7 ' "$dir/fix.txt"; then
		status[$name]="the redirect is not f000_7: $(grep -m1 -E '^ *redirect ' "$dir/fix.txt")"
	fi
	[[ ${status[$name]} == ok ]] || failed=1
	[[ $keep == 1 ]] || rm -rf "$dir"
done

name=sqlite
dir=$work/sqlite
note "SQLite $sqlite_old_version -> $sqlite_new_version: building with build-pair.sh (one compile at a time)"
for side in old new; do
	mkdir -p "$dir/$side"
	[[ $side == old ]] && src=$sqlite_old_dir || src=$sqlite_new_dir
	cp "$src/sqlite3.c" "$src/sqlite3.h" "$here/sqlite_workload.c" "$dir/$side/"
done
t0=$SECONDS
HOTPATCH_PLUGIN=$plugin CC=$cc bash "$root/tests/hpdiff/Inputs/build-pair.sh" "$dir" >"$dir/build.log" 2>&1 ||
	die "build-pair.sh on SQLite failed: $(grep -m1 -E 'error' "$dir/build.log" || tail -n1 "$dir/build.log")"
build_s[$name]=$((SECONDS - t0))
note "SQLite: built in ${build_s[$name]} s"
measure "$name" "$dir"
[[ ${status[$name]} == ok ]] || failed=1
[[ $keep == 1 ]] || rm -rf "$dir"
elapsed=$((SECONDS - start))

# ---- report ------------------------------------------------------------------------------------

per_k() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.4f\n", n ? t / (n / 1000) : 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f\n", b / a; else print "null" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f\n", k / 1024 }'; }

names=()
for n in "${sizes[@]}"; do names+=("gen$n"); done
names+=(sqlite)
label() { [[ $1 == sqlite ]] && printf 'SQLite %s->%s' "$sqlite_old_version" "$sqlite_new_version" || printf 'generated N=%s' "${1#gen}"; }
functions() { [[ $1 == sqlite ]] && printf '%s' "${recorded[$1]}" || printf '%s' "${1#gen}"; }

small_pkg=null
for n in "${sizes[@]}"; do
	[[ $n == 1000 && ${status[gen1000]} == ok ]] && small_pkg=${pkg[gen1000]}
done

report() {
	printf 'hpdiff scale: %s -O2 -fplugin=hotpatch, one hpdiff run per pair (wall and user+sys CPU seconds, peak RSS)\n\n' "$cc"
	printf '%-26s %9s %9s %8s %8s %9s %10s %9s  %s\n' "pair" "functions" "recorded" "wall s" "CPU s" \
		"RSS MiB" "s/1k fn" "pkg B" "redirects, status"
	local x
	for x in "${names[@]}"; do
		printf '%-26s %9s %9s %8s %8s %9s %10s %9s  %s, %s\n' "$(label "$x")" "$(functions "$x")" "${recorded[$x]}" \
			"${wall[$x]}" "${cpu[$x]}" "$(mib "${rss[$x]}")" "$(per_k "${wall[$x]}" "$(functions "$x")")" \
			"${pkg[$x]}" "${redirects[$x]}" "${status[$x]}"
	done
	if ((${#sizes[@]} > 1)); then
		printf '\ngrowth between generated sizes:\n'
		local i a b
		for ((i = 1; i < ${#sizes[@]}; i++)); do
			a=gen${sizes[i - 1]} b=gen${sizes[i]}
			# The JSON says null where a time rounds to zero; the report says so in words.
			printf '  N=%s -> N=%s: functions x%s, wall x%s, CPU x%s, peak RSS x%s\n' "${sizes[i - 1]}" "${sizes[i]}" \
				"$(ratio "${sizes[i - 1]}" "${sizes[i]}")" "$(ratio "${wall[$a]}" "${wall[$b]}")" \
				"$(ratio "${cpu[$a]}" "${cpu[$b]}" | sed 's/^null$/? (too short to time)/')" "$(ratio "${rss[$a]}" "${rss[$b]}")"
		done
	fi
	printf '\npackage of the one-function fix at N=1000: %s (target: under 2048 B)\n' \
		"$([[ $small_pkg == null ]] && echo "not measured" || echo "$small_pkg B")"
	printf 'builds took (s):'
	for x in "${names[@]}"; do printf ' %s %s;' "$(label "$x")" "${build_s[$x]}"; done
	printf '\n("functions" is the generated count, or for SQLite the recorded one; "recorded" counts the\n'
	printf ' functions hpdump lists in old/app, helpers and dispatch functions included)\n'
	printf 'took %d s; JSON in %s\n' "$elapsed" "$out/hpdiff_scale.json"
}

json_pair() {
	printf '{"functions": %d, "recorded_functions": %d, "wall_seconds": %s, "cpu_seconds": %s, "peak_rss_kib": %d, ' \
		"$(functions "$1")" "${recorded[$1]}" "${wall[$1]}" "${cpu[$1]}" "${rss[$1]}"
	printf '"wall_seconds_per_1000_functions": %s, "package_bytes": %d, "redirects": %d, "build_seconds": %d, "status": %s}' \
		"$(per_k "${wall[$1]}" "$(functions "$1")")" "${pkg[$1]}" "${redirects[$1]}" "${build_s[$1]}" "$(json_str "${status[$1]}")"
}
{
	printf '{\n'
	printf '  "compiler": %s,\n  "optimization": "-O2",\n  "jobs": %d,\n' "$(json_str "$("$cc" --version | head -n1)")" "$jobs"
	printf '  "generated": [\n'
	for ((i = 0; i < ${#sizes[@]}; i++)); do
		printf '    %s%s\n' "$(json_pair "gen${sizes[i]}")" "$([[ $i -lt $((${#sizes[@]} - 1)) ]] && echo ,)"
	done
	printf '  ],\n  "growth": ['
	for ((i = 1; i < ${#sizes[@]}; i++)); do
		a=gen${sizes[i - 1]} b=gen${sizes[i]}
		printf '%s\n    {"from": %d, "to": %d, "functions": %s, "wall": %s, "cpu": %s, "peak_rss": %s}' \
			"$([[ $i -gt 1 ]] && echo ,)" "${sizes[i - 1]}" "${sizes[i]}" "$(ratio "${sizes[i - 1]}" "${sizes[i]}")" \
			"$(ratio "${wall[$a]}" "${wall[$b]}")" "$(ratio "${cpu[$a]}" "${cpu[$b]}")" "$(ratio "${rss[$a]}" "${rss[$b]}")"
	done
	printf '%s],\n' "$([[ ${#sizes[@]} -gt 1 ]] && printf '\n  ')"
	printf '  "sqlite": {"old": %s, "new": %s, "better_sqlite3": [%s, %s], "hpdiff": %s},\n' \
		"$(json_str "$sqlite_old_version")" "$(json_str "$sqlite_new_version")" \
		"$(json_str "$sqlite_old_npm")" "$(json_str "$sqlite_new_npm")" "$(json_pair sqlite)"
	printf '  "one_function_package_bytes_n1000": %s,\n' "$small_pkg"
	printf '  "elapsed_seconds": %d\n' "$elapsed"
	printf '}\n'
} >"$out/hpdiff_scale.json.tmp"
mv "$out/hpdiff_scale.json.tmp" "$out/hpdiff_scale.json"

printf '\n'
report
exit "$failed"
