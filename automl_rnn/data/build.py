"""From a :class:`DataSource` to :class:`PreparedData`: built-in tasks, task files, user CSVs."""

from __future__ import annotations

import logging
from pathlib import Path

from automl_rnn.data import generators, images
from automl_rnn.data.arrays import ArrayData, View
from automl_rnn.data.catalog import data_file, load_task
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.lengths import check_length, held_out_points
from automl_rnn.data.missing import DEFAULT_MAX_GAP, handle_missing
from automl_rnn.data.panel import read_panel
from automl_rnn.data.panel_data import PanelColumns
from automl_rnn.data.prepared import PreparedData
from automl_rnn.data.seasonality import acf_season
from automl_rnn.data.sequence_pairs import read_sequence_pairs
from automl_rnn.data.sequences import SequenceColumns, read_sequences
from automl_rnn.data.series import RawSeries, read_series
from automl_rnn.data.source import DataSource
from automl_rnn.data.spec import TaskSpec
from automl_rnn.data.splits import seeded_split
from automl_rnn.data.static_steps import read_static_steps
from automl_rnn.data.text import read_text_task
from automl_rnn.data.text_pairs import read_text_pairs, read_vector_text
from automl_rnn.errors import ConfigError

log = logging.getLogger("automl_rnn.data")


def build(source: DataSource) -> PreparedData:
    """Parse and validate the data ``source`` names (no caching here: see ``prepare``)."""
    if source.task is not None:
        return _task(source)
    assert source.data is not None
    if source.target_text_col is not None:
        if source.text_col is not None:
            return read_text_pairs(source.data, source.text_col, source.target_text_col)
        return read_vector_text(source.data, source.features, source.target_text_col)
    if source.text_col is not None:
        return read_text_task(source.data, source.text_col, _one_target(source))
    if source.is_panel:
        assert source.id_col is not None
        panel = PanelColumns(
            source.id_col, source.target[0], source.time_col, source.features,
            source.static_features,
        )  # fmt: skip
        gap = None  # many series: gaps refused unless --missing interpolate asks them filled
        if source.missing == "interpolate":
            gap = DEFAULT_MAX_GAP if source.max_gap is None else source.max_gap
        return read_panel(source.data, panel, source.horizon, source.season, max_gap=gap)
    if source.is_static_steps:
        assert source.id_col is not None
        static = SequenceColumns(
            source.id_col, source.static_features, source.target[0], source.time_col,
            source.kind, per_step=True,
        )  # fmt: skip
        return read_static_steps(source.data, static)
    if source.id_col is not None and source.output_steps_col is not None:
        pairs = SequenceColumns(
            source.id_col, source.features, source.target[0], source.time_col,
            output_steps_col=source.output_steps_col,
        )  # fmt: skip
        return read_sequence_pairs(source.data, pairs)
    if source.id_col is not None:
        columns = SequenceColumns(
            source.id_col,
            source.features,
            source.target[0],
            source.time_col,
            source.kind,
            bool(source.per_step),
        )
        return read_sequences(source.data, columns)
    return _csv_series(source)


def _one_target(source: DataSource) -> str:
    if len(source.target) != 1:
        raise ConfigError(
            f"--text-col takes one --target label column, got {','.join(source.target)}"
        )
    return source.target[0]


def _csv_series(source: DataSource) -> ForecastData:
    assert source.data is not None
    raw = read_series(source.data, source.target, source.time_col, source.features)
    gap = DEFAULT_MAX_GAP if source.max_gap is None else source.max_gap
    raw = handle_missing(raw, source.missing or "interpolate", gap)
    _check_season(source, len(raw.values))
    season = source.season or raw.season_hint
    if season is None:
        season = acf_season(raw.values[: int(0.8 * len(raw.values)), 0])
        if season is not None:
            raw.notes.append(f"season {season} inferred from the autocorrelation")
    n = len(raw.values)
    horizon = source.horizon
    if horizon is None:
        horizon = season if season is not None and 6 * season <= n else 1
        raw.notes.append(f"--horizon not given: forecasting {horizon} step(s)")
    parts = held_out_points(horizon, horizon * max(1, min(4, n // (20 * horizon))))
    check_length(source.data, n, horizon, season, parts, parts)
    return ForecastData(Path(source.data).stem, raw, horizon, season, parts, parts)


def _check_season(source: DataSource, points: int) -> None:
    """A given ``--season`` must repeat at least twice in the series (seasonal naive, the
    baseline every forecast is judged against, needs one season of history to copy)."""
    if source.season is not None and 2 * source.season > points:
        raise ConfigError(
            f"--season {source.season} does not repeat in {source.label} ({points} points): "
            f"give at most {points // 2}, or leave --season out to infer it"
        )


def _task(source: DataSource) -> PreparedData:
    assert source.task is not None
    spec, task_file = load_task(source.task)
    params = spec.merged_params(source.task_params)
    if spec.builder == "panel":
        assert spec.id_col is not None and spec.target is not None
        panel = PanelColumns(
            spec.id_col, spec.target, spec.time_col, spec.features, spec.static_features
        )
        horizon, season = source.horizon or spec.horizon, source.season or spec.season
        return read_panel(data_file(spec, task_file), panel, horizon, season, spec.name)
    if spec.kind == "forecast":
        raw: RawSeries
        if spec.builder == "series":
            assert spec.target is not None
            raw = read_series(data_file(spec, task_file), (spec.target,), spec.time_col, ())
        else:
            raw = generators.sine_mix(params)
        gap = spec.max_gap if source.max_gap is None else source.max_gap
        raw = handle_missing(raw, source.missing or spec.missing, gap)
        _check_season(source, len(raw.values))
        horizon = source.horizon or spec.horizon
        assert horizon is not None
        season = source.season or spec.season or raw.season_hint
        val = held_out_points(horizon, spec.val_size)
        test = held_out_points(horizon, spec.test_size)
        check_length(source.label, len(raw.values), horizon, season, val, test)
        return ForecastData(
            spec.name, raw, horizon, season, val, test, spec.topologies, spec.metric
        )  # fmt: skip
    if spec.builder == "sequences" and spec.output_last is not None:
        assert spec.id_col is not None and spec.target is not None
        pairs = SequenceColumns(
            spec.id_col, spec.features, spec.target, spec.time_col, output_last=spec.output_last
        )
        return read_sequence_pairs(data_file(spec, task_file), pairs, spec.split_seed, spec.name)
    if spec.builder == "sequences":
        assert spec.id_col is not None and spec.target is not None
        columns = SequenceColumns(
            spec.id_col, spec.features, spec.target, spec.time_col,
            spec.kind if spec.kind in ("classification", "regression") else None, spec.per_step,
        )  # fmt: skip
        path = data_file(spec, task_file)
        return read_sequences(path, columns, spec.split_seed, spec.name, spec.metric)
    if source.horizon is not None or source.season is not None or source.missing is not None:
        raise ConfigError(
            f"--horizon, --season and --missing apply to forecast tasks, not '{spec.name}'"
        )
    return _array_task(spec, params, task_file)


def _array_task(spec: TaskSpec, params: dict[str, object], task_file: Path) -> ArrayData:
    classes: tuple[str, ...] = ()
    vocab: tuple[str, ...] = ()
    notes: list[str] = []
    views: dict[str, View]
    if spec.builder == "adding":
        views = {"seq2vec": generators.adding(params)}
    elif spec.builder == "copy_memory":
        views, vocab = generators.copy_memory(params)
    elif spec.builder == "dates":
        view, alphabet, vocab = generators.dates(params)
        views = {"encoder_decoder": view}
        notes.append(f"input alphabet: {''.join(alphabet)!r}")
    elif spec.builder == "digits":
        view, classes = images.digits_rows(data_file(spec, task_file))
        views = {"seq2vec": view}
    else:
        view, vocab = images.digits_caption(data_file(spec, task_file))
        views = {"vec2seq": view}
    rows = len(next(iter(views.values())).y)
    split = seeded_split(rows, spec.val_fraction, spec.test_fraction, spec.split_seed)
    ordered: dict[str, View] = {str(t): views[t] for t in spec.topologies}
    source = spec.file or f"generated ({spec.builder}: {params})"
    return ArrayData(
        spec.name, spec.kind, ordered, split, spec.metric, source, classes, vocab, notes
    )
