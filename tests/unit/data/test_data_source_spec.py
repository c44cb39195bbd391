"""DataSource flags and task files: one-line errors naming the flag, file, field and value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from automl_rnn.data import prepare
from automl_rnn.data.catalog import list_tasks
from automl_rnn.data.source import DataSource
from automl_rnn.data.spec import load_spec
from automl_rnn.errors import ConfigError

TASK = """\
name: my_task
description: a copy of sine_mix
kind: forecast
builder: sine_mix
topologies: [seq2vec]
metric: mae
size: 480
horizon: 12
season: 24
"""


def test_from_args_accepts_cli_flags() -> None:
    source = DataSource.from_args(
        {"data": "x.csv", "target": "y", "features": "a, b", "time-col": "t", "season": None}
    )
    assert source.features == ("a", "b") and source.time_col == "t" and source.target == ("y",)
    assert DataSource.from_args({"task": "adding", "task_params": {"length": 20}}).task == "adding"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "exactly one of --task"),
        ({"task": "co2", "data": "x.csv"}, "exactly one of --task"),
        ({"data": "x.csv"}, "needs --target"),
        ({"task": "co2", "target": "y"}, "--target applies to --data only"),
        ({"task": "co2", "horizn": 3}, "unknown data option 'horizn' (did you mean 'horizon'?)"),
        ({"data": "x.csv", "target": "y", "missing": "fill"}, "--missing"),
        ({"data": "x.csv", "target": "y", "horizon": 0}, "--horizon"),
    ],
)
def test_bad_flags_are_one_line_config_errors(args: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        DataSource.from_args(args)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unknown_task_suggests_the_closest() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown task 'air_pasengers' \(did you mean 'air_passengers'"
    ):
        prepare(DataSource(task="air_pasengers"))


def test_task_params_override_and_are_checked() -> None:
    data = prepare(DataSource(task="adding", task_params={"length": 20, "samples": 200}))
    assert data.loaders("seq2vec", None, 8).train.dataset.tensors["x"].shape[1:] == (20, 2)
    with pytest.raises(ConfigError, match=r"no parameter 'lenght' \(did you mean 'length'"):
        prepare(DataSource(task="adding", task_params={"lenght": 20}))


def test_a_task_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "my_task.yaml"
    path.write_text(TASK)
    assert prepare(DataSource(task=str(path))).name == "my_task"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t + "horizn: 3\n", "unknown field 'horizn' (did you mean 'horizon'?)"),
        (lambda t: t.replace("horizon: 12", "horizon: soon"), "field 'horizon'"),
        (lambda t: t.replace("[seq2vec]", "[vec2seq]"), "cannot feed topology 'vec2seq'"),
        (lambda t: t.replace("metric: mae", "metric: accuracy"), "metric 'accuracy'"),
        (lambda t: t.replace("kind: forecast", "kind: tokens"), "makes a forecast task"),
        (lambda t: t + "  bad indent: [\n", "invalid YAML at line"),
        (lambda t: "- a list\n", "expected a mapping"),
    ],
)
def test_malformed_task_files(tmp_path: Path, edit: object, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(edit(TASK))  # type: ignore[operator]
    with pytest.raises(ConfigError) as err:
        load_spec(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_listing_is_cheap_and_torch_free() -> None:
    code = (
        "import sys, automl_rnn.data, automl_rnn.data.catalog, automl_rnn.data.source;"
        "automl_rnn.data.catalog.list_tasks();"
        "print(sorted(m for m in ('torch', 'pandas', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert len(list_tasks()) == 13


def test_prepare_is_memoised() -> None:
    assert prepare(DataSource(task="sine_mix")) is prepare(
        DataSource.from_args({"task": "sine_mix"})
    )
