"""The search report: one self-contained HTML page plus the PNG plots it embeds, usable offline.

``write_report`` draws, from what the Optuna study stores (values, intermediate values and the
user attributes written by :func:`automl_rnn.backends.optuna_backend.record`):

- ``optimization_history.png``: each completed trial's objective value by trial number, the best
  so far, pruned trials at their last reported value, failed trials as marks on the axis;
- ``convergence.png``: per-epoch train/validation loss and validation metric of the top trials;
- ``param_importances.png``: fANOVA importances of the searched parameters (objective 1);
- ``parallel_coordinates.png``: every finished trial as a line across the parameters, coloured by
  the objective;
- ``pareto_front.png``: multi-objective searches only, completed trials and the Pareto front.

A plot that has nothing to show (no completed trial, too few trials for importances) is left out
and the page says why. ``report.html`` embeds every PNG as a data URI (no network, no scripts) and
says in words what was searched and what won (:func:`describe`).

matplotlib (Agg, no pyplot state) is imported inside the functions that draw.
"""

from __future__ import annotations

import base64
import html
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from automl_rnn.errors import UserError
from automl_rnn.search.summary import fmt as _fmt
from automl_rnn.search.summary import sorted_front

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

REPORT_HTML = "report.html"
HISTORY_PNG = "optimization_history.png"
CONVERGENCE_PNG = "convergence.png"
IMPORTANCES_PNG = "param_importances.png"
PARALLEL_PNG = "parallel_coordinates.png"
PARETO_PNG = "pareto_front.png"
#: Every file a report may hold (a re-run removes those it no longer writes).
REPORT_FILES = (
    REPORT_HTML,
    HISTORY_PNG,
    CONVERGENCE_PNG,
    IMPORTANCES_PNG,
    PARALLEL_PNG,
    PARETO_PNG,
)

#: Fewer completed trials than this give no importance plot (any split of 1-2 points is noise).
MIN_IMPORTANCE_TRIALS = 3
#: The page lists at most this many trials in its trial table.
MAX_TABLE_TRIALS = 500
_DPI = 110
_STATE_WORDS = {
    OptunaState.COMPLETE: "complete",
    OptunaState.PRUNED: "pruned",
    OptunaState.FAIL: "failed",
}


# ---- what the study holds ----------------------------------------------------------------------


@dataclass
class _View:
    """The study read once: objectives, trials by state, the best trial(s)."""

    study: optuna.Study
    names: list[str]
    directions: list[str]
    trials: list[FrozenTrial]
    complete: list[FrozenTrial] = field(default_factory=list)
    pruned: list[FrozenTrial] = field(default_factory=list)
    failed: list[FrozenTrial] = field(default_factory=list)
    best: list[FrozenTrial] = field(default_factory=list)
    """The best trial (single objective) or the Pareto front sorted by the first objective."""

    @property
    def multi(self) -> bool:
        return len(self.directions) > 1

    @property
    def minimize(self) -> bool:
        return self.directions[0] == "minimize"

    def ranked(self) -> list[FrozenTrial]:
        """Completed trials, best first by the first objective."""
        return sorted(self.complete, key=lambda t: _value(t, 0), reverse=not self.minimize)


def _view(study: optuna.Study) -> _View:
    trials = study.get_trials(deepcopy=False)
    directions = [d.name.lower() for d in study.directions]
    view = _View(study, objective_names(study), directions, trials)
    view.complete = [t for t in trials if t.state == OptunaState.COMPLETE and t.values is not None]
    view.pruned = [t for t in trials if t.state == OptunaState.PRUNED]
    view.failed = [t for t in trials if t.state == OptunaState.FAIL]
    if view.complete:
        if view.multi:
            view.best = sorted_front(study)
        else:
            view.best = [study.best_trial]
    return view


def _value(trial: FrozenTrial, index: int) -> float:
    return float(trial.values[index]) if trial.values is not None else math.nan


def _experiment(study: optuna.Study) -> dict[str, Any]:
    stored = study.user_attrs.get("experiment")
    return dict(stored) if isinstance(stored, dict) else {}


def _metrics(trial: FrozenTrial) -> dict[str, float]:
    metrics = trial.user_attrs.get("metrics")
    if not isinstance(metrics, dict):
        return {}
    return {str(k): float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def _params(trial: FrozenTrial) -> dict[str, Any]:
    """The resolved parameters (defaults filled in), else the sampled ones."""
    params = trial.user_attrs.get("params")
    return dict(params) if isinstance(params, dict) else dict(trial.params)


def _kind(study: optuna.Study, trials: Sequence[FrozenTrial]) -> str | None:
    """The task kind: from the metrics the trials recorded, else from the experiment."""
    for trial in trials:
        metrics = _metrics(trial)
        if "test_snaive_mae" in metrics or "test_rel_mae" in metrics:
            return "forecast"
        if "test_accuracy" in metrics:
            return "classification"
    spec = _experiment(study)
    if spec.get("task"):
        try:
            from automl_rnn.data.catalog import load_task

            return str(load_task(str(spec["task"]))[0].kind)
        except Exception:  # a task file moved or renamed since: labels only
            return None
    if spec.get("data"):
        return "classification" if spec.get("text_col") else "forecast"
    return None


def objective_names(study: optuna.Study) -> list[str]:
    """The objectives' names (``--objectives``, else the task kind's default), one per direction."""
    from automl_rnn.search.objectives import default_objective

    count = len(study.directions)
    stored = _experiment(study).get("objectives")
    if isinstance(stored, list) and len(stored) == count:
        return [str(name) for name in stored]
    if count == 1:
        kind = _kind(study, study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,)))
        return [default_objective(kind or "")]
    return [f"objective {i + 1}" for i in range(count)]


# ---- in words ----------------------------------------------------------------------------------


def _searched(study: optuna.Study) -> str:
    """``task air_passengers`` / ``data sales.csv (target units)``, with the space and topology."""
    spec = _experiment(study)
    if spec.get("task"):
        what = f"task {spec['task']}"
    elif spec.get("data"):
        what = f"data {Path(str(spec['data'])).name}"
        if spec.get("target"):
            what += f" (target {spec['target']})"
    else:
        what = "an unrecorded experiment"
    extras = [
        f"{label} {spec[key]}"
        for key, label in (("space", "space"), ("topology", "topology"), ("sampler", "sampler"))
        if spec.get(key)
    ]
    return what + (f" ({', '.join(extras)})" if extras else "")


def _key_params(trial: FrozenTrial) -> str:
    """The searched parameters of a trial with their resolved values, cell and topology first."""
    resolved = _params(trial)
    names: list[str] = [n for n in ("cell", "topology") if n in resolved]
    names += [n for n in trial.params if n not in names]
    return ", ".join(f"{n}={_fmt(resolved.get(n, trial.params.get(n)))}" for n in names)


def _test_sentence(metrics: dict[str, float]) -> str:
    """The best trial's test result against its baseline, in words ('' when none is recorded)."""
    if "test_rel_mae" in metrics:
        rel = metrics["test_rel_mae"]
        verdict = "beats seasonal naive" if rel < 1 else "does not beat seasonal naive"
        numbers = f"test_rel_mae={_fmt(rel)}"
        if "test_mae" in metrics and "test_snaive_mae" in metrics:
            numbers = (
                f"test MAE {_fmt(metrics['test_mae'])} vs {_fmt(metrics['test_snaive_mae'])} "
                f"for seasonal naive, {numbers}"
            )
        return f"On the held-out test part it {verdict} ({numbers})."
    if "test_accuracy" in metrics:
        acc = metrics["test_accuracy"]
        base = metrics.get("test_majority_accuracy")
        if base is None:
            return f"Test accuracy {_fmt(acc)}."
        verdict = "beats" if acc > base else "does not beat"
        return (
            f"On the held-out test part it {verdict} the majority class "
            f"(test accuracy {_fmt(acc)} vs {_fmt(base)})."
        )
    tests = [f"{k}={_fmt(v)}" for k, v in sorted(metrics.items()) if k.startswith("test_")]
    return f"Test metrics: {', '.join(tests[:4])}." if tests else ""


def _counts_sentence(view: _View) -> str:
    from collections import Counter

    parts = [
        f"{len(view.complete)} complete",
        f"{len(view.pruned)} pruned",
        f"{len(view.failed)} failed",
    ]
    running = sum(t.state in (OptunaState.RUNNING, OptunaState.WAITING) for t in view.trials)
    if running:
        parts.append(f"{running} running or waiting")
    sentence = f"{len(view.trials)} trials: {', '.join(parts)}"
    reasons = Counter(str(t.user_attrs.get("reason", "unknown")) for t in view.failed)
    if reasons:
        listed = "; ".join(f"{r} x{n}" for r, n in reasons.most_common(3))
        more = f"; {len(reasons) - 3} other reasons" if len(reasons) > 3 else ""
        sentence += f" (failures: {listed}{more})"
    return sentence + "."


def _objectives_text(view: _View) -> str:
    return ", ".join(f"{n} ({d})" for n, d in zip(view.names, view.directions))


def describe(study: optuna.Study) -> str:
    """A short plain-text paragraph: what was searched, trials by state, what won and how well."""
    view = _view(study)
    text = (
        f"Study {study.study_name} searched {_searched(study)} for {_objectives_text(view)}: "
        f"{_counts_sentence(view)}"
    )
    if not view.best:
        return text + " No trial completed, so there is no winner yet."
    top = view.best[0]
    values = ", ".join(f"{n}={_fmt(_value(top, i))}" for i, n in enumerate(view.names))
    if view.multi:
        text += (
            f" The Pareto front holds {len(view.best)} trial(s); the one with the best "
            f"{view.names[0]} is trial #{top.number} with {values} ({_key_params(top)})."
        )
    else:
        text += f" Best: trial #{top.number} with {values} ({_key_params(top)})."
    test = _test_sentence(_metrics(top))
    return f"{text} {test}" if test else text


# ---- plots -------------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas (no pyplot: no global state, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png", dpi=_DPI, metadata={"Software": None})


def _wide(values: Sequence[float]) -> bool:
    """Positive values spanning more than two decades read better on a log axis."""
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 100


def _last_reported(trial: FrozenTrial) -> float:
    if not trial.intermediate_values:
        return math.nan
    return float(trial.intermediate_values[max(trial.intermediate_values)])


def _plot_history(view: _View, path: Path) -> str | None:
    from matplotlib.ticker import MaxNLocator

    if not view.complete:
        return "No completed trial yet: nothing to plot."
    rows = len(view.names)
    fig = _figure(8.5, 3.2 * rows + 0.6)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    best_numbers = {t.number for t in view.best}
    for index, (ax, name, direction) in enumerate(zip(axes, view.names, view.directions)):
        done = sorted(view.complete, key=lambda t: t.number)
        xs = [t.number for t in done]
        ys = [_value(t, index) for t in done]
        shown = list(ys)
        ax.scatter(xs, ys, s=22, color="tab:blue", label="complete", zorder=3)
        pick = min if direction == "minimize" else max
        running = [pick(ys[: i + 1]) for i in range(len(ys))]
        ax.step(xs, running, where="post", color="tab:orange", lw=1.8, label="best so far")
        stars = [(x, y) for x, y, t in zip(xs, ys, done) if t.number in best_numbers]
        if stars:
            label = "Pareto front" if view.multi else "best trial"
            ax.scatter(*zip(*stars), marker="*", s=160, color="tab:red", label=label, zorder=4)
        if index == 0 and not view.multi:
            late = [(t.number, _last_reported(t)) for t in view.pruned]
            late = [(x, y) for x, y in late if math.isfinite(y)]
            if late:
                ax.scatter(
                    *zip(*late),
                    marker="x",
                    s=28,
                    color="0.55",
                    zorder=2,
                    label="pruned (last reported value)",
                )
                shown += [y for _, y in late]
        if view.failed:
            ax.scatter(
                [t.number for t in view.failed],
                [0.02] * len(view.failed),
                marker="v",
                color="tab:red",
                s=30,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label="failed",
                zorder=2,
            )
        if _wide(shown):
            ax.set_yscale("log")
        ax.set_ylabel(f"{name} ({direction})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[-1].set_xlabel("trial number")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"Optimisation history: {view.study.study_name}")
    _save(fig, path)
    return None


def _curve(trial: FrozenTrial, name: str) -> list[float]:
    curves = trial.user_attrs.get("curves")
    values = curves.get(name) if isinstance(curves, dict) else None
    if not isinstance(values, list):
        return []
    return [float(v) if isinstance(v, int | float) else math.nan for v in values]


def _metric_curve(trial: FrozenTrial) -> list[float]:
    """The validation metric per epoch: the stored curve, else the reported (pruning) values."""
    curve = _curve(trial, "val_metric")
    if curve or not trial.intermediate_values:
        return curve
    last = max(trial.intermediate_values)
    return [float(trial.intermediate_values.get(step, math.nan)) for step in range(last + 1)]


def _metric_label(kind: str | None) -> str:
    return {
        "forecast": "validation MAE (data units)",
        "regression": "validation MAE (data units)",
        "classification": "validation accuracy",
        "tokens": "validation token accuracy",
    }.get(kind or "", "validation metric")


def _plot_convergence(view: _View, path: Path, top_k: int) -> str | None:
    from matplotlib.ticker import MaxNLocator

    top = view.ranked()[: max(1, top_k)]
    if not any(_curve(t, "val_loss") or _metric_curve(t) for t in top):
        return (
            "No per-epoch curves recorded for the top trials."
            if top
            else "No completed trial yet: nothing to plot."
        )
    fig = _figure(11, 4.4)
    loss_ax, metric_ax = fig.subplots(1, 2)
    chosen = {t.number for t in top}
    background = [t for t in (*view.complete, *view.pruned) if t.number not in chosen]
    loss_values: list[float] = []
    metric_values: list[float] = []
    for i, trial in enumerate(background):
        label = "other finished trials" if i == 0 else None
        val = _curve(trial, "val_loss")
        metric = _metric_curve(trial)
        loss_ax.plot(range(1, len(val) + 1), val, color="0.8", lw=0.8, label=label)
        metric_ax.plot(range(1, len(metric) + 1), metric, color="0.8", lw=0.8, label=label)
        loss_values += val
        metric_values += metric
    for i, trial in enumerate(top):
        colour = f"C{i % 10}"
        tag = f"#{trial.number} ({view.names[0]}={_fmt(_value(trial, 0))})"
        train, val = _curve(trial, "train_loss"), _curve(trial, "val_loss")
        metric = _metric_curve(trial)
        loss_ax.plot(range(1, len(val) + 1), val, color=colour, lw=1.8, label=f"{tag} val")
        loss_ax.plot(range(1, len(train) + 1), train, color=colour, lw=1.2, ls="--")
        metric_ax.plot(range(1, len(metric) + 1), metric, color=colour, lw=1.8, label=tag)
        best_epoch = _metrics(trial).get("best_epoch")
        if best_epoch is not None and 0 <= int(best_epoch) < len(metric):
            metric_ax.scatter(
                [int(best_epoch) + 1], [metric[int(best_epoch)]], color=colour, s=40, zorder=4
            )
        loss_values += train + val
        metric_values += metric
    loss_ax.plot([], [], color="0.3", ls="--", label="train loss (dashed)")
    for ax, values in ((loss_ax, loss_values), (metric_ax, metric_values)):
        if _wide(values):
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    loss_ax.set_title("loss (scaled units): validation solid, train dashed", fontsize=10)
    metric_ax.set_title(f"{_metric_label(_kind(view.study, top))}, dot = best epoch", fontsize=10)
    fig.suptitle(f"Convergence of the top {len(top)} trial(s) by {view.names[0]}")
    _save(fig, path)
    return None


def _importances(view: _View) -> tuple[dict[str, float], list[str]]:
    """fANOVA importances of the first objective over the completed trials, with notes on the
    parameters left out. Raises ``ValueError`` (with the reason in words) when there are none."""
    import optuna
    from optuna.search_space import intersection_search_space

    if len(view.complete) < MIN_IMPORTANCE_TRIALS:
        raise ValueError(
            f"not enough trials: parameter importances need at least {MIN_IMPORTANCE_TRIALS} "
            f"completed trials, this study has {len(view.complete)}"
        )
    shared = intersection_search_space(view.complete)
    every = {name for t in view.complete for name in t.params}
    notes = []
    conditional = sorted(every - set(shared))
    if conditional:
        notes.append(
            "Left out, as not set (or not sampled alike) in every completed trial: "
            + ", ".join(conditional)
        )
    constant = sorted(n for n in shared if len({repr(t.params[n]) for t in view.complete}) < 2)
    if constant:
        notes.append("Left out, as constant over the completed trials: " + ", ".join(constant))
    names = [n for n in shared if n not in constant]
    if not names:
        raise ValueError("no parameter varied across the completed trials: nothing to rank")
    if len({_value(t, 0) for t in view.complete}) < 2:
        raise ValueError(f"every completed trial has the same {view.names[0]}: nothing to explain")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = optuna.importance.get_param_importances(
                view.study,
                evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
                params=names,
                target=lambda t: _value(t, 0),
            )
        except (RuntimeError, ValueError, ZeroDivisionError) as err:
            raise ValueError(f"importances could not be estimated ({err})") from None
    result = {name: float(value) for name, value in found.items()}
    if not result or not all(math.isfinite(v) for v in result.values()):
        raise ValueError("importances could not be estimated from these trials")
    return result, notes


def _plot_importances(view: _View, path: Path) -> tuple[str | None, list[str]]:
    try:
        found, notes = _importances(view)
    except ValueError as err:
        message = str(err)
        return message[0].upper() + message[1:] + ".", []
    order = sorted(found, key=lambda n: found[n])
    fig = _figure(7.5, 1.2 + 0.45 * len(order))
    ax = fig.subplots()
    bars = ax.barh(order, [found[n] for n in order], color="tab:blue")
    ax.bar_label(bars, labels=[f"{found[n]:.0%}" for n in order], padding=3, fontsize=9)
    ax.set_xlim(0, max(1.0, max(found.values()) * 1.15))
    ax.set_xlabel(f"share of the variance of {view.names[0]} (fANOVA)")
    ax.set_title(f"Parameter importances over {len(view.complete)} completed trials", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)
    return None, notes


@dataclass
class _Axis:
    """One vertical axis of the parallel-coordinates plot: name, position of each trial, ticks."""

    name: str
    positions: dict[int, float]
    ticks: list[tuple[float, str]]


def _param_axis(name: str, trials: Sequence[FrozenTrial]) -> _Axis:
    from optuna.distributions import CategoricalDistribution

    holding = [t for t in trials if name in t.params]
    dist = holding[0].distributions[name]
    numeric = all(
        isinstance(t.params[name], int | float) and not isinstance(t.params[name], bool)
        for t in holding
    )
    if isinstance(dist, CategoricalDistribution) or not numeric:
        seen = {repr(t.params[name]): t.params[name] for t in holding}
        choices = dist.choices if isinstance(dist, CategoricalDistribution) else ()
        order = [repr(c) for c in choices if repr(c) in seen]
        order += [key for key in seen if key not in order]
        spot = {
            key: (i / (len(order) - 1) if len(order) > 1 else 0.5) for i, key in enumerate(order)
        }
        return _Axis(
            name,
            {t.number: spot[repr(t.params[name])] for t in holding},
            [(spot[key], _fmt(seen[key])) for key in order],
        )
    log = bool(getattr(dist, "log", False))
    raw = {t.number: float(t.params[name]) for t in holding}
    return _numeric_axis(name, raw, log)


def _numeric_axis(name: str, raw: dict[int, float], log: bool) -> _Axis:
    finite = {k: v for k, v in raw.items() if math.isfinite(v) and (v > 0 or not log)}
    if not finite:
        return _Axis(name, {}, [])
    scale: Callable[[float], float] = math.log10 if log else float
    low, high = min(finite.values()), max(finite.values())
    if scale(high) == scale(low):
        return _Axis(name, dict.fromkeys(finite, 0.5), [(0.5, _fmt(low))])
    span = scale(high) - scale(low)
    positions = {k: (scale(v) - scale(low)) / span for k, v in finite.items()}
    middle = 10 ** ((scale(low) + scale(high)) / 2) if log else (low + high) / 2
    return _Axis(name, positions, [(0.0, _fmt(low)), (0.5, _fmt(middle)), (1.0, _fmt(high))])


def _plot_parallel(view: _View, path: Path) -> str | None:
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize

    if not view.complete:
        return "No completed trial yet: nothing to plot."
    finished = [*view.complete, *view.pruned]
    names: list[str] = []
    for trial in sorted(finished, key=lambda t: -len(t.params)):
        names += [n for n in trial.params if n not in names]
    if not names:
        return "The trials hold no sampled parameter: nothing to plot."
    axes = [_param_axis(n, finished) for n in names]
    for index, objective in enumerate(view.names):
        raw = {t.number: _value(t, index) for t in view.complete}
        axes.append(
            _numeric_axis(f"{objective}\n({view.directions[index]})", raw, _wide([*raw.values()]))
        )
    fig = _figure(max(7.0, 1.45 * len(axes) + 2.0), 5.0)
    ax = fig.subplots()
    values = [v for t in view.complete if math.isfinite(v := _value(t, 0))] or [0.0]
    norm = Normalize(min(values), max(values) if max(values) > min(values) else min(values) + 1)
    # Better is darker; the palest end of viridis (yellow) is left out: it vanishes on white.
    shades = colormaps["viridis"](np.linspace(0.0, 0.85, 256))
    cmap = ListedColormap(shades if view.minimize else shades[::-1])
    xs = list(range(len(axes)))

    def line(trial: FrozenTrial) -> list[float]:
        return [a.positions.get(trial.number, math.nan) for a in axes]

    for i, trial in enumerate(view.pruned):
        ax.plot(xs, line(trial), color="0.75", lw=0.8, ls="--", label="pruned" if i == 0 else None)
    best_numbers = {t.number for t in view.best}
    for trial in sorted(view.ranked(), key=lambda t: t.number in best_numbers):
        top = trial.number in best_numbers
        ax.plot(
            xs,
            line(trial),
            color=cmap(norm(_value(trial, 0))),
            lw=2.6 if top else 1.2,
            alpha=1.0 if top else 0.75,
            zorder=3 if top else 2,
            marker="o" if top else None,
            ms=4,
            label=(f"best #{trial.number}" if not view.multi else None) if top else None,
        )
    for x, axis in zip(xs, axes):
        ax.axvline(x, color="0.3", lw=0.8, zorder=1)
        for y, text in axis.ticks:
            ax.text(
                x + 0.03,
                y,
                text,
                fontsize=7.5,
                va="center",
                ha="left",
                zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
            )
    ax.set_xticks(xs, [a.name for a in axes], fontsize=9)
    ax.set_xlim(-0.2, len(axes) - 0.4)
    ax.set_ylim(-0.06, 1.06)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    colourbar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.01)
    colourbar.set_label(view.names[0])
    if view.pruned or not view.multi:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, 1.12), ncol=2, frameon=False)
    fig.suptitle(
        f"Parallel coordinates: {len(view.complete)} completed"
        + (f" and {len(view.pruned)} pruned" if view.pruned else "")
        + " trials, coloured by "
        + view.names[0]
    )
    _save(fig, path)
    return None


def _plot_pareto(view: _View, path: Path) -> str | None:
    if not view.complete:
        return "No completed trial yet: nothing to plot."
    fig = _figure(7.5, 5.2)
    ax = fig.subplots()
    xs = [_value(t, 0) for t in view.complete]
    ys = [_value(t, 1) for t in view.complete]
    ax.scatter(xs, ys, s=26, color="0.6", label="completed trials", zorder=2)
    front = sorted(view.best, key=lambda t: (_value(t, 0), _value(t, 1)))
    fx, fy = [_value(t, 0) for t in front], [_value(t, 1) for t in front]
    if len(view.names) == 2:
        ax.step(fx, fy, where="post", color="tab:red", lw=1.2, alpha=0.6, zorder=2)
    ax.scatter(fx, fy, s=70, color="tab:red", edgecolor="black", label="Pareto front", zorder=3)
    for trial, x, y in zip(front, fx, fy):
        ax.annotate(
            f"#{trial.number}", (x, y), xytext=(5, 5), textcoords="offset points", fontsize=8
        )
    if _wide(xs):
        ax.set_xscale("log")
    if _wide(ys):
        ax.set_yscale("log")
    ax.set_xlabel(f"{view.names[0]} ({view.directions[0]})")
    ax.set_ylabel(f"{view.names[1]} ({view.directions[1]})")
    title = "Pareto front"
    if len(view.names) > 2:
        title += f" (first two of {len(view.names)} objectives)"
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
    return None


# ---- the page ----------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.note{color:#555;font-size:.9em}.note{background:#fff8e1;padding:.5em .8em}
.summary{font-size:1.05em;background:#f6f8fa;padding:.8em 1em;border-left:4px solid #4c78a8}
"""


def _esc(value: Any) -> str:
    return html.escape(_fmt(value) if not isinstance(value, str) else value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_esc(c)}</td>'
            if isinstance(c, int | float) and not isinstance(c, bool)
            else f"<td>{_esc(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _values_cell(view: _View, trial: FrozenTrial) -> str:
    if trial.values is None:
        last = _last_reported(trial) if trial.state == OptunaState.PRUNED else math.nan
        return f"(last reported {_fmt(last)})" if math.isfinite(last) else ""
    return ", ".join(_fmt(float(v)) for v in trial.values)


def _searched_rows(view: _View) -> list[tuple[str, str]]:
    spec = _experiment(view.study)
    rows = [("study", view.study.study_name), ("objectives", _objectives_text(view))]
    keys = (
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
    rows += [(k, _fmt(spec[k])) for k in keys if spec.get(k) is not None]
    return rows


def _best_section(view: _View) -> str:
    if not view.best:
        return '<p class="note">No trial completed: there is no best trial yet.</p>'
    top = view.best[0]
    parts = []
    if view.multi:
        parts.append(
            f"<p>The Pareto front holds {len(view.best)} trial(s) (listed below); shown here: "
            f"trial #{top.number}, the best on {html.escape(view.names[0])}.</p>"
        )
    values = ", ".join(f"{n} = {_fmt(_value(top, i))}" for i, n in enumerate(view.names))
    parts.append(
        f"<p><strong>Best trial #{top.number}</strong>: {html.escape(values)}; "
        f"seed {_esc(top.user_attrs.get('seed'))}.</p>"
    )
    resolved = _params(top)
    rows = [
        (k, resolved[k], "searched" if k in top.params else "fixed / default") for k in resolved
    ]
    parts.append(_table(("parameter", "value", ""), rows))
    metrics = _metrics(top)
    test = _test_sentence(metrics)
    if test:
        parts.append(f"<p>{html.escape(test)}</p>")
    shown = [k for k in sorted(metrics) if k.startswith(("val_", "test_"))]
    shown += [
        k for k in ("params", "latency_ms", "epochs", "best_epoch", "wall_seconds") if k in metrics
    ]
    if shown:
        parts.append(_table(("metric", "value"), [(k, metrics[k]) for k in shown]))
    if view.multi:
        front_rows = [
            (f"#{t.number}", *[_value(t, i) for i in range(len(view.names))], _key_params(t))
            for t in view.best
        ]
        parts.append("<h3>Pareto front</h3>")
        parts.append(_table(("trial", *view.names, "parameters"), front_rows))
    return "\n".join(parts)


def _headline_metric(trial: FrozenTrial) -> str:
    metrics = _metrics(trial)
    for name in ("test_rel_mae", "test_accuracy", "test_mae", "test_loss"):
        if name in metrics:
            return f"{name}={_fmt(metrics[name])}"
    return ""


def _trials_section(view: _View, top_k: int) -> str:
    ranked = view.ranked()[:top_k]
    parts = []
    if ranked:
        rows = [
            (rank, f"#{t.number}", _values_cell(view, t), _key_params(t), _headline_metric(t))
            for rank, t in enumerate(ranked, 1)
        ]
        parts.append(f"<h3>Top {len(ranked)} completed trials by {html.escape(view.names[0])}</h3>")
        parts.append(_table(("rank", "trial", ", ".join(view.names), "parameters", "test"), rows))
    listed = view.trials[:MAX_TABLE_TRIALS]
    rows2 = [
        (
            f"#{t.number}",
            _STATE_WORDS.get(t.state, t.state.name.lower()),
            _values_cell(view, t),
            _fmt(_metrics(t).get("epochs", "")),
            str(t.user_attrs.get("reason", "")),
        )
        for t in listed
    ]
    parts.append("<h3>All trials</h3>")
    if len(view.trials) > len(listed):
        parts.append(
            f'<p class="note">Showing the first {len(listed)} of {len(view.trials)} trials.</p>'
        )
    parts.append(_table(("trial", "state", ", ".join(view.names), "epochs", "reason"), rows2))
    return "\n".join(parts)


@dataclass
class _Figure:
    """One plot on the page: its file (None when not drawn), caption, and notes."""

    title: str
    file: str
    caption: str
    written: bool
    notes: list[str]


def _figure_html(fig: _Figure, folder: Path) -> str:
    head = f"<h2>{html.escape(fig.title)}</h2>"
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in fig.notes)
    if not fig.written:
        return head + notes
    data = base64.b64encode((folder / fig.file).read_bytes()).decode("ascii")
    return (
        f'{head}<figure><img src="data:image/png;base64,{data}" alt="{html.escape(fig.title)}">'
        f"<figcaption>{html.escape(fig.caption)} (file: {html.escape(fig.file)})</figcaption>"
        f"</figure>{notes}"
    )


def _page(view: _View, figures: list[_Figure], folder: Path, top_k: int) -> str:
    from automl_rnn.search.summary import elapsed_seconds

    name = html.escape(view.study.study_name)
    generated = datetime.now().strftime("%Y-%m-%d %H:%M")
    sections = [
        f'<p class="summary">{html.escape(describe(view.study))}</p>',
        "<h2>What was searched</h2>",
        _table(("setting", "value"), _searched_rows(view)),
        f"<p>Elapsed: {elapsed_seconds(view.study):.0f} s from the first trial's start to the "
        f"last one's end. Report generated {generated}.</p>",
        "<h2>What won</h2>",
        _best_section(view),
        *(_figure_html(f, folder) for f in figures),
        "<h2>Trials</h2>",
        _trials_section(view, top_k),
    ]
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>automl-rnn report: {name}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head>\n<body>\n<h1>automl-rnn report: study {name}</h1>\n"
        f"{body}\n</body></html>\n"
    )


def _draw(view: _View, folder: Path, top_k: int) -> list[_Figure]:
    """Draw every plot into ``folder``; each figure says whether it was written, and why not."""
    figures = []

    def add(title: str, file: str, caption: str, outcome: str | None, notes: list[str]) -> None:
        written = outcome is None
        figures.append(_Figure(title, file, caption, written, notes if written else [str(outcome)]))

    add(
        "Optimisation history",
        HISTORY_PNG,
        "Objective value of each completed trial by trial number, with the best so far; pruned "
        "trials at their last reported value, failed trials as red marks on the axis.",
        _plot_history(view, folder / HISTORY_PNG),
        [],
    )
    add(
        "Convergence of the top trials",
        CONVERGENCE_PNG,
        f"Per-epoch train and validation loss, and the validation metric, of the "
        f"{min(top_k, len(view.complete))} best completed trial(s); other finished trials in grey.",
        _plot_convergence(view, folder / CONVERGENCE_PNG, top_k),
        [],
    )
    outcome, notes = _plot_importances(view, folder / IMPORTANCES_PNG)
    add(
        "Parameter importances",
        IMPORTANCES_PNG,
        f"How much of the variation of {view.names[0]} each searched parameter explains "
        "(fANOVA over the completed trials; rough with few trials).",
        outcome,
        notes,
    )
    add(
        "Parallel coordinates",
        PARALLEL_PNG,
        "One line per trial across the sampled parameters (each scaled to its range, log "
        "parameters on a log scale, categories evenly spaced) and the objective(s); a gap means "
        "the parameter was not set for that trial.",
        _plot_parallel(view, folder / PARALLEL_PNG),
        [],
    )
    if view.multi:
        add(
            "Pareto front",
            PARETO_PNG,
            "Completed trials by the first two objectives; the non-dominated trials (Pareto "
            "front) in red, labelled by trial number.",
            _plot_pareto(view, folder / PARETO_PNG),
            [],
        )
    return figures


# ---- writing -----------------------------------------------------------------------------------


def _make_parent(out_dir: Path) -> list[Path]:
    """Create the missing folders above ``out_dir``; return those created (deepest last)."""
    missing = [p for p in reversed(out_dir.parents) if not p.exists()]
    for folder in missing:
        folder.mkdir()
    return missing


def _publish(built: Path, out_dir: Path, names: list[str]) -> None:
    """Move the finished files into place: the folder in one rename when it is new; into an
    existing folder file by file (each replace atomic), dropping report files now left out."""
    if not out_dir.exists():
        try:
            os.rename(built, out_dir)
            return
        except OSError:
            if not out_dir.is_dir():
                raise
    for name in names:
        os.replace(built / name, out_dir / name)
    for name in REPORT_FILES:
        if name not in names and (out_dir / name).is_file():
            (out_dir / name).unlink()


def write_report(study: optuna.Study, out_dir: Path, top_k: int = 5) -> list[Path]:
    """Write ``report.html`` and its PNG plots into ``out_dir`` (created); return the files.

    Everything is built in a temporary folder beside ``out_dir`` and moved into place only when
    complete. Raises :class:`UserError` (one line) when ``out_dir`` is a file or not writable.
    """
    out_dir = Path(out_dir).expanduser().absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"report folder {out_dir} is an existing file; give a folder")
    if top_k < 1:
        raise UserError(f"top_k must be at least 1 (got {top_k})")
    created: list[Path] = []
    built: Path | None = None
    try:
        created = _make_parent(out_dir)
        built = Path(
            tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent)
        )
        built.chmod(0o755)  # mkdtemp makes it private; it becomes the report folder
        view = _view(study)
        figures = _draw(view, built, top_k)
        (built / REPORT_HTML).write_text(_page(view, figures, built, top_k), encoding="utf-8")
        names = [REPORT_HTML, *(f.file for f in figures if f.written)]
        _publish(built, out_dir, names)
    except BaseException as err:
        for folder in reversed(created):
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, OSError):
            reason = err.strerror or str(err)
            raise UserError(f"cannot write the report to {out_dir}: {reason}") from None
        raise
    finally:
        if built is not None and built.exists():
            shutil.rmtree(built, ignore_errors=True)
    return [out_dir / name for name in names]
