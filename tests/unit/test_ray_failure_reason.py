"""Why Ray gave up on a trial (``ray_driver.failure_reason``), from Ray's own exceptions and
the text Ray writes for them: a worker or node lost, Ray's memory monitor, anything else."""

from __future__ import annotations

import pytest
from ray import exceptions

from automl_rnn.backends.ray_driver import RAY_ERROR, failure_reason
from automl_rnn.search.ledger import NODE_LOST

#: What Ray wrote in a trial's error.txt when its worker was SIGKILLed (Ray 2.x, this machine):
#: the text of an ActorDiedError, which does not name the class.
ACTOR_DIED_TEXT = (
    "Failure # 1 (occurred at 2026-12-07_09-32-51)\n"
    "The actor died unexpectedly before finishing this task.\n"
    "\tclass_name: ImplicitFunc\n"
    "The actor is dead because its worker process has died. Worker exit type: SYSTEM_ERROR"
)


@pytest.mark.parametrize(
    ("error", "trace", "reason"),
    [
        (exceptions.ActorDiedError(), "", NODE_LOST),
        (exceptions.NodeDiedError("node 1 died"), "", NODE_LOST),
        (None, ACTOR_DIED_TEXT, NODE_LOST),  # no pickled error stored yet: the text decides
        (None, "ray.exceptions.WorkerCrashedError: ...", NODE_LOST),
        (exceptions.OutOfMemoryError("killed by the memory monitor"), "", "out_of_memory"),
        (None, "ValueError: the trial's own bug", RAY_ERROR),
        (ValueError("the trial's own bug"), "ValueError", RAY_ERROR),
    ],
    ids=[
        "actor-died",
        "node-died",
        "actor-died-text",
        "worker-crashed-text",
        "oom",
        "text",
        "error",
    ],
)
def test_a_lost_worker_is_told_from_a_trials_own_error(
    error: BaseException | None, trace: str, reason: str
) -> None:
    assert failure_reason(error, trace) == reason
