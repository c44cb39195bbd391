"""What the commands share: option declarations (the data flags declared once), JSON output, the
Pareto front's lines and the one line of an interrupt.

``inspect`` and ``search`` read data: :func:`with_data_flags` gives them the data-source flags
(``--task``, ``--data``, ``--target`` ...) from the one table :data:`DATA_FLAGS`, and hands the
command those the user gave as one dict.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any

import typer

from automl_rnn.errors import Terminated

TaskOpt = Annotated[str | None, typer.Option("--task", help="Built-in task name (see `tasks`).")]
DataOpt = Annotated[str | None, typer.Option("--data", help="Your own CSV or Parquet file.")]
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
    str | None,
    typer.Option(
        "--missing",
        help="Gaps in a forecast's series: interpolate (one series' default), drop or error "
        "(many series' default).",
    ),
]
MaxGapOpt = Annotated[
    int | None,
    typer.Option(
        "--max-gap", help="Longest run of missing values --missing interpolate fills (default 3)."
    ),
]
TextColOpt = Annotated[
    str | None,
    typer.Option("--text-col", help="Text column read character by character (classification)."),
]
TargetTextColOpt = Annotated[
    str | None,
    typer.Option(
        "--target-text-col",
        help="With --text-col: the column of target texts (text to text, encoder-decoder).",
    ),
]
IdColOpt = Annotated[
    str | None,
    typer.Option(
        "--id-col",
        help="Long format: the column naming each row's series or sequence (many series to "
        "forecast, or labelled sequences: one --target per id, --features at each step).",
    ),
]
KindOpt = Annotated[
    str | None,
    typer.Option(
        "--kind",
        help="With --id-col: forecast (many series), classification or regression (default: "
        "forecast without --features or with --horizon, else from the target).",
    ),
]
PerStepOpt = Annotated[
    bool | None,
    typer.Option(
        "--per-step",
        help="With --id-col: the target labels every step (sequence labelling), not each id.",
    ),
]
StaticFeaturesOpt = Annotated[
    str | None,
    typer.Option(
        "--static-features",
        help="With --id-col (many series): comma-separated per-series constants, fed at every step.",
    ),
]
OutputStepsColOpt = Annotated[
    str | None,
    typer.Option(
        "--output-steps-col",
        help="With --id-col: the column marking each id's output steps (1/true/output; the rest, "
        "0/false/input, are its input steps): numeric pairs, encoder-decoder.",
    ),
]

#: The data-source flags of every command that reads data, in their order in ``--help``:
#: parameter name (the data layer's ``DataSource`` field) -> its declaration.
DATA_FLAGS: dict[str, object] = {
    "task": TaskOpt,
    "data": DataOpt,
    "target": TargetOpt,
    "time_col": TimeColOpt,
    "features": FeaturesOpt,
    "horizon": HorizonOpt,
    "season": SeasonOpt,
    "missing": MissingOpt,
    "max_gap": MaxGapOpt,
    "text_col": TextColOpt,
    "target_text_col": TargetTextColOpt,
    "id_col": IdColOpt,
    "kind": KindOpt,
    "per_step": PerStepOpt,
    "static_features": StaticFeaturesOpt,
    "output_steps_col": OutputStepsColOpt,
}

StudyOpt = Annotated[str, typer.Option("--study", help="Study name.")]
WorkspaceOpt = Annotated[str, typer.Option("--workspace", help="Workspace folder.")]
JsonOpt = Annotated[bool, typer.Option("--json")]
StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="The database the search used (postgresql://user@host/db; default: the workspace's).",
    ),
]


def given(values: Mapping[str, object], skip: Iterable[str] = ()) -> dict[str, Any]:
    """The flags the user gave (None means 'not given'), less the names in ``skip``."""
    skipped = set(skip)
    return {key: value for key, value in values.items() if value is not None and key not in skipped}


def with_data_flags(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the :data:`DATA_FLAGS` before its own options; it receives the data flags
    the user gave as one dict, its parameter ``source`` (which Typer does not see)."""
    own = inspect.signature(command, eval_str=True)
    params = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint)
        for name, hint in DATA_FLAGS.items()
    ] + [
        param.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for param in own.parameters.values()
        if param.name != "source"
    ]

    @functools.wraps(command)
    def with_source(**flags: Any) -> None:
        source = given({name: flags.pop(name) for name in DATA_FLAGS})
        command(source=source, **flags)

    with_source.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    with_source.__annotations__ = {param.name: param.annotation for param in params}
    with_source.__annotations__["return"] = own.return_annotation
    return with_source


def echo_json(payload: object) -> None:
    """``payload`` as indented JSON on stdout (dates and paths as strings)."""
    typer.echo(json.dumps(payload, indent=2, default=str))


def show(payload: Any, as_json: bool, in_words: Callable[[Any], None]) -> None:
    """A command's answer: ``payload`` as JSON with ``--json``, else ``in_words(payload)``."""
    if as_json:
        echo_json(payload)
    else:
        in_words(payload)


def print_front(objectives: Sequence[str], front: Sequence[Mapping[str, Any]]) -> None:
    """The Pareto front, one trial per line, best on the first objective first."""
    names = f"; {', '.join(objectives)}" if objectives else ""
    typer.echo(f"Pareto front ({len(front)} trials{names}):")
    for point in front:
        values = ", ".join(f"{v:.4g}" for v in point["values"])
        typer.echo(f"  trial #{point['trial']}: {values}")


@contextlib.contextmanager
def interruptible(what: str) -> Iterator[None]:
    """Ctrl-C / SIGTERM during a long command: one line, exit 130 / 143 (click alone would
    print "Aborted!" and exit 1). Cleanup (runs ended KILLED, workers stopped) ran already."""
    try:
        yield
    except KeyboardInterrupt as err:
        typer.echo(f"interrupted: {what}", err=True)
        raise typer.Exit(143 if isinstance(err, Terminated) else 130) from None


def print_classical(baseline: dict[str, Any]) -> None:
    """The verdict against AutoETS / AutoARIMA, and who was best on validation, when scored."""
    if "classical_verdict" not in baseline:
        return
    typer.echo(f"  classical baselines: {baseline['classical_verdict']}")
    from automl_rnn.search.verdict import RECURRENT

    chosen = baseline.get("best_on_validation")
    if chosen and chosen != RECURRENT:
        typer.echo(f"  best on validation: {chosen} (a classical model may serve this series)")
