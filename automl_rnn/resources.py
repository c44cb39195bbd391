"""Where the built-in tasks and search spaces live: the checkout's top-level folders, or the wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _folder(checkout_name: str, package: str) -> Path:
    local = _CHECKOUT / checkout_name
    if local.is_dir() and any(local.glob("*.yaml")):
        return local
    # An installed wheel: the folder is a data package without __init__.py (a namespace package).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"automl-rnn is installed without its {checkout_name}/ folder")
    return Path(next(iter(spec.submodule_search_locations)))


def tasks_dir() -> Path:
    """Folder of the built-in ``tasks/*.yaml`` (its ``data/`` holds the shipped CSVs)."""
    return _folder("tasks", "automl_rnn.builtin_tasks")


def spaces_dir() -> Path:
    """Folder of the built-in ``search_spaces/*.yaml``."""
    return _folder("search_spaces", "automl_rnn.builtin_spaces")
