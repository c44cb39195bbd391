"""The schema of ``tasks/*.yaml``: one validated :class:`TaskSpec` per file, with readable errors.

Torch- and numpy-free (``automl-rnn tasks`` reads every file through it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from automl_rnn.data.source import MissingMode
from automl_rnn.errors import ConfigError, closest
from automl_rnn.kinds import TaskKind, TopologyName
from automl_rnn.yamlio import load_yaml

Builder = Literal[
    "series",
    "sequences",
    "panel",
    "sine_mix",
    "adding",
    "copy_memory",
    "digits",
    "digits_caption",
    "dates",
]

#: What each builder makes: its kind, the topologies it can feed, and its parameters' defaults.
BUILDERS: dict[str, tuple[str, frozenset[str], dict[str, int | float | str]]] = {
    "series": ("forecast", frozenset({"seq2vec", "encoder_decoder", "seq2seq"}), {}),
    "sequences": ("classification", frozenset({"seq2vec"}), {}),  # or regression
    "panel": ("forecast", frozenset({"seq2vec", "encoder_decoder", "seq2seq"}), {}),
    "sine_mix": (
        "forecast",
        frozenset({"seq2vec", "encoder_decoder", "seq2seq"}),
        {"length": 480, "noise": 0.3, "seed": 0},
    ),
    "adding": ("regression", frozenset({"seq2vec"}), {"length": 100, "samples": 4000, "seed": 0}),
    "copy_memory": (
        "tokens",
        frozenset({"seq2seq", "encoder_decoder"}),
        {"delay": 50, "symbols": 8, "copy_len": 10, "samples": 4000, "seed": 0},
    ),
    "digits": ("classification", frozenset({"seq2vec"}), {}),
    "digits_caption": ("tokens", frozenset({"vec2seq"}), {}),
    "dates": ("tokens", frozenset({"encoder_decoder"}), {"samples": 6000, "seed": 0}),
}

#: Primary metrics a task may name, per kind (each is a key suffix of ``PreparedData.score``).
METRICS: dict[str, tuple[str, ...]] = {
    "forecast": ("mae", "rmse", "smape", "mase", "rel_mae"),
    "regression": ("mse", "mae"),
    "classification": ("accuracy", "macro_f1"),
    "tokens": ("exact", "char_accuracy"),
}


class TaskSpec(BaseModel):
    """One built-in (or user-written) task file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    kind: TaskKind
    builder: Builder
    """Python that builds the data: ``series`` reads ``file``; the others generate or reshape."""
    topologies: tuple[TopologyName, ...] = Field(min_length=1)
    """Topologies that fit, preferred first."""
    metric: str
    """Primary metric (a key suffix of ``score``: e.g. ``mae`` → ``val_mae``)."""
    size: int = Field(ge=1)
    """Points (series) or samples, as listed by ``automl-rnn tasks`` (checked by the contract test)."""
    file: str | None = None
    """CSV in ``tasks/data/`` (or beside a user's task file)."""
    target: str | None = None
    time_col: str | None = None
    id_col: str | None = None
    """``sequences``, ``panel``: the column naming each row's sequence or series (long format)."""
    features: tuple[str, ...] = ()
    """``sequences``: the input columns at each step; ``panel``: the covariates."""
    static_features: tuple[str, ...] = ()
    """``panel``: per-series constants."""
    per_step: bool = False
    """``sequences``: the target labels every step (sequence labelling, ``tokens``; with
    ``kind: regression``, a value at every step)."""
    output_last: int | None = Field(None, ge=1)
    """``sequences``: the last N steps of each id are its output steps, the rest its input
    steps (numeric pairs, ``encoder_decoder``: the target on those N steps is the answer)."""
    params: dict[str, int | float | str] = Field(default_factory=dict)
    horizon: int | None = Field(None, ge=1)
    season: int | None = Field(None, ge=1)
    val_size: int | None = Field(None, ge=1)
    """Forecast: validation points before the test part (default and floor: one horizon and at
    least :data:`automl_rnn.data.lengths.MIN_EVAL_POINTS`)."""
    test_size: int | None = Field(None, ge=1)
    """Forecast: test points at the end (default and floor as for ``val_size``)."""
    missing: MissingMode = "interpolate"
    max_gap: int = Field(3, ge=0)
    split_seed: int = 0
    """Non-series tasks: seed of the train/val/test split (fixed, so every trial sees the same)."""
    val_fraction: float = Field(0.15, gt=0.0, lt=0.5)
    test_fraction: float = Field(0.15, gt=0.0, lt=0.5)

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        kind, fits, defaults = BUILDERS[self.builder]
        if self.builder == "sequences" and self.kind == "regression":
            kind = "regression"
        if self.builder == "sequences" and self.per_step:  # a class or a value at every step
            kind = "regression" if self.kind == "regression" else "tokens"
            fits = frozenset({"seq2seq"})
        if self.builder == "sequences" and self.output_last is not None:
            kind, fits = "regression", frozenset({"encoder_decoder"})
        if self.kind != kind:
            raise ValueError(f"builder '{self.builder}' makes a {kind} task, not {self.kind}")
        bad = [t for t in self.topologies if t not in fits]
        if bad:
            raise ValueError(
                f"builder '{self.builder}' cannot feed topology '{bad[0]}'; fits: {sorted(fits)}"
            )
        if self.metric not in METRICS[kind]:
            raise ValueError(f"metric '{self.metric}' is not one of {list(METRICS[kind])}")
        unknown = [key for key in self.params if key not in defaults]
        if unknown:
            raise ValueError(
                f"unknown param '{unknown[0]}'{closest(unknown[0], defaults)} for builder "
                f"'{self.builder}'; valid: {sorted(defaults)}"
            )
        if kind == "forecast" and self.horizon is None:
            raise ValueError("a forecast task needs horizon")
        if self.builder in ("series", "sequences", "panel", "digits", "digits_caption") and not (
            self.file
        ):
            raise ValueError(f"builder '{self.builder}' needs file")
        if self.builder in ("series", "sequences", "panel") and self.target is None:
            raise ValueError(f"builder '{self.builder}' needs target (the column to predict)")
        if self.builder == "sequences" and not (self.id_col and self.features):
            raise ValueError("builder 'sequences' needs id_col and features")
        if self.builder == "panel" and not self.id_col:
            raise ValueError("builder 'panel' needs id_col (the column naming each series)")
        return self

    def merged_params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The builder's defaults, then this file's ``params``, then ``overrides`` (checked)."""
        defaults = BUILDERS[self.builder][2]
        for key, value in overrides.items():
            if key not in defaults:
                valid = ", ".join(sorted(defaults)) or "none"
                raise ConfigError(
                    f"task '{self.name}' has no parameter '{key}'{closest(key, defaults)}; "
                    f"valid: {valid}"
                )
            if not isinstance(value, type(defaults[key])) and not (
                isinstance(defaults[key], float) and isinstance(value, int)
            ):
                raise ConfigError(
                    f"task '{self.name}' parameter '{key}' must be "
                    f"{type(defaults[key]).__name__}, got {value!r}"
                )
        return {**defaults, **self.params, **overrides}


def load_spec(path: Path) -> TaskSpec:
    """Read and validate one task file; every problem is a one-line ConfigError naming the file."""
    raw = load_yaml(path, "task file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of task fields, got {type(raw).__name__}")
    try:
        return TaskSpec(**raw)
    except ValidationError as err:
        raise ConfigError(f"{path}: {_field_error(err)}") from None


def _field_error(err: ValidationError) -> str:
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"unknown field '{field}'{closest(field, TaskSpec.model_fields)}"
    if not field:
        return message
    return f"field '{field}': {message} (got {first.get('input')!r})"
