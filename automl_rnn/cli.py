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
        typer.echo(
            f"{key}: {json.dumps(value, default=str) if isinstance(value, dict | list) else value}"
        )


@app.command()
def search(
    task: TaskOpt = None,
    data: DataOpt = None,
    target: TargetOpt = None,
    time_col: TimeColOpt = None,
    features: FeaturesOpt = None,
    horizon: HorizonOpt = None,
    season: SeasonOpt = None,
    missing: MissingOpt = None,
    text_col: TextColOpt = None,
    topology: Annotated[
        str | None, typer.Option(help="A topology, or auto: those the task fits.")
    ] = None,
    space: Annotated[str | None, typer.Option(help="Built-in space name or YAML file.")] = None,
    backend: Annotated[str | None, typer.Option(help="optuna (embedded default).")] = None,
    trials: Annotated[
        int | None, typer.Option(help="Finished trials to reach (default 10).")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds; no trial starts after.")] = None,
    max_epochs: Annotated[int | None, typer.Option(help="Epochs per trial (default 40).")] = None,
    patience: Annotated[int | None, typer.Option(help="Stop a trial after N flat epochs.")] = None,
    workers: Annotated[int | None, typer.Option(help="Trial processes on this machine.")] = None,
    threads: Annotated[
        int | None, typer.Option(help="Torch threads per worker (default 1).")
    ] = None,
    study: Annotated[str | None, typer.Option(help="Study name; the same name resumes.")] = None,
    workspace: Annotated[str | None, typer.Option(help="Folder for all search state.")] = None,
    seed: Annotated[int | None, typer.Option(help="Search seed (trial seeds derive).")] = None,
    objectives: Annotated[
        str | None, typer.Option(help="e.g. val_loss or val_loss,params (Pareto front).")
    ] = None,
    sampler: Annotated[str | None, typer.Option(help="tpe (default), random, gp, cmaes.")] = None,
    pruner: Annotated[str | None, typer.Option(help="hyperband (default), median, none.")] = None,
    config: Annotated[str | None, typer.Option(help="Experiment YAML; flags override.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No per-trial progress lines.")] = False,
) -> None:
    """Search recurrent models for a built-in task or your CSV (Optuna, on this machine)."""
    from automl_rnn import api

    overrides = {
        **_data_args(
            task=task,
            data=data,
            target=target,
            time_col=time_col,
            features=features,
            horizon=horizon,
            season=season,
            missing=missing,
            text_col=text_col,
        ),
        "topology": topology,
        "space": space,
        "backend": backend,
        "trials": trials,
        "timeout": timeout,
        "max_epochs": max_epochs,
        "patience": patience,
        "workers": workers,
        "threads": threads,
        "study": study,
        "workspace": workspace,
        "seed": seed,
        "objectives": objectives,
        "sampler": sampler,
        "pruner": pruner,
    }
    summary = api.search(overrides, config=config, progress=not quiet)
    if as_json:
        _echo_json(summary)
    else:
        _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    counts = summary["counts"]
    typer.echo(
        f"\nstudy {summary['study']} ({summary['task']}, space {summary['space']}): "
        f"{counts['complete']} complete, {counts['pruned']} pruned, {counts['failed']} failed "
        f"in {summary['wall_seconds']:.0f}s"
    )
    for reason, count in summary["failure_reasons"].items():
        typer.echo(f"  failed x{count}: {reason}")
    top = summary.get("best")
    if top is None:
        typer.echo("no completed trial: nothing to report")
        return
    value = top.get("value", top.get("values"))
    typer.echo(f"best trial #{top['trial']}: {', '.join(summary['objectives'])} = {value}")
    typer.echo("  params: " + ", ".join(f"{k}={v}" for k, v in sorted(top["params"].items())))
    baseline = summary.get("baseline") or {}
    if "verdict" in baseline:
        numbers = ", ".join(f"{k}={v:.4g}" for k, v in baseline.items() if isinstance(v, float))
        typer.echo(f"  test: {numbers} -> {baseline['verdict']}")
    elif baseline:
        typer.echo("  test: " + ", ".join(f"{k}={v:.4g}" for k, v in baseline.items()))
    typer.echo(
        f"  details: automl-rnn best --study {summary['study']} --workspace {summary['workspace']}"
    )


StudyOpt = Annotated[str, typer.Option("--study", help="Study name.")]
WorkspaceOpt = Annotated[str, typer.Option("--workspace", help="Workspace folder.")]


@app.command()
def best(
    study: StudyOpt,
    workspace: WorkspaceOpt = ".",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The best trial of a study: value, parameters, validation and test metrics."""
    from automl_rnn import api

    record = api.best(study, workspace)
    if as_json:
        _echo_json(record)
        return
    value = record.get("value", record.get("values"))
    typer.echo(f"study {record['study']}: best trial #{record['trial']} value {value}")
    for key, val in sorted(record["params"].items()):
        typer.echo(f"  {key}: {val}")
    for key, val in sorted(record["metrics"].items()):
        if key.startswith(("test_", "val_")):
            typer.echo(f"  {key}: {val:.5g}")


@app.command()
def status(
    study: StudyOpt,
    workspace: WorkspaceOpt = ".",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How a search stands (running or not): trials by state, best so far, elapsed."""
    from automl_rnn import api

    payload = api.status(study, workspace)
    if as_json:
        _echo_json(payload)
        return
    c = payload["counts"]
    typer.echo(
        f"study {payload['study']}: {c['complete']} complete, {c['pruned']} pruned, "
        f"{c['failed']} failed, {c['running']} running; {payload['elapsed_seconds']}s elapsed"
    )
    if payload["best"]:
        top = payload["best"]
        typer.echo(f"best so far: trial #{top['trial']} {top.get('value', top.get('values'))}")


@app.command()
def spaces(
    name: Annotated[str | None, typer.Argument(help="Show this space in full.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the built-in search spaces, or show one."""
    from automl_rnn import api

    payload = api.spaces(name)
    if as_json or name is not None:
        if as_json:
            _echo_json(payload)
        else:
            import yaml

            typer.echo(yaml.safe_dump(payload, sort_keys=False).rstrip())
        return
    for row in payload:
        typer.echo(f"{row['name']:<16} {row.get('description', '')}")


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted: run the same command again to resume the study", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
