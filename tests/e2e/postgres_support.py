"""A throwaway PostgreSQL cluster for the ``--storage`` tests: ``initdb`` into a temporary
folder, the server on a unix socket only (no TCP port to collide with), removed at the end.
Password authentication (scram-sha-256) even on the socket, so a wrong password is refused and
the tests can check that the password is never shown.

Found under ``/usr/lib/postgresql/*/bin`` (Debian's layout; ``make test`` installs Debian's
``postgresql`` when it is missing) or on ``PATH``. As root the cluster is run as the ``postgres``
user (the server refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def find_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _version(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except ValueError:
        return 0.0


#: The superuser's password (the tests look for it in every output).
PASSWORD = "Pw-16-s3cret-xyzzy"


@dataclass
class Cluster:
    """A running server: its socket folder, and a URL maker for a database on it."""

    folder: Path
    socket_dir: Path
    bin: Path
    _runas: list[str]
    _count: int = 0

    def url(
        self, database: str, driver: str = "postgresql+psycopg", password: str = PASSWORD
    ) -> str:
        return f"{driver}://postgres:{password}@/{database}?host={self.socket_dir}"

    def new_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; its URL."""
        self._count += 1
        name = f"{prefix}{os.getpid()}_{self._count}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), user="postgres", password=PASSWORD, dbname="postgres"
        ) as c:
            c.autocommit = True
            c.execute(sql)  # type: ignore[arg-type]

    def query(self, database: str, sql: str) -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), user="postgres", password=PASSWORD, dbname=database
        ) as c:
            return list(c.execute(sql))  # type: ignore[arg-type]


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)


def start_cluster(bin_dir: Path) -> Iterator[Cluster]:
    """Start a cluster in a temporary folder; yield it; stop it and remove the folder."""
    folder = Path(tempfile.mkdtemp(prefix="automl-rnn-pg-"))
    data, sockets = folder / "data", folder / "sock"
    sockets.mkdir()
    runas: list[str] = []
    if os.geteuid() == 0:  # the server refuses root
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
        runas = ["runuser", "-u", "postgres", "--"]
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if runas:
        shutil.chown(pwfile, "postgres")
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}"]
    _run([*runas, *initdb, "-A", "scram-sha-256"])
    options = f"-c listen_addresses='' -k {sockets} -c max_connections=200 -c fsync=off"
    _run([*runas, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "start"])
    try:
        yield Cluster(folder, sockets, bin_dir, runas)
    finally:
        subprocess.run(
            [*runas, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
