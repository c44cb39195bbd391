"""Seasonal period (from the time step or the autocorrelation) and the input windows worth trying."""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_TRAIN_WINDOWS = 32
"""Candidate windows leave at least this many training windows (when the series allows)."""


def season_from_step(step: pd.Timedelta) -> int | None:
    """The usual seasonal period of data sampled every ``step`` (monthly → 12, hourly → 24...)."""
    if pd.isna(step) or step <= pd.Timedelta(0):
        return None
    days = step / pd.Timedelta(days=1)
    for low, high, season in ((27, 32, 12), (88, 93, 4), (6.5, 7.5, 52), (0.99, 1.01, 7)):
        if low <= days <= high:
            return season
    if days < 1:
        per_day = round(1 / days)
        if abs(per_day * days - 1) < 1e-6 and 2 <= per_day <= 288:
            return per_day  # a daily cycle: hourly → 24, 15-minute → 96
        per_hour = round(pd.Timedelta(hours=1) / step)
        if per_hour >= 2 and abs(per_hour * step - pd.Timedelta(hours=1)) < pd.Timedelta(seconds=1):
            return per_hour  # minutes → 60 per hour
    return None


def acf_season(values: np.ndarray, max_lag: int | None = None) -> int | None:
    """The lag (>= 2) of the highest local peak of the differenced series' autocorrelation.

    Returns None when no peak exceeds 0.3 (no clear season) or the series is too short.
    """
    x = np.diff(np.asarray(values, dtype=np.float64))
    x = x[np.isfinite(x)]
    max_lag = min(max_lag or len(x) // 3, len(x) // 3)
    if max_lag < 3 or np.std(x) == 0:
        return None
    x = x - x.mean()
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 2]
    acf = acf / acf[0]
    peaks = [
        lag
        for lag in range(2, max_lag + 1)
        if acf[lag] > 0.3 and acf[lag] >= acf[lag - 1] and acf[lag] >= acf[lag + 1]
    ]
    return max(peaks, key=lambda lag: acf[lag]) if peaks else None


def window_candidates(
    horizon: int, season: int | None, acf_lag: int | None, low: int, high: int
) -> list[int]:
    """Input windows to search: multiples of the horizon and the season, and the ACF peak.

    Kept within ``[low, high]`` (``high`` leaves enough training windows); at most eight values.
    """
    wanted = {horizon * k for k in (1, 2, 3, 4)}
    if season:
        wanted |= {season * k for k in (1, 2, 3)}
    if acf_lag:
        wanted |= {acf_lag, 2 * acf_lag}
    if horizon < 8:
        wanted |= {8, 16, 32}
    kept = sorted(w for w in wanted if low <= w <= high)
    if not kept:
        kept = [max(low, min(high, 2 * horizon))]
    if len(kept) > 8:
        picks = np.linspace(0, len(kept) - 1, 8).round().astype(int)
        kept = [kept[i] for i in sorted(set(picks))]
    return kept
