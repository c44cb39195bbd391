"""Wall time of the same 8-trial search with ``--workers 1`` and ``--workers 2`` (median of runs).

    python bench/workers.py [--repeats 5] [--trials 8]

Each run is the real CLI in a fresh workspace (sine_mix, tiny space, 30 epochs, no pruning and no
early stop, so both do the same work). Last line: ``RESULT speedup=<median wall w1 / median wall w2>``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def wall(workers: int, trials: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as workspace:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "automl_rnn.cli",
                "search",
                "--task",
                "sine_mix",
                "--space",
                "tiny",
                "--trials",
                str(trials),
                "--max-epochs",
                "30",
                "--patience",
                "1000",
                "--pruner",
                "none",
                "--workers",
                str(workers),
                "--workspace",
                workspace,
                "--seed",
                str(seed),
                "--quiet",
            ],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    times: dict[int, list[float]] = {1: [], 2: []}
    for repeat in range(args.repeats):
        for workers in (1, 2):
            seconds = wall(workers, args.trials, seed=repeat)
            times[workers].append(seconds)
            print(f"workers={workers} run={repeat} wall={seconds:.1f}s", flush=True)
    w1, w2 = statistics.median(times[1]), statistics.median(times[2])
    print(f"median wall: workers=1 {w1:.1f}s, workers=2 {w2:.1f}s")
    print(f"RESULT speedup={w1 / w2:.2f}")


if __name__ == "__main__":
    main()
