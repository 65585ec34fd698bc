#!/usr/bin/env bash
# state-veto-hpctl.sh HPCTL APP PACKAGE DIR: starts APP --serve, applies PACKAGE with hpctl (whose
# pre-apply hook vetoes), prints what hpctl said and its exit status, then the live patches.
set -uo pipefail
hpctl=$1 app=$2 package=$3 dir=$4
source "$(dirname "$0")/start-app.sh"
start_app "$app" --serve
"$hpctl" apply "$pid" "$package" 2>&1 | sed "s/\b$pid\b/PID/g"
echo "exit ${PIPESTATUS[0]}"
"$hpctl" status "$pid" 2>&1 | sed "s/\b$pid\b/PID/g"
