"""``--refit``: retrain a trial's configuration on train + validation data, same seed and epochs.

The trial's own recipe (:func:`automl_rnn.search.runner._fit_and_score`): seed, loaders, network,
optimiser settings and epoch size are the same; the training set gains the validation windows
(rows), and it trains for the trial's best epoch count with no early stopping (there is nothing
left to validate on). The test part is still never trained on: its metrics are reported.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from typing import Any

import torch

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.config.hparams import Hyperparams
from automl_rnn.errors import UserError


def epochs_of(metrics: dict[str, Any]) -> int:
    """The trial's best epoch count (its exported weights are those after that many epochs)."""
    best = metrics.get("best_epoch")
    if isinstance(best, int | float) and math.isfinite(best):
        return int(best) + 1
    total = metrics.get("epochs")
    if isinstance(total, int | float) and math.isfinite(total) and total >= 1:
        return int(total)
    raise UserError("the trial recorded no epoch count; --refit cannot tell how long to train")


def _merged(train: Any, extra: Any) -> Any:
    """A copy of the training dataset holding its rows and ``extra``'s (same tensor layout)."""
    merged = copy.copy(train)
    merged.tensors = {k: torch.cat([v, extra.tensors[k]]) for k, v in train.tensors.items()}
    merged.size = len(train) + len(extra)
    return merged


def refit(
    spec: ExperimentSpec, prepared: Any, hp: Hyperparams, seed: int, epochs: int
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Weights after ``epochs`` epochs on train + validation, and the test metrics they score."""
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader

    from automl_rnn.models.module import DivergedError, RecurrentModule
    from automl_rnn.search.evaluate import predict
    from automl_rnn.search.runner import (
        EpochLoader,
        fit_interruptibly,
        make_trainer,
        network_for,
        train_config,
    )

    topology = str(hp.topology)
    pl.seed_everything(seed, verbose=False)
    loaders = prepared.loaders(topology, hp.seq_len, hp.batch_size, hp.scaling, seed)
    shape = prepared.shape(topology)
    net = network_for(hp, shape)
    merged = _merged(loaders.train.dataset, loaders.val.dataset)
    train = DataLoader(
        merged,
        batch_size=hp.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        collate_fn=loaders.train.collate_fn,
        num_workers=0,
    )
    config = dataclasses.replace(train_config(hp), schedule_epochs=spec.max_epochs)
    module = RecurrentModule(net, shape, config)
    trainer = make_trainer(epochs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_interruptibly(trainer, module, EpochLoader(train, spec.epoch_samples), None)
    except DivergedError as err:
        raise UserError(f"--refit: training {err.reason}; export without --refit") from None
    module.eval()
    device = next(net.parameters()).device
    metrics = prepared.score("test", predict(module, loaders.test, device))
    state = {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()}
    return state, {k: float(v) for k, v in metrics.items()}
