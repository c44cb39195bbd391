"""The graph's outputs as the caller's rows: a forecast table (steps, future times, targets), or one
row per input row (class and probability, decoded tokens, or regression values)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .columns import stripped
from .rows import LongSequences


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """pandas' frequency string of ``index`` (None when irregular or under 3 points)."""
    if len(index) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 warns it will return an offset object
        try:
            found = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    return None if found is None else str(getattr(found, "freqstr", found))


def future_times(spec: dict[str, Any], times: Any, horizon: int) -> Any:
    """Timestamps of the next ``horizon`` steps after the history (its own frequency, else the
    training data's, else its median step)."""
    if times is None:
        return None
    if spec.get("time_kind") == "number":
        step = float(np.median(np.diff(times))) if len(times) > 1 else float(spec.get("step") or 1)
        return times[-1] + step * np.arange(1, horizon + 1)
    index = pd.DatetimeIndex(times)
    freq = infer_freq(index)
    for candidate in (freq, spec.get("freq")):
        if not candidate:
            continue
        try:
            ahead = pd.date_range(start=index[-1], periods=horizon + 1, freq=candidate)
        except ValueError:
            continue
        return ahead[1:] if ahead[0] == index[-1] else ahead[:horizon]
    gap = pd.Timedelta(pd.Series(index).diff().median() if len(index) > 1 else spec["step"])
    return pd.DatetimeIndex([index[-1] + gap * k for k in range(1, horizon + 1)])


def time_text(times: Any) -> list[Any]:
    """Times as written in a table: dates (``2024-01-31``) when all are midnight, else ISO
    timestamps; numbers as floats."""
    if not isinstance(times, pd.DatetimeIndex):
        return [float(t) for t in times]
    if (times == times.normalize()).all():
        return [t.strftime("%Y-%m-%d") for t in times]
    return [t.isoformat() for t in times]


def forecast_frame(
    spec: dict[str, Any], out: dict[str, Any], times: Any, values: np.ndarray
) -> pd.DataFrame:
    """The forecast as rows: ``step`` (1..horizon), the time column when there is one, targets."""
    horizon = int(out["horizon"])
    table: dict[str, Any] = {"step": np.arange(1, horizon + 1)}
    ahead = future_times(spec, times, horizon)
    if ahead is not None:
        table[str(spec["time_col"])] = time_text(ahead)
    for j, name in enumerate(spec["targets"]):
        table[str(name)] = values[:, j].astype(np.float32)  # the model's precision
    return pd.DataFrame(table)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted.astype(np.float64))
    return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def token_text(ids: Sequence[int], vocab: Sequence[str]) -> str:
    """Output ids -> text, stopping at the first PAD (id 0); one-character tokens are joined."""
    chosen = []
    for index in ids:
        if int(index) == 0:
            break
        chosen.append(vocab[int(index)] if 0 <= int(index) < len(vocab) else "?")
    joiner = "" if all(len(v) == 1 for v in vocab[1:]) else " "
    return joiner.join(chosen)


def decode_rows(
    spec: dict[str, Any],
    out: dict[str, Any],
    frame: pd.DataFrame,
    outputs: list[tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """One output row per input row, in input order (text inputs are echoed beside)."""
    n = len(frame)
    table: dict[str, Any] = {}
    if spec["type"] in ("chars", "tokens"):
        name = str(spec["column"])
        table[name] = stripped(frame)[name].astype(str).tolist()
    elif spec["type"] == "long":  # one row per sequence, keyed by its id
        table[str(spec["id_col"])] = frame[str(spec["id_col"])].tolist()
    kind = out["type"]
    if kind == "classes":
        classes = list(out["classes"])
        labels: list[Any] = [None] * n
        probability = np.zeros(n, dtype=np.float32)
        for index, logits in outputs:
            p = _softmax(logits)
            best = p.argmax(axis=-1)
            for i, k, pk in zip(index, best, p[np.arange(len(p)), best]):
                labels[int(i)], probability[int(i)] = classes[int(k)], float(pk)
        table.update(prediction=labels, probability=probability)
    elif kind == "tokens":
        positions = out.get("positions")
        texts: list[Any] = [None] * n
        for index, logits in outputs:
            ids = logits.argmax(axis=-1)
            if positions is not None:
                ids = ids[:, positions]
            for i, row_ids in zip(index, ids):
                texts[int(i)] = token_text(row_ids, out["vocab"])
        table["prediction"] = texts
    else:
        width = int(out["output_len"]) * int(out["output_size"])
        values = np.zeros((n, width), dtype=np.float32)
        for index, y in outputs:
            values[index] = y.reshape(len(index), -1)
        if "scale" in out:  # a standardized regression target, back in its units
            values = values * np.float32(out["scale"]) + np.float32(out["loc"])
        names = ["prediction"] if width == 1 else [f"prediction_{k}" for k in range(width)]
        table.update({name: values[:, k] for k, name in enumerate(names)})
    return pd.DataFrame(table)


def decode_steps(
    spec: dict[str, Any],
    out: dict[str, Any],
    read: LongSequences,
    outputs: list[tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Per-step classes as rows: the id, the step's time (or ``step`` 1..T), the class and its
    probability, ids in order of first appearance (the padding class is never answered); or
    per-step values (``step_values``) in the target's units."""
    if out["type"] == "step_values":
        return _step_values(spec, out, read, outputs)
    classes = np.asarray(out["classes"], dtype=object)
    answers: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0), np.empty(0))] * len(read.ids)
    for index, logits in outputs:  # [n, T, 1 + classes]
        p = _softmax(logits)[..., 1:]
        best = p.argmax(axis=-1)
        for k, row_best, row_p in zip(index, best, np.take_along_axis(p, best[..., None], -1)):
            answers[int(k)] = (classes[row_best], row_p[:, 0].astype(np.float32))
    table = _step_keys(spec, read, [len(label) for label, _ in answers])
    table["prediction"] = np.concatenate([label for label, _ in answers])
    table["probability"] = np.concatenate([prob for _, prob in answers])
    return pd.DataFrame(table)


def _step_keys(spec: dict[str, Any], read: LongSequences, lengths: list[int]) -> dict[str, Any]:
    """The key columns of per-step rows: each id repeated, and its steps' times as given (or
    ``step`` 1..T without a time column)."""
    time_name = str(spec["time_col"]) if read.times is not None else "step"
    steps = (
        np.concatenate(read.times)
        if read.times is not None
        else np.concatenate([np.arange(1, n + 1) for n in lengths])
    )
    ids = np.repeat(np.asarray(read.ids, dtype=object), lengths)
    return {str(spec["id_col"]): ids, time_name: steps}


def last_inputs(
    spec: dict[str, Any], out: dict[str, Any], read: LongSequences
) -> np.ndarray | None:
    """Numeric pairs that answer changes (``from_last``): each id's last input value of the
    target, in its units; None for a model answering values."""
    if out.get("from_last") is None:
        return None
    j = int(out["from_last"])
    scaled = np.asarray([steps[-1, j] for steps in read.steps], dtype=np.float64)
    return scaled * float(spec["sd"][j]) + float(spec["mu"][j])


def decode_id_steps(
    spec: dict[str, Any],
    out: dict[str, Any],
    frame: pd.DataFrame,
    outputs: list[tuple[np.ndarray, np.ndarray]],
    locs: np.ndarray | None = None,
    times: list[np.ndarray] | None = None,
) -> pd.DataFrame:
    """A sequence per id as rows (id, ``step`` 1..L [, the time column: ``times`` of each id's
    answers, which cut its answer to as many steps], ``prediction`` [, ``probability``]):
    values back in the target's units (``locs``: each id's own offset, else the output's
    ``loc``), or classes up to the padding class that ends the sequence."""
    ids = frame[str(spec["id_col"])].astype(str).str.strip().tolist()
    parts: list[pd.DataFrame] = [pd.DataFrame()] * len(ids)
    classes = out.get("classes")
    for index, y in outputs:
        for k, answer in zip(index, y):
            table: dict[str, Any]
            if classes is None:  # [L, 1] standardized values
                loc = out["loc"] if locs is None else locs[int(k)]
                values = answer.reshape(-1) * np.float32(out["scale"]) + np.float32(loc)
                table = {"prediction": values.astype(np.float32)}
            else:  # [L, 1 + C] logits, class 0 the padding that ends the sequence
                p = _softmax(answer)
                best = p.argmax(axis=-1)
                end = int(np.argmax(best == 0)) if (best == 0).any() else len(best)
                labels = np.asarray(classes, dtype=object)[np.maximum(best[:end] - 1, 0)]
                table = {"prediction": labels, "probability": p[np.arange(end), best[:end]]}
            if times is not None:
                table = {key: column[: len(times[int(k)])] for key, column in table.items()}
            n = len(table["prediction"])
            keys: dict[str, Any] = {str(spec["id_col"]): [ids[int(k)]] * n}
            keys["step"] = np.arange(1, n + 1)
            if times is not None:
                keys[str(spec["time_col"])] = times[int(k)]
            parts[int(k)] = pd.DataFrame({**keys, **table})
    return pd.concat(parts, ignore_index=True)


def _step_values(
    spec: dict[str, Any],
    out: dict[str, Any],
    read: LongSequences,
    outputs: list[tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Per-step values as rows (id, the step's time or ``step`` 1..T, ``prediction``)."""
    values: list[np.ndarray] = [np.empty(0)] * len(read.ids)
    for index, y in outputs:  # [n, T, 1] standardized
        for k, row in zip(index, y):
            values[int(k)] = row[:, 0] * np.float32(out["scale"]) + np.float32(out["loc"])
    table = _step_keys(spec, read, [len(v) for v in values])
    table["prediction"] = np.concatenate(values).astype(np.float32)
    return pd.DataFrame(table)
