"""The top-k ensemble (``export --ensemble K``) against the best trial alone, on searches already run.

``bench/peers.py --keep DIR`` leaves each search's workspace in ``DIR/<series>[-backtest]-s<seed>``;
this script exports every study there as ensembles of its K best trials (the product's own
``export``, TorchScript only) and reads the scores the export records: the ensemble's and its best
member's (K = 1 is the best trial, through the same path). Choose K on backtest searches of the
tuning series (``--backtest``: their "test" lies inside the original validation part), then
report on the held-back ones. With ``--peers FILE`` (the rows ``peers.py`` wrote for the same
searches) each ensemble is also set against AutoARIMA's test MAE on the same windows.

    .venv/bin/python bench/ensemble.py --kept /tmp/kept/tuning --sizes 1,2,3,5 [--refit]
    .venv/bin/python bench/ensemble.py --kept /tmp/kept/held --sizes 1,3 --peers held.jsonl

Last line: ``RESULT k<K>_ratio=<median over searches of test rel_mae(K) / rel_mae(1)> ...
k<K>_wins=<searches where K beats 1>/<searches> [refit_ratio=... refit_wins=...]
[arima_ratio_k<K>=<median MAE(K)/AutoARIMA>]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any


def refitted(workspace: Path) -> dict[str, float]:
    """The test scores ``export --refit`` records: the best trial's configuration retrained on
    train + validation for its best epoch count."""
    from automl_rnn import api

    (study,) = [p.name for p in (workspace / "checkpoints").iterdir()]
    with tempfile.TemporaryDirectory() as out:
        summary = api.export(study, str(Path(out) / "m"), workspace=str(workspace),
                             formats="torchscript", refit=True)  # fmt: skip
    return dict(summary["refit"]["metrics"])


def scores(workspace: Path, sizes: list[int]) -> dict[int, dict[str, float]]:
    """Per K: the ensemble's validation and test scores recorded by ``export --ensemble K``."""
    from automl_rnn import api
    from automl_rnn.search.ledger import Ledger

    (study,) = [p.name for p in (workspace / "checkpoints").iterdir()]
    ranked = Ledger.open(workspace, study, None).snapshot().ranked()
    found: dict[int, dict[str, float]] = {}
    for size in sizes:
        if size > len(ranked):
            continue
        if size == 1:  # `export --ensemble 1` is the best trial alone: its recorded scores
            found[1] = dict(ranked[0].metrics)
            continue
        with tempfile.TemporaryDirectory() as out:
            summary = api.export(study, str(Path(out) / "m"), workspace=str(workspace),
                                 formats="torchscript", ensemble=size)  # fmt: skip
        found[size] = summary["ensemble"]["metrics"]
    return found


def classical(peers: Path | None) -> dict[tuple[str, int], float]:
    """AutoARIMA's test MAE per (series, seed) from ``peers.py``'s rows."""
    if peers is None:
        return {}
    rows = [json.loads(line) for line in peers.read_text().splitlines() if line.strip()]
    return {(r["series"], r["seed"]): r["mae"] for r in rows if r["system"] == "auto_arima"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kept", required=True, help="the --keep folder of bench/peers.py")
    parser.add_argument("--sizes", default="1,2,3,5")
    parser.add_argument("--peers", help="peers.py's rows of the same searches (AutoARIMA)")
    parser.add_argument("--refit", action="store_true", help="also score export --refit")
    args = parser.parse_args()
    sizes = [int(k) for k in args.sizes.split(",")]
    arima = classical(Path(args.peers) if args.peers else None)
    runs: list[dict[str, Any]] = []
    print("| search | " + " | ".join(f"K={k} val / test rel_mae" for k in sizes) + " |")
    print("| --- |" + " --- |" * len(sizes))
    for workspace in sorted(Path(args.kept).iterdir()):
        name, seed = workspace.name.rsplit("-s", 1)
        found = scores(workspace, sizes)
        series = name.removesuffix("-backtest")
        runs.append({"series": series, "seed": int(seed), "scores": found})
        if args.refit:
            runs[-1]["refit"] = refitted(workspace)
        cells = [
            f"{found[k]['val_rel_mae']:.3f} / {found[k]['test_rel_mae']:.3f}" if k in found else "-"
            for k in sizes
        ]
        print(f"| {workspace.name} | " + " | ".join(cells) + " |", flush=True)
    result = []
    for k in sizes[1:]:
        pairs = [(r["scores"][k], r["scores"][1]) for r in runs if k in r["scores"]]
        ratios = [a["test_rel_mae"] / b["test_rel_mae"] for a, b in pairs]
        wins = sum(a["test_rel_mae"] < b["test_rel_mae"] for a, b in pairs)
        if ratios:
            result += [
                f"k{k}_ratio={statistics.median(ratios):.3f}",
                f"k{k}_wins={wins}/{len(pairs)}",
            ]
    refits = [(r["refit"], r["scores"][1]) for r in runs if "refit" in r and 1 in r["scores"]]
    if refits:
        ratios = [a["test_rel_mae"] / b["test_rel_mae"] for a, b in refits]
        wins = sum(a["test_rel_mae"] < b["test_rel_mae"] for a, b in refits)
        result += [
            f"refit_ratio={statistics.median(ratios):.3f}",
            f"refit_wins={wins}/{len(refits)}",
        ]
    for k in sizes:
        against = [r["scores"][k]["test_mae"] / arima[(r["series"], r["seed"])]
                   for r in runs if k in r["scores"] and (r["series"], r["seed"]) in arima]  # fmt: skip
        if against:
            result.append(f"arima_ratio_k{k}={statistics.median(against):.3f}")
    print("RESULT " + " ".join(result) + f" searches={len(runs)}")


if __name__ == "__main__":
    main()
