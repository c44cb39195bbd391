"""What the searched parameters did: fANOVA importances and parallel coordinates.

fANOVA is Optuna's: it runs on an in-memory Optuna study rebuilt from the completed trials'
records (sampled parameters, their distributions, objective values), never on the stored one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from automl_rnn.report.model import ReportView, sampled_names, value
from automl_rnn.report.plots import NOTHING_COMPLETED, figure, save, wide
from automl_rnn.search.summary import fmt

if TYPE_CHECKING:
    from automl_rnn.search.records import TrialRecord

#: Fewer completed trials than this give no importance plot (any split of 1-2 points is noise).
MIN_IMPORTANCE_TRIALS = 3


def importances(view: ReportView) -> tuple[dict[str, float], list[str]]:
    """fANOVA importances of the first objective over the completed trials, with notes on the
    parameters left out. Raises ``ValueError`` (with the reason in words) when there are none."""
    import optuna
    from optuna.search_space import intersection_search_space

    if len(view.complete) < MIN_IMPORTANCE_TRIALS:
        raise ValueError(
            f"not enough trials: parameter importances need at least {MIN_IMPORTANCE_TRIALS} "
            f"completed trials, this study has {len(view.complete)}"
        )
    frozen = [
        optuna.trial.create_trial(
            params=dict(t.sampled),
            distributions=dict(t.distributions),
            values=[value(t, i) for i in range(len(view.directions))],
            intermediate_values=dict(t.intermediate),
        )
        for t in view.complete
    ]
    shared = intersection_search_space(frozen)
    every = {name for t in view.complete for name in t.sampled}
    notes = []
    conditional = sorted(every - set(shared))
    if conditional:
        notes.append(
            "Left out, as not set (or not sampled alike) in every completed trial: "
            + ", ".join(conditional)
        )
    constant = sorted(n for n in shared if len({repr(t.sampled[n]) for t in view.complete}) < 2)
    if constant:
        notes.append("Left out, as constant over the completed trials: " + ", ".join(constant))
    names = [n for n in shared if n not in constant]
    if not names:
        raise ValueError("no parameter varied across the completed trials: nothing to rank")
    if len({value(t, 0) for t in view.complete}) < 2:
        raise ValueError(f"every completed trial has the same {view.names[0]}: nothing to explain")
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created in memory"
    try:
        directions = [optuna.study.StudyDirection[d.upper()] for d in view.directions]
        study = optuna.create_study(directions=directions)
        study.add_trials(frozen)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study,
                evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
                params=names,
                target=lambda t: float(t.values[0]),
            )
    except (RuntimeError, ValueError, ZeroDivisionError) as err:
        raise ValueError(f"importances could not be estimated ({err})") from None
    finally:
        optuna.logging.set_verbosity(verbosity)
    result = {name: float(v) for name, v in found.items()}
    if not result or not all(math.isfinite(v) for v in result.values()):
        raise ValueError("importances could not be estimated from these trials")
    return result, notes


def plot_importances(view: ReportView, path: Path) -> tuple[str | None, list[str]]:
    try:
        found, notes = importances(view)
    except ValueError as err:
        message = str(err)
        return message[0].upper() + message[1:] + ".", []
    order = sorted(found, key=lambda n: found[n])
    fig = figure(7.5, 1.2 + 0.45 * len(order))
    ax = fig.subplots()
    bars = ax.barh(order, [found[n] for n in order], color="tab:blue")
    ax.bar_label(bars, labels=[f"{found[n]:.0%}" for n in order], padding=3, fontsize=9)
    ax.set_xlim(0, max(1.0, max(found.values()) * 1.15))
    ax.set_xlabel(f"share of the variance of {view.names[0]} (fANOVA)")
    ax.set_title(f"Parameter importances over {len(view.complete)} completed trials", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    save(fig, path)
    return None, notes


@dataclass
class Axis:
    """One vertical axis of the parallel-coordinates plot: name, position of each trial, ticks."""

    name: str
    positions: dict[int, float]
    ticks: list[tuple[float, str]]


def param_axis(name: str, trials: Sequence[TrialRecord]) -> Axis:
    """The axis of sampled parameter ``name`` over the trials that sampled it."""
    from optuna.distributions import CategoricalDistribution

    holding = [t for t in trials if name in t.sampled]
    dist = holding[0].distributions[name]
    numeric = all(
        isinstance(t.sampled[name], int | float) and not isinstance(t.sampled[name], bool)
        for t in holding
    )
    if isinstance(dist, CategoricalDistribution) or not numeric:
        seen = {repr(t.sampled[name]): t.sampled[name] for t in holding}
        choices = dist.choices if isinstance(dist, CategoricalDistribution) else ()
        order = [repr(c) for c in choices if repr(c) in seen]
        order += [key for key in seen if key not in order]
        spot = {
            key: (i / (len(order) - 1) if len(order) > 1 else 0.5) for i, key in enumerate(order)
        }
        return Axis(
            name,
            {t.number: spot[repr(t.sampled[name])] for t in holding},
            [(spot[key], fmt(seen[key])) for key in order],
        )
    log = bool(getattr(dist, "log", False))
    raw = {t.number: float(v) for t in holding if isinstance(v := t.sampled[name], int | float)}
    return numeric_axis(name, raw, log)


def numeric_axis(name: str, raw: dict[int, float], log: bool) -> Axis:
    """An axis scaled to the values' range (log10 when ``log``); non-finite values left out."""
    finite = {k: v for k, v in raw.items() if math.isfinite(v) and (v > 0 or not log)}
    if not finite:
        return Axis(name, {}, [])
    scale: Callable[[float], float] = math.log10 if log else float
    low, high = min(finite.values()), max(finite.values())
    if scale(high) == scale(low):
        return Axis(name, dict.fromkeys(finite, 0.5), [(0.5, fmt(low))])
    span = scale(high) - scale(low)
    positions = {k: (scale(v) - scale(low)) / span for k, v in finite.items()}
    middle = 10 ** ((scale(low) + scale(high)) / 2) if log else (low + high) / 2
    return Axis(name, positions, [(0.0, fmt(low)), (0.5, fmt(middle)), (1.0, fmt(high))])


def plot_parallel(view: ReportView, path: Path) -> str | None:
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize

    if not view.complete:
        return NOTHING_COMPLETED
    finished = [*view.complete, *view.pruned]
    names = sampled_names(finished)
    if not names:
        return "The trials hold no sampled parameter: nothing to plot."
    axes = [param_axis(n, finished) for n in names]
    for index, objective in enumerate(view.names):
        raw = {t.number: value(t, index) for t in view.complete}
        axes.append(
            numeric_axis(f"{objective}\n({view.directions[index]})", raw, wide([*raw.values()]))
        )
    fig = figure(max(7.0, 1.45 * len(axes) + 2.0), 5.0)
    ax = fig.subplots()
    values = [v for t in view.complete if math.isfinite(v := value(t, 0))] or [0.0]
    norm = Normalize(min(values), max(values) if max(values) > min(values) else min(values) + 1)
    # Better is darker; the palest end of viridis (yellow) is left out: it vanishes on white.
    shades = colormaps["viridis"](np.linspace(0.0, 0.85, 256))
    cmap = ListedColormap(shades if view.minimize else shades[::-1])
    xs = list(range(len(axes)))

    def line(trial: TrialRecord) -> list[float]:
        return [a.positions.get(trial.number, math.nan) for a in axes]

    for i, trial in enumerate(view.pruned):
        ax.plot(xs, line(trial), color="0.75", lw=0.8, ls="--", label="pruned" if i == 0 else None)
    best_numbers = {t.number for t in view.best}
    for trial in sorted(view.ranked, key=lambda t: t.number in best_numbers):
        top = trial.number in best_numbers
        ax.plot(
            xs,
            line(trial),
            color=cmap(norm(value(trial, 0))),
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
    save(fig, path)
    return None
