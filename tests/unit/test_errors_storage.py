"""Which errors mean that the disk cannot take more writes (one line, exit 2, not a crash)."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from automl_rnn.errors import storage_problem


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS])
def test_an_os_error_of_a_full_or_read_only_disk_is_named_with_its_file(code: int) -> None:
    err = OSError(code, "no room", "/ws/optuna.journal")
    problem = storage_problem(err)
    assert problem is not None and problem.startswith("/ws/optuna.journal: no room")


def test_a_partial_copy_is_named_by_its_folder() -> None:
    partial = "/ws/mlflow/.mlflow.db.9.partial"  # (errno, text, source, winerror, target)
    err = OSError(errno.ENOSPC, "full", "/cache/template.db", None, partial)
    assert (storage_problem(err) or "").startswith("/ws/mlflow: full")


def test_the_cause_of_a_wrapping_error_counts() -> None:
    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as inner:
            raise RuntimeError("could not log the batch") from inner
    except RuntimeError as outer:
        problem = storage_problem(outer)
    assert problem is not None and "database or disk is full" in problem


@pytest.mark.parametrize(
    "err",
    [OSError(errno.ENOENT, "missing", "/x"), ValueError("bad value"), RuntimeError("boom")],
)
def test_other_errors_are_not_storage_problems(err: Exception) -> None:
    assert storage_problem(err) is None
