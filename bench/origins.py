"""Experiment: backtest searches at many forecast origins, read as one panel of windows.

One test window per series makes every comparison a lottery: a search's test rel_mae moves by a
factor of two with its seed alone (``bench/paired.py --change seed+1``). This reads the kept
workspaces of ``bench/peers.py --backtest --origin K --keep DIR`` (named
``<series>-backtest[K]-s<seed>``), each one window (series, origin) and one seed, and reports:
the best trial's test rel_mae by window and seed next to AutoARIMA's and AutoETS's (which every
forecast search scores on the same windows); the median MAE ratio to AutoARIMA; how much of the
spread is the seed's and how much the window's; how often, of two seeds on one window, the one
with the lower validation MAE also has the lower test MAE; and with ``--sizes 1,3`` the top-K
ensemble (``export --ensemble K``, through ``bench/ensemble.py``) against the best trial.

    .venv/bin/python bench/origins.py --kept /work/multi/o* --sizes 1,2,3,5

Last line: ``RESULT windows=<n> searches=<n> arima_ratio=<median MAE ours / AutoARIMA>
arima_windows=<windows where the median seed beats AutoARIMA>/<n> seed_sd=<median over windows
of the sd of log rel_mae over seeds> window_sd=<sd over windows of their mean log rel_mae>
val_agrees=<seed pairs>/<n> [k<K>_wins=<searches>/<n> k<K>_ratio=<median>
k<K>_worst_better=<windows whose worst seed is better with K>/<n>]``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import statistics
from collections import defaultdict
from pathlib import Path

NAME = re.compile(r"(?P<series>.+)-backtest(?P<origin>\d*)-s(?P<seed>\d+)$")
Window = tuple[str, int]


def search_scores(workspace: Path) -> dict[str, float]:
    """The best trial's validation and test scores, and the classical models' on the same windows."""
    from automl_rnn.search.ledger import Ledger

    (study,) = [p.name for p in (workspace / "checkpoints").iterdir()]
    snapshot = Ledger.open(workspace, study, None).snapshot()
    best = snapshot.best()
    assert best is not None, workspace
    scores = {k: best.metrics[k] for k in ("val_mae", "test_mae", "test_rel_mae")}
    for model, found in (snapshot.info.classical or {}).items():
        if isinstance(found, dict) and "test_mae" in found:
            scores[f"{model}_mae"] = float(found["test_mae"])
            scores[f"{model}_rel_mae"] = float(found["test_rel_mae"])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kept", nargs="+", required=True, help="folders of kept searches")
    parser.add_argument("--sizes", default="1", help="ensemble sizes; 1 alone exports nothing")
    args = parser.parse_args()
    sizes = [int(k) for k in args.sizes.split(",") if int(k) > 1]
    searches: dict[Window, dict[int, dict[str, float]]] = defaultdict(dict)
    ensembles: dict[Window, dict[int, dict[int, float]]] = defaultdict(dict)
    for workspace in sorted(w for kept in args.kept for w in Path(kept).iterdir()):
        match = NAME.match(workspace.name)
        if match is None or not (workspace / "checkpoints").is_dir():
            continue
        window = (match["series"], int(match["origin"] or 1))
        searches[window][int(match["seed"])] = search_scores(workspace)
        if sizes:
            from ensemble import scores as ensemble_scores  # bench/ensemble.py

            found = ensemble_scores(workspace, sizes)
            ensembles[window][int(match["seed"])] = {k: v["test_rel_mae"] for k, v in found.items()}
    print("| series | origin | best trial's test rel_mae by seed | AutoARIMA | AutoETS |")
    print("| --- | --- | --- | --- | --- |")
    for (series, origin), by_seed in sorted(searches.items()):
        ours = " / ".join(f"{by_seed[s]['test_rel_mae']:.3f}" for s in sorted(by_seed))
        first = next(iter(by_seed.values()))
        arima, ets = (
            first.get("auto_arima_rel_mae", math.nan),
            first.get("auto_ets_rel_mae", math.nan),
        )
        print(f"| {series} | {origin} | {ours} | {arima:.3f} | {ets:.3f} |")
    result = [f"windows={len(searches)}", f"searches={sum(map(len, searches.values()))}"]
    runs = [s for by_seed in searches.values() for s in by_seed.values()]
    ratios = [s["test_mae"] / s["auto_arima_mae"] for s in runs if "auto_arima_mae" in s]
    beaten = sum(
        statistics.median(s["test_mae"] for s in by_seed.values())
        < next(iter(by_seed.values())).get("auto_arima_mae", math.inf)
        for by_seed in searches.values()
    )
    logs = {w: [math.log(s["test_rel_mae"]) for s in b.values()] for w, b in searches.items()}
    seed_sd = statistics.median(statistics.pstdev(v) for v in logs.values() if len(v) > 1)
    window_sd = statistics.pstdev(statistics.fmean(v) for v in logs.values())
    pairs = [
        (a["val_mae"] - b["val_mae"]) * (a["test_mae"] - b["test_mae"]) > 0
        for by_seed in searches.values()
        for a, b in itertools.combinations(by_seed.values(), 2)
    ]
    result += [
        f"arima_ratio={statistics.median(ratios):.3f}" if ratios else "arima_ratio=nan",
        f"arima_windows={beaten}/{len(searches)}",
        f"seed_sd={seed_sd:.3f}",
        f"window_sd={window_sd:.3f}",
        f"val_agrees={sum(pairs)}/{len(pairs)}",
    ]
    for k in sizes:
        changes, worse_worst, windows = [], 0, 0
        for window, by_seed in ensembles.items():
            kept = {s: v[k] for s, v in by_seed.items() if k in v}
            if not kept:
                continue
            best = {s: searches[window][s]["test_rel_mae"] for s in kept}
            changes += [math.log(kept[s] / best[s]) for s in kept]
            windows += 1
            worse_worst += max(kept.values()) < max(best.values())
        result += [
            f"k{k}_wins={sum(c < 0 for c in changes)}/{len(changes)}",
            f"k{k}_ratio={math.exp(statistics.median(changes)):.3f}",
            f"k{k}_worst_better={worse_worst}/{windows}",
        ]
    print("RESULT " + " ".join(result))


if __name__ == "__main__":
    main()
