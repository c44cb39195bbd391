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


def spaces(name: str | None = None) -> Any:
    """All built-in search spaces (name, description, parameters), or one space in full."""
    from automl_rnn.search.space import list_spaces, load_space

    if name is None:
        return list_spaces()
    return load_space(name).to_dict()


def search(
    overrides: dict[str, Any], config: str | None = None, progress: bool = True
) -> dict[str, Any]:
    """Run (or resume) a search; return its summary. Validates everything before any trial."""
    import time

    from automl_rnn.search.study_runner import run_search

    started = time.monotonic()
    summary = run_search(overrides, config, progress)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    return summary


def best(study: str, workspace: str = ".") -> dict[str, Any]:
    """The best trial of a study as a JSON-ready dict (see :func:`automl_rnn.search.summary.best`)."""
    from automl_rnn.search.summary import best as best_of

    return best_of(_open(study, workspace))


def status(study: str, workspace: str = ".") -> dict[str, Any]:
    """Counts by state, best so far, elapsed time."""
    from automl_rnn.search.summary import status as status_of

    return status_of(_open(study, workspace))


def _open(study: str, workspace: str) -> Any:
    from pathlib import Path

    from automl_rnn.errors import UserError
    from automl_rnn.search.storage import journal_path, open_storage, recover_stale_trials
    from automl_rnn.search.summary import load_study

    folder = Path(workspace).expanduser().resolve()
    if not journal_path(folder).is_file():
        raise UserError(f"no studies in workspace {folder} (run `automl-rnn search` there first)")
    loaded = load_study(open_storage(folder), study)
    recover_stale_trials(loaded)
    return loaded
