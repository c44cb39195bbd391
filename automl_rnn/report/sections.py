"""The report page's HTML sections: what was searched, what won, the trial tables."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from automl_rnn.report.model import ReportView, last_reported, status_word, value
from automl_rnn.report.words import key_params, objectives_text, test_sentence
from automl_rnn.search.records import TrialRecord, TrialStatus
from automl_rnn.search.summary import fmt

#: The page lists at most this many trials in its trial table.
MAX_TABLE_TRIALS = 500
#: The settings of the experiment the page lists, in this order, when they were set.
_SETTINGS = (
    "task",
    "data",
    "target",
    "horizon",
    "space",
    "topology",
    "sampler",
    "pruner",
    "max_epochs",
    "patience",
    "trials",
    "timeout",
    "seed",
    "workers",
)
_SHOWN_METRICS = ("params", "latency_ms", "epochs", "best_epoch", "wall_seconds")
_HEADLINE_METRICS = ("test_rel_mae", "test_accuracy", "test_mae", "test_loss")


def esc(cell: object) -> str:
    """A cell's text, HTML-escaped (numbers formatted compactly)."""
    return html.escape(fmt(cell) if not isinstance(cell, str) else cell)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table; numeric cells right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{esc(c)}</td>'
            if isinstance(c, int | float) and not isinstance(c, bool)
            else f"<td>{esc(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _values_cell(trial: TrialRecord) -> str:
    """The objective value(s); a pruned trial's last reported value (as Optuna stores it)."""
    if trial.values is None:
        last = last_reported(trial) if trial.status == TrialStatus.PRUNED else math.nan
        return fmt(last) if math.isfinite(last) else ""
    return ", ".join(fmt(float(v)) for v in trial.values)


def searched_rows(view: ReportView) -> list[tuple[str, str]]:
    """The study, its objectives and the experiment's settings, as (setting, value) rows."""
    spec = view.experiment
    rows = [("study", view.name), ("objectives", objectives_text(view))]
    rows += [(k, fmt(spec[k])) for k in _SETTINGS if spec.get(k) is not None]
    return rows


def best_section(view: ReportView) -> str:
    """The best trial (or the Pareto front): values, parameters, test verdict and metrics."""
    if not view.best:
        return '<p class="note">No trial completed: there is no best trial yet.</p>'
    top = view.best[0]
    parts = []
    if view.multi:
        parts.append(
            f"<p>The Pareto front holds {len(view.best)} trial(s) (listed below); shown here: "
            f"trial #{top.number}, the best on {html.escape(view.names[0])}.</p>"
        )
    values = ", ".join(f"{n} = {fmt(value(top, i))}" for i, n in enumerate(view.names))
    parts.append(
        f"<p><strong>Best trial #{top.number}</strong>: {html.escape(values)}; "
        f"seed {esc(top.seed)}.</p>"
    )
    resolved = top.params
    rows = [
        (k, resolved[k], "searched" if k in top.sampled else "fixed / default") for k in resolved
    ]
    parts.append(table(("parameter", "value", ""), rows))
    metrics = top.metrics
    series = view.series_names() if "test_rel_mae_best_series" in metrics else ()
    test = test_sentence(view.kind, metrics, view.classical, series)
    if test:
        parts.append(f"<p>{html.escape(test)}</p>")
    if view.classical:
        parts.append(
            table(
                ("baseline (same windows)", "val MAE", "test MAE", "test rel_mae"),
                [
                    (
                        t.get("model", k),
                        t.get("val_mae", ""),
                        t.get("test_mae", ""),
                        t.get("test_rel_mae", t.get("error", "")),
                    )
                    for k, t in view.classical.items()
                ],
            )
        )
    shown = [k for k in sorted(metrics) if k.startswith(("val_", "test_"))]
    shown += [k for k in _SHOWN_METRICS if k in metrics]
    if shown:
        parts.append(table(("metric", "value"), [(k, metrics[k]) for k in shown]))
    if view.multi:
        front_rows = [
            (f"#{t.number}", *[value(t, i) for i in range(len(view.names))], key_params(t))
            for t in view.best
        ]
        parts.append("<h3>Pareto front</h3>")
        parts.append(table(("trial", *view.names, "parameters"), front_rows))
    return "\n".join(parts)


def _headline_metric(trial: TrialRecord) -> str:
    for name in _HEADLINE_METRICS:
        if name in trial.metrics:
            return f"{name}={fmt(trial.metrics[name])}"
    return ""


def trials_section(view: ReportView, top_k: int) -> str:
    """The top ``top_k`` completed trials, then every trial (at most :data:`MAX_TABLE_TRIALS`)."""
    ranked = view.ranked[:top_k]
    parts = []
    if ranked:
        rows = [
            (rank, f"#{t.number}", _values_cell(t), key_params(t), _headline_metric(t))
            for rank, t in enumerate(ranked, 1)
        ]
        parts.append(f"<h3>Top {len(ranked)} completed trials by {html.escape(view.names[0])}</h3>")
        parts.append(table(("rank", "trial", ", ".join(view.names), "parameters", "test"), rows))
    listed = view.trials[:MAX_TABLE_TRIALS]
    rows2 = [
        (
            f"#{t.number}",
            status_word(t),
            _values_cell(t),
            fmt(t.metrics.get("epochs", "")),
            "" if t.reason is None else t.reason,
        )
        for t in listed
    ]
    parts.append("<h3>All trials</h3>")
    if len(view.trials) > len(listed):
        parts.append(
            f'<p class="note">Showing the first {len(listed)} of {len(view.trials)} trials.</p>'
        )
    parts.append(table(("trial", "state", ", ".join(view.names), "epochs", "reason"), rows2))
    return "\n".join(parts)
