"""The data layer: built-in tasks, the user's CSV, splits, windows, scaling, loaders and scores.

``prepare(source)`` parses and validates a :class:`~automl_rnn.data.source.DataSource` once per
process and returns a :class:`~automl_rnn.data.prepared.PreparedData`. Importing this package is
cheap: numpy, pandas and torch load only when data are prepared or loaders built.
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
