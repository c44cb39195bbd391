"""How preparing long CSVs scales: many series and labelled sequences, time and peak memory.

    python bench/data_scale.py [--series 1000 --steps 500] [--sequences 20000] [--repeats 3]
                               [--parts panel,seq]

Panel: ``--series`` seeded daily series of ``--steps`` steps (id, date, sales, price; the
generator of the tests), prepared by :func:`automl_rnn.data.panel.read_panel` and the first
training batch of a seq2vec loader drawn (windows are indices, gathered a batch at a time) --
what a search does before its first optimiser step; baseline: ``pandas.read_csv`` of the file.

Sequences: writes ``--sequences`` seeded sequences of 50-400 steps x 6 channels (one row per step: id, t,
c0..c5, label) to a temporary CSV, then, each in a fresh process, ``--repeats`` times:

* baseline: ``pandas.read_csv`` of the file with native dtypes (the floor of reading it at all);
* ours: :func:`automl_rnn.data.sequences.read_sequences` (read, validate, group, sort, split,
  scale, pad) -- what ``search`` and ``inspect`` do before the first trial.

Peak memory is the process's maximum resident set after the imports, less its resident set
before reading; ``raw`` is the long table's in-memory size as pandas holds it (native dtypes).
Medians of the repeats. Last line: ``RESULT panel_prepare_s=<ours> panel_mem_ratio=<peak extra
/ raw> panel_read_baseline_s=<pandas> seq_prepare_s=<ours> seq_read_baseline_s=<pandas>
seq_prepare_ratio=<ours / pandas> seq_mem_ratio=<peak extra / raw> sequences=<N>``. Goals (issue
18): prepare <= 3 s and memory <= 3x for 1,000 x 500 series, prepare <= 3 s for 20,000 sequences.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

CHANNELS = 6

#: Runs in a fresh process: prints {"seconds", "peak_extra", "raw"} for one way of reading.
PROBE = """
import json, resource, sys, time
import numpy as np, pandas as pd
from automl_rnn.data.sequences import SequenceColumns, read_sequences

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

path, way = sys.argv[1], sys.argv[2]
if way == "panel":
    import torch  # the search imports it before preparing: not part of the preparation
    from automl_rnn.data.panel import read_panel
    from automl_rnn.data.panel_data import PanelColumns
before = rss()
start = time.perf_counter()
if way == "pandas":
    frame = pd.read_csv(path)
    raw = int(frame.memory_usage(deep=True).sum())
elif way == "panel":
    data = read_panel(path, PanelColumns("series", "sales", "date", ("price",)), horizon=7)
    batch = next(iter(data.loaders("seq2vec", 28, 64).train))
    raw = 0
else:
    columns = SequenceColumns("id", tuple(f"c{j}" for j in range(6)), "label", "t")
    data = read_sequences(path, columns)
    raw = 0
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_extra": peak - before, "raw": raw}))
"""


def write_table(path: Path, sequences: int, seed: int = 0) -> int:
    """The long CSV; returns its rows."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(50, 401, sequences)
    ids = np.repeat(np.arange(sequences), lengths)
    steps = np.concatenate([np.arange(n) for n in lengths])
    values = rng.normal(size=(len(ids), CHANNELS)).astype(np.float32)
    frame = pd.DataFrame({"id": ids, "t": steps})
    for j in range(CHANNELS):
        frame[f"c{j}"] = values[:, j]
    frame["label"] = np.array(["a", "b", "c"])[ids % 3]
    frame.to_csv(path, index=False, float_format="%.4f")
    return len(frame)


def write_panel(path: Path, series: int, steps: int, seed: int = 0) -> int:
    """The many-series CSV (every series ``steps`` long); returns its rows."""
    from automl_rnn.data.generators import panel_table

    frame = pd.DataFrame(panel_table(series, (steps, steps), seed)).drop(columns="size")
    frame.to_csv(path, index=False, float_format="%.3f", date_format="%Y-%m-%d")
    return len(frame)


def medians(path: Path, ways: tuple[str, str], repeats: int) -> dict[str, dict[str, float]]:
    """Median figures of each way of reading ``path``, alternating, each in a fresh process."""
    runs: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
    for _ in range(repeats):
        for way in ways:
            runs[way].append(probe(path, way))
            print(way, json.dumps(runs[way][-1]), flush=True)
    return {
        way: {key: statistics.median(r[key] for r in found) for key in found[0]}
        for way, found in runs.items()
    }


def probe(path: Path, way: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), way], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1_000)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--sequences", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", default="panel,seq")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    figures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="data-scale-") as folder:
        if "panel" in parts:
            path = Path(folder) / "panel.csv"
            rows = write_panel(path, args.series, args.steps)
            print(f"{args.series} series x {args.steps} steps, {rows} rows, "
                  f"{path.stat().st_size / 1e6:.0f} MB CSV")  # fmt: skip
            found = medians(path, ("pandas", "panel"), args.repeats)
            raw = found["pandas"]["raw"]
            figures.append(
                f"panel_prepare_s={found['panel']['seconds']:.2f} "
                f"panel_mem_ratio={found['panel']['peak_extra'] / raw:.1f} "
                f"panel_read_baseline_s={found['pandas']['seconds']:.2f}"
            )
        if "seq" in parts:
            path = Path(folder) / "sequences.csv"
            rows = write_table(path, args.sequences)
            print(
                f"{args.sequences} sequences, {rows} rows, {path.stat().st_size / 1e6:.0f} MB CSV"
            )
            found = medians(path, ("pandas", "ours"), args.repeats)
            raw = found["pandas"]["raw"]
            ours, base = found["ours"]["seconds"], found["pandas"]["seconds"]
            figures.append(
                f"seq_prepare_s={ours:.2f} seq_read_baseline_s={base:.2f} "
                f"seq_prepare_ratio={ours / base:.1f} "
                f"seq_mem_ratio={found['ours']['peak_extra'] / raw:.1f} sequences={args.sequences}"
            )
    print("RESULT " + " ".join(figures))


if __name__ == "__main__":
    main()
