"""``automl-rnn ui`` as a person meets it: a real search, the real MLflow server, a real browser.

The browser is Debian's ``chromium`` (``make browser``, which ``make test`` runs, installs it as
root); it runs headless with background networking off (the machine has no internet). Without
it the browser test skips, except in CI (``CI=true``), where it must run and fails instead.
The screenshot of the experiment page is kept as ``test-artifacts/ui-experiment.png``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from automl_rnn.tracking.store import client, ensure_experiment, local_tracking_uri

CLI = [sys.executable, "-m", "automl_rnn.cli"]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TRIALS = 4
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1000",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts(host: str, port: int) -> bool:
    """Whether a TCP connection to ``host:port`` is accepted."""
    try:
        with socket.create_connection((host, port), timeout=5):
            return True
    except OSError:
        return False


def own_non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine that is not loopback (None where there is none).

    Only an address this machine can bind is returned, so probing it never leaves the machine.
    """
    found: list[str] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found += subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True, timeout=10
        ).stdout.split()
    with (
        contextlib.suppress(OSError),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
    ):
        udp.connect(("192.0.2.123", 9))  # a UDP connect only picks the route: nothing is sent
        found.append(str(udp.getsockname()[0]))
    for text in found:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address.version != 4 or address.is_loopback or address.is_link_local:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((text, 0))  # only succeeds for an address of this machine
            except OSError:
                continue
        return text
    return None


@contextlib.contextmanager
def ui_server(workspace: Path, logs: Path) -> Iterator[tuple[str, int]]:
    """``automl-rnn ui`` on a free port until its announcement line; stopped on the way out.

    Yields the URL it printed and the port."""
    port = free_port()
    out, err = logs / "ui.stdout", logs / "ui.stderr"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [*CLI, "ui", "--workspace", str(workspace), "--port", str(port)],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: the mlflow server goes with it
        )
    try:
        deadline = time.monotonic() + 240
        announced: re.Match[str] | None = None
        while announced is None:
            text = out.read_text(errors="replace")
            announced = re.search(r"MLflow UI for .*: (http://\S+)", text)
            if announced is not None:
                break
            if process.poll() is not None:
                pytest.fail(
                    f"automl-rnn ui exited {process.returncode} before serving:\n"
                    f"{text[-2000:]}\n{err.read_text(errors='replace')[-3000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"automl-rnn ui printed no URL:\n{err.read_text()[-3000:]}")
            time.sleep(0.3)
        yield announced.group(1), port
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the UI (it stops its server), then make sure nothing of its group is left."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # a server child that outlived it


def empty_store(workspace: Path) -> None:
    """A workspace with an embedded MLflow store (one empty experiment), as a search leaves it."""
    uri = local_tracking_uri(workspace)
    (workspace / "mlflow").mkdir(parents=True)
    ensure_experiment(client(uri), "empty", workspace, uri)


# ---- loopback only (fast) ------------------------------------------------------------------------


def test_ui_refuses_a_non_loopback_host_without_allow_remote(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "ui", "--workspace", str(tmp_path), "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "--allow-remote" in lines[0] and "0.0.0.0" in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


class TestLoopbackOnly:
    """One ``automl-rnn ui`` with its default host, on an empty store, for the class's tests."""

    @pytest.fixture(scope="class")
    def served(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
        workspace = tmp_path_factory.mktemp("ui-empty")
        empty_store(workspace)
        with ui_server(workspace, workspace) as served:
            yield served

    def test_serves_on_127_0_0_1_and_prints_its_url(self, served: tuple[str, int]) -> None:
        url, port = served
        assert url == f"http://127.0.0.1:{port}"
        assert accepts("127.0.0.1", port)

    def test_is_not_reachable_on_this_machines_lan_address(self, served: tuple[str, int]) -> None:
        _, port = served
        other = own_non_loopback_ipv4()
        if other is None:
            pytest.skip("this machine has no non-loopback IPv4 address to probe")
        assert accepts("127.0.0.1", port)  # it is serving: the refusal below is the binding's
        assert not accepts(other, port), f"the UI is reachable on {other}:{port}"

    @pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "10.0.0.7:{port}"])
    def test_refuses_a_request_for_another_host_name(
        self, served: tuple[str, int], host: str
    ) -> None:
        """DNS rebinding: a page on another site whose name resolves to 127.0.0.1 reaches the
        port, but its requests carry that name in ``Host``; only this machine's names pass."""
        _, port = served
        assert page_status(port, f"127.0.0.1:{port}") == 200
        assert page_status(port, f"localhost:{port}") == 200
        assert page_status(port, host.format(port=port)) in (400, 403)


def page_status(port: int, host: str) -> int:
    """The status of ``GET /`` (the UI's page; ``/health`` answers any host, as load balancers
    need) on the UI at 127.0.0.1:``port``, sent with ``Host: host``."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", "/", skip_host=True)
        connection.putheader("Host", host)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


# ---- a real browser on a real search (slow) ------------------------------------------------------


def chromium(*args: str, profile: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 4-trial search of the tiny space, logged to the workspace's MLflow store."""
    workspace = tmp_path_factory.mktemp("ui-search")
    tiny = ["--task", "sine_mix", "--space", "tiny", "--max-epochs", "3", "--quiet"]
    done = subprocess.run(
        [*CLI, "search", *tiny, "--trials", str(TRIALS), "--workspace", str(workspace)],
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return workspace


@pytest.mark.slow
def test_browser_lists_the_trial_runs_on_the_experiment_page(
    searched: Path, tmp_path: Path
) -> None:
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing: `make browser` installs Debian's chromium (as root)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must run the browser test")
        pytest.skip(reason)
    mlflow_client = client(local_tracking_uri(searched))
    experiment = mlflow_client.get_experiment_by_name("sine_mix")
    assert experiment is not None
    trials = mlflow_client.search_runs(
        [experiment.experiment_id], filter_string="tags.`automl_rnn.role` = 'trial'"
    )
    names = sorted(run.info.run_name for run in trials)
    assert names == [f"trial-{n}" for n in range(TRIALS)]

    # The default runs view nests the trials, collapsed, under their parent `search-sine_mix`;
    # sorted by run name (a sort the page keeps in its URL) it lists every run flat.
    query = "orderByKey=tags.%60mlflow.runName%60&orderByAsc=true"
    with ui_server(searched, tmp_path) as (url, port):
        page = f"{url}/#/experiments/{experiment.experiment_id}/runs?{query}"
        missing: list[str] = names
        for attempt, budget in enumerate((20_000, 40_000, 80_000)):
            dom = chromium(
                f"--virtual-time-budget={budget}",
                "--dump-dom",
                page,
                profile=tmp_path / f"profile-dom-{attempt}",
            )
            missing = [
                name
                for name in [*names, "search-sine_mix"]
                if not re.search(rf">\s*{re.escape(name)}\s*<", dom.stdout)
            ]
            if not missing:
                break
        assert not missing, f"not listed on {page}: {missing}\n{dom.stderr[-2000:]}"
        assert "sine_mix" in dom.stdout

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "ui-experiment.png"
        shot.unlink(missing_ok=True)
        taken = chromium(
            f"--virtual-time-budget={budget}",
            f"--screenshot={shot}",
            page,
            profile=tmp_path / "profile-shot",
        )
        assert shot.is_file(), taken.stderr[-2000:]
        assert png_size(shot) == (1600, 1000)
    assert not accepts("127.0.0.1", port), "the MLflow server outlived automl-rnn ui"
