"""Choose forecast defaults without the test part: a backtest inside the training and validation data.

    python bench/forecast_defaults.py [--set lr_schedule=none] [--seeds 0 1 2 3] [--trials 10]

The README's first command searches ``air_passengers`` (144 months) and reports its best trial's
test ``rel_mae`` on the last 12 months (1960). Defaults must not be tuned on that year. This
script cuts the series at the end of 1959 and runs the same search on the cut series: the same
task settings (validation 24 points, test 12), so the "test" year is 1959, which lies inside the
real split's validation part. It compares the space as shipped (``--space``, default
``forecast``) with the same space changed by ``--set name=value`` (default: no learning-rate
decay, the previous default), seed by seed, on the best trial's backtest ``rel_mae``.

Last line: ``RESULT backtest_rel_mae=<median, shipped> baseline_rel_mae=<median, changed>
ratio=<shipped/changed>`` (lower is better). A search of 10 trials takes 1-2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
from pathlib import Path
from typing import Any

import yaml

CUTOFF_ROWS = 132  # 1949-01 .. 1959-12


def backtest_task(folder: Path) -> Path:
    """``air_passengers`` cut at the end of 1959, as a task file in ``folder``."""
    from automl_rnn.data.catalog import data_file, load_task

    spec, path = load_task("air_passengers")
    rows = data_file(spec, path).read_text().splitlines()
    (folder / "air_passengers_1959.csv").write_text("\n".join(rows[: CUTOFF_ROWS + 1]) + "\n")
    task = spec.model_dump(mode="json", exclude_none=True)
    task.update(name="air_passengers_1959", file="air_passengers_1959.csv", size=CUTOFF_ROWS)
    task["description"] = "air_passengers up to 1959; test = 1959 (a backtest)"
    task_file = folder / "air_passengers_1959.yaml"
    task_file.write_text(yaml.safe_dump(task, sort_keys=False))
    return task_file


def changed_space(space: str, changes: list[str], folder: Path) -> Path:
    """A copy of ``space`` with each ``name=value`` (YAML value) set as a fixed parameter."""
    from automl_rnn.search.space import load_space

    data = yaml.safe_load(load_space(space).path.read_text())
    for change in changes:
        name, _, value = change.partition("=")
        data["params"][name] = yaml.safe_load(value)
    path = folder / "changed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def best_rel_mae(task: Path, space: str, seed: int, trials: int) -> dict[str, Any]:
    from automl_rnn import api

    workspace = tempfile.mkdtemp(prefix="bench-defaults-")
    summary = api.search(
        {"task": str(task), "space": space, "trials": trials, "seed": seed,
         "workspace": workspace, "tracking": False},
        progress=False,
    )  # fmt: skip
    if not summary["counts"]["complete"]:  # every trial pruned or failed: no model to score
        return {"rel_mae": math.inf, "val": math.inf}
    best = api.best(summary["study"], workspace)
    return {"rel_mae": float(best["metrics"]["test_rel_mae"]), "val": float(best["value"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="forecast")
    parser.add_argument("--set", dest="changes", action="append", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    changes = args.changes or ["lr_schedule=none"]
    folder = Path(tempfile.mkdtemp(prefix="bench-backtest-"))
    task = backtest_task(folder)
    baseline = str(changed_space(args.space, changes, folder))
    ours_all, base_all = [], []
    for seed in args.seeds:
        ours = best_rel_mae(task, args.space, seed, args.trials)
        base = best_rel_mae(task, baseline, seed, args.trials)
        ours_all.append(ours["rel_mae"])
        base_all.append(base["rel_mae"])
        print(
            f"seed {seed}: shipped rel_mae {ours['rel_mae']:.3f} (val {ours['val']:.2f}), "
            f"with {' '.join(changes)} {base['rel_mae']:.3f} (val {base['val']:.2f})",
            flush=True,
        )
    ours_median, base_median = statistics.median(ours_all), statistics.median(base_all)
    print(
        f"RESULT backtest_rel_mae={ours_median:.3f} baseline_rel_mae={base_median:.3f} "
        f"ratio={ours_median / base_median:.3f}"
    )


if __name__ == "__main__":
    main()
