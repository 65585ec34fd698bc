#!/usr/bin/env bash
# hpctl-stopped.sh APP: runs APP (linked with the runtime), waits for its control socket, stops
# it with SIGSTOP (Ctrl-Z, a debugger at a breakpoint), and runs `hpctl status` on it under a
# 5-second timeout.  Prints hpctl's output with the pid replaced by PID, then "exit N" (124:
# hpctl was still waiting when the timeout ended it).  Then continues the program and runs
# `hpctl status` again, printed the same way; the program is ended.
set -uo pipefail
app=$1
hpctl=${HPCTL:?}
source "$(dirname "$0")/start-app.sh"
start_app "$app"
kill -STOP "$pid"
# The stop takes effect asynchronously: wait until /proc says so.
for _ in $(seq 100); do [ "$(sed 's/.*) //' /proc/$pid/stat | cut -c1)" = T ] && break; sleep 0.02; done
timeout 5 "$hpctl" status "$pid" 2>&1 | sed "s/\b$pid\b/PID/g"
echo "exit ${PIPESTATUS[0]}"
kill -CONT "$pid"
timeout 5 "$hpctl" status "$pid" 2>&1 | sed "s/\b$pid\b/PID/g"
echo "exit ${PIPESTATUS[0]}"
