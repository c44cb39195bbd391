"""Safe loading of weights: ``torch.load(weights_only=True)`` and a plain ``{name: tensor}`` check.

A checkpoint is never unpickled with Python's pickle: torch's weights-only unpickler refuses any
global that is not a tensor building block (a planted ``__reduce__`` payload fails before it can
run), and the result must be a flat mapping of names to tensors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_rnn.errors import UserError

if TYPE_CHECKING:
    import torch


def _reason(err: BaseException) -> str:
    """The useful part of torch's (long) weights-only refusal."""
    text = " ".join(str(err).split())
    found = re.search(r"GLOBAL (\S+) was not an allowed global", text)
    if found:
        return f"it references {found.group(1)}, which is not a tensor"
    return f"{type(err).__name__}: {text[:160]}"


def load_weights(path: Path, what: str = "weights") -> dict[str, torch.Tensor]:
    """A state_dict from ``path`` (``what`` names it in messages); a one-line UserError when the
    file is missing, is not a plain tensor state_dict, or would need to run code to load."""
    import pickle

    import torch

    if not path.is_file():
        raise UserError(f"{what} not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        raise UserError(
            f"{path}: refused to load {what}: {_reason(err)}; only a plain state_dict of tensors "
            "loads (nothing else is unpickled)"
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise UserError(
            f"{path}: refused to load {what}: holds a {type(state).__name__}, not a state_dict "
            "of tensors"
        )
    return state


def trial_checkpoint(workspace: Path, study: str, record: dict[str, Any]) -> Path:
    """The trial's weights: ``<workspace>/checkpoints/<study>/trial-N.pt``, else the recorded path."""
    from automl_rnn.search.storage import checkpoint_dir
    from automl_rnn.trial.outcome import LocalCheckpoints

    here = LocalCheckpoints(checkpoint_dir(workspace, study)).path(int(record["trial"]))
    recorded = record.get("checkpoint")
    if not here.is_file() and recorded and Path(recorded).is_file():
        return Path(recorded)
    if not here.is_file():
        raise UserError(
            f"trial {record['trial']} has no saved weights ({here} not found); "
            "export with --refit to retrain its configuration"
        )
    return here


def trial_weights(checkpoint: Path, trial: object) -> dict[str, torch.Tensor]:
    """A trial's kept weights from ``checkpoint`` (:func:`load_weights`, named for errors)."""
    return load_weights(checkpoint, f"trial {trial}'s checkpoint")
