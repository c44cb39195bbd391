"""Fixed-sample tasks (regression, classification, tokens): whole arrays and a seeded split.

Each topology a task fits has a :class:`View` (its inputs and targets); the split indices are
shared, so every topology sees the same samples in train, val and test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from automl_rnn.data import metrics
from automl_rnn.data.contract import DataShape
from automl_rnn.data.prepared import PreparedData, fingerprint

if TYPE_CHECKING:
    import numpy.typing as npt

    from automl_rnn.data.batching import TensorBatches


@dataclass
class View:
    """What one topology sees: ``x`` float32 (``[N, T, F]`` or ``[N, F]``) or, with ``one_hot``,
    int64 token ids ``[N, T]`` (0 = padding); ``y`` float32 ``[N, L, D]`` or int64 ``[N]``/``[N, L]``."""

    x: np.ndarray
    y: np.ndarray
    one_hot: int = 0
    lengths: np.ndarray | None = None
    out_lengths: np.ndarray | None = None
    """Output steps of each row when they differ (``y`` is padded past them, never trained on
    nor scored); None: every row answers ``y.shape[1]`` steps."""


class ArrayData(PreparedData):
    """Samples held whole; ``loaders`` slices them per batch."""

    def __init__(
        self,
        name: str,
        kind: str,
        views: dict[str, View],
        split: dict[str, np.ndarray],
        metric: str,
        source: str,
        classes: tuple[str, ...] = (),
        vocab: tuple[str, ...] = (),
        notes: list[str] | None = None,
        alphabet: tuple[str, ...] = (),
    ) -> None:
        self.name, self.kind, self.metric, self.source = name, kind, metric, source
        self.views, self.split = views, split
        self.topologies = tuple(views)
        self.classes, self.vocab, self.notes = classes, vocab, notes or []
        self.alphabet = alphabet
        first = views[self.topologies[0]]
        self.rows = len(first.y)
        self.default_seq_len = self.max_seq_len = 1 if first.x.ndim == 2 else first.x.shape[1]
        parts: list[object] = [name, kind, *(split[s] for s in ("train", "val", "test"))]
        for topology, view in views.items():
            parts += [topology, view.x, view.y]
            if view.out_lengths is not None:
                parts.append(view.out_lengths)
        self.fingerprint = fingerprint(*parts)

    def seq_len_candidates(self) -> list[int]:
        """The fixed input length (``seq_len`` is not searched for these tasks)."""
        return [self.default_seq_len]

    def shape(self, topology: str) -> DataShape:
        """Sizes for ``topology``: F from x (or the one-hot size), D / C and L from the targets."""
        self.check_topology(topology)
        view = self.views[topology]
        input_size = view.one_hot or view.x.shape[-1]
        if self.kind == "regression" and topology == "seq2seq" and view.lengths is not None:
            return DataShape("regression", input_size, view.y.shape[2], 1, True, True)
        if self.kind == "regression":
            return DataShape(
                "regression", input_size, view.y.shape[2], view.y.shape[1],
                view.lengths is not None,
            )  # fmt: skip
        if self.kind == "classification":
            return DataShape(
                "classification", input_size, len(self.classes), 1, view.lengths is not None
            )
        return DataShape(
            "tokens", input_size, len(self.vocab), view.y.shape[1], view.lengths is not None
        )

    def _datasets(
        self, topology: str, seq_len: int | None, scaling: str
    ) -> dict[str, TensorBatches]:
        """Contract batches (``x``, ``y`` and ``lengths`` when lengths vary); seq_len and scaling
        do not apply to these tasks and are ignored."""
        import torch

        from automl_rnn.data.batching import TensorBatches

        view = self.views[topology]
        datasets = {}
        for split, rows in self.split.items():
            tensors = {"x": torch.from_numpy(view.x[rows]), "y": torch.from_numpy(view.y[rows])}
            if view.lengths is not None:
                tensors["lengths"] = torch.from_numpy(view.lengths[rows])
            if view.out_lengths is not None:
                tensors["out_lengths"] = torch.from_numpy(view.out_lengths[rows])
            datasets[split] = TensorBatches(tensors, one_hot=view.one_hot)
        return datasets

    def score(self, split: str, predictions: npt.ArrayLike) -> dict[str, float]:
        """regression: mse, mae; classification: accuracy, macro_f1; tokens: exact, char_accuracy.

        Each with the baseline on the same samples (training mean / majority class / per-position
        majority token).
        """
        self.check_split(split)
        rows = self.split[split]
        p = np.asarray(predictions)
        if self.kind == "regression":
            y = self.views[self.topologies[0]].y[rows].astype(np.float64)
            p = p.astype(np.float64).reshape(y.shape)
            mean = self.views[self.topologies[0]].y[self.split["train"]].mean(axis=0)
            base = np.broadcast_to(mean, y.shape)
            return {
                f"{split}_mse": metrics.mse(y, p),
                f"{split}_mae": metrics.mae(y, p),
                f"{split}_mean_mse": metrics.mse(y, base),
                f"{split}_mean_mae": metrics.mae(y, base),
            }
        if self.kind == "classification":
            y = self.views[self.topologies[0]].y[rows]
            p = p.argmax(axis=-1) if p.ndim == 2 else p.reshape(-1)
            majority = np.bincount(self.views[self.topologies[0]].y[self.split["train"]]).argmax()
            return {
                f"{split}_accuracy": metrics.accuracy(y, p),
                f"{split}_macro_f1": metrics.macro_f1(y, p),
                f"{split}_majority_accuracy": metrics.accuracy(y, np.full_like(y, majority)),
            }
        view = self._token_view(p.shape)
        y = view.y[rows]
        exact, chars = metrics.token_scores(y, p)
        base_exact, base_chars = metrics.token_scores(y, self._majority_tokens(view, len(rows)))
        return {
            f"{split}_exact": exact,
            f"{split}_char_accuracy": chars,
            f"{split}_majority_exact": base_exact,
            f"{split}_majority_char_accuracy": base_chars,
        }

    def _token_view(self, shape: tuple[int, ...]) -> View:
        for view in self.views.values():
            if len(shape) == 2 and view.y.shape[1] == shape[1]:
                return view
        widths = [view.y.shape[1] for view in self.views.values()]
        raise ValueError(f"token predictions must be shaped [N, L] with L in {widths}, got {shape}")

    def _majority_tokens(self, view: View, n: int) -> np.ndarray:
        """The most frequent training token at each output position, for ``n`` rows."""
        train = view.y[self.split["train"]]
        best = [np.bincount(col[col >= 0]).argmax() if (col >= 0).any() else 0 for col in train.T]
        return np.tile(np.asarray(best, dtype=np.int64), (n, 1))

    def baselines(self) -> dict[str, float]:
        """The baseline's figures on val and test (see :meth:`score`)."""
        out: dict[str, float] = {}
        first = self.views[self.topologies[0]]
        for split in ("val", "test"):
            n = len(self.split[split])
            if self.kind == "tokens":
                dummy: np.ndarray = self._majority_tokens(first, n)
            elif self.kind == "classification":
                dummy = np.zeros(n, dtype=np.int64)
            else:
                dummy = np.zeros((n, *first.y.shape[1:]))
            scores = self.score(split, dummy)
            out.update({k: round(v, 4) for k, v in scores.items() if _is_baseline(k)})
        return out

    def summary(self) -> dict[str, Any]:
        """What ``automl-rnn inspect`` prints."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "rows": self.rows,
            "topologies": list(self.topologies),
            "metric": self.metric,
            "split_rows": {s: len(rows) for s, rows in self.split.items()},
            "shapes": {t: vars(self.shape(t)) for t in self.topologies},
        }
        if self.classes:
            counts = np.bincount(self.views[self.topologies[0]].y, minlength=len(self.classes))
            out["classes"] = dict(zip(self.classes, counts.tolist()))
        if self.vocab:
            out["vocab"] = "".join(v if len(v) == 1 else f"<{v.strip('<>')}>" for v in self.vocab)
        out.update(baselines=self.baselines(), notes=list(self.notes), fingerprint=self.fingerprint)
        return out


def _is_baseline(key: str) -> bool:
    """A baseline's score key: the majority class or token, the training mean, the last value."""
    return any(f"_{name}_" in key for name in ("majority", "mean", "last"))
