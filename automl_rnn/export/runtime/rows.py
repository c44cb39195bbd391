"""Row inputs (classification, tokens, regression): each row of the caller's table encoded as the
graph's input, rows of one length grouped so no padding ever enters the recurrence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .columns import cells, id_names, parse_numbers, stripped, where
from .manifest import PREPROCESS, BundleError


def token_ids(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> list[np.ndarray]:
    """Each row's input ids (1-based, 0 is padding) for ``chars`` and ``tokens`` inputs."""
    chars = spec["type"] == "chars"
    symbols = list(spec["alphabet"] if chars else spec["vocab"])
    ids = {s: i + 1 for i, s in enumerate(symbols)}
    unknown = len(symbols) + 1 if spec.get("unknown") else None
    column = cells(frame, spec["column"], source, row)
    limit = spec.get("max_chars")
    rows = []
    for label, cell in column.items():
        text = str(cell)
        if chars and limit:
            text = text[: int(limit)]
        items = list(text) if chars else text.split()
        coded = []
        for item in items:
            code = ids.get(item, unknown)
            if code is None:
                what = "character" if chars else "token"
                shown = "".join(symbols) if chars else " ".join(symbols)
                raise BundleError(
                    f"{source}: column '{spec['column']}' has {what} {item!r} at "
                    f"{where(row, label)}, which the model never saw; use only: {shown}"
                )
            coded.append(code)
        rows.append(np.asarray(coded, dtype=np.int64))
    _check_length(spec, [len(r) for r in rows], column.index, source, row)
    return rows


def _check_length(
    spec: dict[str, Any], lengths: Sequence[int], labels: pd.Index, source: str, row: str
) -> None:
    fixed = spec.get("length")
    for label, length in zip(labels, lengths):
        if fixed is not None and length != fixed:
            raise BundleError(
                f"{source}: {where(row, label)} has {length} steps; the model reads exactly {fixed}"
            )


def float_steps(
    spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str
) -> list[np.ndarray]:
    """Each row's ``[T, F]`` float32 steps; each column holds one space-separated feature."""
    columns = [cells(frame, name, source, row) for name in spec["columns"]]
    rows = []
    for i, label in enumerate(columns[0].index):
        parts = []
        for name, column in zip(spec["columns"], columns):
            try:
                parts.append([float(v) for v in str(column.iloc[i]).split()])
            except ValueError:
                raise BundleError(
                    f"{source}: column '{name}' at {where(row, label)} must hold space-separated "
                    "numbers"
                ) from None
        if len({len(p) for p in parts}) != 1:
            raise BundleError(
                f"{source}: {where(row, label)}: columns {', '.join(spec['columns'])} hold "
                "different numbers of steps"
            )
        rows.append(np.asarray(parts, dtype=np.float32).T)
    _check_length(spec, [len(r) for r in rows], columns[0].index, source, row)
    return rows


def pixels(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> np.ndarray:
    """Pixel columns scaled by ``max`` to [0, 1] and shaped ``[N, *shape]`` (float32)."""
    frame = stripped(frame)
    names = list(spec["columns"])
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise BundleError(
            f"{source}: no column '{missing[0]}' ({len(missing)} of {len(names)} pixel columns "
            f"missing); the model reads {names[0]}..{names[-1]}"
        )
    values = np.stack([parse_numbers(frame[c], c, source, row) for c in names], axis=1)
    top = float(spec["max"])
    bad = np.isnan(values) | (values < 0) | (values > top)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise BundleError(
            f"{source}: column '{names[j]}' at {where(row, frame.index[i])} must be a number "
            f"in 0..{top:g}"
        )
    return (values / top).astype(np.float32).reshape(len(frame), *spec["shape"])


def vector(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> np.ndarray:
    """Each row's feature columns, standardized as in training: ``[N, F]`` float32."""
    values = np.stack(
        [parse_numbers(cells(frame, c, source, row), c, source, row) for c in spec["columns"]],
        axis=1,
    )
    return ((values - np.asarray(spec["mu"])) / np.asarray(spec["sd"])).astype(np.float32)


def encode_rows(
    spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Graph inputs for each group of rows: ``(row positions, x)``. Variable-length inputs are
    grouped by length, so no padding ever enters the recurrence."""
    if len(frame) == 0:
        raise BundleError(f"{source}: no rows to predict")
    kind = spec["type"]
    if kind == "pixels":
        return [(np.arange(len(frame)), pixels(spec, frame, source, row))]
    if kind == "vector":
        return [(np.arange(len(frame)), vector(spec, frame, source, row))]
    if kind in ("chars", "tokens"):
        width = int(spec["one_hot"])
        table = np.eye(width + 1, dtype=np.float32)[:, 1:]  # id 0 (padding) -> zeros
        steps = [table[ids] for ids in token_ids(spec, frame, source, row)]
    elif kind == "float_steps":
        steps = float_steps(spec, frame, source, row)
    elif kind == "long":
        steps = long_sequences(spec, frame, source, row).steps
    else:
        raise BundleError(f"unknown input type '{kind}' in {PREPROCESS}; export the model again")
    return by_length(steps)


def by_length(steps: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(positions, x)`` for each group of inputs of one length (shortest first)."""
    by_length: dict[int, list[int]] = {}
    for i, item in enumerate(steps):
        by_length.setdefault(len(item), []).append(i)
    return [
        (np.asarray(rows), np.stack([steps[i] for i in rows]).astype(np.float32))
        for _, rows in sorted(by_length.items())
    ]


@dataclass
class LongSequences:
    """A long table read for a model: the ids in order of first appearance, each id's
    standardized ``[T, F]`` float32 steps, and (with a time column) each id's times as given."""

    ids: list[str]
    steps: list[np.ndarray]
    times: list[np.ndarray] | None


def long_sequences(
    spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str
) -> LongSequences:
    """A long table (one row per step) -> its sequences, each ordered by the time column when the
    model has one, else in table order."""
    frame = input_steps(spec, stripped(frame), source, row)
    ids = cells(frame, str(spec["id_col"]), source, row).astype(str)
    values = np.stack(
        [parse_numbers(cells(frame, c, source, row), c, source, row) for c in spec["columns"]],
        axis=1,
    )
    codes, names = pd.factorize(ids, sort=False)
    time_col = spec.get("time_col")
    given = None
    if time_col:
        given = cells(frame, str(time_col), source, row)
        when = _step_times(given, str(time_col), source, row)
        order = np.lexsort((when, codes))
        same = (np.diff(codes[order]) == 0) & (np.diff(when[order]) == 0)
        if same.any():
            label = frame.index[int(order[int(np.argmax(same)) + 1])]
            raise BundleError(
                f"{source}: id '{ids.iloc[int(order[int(np.argmax(same))])]}' has the same "
                f"'{time_col}' twice (again at {where(row, label)}); each (id, time) must be one row"
            )
    else:
        order = np.argsort(codes, kind="stable")
    scaled = ((values - np.asarray(spec["mu"])) / np.asarray(spec["sd"])).astype(np.float32)
    cuts = np.cumsum(np.bincount(codes, minlength=len(names)))[:-1]
    times = None if given is None else np.split(given.to_numpy()[order], cuts)
    return LongSequences([str(n) for n in names], np.split(scaled[order], cuts), times)


def input_steps(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> pd.DataFrame:
    """A numeric pair model's input steps: the rows its ``output_steps`` column does not mark
    (all rows when the table has no such column: input steps only)."""
    output = _marked(spec, frame, source, row)
    return frame if output is None else frame[~output]


def output_times(
    spec: dict[str, Any], frame: pd.DataFrame, ids: list[str], steps: int, source: str, row: str
) -> list[np.ndarray] | None:
    """The times of a numeric pair model's answers: each id's marked output rows' times, in
    time order (None when the table marks no output row: every id gets the model's ``steps``
    answers, numbered). An id answers as many steps as it marks; one that marks more than the
    model answers, or none while others do, is refused."""
    frame = stripped(frame)
    output = _marked(spec, frame, source, row)
    time_col = spec.get("time_col")
    if output is None or not output.any() or not time_col:
        return None
    rows = frame[output]
    names = cells(rows, str(spec["id_col"]), source, row).astype(str).to_numpy()
    given = cells(rows, str(time_col), source, row)
    when = _step_times(given, str(time_col), source, row)
    codes, uniques = pd.factorize(names)
    at = {str(name): k for k, name in enumerate(uniques)}
    counts = np.bincount(codes, minlength=len(uniques))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    ordered = given.to_numpy()[np.lexsort((when, codes))]  # id by id, in time order
    answers = []
    for name in ids:
        k = at.get(name)
        marked = 0 if k is None else int(counts[k])
        if k is None or marked > steps:
            raise BundleError(
                f"{source}: id '{name}' marks {marked} output step(s) in "
                f"'{spec['output_steps']['column']}'; this model answers 1 to {steps} (mark "
                "that many after each id's input steps, or leave every output row out)"
            )
        answers.append(ordered[starts[k] : starts[k] + marked])
    return answers


def _marked(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> np.ndarray | None:
    """Which rows the model's ``output_steps`` column marks as output steps (None: the model
    reads no such column, or the table lacks it); a mark of neither kind is refused."""
    marks = spec.get("output_steps")
    if marks is None or str(marks["column"]) not in frame.columns:
        return None
    text = frame[str(marks["column"])].astype(str).str.strip().str.lower()
    numbers = pd.to_numeric(text, errors="coerce")
    text = text.where(numbers.isna(), numbers.astype(str).str.removesuffix(".0"))
    output, given = text.isin(marks["output"]), text.isin(marks["input"])
    bad = ~(output | given)
    if bad.any():
        label = frame.index[int(np.argmax(bad.to_numpy()))]
        raise BundleError(
            f"{source}: column '{marks['column']}' has {frame.loc[label, marks['column']]!r} at "
            f"{where(row, label)}; mark output steps ({', '.join(marks['output'])}) or input "
            f"steps ({', '.join(marks['input'])}), or leave output steps out"
        )
    return np.asarray(output.to_numpy(), dtype=bool)


def _step_times(column: pd.Series, name: str, source: str, row: str) -> np.ndarray:
    """A time column as sortable float64: numbers as they are, else parsed dates."""
    numbers = pd.to_numeric(column.astype(str).str.strip(), errors="coerce")
    if numbers.notna().all():
        return numbers.to_numpy(dtype=np.float64)
    times = pd.to_datetime(column.astype(str).str.strip(), errors="coerce", format="mixed")
    if times.isna().any():
        i = int(np.argmax(times.isna().to_numpy()))
        raise BundleError(
            f"{source}: column '{name}' has {column.iloc[i]!r} at "
            f"{where(row, column.index[i])}, which is not a time or a step number"
        )
    return times.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)


def first_row_per_id(
    spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str
) -> pd.DataFrame:
    """A long table's first row of each id (ids in order of first appearance): the static
    features a vector → sequence model reads; a table of one row per id passes as it is."""
    frame = stripped(frame)
    names = id_names(spec, frame, source, row, "answers one sequence per id")
    return frame[~names.duplicated()]
