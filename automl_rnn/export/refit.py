"""``--refit``: retrain a trial's configuration on train + validation data, same seed and epochs.

The trial's own recipe (:func:`automl_rnn.training.recipe.fit`): seed, loaders, network,
optimiser settings and epoch size are the same; the training set gains the validation windows
(rows), and it trains for the trial's best epoch count with no early stopping (there is nothing
left to validate on). The test part is still never trained on: its metrics are reported.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.config.hparams import Hyperparams
from automl_rnn.errors import UserError

if TYPE_CHECKING:
    import torch

    from automl_rnn.data.prepared import PreparedData


def epochs_of(metrics: dict[str, Any]) -> int:
    """The trial's best epoch count (its exported weights are those after that many epochs)."""
    best = metrics.get("best_epoch")
    if isinstance(best, int | float) and math.isfinite(best):
        return int(best) + 1
    total = metrics.get("epochs")
    if isinstance(total, int | float) and math.isfinite(total) and total >= 1:
        return int(total)
    raise UserError("the trial recorded no epoch count; --refit cannot tell how long to train")


def refit(
    spec: ExperimentSpec, prepared: PreparedData, hp: Hyperparams, seed: int, epochs: int
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Weights after ``epochs`` epochs on train + validation, and the test metrics they score."""
    from automl_rnn.models.guard import DivergedError
    from automl_rnn.training.recipe import cpu_state, fit
    from automl_rnn.trial.evaluate import score

    try:
        fitted = fit(spec, prepared, hp, seed, epochs=epochs, train_on="train+val")
    except DivergedError as err:
        raise UserError(f"--refit: training {err.reason}; export without --refit") from None
    metrics = score(fitted.module, prepared, {"test": fitted.loaders.test})
    return cpu_state(fitted.net), {k: float(v) for k, v in metrics.items()}
