"""The workspace layout and the Optuna storage that workers share.

Storage choice: Optuna's ``JournalStorage`` over one append-only file (``optuna.journal``) with a
file lock. Several processes on one machine append to it safely and cheaply. SQLite serialises
concurrent writers on a database lock (past its timeout: "database is locked"); measured in
``bench/storage_contention.py`` (4 processes x 40 ask/tell cycles): no failed operation on
either, the journal 4.1x faster. Nothing to start, nothing to install.

Several machines share a study through a database instead (``--storage postgresql://...``,
Optuna's ``RDBStorage``). A file lock cannot serialise machines: there the locks are the
database's own (PostgreSQL advisory locks, MySQL ``GET_LOCK``), held by a connection, so they
are released when the holder dies.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_rnn.config.storage_url import EXAMPLE, mask_url
from automl_rnn.errors import ConfigError, one_line

if TYPE_CHECKING:
    import optuna

JOURNAL = "optuna.journal"
#: Lock file the workers hold while they count the study's trials and create the next one.
CLAIMS = "optuna.journal.claims"
#: Seconds a database connection may take before ``--storage`` is refused (an unknown host).
CONNECT_TIMEOUT_S = 5
#: Seconds a worker waits for a MySQL named lock (PostgreSQL's advisory lock waits as long as
#: it takes: its holder only counts the trials and creates one).
_MYSQL_LOCK_WAIT_S = 600


def checkpoint_dir(workspace: Path, study: str) -> Path:
    """Where a study's best-epoch weights go: ``<workspace>/checkpoints/<study>/``."""
    return workspace / "checkpoints" / study


def journal_path(workspace: Path) -> Path:
    return workspace / JOURNAL


def open_storage(workspace: Path, url: str | None = None) -> optuna.storages.BaseStorage:
    """The study storage: the workspace's journal (created on first use), or the database at
    ``url`` (its schema created on first use: open it under :func:`schema_lock`)."""
    if url is not None:
        return _open_database(url)
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    workspace.mkdir(parents=True, exist_ok=True)
    path = str(journal_path(workspace))
    return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))


def _engine_kwargs(url: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    backend = make_url(url).get_backend_name()
    if backend in ("postgresql", "mysql"):
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    return {}


def _open_database(url: str) -> optuna.storages.BaseStorage:
    from optuna.storages import RDBStorage

    with storage_errors(url):
        return RDBStorage(url, engine_kwargs=_engine_kwargs(url))


@contextlib.contextmanager
def storage_errors(url: str | None) -> Iterator[None]:
    """Database errors as one :class:`ConfigError` line naming the masked URL and what to fix
    (no-op for the journal: ``url`` None)."""
    if url is None:
        yield
        return
    from sqlalchemy import exc
    from sqlalchemy.engine import make_url

    shown = mask_url(url)
    try:
        yield
    except exc.NoSuchModuleError:
        raise ConfigError(
            f"--storage {shown}: unknown kind of database; give e.g. {EXAMPLE}"
        ) from None
    except ImportError:
        driver = make_url(url).drivername
        hint = "pip install 'automl-rnn[postgres]'" if "postgres" in driver else "install it"
        raise ConfigError(
            f"--storage {shown}: the database driver for '{driver}' is not installed; {hint}"
        ) from None
    except exc.ArgumentError:
        raise ConfigError(f"--storage {shown}: not a database URL; give e.g. {EXAMPLE}") from None
    except exc.SQLAlchemyError as err:
        raise ConfigError(
            f"--storage {shown}: cannot use the database ({_reason(err, url)}); check the host, "
            "user, password and database name"
        ) from None


def _reason(err: Exception, url: str) -> str:
    """The driver's first line, without the password (should a driver ever quote it)."""
    from sqlalchemy.engine import make_url

    orig = getattr(err, "orig", None) or err
    text = one_line(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__)
    password = make_url(url).password
    return text.replace(str(password), "***") if password else text


def lock_key(name: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks, derived from ``name``."""
    digest = hashlib.blake2b(f"automl-rnn:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def _database_lock(engine: Any, name: str) -> Iterator[bool]:
    """Hold the database's lock ``name`` on a connection of ``engine``; yields False (holding
    nothing) for a database without such locks (SQLite: one machine, the file lock serves)."""
    from sqlalchemy import text

    backend = engine.dialect.name
    if backend not in ("postgresql", "mysql"):
        yield False
        return
    args: dict[str, object]
    with engine.connect() as conn:
        if backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key(name)})
            unlock, args = "SELECT pg_advisory_unlock(:k)", {"k": lock_key(name)}
        else:
            key = f"automl-rnn:{lock_key(name):x}"
            conn.execute(text("SELECT GET_LOCK(:k, :t)"), {"k": key, "t": _MYSQL_LOCK_WAIT_S})
            unlock, args = "SELECT RELEASE_LOCK(:k)", {"k": key}
        conn.commit()
        try:
            yield True
        finally:
            with contextlib.suppress(Exception):  # a dropped connection released it already
                conn.execute(text(unlock), args)
                conn.commit()


def check_storage(url: str) -> None:
    """Connect to the database at ``url`` (then let go): a one-line :class:`ConfigError` when
    the URL, the driver, the host or the credentials are wrong."""
    with schema_lock(url):
        pass


@contextlib.contextmanager
def schema_lock(url: str | None) -> Iterator[None]:
    """Serialise the creation of Optuna's schema and of studies on the database at ``url``
    (several workers starting at once on an empty database would race on ``CREATE TYPE``)."""
    if url is None:
        yield
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    with storage_errors(url):
        engine = sqlalchemy.create_engine(url, poolclass=NullPool, **_engine_kwargs(url))
    try:
        with storage_errors(url), _database_lock(engine, "schema"):
            yield
    finally:
        engine.dispose()


@contextlib.contextmanager
def claims_lock(
    workspace: Path, storage: optuna.storages.BaseStorage | None = None, study: str = ""
) -> Iterator[None]:
    """Hold the study's trial-claims lock (released if the holder dies).

    Workers count the trials and create the next one under it, so N workers never start more
    trials than ``--trials`` between them. On a shared database it is the database's lock on
    ``study`` (every machine's workers take the same one); otherwise the workspace's ``flock``.
    Without ``fcntl`` (Windows) that is a no-op, and two workers finishing at the same instant
    can start one trial too many.
    """
    engine = getattr(storage, "engine", None)
    if engine is not None:
        with _database_lock(engine, f"claims:{study}") as held:
            if held:
                yield
                return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    workspace.mkdir(parents=True, exist_ok=True)
    with open(workspace / CLAIMS, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
