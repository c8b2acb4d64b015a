#!/usr/bin/env bash
# Run every benchmark in turn from the repository root; print each one's PASS/FAIL lines and exit
# non-zero if any target failed. Options after the script name are not passed on: run a single
# benchmark by hand to change its settings (see bench/README.md).
set -u
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
status=0
for bench in open_time overhead concurrency memory sam2_calls; do
    "$PY" "bench/$bench.py" || status=1
    echo
done
if [ "$status" -eq 0 ]; then echo "all benchmarks passed"; else echo "some benchmark FAILED"; fi
exit "$status"
