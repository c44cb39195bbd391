"""What a tracked automl-rnn trial costs on top of a bare PyTorch loop doing the same training.

    python bench/overhead.py [--repeats 5] [--epochs 3] [--samples 20000] [--device cpu|cuda]
                             [--tune-malloc] [--profile FILE]

The model: a 2-layer LSTM (hidden 64) reading 64 steps of a noisy sine (the built-in ``sine_mix``
generator, lengthened to give ``--samples`` training windows) and forecasting its 12-step horizon
from its last hidden state (``seq2vec``), batch 64, Adam (lr 1e-3, torch's fused implementation,
as the trial uses), MSE loss, gradient norm clipped to 1.0, one torch thread (as every search
worker runs), for ``--epochs`` epochs, on ``--device`` (``cuda``: the first GPU; ``cpu`` hides
any GPU from both, so a GPU machine measures the CPU too).

(a) **bare**: a plain PyTorch loop: the same scaled windows (prepared once, as a search worker
    has them), a seeded shuffle per epoch, each batch sliced on the CPU and copied to the device
    (as a DataLoader loop, and the trial, do), the same model, optimiser and clipping, and a
    validation pass over the same validation windows after each epoch (loss, and MAE in the
    data's units, as the trial reports).
(b) **trial**: ``automl_rnn.trial.runner.run_trial`` with those parameters fixed, a reporter that
    never prunes, and MLflow tracking on: an ``MLflowTrialTracker`` child run under a real parent
    run (``SearchRun.open``) in a real local store in a temporary folder, as a search makes them.
    It is timed from the tracker's creation to ``run_trial``'s return, so it includes what a
    trial does besides training: building loaders and the Trainer, per-epoch logging, scoring
    val/test, the latency probe, the checkpoint and closing the run (the checkpoint is logged
    as an artifact every time, as for a trial that is the best so far).

Each run's process CPU time (user + system, every thread, so the trial's MLflow threads count)
is printed too: on a machine shared with other jobs it moves less than wall time.
Imports (torch, Lightning, MLflow, automl-rnn) are timed once, apart. One untimed warm-up run of
each comes first; then the timed runs alternate (a, b), (b, a), ... so that drifting load on a
shared machine hits both alike. Last line: ``RESULT trial_overhead=<median b / median a>``
(goal <= 1.03 on the CPU, <= 1.05 with ``--device cuda``).

``--profile FILE`` also runs one more trial under cProfile, writes its stats to FILE and prints
where its time went (training step parts, Lightning's loop, validation, scoring, MLflow), then
the top entries by cumulative time. cProfile slows Python code more than torch kernels, so the
Python parts read high; on CUDA, kernel time lands wherever the host waits for the device.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

SEQ_LEN = 64
BATCH = 64
HIDDEN = 64
LAYERS = 2
LR = 1e-3
CLIP = 1.0
SEED = 0
STUDY = "overhead"

#: The trial's fixed parameters (everything a space could sample, so no default is left to guess).
PARAMS: dict[str, Any] = {
    "cell": "lstm",
    "topology": "seq2vec",
    "num_layers": LAYERS,
    "hidden_size": HIDDEN,
    "dropout": 0.0,
    "bidirectional": False,
    "readout": "last",
    "lr": LR,
    "weight_decay": 0.0,
    "optimizer": "adam",
    "lr_schedule": "none",
    "batch_size": BATCH,
    "seq_len": SEQ_LEN,
    "tbptt_steps": None,
    "grad_clip": CLIP,
    "teacher_forcing": 0.5,
    "scaling": "window",
    "loss": "mse",
}


def timed_imports() -> dict[str, float]:
    """Seconds each heavy import takes in this fresh process (reported apart from training)."""
    spent: dict[str, float] = {}
    for name in (
        "torch",
        "pytorch_lightning",
        "mlflow",
        "automl_rnn.trial.runner",
        "automl_rnn.tracking.mlflow_tracker",
    ):
        started = time.perf_counter()
        __import__(name)
        spent[name] = time.perf_counter() - started
    return spent


def source_args(length: int) -> dict[str, Any]:
    return {"task": "sine_mix", "task_params": {"length": length}}


def series_length(samples: int) -> int:
    """The ``sine_mix`` length that gives exactly ``samples`` training windows of SEQ_LEN."""
    from automl_rnn.data import prepare
    from automl_rnn.data.source import DataSource

    length = samples + 200
    for _ in range(3):
        prepared: Any = prepare(DataSource.from_args(source_args(length)))
        windows = len(prepared.starts("train", SEQ_LEN))
        if windows == samples:
            return length
        length += samples - windows
    raise RuntimeError(f"could not size the series for {samples} training windows")


# ---- (a) the bare loop ---------------------------------------------------------------------------


def bare_model() -> torch.nn.Module:
    from torch import Tensor, nn

    class BareLSTM(nn.Module):
        def __init__(self, horizon: int) -> None:
            super().__init__()
            self.lstm = nn.LSTM(1, HIDDEN, num_layers=LAYERS, batch_first=True)
            self.head = nn.Linear(HIDDEN, horizon)

        def forward(self, x: Tensor) -> Tensor:
            _, (h, _) = self.lstm(x)
            return self.head(h[-1]).unsqueeze(-1)  # [B, horizon, 1]

    return BareLSTM(12)


def run_bare(prepared: Any, epochs: int, device: str) -> tuple[float, list[dict[str, float]]]:
    """Train (a); return its seconds and per-epoch (train loss, val loss, val MAE)."""
    import torch
    import torch.nn.functional as F

    started = time.perf_counter()
    train = {
        k: torch.from_numpy(v) for k, v in prepared.windows("train", SEQ_LEN, "window").items()
    }
    val = {
        k: torch.from_numpy(v).to(device)
        for k, v in prepared.windows("val", SEQ_LEN, "window").items()
    }
    torch.manual_seed(SEED)
    model = bare_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    shuffle = torch.Generator().manual_seed(SEED)
    rows = len(train["x"])
    history = []
    for _ in range(epochs):
        model.train()
        total = torch.zeros((), device=device)
        order = torch.randperm(rows, generator=shuffle)
        for begin in range(0, rows, BATCH):
            picked = order[begin : begin + BATCH]
            x = train["x"].index_select(0, picked).to(device, non_blocking=True)
            y = train["y"].index_select(0, picked).to(device, non_blocking=True)
            loss = F.mse_loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
            total += loss.detach() * len(picked)
        model.eval()
        with torch.no_grad():
            pred = model(val["x"])
            val_loss = F.mse_loss(pred, val["y"])
            mae = ((pred - val["y"]) * val["scale"]).abs().mean()  # loc cancels out
        history.append(
            {"train_loss": float(total) / rows, "val_loss": float(val_loss), "val_mae": float(mae)}
        )
    return time.perf_counter() - started, history


# ---- (b) one tracked trial -----------------------------------------------------------------------


class TrialBench:
    """A real search's set-up (spec, plan, study, parent run) in a temporary workspace."""

    def __init__(self, workspace: Path, length: int, epochs: int) -> None:
        from automl_rnn.config.experiment import ExperimentSpec
        from automl_rnn.ownership import owner_tag
        from automl_rnn.search.ledger import Ledger
        from automl_rnn.search.plan import make_plan
        from automl_rnn.search.storage import checkpoint_dir
        from automl_rnn.tracking.search_run import SearchRun
        from automl_rnn.trial.outcome import LocalCheckpoints

        self.spec = ExperimentSpec.model_validate(
            {
                "task": "sine_mix",
                "task_params": {"length": length},
                "topology": "seq2vec",
                "study": STUDY,
                "trials": 1,
                "max_epochs": epochs,
                "epoch_samples": 1,  # one pass per epoch, as (a); 20k windows pass 1024 anyway
                "patience": None,
                "pruner": "none",
                "workspace": str(workspace),
                "seed": SEED,
                "threads": 1,
            }
        )
        self.plan = make_plan(self.spec)
        ledger = Ledger.create(workspace, STUDY, ["minimize"])
        self.owner = owner_tag()
        self.search = SearchRun.open(self.spec, self.plan, ledger, self.owner)
        self.checkpoints = LocalCheckpoints(checkpoint_dir(workspace, STUDY))
        self.number = 0

    def run(self) -> tuple[float, Any]:
        """Run one tracked trial; return its seconds (tracker creation to return) and result."""
        from automl_rnn.tracking.mlflow_tracker import MLflowTrialTracker
        from automl_rnn.trial.outcome import NeverPrune, TrialState
        from automl_rnn.trial.runner import TrialContext, run_trial, trial_seed

        number, self.number = self.number, self.number + 1
        context = TrialContext(
            number,
            trial_seed(SEED, 0),  # every run trains the same thing
            tuple(self.plan.objectives),
            self.checkpoints,
        )
        started = time.perf_counter()
        tracker = MLflowTrialTracker(
            self.search.target, number, self.owner, is_best=lambda r: r.values is not None
        )
        result = run_trial(
            self.spec, self.plan.prepared, dict(PARAMS), NeverPrune(), tracker, context
        )
        seconds = time.perf_counter() - started
        if result.state is not TrialState.COMPLETE:
            raise RuntimeError(f"trial {number} ended {result.state.value}: {result.reason}")
        return seconds, result

    def close(self) -> None:
        self.search.client.set_terminated(self.search.run_id, status="FINISHED")


# ---- main ----------------------------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20_000, help="training windows")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile one more trial")
    parser.add_argument(
        "--tune-malloc",
        action="store_true",
        help="apply automl_rnn.perf.tune_allocator (as search workers do) to both (a) and (b)",
    )
    args = parser.parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the trial's Trainer would pick a GPU itself
    if args.tune_malloc:
        from automl_rnn.perf import tune_allocator

        print(f"glibc allocator tuned for both: {tune_allocator()}", flush=True)

    imports = timed_imports()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit(f"--device cuda: torch {torch.__version__} sees no CUDA device")
    torch.set_num_threads(1)  # as every search worker (ExperimentSpec.threads = 1)
    print(
        "imports (s, not counted): "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in imports.items()),
        flush=True,
    )
    length = series_length(args.samples)
    with tempfile.TemporaryDirectory(prefix="automl-rnn-overhead-") as folder:
        started = time.perf_counter()
        bench = TrialBench(Path(folder), length, args.epochs)
        print(
            f"data: sine_mix length {length} -> {args.samples} training windows of {SEQ_LEN}; "
            f"prepared, MLflow store and parent run set up in "
            f"{time.perf_counter() - started:.2f} s (once per search, not counted)",
            flush=True,
        )
        runs = measure(bench, args.epochs, args.repeats, args.device)
        if args.profile is not None:
            from overhead_profile import profile_trial

            profile_trial(bench, args.profile)
        bench.close()
    report(runs, torch, args.device)


class Runs:
    """The timed runs of (a) and (b): wall and process CPU seconds, the trial's own figures."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {"a": [], "b": []}
        self.cpu: dict[str, list[float]] = {"a": [], "b": []}  # process CPU, all threads
        self.main: dict[str, list[float]] = {"a": [], "b": []}  # CPU of the training thread
        self.inside: list[float] = []  # the trial's own wall_seconds (before its run is closed)
        self.fitting: list[float] = []  # the Trainer's epochs (training + validation)
        self.bare_history: list[dict[str, float]] = []
        self.result: Any = None


def measure(bench: TrialBench, epochs: int, repeats: int, device: str) -> Runs:
    """One warm-up of each, then ``repeats`` alternating pairs."""
    prepared = bench.plan.prepared
    warm_a, _ = run_bare(prepared, epochs, device)
    warm_b, _ = bench.run()
    print(f"warm-up (not counted): a {warm_a:.2f} s, b {warm_b:.2f} s", flush=True)
    runs = Runs()
    for repeat in range(repeats):
        for kind in ("a", "b") if repeat % 2 == 0 else ("b", "a"):
            cpu_started, main_started = cpu_seconds(), time.thread_time()
            if kind == "a":
                seconds, runs.bare_history = run_bare(prepared, epochs, device)
                line = f"run {repeat + 1} a bare:  {seconds:7.2f} s (cpu %.2f)"
            else:
                seconds, runs.result = bench.run()
                runs.inside.append(runs.result.metrics["wall_seconds"])
                runs.fitting.append(sum(e["epoch_seconds"] for e in runs.result.history))
                line = (
                    f"run {repeat + 1} b trial: {seconds:7.2f} s (cpu %.2f; trial wall_seconds "
                    f"{runs.inside[-1]:.2f}, epochs {runs.fitting[-1]:.2f})"
                )
            runs.main[kind].append(time.thread_time() - main_started)
            runs.cpu[kind].append(cpu_seconds() - cpu_started)
            runs.times[kind].append(seconds)
            print(line % runs.cpu[kind][-1], flush=True)
    return runs


def report(runs: Runs, torch: Any, device: str) -> None:
    a, b = statistics.median(runs.times["a"]), statistics.median(runs.times["b"])
    print(f"a bare  runs (s): {fmt(runs.times['a'])}; median {a:.2f}")
    print(
        f"b trial runs (s): {fmt(runs.times['b'])}; median {b:.2f} (its epochs: median "
        f"{statistics.median(runs.fitting):.2f}; trial wall_seconds: median "
        f"{statistics.median(runs.inside):.2f})"
    )
    last_a, last_b = runs.bare_history[-1], runs.result.history[-1]
    print(
        f"last epoch, a: train_loss {last_a['train_loss']:.4f} val_loss {last_a['val_loss']:.4f} "
        f"val_mae {last_a['val_mae']:.4f}; b: train_loss {last_b['train_loss']:.4f} "
        f"val_loss {last_b['val_loss']:.4f} val_mae {last_b['val_metric']:.4f}"
    )
    cpu_a, cpu_b = statistics.median(runs.cpu["a"]), statistics.median(runs.cpu["b"])
    main_a, main_b = statistics.median(runs.main["a"]), statistics.median(runs.main["b"])
    print(
        f"process CPU seconds (user + sys, every thread), median: a {cpu_a:.2f}, b {cpu_b:.2f}; "
        f"ratio {cpu_b / cpu_a:.3f} (less sensitive than wall time to other jobs on the machine); "
        f"the training thread alone: a {main_a:.2f}, b {main_b:.2f}, ratio {main_b / main_a:.3f}"
    )
    where = "CPU"
    if device == "cuda":
        gpu_mb = runs.result.metrics.get("peak_gpu_mb", 0.0)
        where = f"{torch.cuda.get_device_name(0)} (the trial's peak GPU memory {gpu_mb:.0f} MiB)"
    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, 1 torch thread, "
        f"training on {where}"
    )
    print(f"RESULT trial_overhead={b / a:.3f}")


if __name__ == "__main__":
    main()
