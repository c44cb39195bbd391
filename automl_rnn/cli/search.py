"""The commands that read data: ``tasks``, ``spaces``, ``inspect`` and ``search``."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated, Any

import typer

from automl_rnn.cli.common import (
    JsonOpt,
    echo_json,
    given,
    interruptible,
    print_classical,
    print_front,
    show,
    with_data_flags,
)


def tasks(as_json: JsonOpt = False) -> None:
    """List the built-in tasks: kind, size, topologies that fit, metric."""
    from automl_rnn import api

    show(api.tasks(), as_json, _print_tasks)


def _print_tasks(rows: list[dict[str, Any]]) -> None:
    header = ("name", "kind", "size", "topologies", "metric")
    table = [header] + [
        (r["name"], r["kind"], str(r["size"]), ",".join(r["topologies"]), r["metric"]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def spaces(
    name: Annotated[str | None, typer.Argument(help="Show this space in full.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the built-in search spaces, or show one."""
    from automl_rnn import api

    payload = api.spaces(name)
    if as_json or name is not None:
        if as_json:
            echo_json(payload)
        else:
            import yaml

            typer.echo(yaml.safe_dump(payload, sort_keys=False).rstrip())
        return
    for row in payload:
        typer.echo(f"{row['name']:<16} {row.get('description', '')}")


@with_data_flags
def inspect(source: dict[str, Any], as_json: JsonOpt = False) -> None:
    """Check a task or your CSV before searching: splits, season, baselines; refuses bad data."""
    from automl_rnn import api

    show(api.inspect_data(source), as_json, _print_inspected)


def _print_inspected(summary: dict[str, Any]) -> None:
    for key, value in summary.items():
        typer.echo(
            f"{key}: {json.dumps(value, default=str) if isinstance(value, dict | list) else value}"
        )


#: Parameters of ``search`` that are not experiment keys (``--no-tracking`` sets ``tracking``).
_NOT_EXPERIMENT_KEYS = (
    "source",
    "no_tracking",
    "no_classical_baselines",
    "config",
    "as_json",
    "quiet",
)


@with_data_flags
def search(
    source: dict[str, Any],
    topology: Annotated[
        str | None, typer.Option(help="A topology, or auto: those the task fits.")
    ] = None,
    space: Annotated[str | None, typer.Option(help="Built-in space name or YAML file.")] = None,
    backend: Annotated[
        str | None,
        typer.Option(help="optuna (default: processes on this machine) or ray (a Ray cluster)."),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(help="Finished trials to reach (default 10; no limit with --timeout alone)."),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds; no trial starts after.")] = None,
    max_epochs: Annotated[int | None, typer.Option(help="Epochs per trial (default 40).")] = None,
    patience: Annotated[int | None, typer.Option(help="Stop a trial after N flat epochs.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Trial processes on this machine (optuna backend).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="Torch threads per worker (default 1).")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join: auto, ray://host:10001 or host:6379 "
            "(default: a local Ray on this machine's CPUs and GPUs)."
        ),
    ] = None,
    cpus_per_trial: Annotated[
        float | None, typer.Option(help="CPUs each Ray trial reserves (default 1).")
    ] = None,
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(help="GPUs each Ray trial reserves (default 0); 0.25: four share one GPU."),
    ] = None,
    max_concurrent: Annotated[
        int | None,
        typer.Option(help="Ray trials at once (default: as many as the resources allow)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Ray early stopping: asha (default), hyperband, none."),
    ] = None,
    storage_path: Annotated[
        str | None,
        typer.Option(
            help="Ray's experiment state: a folder every node sees, or s3://... "
            "(default: WORKSPACE/ray)."
        ),
    ] = None,
    study: Annotated[str | None, typer.Option(help="Study name; the same name resumes.")] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="A database shared by several machines, e.g. postgresql://user:pw@host/db: the "
            "same --study and --storage on each makes them workers of one search "
            "(default: a journal file in the workspace)."
        ),
    ] = None,
    workspace: Annotated[str | None, typer.Option(help="Folder for all search state.")] = None,
    seed: Annotated[int | None, typer.Option(help="Search seed (trial seeds derive).")] = None,
    objectives: Annotated[
        str | None, typer.Option(help="e.g. val_loss or val_loss,params (Pareto front).")
    ] = None,
    sampler: Annotated[str | None, typer.Option(help="tpe (default), random, gp, cmaes.")] = None,
    pruner: Annotated[str | None, typer.Option(help="hyperband (default), median, none.")] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            help="MLflow tracking server, e.g. http://host:5000 (default: the workspace)."
        ),
    ] = None,
    no_tracking: Annotated[
        bool, typer.Option("--no-tracking", help="Log nothing to MLflow.")
    ] = False,
    no_classical_baselines: Annotated[
        bool,
        typer.Option(
            "--no-classical-baselines",
            help="Forecasts: do not score AutoETS / AutoARIMA beside the search.",
        ),
    ] = False,
    config: Annotated[str | None, typer.Option(help="Experiment YAML; flags override.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No per-trial progress lines.")] = False,
) -> None:
    """Search recurrent models for a built-in task or your CSV (Optuna here, or Ray Tune)."""
    # Every other parameter is an experiment key of the same name (None: the flag was not given).
    overrides = {**source, **given(locals(), skip=_NOT_EXPERIMENT_KEYS)}
    if no_tracking:
        overrides["tracking"] = False
    if no_classical_baselines:
        overrides["classical_baselines"] = False
    from automl_rnn import api

    # stdout holds the answer only: what libraries print while trials run (Ray's notes on lost
    # workers, say) goes to stderr, beside the progress lines.
    with (
        interruptible("run the same command again to resume the study"),
        contextlib.redirect_stdout(sys.stderr),
    ):
        summary = api.search(overrides, config=config, progress=not quiet)
    show(summary, as_json, _print_summary)
    lost = summary.get("lost_trials") or []
    if lost:  # Ray gave up on them: the search ran, but not as asked
        typer.echo(
            f"error: {len(lost)} trial(s) lost with their node after Ray's retries "
            f"({', '.join(f'#{n}' for n in lost)}); run the same command again to run as many "
            "more",
            err=True,
        )
        raise typer.Exit(LOST_TRIALS_EXIT)


#: Exit status of a search that finished but lost trials with their nodes after Ray's retries.
LOST_TRIALS_EXIT = 3


def _print_summary(summary: dict[str, Any]) -> None:
    counts = summary["counts"]
    typer.echo(
        f"\nstudy {summary['study']} ({summary['task']}, space {summary['space']}): "
        f"{counts['complete']} complete, {counts['pruned']} pruned, {counts['failed']} failed "
        f"in {summary['wall_seconds']:.0f}s"
    )
    for reason, count in summary["failure_reasons"].items():
        typer.echo(f"  failed x{count}: {reason}")
    if summary.get("stopped"):
        typer.echo(f"stopped early: {summary['stopped']}")
    top = summary.get("best")
    if top is None:
        typer.echo("no completed trial: nothing to report")
        return
    if "pareto_front" in top:
        print_front(summary["objectives"], top["pareto_front"])
    value = top.get("value", top.get("values"))
    typer.echo(f"best trial #{top['trial']}: {', '.join(summary['objectives'])} = {value}")
    typer.echo("  params: " + ", ".join(f"{k}={v}" for k, v in sorted(top["params"].items())))
    baseline = summary.get("baseline") or {}
    if "verdict" in baseline:
        numbers = ", ".join(f"{k}={v:.4g}" for k, v in baseline.items() if isinstance(v, float))
        typer.echo(f"  test: {numbers} -> {baseline['verdict']}")
        print_classical(baseline)
    elif baseline:
        typer.echo("  test: " + ", ".join(f"{k}={v:.4g}" for k, v in baseline.items()))
    ensemble = summary.get("ensemble")
    if ensemble:
        trials = ", ".join(f"#{n}" for n in ensemble["trials"])
        scores = ensemble["metrics"]
        typer.echo(
            f"  export makes the mean of the {ensemble['size']} best trials ({trials}): "
            f"val rel_mae={scores['val_rel_mae']:.4g}, test mae={scores['test_mae']:.4g}, "
            f"rel_mae={scores['test_rel_mae']:.4g} (export --ensemble 1: the best trial alone)"
        )
    typer.echo(
        f"  details: automl-rnn best --study {summary['study']} --workspace {summary['workspace']}"
    )
    if summary.get("mlflow"):
        typer.echo(f"  runs in MLflow: {summary['mlflow']['ui']}")
