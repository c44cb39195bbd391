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
