"""The one YAML reader of experiment, task and space files, and the one-line error helper."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl_rnn.config.experiment import load_experiment
from automl_rnn.data.spec import load_spec
from automl_rnn.errors import ConfigError, one_line
from automl_rnn.search.space import load_space
from automl_rnn.yamlio import load_yaml


def refused(path: Path, what: str = "task file") -> str:
    """The one-line message ``load_yaml`` refuses ``path`` with (it names the file)."""
    with pytest.raises(ConfigError) as info:
        load_yaml(path, what)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_reads_yaml_and_an_empty_file_is_none(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("a: 1\nb: [x, y]\nc: {d: null}\n", encoding="utf-8")
    assert load_yaml(path, "task file") == {"a": 1, "b": ["x", "y"], "c": {"d": None}}
    path.write_text("", encoding="utf-8")
    assert load_yaml(path, "task file") is None


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: 1\nb: 2\na: 3\n", 3), ("top:\n  x: 1\n  y: 2\n  x: 3\n", 4), ("- {k: 1, k: 2}\n", 1)],
    ids=["top-level", "nested", "flow-mapping"],
)
def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(text, encoding="utf-8")
    message = refused(path)
    assert f"{path}:{line}: invalid YAML at line {line}" in message and "given twice" in message


def test_equal_values_under_different_keys_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("a: 1\nb: 1\nc: {a: 1}\n1: x\n'1': y\n", encoding="utf-8")
    assert load_yaml(path, "task file") == {"a": 1, "b": 1, "c": {"a": 1}, 1: "x", "1": "y"}


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("a: [1, 2\n", ["invalid YAML at line 2"]),
        ("a: 1\n  b: 2\n", ["invalid YAML at line 2"]),
        ("when: 2020-13-45\n", ["invalid YAML", "month"]),
    ],
    ids=["unclosed-list", "bad-indent", "impossible-date"],
)
def test_malformed_yaml_is_one_line(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    message = refused(path)
    assert all(part in message for part in fragments), message


def test_unreadable_files_are_one_line_naming_the_file(tmp_path: Path) -> None:
    assert "experiment file not found" in refused(tmp_path / "nope.yaml", "experiment file")
    assert "search space is a folder" in refused(tmp_path, "search space")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "task file is not a UTF-8 text file" in refused(binary)


def test_experiments_tasks_and_spaces_all_refuse_duplicate_keys(tmp_path: Path) -> None:
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text("task: sine_mix\ntrials: 2\ntrials: 3\n", encoding="utf-8")
    task = tmp_path / "task.yaml"
    task.write_text("name: t\nkind: forecast\nkind: forecast\n", encoding="utf-8")
    space = tmp_path / "space.yaml"
    space.write_text("description: x\nparams:\n  lr: 0.01\n  lr: 0.1\n", encoding="utf-8")
    loaders = [
        (experiment, lambda: load_experiment(str(experiment), {}), 3),
        (task, lambda: load_spec(task), 3),
        (space, lambda: load_space(str(space)), 4),
    ]
    for path, load, line in loaders:
        with pytest.raises(ConfigError, match="given twice") as info:
            load()
        assert f"{path}:{line}:" in str(info.value)


def test_one_line_collapses_whitespace_and_cuts() -> None:
    err = ValueError("first line\n   second\tline  ")
    assert one_line(err) == "first line second line"
    assert one_line(err, limit=10) == "first line"
    assert one_line(err, limit=5, named=True) == "ValueError: first"
    assert one_line("a\n" * 400, limit=None) == " ".join(["a"] * 400)
    assert one_line("plain text", named=True) == "plain text"
