"""The built-in spaces (``search_spaces/*.yaml``, or the wheel's copy): their files, a name or
path resolved to a file, and the list ``automl-rnn spaces`` shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_rnn.errors import ConfigError, unknown_name
from automl_rnn.resources import spaces_dir

from .parsing import parse_space


def builtin_spaces() -> dict[str, Path]:
    """Built-in space names -> files."""
    return {p.stem: p for p in sorted(spaces_dir().glob("*.yaml"))}


def find_space(name_or_path: str) -> Path:
    """The file of a built-in space name, or of a ``.yaml`` path (a ConfigError when missing)."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path or "\\" in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"search space file not found: {name_or_path}")
        return path
    builtins = builtin_spaces()
    if name_or_path not in builtins:
        raise ConfigError(
            unknown_name("search space", name_or_path, builtins) + " (or a .yaml path)"
        )
    return builtins[name_or_path]


def list_spaces() -> list[dict[str, Any]]:
    """The built-in spaces: name, description, declared parameter names and path."""
    out = []
    for name, path in builtin_spaces().items():
        decl = parse_space(path)
        params = [p.name for p in decl.params]
        out.append(
            {"name": name, "description": decl.description, "params": params, "path": str(path)}
        )
    return out
