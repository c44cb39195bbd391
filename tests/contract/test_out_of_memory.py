"""A trial that runs out of memory, for real: a search runs under an address-space limit
(``RLIMIT_AS``, Linux) that the large configurations of ``memory_hungry.yaml`` cannot fit in, so
torch's allocator refuses them. Pass criterion: each such trial is FAILED ``out_of_memory`` with
its traceback in its MLflow run, and the search completes every trial asked for with the others.
(On a GPU the same path catches CUDA's ``OutOfMemoryError``; the ``gpu`` test below checks that
the next trial on the device gets the memory back.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from automl_rnn.tracking.store import local_tracking_uri
from automl_rnn.trial.outcome import OUT_OF_MEMORY

SPACE = Path(__file__).parents[1] / "fixtures" / "spaces" / "memory_hungry.yaml"

# Warm up first (imports, MLflow's store, one trial), then cap the address space 1 GiB above
# what the process has mapped: a small trial fits, eight layers of 4,096 LSTM units (4 GiB of
# weights) cannot.
_UNDER_A_LIMIT = """
import json, resource, sys
from automl_rnn import api
common = {"task": "sine_mix", "max_epochs": 1, "seed": 0, "workers": 1}
api.search({**common, "space": "tiny", "trials": 1, "workspace": sys.argv[1] + "/warm"}, None, False)
with open("/proc/self/status") as status:
    mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (mapped + (1 << 30), resource.RLIM_INFINITY))
summary = api.search(
    {**common, "space": sys.argv[2], "trials": 3, "workspace": sys.argv[1] + "/ws"}, None, False
)
print(json.dumps(summary, default=str))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc: Linux")
def test_a_trial_out_of_memory_fails_with_its_traceback_and_the_search_completes_the_rest(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _UNDER_A_LIMIT, str(tmp_path), str(SPACE)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "MALLOC_ARENA_MAX": "2"},  # glibc's per-thread arenas reserve 64 MiB
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    counts = summary["counts"]
    assert counts["complete"] == 3 and counts["running"] == 0
    assert counts["failed"] >= 1 and summary["failure_reasons"] == {OUT_OF_MEMORY: counts["failed"]}
    assert summary["best"]["params"]["hidden_size"] == 8

    client = MlflowClient(local_tracking_uri(tmp_path / "ws"))
    experiment = client.get_experiment_by_name("sine_mix")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], "tags.`automl_rnn.role` = 'trial'")
    failed = [run for run in runs if run.data.tags["state"] == "failed"]
    assert len(failed) == counts["failed"]
    for run in failed:
        assert run.info.status == "FAILED" and run.data.tags["reason"] == OUT_OF_MEMORY
        assert run.data.params["hidden_size"] == "4096"
        trace = Path(client.download_artifacts(run.info.run_id, "traceback.txt", str(tmp_path)))
        assert "can't allocate memory" in trace.read_text()


@pytest.mark.gpu
def test_a_cuda_out_of_memory_trial_frees_its_memory_and_the_next_trial_on_the_gpu_succeeds() -> (
    None
):
    """A real CUDA ``OutOfMemoryError``: the process may use 2 GiB of the device, a trial needs
    more (eight layers of 4,096 LSTM units); it fails ``out_of_memory``, the device's allocated
    and cached memory return to what they were before it, and a small trial then completes on
    the same device."""
    import torch

    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.data import prepare
    from automl_rnn.data.source import DataSource
    from automl_rnn.search.objectives import resolve_objectives
    from automl_rnn.trial.outcome import NeverPrune, NullTracker, TrialResult, TrialState
    from automl_rnn.trial.runner import TrialContext, run_trial

    prepared = prepare(DataSource.from_args({"task": "sine_mix"}))
    spec = ExperimentSpec(task="sine_mix", max_epochs=1, trials=1)
    objectives = tuple(resolve_objectives(["val_mae"], "forecast"))
    common = {"topology": "seq2vec", "cell": "lstm", "num_layers": 8, "seq_len": 24}

    def trial(number: int, hidden_size: int) -> TrialResult:
        params = {**common, "hidden_size": hidden_size}
        context = TrialContext(number, 1, objectives)
        return run_trial(spec, prepared, params, NeverPrune(), NullTracker(), context)

    device = torch.device("cuda", torch.cuda.current_device())
    total = torch.cuda.get_device_properties(device).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, (2 << 30) / total), device)
    try:
        first = trial(0, 8)  # creates the CUDA context and the cuBLAS/cuDNN workspaces
        assert first.state is TrialState.COMPLETE, first.reason
        torch.cuda.empty_cache()
        allocated, reserved = torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
        big = trial(1, 4096)
        assert big.state is TrialState.FAILED and big.reason == OUT_OF_MEMORY
        assert big.traceback is not None and "OutOfMemoryError" in big.traceback
        assert torch.cuda.memory_allocated() <= allocated + (16 << 20)
        assert torch.cuda.memory_reserved() <= reserved + (64 << 20)  # the cache handed back
        small = trial(2, 8)
        assert small.state is TrialState.COMPLETE, small.reason
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, device)
