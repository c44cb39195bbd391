"""The best trial's test metrics against the task's baselines: the one owner of the verdict words
("beats seasonal naive", "does NOT beat AutoETS", "does NOT beat the majority class") the summary,
``best``, the report and the MLflow parent run print."""

from __future__ import annotations

from collections.abc import Mapping

Verdict = dict[str, object]
Classical = Mapping[str, Mapping[str, float | str]]

RECURRENT = "the recurrent model"
"""The chosen model's name among the rivals of ``winner_on_test`` / ``best_on_validation``."""


def baseline_verdict(
    kind: str | None, metrics: Mapping[str, float] | None, classical: Classical | None = None
) -> Verdict | None:
    """Test metrics of the best trial against the task's baselines, in words and numbers.

    Forecasts compare with seasonal naive (``test_rel_mae`` below 1 beats it) and, when scored,
    the classical models (:mod:`automl_rnn.data.classical`) on the same windows;
    classification with the majority class; regression with the training mean (and numeric
    pairs with their last input value repeated); any other kind gets its ``test_*`` metrics
    without a verdict. None when there is no best trial (``metrics`` None).
    """
    if metrics is None:
        return None
    if kind == "forecast" and "test_rel_mae" in metrics:
        rel = metrics["test_rel_mae"]
        verdict: Verdict = {
            "test_mae": metrics.get("test_mae"),
            "seasonal_naive_mae": metrics.get("test_snaive_mae"),
            "test_rel_mae": rel,
            "test_mase": metrics.get("test_mase"),
            "verdict": "beats seasonal naive" if rel < 1 else "does NOT beat seasonal naive",
        }
        if "test_beats_snaive_share" in metrics:  # many series: the spread over the series
            verdict["verdict"] = (
                f"{verdict['verdict']} on average over {int(metrics['test_series'])} series, "
                f"on {metrics['test_beats_snaive_share']:.0%} of them"
            )
            for key in ("rel_mae_best", "rel_mae_median", "rel_mae_worst", "mase_median"):
                verdict[f"test_{key}"] = metrics.get(f"test_{key}")
        if classical:
            verdict.update(_against_classical(metrics, classical))
        return verdict
    if kind == "classification" and "test_accuracy" in metrics:
        acc, base = metrics["test_accuracy"], metrics.get("test_majority_accuracy", 0.0)
        return {
            "test_accuracy": acc,
            "majority_accuracy": base,
            "verdict": "beats the majority class"
            if acc > base
            else "does NOT beat the majority class",
        }
    if kind == "regression" and "test_mae" in metrics and "test_mean_mae" in metrics:
        return _against_simple(metrics)
    return {k: v for k, v in metrics.items() if k.startswith("test_")}


#: A regression's simple rivals: the infix of their score keys (``test_mean_mae``) and their name.
SIMPLE_RIVALS = {"mean": "the training mean", "last": "the last value repeated"}


def _against_simple(metrics: Mapping[str, float]) -> Verdict:
    """A regression's test MAE against the training mean's and, for numeric pairs whose target
    is an input too, against repeating its last input value."""
    ours = metrics["test_mae"]
    rivals = {
        name: metrics[f"test_{key}_mae"]
        for key, name in SIMPLE_RIVALS.items()
        if f"test_{key}_mae" in metrics
    }
    lost = [name for name, mae in rivals.items() if mae <= ours]
    won = [name for name in rivals if name not in lost]
    return {
        "test_mae": ours,
        "rivals_mae": rivals,
        "verdict": f"does NOT beat {_join(lost)}" if lost else f"beats {_join(won)}",
    }


def _against_classical(metrics: Mapping[str, float], classical: Classical) -> Verdict:
    """The classical models' scores, which of them the chosen model beats on test, and who wins
    on validation (what a user could have chosen by) and on test (what happened)."""
    # many series compare by mean MASE: a pooled MAE is decided by the largest series
    unit = "mase" if "test_beats_snaive_share" in metrics else "mae"
    ours = (metrics.get(f"val_{unit}"), metrics[f"test_{unit}"])
    rivals: dict[str, tuple[float | None, float]] = {}
    if f"test_snaive_{unit}" in metrics:
        rivals["seasonal naive"] = (
            metrics.get(f"val_snaive_{unit}"),
            metrics[f"test_snaive_{unit}"],
        )
    table: dict[str, dict[str, float | str]] = {}
    for key, scores in classical.items():
        table[key] = dict(scores)
        val, test = scores.get(f"val_{unit}"), scores.get(f"test_{unit}")
        if isinstance(test, float | int) and "error" not in scores:
            rivals[str(scores.get("model", key))] = (
                float(val) if isinstance(val, float | int) else None,
                float(test),
            )
    lost = [name for name, (_, test) in rivals.items() if test <= ours[1]]
    won = [name for name in rivals if name not in lost]
    on_test = {RECURRENT: ours[1], **{n: t for n, (_, t) in rivals.items()}}
    on_val = {RECURRENT: ours[0], **{n: v for n, (v, _) in rivals.items()}}
    known_val = {n: v for n, v in on_val.items() if v is not None}
    if lost:
        numbers = ", ".join(f"{name} {rivals[name][1]:.4g}" for name in lost)
        words = (
            f"does NOT beat {_join(lost)} on test ({unit.upper()} {ours[1]:.4g} vs {numbers}): "
            f"{'a classical model' if lost != ['seasonal naive'] else 'seasonal naive'} "
            f"forecasts {'these series' if unit == 'mase' else 'this series'} better"
        )
    else:
        words = f"beats {_join(won)} on test"
    return {
        "classical": table,
        "beats": won,
        "does_not_beat": lost,
        "classical_verdict": words,
        "winner_on_test": min(on_test, key=lambda n: on_test[n]),
        "best_on_validation": min(known_val, key=lambda n: known_val[n]) if known_val else None,
    }


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
