"""Errors a user can cause and fix: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class UserError(Exception):
    """A problem in the user's input (file, flag, field, value), stated in one line.

    The message names what is wrong (file, field or column, and the value received) and what to do.
    The CLI prints it without a traceback and exits with code 2.
    """


class DataError(UserError):
    """The data (a CSV or a built-in task's file) cannot be used as asked."""


class ConfigError(UserError):
    """An experiment, task or search-space file (or flag) is invalid."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so every cleanup path (runs ended KILLED,
    workers stopped) runs for both."""


#: errno values of a workspace that cannot take more writes: full disk or quota, a file-size
#: limit, a read-only file system, no permission.
_STORAGE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM")
    if hasattr(errno, name)
)
#: What SQLite (MLflow's store) and torch.save say in the same cases.
_STORAGE_TEXTS = (
    "database or disk is full",
    "readonly database",
    "disk i/o error",
    "file write failed",  # torch.save
    "iostream error",  # torch.save, on a size limit
)


def storage_problem(err: BaseException) -> str | None:
    """One line for an error (or its causes) that says the disk cannot take more writes: where,
    why, and what to do; None for any other error."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _STORAGE_ERRNOS:
            where = current.filename2 or current.filename
            if isinstance(where, str) and where.endswith(".partial"):  # a copy being made
                where = where.rsplit("/", 1)[0]
            return (
                f"{where or 'the workspace'}: {current.strerror or one_line(current)}; free "
                "space or give a writable --workspace, then run the same command again "
                "(what finished is kept)"
            )
        text = str(current).lower()
        if any(needle in text for needle in _STORAGE_TEXTS):
            return (
                f"cannot write to the workspace ({one_line(current, 120)}); free space or give "
                "a writable --workspace, then run the same command again (what finished is kept)"
            )
        current = current.__cause__ or current.__context__
    return None


def one_line(err: BaseException | str, limit: int | None = 300, *, named: bool = False) -> str:
    """``err``'s message on one line (whitespace runs collapsed), cut at ``limit`` characters;
    ``named`` puts the exception's type first (``"ValueError: ..."``)."""
    text = " ".join(str(err).split())
    if limit is not None:
        text = text[:limit]
    if named and isinstance(err, BaseException):
        return f"{type(err).__name__}: {text}"
    return text


def closest(name: str, choices: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` hint for ``name`` among ``choices``, or ``""`` when none is close."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> str:
    """One-line message for an unknown name, listing the valid ones and the closest match."""
    valid = sorted(choices)
    return f"unknown {kind} '{name}'{closest(name, valid)}; valid: {', '.join(valid)}"


def read_file(path: Path, what: str, error: type[UserError], limit: int | None = None) -> bytes:
    """The bytes of a file the user named (its first ``limit`` bytes when given); a missing,
    folder or unreadable one is an ``error`` of one line naming the file and ``what`` it is
    (``"data file"``, ``"task file"``, ...)."""
    try:
        if limit is not None:
            with path.open("rb") as handle:
                return handle.read(limit)
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{path}: {what} is a folder, not a file") from None
    except OSError as err:
        raise error(f"{path}: cannot read {what}: {err.strerror or one_line(err)}") from None
    except ValueError:  # a NUL character, which no file name holds
        raise error(f"{str(path)!r}: {what} not found (a file name has no NUL character)") from None
