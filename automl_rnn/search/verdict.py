"""The best trial's test metrics against the task's baseline: the one owner of the verdict words
("beats seasonal naive", "does NOT beat the majority class") the summary and the report print."""

from __future__ import annotations

from collections.abc import Mapping

Verdict = dict[str, float | str | None]


def baseline_verdict(kind: str | None, metrics: Mapping[str, float] | None) -> Verdict | None:
    """Test metrics of the best trial against the task's baseline, in words and numbers.

    Forecasts compare with seasonal naive (``test_rel_mae`` below 1 beats it), classification
    with the majority class; any other kind gets its ``test_*`` metrics without a verdict.
    None when there is no best trial (``metrics`` None).
    """
    if metrics is None:
        return None
    if kind == "forecast" and "test_rel_mae" in metrics:
        rel = metrics["test_rel_mae"]
        return {
            "test_mae": metrics.get("test_mae"),
            "seasonal_naive_mae": metrics.get("test_snaive_mae"),
            "test_rel_mae": rel,
            "test_mase": metrics.get("test_mase"),
            "verdict": "beats seasonal naive" if rel < 1 else "does NOT beat seasonal naive",
        }
    if kind == "classification" and "test_accuracy" in metrics:
        acc, base = metrics["test_accuracy"], metrics.get("test_majority_accuracy", 0.0)
        return {
            "test_accuracy": acc,
            "majority_accuracy": base,
            "verdict": "beats the majority class"
            if acc > base
            else "does NOT beat the majority class",
        }
    return {k: v for k, v in metrics.items() if k.startswith("test_")}
