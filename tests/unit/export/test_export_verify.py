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
