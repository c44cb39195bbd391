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
