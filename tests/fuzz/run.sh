#!/usr/bin/env bash
# run.sh FUZZER SEEDS SECONDS WORK: one bounded libFuzzer run (the fuzz ctest tests): a fresh
# corpus in WORK/corpus grown from the seeds in SEEDS, for SECONDS seconds.  A crash, a leak, a
# sanitizer report or a timeout fails it, and the input that caused it is kept in WORK
# (crash-*, leak-*, timeout-*: replay with `FUZZER WORK/crash-...`).
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3 work=$4
rm -rf "$work"
mkdir -p "$work/corpus"
ls "$seeds"/* >/dev/null 2>&1 || { echo "fuzz: no seeds in $seeds (the fuzz-seeds test makes them)" >&2; exit 1; }
exec "$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=262144 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds"
