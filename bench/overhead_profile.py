"""``bench/overhead.py --profile``: one more trial under cProfile, and where its time went.

The breakdown reads each part's cumulative time from the profile (a function's total, wherever
it was called from). cProfile slows Python code more than torch kernels, so the Python parts
read high; on CUDA, kernel time lands wherever the host waits for the device.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from overhead import BATCH, SEQ_LEN

#: Where a profiled trial's time goes: (label, file, function) -> that function's cumulative time.
PARTS = (
    ("trial (tracker creation to return)", "bench/overhead.py", "run"),
    ("  Trainer.fit", "pytorch_lightning/trainer/trainer.py", "fit"),
    ("    training batches (Lightning loop)", "loops/training_epoch_loop.py", "advance"),
    ("      our training_step", "automl_rnn/models/module.py", "training_step"),
    ("        forward", "automl_rnn/models/topologies.py", "train_chunks"),
    ("        loss", "automl_rnn/models/module.py", "chunk_loss"),
    ("        backward", "torch/_tensor.py", "backward"),
    ("        clip_grad_norm_", "torch/nn/utils/clip_grad.py", "clip_grad_norm_"),
    ("        divergence guard (record)", "automl_rnn/models/guard.py", "record"),
    ("        divergence guard (host reads)", "automl_rnn/models/guard.py", "flush"),
    ("        Adam.step", "torch/optim/adam.py", "step"),
    ("      batches from the loader", "automl_rnn/training/epochs.py", "__iter__"),
    ("    validation (Lightning loop)", "loops/evaluation_loop.py", "run"),
    ("  Trainer set-up (make_trainer)", "automl_rnn/training/recipe.py", "make_trainer"),
    ("  scoring val + test", "automl_rnn/trial/evaluate.py", "score"),
    ("  latency probe", "automl_rnn/trial/evaluate.py", "inference_latency_ms"),
    ("  checkpoint file", "automl_rnn/trial/outcome.py", "save_best"),
    ("  MLflow: tracker creation", "automl_rnn/tracking/mlflow_tracker.py", "__init__"),
    ("  MLflow: start_trial", "automl_rnn/tracking/mlflow_tracker.py", "start_trial"),
    ("  MLflow: log_epoch", "automl_rnn/tracking/mlflow_tracker.py", "log_epoch"),
    ("  MLflow: end_trial", "automl_rnn/tracking/mlflow_tracker.py", "end_trial"),
)


def breakdown(stats: Any, steps: int) -> None:
    """Print :data:`PARTS` from ``pstats`` stats: seconds and milliseconds per optimiser step."""
    cumulative: dict[tuple[str, str], float] = {}
    for (filename, _, function), (_, _, _, cum, _) in stats.stats.items():
        for _, suffix, name in PARTS:
            if function == name and filename.endswith(suffix):
                key = (suffix, name)
                cumulative[key] = max(cumulative.get(key, 0.0), cum)
    print(f"where the profiled trial's time went ({steps} optimiser steps):")
    for label, suffix, name in PARTS:
        seconds = cumulative.get((suffix, name), 0.0)
        print(f"  {label:44s} {seconds:8.3f} s  {1000 * seconds / steps:7.3f} ms/step")


def profile_trial(bench: Any, path: Path) -> None:
    """One more trial under cProfile: stats to ``path``, the breakdown, the top entries."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    seconds, result = bench.run()
    profiler.disable()
    profiler.dump_stats(str(path))
    print(f"profiled trial: {seconds:.2f} s (under cProfile); stats in {path}", flush=True)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    epochs = len(result.history)
    windows = len(bench.plan.prepared.starts("train", SEQ_LEN))
    breakdown(stats, epochs * -(-windows // BATCH))
    stats.sort_stats("cumulative").print_stats(30)
