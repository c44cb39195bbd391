"""What ``export`` makes when told neither ``--trial`` nor ``--ensemble``: the mean of the
study's :data:`DEFAULT_SIZE` best trials where an ensemble applies, else its best trial; and,
for the search's summary, the scores of that ensemble."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automl_rnn.data.prepared import PreparedData
    from automl_rnn.search.records import StudySnapshot

DEFAULT_SIZE = 3
"""Best trials averaged by default. A single search's best trial is a lottery over seeds; on the
tuning panel's backtests the mean of the 3 best beat it in 39 of 66 searches (median ratio 0.955)
and gave a better worst seed on 16 of 20 windows, confirmed on 8 windows more by a rule fixed
before they ran (6 of 8, median 0.922; BENCHMARKS.md, twelfth session)."""


def default_size(snapshot: StudySnapshot, prepared: PreparedData) -> int | None:
    """:data:`DEFAULT_SIZE` for a single-objective forecast of one series with that many
    completed trials; None (the best trial alone) otherwise."""
    from automl_rnn.export.assembly import one_series

    enough = len(snapshot.ranked()) >= DEFAULT_SIZE
    fits = one_series(prepared) is not None and not snapshot.info.multi_objective
    return DEFAULT_SIZE if fits and enough else None


def default_ensemble(
    snapshot: StudySnapshot, workspace: Path, prepared: PreparedData
) -> dict[str, Any] | None:
    """The trials and the validation and test scores of the ensemble ``export`` makes by default
    (None: it exports the best trial alone)."""
    from automl_rnn.export.assembly import assemble, check_supported, pick_members
    from automl_rnn.export.loading import trial_checkpoint, trial_weights

    size = default_size(snapshot, prepared)
    if size is None:
        return None
    name = snapshot.info.name
    members = pick_members(snapshot, size)
    records = [m.to_json(name) for m in members]
    made = assemble(
        check_supported(prepared, name),
        records,
        lambda record, _: trial_weights(trial_checkpoint(workspace, name, record), record["trial"]),
    )
    return {"size": size, "trials": [m.number for m in members], "metrics": made.metrics}
