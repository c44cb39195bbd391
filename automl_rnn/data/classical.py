"""Classical baselines of a forecast: statsforecast's ``AutoETS`` and ``AutoARIMA``, scored on the
same validation and test windows as every trial.

Each model is fitted once per target column (many series: once per series) on the training part only (as a trial's network is
trained), then applied at each window's origin to the history before it (``forward``: the fitted
parameters, re-filtered on that history), so a window's forecast reads nothing at or after its
first target. Covariates are not used: these are the univariate references a user would try first.

Seasonal ARIMA beyond a season of :data:`MAX_ARIMA_SEASON` steps is impractically slow (season 24
on 400 points: 4 minutes; weekly data: longer), so there the ARIMA baseline is statsforecast's
recommended ``MSTL`` decomposition with a non-seasonal ``AutoARIMA`` on the trend (1.3 s, and more
accurate on those series), and its name says so. Fits read at most :data:`MAX_FIT_POINTS` of the
latest training steps, so a long series costs seconds, not minutes.

Scores are cached by the data's fingerprint (``$AUTOML_RNN_CACHE`` or ``~/.cache/automl-rnn``):
they depend on the data and the library version only, and a rerun on the same data skips the fits.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from automl_rnn.data.forecast import ForecastData
    from automl_rnn.data.panel_data import PanelData

    Forecastable = ForecastData | PanelData
    """One series (each target column fitted apart) or many (each series fitted apart)."""

MAX_ARIMA_SEASON = 12
"""Longest season fitted by a seasonal AutoARIMA; longer ones use MSTL + AutoARIMA."""

MAX_FIT_POINTS = 1000
"""The fits read at most this many of the latest training steps."""

CODE_VERSION = 1
"""Part of the cache key: raise it when the fitting or scoring here changes."""

#: Baseline id -> the name shown to users.
NAMES = {"auto_ets": "AutoETS", "auto_arima": "AutoARIMA"}

Scores = dict[str, float | str]
"""One baseline: ``model`` (its name), ``val_*`` / ``test_*`` metrics, ``seconds``, or ``error``."""


class _Fitted(Protocol):
    def forward(self, y: np.ndarray, h: int) -> dict[str, np.ndarray]: ...


class _Model(Protocol):
    def fit(self, y: np.ndarray) -> _Fitted: ...


def _models(season: int) -> dict[str, tuple[str, Callable[[], _Model]]]:
    from statsforecast.models import MSTL, AutoARIMA, AutoETS

    arima: tuple[str, Callable[[], _Model]] = (
        ("AutoARIMA", lambda: AutoARIMA(season_length=season))
        if season <= MAX_ARIMA_SEASON
        else (
            "MSTL + AutoARIMA",
            lambda: MSTL(season_length=season, trend_forecaster=AutoARIMA(season_length=1)),
        )
    )
    return {"auto_ets": ("AutoETS", lambda: AutoETS(season_length=season)), "auto_arima": arima}


def forecasts(data: Forecastable, make: Callable[[], _Model], split: str) -> np.ndarray:
    """One model's forecasts ``[N, L, D]`` of a split's windows, fitted on the training part."""
    return forecasts_of(data, make, (split,))[split]


def forecasts_of(
    data: Forecastable, make: Callable[[], _Model], splits: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """One model's forecasts ``[N, L, D]`` of each split's windows: one fit per target column on
    the training part, then a forecast from the history before each window (many series:
    ``[S, L]``, one fit per series)."""
    from automl_rnn.data.panel_data import PanelData

    if isinstance(data, PanelData):
        return _panel_forecasts(data, make, splits)
    h = data.horizon
    starts = {split: data.starts(split, data.min_seq_len) for split in splits}
    out = {split: np.empty((len(s), h, data.d)) for split, s in starts.items()}
    for col in range(data.d):
        history = np.asarray(data.targets[:, col], dtype=np.float64)
        fitted = make().fit(history[max(0, data.train_end - MAX_FIT_POINTS) : data.train_end])
        for split, split_starts in starts.items():
            for row, start in enumerate(split_starts):
                out[split][row, :, col] = fitted.forward(y=history[:start], h=h)["mean"]
    return out


def _panel_forecasts(
    data: PanelData, make: Callable[[], _Model], splits: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Each series fitted on its own training part, then forecast from the history before its
    validation and test windows."""
    h, offsets = data.horizon, data.offsets
    starts = {split: data.starts(split) for split in splits}
    out = {split: np.empty((len(data.ids), h)) for split in splits}
    for i in range(len(data.ids)):
        history = np.asarray(data.targets[offsets[i] : offsets[i + 1]], dtype=np.float64)
        train_end = int(data.train_len[i])
        fitted = make().fit(history[max(0, train_end - MAX_FIT_POINTS) : train_end])
        for split in splits:
            out[split][i] = fitted.forward(y=history[: starts[split][i] - offsets[i]], h=h)["mean"]
    return out


def score(data: Forecastable) -> dict[str, Scores]:
    """Each baseline's MAE, sMAPE, MASE and rel_mae on the validation and test windows.

    A model that cannot be fitted (too short a series for its season, statsforecast missing)
    gets an ``error`` instead of metrics; the search goes on either way.
    """
    try:
        models = _models(data.season or 1)
    except ImportError:
        reason = "statsforecast is not installed (pip install statsforecast)"
        return {key: {"model": name, "error": reason} for key, name in NAMES.items()}
    out: dict[str, Scores] = {}
    for key, (name, make) in models.items():
        started, scores = time.perf_counter(), Scores(model=name)
        try:
            for split, predicted in forecasts_of(data, make, ("val", "test")).items():
                metrics = data.score(split, predicted)
                for metric in ("mae", "rmse", "smape", "mase", "rel_mae"):
                    scores[f"{split}_{metric}"] = round(metrics[f"{split}_{metric}"], 6)
        except Exception as err:  # a baseline that cannot be fitted never stops a search
            scores = {"model": name, "error": f"{type(err).__name__}: {err}"[:300]}
        scores["seconds"] = round(time.perf_counter() - started, 2)
        out[key] = scores
    return out


def cache_dir() -> Path:
    """Where scores are cached: ``$AUTOML_RNN_CACHE`` or ``$XDG_CACHE_HOME/automl-rnn``."""
    if os.environ.get("AUTOML_RNN_CACHE"):
        return Path(os.environ["AUTOML_RNN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "automl-rnn"


def cache_path(data: Forecastable, folder: Path | None = None) -> Path | None:
    """Where this data's scores are cached (None: statsforecast is not installed)."""
    try:
        from importlib.metadata import version

        library = version("statsforecast")
    except Exception:
        return None
    key = f"{data.fingerprint[:24]}-s{data.season or 1}-sf{library}-v{CODE_VERSION}"
    return (folder or cache_dir()) / "classical" / f"{key}.json"


def read_cached(data: Forecastable, folder: Path | None = None) -> dict[str, Scores] | None:
    """The cached scores of this data, if any (a corrupt or unreadable file: None)."""
    return _read(cache_path(data, folder))


def _read(path: Path | None) -> dict[str, Scores] | None:
    try:
        return None if path is None else dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def cached_score(data: Forecastable, folder: Path | None = None) -> dict[str, Scores]:
    """:func:`score`, read from the cache when this data was scored before (same library)."""
    path = cache_path(data, folder)
    if path is None:
        return score(data)
    cached = _read(path)
    if cached is not None:
        return cached
    result = score(data)
    if any("error" not in s for s in result.values()):
        try:  # written whole or not at all; an unwritable cache only costs the refit
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(result, sort_keys=True))
            partial.replace(path)
        except OSError:
            pass
    return result


def die_with(parent: int) -> None:
    """Linux: have this process get SIGTERM when ``parent`` (the search) dies, even by SIGKILL;
    exit at once if it is already gone. Asked from here, not from a ``preexec_fn`` (unsafe when
    the search process runs threads, as Ray's driver does)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        sys.exit(143)


def main(argv: list[str]) -> int:
    """``python -m automl_rnn.data.classical DATA_ARGS_JSON OUT [PARENT_PID]``: prepare the data as
    the search did, score the baselines (through the cache) and write them to ``OUT`` whole."""
    if len(argv) > 2:
        die_with(int(argv[2]))
    from automl_rnn.data import prepare
    from automl_rnn.data.forecast import ForecastData
    from automl_rnn.data.panel_data import PanelData
    from automl_rnn.data.source import DataSource

    data = prepare(DataSource.from_args(json.loads(argv[0])))
    if not isinstance(data, ForecastData | PanelData):
        return 2
    out = Path(argv[1])
    partial = out.with_suffix(".tmp")
    partial.write_text(json.dumps({"fingerprint": data.fingerprint, "scores": cached_score(data)}))
    partial.replace(out)
    return 0


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    sys.exit(main(sys.argv[1:]))
