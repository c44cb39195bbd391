"""The ``automl-rnn`` command line: each command is a thin shell over :mod:`automl_rnn.api`.

Imports nothing heavy at module level (no torch, Ray or MLflow): ``automl-rnn --help`` stays fast.
Errors the user can fix (:class:`automl_rnn.errors.UserError`) print as one line and exit with 2.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from automl_rnn.errors import UserError

app = typer.Typer(
    name="automl-rnn",
    help="Find the best recurrent model (RNN, LSTM, GRU x topology) for your sequence data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Options shared by every command that reads data (search, inspect).
TaskOpt = Annotated[str | None, typer.Option("--task", help="Built-in task name (see `tasks`).")]
DataOpt = Annotated[str | None, typer.Option("--data", help="Your own CSV file.")]
TargetOpt = Annotated[
    str | None, typer.Option("--target", help="Target column (forecast) or label column (text).")
]
TimeColOpt = Annotated[str | None, typer.Option("--time-col", help="Time column (parsed, sorted).")]
FeaturesOpt = Annotated[
    str | None, typer.Option("--features", help="Comma-separated covariate columns.")
]
HorizonOpt = Annotated[int | None, typer.Option("--horizon", help="Steps to forecast.")]
SeasonOpt = Annotated[
    int | None, typer.Option("--season", help="Seasonal period (inferred when not given).")
]
MissingOpt = Annotated[
    str | None, typer.Option("--missing", help="interpolate (default), drop or error.")
]
TextColOpt = Annotated[
    str | None,
    typer.Option("--text-col", help="Text column read character by character (classification)."),
]


def _data_args(**kwargs: Any) -> dict[str, Any]:
    """The data-source flags the user gave (None means 'not given')."""
    return {key: value for key, value in kwargs.items() if value is not None}


def _echo_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


@app.command()
def tasks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the built-in tasks: kind, size, topologies that fit, metric."""
    from automl_rnn import api

    rows = api.tasks()
    if as_json:
        _echo_json(rows)
        return
    header = ("name", "kind", "size", "topologies", "metric")
    table = [header] + [
        (r["name"], r["kind"], str(r["size"]), ",".join(r["topologies"]), r["metric"]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@app.command()
def inspect(
    task: TaskOpt = None,
    data: DataOpt = None,
    target: TargetOpt = None,
    time_col: TimeColOpt = None,
    features: FeaturesOpt = None,
    horizon: HorizonOpt = None,
    season: SeasonOpt = None,
    missing: MissingOpt = None,
    text_col: TextColOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check a task or your CSV before searching: splits, season, baselines; refuses bad data."""
    from automl_rnn import api

    summary = api.inspect_data(
        _data_args(
            task=task,
            data=data,
            target=target,
            time_col=time_col,
            features=features,
            horizon=horizon,
            season=season,
            missing=missing,
            text_col=text_col,
        )
    )
    if as_json:
        _echo_json(summary)
        return
    for key, value in summary.items():
        typer.echo(f"{key}: {json.dumps(value, default=str) if isinstance(value, dict | list) else value}")


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
