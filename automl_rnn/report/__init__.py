"""The search report: one self-contained HTML page plus the PNG plots it embeds, usable offline.

:func:`write_report` draws, from a :class:`~automl_rnn.search.records.StudySnapshot` (objective
values, reported values, and each trial's parameters, metrics and per-epoch curves):

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

Modules: ``model`` (the read model, the only one that reads the snapshot), ``words`` (sentences),
``plots`` and ``importance`` (figures; matplotlib imported inside the functions that draw),
``sections`` and ``page`` (the HTML, and writing it into place).
"""

from __future__ import annotations

from automl_rnn.report.importance import MIN_IMPORTANCE_TRIALS
from automl_rnn.report.model import ReportView, objective_names, read
from automl_rnn.report.page import (
    CONVERGENCE_PNG,
    HISTORY_PNG,
    IMPORTANCES_PNG,
    PARALLEL_PNG,
    PARETO_PNG,
    REPORT_FILES,
    REPORT_HTML,
    write_report,
)
from automl_rnn.report.sections import MAX_TABLE_TRIALS
from automl_rnn.report.words import describe

__all__ = [
    "CONVERGENCE_PNG",
    "HISTORY_PNG",
    "IMPORTANCES_PNG",
    "MAX_TABLE_TRIALS",
    "MIN_IMPORTANCE_TRIALS",
    "PARALLEL_PNG",
    "PARETO_PNG",
    "REPORT_FILES",
    "REPORT_HTML",
    "ReportView",
    "describe",
    "objective_names",
    "read",
    "write_report",
]
