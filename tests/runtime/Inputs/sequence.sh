#!/usr/bin/env bash
# sequence.sh DIR CLIENT: runs DIR/old/app and drives its control channel with CLIENT
# (control-request.py): two.hp, three.hp, two.hp again (a downgrade), apply-force two.hp,
# status; prints each reply under a "== step" line, then the packages' checksums.
set -euo pipefail
dir=$1 client=$2
source "$(dirname "$0")/start-app.sh"
start_app "$dir/old/app"
req() { python3 "$client" "$pid" "$@"; }
echo "== apply two"; req apply "$dir/two.hp"
echo "== apply three"; req apply "$dir/three.hp"
echo "== apply two again"; req apply "$dir/two.hp"
echo "== value still three's"; req status | grep '^patch'
echo "== apply-force two"; req apply-force "$dir/two.hp"
echo "== status"; req status
sum() { od -An -tx1 -j 24 -N 16 "$1" | tr -d ' \n'; }
echo "sums $(sum "$dir/two.hp") $(sum "$dir/three.hp")"
