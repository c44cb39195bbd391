"""The one training recipe of every trial and refit.

Hyperparameters become a network (:func:`network_for`), optimiser settings (:func:`train_config`)
and a quiet Trainer (:func:`make_trainer`); :func:`fit` seeds, builds the loaders, network and
module in that order and trains, so a trial and the refit of its configuration start identically.
"""

from __future__ import annotations

import logging
import signal
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytorch_lightning as pl
from torch import Tensor, nn
from torch.utils.data import DataLoader

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.config.hparams import Hyperparams
from automl_rnn.data.batching import shuffle_of
from automl_rnn.data.contract import DataShape
from automl_rnn.data.prepared import Loaders, PreparedData
from automl_rnn.models.averaging import cpu_copy
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import EpochListener, RecurrentModule, TrainConfig
from automl_rnn.models.topologies import Batch
from automl_rnn.training.epochs import EpochLoader, train_and_val
from automl_rnn.training.snapshot import EpochSnapshot, continue_from

TrainOn = Literal["train", "train+val"]
"""What a fit trains on: a trial the training rows (validating on the validation rows), a refit
both (validating on nothing)."""


def resolve_params(params: Mapping[str, object], prepared: PreparedData) -> Hyperparams:
    """Fill defaults and normalise: the task's topology and window, tbptt >= length -> full BPTT."""
    hp = Hyperparams.model_validate(dict(params))
    updates: dict[str, object] = {}
    if hp.topology is None:
        updates["topology"] = prepared.topologies[0]
    if prepared.kind == "forecast" and hp.seq_len is None:
        updates["seq_len"] = prepared.default_seq_len
    hp = hp.model_copy(update=updates)
    length = hp.seq_len if prepared.kind == "forecast" else None
    if hp.tbptt_steps is not None and length is not None and hp.tbptt_steps >= length:
        hp = hp.model_copy(update={"tbptt_steps": None})
    return hp


def arch_of(hp: Hyperparams) -> ArchConfig:
    """The cell x topology architecture a trial's hyperparameters describe."""
    return ArchConfig(
        hp.cell,
        str(hp.topology),
        hp.num_layers,
        hp.hidden_size,
        hp.dropout,
        hp.bidirectional,
        hp.readout,
        hp.skip,
        hp.head_init,
    )


def network_for(hp: Hyperparams, shape: DataShape) -> nn.Module:
    """The cell x topology network a trial's hyperparameters describe."""
    return build_network(arch_of(hp), shape)


def train_config(hp: Hyperparams, schedule_epochs: int | None = None) -> TrainConfig:
    """The optimisation settings a trial's hyperparameters describe (the cosine schedule spans
    ``schedule_epochs``, None: the Trainer's ``max_epochs``)."""
    return TrainConfig(
        lr=hp.lr,
        weight_decay=hp.weight_decay,
        optimizer=hp.optimizer,
        lr_schedule=hp.lr_schedule,
        schedule_epochs=schedule_epochs,
        grad_clip=hp.grad_clip,
        tbptt_steps=hp.tbptt_steps,
        teacher_forcing=hp.teacher_forcing,
        loss=hp.loss,
        ema_decay=hp.ema_decay,
    )


def make_trainer(max_epochs: int) -> pl.Trainer:
    """The Trainer every fit uses: no logger or checkpoint files (tracking is ours), quiet."""
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    return pl.Trainer(
        max_epochs=max_epochs,
        accelerator="auto",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )


def fit_interruptibly(
    trainer: pl.Trainer,
    module: pl.LightningModule,
    train: Iterable[Batch],
    val: DataLoader[Any] | None,
) -> None:
    """``trainer.fit``, but Ctrl-C / SIGTERM stay interrupts.

    Lightning catches ``KeyboardInterrupt`` inside ``fit``, ignores SIGINT from then on, and calls
    ``exit(1)``; the search must instead see the interrupt (to end its runs as KILLED and stop its
    workers), so the original exception is re-raised and the SIGINT handler restored.
    """
    main = threading.current_thread() is threading.main_thread()
    sigint = signal.getsignal(signal.SIGINT) if main else None
    try:
        trainer.fit(module, train_dataloaders=train, val_dataloaders=val)
    except SystemExit as err:
        if isinstance(err.__context__, KeyboardInterrupt):
            raise err.__context__ from None
        raise
    finally:
        if main and sigint is not None:
            signal.signal(signal.SIGINT, sigint)


def cpu_state(net: nn.Module) -> dict[str, Tensor]:
    """A detached CPU copy of ``net``'s weights (unchanged by further training)."""
    return cpu_copy(net.state_dict())


@dataclass(frozen=True)
class Fitted:
    """A finished fit: the trained module and the loaders it was built with."""

    module: RecurrentModule
    loaders: Loaders

    @property
    def net(self) -> nn.Module:
        """The trained network (the module's ``net``)."""
        return self.module.net

    @property
    def history(self) -> list[dict[str, float]]:
        """Per-epoch metrics, one dict per epoch trained."""
        return self.module.history


def fit(
    experiment: ExperimentSpec,
    prepared: PreparedData,
    hp: Hyperparams,
    seed: int,
    *,
    epochs: int | None = None,
    train_on: TrainOn = "train",
    listeners: Sequence[EpochListener] = (),
    resume: EpochSnapshot | None = None,
) -> Fitted:
    """Train ``hp`` on ``prepared`` with ``seed``: the recipe of every trial and refit.

    Each epoch reads at least the experiment's ``epoch_samples`` samples. ``epochs`` (default: the
    experiment's ``max_epochs``) caps the fit, while the learning-rate schedule always spans
    ``max_epochs``, so a refit that stops at a trial's best epoch keeps the trial's rates.
    ``listeners`` hear every epoch (and may stop the fit). ``resume`` continues a fit from its
    snapshot after an epoch (:mod:`automl_rnn.training.snapshot`): the same data, network and
    seed, then the snapshot's state, and only the epochs left. Raises
    :class:`~automl_rnn.models.guard.DivergedError` when training diverges.
    """
    topology = str(hp.topology)
    pl.seed_everything(seed, verbose=False)
    loaders = prepared.loaders(topology, hp.seq_len, hp.batch_size, hp.scaling, seed)
    shape = prepared.shape(topology)
    net = network_for(hp, shape)
    config = train_config(hp, schedule_epochs=experiment.max_epochs)
    module = RecurrentModule(net, shape, config, listeners=listeners)
    if train_on == "train":
        train, val = loaders.train, loaders.val
    else:
        train, val = train_and_val(loaders, hp.batch_size, seed), None
    module.shuffle = shuffle_of(train)
    remaining = experiment.max_epochs if epochs is None else epochs
    if resume is not None:
        continue_from(resume, module)
        remaining -= resume.epochs
    if remaining <= 0:
        return Fitted(module, loaders)  # a resumed fit whose epochs were all trained
    trainer = make_trainer(remaining)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_interruptibly(trainer, module, EpochLoader(train, experiment.epoch_samples), val)
    if val is None and module.average is not None:  # a refit keeps the average, as its trial
        module.net.load_state_dict(module.kept_state())
    return Fitted(module, loaders)
