"""Weights load only as a plain state_dict, through ``torch.load(weights_only=True)``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from automl_rnn.errors import UserError
from automl_rnn.export.loading import load_weights


class Payload:
    """Pickles to a call that writes ``marker`` when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def test_a_state_dict_loads(tmp_path: Path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"a": torch.arange(3.0)}, path)
    assert torch.equal(load_weights(path)["a"], torch.arange(3.0))


def test_a_planted_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker, path = tmp_path / "marker", tmp_path / "w.pt"
    torch.save({"a": Payload(marker)}, path)
    with pytest.raises(UserError) as caught:
        load_weights(path, "trial 3's checkpoint")
    message = str(caught.value)
    assert "refused to load trial 3's checkpoint" in message and "exec" in message
    assert "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize("payload", [[torch.zeros(1)], {"a": 1}, {1: torch.zeros(1)}])
def test_anything_but_a_flat_tensor_mapping_is_refused(tmp_path: Path, payload: object) -> None:
    path = tmp_path / "w.pt"
    torch.save(payload, path)
    with pytest.raises(UserError, match="not a state_dict of tensors"):
        load_weights(path)


def test_missing_or_garbage_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="weights not found"):
        load_weights(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="refused to load"):
        load_weights(tmp_path / "junk.pt")


def test_each_refusal_is_worded_in_full(tmp_path: Path) -> None:
    """The refusals pinned word for word: the global torch named (not its long text), the error's
    type and the first 160 characters of its text on one line, the type found instead of a
    mapping, the missing file."""
    planted = tmp_path / "planted.pt"
    torch.save({"a": Payload(tmp_path / "marker")}, planted)
    with pytest.raises(UserError) as caught:
        load_weights(planted, "x")
    assert str(caught.value) == (
        f"{planted}: refused to load x: it references exec, which is not a tensor; only a plain "
        "state_dict of tensors loads (nothing else is unpickled)"
    )
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"PK\x03\x04" + b"garbage " * 100)
    with pytest.raises(UserError) as caught:
        load_weights(broken)
    prefix = f"{broken}: refused to load weights: RuntimeError: "
    suffix = "; only a plain state_dict of tensors loads (nothing else is unpickled)"
    message = str(caught.value)
    assert message.startswith(prefix + "PytorchStreamReader failed") and message.endswith(suffix)
    assert len(message) == len(prefix) + 160 + len(suffix) and "\n" not in message
    listed = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], listed)
    with pytest.raises(UserError) as caught:
        load_weights(listed, "y")
    assert str(caught.value) == (
        f"{listed}: refused to load y: holds a list, not a state_dict of tensors"
    )
    with pytest.raises(UserError) as caught:
        load_weights(tmp_path / "none.pt", "z")
    assert str(caught.value) == f"z not found: {tmp_path / 'none.pt'}"
