"""The Python API behind the CLI: tasks, inspect, search, best, status.

Each function takes plain values (as the CLI or a notebook would pass them), validates them at this
boundary, and returns plain data (dicts/lists) that print as JSON.
"""

from __future__ import annotations

from typing import Any


def tasks() -> list[dict[str, Any]]:
    """The built-in tasks as rows: name, kind, size, topologies, metric, description."""
    from automl_rnn.data.catalog import list_tasks

    return [info.as_dict() for info in list_tasks()]


def inspect_data(source_args: dict[str, Any]) -> dict[str, Any]:
    """Parse and validate a data source (built-in task or CSV); return its summary.

    ``source_args`` holds the data flags (``task`` or ``data`` + ``target`` ...). Raises
    :class:`automl_rnn.errors.UserError` (one line) for anything the user must fix.
    """
    from automl_rnn.data import prepare
    from automl_rnn.data.source import DataSource

    source = DataSource.from_args(source_args)
    return prepare(source).summary()
