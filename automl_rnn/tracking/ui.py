"""``automl-rnn ui``: the MLflow UI on a workspace's store, bound to the loopback interface.

MLflow's UI has no authentication: whoever reaches its port can read every run and artifact and
delete them. So it listens on 127.0.0.1 unless the user explicitly says they mean another host
(``--allow-remote``); reach it from elsewhere through an SSH tunnel instead.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from automl_rnn.errors import ConfigError, UserError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback host unless ``allow_remote`` says the user means it."""
    if is_loopback(host) or allow_remote:
        return
    raise ConfigError(
        f"--host {host}: the MLflow UI has no authentication, so anyone who can reach "
        f"{host} could read and delete your runs; it binds to 127.0.0.1 by default (use an SSH "
        "tunnel), or pass --allow-remote if you really mean to expose it"
    )


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def server_command(workspace: Path, host: str, port: int) -> list[str]:
    """The ``mlflow server`` command for the workspace's embedded store."""
    from automl_rnn.tracking.store import local_artifact_root, local_tracking_uri

    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        local_tracking_uri(workspace),
        "--default-artifact-root",
        local_artifact_root(workspace).as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        # Only this machine's names in a request's Host (against DNS rebinding); MLflow's own
        # default also lets in every private address.
        "--allowed-hosts",
        allowed_hosts(host, port),
    ]


def allowed_hosts(host: str, port: int) -> str:
    """The ``Host`` values the server answers: the bound host and this machine's names."""
    names = dict.fromkeys([host, *LOOPBACK_NAMES, "127.0.0.1", "[::1]"])
    return ",".join(f"{name},{name}:{port}" for name in names)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Wait until the server answers ``/health`` (or fail with its last output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(f"mlflow server exited with code {process.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise UserError(f"mlflow server did not answer on {url} within {timeout:.0f} s")


def serve(
    workspace: Path,
    host: str = "127.0.0.1",
    port: int = 5000,
    allow_remote: bool = False,
    announce: Callable[[str], None] = print,
) -> int:
    """Run the UI until Ctrl-C / SIGTERM; return the server's exit code."""
    from automl_rnn.tracking.store import mlflow_dir

    check_host(host, allow_remote)
    if not (mlflow_dir(workspace) / "mlflow.db").is_file():
        raise UserError(
            f"no MLflow store in workspace {workspace} (run `automl-rnn search` there first)"
        )
    if not port_free(host, port):
        raise UserError(f"--port {port}: already in use on {host}; choose another with --port")
    closed = close_all_orphans(workspace)
    # Its own process group: `mlflow server` starts uvicorn (and possibly a job runner) as
    # children, and stopping only the parent would leave them serving.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    process = subprocess.Popen(
        server_command(workspace, host, port), env=env, start_new_session=True
    )
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    try:
        wait_ready(url, process)
        note = f" (closed {len(closed)} orphaned runs as KILLED)" if closed else ""
        announce(f"MLflow UI for {workspace}: {url}{note}  -- Ctrl-C to stop")
        return process.wait()
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the server's process group, SIGKILL what is left after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader is gone; are its children too?
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)


def close_all_orphans(workspace: Path) -> list[str]:
    """Close the orphaned runs of every experiment in the workspace's store."""
    from automl_rnn.tracking.hygiene import close_orphaned_runs
    from automl_rnn.tracking.store import client, local_tracking_uri

    uri = local_tracking_uri(workspace)
    closed: list[str] = []
    for experiment in client(uri).search_experiments():
        closed += close_orphaned_runs(uri, experiment.name)
    return closed
