"""The one YAML reader of experiment, task and search-space files: strict, and one-line errors.

Strict: a key given twice in a mapping is refused (PyYAML alone would silently keep the last).
Every problem (missing or unreadable file, not UTF-8, malformed YAML) is a :class:`ConfigError`
of one line naming the file, and the line where the YAML goes wrong.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from automl_rnn.errors import ConfigError, one_line, read_file


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, str | int | float | bool | None):
                continue  # unhashable or odd keys: SafeLoader's own error (or the caller's)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path, what: str) -> object:
    """The data in ``path`` (None for an empty file); ``what`` names the file in messages
    (``"experiment file"``, ``"task file"``, ``"search space"``). Refuses duplicate keys."""
    raw = read_file(path, what, ConfigError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: {what} is not a UTF-8 text file") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as err:
        raise ConfigError(_malformed(path, err)) from None
    except ValueError as err:  # a well-formed scalar no type accepts, e.g. a date 2020-13-45
        raise ConfigError(f"{path}: invalid YAML: {one_line(err)}") from None


def _malformed(path: Path, err: yaml.YAMLError) -> str:
    """``FILE:LINE: invalid YAML at line LINE, column COL: PROBLEM`` (the line when YAML knows it)."""
    problem = one_line(getattr(err, "problem", None) or err)
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is None:
        return f"{path}: invalid YAML: {problem}"
    line = mark.line + 1
    return f"{path}:{line}: invalid YAML at line {line}, column {mark.column + 1}: {problem}"
