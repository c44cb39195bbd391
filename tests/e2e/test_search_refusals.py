"""``automl-rnn search`` refuses bad input in one line, before anything heavy is imported.

Each case runs the real CLI in a subprocess, in a fresh folder holding only the bad files, through
a wrapper that records (at exit) which top-level modules were loaded. A refusal must exit 2 with
exactly one ``error:`` line naming the file, field or column, no traceback, nothing on stdout,
nothing written (no workspace, no journal, no MLflow store), and none of torch, Lightning,
MLflow, Ray or optuna imported. How fast that is (CPU seconds) is measured by
``bench/refusals.py``, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

#: Top-level modules no refusal may import (each costs seconds of CPU).
HEAVY = frozenset({"torch", "pytorch_lightning", "lightning", "lightning_fabric", "mlflow", "ray", "optuna"})  # fmt: skip

#: Runs ``automl_rnn.cli.main`` with the arguments after the first (the file the loaded modules'
#: top-level names are written to, at exit, whatever way the CLI exits).
WRAPPER = """
import atexit, json, sys
out = sys.argv.pop(1)
def _loaded():
    with open(out, "w") as f:
        json.dump(sorted({name.split(".")[0] for name in sys.modules}), f)
atexit.register(_loaded)
sys.argv[0] = "automl-rnn"
from automl_rnn.cli import main
main()
"""

MONTHLY = "month,sales\n" + "".join(
    f"{2000 + i // 12}-{i % 12 + 1:02d},{100 + 10 * (i % 12) + i:.1f}\n" for i in range(96)
)


def long_table(rows: list[tuple[str, int, str, str]] | None = None) -> str:
    """Labelled sequences in long format: 30 ids (classes a, b, c) of 5 steps, or ``rows``."""
    if rows is None:
        rows = [(f"r{i}", t, f"{(i * t) % 7 / 7:.3f}", "abc"[i % 3]) for i in range(30) for t in range(5)]  # fmt: skip
    return "id,t,x,label\n" + "".join(f"{i},{t},{x},{label}\n" for i, t, x, label in rows)


def panel_table(store: str = "1", value: str | None = None) -> str:
    """Three monthly series of 30 steps in long format; series p2's store size is ``store`` from
    its 11th row (line 42) on, and every value is ``value`` when given."""
    rows = [
        f"p{i},{2000 + t // 12}-{t % 12 + 1:02d},{value or f'{10 * i + t % 12 + t / 10:.1f}'},"
        f"{store if i == 2 and t >= 10 else '1'}\n"
        for i in (1, 2, 3)
        for t in range(30)
    ]
    return "id,month,sales,store\n" + "".join(rows)


PANEL = ["--id-col", "id", "--time-col", "month", "--target", "sales"]
#: 20 ids of 4 steps (k0 has 3): static feature a, a numeric value y at every step
CURVES = "id,t,a,y\n" + "".join(
    f"k{i},{t},{i / 10:.1f},{(i * t) % 5 / 4:.2f}\n"
    for i in range(20)
    for t in range(4 if i else 3)
)
STATIC = ["--id-col", "id", "--time-col", "t", "--static-features", "a", "--per-step"]


def pairs_table(marks: dict[tuple[int, int], int] | None = None) -> str:
    """Numeric pairs: 20 ids of 4 input steps then 2 output steps (column ``out``); ``marks``
    overrides the mark of (id, t); id q3's t=5 is line 25."""
    rows = [
        f"q{i},{t},{(marks or {}).get((i, t), int(t >= 4))},{(i + t) % 7 / 7:.3f},{i * t % 5}\n"
        for i in range(20)
        for t in range(6)
    ]
    return "id,t,out,x,y\n" + "".join(rows)


PAIRS = ["--id-col", "id", "--time-col", "t", "--features", "x", "--target", "y"]
LONG = [line.split(",") for line in long_table().splitlines()[1:]]
LONG_ROWS = [(i, int(t), x, label) for i, t, x, label in LONG]
FILES = {
    "empty.csv": "",
    "series.csv": MONTHLY,
    "short.csv": "t,sales\n" + "".join(f"{i},{(i * 7) % 5 + 1}\n" for i in range(9)),
    "broken.yaml": "task: [co2\ntrials: 3\n",
    "typo.yaml": "task: co2\ntrails: 3\n",
    "bad_space.yaml": "params:\n  hidden_size: {low: 64, high: 8}\n",
    # line 2 + k is row k: row 13 is r2 at t=3, row 25 (r5 at t=0) is r5's only row below
    "label_changes.csv": long_table([*LONG_ROWS[:13], ("r2", 3, "0.5", "z"), *LONG_ROWS[14:]]),
    "one_row.csv": long_table([r for r in LONG_ROWS if r[0] != "r5" or r[1] == 0]),
    "rare_class.csv": long_table([r for r in LONG_ROWS if r[3] != "c" or r[0] in ("r2", "r5")]),
    "one_class.csv": long_table([(i, t, x, "a") for i, t, x, _ in LONG_ROWS]),
    "twice.csv": long_table([*LONG_ROWS[:8], ("r1", 2, "0.1", "b"), *LONG_ROWS[8:]]),
    "panel.csv": panel_table(),
    "curves.csv": CURVES,
    "panel_skips.csv": "\n".join(panel_table().splitlines()[:41] + panel_table().splitlines()[42:]),
    "pairs_input_late.csv": pairs_table({(3, 5): 0}),
    "global_scaling.yaml": "params:\n  scaling: {choices: [window, global]}\n",
    "panel_store_changes.csv": panel_table(store="2"),
    "panel_one_value.csv": panel_table(value="5"),
    "text_feature.csv": long_table([*LONG_ROWS[:30], ("r6", 0, "high", "a"), *LONG_ROWS[31:]]),
}
SEQUENCES = ["--id-col", "id", "--time-col", "t", "--features", "x", "--target", "label"]

# (case, search arguments, text the error line must contain)
CASES: list[tuple[str, list[str], list[str]]] = [
    ("empty_file", ["--data", "empty.csv", "--target", "sales"], ["empty.csv", "is empty"]),
    (
        "missing_column",
        ["--data", "series.csv", "--target", "salse", "--time-col", "month"],
        ["series.csv", "'salse'", "did you mean 'sales'"],
    ),
    ("malformed_experiment_yaml", ["--config", "broken.yaml"], ["broken.yaml", "invalid YAML"]),
    ("unknown_experiment_key", ["--config", "typo.yaml"], ["typo.yaml", "'trails'", "'trials'"]),
    (
        "unknown_task",
        ["--task", "air_pasengers"],
        ["'air_pasengers'", "did you mean 'air_passengers'"],
    ),
    ("zero_trials", ["--task", "co2", "--trials", "0"], ["trials", "(got 0)"]),
    ("negative_timeout", ["--task", "co2", "--timeout", "-5"], ["timeout", "(got -5.0)"]),
    (
        "too_short_series",
        ["--data", "short.csv", "--target", "sales"],
        ["short.csv", "9 rows", "1 step(s) needs at least 26 rows"],
    ),
    (
        "too_short_for_the_horizon",
        ["--data", "series.csv", "--target", "sales", "--time-col", "month", "--horizon", "24"],
        ["series.csv", "96 rows", "24 step(s) needs at least 99 rows"],
    ),
    ("unknown_space", ["--task", "sine_mix", "--space", "nosuch"], ["'nosuch'"]),
    # co2's file has gaps: the note on filling them is held back, the refusal stays one line
    ("unknown_space_after_a_data_note", ["--task", "co2", "--space", "nosuch"], ["'nosuch'"]),
    (
        "bad_space_file",
        ["--task", "sine_mix", "--space", "bad_space.yaml"],
        ["bad_space.yaml", "hidden_size"],
    ),
    ("topology_misfit", ["--task", "sine_mix", "--topology", "vec2seq"], ["vec2seq", "sine_mix"]),
    ("unknown_objective", ["--task", "sine_mix", "--objectives", "val_los"], ["'val_los'"]),
    ("resume_without_study", ["--study", "nosuch"], ["no study 'nosuch'"]),
    (
        "label_changes_within_an_id",
        ["--data", "label_changes.csv", *SEQUENCES],
        ["label_changes.csv", "'label' changes within one id at line 15", "'c' -> 'z'"],
    ),
    (
        "an_id_with_one_row",
        ["--data", "one_row.csv", *SEQUENCES],
        ["one_row.csv", "id 'r5'", "has one row"],
    ),
    (
        "a_class_smaller_than_the_splits",
        ["--data", "rare_class.csv", *SEQUENCES],
        ["rare_class.csv", "class 'c'", "2 sequence(s)", "needs >= 3"],
    ),
    (
        "a_target_of_one_value",
        ["--data", "one_class.csv", *SEQUENCES],
        ["one_class.csv", "one value ('a')", "at least two classes"],
    ),
    (
        "an_id_and_time_twice",
        ["--data", "twice.csv", *SEQUENCES],
        ["twice.csv", "id 'r1' has time '2' twice (line 9 and line 10)"],
    ),
    (
        "a_text_feature",
        ["--data", "text_feature.csv", *SEQUENCES],
        ["text_feature.csv", "column 'x'", "'high' at line 32"],
    ),
    (
        "kind_without_id_col",
        ["--data", "series.csv", "--target", "sales", "--kind", "regression"],
        ["--kind", "--id-col"],
    ),
    (
        "target_among_the_features",
        [
            "--data",
            "label_changes.csv",
            "--id-col",
            "id",
            "--features",
            "x,label",
            "--target",
            "label",
        ],
        ["'label' is both a feature and the target"],
    ),
    (
        "a_text_target_of_many_series",
        ["--data", "label_changes.csv", "--id-col", "id", "--target", "label"],
        ["label_changes.csv", "'label'", "'a' at line 2", "give --features COL,... to classify"],
    ),
    (
        "a_static_feature_that_changes",
        ["--data", "panel_store_changes.csv", *PANEL, "--static-features", "store"],
        ["static feature 'store' changes within id 'p2' at line 42", "(1 -> 2)"],
    ),
    (
        "many_series_of_one_value",
        ["--data", "panel_one_value.csv", *PANEL],
        ["panel_one_value.csv", "'sales' (--target) is 5 in every row"],
    ),
    (
        "many_series_with_global_scaling",
        ["--data", "panel.csv", *PANEL, "--space", "global_scaling.yaml"],
        ["global_scaling.yaml", "scaling 'global' does not fit many series"],
    ),
    (
        "curves_of_different_lengths",
        ["--data", "curves.csv", *STATIC, "--target", "y"],
        ["curves.csv", "id 'k0' has 3 steps, others 4", "one length"],
    ),
    (
        "many_series_with_a_skipped_month",
        ["--data", "panel_skips.csv", *PANEL],
        [
            "id 'p2' skips 1 time step(s) between '2000-10' and '2000-12' (line 42; the series "
            "step by 1 month(s))"
        ],
    ),
    (
        "pairs_with_an_input_step_after_the_outputs",
        ["--data", "pairs_input_late.csv", *PAIRS, "--output-steps-col", "out"],
        ["pairs_input_late.csv", "id 'q3' has an input step at line 25 after one of its output"],
    ),
    (
        "output_steps_without_an_id",
        ["--data", "series.csv", "--target", "sales", "--output-steps-col", "out"],
        ["--output-steps-col applies to long tables: give --id-col too"],
    ),
    (
        "many_series_too_short",
        ["--data", "panel.csv", *PANEL, "--horizon", "12"],
        ["panel.csv", "every series is too short to forecast 12 step(s)", "30 rows, needs 48"],
    ),
]


def _refuse(folder: Path, modules: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, str(modules), "search", "--workspace", "ws", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


Ran = tuple[Path, Path, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """Each case's folder, loaded-modules file and finished process (two at a time)."""
    root = tmp_path_factory.mktemp("refusals")

    def one(case: str, args: list[str]) -> Ran:
        folder, modules = root / case, root / f"{case}.modules.json"
        return folder, modules, _refuse(folder, modules, args)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case: pool.submit(one, case, args) for case, args, _ in CASES}
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize(("case", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_search_refuses_in_one_line_before_any_heavy_import(
    results: dict[str, Ran],
    case: str,
    args: list[str],
    expected: list[str],
) -> None:
    folder, modules, done = results[case]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # nothing written
    assert not HEAVY & set(json.loads(modules.read_text()))
