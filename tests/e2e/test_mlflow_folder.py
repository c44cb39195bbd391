"""The top-level ``mlflow/`` folder: the team tracking server's script, the MLflow Project, and
that the folder never shadows the ``mlflow`` package.

The server test starts real processes (a PostgreSQL cluster on a Unix socket, MLflow's
basic-auth server on a free loopback port) and stops them all at the end. It needs PostgreSQL's
``initdb`` (Debian: ``apt-get install postgresql``) and ``psycopg`` + ``Flask-WTF`` (the
``server`` extra): without them it skips, and fails where CI is set.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_search_cli import study_names

REPO = Path(__file__).resolve().parents[2]
SERVER_SH = REPO / "mlflow" / "server.sh"
PASSWORD = "team-admin-pass-4711"

#: A stand-in for MLflow that records how server.sh called it (arguments, and whether the
#: admin password arrived in the environment) and exits.
FAKE_MLFLOW = """#!/bin/sh
{ printf '%s\\n' "$@"; echo "password-in-env=${MLFLOW_AUTH_ADMIN_PASSWORD:+yes}";
  echo "auth-config=$MLFLOW_AUTH_CONFIG_PATH"; cat "$MLFLOW_AUTH_CONFIG_PATH"; } > "$FAKE_OUT"
"""


def _config(folder: Path, **overrides: str) -> Path:
    settings = {
        "BACKEND_STORE_URI": f"sqlite:///{folder}/mlflow.db",
        "ARTIFACTS_DESTINATION": str(folder / "artifacts"),
        "AUTH_DATABASE_URI": f"sqlite:///{folder}/auth.db",
        "ADMIN_PASSWORD": PASSWORD,
        "HOST": "127.0.0.1",
        "PORT": "5000",
    }
    settings.update(overrides)
    path = folder / "server.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    return path


def _run_script(folder: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    fake = folder / "fake-mlflow"
    fake.write_text(FAKE_MLFLOW)
    fake.chmod(0o755)
    out = folder / "fake.out"
    env = {**os.environ, "MLFLOW_CMD": str(fake), "FAKE_OUT": str(out), "TMPDIR": str(folder)}
    done = subprocess.run(
        ["bash", str(SERVER_SH), *args], capture_output=True, text=True, env=env, timeout=30
    )
    return done, out


@pytest.mark.parametrize(
    ("overrides", "flags", "says"),
    [
        ({"ADMIN_PASSWORD": "password1234"}, [], "default admin password"),
        ({"ADMIN_PASSWORD": ""}, [], "ADMIN_PASSWORD is not set"),
        ({"HOST": "0.0.0.0"}, [], "--allow-remote"),
        ({"HOST": "10.1.2.3"}, [], "--allow-remote"),
        ({"HOST": "10.1.2.3", "ADMIN_PASSWORD": "password1234"}, ["--allow-remote"], "default"),
    ],
    ids=["default-password", "no-password", "any-address", "private-address", "remote-default"],
)
def test_server_sh_refuses_unsafe_settings(
    tmp_path: Path, overrides: dict[str, str], flags: list[str], says: str
) -> None:
    done, out = _run_script(tmp_path, *flags, str(_config(tmp_path, **overrides)))
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and says in lines[0], done.stderr
    assert "password1234" not in done.stderr and PASSWORD not in done.stderr
    assert not out.exists()  # MLflow never started


def test_server_sh_starts_mlflow_with_auth_and_no_password_on_its_command_line(
    tmp_path: Path,
) -> None:
    done, out = _run_script(tmp_path, "--allow-remote", str(_config(tmp_path, HOST="10.1.2.3")))
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    recorded = out.read_text()
    assert PASSWORD not in recorded  # neither in the arguments nor in the auth settings file
    assert "password-in-env=yes" in recorded
    args = recorded.split("password-in-env=")[0].splitlines()
    for flag, value in [
        ("--app-name", "basic-auth"),
        ("--host", "10.1.2.3"),
        ("--backend-store-uri", f"sqlite:///{tmp_path}/mlflow.db"),
        ("--artifacts-destination", str(tmp_path / "artifacts")),
    ]:
        assert args[args.index(flag) + 1] == value
    assert "--serve-artifacts" in args
    assert f"database_uri = sqlite:///{tmp_path}/auth.db" in recorded
    assert not list(tmp_path.glob("mlflow-auth.*"))  # the auth settings left with the server


def test_import_mlflow_from_the_repository_root_is_the_package() -> None:
    """mlflow/ has no __init__.py: from the root, `import mlflow` must still find MLflow."""
    assert not (REPO / "mlflow" / "__init__.py").exists()
    found = subprocess.run(
        [sys.executable, "-c", "import mlflow; print(mlflow.__file__); mlflow.MlflowClient"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    where = Path(found.stdout.strip().splitlines()[-1]).resolve()
    assert where.name == "__init__.py"
    assert REPO / "mlflow" not in where.parents


# -- a real server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _initdb() -> Path | None:
    """PostgreSQL's initdb, in its own bin folder (pg_ctl and createdb beside it)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        found.append(os.path.realpath(on_path))
    found = [f for f in found if Path(f).with_name("createdb").exists()]
    return Path(found[0]) if found else None


def _missing_for_server() -> str | None:
    if _initdb() is None:
        return "PostgreSQL's initdb is missing (Debian: apt-get install postgresql)"
    for module, package in [("psycopg", "psycopg[binary]"), ("flask_wtf", "Flask-WTF")]:
        try:
            __import__(module)
        except ImportError:
            return f"{package} is not installed (pip install -e '.[server]')"
    return None


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a Unix socket (no TCP listener); yields the socket
    folder. As root, it runs as the `postgres` user (initdb refuses root)."""
    initdb = _initdb()
    assert initdb is not None
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))  # short: socket paths are limited
    data, sock = folder / "data", folder / "s"
    sock.mkdir()
    if as_pg:
        shutil.chown(folder, "postgres")
        shutil.chown(sock, "postgres")
    bins = initdb.parent

    def pg(*args: str, check: bool = True) -> None:
        subprocess.run(
            [*as_pg, *args],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    try:
        pg(str(initdb), "-D", str(data), "-A", "trust")
        pg(
            str(bins / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            f"-c listen_addresses='' -k {sock}",
            "start",
        )
        for db in ("mlflow", "mlflow_auth"):
            pg(str(bins / "createdb"), "-h", str(sock), db)
        yield str(sock)
    finally:
        if (data / "postmaster.pid").exists():
            pg(str(bins / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop", check=False)
        assert not (data / "postmaster.pid").exists(), "PostgreSQL did not stop"
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _server(config: Path, port: int, log: Path) -> Iterator[None]:
    env = {**os.environ, "MLFLOW_CMD": f"{sys.executable} -m mlflow"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", str(SERVER_SH), str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                pass
            assert proc.poll() is None, f"server.sh exited {proc.returncode}: {log.read_text()}"
            assert time.monotonic() < deadline, f"no server after 240 s: {log.read_text()}"
            time.sleep(1)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)  # server.sh passes it on to MLflow
        try:
            proc.wait(timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # whatever did not stop with it
    assert not _listening(port), "the server still listens after it was stopped"


def _search(port: int, workspace: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = ["--task", "sine_mix", "--space", "tiny", "--trials", "2", "--max-epochs", "1"]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "automl_rnn.cli",
            "search",
            *args,
            "--tracking-uri",
            f"http://127.0.0.1:{port}",
            "--quiet",
            "--json",
            "--workspace",
            str(workspace),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=workspace.parent,
        timeout=600,
    )


@pytest.mark.slow
def test_search_logs_to_the_team_server_with_postgres_and_basic_auth(tmp_path: Path) -> None:
    missing = _missing_for_server()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the team-server test: {missing}")
        pytest.skip(missing)
    port = _free_port()
    with _postgres() as sock:
        config = _config(
            tmp_path,
            BACKEND_STORE_URI=f"postgresql+psycopg://postgres@/mlflow?host={sock}",
            AUTH_DATABASE_URI=f"postgresql+psycopg://postgres@/mlflow_auth?host={sock}",
            PORT=str(port),
            WORKERS="1",
        )
        with _server(config, port, tmp_path / "server.log"):
            bare = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
            refused = _search(port, tmp_path / "ws-anonymous", bare)
            assert refused.returncode == 2, refused.stderr
            assert refused.stdout == ""
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1 and "MLFLOW_TRACKING_USERNAME" in lines[0], refused.stderr
            assert "401" in lines[0]
            assert study_names(tmp_path / "ws-anonymous") == []  # refused before it existed
            anonymous = tmp_path / "ws-anonymous"
            assert not anonymous.exists() or not any(anonymous.iterdir())  # no empty journal

            signed_in = {
                **bare,
                "MLFLOW_TRACKING_USERNAME": "admin",
                "MLFLOW_TRACKING_PASSWORD": PASSWORD,
            }
            done = _search(port, tmp_path / "ws", signed_in)
            assert done.returncode == 0, done.stderr[-3000:]
            summary = json.loads(done.stdout)
            assert summary["counts"]["complete"] == 2
            parent_id = summary["mlflow"]["parent_run_id"]

            read_back = subprocess.run(
                [sys.executable, "-c", READ_BACK, f"http://127.0.0.1:{port}"],
                capture_output=True,
                text=True,
                env=signed_in,
                timeout=120,
            )
            assert read_back.returncode == 0, read_back.stderr
            runs = json.loads(read_back.stdout.strip().splitlines()[-1])
            parents = [r for r in runs if r["parent"] is None]
            assert [r["id"] for r in parents] == [parent_id]
            children = [r for r in runs if r["parent"] == parent_id]
            assert len(children) == 2 and len(runs) == 3
            assert all(r["status"] == "FINISHED" for r in runs)


#: Reads the study's runs back through MlflowClient (credentials from the environment).
READ_BACK = """
import json, sys
from mlflow import MlflowClient
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("sine_mix")
runs = client.search_runs([experiment.experiment_id])
print(json.dumps([{"id": r.info.run_id, "status": r.info.status,
                   "parent": r.data.tags.get("mlflow.parentRunId")} for r in runs]))
"""


@pytest.mark.slow
def test_mlflow_run_runs_a_search_as_an_mlflow_project(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    env = {
        **os.environ,
        # --env-manager local runs `python` from PATH: this interpreter's
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/projects.db",
    }
    env.pop("MLFLOW_RUN_ID", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlflow",
            "run",
            str(REPO / "mlflow"),
            "-e",
            "search",
            "-P",
            "task=sine_mix",
            "-P",
            "trials=2",
            "-P",
            "max_epochs=1",
            "-P",
            f"workspace={workspace}",
            "--env-manager",
            "local",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "best trial" in done.stdout
    studies = subprocess.run(
        [
            sys.executable,
            "-m",
            "automl_rnn.cli",
            "best",
            "--study",
            "sine_mix",
            "--workspace",
            str(workspace),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert studies.returncode == 0, studies.stderr
    assert json.loads(studies.stdout)["study"] == "sine_mix"
