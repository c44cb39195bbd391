"""Export verification compares the exported graph with PyTorch on *every* sample batch: a graph
that is off on any one of them (not only the last) is refused with :class:`VerificationError`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from automl_rnn.data.contract import DataShape
from automl_rnn.export import network, torchscript
from automl_rnn.export.runtime import TorchScriptEngine
from automl_rnn.export.verify import FLOAT_BOUND, VerificationError, compare
from automl_rnn.models.factory import ArchConfig

Run = Callable[[np.ndarray], np.ndarray]
SHAPES = {
    "forecast": DataShape("forecast", 1, 1, 3),  # float outputs [B, 3, 1]
    "classification": DataShape("classification", 1, 4, 1),  # logits [B, 4]
}


def _exported(kind: str, tmp_path: Path) -> tuple[Run, list[np.ndarray], list[np.ndarray]]:
    """A real TorchScript export of a small seq2vec, its sample batches (as the bundle builds
    them: several rows, then one row last) and PyTorch's outputs on them."""
    torch.manual_seed(0)
    arch = ArchConfig(cell="gru", topology="seq2vec", hidden_size=8)
    net = network.build_inference_net(network.network_spec(arch, SHAPES[kind]))
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(n, 12, 1)).astype(np.float32) for n in (16, 5)]
    inputs.append(inputs[0][-1:])
    path = tmp_path / "model.torchscript.pt"
    torchscript.write(net, inputs[0][:2], path)
    reference = [network.run(net, x) for x in inputs]
    return TorchScriptEngine(path).run, inputs, reference


def _off_on(run: Run, batch: np.ndarray, change: Callable[[np.ndarray], np.ndarray]) -> Run:
    """The graph, but wrong on ``batch`` only."""
    return lambda x: change(run(x)) if x is batch else run(x)


@pytest.mark.parametrize("kind", list(SHAPES))
def test_an_export_that_agrees_on_every_batch_passes(kind: str, tmp_path: Path) -> None:
    run, inputs, reference = _exported(kind, tmp_path)
    report = compare("TorchScript", run, inputs, reference, kind == "forecast")
    assert report["passed"] is True
    assert report["batches"] == [[16, 12, 1], [5, 12, 1], [1, 12, 1]]
    assert report["max_abs_diff"] <= FLOAT_BOUND


@pytest.mark.parametrize("bad", [0, 1], ids=["first-batch", "middle-batch"])
def test_float_outputs_off_on_a_batch_before_the_last_are_refused(bad: int, tmp_path: Path) -> None:
    run, inputs, reference = _exported("forecast", tmp_path)
    off = _off_on(run, inputs[bad], lambda y: y + 1e-2)
    with pytest.raises(VerificationError, match=r"largest difference from PyTorch 0\.01"):
        compare("TorchScript", off, inputs, reference, float_out=True)


@pytest.mark.parametrize("bad", [0, 1], ids=["first-batch", "middle-batch"])
def test_classes_that_differ_on_a_batch_before_the_last_are_refused(
    bad: int, tmp_path: Path
) -> None:
    run, inputs, reference = _exported("classification", tmp_path)
    off = _off_on(run, inputs[bad], lambda y: np.roll(y, 1, axis=-1))  # every argmax moves
    with pytest.raises(VerificationError, match="predicted classes/tokens differ"):
        compare("TorchScript", off, inputs, reference, float_out=False)


def test_verify_refuses_a_saved_program_off_on_the_first_batch(tmp_path: Path) -> None:
    """Through the entry point the bundle calls: PyTorch's outputs differ from the program's
    loaded back from disk on the first batch only."""
    _, inputs, reference = _exported("forecast", tmp_path)
    path = tmp_path / "model.torchscript.pt"
    assert torchscript.verify(path, inputs, reference, float_out=True)["passed"] is True
    shifted = [reference[0] + 1e-2, *reference[1:]]
    with pytest.raises(VerificationError):
        torchscript.verify(path, inputs, shifted, float_out=True)


def test_the_report_names_its_reference_rows_bound_and_verdict() -> None:
    batches = [np.zeros((3, 4), np.float32), np.zeros((2, 4), np.float32)]
    reference = [np.ones((3, 2)), np.ones((2, 2))]
    exact = compare("onnx", lambda x: np.ones((len(x), 2), np.float32), batches, reference, True)
    assert exact == {
        "reference": "pytorch eager",
        "rows": 5,
        "batches": [[3, 4], [2, 4]],
        "max_abs_diff": 0.0,
        "bound": FLOAT_BOUND,
        "passed": True,
    }
    at_bound = compare(
        "onnx", lambda x: np.ones((len(x), 2)) + FLOAT_BOUND, batches, reference, True
    )
    assert at_bound["passed"] is True  # the bound itself is allowed


def test_token_outputs_compare_the_token_picked_at_every_position() -> None:
    """[N, L, V] logits: the same largest logit per position on the last axis passes, although
    the logits differ; the same argmax over positions (axis 1) is not enough."""
    logits = np.array([[[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]]])  # positions pick tokens 1, 0
    close = logits * 1.5
    report = compare("torchscript", lambda x: close, [np.zeros((1, 2))], [logits], False)
    assert report["tokens_identical"] is True and report["passed"] is True
    swapped = np.array([[[0.5, 0.4, 0.0], [0.8, 0.1, 0.1]]])  # position 0 now picks token 0
    assert np.array_equal(swapped.argmax(axis=1), logits.argmax(axis=1))  # axis 1 cannot tell
    with pytest.raises(VerificationError, match="classes/tokens differ"):
        compare("torchscript", lambda x: swapped, [np.zeros((1, 2))], [logits], False)
