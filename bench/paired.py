"""Experiment: one change of a trial's parameters, paired: the same configuration and seed with
and without it (by default the seasonal-naive skip; ``--change lr*0.5`` halves the learning rate,
``--change skip=seasonal_naive`` sets a value, ``--change seed+1`` changes only the seed: the
null change, whose spread is the noise any other change must stand out from).

Comparing two search spaces with 10 trials mostly compares two searches' luck: one more
categorical parameter changes every later draw of the sampler, and a search whose best trial
never uses the new option still moves the median test rel_mae by tens of percent
(BENCHMARKS.md, "The seasonal-naive skip"). This holds everything else fixed: for each kept
search (``bench/peers.py --keep DIR``), its ``--top`` best completed trials (for the skip: those
whose topology can take it, seq2vec and encoder_decoder) are trained again by the trial runner
itself (same recipe and seed, best epoch kept on validation, never pruned), once as they were
and once changed; both are scored on the search's validation and test windows. Run it on
``--backtest`` searches so that no test month is read.

    .venv/bin/python bench/paired.py --kept /work/ens/tuning --top 4 --out pairs.jsonl

Rows are appended to ``--out`` as they finish (a rerun skips them). Last line:
``RESULT val_wins=<pairs where the change lowers validation rel_mae>/<pairs> test_wins=...
val_ratio=<median val rel_mae ratio, changed / as was> test_ratio=... jump_ratio=... pairs=<n>``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from pathlib import Path
from typing import Any


def jumpiness(curve: list[float]) -> float:
    """The median relative change of the validation MAE between neighbouring epochs, over the
    second half of training (how much of a "best epoch" is a lucky spike)."""
    late = curve[len(curve) // 2 :]
    steps = [abs(b - a) / a for a, b in itertools.pairwise(late) if a > 0]
    return statistics.median(steps) if steps else float("nan")


def changed(params: dict[str, Any], change: str) -> dict[str, Any]:
    """``params`` with ``change`` applied: ``name=value`` (a YAML scalar) or ``name*factor``."""
    import yaml

    if "*" in change:
        name, factor = change.split("*", 1)
        value = params[name] * float(factor)
        return {**params, name: round(value) if isinstance(params[name], int) else value}
    name, value = change.split("=", 1)
    return {**params, name: yaml.safe_load(value)}


def retrain(workspace: Path, top: int, change: str) -> list[dict[str, Any]]:
    """Each eligible trial's scores as it was and changed (same seed)."""
    import torch

    from automl_rnn.export.bundle import _prepare, _stored_spec
    from automl_rnn.kinds import SKIP_TOPOLOGIES
    from automl_rnn.search.ledger import Ledger
    from automl_rnn.search.objectives import resolve_objectives
    from automl_rnn.trial.outcome import NeverPrune, NullTracker
    from automl_rnn.trial.runner import TrialContext, run_trial

    (study,) = [p.name for p in (workspace / "checkpoints").iterdir()]
    snapshot = Ledger.open(workspace, study, None).snapshot()
    spec = _stored_spec(snapshot.info, workspace)
    prepared = _prepare(spec, study)
    objectives = tuple(resolve_objectives(spec.objectives or ["val_mae"], "forecast"))
    torch.set_num_threads(1)
    eligible = snapshot.ranked()
    if change.startswith("skip="):
        eligible = [t for t in eligible if t.params.get("topology") in SKIP_TOPOLOGIES]
    rows = []
    for trial in eligible[:top]:
        scores: dict[str, dict[str, float]] = {}
        reseed = int(change.removeprefix("seed+")) if change.startswith("seed+") else 0
        after = trial.params if reseed else changed(trial.params, change)
        for side, params in (("before", trial.params), ("after", after)):
            seed = int(trial.seed or 0) + (reseed if side == "after" else 0)
            context = TrialContext(number=trial.number, seed=seed, objectives=objectives)
            result = run_trial(spec, prepared, params, NeverPrune(), NullTracker(), context)
            scores[side] = {k: result.metrics.get(k, float("nan")) for k in (
                "val_rel_mae", "test_rel_mae", "val_mae", "test_mae", "best_epoch")}  # fmt: skip
            scores[side]["val_jump"] = jumpiness(
                [e["val_metric"] for e in result.history if "val_metric" in e]
            )
        rows.append({
            "search": workspace.name, "trial": trial.number,
            "topology": trial.params["topology"], "before": scores["before"],
            "after": scores["after"], "change": change,
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kept", nargs="+", required=True, help="folders of kept searches")
    parser.add_argument("--top", type=int, default=4)
    parser.add_argument(
        "--change", default="skip=seasonal_naive", help="name=value, name*factor or seed+N"
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    done = {r["search"] for r in rows}
    for kept in args.kept:
        for workspace in sorted(Path(kept).iterdir()):
            if workspace.name in done or not (workspace / "checkpoints").is_dir():
                continue
            for row in retrain(workspace, args.top, args.change):
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                rows.append(row)
                n, s = row["before"], row["after"]
                print(f"| {row['search']} #{row['trial']} {row['topology']} | "
                      f"{n['val_rel_mae']:.3f} / {n['test_rel_mae']:.3f} | "
                      f"{s['val_rel_mae']:.3f} / {s['test_rel_mae']:.3f} |", flush=True)  # fmt: skip
    result = []
    for split in ("val", "test"):
        ratios = [r["after"][f"{split}_rel_mae"] / r["before"][f"{split}_rel_mae"] for r in rows]
        wins = sum(x < 1 for x in ratios)
        result += [
            f"{split}_wins={wins}/{len(ratios)}",
            f"{split}_ratio={statistics.median(ratios):.3f}",
        ]
    jumps = [r["after"].get("val_jump", float("nan")) / r["before"].get("val_jump", float("nan"))
             for r in rows if "val_jump" in r["before"]]  # fmt: skip
    if jumps:
        result.append(f"jump_ratio={statistics.median(jumps):.3f}")
    print("RESULT " + " ".join(result) + f" pairs={len(rows)}")


if __name__ == "__main__":
    main()
