"""Peak training memory of one epoch vs sequence length, with truncated BPTT (k=64) and full BPTT.

Each configuration runs in a fresh subprocess (so peaks do not mix): ``ru_maxrss`` on CPU,
``torch.cuda.max_memory_allocated`` on CUDA. The network is a 2-layer LSTM seq2seq (next-step
prediction) trained by the real RecurrentModule under a Lightning Trainer.

    python bench/tbptt_memory.py [--repeats 3] [--device cpu|cuda]

Last line: ``RESULT tbptt_mem_ratio=<peak@4096 / peak@256, tbptt 64> full_mem_ratio=<same, full>``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

LENGTHS = (256, 1024, 4096)
CHILD = r"""
import json, resource, sys, warnings
warnings.filterwarnings("ignore")
import logging; logging.disable(logging.WARNING)
import torch, pytorch_lightning as pl
from torch.utils.data import DataLoader
from automl_rnn.data.contract import DataShape
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import RecurrentModule, TrainConfig

steps, tbptt, device = int(sys.argv[1]), (None if sys.argv[2] == "none" else int(sys.argv[2])), sys.argv[3]
torch.manual_seed(0)
rows, batch_size, hidden = 32, 16, 256
wave = torch.sin(torch.linspace(0, 200, steps + 1)).repeat(rows, 1) + 0.1 * torch.randn(rows, steps + 1)
x, y = wave[:, :-1, None], wave[:, 1:, None]
batches = [{"x": x[i:i + batch_size], "y": y[i:i + batch_size]} for i in range(0, rows, batch_size)]
shape = DataShape("regression", 1, 1, 1)
net = build_network(ArchConfig(cell="lstm", topology="seq2seq", num_layers=2, hidden_size=hidden), shape)
module = RecurrentModule(net, shape, TrainConfig(tbptt_steps=tbptt))
trainer = pl.Trainer(max_epochs=1, accelerator=device, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                     limit_val_batches=0)
if device == "cuda":
    torch.cuda.reset_peak_memory_stats()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
trainer.fit(module, train_dataloaders=DataLoader(batches, batch_size=None))
if device == "cuda":
    peak = torch.cuda.max_memory_allocated()
    baseline = 0
else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    baseline = before
print(json.dumps({"peak": peak, "baseline": baseline, "seconds": module.history[-1]["epoch_seconds"]}))
"""


def measure(steps: int, tbptt: int | None, device: str) -> dict[str, float]:
    """One configuration in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(steps), str(tbptt or "none"), device],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    peaks: dict[tuple[str, int], float] = {}
    print(f"{'mode':>8} {'T':>5} {'peak MiB':>9} {'over import MiB':>16} {'epoch s':>8}")
    for mode, tbptt in (("tbptt64", 64), ("full", None)):
        for steps in LENGTHS:
            runs = [measure(steps, tbptt, args.device) for _ in range(args.repeats)]
            peak = statistics.median(r["peak"] for r in runs)
            extra = statistics.median(r["peak"] - r["baseline"] for r in runs)
            seconds = statistics.median(r["seconds"] for r in runs)
            peaks[(mode, steps)] = peak
            print(
                f"{mode:>8} {steps:>5} {peak / 2**20:>9.0f} {extra / 2**20:>16.0f} {seconds:>8.2f}"
            )
    tbptt_ratio = peaks[("tbptt64", 4096)] / peaks[("tbptt64", 256)]
    full_ratio = peaks[("full", 4096)] / peaks[("full", 256)]
    print(f"RESULT tbptt_mem_ratio={tbptt_ratio:.3f} full_mem_ratio={full_ratio:.3f}")


if __name__ == "__main__":
    main()
