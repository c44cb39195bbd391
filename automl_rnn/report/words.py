"""The report in words: what was searched, trials by status, what won and how well.

:func:`describe` is the paragraph the page opens with and the MLflow parent run's description.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from automl_rnn.report.model import ReportView, read, value
from automl_rnn.search.summary import fmt
from automl_rnn.search.verdict import RECURRENT, Classical, baseline_verdict

if TYPE_CHECKING:
    from automl_rnn.search.records import StudySnapshot, TrialRecord


def searched(experiment: Mapping[str, object]) -> str:
    """``task air_passengers`` / ``data sales.csv (target units)``, with the space and topology."""
    if experiment.get("task"):
        what = f"task {experiment['task']}"
    elif experiment.get("data"):
        what = f"data {Path(str(experiment['data'])).name}"
        if experiment.get("target"):
            what += f" (target {experiment['target']})"
    else:
        what = "an unrecorded experiment"
    extras = [
        f"{label} {experiment[key]}"
        for key, label in (("space", "space"), ("topology", "topology"), ("sampler", "sampler"))
        if experiment.get(key)
    ]
    return what + (f" ({', '.join(extras)})" if extras else "")


def key_params(trial: TrialRecord) -> str:
    """The searched parameters of a trial with their resolved values, cell and topology first."""
    resolved = trial.params
    names: list[str] = [n for n in ("cell", "topology") if n in resolved]
    names += [n for n in trial.sampled if n not in names]
    return ", ".join(f"{n}={fmt(resolved.get(n, trial.sampled.get(n)))}" for n in names)


def test_sentence(
    kind: str | None,
    metrics: Mapping[str, float],
    classical: Classical | None = None,
    series: Sequence[str] = (),
) -> str:
    """The best trial's test result against its baselines, in words ('' when none is recorded).

    The verdict is :func:`automl_rnn.search.verdict.baseline_verdict`'s, in lower case.
    ``series``: the names of many series, in the data's order, to name the best, median and
    worst of them.
    """
    verdict = baseline_verdict(kind, metrics, classical) or {}
    words = str(verdict.get("verdict", "")).replace("NOT", "not")
    if words and "test_rel_mae" in verdict:
        numbers = f"test_rel_mae={fmt(verdict['test_rel_mae'])}"
        if verdict["test_mae"] is not None and verdict["seasonal_naive_mae"] is not None:
            numbers = (
                f"test MAE {fmt(verdict['test_mae'])} vs {fmt(verdict['seasonal_naive_mae'])} "
                f"for seasonal naive, {numbers}"
            )
        sentence = f"On the held-out test part it {words} ({numbers})."
        if verdict.get("test_rel_mae_median") is not None:  # many series: their spread
            best, median, worst = (_named(metrics, series, at) for at in _SPREAD)
            sentence += (
                f" Per series, rel_mae is {fmt(verdict['test_rel_mae_best'])} at best{best}, "
                f"{fmt(verdict['test_rel_mae_median'])} on the median series{median} and "
                f"{fmt(verdict['test_rel_mae_worst'])} at worst{worst}."
            )
        if isinstance(verdict.get("classical_verdict"), str):
            against = str(verdict["classical_verdict"]).replace("NOT", "not")
            sentence += f" Against the classical models it {against}."
            if verdict.get("best_on_validation") not in (None, RECURRENT):
                sentence += (
                    f" On validation, {verdict['best_on_validation']} was already better:"
                    " consider it for this series."
                )
        return sentence
    if words and "test_majority_accuracy" in metrics:
        return (
            f"On the held-out test part it {words} (test accuracy "
            f"{fmt(verdict['test_accuracy'])} vs {fmt(verdict['majority_accuracy'])})."
        )
    if words and "rivals_mae" in verdict:
        rivals = verdict["rivals_mae"]
        assert isinstance(rivals, dict)
        numbers = ", ".join(f"{fmt(mae)} for {name}" for name, mae in rivals.items())
        return (
            f"On the held-out test part it {words} "
            f"(test MAE {fmt(verdict['test_mae'])} vs {numbers})."
        )
    if "test_accuracy" in metrics:
        return f"Test accuracy {fmt(metrics['test_accuracy'])}."
    tests = [f"{k}={fmt(v)}" for k, v in sorted(metrics.items()) if k.startswith("test_")]
    return f"Test metrics: {', '.join(tests[:4])}." if tests else ""


def counts_sentence(view: ReportView) -> str:
    """``12 trials: 8 complete, 2 pruned, 2 failed (failures: <reason> x1; ...)``."""
    parts = [
        f"{len(view.complete)} complete",
        f"{len(view.pruned)} pruned",
        f"{len(view.failed)} failed",
    ]
    if view.running:
        parts.append(f"{view.running} running or waiting")
    sentence = f"{len(view.trials)} trials: {', '.join(parts)}"
    reasons = Counter("unknown" if t.reason is None else t.reason for t in view.failed)
    if reasons:
        listed = "; ".join(f"{r} x{n}" for r, n in reasons.most_common(3))
        more = f"; {len(reasons) - 3} other reasons" if len(reasons) > 3 else ""
        sentence += f" (failures: {listed}{more})"
    return sentence + "."


def objectives_text(view: ReportView) -> str:
    """``val_loss (minimize), params (minimize)``."""
    return ", ".join(f"{n} ({d})" for n, d in zip(view.names, view.directions))


def describe_view(view: ReportView) -> str:
    """:func:`describe` on a view already read."""
    text = (
        f"Study {view.name} searched {searched(view.experiment)} for {objectives_text(view)}: "
        f"{counts_sentence(view)}"
    )
    if not view.best:
        return text + " No trial completed, so there is no winner yet."
    top = view.best[0]
    values = ", ".join(f"{n}={fmt(value(top, i))}" for i, n in enumerate(view.names))
    if view.multi:
        text += (
            f" The Pareto front holds {len(view.best)} trial(s); the one with the best "
            f"{view.names[0]} is trial #{top.number} with {values} ({key_params(top)})."
        )
    else:
        text += f" Best: trial #{top.number} with {values} ({key_params(top)})."
    test = test_sentence(view.kind, top.metrics, view.classical)
    return f"{text} {test}" if test else text


def describe(snapshot: StudySnapshot) -> str:
    """A short plain-text paragraph: what was searched, trials by status, what won and how well."""
    return describe_view(read(snapshot))


#: The metrics naming which series is the best, the median and the worst.
_SPREAD = ("test_rel_mae_best_series", "test_rel_mae_median_series", "test_rel_mae_worst_series")


def _named(metrics: Mapping[str, float], series: Sequence[str], key: str) -> str:
    """`` ('name')`` of the series ``metrics[key]`` points at, '' when it cannot be told."""
    at = metrics.get(key)
    if at is None or not series or math.isnan(at) or not 0 <= int(at) < len(series):
        return ""
    return f" ('{series[int(at)]}')"
