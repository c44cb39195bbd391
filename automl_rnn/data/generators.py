"""Seeded synthetic tasks: sine_mix (series), adding (regression), copy_memory and dates (tokens).

Every generator is a pure function of its parameters (same seed → same arrays).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from automl_rnn.data.arrays import View
from automl_rnn.data.contract import IGNORE_INDEX, PAD_LABEL
from automl_rnn.data.series import RawSeries
from automl_rnn.errors import ConfigError

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _positive(params: dict[str, Any], task: str, *names: str) -> None:
    for name in names:
        if params[name] < 1:
            raise ConfigError(f"task '{task}' parameter '{name}' must be >= 1, got {params[name]}")


def sine_mix(params: dict[str, Any]) -> RawSeries:
    """A daily-like cycle (period 24), a slower one (period 120), a slight trend and noise."""
    _positive(params, "sine_mix", "length")
    rng = np.random.default_rng(int(params["seed"]))
    t = np.arange(int(params["length"]), dtype=np.float64)
    clean = (
        10.0
        + 0.004 * t
        + 2.0 * np.sin(2 * np.pi * t / 24)
        + 0.8 * np.sin(2 * np.pi * t / 8 + 0.5)
        + 1.2 * np.sin(2 * np.pi * t / 120)
    )
    values = clean + float(params["noise"]) * rng.standard_normal(len(t))
    return RawSeries("sine_mix", ("value",), 1, values[:, None], np.arange(len(t)) + 2)


def adding(params: dict[str, Any]) -> View:
    """The adding problem: x ``[N, T, 2]`` (a value in [0, 1), a 0/1 marker); y the sum of the two
    marked values (one marker in each half), ``[N, 1, 1]``."""
    _positive(params, "adding", "samples")
    n, length = int(params["samples"]), int(params["length"])
    if length < 2:
        raise ConfigError(f"task 'adding' parameter 'length' must be >= 2, got {length}")
    rng = np.random.default_rng(int(params["seed"]))
    x = np.zeros((n, length, 2), dtype=np.float32)
    x[:, :, 0] = rng.random((n, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    rows = np.arange(n)
    x[rows, first, 1] = 1.0
    x[rows, second, 1] = 1.0
    y = (x[rows, first, 0] + x[rows, second, 0]).reshape(n, 1, 1)
    return View(x, y.astype(np.float32))


def copy_memory(params: dict[str, Any]) -> tuple[dict[str, View], tuple[str, ...]]:
    """Copy-memory: recall ``copy_len`` symbols after ``delay`` blank steps and a go marker.

    Input ids: 1 = blank, 2..symbols+1 = symbols, symbols+2 = go. seq2seq reads
    ``symbols, blanks(delay), go, blanks(copy_len - 1)`` and must output the symbols over the last
    ``copy_len`` steps (earlier steps are not scored); encoder_decoder reads up to the go marker
    and outputs the symbols. Output classes: 0 = PAD, 1..symbols.
    """
    _positive(params, "copy_memory", "samples", "symbols", "copy_len")
    n, k, delay = int(params["samples"]), int(params["copy_len"]), int(params["delay"])
    symbols = int(params["symbols"])
    if delay < 0:
        raise ConfigError(f"task 'copy_memory' parameter 'delay' must be >= 0, got {delay}")
    rng = np.random.default_rng(int(params["seed"]))
    recall = rng.integers(1, symbols + 1, (n, k))  # output classes 1..symbols
    blank, go = 1, symbols + 2
    head = np.concatenate([recall + 1, np.full((n, delay), blank), np.full((n, 1), go)], axis=1)
    x_seq = np.concatenate([head, np.full((n, k - 1), blank)], axis=1)
    y_seq = np.full(x_seq.shape, IGNORE_INDEX)
    y_seq[:, -k:] = recall
    views = {
        "seq2seq": View(x_seq.astype(np.int64), y_seq.astype(np.int64), one_hot=symbols + 2),
        "encoder_decoder": View(
            head.astype(np.int64), recall.astype(np.int64), one_hot=symbols + 2
        ),
    }
    vocab = (PAD_LABEL, *(str(i) for i in range(1, symbols + 1)))
    return views, vocab


def _date_text(day: dt.date, style: int) -> str:
    month, weekday = MONTHS[day.month - 1], WEEKDAYS[day.weekday()]
    return [
        f"{month[:3]} {day.day}, {day.year}",
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        f"{weekday} {day.day} {month} {day.year}",
        f"{month} {day.day}, {day.year}",
        f"{day.day} {month[:3]} {day.year}",
        f"{day.day:02d}.{day.month:02d}.{day.year}",
    ][style]


def dates(params: dict[str, Any]) -> tuple[View, tuple[str, ...], tuple[str, ...]]:
    """Date-format translation: human dates (six styles, 1950–2049) → ISO ``YYYY-MM-DD``.

    Returns the view (input char ids ``[N, T]``, 0 = padding, with lengths; output ids ``[N, 10]``),
    the input alphabet and the output vocabulary (0 = PAD).
    """
    _positive(params, "dates", "samples")
    n = int(params["samples"])
    rng = np.random.default_rng(int(params["seed"]))
    first, span = dt.date(1950, 1, 1), (dt.date(2049, 12, 31) - dt.date(1950, 1, 1)).days + 1
    days = [first + dt.timedelta(days=int(d)) for d in rng.integers(0, span, n)]
    styles = rng.integers(0, 6, n)
    texts = [_date_text(day, int(style)) for day, style in zip(days, styles)]
    alphabet = tuple(sorted(set("".join(MONTHS + WEEKDAYS) + "0123456789 ,/.")))
    ids = {ch: i + 1 for i, ch in enumerate(alphabet)}
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    x = np.zeros((n, int(lengths.max())), dtype=np.int64)
    for row, text in enumerate(texts):
        x[row, : len(text)] = [ids[ch] for ch in text]
    vocab = (PAD_LABEL, "-", *"0123456789")
    out_ids = {ch: i for i, ch in enumerate(vocab)}
    y = np.array([[out_ids[ch] for ch in day.isoformat()] for day in days], dtype=np.int64)
    return View(x, y, one_hot=len(alphabet), lengths=lengths), alphabet, vocab


def panel_table(series: int, steps: tuple[int, int], seed: int = 0) -> dict[str, np.ndarray]:
    """A long table of ``series`` daily series (columns ``series, date, sales, price, size``):
    lengths drawn from ``steps`` (inclusive) and ending on different days, levels spread over
    three orders of magnitude, a weekly cycle, a trend, noise, a price that lowers sales and a
    constant store ``size`` per series. Rows series by series, in time order."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(steps[0], steps[1] + 1, size=series)
    total = int(lengths.sum())
    codes = np.repeat(np.arange(series), lengths)
    t = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    level = 10.0 ** rng.uniform(0, 3, size=series)
    phase = rng.uniform(0, 2 * np.pi, size=series)
    trend = rng.normal(0, 0.002, size=series)
    price = 1.0 + 0.2 * rng.standard_normal(total)
    weekly = 1 + 0.3 * np.sin(2 * np.pi * t / 7 + phase[codes])
    sales = level[codes] * weekly * (1 + trend[codes] * t) * (1.5 - 0.5 * price)
    sales += 0.05 * level[codes] * rng.standard_normal(total)
    end = np.datetime64("2024-01-01") + rng.integers(0, 30, size=series).astype("timedelta64[D]")
    first = end - lengths.astype("timedelta64[D]")
    return {
        "series": np.array([f"s{i:04d}" for i in range(series)])[codes],
        "date": first[codes] + t.astype("timedelta64[D]"),
        "sales": np.round(sales, 3),
        "price": np.round(price, 3),
        "size": rng.integers(1, 5, size=series)[codes].astype(np.float64),
    }
