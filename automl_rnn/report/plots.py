"""The report's plots of the search's course: optimisation history, convergence, Pareto front.

Each ``plot_*`` draws one PNG and returns None, or returns why it drew nothing. matplotlib (Agg,
no pyplot state) is imported inside the functions that draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from automl_rnn.report.model import ReportView, curve, last_reported, metric_curve, value
from automl_rnn.search.summary import fmt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_DPI = 110
NOTHING_COMPLETED = "No completed trial yet: nothing to plot."


def figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas (no pyplot: no global state, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png", dpi=_DPI, metadata={"Software": None})


def wide(values: Sequence[float]) -> bool:
    """Positive values spanning more than two decades read better on a log axis."""
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 100


def plot_history(view: ReportView, path: Path) -> str | None:
    from matplotlib.ticker import MaxNLocator

    if not view.complete:
        return NOTHING_COMPLETED
    rows = len(view.names)
    fig = figure(8.5, 3.2 * rows + 0.6)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    best_numbers = {t.number for t in view.best}
    for index, (ax, name, direction) in enumerate(zip(axes, view.names, view.directions)):
        done = sorted(view.complete, key=lambda t: t.number)
        xs = [t.number for t in done]
        ys = [value(t, index) for t in done]
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
            late = [(t.number, last_reported(t)) for t in view.pruned]
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
        if wide(shown):
            ax.set_yscale("log")
        ax.set_ylabel(f"{name} ({direction})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[-1].set_xlabel("trial number")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"Optimisation history: {view.name}")
    save(fig, path)
    return None


def metric_label(kind: str | None) -> str:
    return {
        "forecast": "validation MAE (data units)",
        "regression": "validation MAE (data units)",
        "classification": "validation accuracy",
        "tokens": "validation token accuracy",
    }.get(kind or "", "validation metric")


def plot_convergence(view: ReportView, path: Path, top_k: int) -> str | None:
    from matplotlib.ticker import MaxNLocator

    top = view.ranked[: max(1, top_k)]
    if not any(curve(t, "val_loss") or metric_curve(t) for t in top):
        return "No per-epoch curves recorded for the top trials." if top else NOTHING_COMPLETED
    fig = figure(11, 4.4)
    loss_ax, metric_ax = fig.subplots(1, 2)
    chosen = {t.number for t in top}
    background = [t for t in (*view.complete, *view.pruned) if t.number not in chosen]
    loss_values: list[float] = []
    metric_values: list[float] = []
    for i, trial in enumerate(background):
        label = "other finished trials" if i == 0 else None
        val = curve(trial, "val_loss")
        metric = metric_curve(trial)
        loss_ax.plot(range(1, len(val) + 1), val, color="0.8", lw=0.8, label=label)
        metric_ax.plot(range(1, len(metric) + 1), metric, color="0.8", lw=0.8, label=label)
        loss_values += val
        metric_values += metric
    for i, trial in enumerate(top):
        colour = f"C{i % 10}"
        tag = f"#{trial.number} ({view.names[0]}={fmt(value(trial, 0))})"
        train, val = curve(trial, "train_loss"), curve(trial, "val_loss")
        metric = metric_curve(trial)
        loss_ax.plot(range(1, len(val) + 1), val, color=colour, lw=1.8, label=f"{tag} val")
        loss_ax.plot(range(1, len(train) + 1), train, color=colour, lw=1.2, ls="--")
        metric_ax.plot(range(1, len(metric) + 1), metric, color=colour, lw=1.8, label=tag)
        best_epoch = trial.metrics.get("best_epoch")
        if best_epoch is not None and 0 <= int(best_epoch) < len(metric):
            metric_ax.scatter(
                [int(best_epoch) + 1], [metric[int(best_epoch)]], color=colour, s=40, zorder=4
            )
        loss_values += train + val
        metric_values += metric
    loss_ax.plot([], [], color="0.3", ls="--", label="train loss (dashed)")
    for ax, values in ((loss_ax, loss_values), (metric_ax, metric_values)):
        if wide(values):
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    loss_ax.set_title("loss (scaled units): validation solid, train dashed", fontsize=10)
    metric_ax.set_title(f"{metric_label(view.kind)}, dot = best epoch", fontsize=10)
    fig.suptitle(f"Convergence of the top {len(top)} trial(s) by {view.names[0]}")
    save(fig, path)
    return None


def plot_pareto(view: ReportView, path: Path) -> str | None:
    if not view.complete:
        return NOTHING_COMPLETED
    fig = figure(7.5, 5.2)
    ax = fig.subplots()
    xs = [value(t, 0) for t in view.complete]
    ys = [value(t, 1) for t in view.complete]
    ax.scatter(xs, ys, s=26, color="0.6", label="completed trials", zorder=2)
    front = sorted(view.best, key=lambda t: (value(t, 0), value(t, 1)))
    fx, fy = [value(t, 0) for t in front], [value(t, 1) for t in front]
    if len(view.names) == 2:
        ax.step(fx, fy, where="post", color="tab:red", lw=1.2, alpha=0.6, zorder=2)
    ax.scatter(fx, fy, s=70, color="tab:red", edgecolor="black", label="Pareto front", zorder=3)
    for trial, x, y in zip(front, fx, fy):
        ax.annotate(
            f"#{trial.number}", (x, y), xytext=(5, 5), textcoords="offset points", fontsize=8
        )
    if wide(xs):
        ax.set_xscale("log")
    if wide(ys):
        ax.set_yscale("log")
    ax.set_xlabel(f"{view.names[0]} ({view.directions[0]})")
    ax.set_ylabel(f"{view.names[1]} ({view.directions[1]})")
    title = "Pareto front"
    if len(view.names) > 2:
        title += f" (first two of {len(view.names)} objectives)"
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path)
    return None
