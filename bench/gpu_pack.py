"""Trials per minute when small trials share one GPU: the same 16-trial LSTM search on the Ray
backend with ``--gpus-per-trial 1``, ``0.5`` and ``0.25`` (one, two and four trials per GPU).

    python bench/gpu_pack.py [--trials 16] [--epochs 10]

Needs a CUDA GPU and the ``ray`` extra; without a GPU it says so and exits 0 (nothing measured).
Each setting is the real CLI in a fresh workspace: sine_mix, the tiny space restricted to LSTM
(a fixture written here), fixed epochs, no scheduler, a local Ray started by the command with
this machine's CPUs and GPU (4 CPUs per GPU trial slot at most). Per setting: wall time, trials
per minute, and the peak GPU memory of its trials (each trial's ``peak_gpu_mb``, from the ledger).
Last line: ``RESULT pack_speedup=<trials/min at 0.25 / trials/min at 1> gpu=<name>`` (goal >= 2.5).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = """\
description: gpu_pack bench, small LSTM trials
params:
  cell: lstm
  topology: seq2vec
  hidden_size: {low: 32, high: 64, step: 32}
  num_layers: 1
  lr: {low: 0.001, high: 0.01, log: true}
"""


def run(share: float, trials: int, epochs: int, space: Path) -> tuple[float, float]:
    """(wall seconds, max peak GPU MB over the trials) of one search."""
    from automl_rnn.search.ledger import Ledger

    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder)
        command = [sys.executable, "-m", "automl_rnn.cli", "search", "--task", "sine_mix"]
        command += ["--space", str(space), "--trials", str(trials), "--max-epochs", str(epochs)]
        command += ["--patience", "1000", "--backend", "ray", "--scheduler", "none"]
        command += ["--gpus-per-trial", str(share), "--cpus-per-trial", "1", "--no-tracking"]
        command += ["--workspace", str(workspace), "--quiet"]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        records = Ledger.open(workspace, "sine_mix").snapshot().trials
        peak = max((t.metrics.get("peak_gpu_mb", 0.0) for t in records), default=0.0)
        return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU here: nothing measured (run this on a machine with one)")
        return
    name = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory() as folder:
        space = Path(folder) / "lstm_small.yaml"
        space.write_text(SPACE, encoding="utf-8")
        rates = {}
        for share in (1.0, 0.5, 0.25):
            seconds, peak = run(share, args.trials, args.epochs, space)
            rates[share] = args.trials / seconds * 60
            print(
                f"gpus_per_trial={share}: wall {seconds:.1f}s, {rates[share]:.1f} trials/min, "
                f"peak GPU memory of a trial {peak:.0f} MB",
                flush=True,
            )
    print(f"RESULT pack_speedup={rates[0.25] / rates[1.0]:.2f} gpu={name.replace(' ', '_')}")


if __name__ == "__main__":
    main()
