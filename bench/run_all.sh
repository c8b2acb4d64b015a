#!/usr/bin/env bash
# Run every benchmark in turn from the repository root; print each one's PASS/FAIL lines and exit
# non-zero if any target failed. Options after the script name are not passed on: run a single
# benchmark by hand to change its settings (see bench/README.md). Every input is synthetic and seeded,
# so two runs differ only by the machine: each benchmark prints the machine and its load average
# (other work on the machine slows every timing; measure on a quiet one). bench/gpu.py runs too when
# torch sees a CUDA GPU; without one it is skipped with a note.
set -u
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
status=0
for bench in open_time overhead concurrency endpoints memory sam2_calls batching refine_latency; do
    echo "\$ $PY bench/$bench.py    ($(uptime | sed 's/.*load/load/'))"
    "$PY" "bench/$bench.py" || status=1
    echo
done
if "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "\$ $PY bench/gpu.py"
    "$PY" bench/gpu.py || status=1
else
    echo "bench/gpu.py skipped: no CUDA GPU here (bench/gpu.py --smoke checks the script on the CPU)"
fi
if [ "$status" -eq 0 ]; then echo "all benchmarks passed"; else echo "some benchmark FAILED"; fi
exit "$status"
