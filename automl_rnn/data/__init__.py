"""The data layer: built-in tasks, the user's files, splits, windows, scaling, loaders and scores.

``prepare(source)`` parses and validates a :class:`~automl_rnn.data.source.DataSource` once per
process and returns a :class:`~automl_rnn.data.prepared.PreparedData`. Importing this package is
cheap: numpy, pandas and torch load only when data are prepared or loaders built.

Every shape and every built-in task goes through the same stages, each in its own modules (the
``data stages`` contract in ``pyproject.toml`` keeps imports pointing down this list):

1. **which shape** -- :mod:`.build` reads the flags (:mod:`.source`) or the task file
   (:mod:`.catalog`, :mod:`.spec`) and calls one shape's reader;
2. **read** -- :mod:`.csvread` (CSV: the exact line-counting reader and the fast typed one),
   :mod:`.parquet`; a long table's rows grouped by id in time order: :mod:`.long_table`; one
   series in time order with its gaps: :mod:`.series`, :mod:`.missing`;
3. **shape** -- one module each: a series (:mod:`.series`), many series (:mod:`.panel`),
   labelled sequences and per-step targets (:mod:`.sequences`, :mod:`.step_labels`), numeric
   pairs (:mod:`.sequence_pairs`), constants to a sequence (:mod:`.static_steps`), texts
   (:mod:`.text`), text pairs and vector to text (:mod:`.text_pairs`), generated and image
   tasks (:mod:`.generators`, :mod:`.images`);
4. **split** -- by row or id, seeded or stratified: :mod:`.splits`; by time, the last steps of
   each series: :mod:`.forecast`, :mod:`.panel_data` (sizes ruled by :mod:`.lengths`); scaled
   with the training part's statistics: :mod:`.scaling`;
5. **windows** -- indices into the series, gathered a batch at a time: :mod:`.forecast`,
   :mod:`.panel_data`; whole samples: :mod:`.arrays`;
6. **loaders and scores** -- :mod:`.batching` (torch datasets and seeded loaders),
   :mod:`.metrics`, :mod:`.panel_scores`; the classical baselines: :mod:`.classical`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from automl_rnn.data.prepared import PreparedData
    from automl_rnn.data.source import DataSource

__all__ = ["clear_cache", "prepare"]

_CACHE: dict[str, PreparedData] = {}


def _stamp(path: str | None) -> str:
    """Size and mtime of a file the source reads, so an edited file is read again."""
    if path is None:
        return ""
    try:
        stat = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL in the name (the read then refuses it)
        return ""
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def prepare(source: DataSource) -> PreparedData:
    """Parsed, validated data of ``source``, memoised per process (per source and file version).

    Raises :class:`automl_rnn.errors.DataError` or :class:`~automl_rnn.errors.ConfigError` with one
    line for anything the user must fix.
    """
    task_file = source.task if source.task and source.task.endswith((".yaml", ".yml")) else None
    key = f"{source.model_dump_json()}|{_stamp(source.data)}|{_stamp(task_file)}"
    if key not in _CACHE:
        from automl_rnn.data.build import build

        with _held_warnings() as held:
            prepared = build(source)
        prepared.warnings = tuple(held)
        _CACHE[key] = prepared
    return _CACHE[key]


class _Held(logging.Handler):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _held_warnings() -> Iterator[list[str]]:
    """The data layer's warnings (missing values filled, texts cut), held instead of printed:
    refused data prints its one error line alone, and accepted data keeps them in
    ``PreparedData.warnings`` for the caller to show once the rest of the input passed too."""
    logger, messages = logging.getLogger("automl_rnn.data"), list[str]()
    handler, propagate = _Held(messages), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def clear_cache() -> None:
    """Forget every prepared source (tests that rewrite files in place use it)."""
    _CACHE.clear()
