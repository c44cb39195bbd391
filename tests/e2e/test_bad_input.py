"""The bad-input corpus: the real CLI refuses each case with exit code 2 and one line on stderr.

Each case runs ``python -m automl_rnn.cli inspect ...`` (or ``search ...``) in a subprocess (all
cases concurrently, so the corpus stays quick) and must print exactly one line, naming the offending
file, column, task, field or flag, and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "bad_inputs"

# (case id, inspect arguments, text the error line must contain)
CASES: list[tuple[str, list[str], list[str]]] = [
    ("empty_file", ["--data", "empty.csv", "--target", "sales"], ["empty.csv", "is empty"]),
    ("binary_file", ["--data", "binary.csv", "--target", "sales"], ["binary.csv", "binary"]),
    ("header_only", ["--data", "header_only.csv", "--target", "sales"], ["no data rows"]),
    ("missing_file", ["--data", "no_such.csv", "--target", "sales"], ["no_such.csv", "not found"]),
    (
        "unknown_column",
        ["--data", "unknown_column.csv", "--target", "passenger", "--time-col", "month"],
        ["'passenger'", "did you mean 'passengers'"],
    ),
    (
        "unknown_time_column",
        ["--data", "unknown_column.csv", "--target", "passengers", "--time-col", "date"],
        ["'date'", "--time-col"],
    ),
    (
        "non_numeric",
        ["--data", "non_numeric.csv", "--target", "sales", "--time-col", "month"],
        ["column 'sales'", "'12..5'", "line 7"],
    ),
    (
        "too_short",
        ["--data", "too_short.csv", "--target", "sales", "--time-col", "month", "--horizon", "12"],
        ["too_short.csv", "20 rows", "12 step(s) needs at least 63 rows"],
    ),
    (
        "constant_target",
        ["--data", "constant.csv", "--target", "sales", "--time-col", "month"],
        ["'sales'", "constant"],
    ),
    (
        "duplicated_timestamps",
        ["--data", "duplicated.csv", "--target", "sales", "--time-col", "month"],
        ["column 'month'", "duplicated timestamp '2000-09'", "lines 10 and 11"],
    ),
    (
        "gap_too_long",
        ["--data", "long_gap.csv", "--target", "sales", "--time-col", "month"],
        ["column 'sales'", "gap of 6", "line 32", "--missing drop"],
    ),
    (
        "missing_value_in_error_mode",
        ["--data", "one_gap.csv", "--target", "sales", "--missing", "error"],
        ["column 'sales'", "line 22"],
    ),
    (
        "ragged_rows",
        ["--data", "ragged.csv", "--target", "sales"],
        ["ragged.csv", "malformed CSV", "line 11"],
    ),
    (
        "unparsable_time",
        ["--data", "bad_time.csv", "--target", "sales", "--time-col", "month"],
        ["column 'month'", "'someday'", "line 14"],
    ),
    (
        "target_is_time_column",
        ["--data", "constant.csv", "--target", "month", "--time-col", "month"],
        ["'month'", "time column"],
    ),
    (
        "constant_label",
        ["--data", "constant_label.csv", "--text-col", "review", "--target", "sentiment"],
        ["'sentiment'", "constant"],
    ),
    (
        "unknown_task",
        ["--task", "air_pasengers"],
        ["'air_pasengers'", "did you mean 'air_passengers'"],
    ),
    (
        "malformed_task_yaml",
        ["--task", "malformed_syntax.yaml"],
        ["malformed_syntax.yaml", "invalid YAML at line"],
    ),
    (
        "unknown_task_field",
        ["--task", "unknown_field.yaml"],
        ["unknown_field.yaml", "'horizn'", "did you mean 'horizon'"],
    ),
    (
        "task_data_file_missing",
        ["--task", "missing_data_file.yaml"],
        ["missing_data_file.yaml", "nowhere.csv"],
    ),
    ("task_and_data", ["--task", "co2", "--data", "constant.csv"], ["exactly one of --task"]),
    ("no_source", [], ["exactly one of --task"]),
    (
        "csv_flag_with_task",
        ["--task", "co2", "--target", "co2"],
        ["--target applies to --data only"],
    ),
    ("bad_missing_mode", ["--task", "co2", "--missing", "fill"], ["--missing", "'fill'"]),
    (
        "repeated_header",
        ["--data", "repeated_header.csv", "--target", "sales", "--time-col", "month"],
        ["repeated_header.csv", "column 'sales'", "more than once"],
    ),
    (
        "feature_twice",
        ["--data", "one_gap.csv", "--target", "sales", "--features", "month,month"],
        ["--features", "'month' is listed twice"],
    ),
    (
        "empty_feature_column",
        ["--data", "empty_column.csv", "--target", "sales", "--features", "promo"],
        ["empty_column.csv", "column 'promo' has no value in any row"],
    ),
    (
        "season_longer_than_half",
        [
            "--data",
            "unknown_column.csv",
            "--target",
            "passengers",
            "--time-col",
            "month",
            "--season",
            "40",
        ],
        ["--season 40", "60 points", "at most 30"],
    ),
]


# (case id, search arguments, text the error line must contain): the Ray backend's flags, refused
# before any trial, study or heavy import
SEARCH_CASES: list[tuple[str, list[str], list[str]]] = [
    (
        "ray_flag_without_ray",
        ["--task", "co2", "--scheduler", "none"],
        ["scheduler", "--scheduler needs --backend ray"],
    ),
    (
        "gpus_without_ray",
        ["--task", "co2", "--gpus-per-trial", "0.25"],
        ["--gpus-per-trial needs --backend ray", "0.25"],
    ),
    (
        "workers_with_ray",
        ["--task", "co2", "--backend", "ray", "--workers", "2"],
        ["--workers is the optuna backend's", "with --backend ray use --max-concurrent"],
    ),
    (
        "gpus_one_and_a_half",
        ["--task", "co2", "--backend", "ray", "--gpus-per-trial", "1.5"],
        ["--gpus-per-trial", "fraction in (0, 1]", "whole number", "1.5"],
    ),
    (
        "no_cpus_per_trial",
        ["--task", "co2", "--backend", "ray", "--cpus-per-trial", "0"],
        ["cpus_per_trial", "greater than 0"],
    ),
    (
        "unknown_scheduler",
        ["--task", "co2", "--backend", "ray", "--scheduler", "pbt"],
        ["scheduler", "'asha', 'hyperband' or 'none'", "'pbt'"],
    ),
    ("unknown_backend", ["--task", "co2", "--backend", "dask"], ["'optuna' or 'ray'", "'dask'"]),
]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "automl_rnn.cli", *args],
        cwd=CORPUS,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    workspace = ["--workspace", str(tmp_path_factory.mktemp("ws"))]  # nothing lands in the corpus
    commands = [(case, ["inspect", *args]) for case, args, _ in CASES] + [
        (case, ["search", *args, *workspace]) for case, args, _ in SEARCH_CASES
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case: pool.submit(_run, args) for case, args in commands}
        return {case: future.result() for case, future in futures.items()}


ALL_CASES = CASES + SEARCH_CASES


@pytest.mark.parametrize(("case", "args", "expected"), ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_bad_input_is_refused_in_one_line(
    results: dict[str, subprocess.CompletedProcess[str]],
    case: str,
    args: list[str],
    expected: list[str],
) -> None:
    done = results[case]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert done.stdout == ""


def test_a_ray_flag_is_refused_before_any_heavy_import(tmp_path: Path) -> None:
    """Refused before torch, Ray, MLflow or Optuna load (the CPU it costs is measured by
    ``bench/refusals.py``, not asserted here: timings are for benchmarks)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "automl_rnn.cli", "search", "--task", "co2",
         "--backend", "ray", "--workers", "2", "--workspace", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "--max-concurrent" in done.stderr, done.stderr[-2000:]
    loaded = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not {"torch", "ray", "mlflow", "optuna", "lightning"} & loaded
    assert list(tmp_path.iterdir()) == []
