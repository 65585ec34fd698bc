#!/usr/bin/env bash
# hpctl-json.sh DIR: runs DIR/old/app and every hpctl subcommand on it with --json; each line of
# standard output must be one JSON object: prints its fields sorted (lists as their length),
# the pid shown as PID.
set -uo pipefail
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_PERSIST_DIR=$dir/persist
source "$(dirname "$0")/start-app.sh"
start_app "$dir/old/app"
show() { python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    items = sorted(d.items())
    out = []
    for k, v in items:
        out.append("%s=%s" % (k, len(v) if isinstance(v, list) else v))
    print(sys.argv[1] + ":", " ".join(out))' "$1" | sed "s/\b$pid\b/PID/g"; }
printf 'not a package' > "$dir/junk.hp"
"$hpctl" --json apply "$pid" "$dir/fix.hp" | show apply
"$hpctl" apply "$pid" "$dir/junk.hp" --json | show apply
"$hpctl" status "$pid" --json | show status
"$hpctl" status --all "$dir/old/app" --json | show "status --all"
"$hpctl" --json revert "$pid" | show revert
"$hpctl" --json revert "$pid" 1 | show revert
"$hpctl" --json status 2147483646 | show status
"$hpctl" --json unpersist 0011223344 | show unpersist
exit 0
