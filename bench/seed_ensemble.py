"""Experiment: the best trial's configuration trained again with other seeds, forecasts averaged.

The top-k ensemble (``bench/ensemble.py``) mixes configurations; this averages one configuration
over initialisations and batch orders, which is what the spread over search seeds suggests. For
each kept search (``bench/peers.py --keep DIR``): the best trial's parameters retrained by the
trial runner itself (same recipe, best epoch kept on validation, never pruned) with
``--copies - 1`` other seeds; the ensemble is the mean of the original trial and the copies.

    .venv/bin/python bench/seed_ensemble.py --kept /tmp/kept/tuning --copies 3

Last line: ``RESULT seeds_ratio=<median test rel_mae(ensemble) / rel_mae(best trial)>
seeds_wins=<searches it beats the best trial>/<searches> [arima_ratio=...]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def forecasts(prepared: Any, hp: Any, state: dict[str, Any], split: str) -> np.ndarray:
    """A trained configuration's forecasts of a split, in the series' units."""
    from automl_rnn.export.network import build_inference_net, network_spec, run
    from automl_rnn.training.recipe import arch_of

    shape = prepared.shape(str(hp.topology))
    net = build_inference_net(network_spec(arch_of(hp), shape), state)
    windows = prepared.windows(split, int(hp.seq_len), str(hp.scaling))
    return run(net, windows["x"]).astype(np.float64) * windows["scale"] + windows["loc"]  # type: ignore[no-any-return]


def seed_ensemble(workspace: Path, copies: int) -> dict[str, dict[str, float]]:
    """Scores of the best trial alone and of its seed ensemble, on val and test."""
    import torch

    from automl_rnn.export.bundle import _prepare, _stored_spec
    from automl_rnn.export.loading import load_weights
    from automl_rnn.search.ledger import Ledger
    from automl_rnn.search.objectives import resolve_objectives
    from automl_rnn.search.storage import checkpoint_dir
    from automl_rnn.training.recipe import resolve_params
    from automl_rnn.trial.outcome import LocalCheckpoints, NeverPrune, NullTracker
    from automl_rnn.trial.runner import TrialContext, run_trial

    (study,) = [p.name for p in (workspace / "checkpoints").iterdir()]
    snapshot = Ledger.open(workspace, study, None).snapshot()
    best = snapshot.ranked()[0]
    spec = _stored_spec(snapshot.info, workspace)
    prepared = _prepare(spec, study)
    hp = resolve_params(best.params, prepared)
    torch.set_num_threads(1)
    states = [
        load_weights(LocalCheckpoints(checkpoint_dir(workspace, study)).path(best.number), "best")
    ]
    with tempfile.TemporaryDirectory() as folder:
        sink = LocalCheckpoints(Path(folder))
        for copy in range(1, copies):
            context = TrialContext(
                number=copy, seed=int(best.seed or 0) + 7919 * copy,
                objectives=tuple(resolve_objectives(spec.objectives or ["val_mae"], "forecast")),
                checkpoints=sink,
            )  # fmt: skip
            result = run_trial(spec, prepared, best.params, NeverPrune(), NullTracker(), context)
            if result.checkpoint:
                states.append(load_weights(Path(result.checkpoint), f"copy {copy}"))
    out: dict[str, dict[str, float]] = {"best": {}, "seeds": {}}
    for split in ("val", "test"):
        each = [forecasts(prepared, hp, state, split) for state in states]
        out["best"].update(prepared.score(split, each[0]))
        out["seeds"].update(prepared.score(split, np.mean(each, axis=0)))
    out["seeds"]["members"] = float(len(states))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kept", required=True)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--peers", help="peers.py's rows of the same searches (AutoARIMA)")
    args = parser.parse_args()
    arima: dict[tuple[str, int], float] = {}
    if args.peers:
        for line in Path(args.peers).read_text().splitlines():
            row = json.loads(line)
            if row["system"] == "auto_arima":
                arima[(row["series"], row["seed"])] = row["mae"]
    ratios, wins, against = [], 0, []
    print("| search | best trial val / test rel_mae | seed ensemble val / test rel_mae |")
    print("| --- | --- | --- |")
    for workspace in sorted(Path(args.kept).iterdir()):
        found = seed_ensemble(workspace, args.copies)
        b, s = found["best"], found["seeds"]
        print(f"| {workspace.name} | {b['val_rel_mae']:.3f} / {b['test_rel_mae']:.3f} | "
              f"{s['val_rel_mae']:.3f} / {s['test_rel_mae']:.3f} |", flush=True)  # fmt: skip
        ratios.append(s["test_rel_mae"] / b["test_rel_mae"])
        wins += s["test_rel_mae"] < b["test_rel_mae"]
        name, seed = workspace.name.rsplit("-s", 1)
        key = (name.removesuffix("-backtest"), int(seed))
        if key in arima:
            against.append(s["test_mae"] / arima[key])
    extra = f" arima_ratio={statistics.median(against):.3f}" if against else ""
    print(f"RESULT seeds_ratio={statistics.median(ratios):.3f} seeds_wins={wins}/{len(ratios)}"
          f"{extra} searches={len(ratios)}")  # fmt: skip


if __name__ == "__main__":
    main()
