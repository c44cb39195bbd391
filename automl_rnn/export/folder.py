"""The folder ``export`` writes: checked before anything is built, built in a hidden staging
folder beside it, and published in one rename (a non-empty one replaced only with ``--force``),
so a reader never sees half an export and a failure leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from automl_rnn.errors import ConfigError, UserError

_T = TypeVar("_T")


def check_out(out: Path, force: bool = False) -> None:
    """``--out`` must be a new folder, an empty one, or (``force``) a folder to replace."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is an existing file; give a new folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(
            f"--out {out}: folder exists and is not empty; give a new folder, or add --force "
            "to replace it"
        )


def umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish(staging: Path, target: Path) -> None:
    """Move the finished staging folder to ``target`` in one rename; a folder already there
    (empty, or replaced with ``--force``) is moved aside first and removed once it is done."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if target.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, old)  # onto the empty folder just made: one rename
    try:
        os.replace(staging, target)
    except OSError:
        if old is not None:
            os.replace(old, target)  # put the previous export back
        raise
    target.chmod(0o777 & ~umask())  # mkdtemp made it private
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def writable(target: Path, write: Callable[[], _T]) -> _T:
    """``write()``, with a file-system refusal (permissions, read-only disk, full disk) turned
    into one line naming ``--out``."""
    try:
        return write()
    except OSError as err:
        raise UserError(
            f"--out {target}: cannot write there ({err.strerror or err}); give a writable folder"
        ) from None


def staging_for(out: Path) -> Path:
    """A hidden folder beside ``out`` (in its nearest existing ancestor) to build in."""
    anchor = out.parent
    while not anchor.exists():
        anchor = anchor.parent
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=anchor))
