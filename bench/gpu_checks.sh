#!/usr/bin/env bash
# Issue 21's measurements on a GPU machine, in under 6 minutes (16 cores, one H100; the time
# limits below add up to 5 min 40 s, about 4 min 30 s expected):
#   1. the GPU's name (nvidia-smi);
#   2. bench/overhead.py --device cuda, the issue's sizes, median of 5 (goal <= 1.05), then one
#      more trial under cProfile with its breakdown (--profile);
#   3. bench/overhead.py on the CPU, one torch thread, --tune-malloc (what search workers do) and
#      the default allocator (goal <= 1.03 each). To fit the time the two run side by side (each
#      is one training thread on an otherwise idle 16-core machine, and each alternates its own
#      a/b runs, so they compare like with like), with FEWER REPEATS than the issue's 5:
#      --tune-malloc median of 3, default median of 1 (each after one warm-up pair).
# Each part ends with its RESULT line; a part that runs past its time limit says so instead.
#
#   bash bench/gpu_checks.sh            # PYTHON=/path/to/python to use another interpreter
#
# The .venv holds a CPU-only torch wheel: without a CUDA build of torch the GPU part is skipped
# with a note (install one, e.g. torch==2.13.0 from the CUDA wheel index, then rerun).
set -u
cd "$(dirname "$0")/.." || exit 1
PY=${PYTHON:-.venv/bin/python}
LOGS=${OUT:-$(mktemp -d)}/gpu_checks
mkdir -p "$LOGS"

echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name --format=csv
else
    echo "nvidia-smi: not found"
fi

echo "== 1/2: bench/overhead.py --device cuda (median of 5)"
CUDA_OK=$("$PY" -c 'import torch; print(torch.cuda.is_available())' 2>/dev/null || echo "no torch")
if [ "$CUDA_OK" = "True" ]; then
    timeout 90 "$PY" bench/overhead.py --device cuda --repeats 5 --profile "$LOGS/cuda.prof" \
        >"$LOGS/cuda.log" 2>&1
    cat "$LOGS/cuda.log"
    grep -q '^RESULT' "$LOGS/cuda.log" \
        || echo "NOTE: the CUDA run gave no RESULT (an error above, or past its 90 s limit)"
else
    echo "NOTE: GPU part SKIPPED: torch.cuda.is_available() is '$CUDA_OK' for $PY" \
        "($("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)): this is a CPU-only" \
        "torch; install a CUDA build of torch 2.13.0 into it (or set PYTHON=) and rerun."
fi

echo "== 2/2: bench/overhead.py on the CPU, 1 torch thread: --tune-malloc (median of 3) and" \
    "default allocator (median of 1), side by side"
timeout 250 "$PY" bench/overhead.py --device cpu --tune-malloc --repeats 3 \
    >"$LOGS/cpu_tuned.log" 2>&1 &
TUNED=$!
timeout 250 "$PY" bench/overhead.py --device cpu --repeats 1 >"$LOGS/cpu_default.log" 2>&1 &
DEFAULT=$!
wait "$TUNED" "$DEFAULT"
for name in cpu_tuned cpu_default; do
    echo "-- $name"
    cat "$LOGS/$name.log"
    grep -q '^RESULT' "$LOGS/$name.log" \
        || echo "NOTE: $name gave no RESULT (an error above, or past its 250 s limit)"
done
echo "== done $(date -u '+%H:%M:%S UTC'); logs in $LOGS"
