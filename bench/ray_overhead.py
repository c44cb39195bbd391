"""Wall time of the same 8-trial search on the Optuna backend (``--workers 2``) and on the Ray
backend (2 concurrent trials, a local Ray the command starts and stops), median of runs.

    python bench/ray_overhead.py [--repeats 3] [--trials 8] [--epochs 15]

Each run is the real CLI in a fresh workspace: sine_mix, tiny space, fixed epochs (no pruning,
no scheduler, no early stop, so both do the same training), tracking on as users run it. The two
backends alternate (optuna, ray), (ray, optuna), ... so drifting load hits both alike. The Ray
wall includes its start-up (``ray.init``, worker processes importing torch) and shutdown, which a
user pays once per search. Last line: ``RESULT ray_over_optuna=<median ray / median optuna>``
(goal <= 1.3).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

COMMON = ["--task", "sine_mix", "--space", "tiny", "--patience", "1000", "--quiet"]
BACKEND_FLAGS = {
    "optuna": ["--backend", "optuna", "--workers", "2", "--pruner", "none"],
    "ray": ["--backend", "ray", "--max-concurrent", "2", "--scheduler", "none"],
}


def wall(backend: str, trials: int, epochs: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as workspace:
        command = [sys.executable, "-m", "automl_rnn.cli", "search", *COMMON]
        command += ["--trials", str(trials), "--max-epochs", str(epochs), "--seed", str(seed)]
        command += [*BACKEND_FLAGS[backend], "--workspace", workspace]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"optuna": [], "ray": []}
    for repeat in range(args.repeats):
        order = ("optuna", "ray") if repeat % 2 == 0 else ("ray", "optuna")
        for backend in order:
            seconds = wall(backend, args.trials, args.epochs, seed=repeat)
            times[backend].append(seconds)
            print(f"{backend} run={repeat} wall={seconds:.1f}s", flush=True)
    optuna, ray = statistics.median(times["optuna"]), statistics.median(times["ray"])
    print(f"median wall: optuna (--workers 2) {optuna:.1f}s, ray (2 concurrent) {ray:.1f}s")
    print(f"RESULT ray_over_optuna={ray / optuna:.2f}")


if __name__ == "__main__":
    main()
