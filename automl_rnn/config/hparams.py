"""The hyperparameters one trial is trained with: every name a search space may declare.

A search space (``search_spaces/*.yaml``) samples a subset of these; the rest keep the defaults below.
Validated once at the boundary (space loading checks each declared choice and bound against these
types); inside, the runner trusts the object.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from automl_rnn.kinds import (
    CellName,
    HeadInit,
    LrSchedule,
    OptimizerName,
    Readout,
    Scaling,
    Skip,
    TopologyName,
)

LossName = Literal["mse", "mae", "huber"]


class Hyperparams(BaseModel):
    """One point of the search space (names are the public vocabulary of ``search_spaces/*.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cell: CellName = "lstm"
    """Recurrent cell: rnn_tanh, rnn_relu, lstm or gru."""
    topology: TopologyName | None = None
    """seq2seq, seq2vec, vec2seq or encoder_decoder; None takes the task's first fitting topology."""
    num_layers: int = Field(1, ge=1, le=8)
    hidden_size: int = Field(64, ge=1, le=4096)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    """Dropout between stacked recurrent layers (no effect with one layer)."""
    bidirectional: bool = False
    """Run the encoder both ways (seq2vec and encoder_decoder only, full BPTT only)."""
    readout: Readout = "last"
    """seq2vec: the last hidden state, or the mean of the outputs over valid steps."""
    lr: float = Field(1e-3, gt=0.0, le=10.0)
    weight_decay: float = Field(0.0, ge=0.0)
    optimizer: OptimizerName = "adam"
    lr_schedule: LrSchedule = "none"
    batch_size: int = Field(32, ge=1)
    seq_len: int | None = Field(None, ge=1)
    """Input window length for forecast tasks; None takes the task's default."""
    tbptt_steps: int | None = Field(None, ge=1)
    """Truncated-BPTT chunk length; None (or a length >= the sequence) means full BPTT."""
    grad_clip: float | None = Field(1.0, gt=0.0)
    """Clip the global gradient norm to this value; None disables clipping."""
    teacher_forcing: float = Field(0.5, ge=0.0, le=1.0)
    """Probability of feeding the true previous output to the decoder during training."""
    scaling: Scaling = "window"
    """Forecast tasks: 'global' (train-split statistics) or 'window' (each input window's own)."""
    skip: Skip = "none"
    """Forecast tasks, seq2vec and encoder_decoder: 'seasonal_naive' adds the window's
    seasonal-naive forecast to the network's output, so the network learns a correction to it."""
    head_init: HeadInit = "default"
    """'zero': the output layer starts at zero, so an untrained network forecasts the window's
    mean (window scaling) or the training mean (global) instead of noise; 'default': PyTorch's."""
    loss: LossName = "mse"
    """Training loss for float targets (class targets always use cross-entropy)."""
    ema_decay: float | None = Field(None, gt=0.0, lt=1.0)
    """Keep an exponential moving average of the weights with this decay per optimiser step
    (e.g. 0.99): validation scores the average, and the best epoch's average is the model kept
    and exported. None: the weights of the best epoch, as they are."""

    @model_validator(mode="after")
    def _bidirectional_needs_full_bptt(self) -> Hyperparams:
        if self.bidirectional and self.tbptt_steps is not None:
            raise ValueError(
                "bidirectional needs full BPTT: set tbptt_steps to null "
                f"(got tbptt_steps={self.tbptt_steps})"
            )
        return self


HYPERPARAM_NAMES: tuple[str, ...] = tuple(Hyperparams.model_fields)
