"""What :func:`automl_rnn.data.prepare` returns: the parsed, validated data of one task.

Subclasses: :class:`automl_rnn.data.forecast.ForecastData` (series: chronological splits, windows,
scaling, seasonal baselines) and :class:`automl_rnn.data.arrays.ArrayData` (fixed samples:
regression, classification, tokens). Torch is imported only when loaders are built.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from automl_rnn.data.contract import PAD_TOKEN, DataShape
from automl_rnn.errors import ConfigError

if TYPE_CHECKING:
    import numpy.typing as npt
    from torch.utils.data import DataLoader

    from automl_rnn.data.batching import TensorBatches

SPLITS = ("val", "test")
"""Splits ``score`` accepts (the training loader is shuffled, so it has no fixed order)."""


@dataclass
class Loaders:
    """The three loaders of one trial: ``train`` shuffled (seeded), ``val`` and ``test`` in order."""

    train: DataLoader[Any]
    val: DataLoader[Any]
    test: DataLoader[Any]


class PreparedData:
    """Common attributes and helpers; see the subclasses for the data themselves."""

    name: str
    kind: str
    topologies: tuple[str, ...]
    metric: str
    horizon: int | None = None
    season: int | None = None
    classes: tuple[str, ...] = ()
    """Label names (classification)."""
    vocab: tuple[str, ...] = ()
    """Output token strings (tokens); index 0 is PAD."""
    alphabet: tuple[str, ...] = ()
    """Input characters of a text task, in id order (id 0 is padding, the last id unknown)."""
    many_series = False
    """Many series of one panel (:class:`~automl_rnn.data.panel_data.PanelData`)."""
    fingerprint: str = ""
    """sha256 of the data the search sees (values, splits, horizon)."""
    default_seq_len: int
    max_seq_len: int
    notes: list[str]
    warnings: tuple[str, ...] = ()
    """The notes worth a warning (missing values filled, texts cut), as :func:`prepare` held
    them back (a search prints them once its whole input is accepted)."""

    @property
    def default_space(self) -> str:
        """Name of the built-in search space that suits this task (``search_spaces/<name>.yaml``)."""
        return self.kind

    def check_topology(self, topology: str) -> None:
        """Refuse a topology this task cannot feed (a ConfigError naming the ones that fit)."""
        if topology not in self.topologies:
            raise ConfigError(
                f"task '{self.name}' ({self.kind}) does not fit topology '{topology}'; "
                f"fits: {', '.join(self.topologies)}"
            )

    def check_split(self, split: str) -> None:
        """Only ``val`` and ``test`` can be scored."""
        if split not in SPLITS:
            raise ValueError(f"score() takes split 'val' or 'test', got {split!r}")

    def shape(self, topology: str) -> DataShape:
        """Tensor sizes the network factory needs for ``topology``."""
        raise NotImplementedError

    def seq_len_candidates(self) -> list[int]:
        """Input windows worth searching (forecast), or the fixed input length."""
        raise NotImplementedError

    def loaders(
        self,
        topology: str,
        seq_len: int | None,
        batch_size: int,
        scaling: str = "window",
        seed: int = 0,
    ) -> Loaders:
        """Train (shuffled, seeded), val and test loaders of contract batches for ``topology``."""
        from automl_rnn.data.batching import make_loaders

        self.check_topology(topology)
        datasets = self._datasets(topology, seq_len, scaling)
        return Loaders(**make_loaders(datasets, batch_size, seed))

    def _datasets(
        self, topology: str, seq_len: int | None, scaling: str
    ) -> dict[str, TensorBatches]:
        """The train, val and test datasets behind :meth:`loaders` (``topology`` checked)."""
        raise NotImplementedError

    def score(self, split: str, predictions: npt.ArrayLike) -> dict[str, float]:
        """Metrics of ``predictions`` (original units, loader order) on ``val`` or ``test``, keys
        prefixed with the split, baselines on the same samples included."""
        raise NotImplementedError

    def baselines(self) -> dict[str, float]:
        """The baselines' figures on val and test."""
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """What ``automl-rnn inspect`` prints."""
        raise NotImplementedError

    def decode(self, indices: npt.ArrayLike) -> list[str]:
        """Token rows ``[N, L]`` → strings (PAD dropped, stops at the first PAD), or class indices
        ``[N]`` → class names."""
        array = np.asarray(indices)
        if self.kind == "classification":
            return [self.classes[int(i)] for i in array.reshape(-1)]
        texts = []
        for row in np.atleast_2d(array):
            chars = []
            for index in row:
                if int(index) == PAD_TOKEN:
                    break
                chars.append(self.vocab[int(index)] if 0 <= index < len(self.vocab) else "?")
            texts.append("".join(chars))
        return texts


def fingerprint(*parts: object) -> str:
    """sha256 over arrays (dtype, shape, bytes) and plain values, in order."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype}{array.shape}".encode())
            if array.size:  # the bytes, not a copy of them
                digest.update(array.data.cast("B"))
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()
