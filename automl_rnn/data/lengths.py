"""How long a forecast series must be to be searched: the one rule, stated here.

A search fits each trial on the training part, ranks the trials on the validation part and reports
the winner on the test part (see :mod:`automl_rnn.data.forecast` for the chronological splits).
A series is searched only when all three can mean something:

- the validation part and the test part each hold at least :data:`MIN_EVAL_POINTS` target values
  and at least one horizon (a horizon-1 series is judged on four one-step forecasts, not one);
- the training part holds at least :data:`MIN_FIT_WINDOWS` windows of the shortest input window
  a trial may draw (``max(2, min(horizon, season))``), so a trial fits more than a handful of
  examples.

Hence the rows a series needs (:func:`rows_needed`)::

    shortest window + horizon - 1 + MIN_FIT_WINDOWS + validation + test

e.g. 26 rows for horizon 1 without a season (2 + 1 - 1 + 16 + 4 + 4), 63 for monthly data
forecast 12 months ahead (12 + 12 - 1 + 16 + 12 + 12). Built-in tasks pass it by far
(air_passengers: 75 of 144; co2: 275 of 2284; sine_mix: 135 of 480).

Plain integers only (no numpy): the data layer applies it in ``build`` for every CSV and task.
"""

from __future__ import annotations

from automl_rnn.errors import DataError

MIN_FIT_WINDOWS = 16
"""Training windows the shortest input window must leave (the search prefers 32 for every
candidate window when the series allows: :data:`automl_rnn.data.seasonality.MIN_TRAIN_WINDOWS`)."""

MIN_EVAL_POINTS = 4
"""Target values the validation part and the test part each hold at least."""


def shortest_window(horizon: int, season: int | None) -> int:
    """The shortest input window a trial may draw: one horizon or one season, at least 2 steps."""
    return max(2, min(horizon, season or horizon))


def held_out_points(horizon: int, size: int | None = None) -> int:
    """Points of the validation (or test) part: ``size`` (a task file's ``val_size`` or the CSV
    split's), raised to one horizon and to :data:`MIN_EVAL_POINTS`."""
    return max(horizon, MIN_EVAL_POINTS, size or 0)


def rows_needed(horizon: int, season: int | None, val_size: int, test_size: int) -> int:
    """Rows a series needs for ``horizon`` with these validation and test parts (module rule)."""
    return shortest_window(horizon, season) + horizon - 1 + MIN_FIT_WINDOWS + val_size + test_size


def check_length(
    label: str, rows: int, horizon: int, season: int | None, val_size: int, test_size: int
) -> None:
    """Refuse a series of ``rows`` too short for the rule: one line naming ``label`` (the file or
    task), the rows it has and the rows ``horizon`` needs."""
    need = rows_needed(horizon, season, val_size, test_size)
    if rows < need:
        window = shortest_window(horizon, season)
        train = need - val_size - test_size
        raise DataError(
            f"{label}: series too short to search: {rows} rows; forecasting {horizon} step(s) "
            f"needs at least {need} rows ({train} training rows for {MIN_FIT_WINDOWS} windows of "
            f"{window} steps, {val_size} validation, {test_size} test); give a longer series or "
            "a smaller --horizon"
        )
