"""The console entry point: which errors become one line, and which stay themselves."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from automl_rnn import cli


def _app_raising(error: BaseException) -> Any:
    def app(**_: Any) -> None:
        raise error

    return app


def test_an_unexpected_error_reaches_the_user_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug must show its own traceback, not one from the error handler."""
    monkeypatch.setattr(cli, "app", _app_raising(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        cli.main()


def test_an_abort_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "app", _app_raising(typer.Abort()))
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 1
    assert capsys.readouterr().err == "Aborted!\n"


# ---- the commands' parameters ------------------------------------------------------------------

REPAIRED = {"study": "s", "failed_trials": [2, 5], "requeued": [7], "closed_runs": ["abc123"]}


def _fake_repair(calls: list[tuple[str, str]]) -> Any:
    def repair(study: str, workspace: str = ".", storage: str | None = None) -> dict[str, Any]:
        calls.append((study, workspace))
        return REPAIRED

    return repair


def test_repair_prints_the_api_answer_as_json_or_a_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from automl_rnn import api

    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(api, "repair", _fake_repair(calls), raising=False)
    done = CliRunner().invoke(cli.app, ["repair", "--study", "s", "--workspace", "ws", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == REPAIRED and calls == [("s", "ws")]
    done = CliRunner().invoke(cli.app, ["repair", "--study", "s"])
    assert done.exit_code == 0, done.output
    assert calls[-1] == ("s", ".")
    assert "study s: 2 stale trials failed, 1 queued again, 1 orphaned MLflow runs closed" in (
        done.output
    )
    assert "failed: trial #2, trial #5" in done.output
    assert "queued again as: trial #7" in done.output and "abc123" in done.output


def _params(command: str) -> list[str]:
    import typer.main

    group = typer.main.get_command(cli.app)
    return [param.name or "" for param in group.commands[command].params]  # type: ignore[attr-defined]


def test_inspect_and_search_take_the_data_flags_first() -> None:
    from automl_rnn.cli.common import DATA_FLAGS

    data = list(DATA_FLAGS)
    assert _params("inspect") == [*data, "as_json"]
    assert _params("search")[: len(data)] == data


def test_every_search_flag_is_an_experiment_key() -> None:
    """``search`` passes its flags on by name: each must be a field of the experiment spec."""
    from automl_rnn.cli.search import _NOT_EXPERIMENT_KEYS
    from automl_rnn.config.experiment import ExperimentSpec

    keys = set(_params("search")) - set(_NOT_EXPERIMENT_KEYS)
    assert keys <= set(ExperimentSpec.model_fields), keys - set(ExperimentSpec.model_fields)
    assert "tracking" in ExperimentSpec.model_fields  # what --no-tracking sets
