"""Checks an exported graph against the PyTorch network it came from, on the same inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from automl_rnn.errors import UserError

#: Largest absolute difference allowed for float outputs (forecast, regression).
FLOAT_BOUND = 1e-4


class VerificationError(UserError):
    """An exported graph disagrees with PyTorch beyond the bound; nothing is written."""


def compare(
    name: str,
    run: Callable[[np.ndarray], np.ndarray],
    inputs: list[np.ndarray],
    reference: list[np.ndarray],
    float_out: bool,
) -> dict[str, Any]:
    """Run ``run`` on each input batch and compare with ``reference`` (PyTorch's outputs).

    Float outputs must agree within :data:`FLOAT_BOUND`; class and token outputs must pick the same
    class or token everywhere (their logits' largest difference is reported too). Raises
    :class:`VerificationError` when they do not.
    """
    worst = 0.0
    identical = True
    for x, expected in zip(inputs, reference, strict=True):
        got = np.asarray(run(x))
        if got.shape != expected.shape:
            raise VerificationError(
                f"{name} export: output shape {got.shape} differs from PyTorch's "
                f"{expected.shape} on input {x.shape}"
            )
        worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - expected))))
        if not float_out:
            identical &= bool(np.array_equal(got.argmax(axis=-1), expected.argmax(axis=-1)))
    report: dict[str, Any] = {
        "reference": "pytorch eager",
        "rows": int(sum(len(x) for x in inputs)),
        "batches": [list(x.shape) for x in inputs],
        "max_abs_diff": worst,
    }
    if float_out:
        report["bound"] = FLOAT_BOUND
        report["passed"] = worst <= FLOAT_BOUND
        if not report["passed"]:
            raise VerificationError(
                f"{name} export: largest difference from PyTorch {worst:.3g} exceeds "
                f"{FLOAT_BOUND:g}; nothing was written"
            )
    else:
        report["tokens_identical"] = identical
        report["passed"] = identical
        if not identical:
            raise VerificationError(
                f"{name} export: predicted classes/tokens differ from PyTorch's; nothing was written"
            )
    return report
