"""Every task file in tasks/ validates and yields contract batches for every topology it fits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl_rnn.data import prepare
from automl_rnn.data.catalog import list_tasks, task_files
from automl_rnn.data.contract import IGNORE_INDEX, DataShape
from automl_rnn.data.source import DataSource
from automl_rnn.data.spec import load_spec
from automl_rnn.kinds import TOPOLOGIES

BUILTIN = {
    "air_passengers",
    "co2",
    "sine_mix",
    "adding",
    "copy_memory",
    "digits",
    "digits_caption",
    "dates",
    "japanese_vowels",  # issue 18: labelled sequences from a long table
    "us_employment",  # issue 18: many series, one global model
    "seattle_weather",  # issue 18: a label at every step
    "seattle_weather_week",  # issue 18: numeric pairs (a month's days to its last week)
    "seattle_weather_temp",  # issue 18: per-step regression (each day's maximum temperature)
}
CASES = [(path.stem, topology) for path in task_files() for topology in load_spec(path).topologies]


def test_builtin_names_are_exactly_the_issue_table() -> None:
    rows = {info.name: info.as_dict() for info in list_tasks()}
    assert set(rows) == BUILTIN
    for row in rows.values():
        assert set(row) == {"name", "kind", "size", "topologies", "metric", "description"}


def _check_batch(batch: dict[str, torch.Tensor], shape: DataShape, topology: str) -> None:
    x, y = batch["x"], batch["y"]
    b = x.shape[0]
    assert x.dtype == torch.float32
    if topology == "vec2seq":
        assert x.shape == (b, shape.input_size)
    else:
        assert x.ndim == 3 and x.shape[0] == b and x.shape[2] == shape.input_size
    if shape.variable_length:
        lengths = batch["lengths"]
        assert lengths.dtype == torch.int64 and lengths.shape == (b,)
        assert int(lengths.max()) == x.shape[1]
        steps = torch.arange(x.shape[1])[None, :]
        assert torch.all(x[steps >= lengths[:, None]] == 0)  # right-padded with zeros
    else:
        assert "lengths" not in batch
    if shape.is_float_target and (shape.kind == "forecast" or "loc" in batch):
        for key in ("loc", "scale"):
            assert batch[key].dtype == torch.float32
            assert batch[key].shape == (b, 1, shape.output_size)
        assert torch.all(batch["scale"] > 0)
    else:
        assert "loc" not in batch and "scale" not in batch
    if shape.is_float_target:
        assert y.dtype == torch.float32
        if topology == "seq2seq":
            assert y.shape == (b, x.shape[1], shape.output_len * shape.output_size)
        else:
            assert y.shape == (b, shape.output_len, shape.output_size)
    elif shape.kind == "classification":
        assert y.dtype == torch.int64 and y.shape == (b,)
        assert int(y.min()) >= 0 and int(y.max()) < shape.output_size
    else:
        assert y.dtype == torch.int64
        width = x.shape[1] if topology == "seq2seq" else shape.output_len
        assert y.shape == (b, width)
        scored = y[y != IGNORE_INDEX]
        assert int(scored.min()) >= 0 and int(scored.max()) < shape.output_size


def _true_predictions(data: object, loader: object, topology: str, shape: DataShape) -> np.ndarray:
    """The loader's own targets in original units, as a runner would pass predictions."""
    rows = []
    for batch in loader:  # type: ignore[attr-defined]
        y = batch["y"]
        if shape.kind == "forecast" and topology == "seq2seq":  # the last step's horizon
            y = y[:, -1].reshape(y.shape[0], shape.output_len, shape.output_size)  # [B, L, D]
        if "scale" in batch:  # scaled targets (forecasts, a standardized regression)
            y = y * batch["scale"] + batch["loc"]
        rows.append(y.double().numpy() if y.is_floating_point() else y.numpy())
    return np.concatenate(rows)


@pytest.mark.parametrize(("name", "topology"), CASES, ids=[f"{n}-{t}" for n, t in CASES])
def test_task_yields_declared_batches(name: str, topology: str) -> None:
    spec = load_spec(next(p for p in task_files() if p.stem == name))
    data = prepare(DataSource(task=name))
    assert data.kind == spec.kind and data.topologies == tuple(spec.topologies)
    assert set(data.topologies) <= set(TOPOLOGIES)
    assert data.default_space in ("forecast", "regression", "classification", "tokens")
    summary = data.summary()
    assert summary["rows"] == spec.size
    shape = data.shape(topology)
    assert shape.kind == spec.kind
    seq_len = data.seq_len_candidates()[0]
    searched = ("window", "global") if spec.kind == "forecast" and not data.many_series else ()
    for scaling in searched or ("window",):
        loaders = data.loaders(topology, seq_len, batch_size=16, scaling=scaling, seed=0)
        for loader in (loaders.train, loaders.val, loaders.test):
            _check_batch(next(iter(loader)), shape, topology)
        # The val loader's targets, read back in original units, score perfectly.
        truth = _true_predictions(data, loaders.val, topology, shape)
        scores = data.score("val", truth)
        if spec.metric in ("mae", "mse"):  # float32 round trip through scale and loc
            assert scores[f"val_{spec.metric}"] < 1e-5 * max(1.0, float(np.abs(truth).mean()))
        else:
            assert scores[f"val_{spec.metric}"] == 1.0
