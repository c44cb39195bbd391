"""A multi-node Ray cluster on this machine, searched by the Ray backend (run by
``test_ray_cluster.py`` as ``python ray_cluster_scenario.py ROOT``; prints one JSON line).

``ray.cluster_utils.Cluster``: a head with no CPUs and two 1-CPU worker nodes. First a search
without ``storage_path`` (expected refused: ``refusal``), then a 2-trial search in a thread,
during which the node of a running trial is removed once the trial has logged an epoch, and a
fresh node added (``moved``: that trial's number). The trial is found from its process: a child
of its node's raylet, working in a folder Tune names after the trial's config.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

MB = 2**20


def raylet_pid(node: Any) -> int:
    return int(node.all_processes["raylet"][0].process.pid)


def trial_on(node: Any) -> int | None:
    """The number of the trial running on ``node``, if one is."""
    listing = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        pid, ppid, args = [*line.split(None, 2), ""][:3]
        if int(ppid) != raylet_pid(node) or not args.startswith("ray::") or "IDLE" in args:
            continue
        try:
            found = re.search(r"automl_trial=(\d+)", os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        if found:
            return int(found.group(1))
    return None


def epochs_logged(workspace: Path, number: int) -> int:
    """Epochs of trial ``number`` in its MLflow run so far."""
    from mlflow import MlflowClient

    from automl_rnn.search.ledger import Ledger
    from automl_rnn.tracking.store import local_tracking_uri

    found = Ledger.find(workspace, "sine_mix")
    trials = {t.number: t for t in found.snapshot().trials} if found else {}
    run_id = trials[number].mlflow_run_id if number in trials else None
    if run_id is None:
        return 0
    client = MlflowClient(local_tracking_uri(workspace))
    return len(client.get_metric_history(run_id, "val_loss"))


def main(root: Path) -> dict[str, Any]:
    import ray
    from ray.cluster_utils import Cluster

    from automl_rnn import api
    from automl_rnn.errors import UserError

    cluster = Cluster(
        initialize_head=True,
        connect=True,
        head_node_args={"num_cpus": 0, "include_dashboard": False, "object_store_memory": 80 * MB},
    )
    nodes = [cluster.add_node(num_cpus=1, object_store_memory=80 * MB) for _ in range(2)]
    cluster.wait_for_nodes()
    out: dict[str, Any] = {"nodes": len(nodes) + 1}
    base = {"task": "sine_mix", "space": "tiny", "seed": 0, "backend": "ray"}
    base |= {"scheduler": "none", "address": cluster.address}
    try:
        refused = {"trials": 1, "max_epochs": 1, "tracking": False}
        api.search({**base, **refused, "workspace": str(root / "refused")}, progress=False)
        out["refusal"] = None
    except UserError as err:
        out["refusal"] = str(err)

    workspace = root / "moved"
    options = {"trials": 2, "max_epochs": 3, "max_concurrent": 2, "workspace": str(workspace)}
    options["storage_path"] = str(root / "shared")

    def run() -> None:
        try:
            out["summary"] = api.search({**base, **options}, progress=False)
        except BaseException as err:
            out["error"] = repr(err)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 240
    while thread.is_alive() and time.monotonic() < deadline and "moved" not in out:
        for node in nodes:
            number = trial_on(node)
            if number is not None and epochs_logged(workspace, number) >= 1:
                out["moved"], out["epochs_before_move"] = number, epochs_logged(workspace, number)
                cluster.remove_node(node)
                cluster.add_node(num_cpus=1, object_store_memory=80 * MB)
                break
        time.sleep(0.3)
    thread.join(timeout=300)
    out["alive_after"] = thread.is_alive()
    from automl_rnn.backends.ray_backend import end_processes, local_ray_processes

    processes = local_ray_processes()  # the cluster's nodes and their workers
    ray.shutdown()  # the driver leaves the head before the cluster goes
    cluster.shutdown()
    end_processes(processes, 10)  # as the product does: none outlives the scenario
    return out


if __name__ == "__main__":
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    print(json.dumps(main(Path(sys.argv[1])), default=str), flush=True)
