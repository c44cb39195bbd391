"""Shared test settings: quiet Lightning, deterministic torch, no GPU needed."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import pytest

os.environ.setdefault("PYTHONHASHSEED", "0")
warnings.filterwarnings("ignore", ".*does not have many workers.*")
warnings.filterwarnings("ignore", ".*GPU available but not used.*")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``gpu`` tests where no CUDA device is present."""
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_gpu = False
    if has_gpu:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def classical_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The classical baselines' score cache lives for the session (each data set is fitted once
    per session, never read from a developer's ``~/.cache``)."""
    before = os.environ.get("AUTOML_RNN_CACHE")
    os.environ["AUTOML_RNN_CACHE"] = str(tmp_path_factory.mktemp("automl-rnn-cache"))
    yield
    if before is None:
        os.environ.pop("AUTOML_RNN_CACHE", None)
    else:
        os.environ["AUTOML_RNN_CACHE"] = before


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[None]:
    """One local Ray for the whole session, started by the first test that asks for it and
    stopped at the session's end (a Ray already running in this process is used as it is).

    Sized for a small shared machine: 2 CPUs, a 100 MiB object store, no dashboard, and one
    *logical* GPU, so resource tests can place fractional GPU trials without a device (a trial
    placed on it sees ``CUDA_VISIBLE_DEVICES`` but trains on the CPU when there is none).
    """
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    if ray.is_initialized():
        yield
        return
    ray.init(
        address="local",  # a Ray of its own, whatever cluster this machine last knew
        num_cpus=2,
        num_gpus=1,
        include_dashboard=False,
        object_store_memory=100 * 2**20,
        logging_level="ERROR",
        log_to_driver=False,
    )
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """One throwaway PostgreSQL cluster for the session (``tests/e2e/postgres_support.py``),
    stopped and removed at its end. Skips without ``initdb`` or the ``psycopg`` driver, except in
    CI (``CI`` set), where it fails: ``make test`` installs both."""
    from importlib.util import find_spec

    from tests.e2e.postgres_support import find_bin, start_cluster

    bin_dir = find_bin()
    missing = []
    if bin_dir is None:
        missing.append("PostgreSQL's initdb (under /usr/lib/postgresql/*/bin or on PATH)")
    if find_spec("psycopg") is None:
        missing.append("the psycopg driver (pip install -e '.[postgres]')")
    if missing:
        reason = "needs " + " and ".join(missing) + "; `make test` installs them"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    assert bin_dir is not None
    yield from start_cluster(bin_dir)
