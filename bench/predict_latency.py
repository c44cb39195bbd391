"""Inference latency of the exported air_passengers model: ONNX (onnxruntime) vs eager PyTorch.

    python bench/predict_latency.py [--repeats 5] [--trials 4] [--max-epochs 10]
    python bench/predict_latency.py --workspace DIR --study NAME   # an existing search

Searches air_passengers (default forecast space, fresh temporary workspace, tracking off) unless a
workspace is given, exports the best trial (``--format onnx,torchscript``), then times the graph
on one sequence and on a batch of 256 windows: onnxruntime on ``model.onnx`` against the eager
network rebuilt from ``weights.pt`` (``torch.inference_mode``), both with one intra-op thread on
the CPU. Each repeat times both engines interleaved (median of many calls after a warm-up); the
figures are medians over repeats. Last line:
``RESULT onnx_speedup_single=<eager/onnx> onnx_speedup_batch=<eager/onnx>``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def per_call_ms(call: Callable[[], object], calls: int) -> float:
    """Median wall time of ``calls`` calls (after 5 warm-up calls), in milliseconds."""
    for _ in range(5):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def search(workspace: str, trials: int, max_epochs: int, seed: int) -> str:
    from automl_rnn import api

    summary = api.search(
        {
            "task": "air_passengers",
            "trials": trials,
            "max_epochs": max_epochs,
            "workspace": workspace,
            "seed": seed,
            "tracking": False,
        },
        progress=False,
    )
    return str(summary["study"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workspace", help="Use this workspace's study instead of searching.")
    parser.add_argument("--study", default="air_passengers")
    args = parser.parse_args()

    import onnxruntime
    import torch

    from automl_rnn import api
    from automl_rnn.data import prepare
    from automl_rnn.data.source import DataSource
    from automl_rnn.export.network import load_inference_net
    from automl_rnn.export.runtime import OnnxEngine, load_bundle

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        workspace = args.workspace or str(Path(scratch) / "workspace")
        study = args.study
        if args.workspace is None:
            study = search(workspace, args.trials, args.max_epochs, args.seed)
        out = Path(scratch) / "model"
        api.export(study, str(out), workspace=workspace, formats="onnx,torchscript")
        bundle = load_bundle(out, engine="onnx")
        spec = bundle.pre["input"]
        prepared = prepare(DataSource.from_args({"task": "air_passengers"}))
        windows = np.concatenate(
            [prepared.windows(s, spec["window"], spec["scaling"])["x"] for s in ("train", "val")]
        )
        single = np.ascontiguousarray(windows[-1:])
        batch = np.ascontiguousarray(np.resize(windows, (256, *windows.shape[1:])))
        eager = load_inference_net(bundle.pre["network"], out / "weights.pt")
        onnx = OnnxEngine(out / "model.onnx", threads=1)

        def eager_run(x: np.ndarray) -> Callable[[], object]:
            tensor = torch.from_numpy(x)

            def call() -> object:
                with torch.inference_mode():
                    return eager(tensor)

            return call

        with torch.inference_mode():
            diff = float(np.abs(eager(torch.from_numpy(batch)).numpy() - onnx.run(batch)).max())
        results: dict[str, list[float]] = {
            k: [] for k in ("eager_1", "onnx_1", "eager_b", "onnx_b")
        }
        for _ in range(args.repeats):
            results["eager_1"].append(per_call_ms(eager_run(single), 300))
            results["onnx_1"].append(per_call_ms(lambda: onnx.run(single), 300))
            results["eager_b"].append(per_call_ms(eager_run(batch), 40))
            results["onnx_b"].append(per_call_ms(lambda: onnx.run(batch), 40))
        arch = bundle.pre["network"]["arch"]
    med = {k: statistics.median(v) for k, v in results.items()}
    print(
        f"model: {arch['cell']} {arch['topology']}, {arch['num_layers']} layer(s) x "
        f"{arch['hidden_size']}, window {spec['window']}, horizon {bundle.pre['output']['horizon']}"
    )
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, python "
        f"{platform.python_version()}, torch {torch.__version__}, onnxruntime "
        f"{onnxruntime.__version__}, 1 thread each; max |eager - onnx| on the batch {diff:.2g}"
    )
    print(
        f"{'batch':>6} {'eager ms':>10} {'onnx ms':>10} {'speedup':>8}   (median of {args.repeats})"
    )
    for label, e, o in (("1", "eager_1", "onnx_1"), ("256", "eager_b", "onnx_b")):
        print(f"{label:>6} {med[e]:>10.3f} {med[o]:>10.3f} {med[e] / med[o]:>8.2f}")
    single_speedup = med["eager_1"] / med["onnx_1"]
    batch_speedup = med["eager_b"] / med["onnx_b"]
    sys.stdout.flush()
    print(f"RESULT onnx_speedup_single={single_speedup:.2f} onnx_speedup_batch={batch_speedup:.2f}")


if __name__ == "__main__":
    main()
