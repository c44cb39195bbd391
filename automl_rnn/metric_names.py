"""Metric names, used alike by the LightningModule, the reporter, the backends and MLflow."""

from __future__ import annotations

# Logged once per epoch by automl_rnn.models.module.RecurrentModule.
TRAIN_LOSS = "train_loss"
VAL_LOSS = "val_loss"
#: Task metric on the validation split, in the data's own units: MAE for forecast and regression,
#: accuracy for classification, token accuracy for token tasks.
VAL_METRIC = "val_metric"
#: Exact-match rate of whole output sequences (token tasks only).
VAL_EXACT = "val_exact"
GRAD_NORM = "grad_norm"  # pre-clip global gradient norm, mean over the epoch's optimiser steps
GRAD_NORM_MAX = "grad_norm_max"
LEARNING_RATE = "lr"
EPOCH_SECONDS = "epoch_seconds"
SAMPLES_PER_SECOND = "samples_per_second"

EPOCH_METRICS: tuple[str, ...] = (
    TRAIN_LOSS,
    VAL_LOSS,
    VAL_METRIC,
    GRAD_NORM,
    GRAD_NORM_MAX,
    LEARNING_RATE,
    EPOCH_SECONDS,
    SAMPLES_PER_SECOND,
)
