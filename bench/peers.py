"""automl-rnn against its peers on the forecast panel (``bench/panel``), side by side.

Per series (same splits: the task's validation part tunes, its last ``horizon`` steps test) and
per seed: automl-rnn with its defaults, neuralforecast's ``AutoLSTM`` (Optuna backend, its
default space with the input sizes limited to those the series can hold), statsforecast's
AutoETS / AutoARIMA (scored by the search itself on the same windows) and seasonal naive. Each
searched system runs as its own process, one after the other; wall time and the CPU seconds of
its whole process tree are measured the same way for both.

    .venv/bin/pip install -e '.[bench]' -c constraints.txt
    .venv/bin/python bench/peers.py --series held_back --seeds 0,1,2 --trials 10

Rows are appended to ``--out`` (JSON lines) as they finish; a rerun skips rows already there,
so a long comparison can be stopped and continued. ``--space FILE --label NAME`` runs automl-rnn
with another space under another name (a candidate default). ``--backtest`` drops each series'
test part first: the search then tests on the last ``test_size`` steps of the original
validation part (``--origin 2``: the ``test_size`` steps before those), so candidate defaults are compared without ever reading a test month. The
last line:
``RESULT mae_ratio=... time_ratio=... arima_ratio=... worst_rel_mae=...`` over the chosen
series (medians over series and seeds; ``worst_rel_mae`` over air_passengers' seeds, when run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PANEL = HERE / "panel"
ROOT = HERE.parent
Row = dict[str, Any]


def panel(which: str) -> list[str]:
    parts = json.loads(json.dumps(__import__("yaml").safe_load((PANEL / "panel.yaml").read_text())))
    if which in parts:
        return list(parts[which])
    if which == "all":
        return [*parts["tuning"], *parts["held_back"]]
    return which.split(",")


def task_arg(name: str) -> str:
    path = PANEL / f"{name}.yaml"
    return str(path) if path.is_file() else name


def backtest_task(name: str, folder: Path, origin: int = 1) -> str:
    """A copy of ``name``'s task with its last ``origin * test_size`` rows dropped (written in
    ``folder``): its test part lies inside the original validation part (``origin`` 2: the
    window before, a second forecast origin)."""
    import yaml

    found = PANEL / f"{name}.yaml"
    task_file = found if found.is_file() else ROOT / "tasks" / f"{name}.yaml"
    spec = yaml.safe_load(task_file.read_text())
    csv = next(
        place / spec["file"]
        for place in (task_file.parent, task_file.parent / "data")
        if (place / spec["file"]).is_file()
    )
    lines = csv.read_text().splitlines()
    kept = lines[: len(lines) - origin * int(spec["test_size"])]
    (folder / f"{name}.csv").write_text("\n".join(kept) + "\n")
    spec.update(name=f"{name}_backtest", file=f"{name}.csv", size=len(kept) - 1)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(folder / f"{name}.yaml")


def measured(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``cmd``; its wall seconds and the CPU seconds of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, wall, cpu


def inspect(name: str) -> dict[str, Any]:
    cli = [sys.executable, "-m", "automl_rnn.cli", "inspect", "--task", task_arg(name), "--json"]
    done = subprocess.run(cli, capture_output=True, text=True, cwd=ROOT, check=True)
    return dict(json.loads(done.stdout))


def ours(
    name: str,
    seed: int,
    trials: int,
    space: str | None = None,
    backtest: bool = False,
    keep: Path | None = None,
    origin: int = 1,
) -> list[Row]:
    """automl-rnn's defaults (or ``space``); the classical baselines come from the same
    search's windows. ``keep``: search in ``keep/<series>-s<seed>`` and leave the study there
    (to export its trials afterwards, e.g. as an ensemble)."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            workspace = stack.enter_context(tempfile.TemporaryDirectory())
        else:
            tag = ("-backtest" + (str(origin) if origin > 1 else "")) if backtest else ""
            workspace = str(keep / f"{name}{tag}-s{seed}")
            shutil.rmtree(workspace, ignore_errors=True)
            Path(workspace).mkdir(parents=True)
        task = backtest_task(name, Path(workspace), origin) if backtest else task_arg(name)
        cmd = [sys.executable, "-m", "automl_rnn.cli", "search", "--task", task,
               "--trials", str(trials), "--seed", str(seed), "--workspace", workspace,
               "--no-tracking", "--quiet", "--json"]  # fmt: skip
        if space is not None:
            cmd += ["--space", space]
        done, wall, cpu = measured(cmd)
    if done.returncode != 0:
        raise RuntimeError(f"automl-rnn on {name}: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    best = summary["best"]["metrics"]
    # The model the product delivers: what `export` makes by default (the top-3 ensemble where
    # the search reports one, else the best trial); the best trial alone is kept beside it.
    metrics = (summary.get("ensemble") or {}).get("metrics") or best
    row = {k: metrics[f"test_{k}"] for k in ("mae", "smape", "mase", "rel_mae")}
    row["val_mae"] = metrics.get("val_mae", float("nan"))
    row["model"] = (
        f"ensemble of {summary['ensemble']['size']}" if metrics is not best else "best trial"
    )
    row["best_trial"] = {k: best[f"test_{k}"] for k in ("mae", "rel_mae")}
    rows = [{"system": "automl-rnn", "wall_s": wall, "cpu_s": cpu, **row}]
    for key, table in summary["baseline"].get("classical", {}).items():
        if "error" not in table:
            scores = {k: table[f"test_{k}"] for k in ("mae", "smape", "mase", "rel_mae")}
            rows.append({"system": key, "model": table["model"], "wall_s": table["seconds"],
                         **scores})  # fmt: skip
    return rows


def autolstm(name: str, seed: int, trials: int) -> Row:
    cmd = [sys.executable, str(HERE / "peers_autolstm.py"), task_arg(name), str(seed), str(trials)]
    done, wall, cpu = measured(cmd)
    if done.returncode != 0:
        raise RuntimeError(f"AutoLSTM on {name}: {done.stderr[-2000:]}")
    forecast = json.loads(done.stdout.strip().splitlines()[-1])
    return {"system": "AutoLSTM", "wall_s": wall, "cpu_s": cpu, **forecast}


def snaive(facts: dict[str, Any]) -> Row:
    base = facts["baselines"]
    return {"system": "seasonal_naive", "rel_mae": 1.0,
            **{k: base[f"test_snaive_{k}"] for k in ("mae", "smape", "mase")}}  # fmt: skip


def summarise(rows: list[Row], series: list[str], ours: str = "automl-rnn") -> str:
    def pick(system: str, name: str, seed: int | None = None) -> Row | None:
        return next(
            (r for r in rows if r["system"] == system and r["series"] == name
             and (seed is None or r["seed"] == seed)), None,
        )  # fmt: skip

    mae_ratios, time_ratios, arima_ratios, ap_rel = [], [], [], []
    for r in rows:
        if r["system"] != ours or r["series"] not in series:
            continue
        if peer := pick("AutoLSTM", r["series"], r["seed"]):
            mae_ratios.append(r["mae"] / peer["mae"])
            time_ratios.append(r["wall_s"] / peer["wall_s"])
        if arima := pick("auto_arima", r["series"], r["seed"]):
            arima_ratios.append(r["mae"] / arima["mae"])
        if r["series"] == "air_passengers":
            ap_rel.append(r["rel_mae"])

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.3f}" if values else "nan"

    worst = f"{max(ap_rel):.3f}" if ap_rel else "nan"
    return (f"RESULT mae_ratio={med(mae_ratios)} time_ratio={med(time_ratios)} "
            f"arima_ratio={med(arima_ratios)} worst_rel_mae={worst} pairs={len(mae_ratios)} "
            f"runs={len(arima_ratios)}")  # fmt: skip


def table(rows: list[Row], series: list[str], ours: str = "automl-rnn") -> str:
    """Markdown: per series and system, test MAE and rel_mae by seed, wall and CPU seconds."""
    lines = [
        "| series | system | seeds | test MAE (by seed) | rel_mae (by seed) | wall s | CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    order = [ours, "AutoLSTM", "auto_arima", "auto_ets", "seasonal_naive"]
    for name in series:
        for system in order:
            mine = sorted(
                (r for r in rows if r["series"] == name and r["system"] == system),
                key=lambda r: r["seed"],
            )
            if system in ("auto_arima", "auto_ets", "seasonal_naive"):
                mine = mine[:1]  # the same on every seed (deterministic fits)
            if not mine:
                continue
            label = mine[0].get("model", system)
            seeds = ",".join(str(r["seed"]) for r in mine) if len(mine) > 1 else "-"
            maes = " / ".join(f"{r['mae']:.4g}" for r in mine)
            rels = " / ".join(f"{r['rel_mae']:.3f}" for r in mine)
            wall = " / ".join(f"{r['wall_s']:.0f}" for r in mine if "wall_s" in r) or "-"
            cpu = " / ".join(f"{r['cpu_s']:.0f}" for r in mine if "cpu_s" in r) or "-"
            lines.append(f"| {name} | {label} | {seeds} | {maes} | {rels} | {wall} | {cpu} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", default="held_back", help="tuning, held_back, all or a,b")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--systems", default="ours,autolstm", help="ours, autolstm")
    parser.add_argument("--out", default=str(HERE / "results" / "peers.jsonl"))
    parser.add_argument("--table", action="store_true", help="print the rows so far; run nothing")
    parser.add_argument("--space", help="automl-rnn's space file (default: its own)")
    parser.add_argument("--label", default="automl-rnn", help="automl-rnn's system name")
    parser.add_argument("--backtest", action="store_true", help="drop each test part first")
    parser.add_argument(
        "--origin", type=int, default=1, help="--backtest: drop this many test parts"
    )
    parser.add_argument("--keep", help="keep each search's workspace under this folder")
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    series, seeds = panel(args.series), [int(s) for s in args.seeds.split(",")]
    if args.table:
        print(table(rows, series, args.label))
        print(summarise(rows, series, args.label))
        return
    systems = args.systems.split(",")
    keep = Path(args.keep).resolve() if args.keep else None
    for name in series:
        facts = inspect(name)
        for seed in seeds:
            for system in systems:
                label = args.label if system == "ours" else "AutoLSTM"
                done = any(r["series"] == name and r["seed"] == seed and r["system"] == label
                           and r.get("trials") == args.trials for r in rows)  # fmt: skip
                if done:
                    continue
                made = (
                    ours(name, seed, args.trials, args.space, args.backtest, keep, args.origin)
                    if system == "ours"
                    else [autolstm(name, seed, args.trials)]
                )
                if system == "ours":
                    made[0]["system"] = args.label
                if system == "ours" and seed == seeds[0] and not args.backtest:
                    made.append(snaive(facts))
                with out.open("a") as sink:
                    for row in made:
                        row.update(series=name, seed=seed, trials=args.trials)
                        rows.append(row)
                        sink.write(json.dumps(row) + "\n")
                        print(json.dumps(row), flush=True)
    print(summarise(rows, series, args.label))


if __name__ == "__main__":
    main()
