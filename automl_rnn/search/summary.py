"""How a study stands, as the JSON that ``best``, ``status`` and the search summary print.

Pure functions over a :class:`~automl_rnn.search.records.StudySnapshot`: the rules (best trial,
Pareto front, counts, failure tally) belong to the snapshot; this module only shapes them.
"""

from __future__ import annotations

import math

from automl_rnn.errors import UserError
from automl_rnn.search.records import StudySnapshot
from automl_rnn.search.verdict import baseline_verdict

#: JSON-ready values.
Json = dict[str, object]


def best(snapshot: StudySnapshot) -> Json:
    """The best completed trial (multi-objective: with the Pareto front, first objective first)."""
    top = snapshot.best()
    if top is None:
        raise UserError(f"study '{snapshot.info.name}' has no completed trial yet")
    record = top.to_json(snapshot.info.name)
    info = snapshot.info
    record["baseline"] = baseline_verdict(info.kind, top.metrics, info.classical)
    if snapshot.info.multi_objective:
        record["pareto_front"] = [
            {"trial": t.number, "values": list(t.values or ()), "params": t.params}
            for t in snapshot.pareto_front()
        ]
    return record


def status(snapshot: StudySnapshot) -> Json:
    """Counts by state, best so far, elapsed time, failure kinds and stale trials."""
    payload: Json = {
        "study": snapshot.info.name,
        "counts": snapshot.counts(),
        "elapsed_seconds": round(snapshot.elapsed_seconds(), 1),
        "failure_reasons": snapshot.failure_reasons(),
        "stale_trials": [t.number for t in snapshot.stale()],
    }
    try:
        top = best(snapshot)
        payload["best"] = {k: top[k] for k in ("trial", "value", "values", "params") if k in top}
    except UserError:
        payload["best"] = None
    return payload


def fmt(value: object) -> str:
    """Compact number formatting for the terminal."""
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)
