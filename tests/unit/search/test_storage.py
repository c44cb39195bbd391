"""The study storage (``search/storage.py``) in-process: the workspace layout, the journal, a
database URL opened as Optuna's ``RDBStorage`` (SQLite here, a real PostgreSQL server from the
session's ``postgres`` fixture), its connection timeout, the advisory-lock keys every machine
must agree on, and the one-line refusals that never show the password. Found without a unit test
by mutation testing (60 of 82 mutants ran no test: only CLI subprocesses reached them)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from optuna.storages import JournalStorage, RDBStorage

from automl_rnn.errors import ConfigError
from automl_rnn.search.storage import (
    CONNECT_TIMEOUT_S,
    _engine_kwargs,
    _reason,
    check_storage,
    checkpoint_dir,
    journal_path,
    lock_key,
    open_storage,
)
from tests.e2e.postgres_support import PASSWORD, Cluster


def test_the_workspace_layout_is_what_export_and_resume_read(tmp_path: Path) -> None:
    assert checkpoint_dir(tmp_path, "s") == tmp_path / "checkpoints" / "s"
    assert journal_path(tmp_path) == tmp_path / "optuna.journal"


def test_the_journal_is_created_in_a_new_nested_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "a" / "b"
    storage = open_storage(workspace)
    assert isinstance(storage, JournalStorage)
    storage.create_new_study([], "s")
    assert journal_path(workspace).stat().st_size > 0


def test_a_database_url_opens_that_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    storage = open_storage(tmp_path / "ws", url)
    assert isinstance(storage, RDBStorage)
    storage.create_new_study([], "s")
    assert (tmp_path / "studies.db").exists() and not journal_path(tmp_path / "ws").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://u:p@db.example/studies", {"connect_timeout": CONNECT_TIMEOUT_S}),
        ("postgresql://u@db.example/studies", {"connect_timeout": CONNECT_TIMEOUT_S}),
        ("mysql+pymysql://u:p@db.example/studies", {"connect_timeout": CONNECT_TIMEOUT_S}),
        ("sqlite:///studies.db", None),
    ],
)
def test_a_database_server_gets_a_connect_timeout(
    url: str, expected: dict[str, int] | None
) -> None:
    """An unreachable host is refused after CONNECT_TIMEOUT_S, not the driver's minutes."""
    assert CONNECT_TIMEOUT_S == 5
    assert _engine_kwargs(url) == ({} if expected is None else {"connect_args": expected})


def test_lock_keys_are_the_same_on_every_machine_and_version() -> None:
    """Machines running different releases must take the same advisory lock for a study: the
    keys are pinned literals (signed 64-bit, as PostgreSQL's advisory locks take them)."""
    assert lock_key("schema") == 1159826512925543506
    assert lock_key("claims:sine_mix") == -4954446512286917922
    assert lock_key("claims:other") != lock_key("claims:sine_mix")


class _DriverError(Exception):
    def __init__(self, orig: object) -> None:
        super().__init__("wrapped")
        self.orig = orig


@pytest.mark.parametrize(
    ("orig", "expected"),
    [
        (
            ValueError("password authentication failed for s3cret\nDETAIL: more"),
            "password authentication failed for ***",
        ),
        (ValueError("   "), "ValueError"),
        (None, "wrapped"),
    ],
)
def test_the_drivers_reason_is_its_first_line_without_the_password(
    orig: object, expected: str
) -> None:
    url = "postgresql://u:s3cret@db.example/studies"
    assert _reason(_DriverError(orig), url) == expected


def test_without_a_password_the_reason_is_kept_as_it_is() -> None:
    err = _DriverError(ValueError("could not connect to server: None"))
    assert _reason(err, "postgresql://u@db.example/studies") == "could not connect to server: None"


def test_a_real_postgresql_is_opened_and_checked(postgres: Cluster, tmp_path: Path) -> None:
    url = postgres.new_database()
    check_storage(url)
    storage = open_storage(tmp_path, url)
    assert isinstance(storage, RDBStorage)
    storage.create_new_study([], "s")
    assert [s.study_name for s in storage.get_all_studies()] == ["s"]


def test_a_wrong_password_is_one_line_that_does_not_show_it(postgres: Cluster) -> None:
    from sqlalchemy.engine import make_url

    database = str(make_url(postgres.new_database()).database)
    url = postgres.url(database, password="not-the-" + PASSWORD)
    with pytest.raises(ConfigError) as refused:
        check_storage(url)
    message = str(refused.value)
    assert message.startswith("--storage postgresql+psycopg://postgres:***@/")
    assert "cannot use the database (" in message and "check the host, user, password" in message
    assert "password authentication failed" in message
    assert PASSWORD not in message and "\n" not in message


def test_nothing_listening_is_refused_as_a_database_that_cannot_be_used() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConfigError, match=r"^--storage .*cannot use the database \("):
        open_storage(Path("unused"), f"postgresql+psycopg://u:pw@127.0.0.1:{port}/studies")


def test_a_server_that_never_answers_is_refused_after_the_connect_timeout() -> None:
    """A port that accepts connections but never speaks (a wrong service, a hung server): the
    refusal comes after CONNECT_TIMEOUT_S, not never."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ConfigError, match=r"cannot use the database \(.*timeout"):
            open_storage(Path("unused"), f"postgresql+psycopg://u:pw@127.0.0.1:{port}/studies")
    # the driver's own limit is minutes (130 s here without ours); a wide margin over ours
    assert time.monotonic() - started < 4 * CONNECT_TIMEOUT_S


def test_an_error_without_a_driver_error_inside_gives_its_own_text() -> None:
    assert _reason(ValueError("bad port"), "postgresql://u:pw@h/db") == "bad port"
