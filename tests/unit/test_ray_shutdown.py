"""How a command that started a local Ray ends it: every process of that Ray (and what its
workers started) found before ``ray.shutdown``, waited for, and killed past a grace period."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from automl_rnn.backends.ray_backend import end_processes


def test_a_process_still_running_after_the_grace_period_is_killed() -> None:
    """A straggler (here one that ignores SIGTERM) is SIGKILLed once ``grace_s`` has passed."""
    ignoring = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    child = subprocess.Popen([sys.executable, "-c", ignoring])
    try:
        started = time.monotonic()
        end_processes([psutil.Process(child.pid)], grace_s=0.3)
        assert child.wait(timeout=5) == -9
        assert time.monotonic() - started < 5
    finally:
        child.kill()
        child.wait()


def test_a_zombie_counts_as_ended_and_costs_no_grace_period() -> None:
    """A process that has exited but is not yet reaped (a container's init may never reap it)
    is not waited for: the call returns long before the grace period."""
    child = subprocess.Popen(["true"])
    process = psutil.Process(child.pid)
    deadline = time.monotonic() + 10
    while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.status() == psutil.STATUS_ZOMBIE
    started = time.monotonic()
    end_processes([process], grace_s=30)
    assert time.monotonic() - started < 5
    child.wait()


def test_processes_that_end_within_the_grace_period_are_not_killed() -> None:
    """A process that ends by itself in time ends with its own status, not SIGKILL's."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    end_processes([psutil.Process(child.pid)], grace_s=30)
    assert child.wait(timeout=5) == 0


@pytest.mark.ray
@pytest.mark.slow
def test_a_local_ray_is_found_with_its_workers_and_none_is_left_after_it() -> None:
    """Inside ``ray_cluster(None)`` the processes found hold the raylet, the GCS and the worker
    that ran a task; when the block ends, none of them is alive (a zombie counts as ended)."""
    pytest.importorskip("ray")
    code = """
import os, ray
from automl_rnn.backends.ray_backend import local_ray_processes, ray_cluster

@ray.remote
def pid() -> int:
    return os.getpid()

with ray_cluster(None):
    worker = ray.get(pid.remote())
    found = local_ray_processes()
    names = sorted({p.name() for p in found} & {"raylet", "gcs_server"})
    print(worker in {p.pid for p in found}, ",".join(names))
print(" ".join(f"{p.pid}:{p.create_time()}" for p in found))
"""
    from tests.e2e.ray_support import private_ray_env

    with private_ray_env() as env:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env
        )
    assert done.returncode == 0, done.stderr[-3000:]
    inside, pids = done.stdout.strip().splitlines()
    assert inside == "True gcs_server,raylet"
    alive = []
    for pid, created in (entry.split(":") for entry in pids.split()):
        try:
            process = psutil.Process(int(pid))
            same = process.create_time() == float(created)  # not a new process, a reused pid
            if same and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    assert not alive
