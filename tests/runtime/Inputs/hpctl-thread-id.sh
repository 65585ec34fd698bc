#!/usr/bin/env bash
# hpctl-thread-id.sh DIR: runs DIR/app, which writes the id of a thread it started to DIR/tid;
# prints `hpctl status TID` and its exit status, the thread id shown as TID (and the pid as PID).
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1
source "$(dirname "$0")/start-app.sh"
rm -f "$dir/tid"
start_app "$dir/app" "$dir/tid"
wait_for eval '[ -s "$dir/tid" ]'
read -r tid < "$dir/tid"
"$HPCTL" status "$tid" 2>&1 | sed -e "s/\b$tid\b/TID/g" -e "s/\b$pid\b/PID/g"
echo "exit ${PIPESTATUS[0]}"
