#!/usr/bin/env bash
# hpctl-live.sh DIR: runs DIR/old/app (AArch64, linked with libhotpatch, printing value() in a
# loop) under qemu and drives it with the AArch64 hpctl, itself under qemu: apply, status (text
# and --json), revert, the refusals (nothing live, a package of another build, a corrupt one, no
# such process), apply and revert with --json.  After each apply and revert it waits for the
# program to print the value the change must give (value 2 patched, value 1 not), and prints
# that, so a change that did not happen fails the test.  "exit N" after each hpctl.
#   QEMU:  how to run an AArch64 program ("qemu-aarch64-static -L SYSROOT")
#   HPCTL: the AArch64 hpctl, with QEMU before it
source "$(dirname "$0")/../../runtime/Inputs/start-app.sh"
set -uo pipefail
dir=$1
read -ra qemu <<<"${QEMU:?}"
read -ra hpctl <<<"${HPCTL:?}"
: > "$dir/out.txt"
start_app "${qemu[@]}" "$dir/old/app" "$dir/out.txt"
run() { "${hpctl[@]}" "$@" 2>&1 | sed "s/\b$pid\b/PID/g"; echo "exit ${PIPESTATUS[0]}"; }
# The program's latest line is "value N": waited for, then said.
now() {
  wait_for sh -c "tail -n 1 '$dir/out.txt' | grep -qx 'value $1'" && echo "the program prints value $1"
}
now 1
echo "== apply"; run apply "$pid" "$dir/fix.hp"; now 2
echo "== status"; run status "$pid"
echo "== status --json"; run status "$pid" --json
echo "== revert"; run revert "$pid"; now 1
echo "== revert, nothing live"; run revert "$pid"
echo "== another build's package"; run apply "$pid" "$dir/other.hp"
echo "== corrupt package"; run apply "$pid" "$dir/corrupt.hp"
echo "== apply --json"; run --json apply "$pid" "$dir/fix.hp"; now 2
echo "== revert 2 --json"; run revert "$pid" 2 --json; now 1
echo "== no such process"; run status 2147483646
kill -0 "$pid" && echo "same process: yes"
