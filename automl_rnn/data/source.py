"""Where a search's data comes from: a built-in task, a task file, or the user's own CSV.

Torch-free: the CLI validates the data flags with this model before anything heavy is imported.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from automl_rnn.errors import ConfigError, closest

MissingMode = Literal["interpolate", "drop", "error"]
SequenceKind = Literal["classification", "regression", "forecast"]


def _split_names(value: Any) -> Any:
    """``"a, b"`` or ``["a", "b"]`` → ``("a", "b")`` (other values pass through for pydantic)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(part).strip() for part in value)
    return value


class DataSource(BaseModel):
    """The data flags of one search: exactly one of ``task`` (built-in name or task YAML) or ``data``.

    ``data`` is a CSV: a forecast series (``target`` [, ``time_col``, ``features``, ``horizon``,
    ``season``, ``missing``]); with ``text_col``, text classification (``target`` = label column);
    with ``id_col``, a long table: many series to forecast (``target`` [, ``time_col``,
    ``features``, ``static_features``, ``horizon``, ``season``]; see :attr:`is_panel`) or
    labelled sequences (``features`` at each step, one ``target`` per id [, ``time_col``, ``kind``]).
    ``task_params`` overrides a generator task's parameters (e.g. ``{"length": 200}`` for ``adding``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str | None = None
    data: str | None = None
    target: tuple[str, ...] = ()
    """Target column(s); several (comma-separated) make a multivariate forecast."""
    time_col: str | None = None
    features: tuple[str, ...] = ()
    """Covariate columns fed as inputs next to the target's history."""
    horizon: int | None = Field(None, ge=1)
    season: int | None = Field(None, ge=1)
    missing: MissingMode | None = None
    """None: interpolate short gaps (the default), or the task file's choice."""
    max_gap: int | None = Field(None, ge=0)
    """Longest run of missing values ``interpolate`` fills (default 3; task files may raise it)."""
    text_col: str | None = None
    target_text_col: str | None = None
    """With ``text_col``: the column of target texts (text to text, encoder-decoder)."""
    id_col: str | None = None
    """Long format: the column naming the sequence each row (time step) belongs to."""
    kind: SequenceKind | None = None
    """Labelled sequences: classification or regression (default: from the target's values)."""
    per_step: bool | None = None
    """Long format: the target labels each step (sequence labelling), not each id."""
    static_features: tuple[str, ...] = ()
    """Many series: per-series constants (store size, region code) fed at every step."""
    output_steps_col: str | None = None
    """Long format, numeric pairs: the column marking each id's output steps (the rest are its
    input steps); the encoder-decoder shape on numbers."""
    task_params: dict[str, int | float | str] = Field(default_factory=dict)

    @field_validator("target", "features", "static_features", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return _split_names(value)

    @field_validator("target", "features", "static_features")
    @classmethod
    def _each_name_once(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"column '{repeated[0]}' is listed twice; name each column once")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DataSource:
        if (self.task is None) == (self.data is None):
            raise ValueError("give exactly one of --task NAME or --data FILE.csv")
        if self.task is not None:
            csv_only = [
                n
                for n in (
                    "target",
                    "time_col",
                    "features",
                    "text_col",
                    "target_text_col",
                    "id_col",
                    "kind",
                    "per_step",
                    "static_features",
                    "output_steps_col",
                )
                if getattr(self, n)
            ]
            if csv_only:
                flag = "--" + csv_only[0].replace("_", "-")
                raise ValueError(f"{flag} applies to --data only, not to --task {self.task}")
        else:
            if self.target_text_col is not None:
                self._check_pairs()
            elif not self.target:
                hint = "label column" if self.text_col else "column to forecast"
                raise ValueError(f"--data {self.data} needs --target COL (the {hint})")
            if self.task_params:
                raise ValueError("task_params apply to generator tasks (--task) only")
            if self.text_col and (self.time_col or self.features or self.horizon or self.season):
                raise ValueError(
                    "--text-col makes a classification task: drop --time-col, --features, "
                    "--horizon and --season"
                )
            self._check_sequences()
        return self

    def _check_pairs(self) -> None:
        """Text targets: from a text (``--text-col``) or from a row of numbers (``--features``)."""
        if (self.text_col is None) == (not self.features):
            raise ValueError(
                "--target-text-col needs one of --text-col (text to text) or --features "
                "(a row of numbers to text)"
            )
        if self.target or self.id_col or self.time_col or self.horizon or self.season:
            raise ValueError(
                "--target-text-col makes pairs of a source and a target text: drop --target, "
                "--id-col, --time-col, --horizon and --season"
            )
        if self.target_text_col in (self.text_col, *self.features):
            raise ValueError(
                f"column '{self.target_text_col}' is both a source and the target text; name "
                "each column in one role"
            )

    @property
    def is_panel(self) -> bool:
        """A long table of many series to forecast: ``--id-col`` with ``--kind forecast``, a
        ``--horizon``, ``--season``, ``--missing`` or ``--static-features``, or no ``--features``
        (labelled sequences need them)."""
        if self.id_col is None or self.per_step or self.kind in ("classification", "regression"):
            return False
        if self.output_steps_col is not None:
            return False
        return bool(
            self.kind == "forecast"
            or self.horizon
            or self.season
            or self.missing
            or self.static_features
            or not self.features
        )

    @property
    def is_static_steps(self) -> bool:
        """Vector → sequence from a long table: ``--id-col`` with ``--static-features`` and
        ``--per-step`` (the target at every step) and no ``--features``."""
        return bool(self.id_col and self.per_step and self.static_features and not self.features)

    def _check_sequences(self) -> None:
        if self.id_col is None:
            long_only = ("kind", "per_step", "static_features", "output_steps_col")
            given = [name for name in long_only if getattr(self, name)]
            if given:
                flag = "--" + given[0].replace("_", "-")
                raise ValueError(f"{flag} applies to long tables: give --id-col too")
            return
        if self.output_steps_col is not None:
            self._check_pairs_of_numbers()
            return
        if self.is_panel:
            self._check_panel()
            return
        if self.static_features and not self.is_static_steps:
            raise ValueError(
                "--static-features go with many series (a forecast) or, with --per-step and no "
                "--features, to a target at every step (vector -> sequence)"
            )
        if self.is_static_steps:
            self._check_static_steps()
            return
        if self.text_col or self.horizon or self.season or self.missing or self.max_gap:
            raise ValueError(
                "--id-col makes labelled sequences (one label per id): drop --text-col, "
                "--horizon, --season, --missing and --max-gap"
            )
        if not self.features:
            raise ValueError("--id-col needs --features COL,... (the inputs at each step)")
        if len(self.target) != 1:
            raise ValueError("--id-col takes one --target column (the label of each id)")
        clash = {self.id_col, self.time_col} & {*self.features, *self.target}
        if clash:
            raise ValueError(
                f"column '{sorted(n for n in clash if n)[0]}' is both an id or time column and "
                "a feature or target; name each column in one role"
            )
        if self.target[0] in self.features:
            raise ValueError(
                f"column '{self.target[0]}' is both a feature and the target; the model would "
                "read the answer: name it in one role"
            )

    def _check_pairs_of_numbers(self) -> None:
        if self.per_step or self.static_features or self.text_col or self.kind == "classification":
            raise ValueError(
                "--output-steps-col makes numeric pairs (input steps to output steps): drop "
                "--per-step, --static-features, --text-col and --kind classification"
            )
        if self.horizon or self.season or self.missing or self.max_gap is not None:
            raise ValueError(
                "--output-steps-col marks the steps to answer: drop --horizon, --season, "
                "--missing and --max-gap"
            )
        if not self.features or len(self.target) != 1:
            raise ValueError(
                "--output-steps-col needs --features COL,... (read on the input steps) and one "
                "--target (answered on the output steps)"
            )
        keys = [name for name in (self.id_col, self.time_col, self.output_steps_col) if name]
        clash = set(keys) & {*self.features, *self.target}
        if clash or len(set(keys)) < len(keys):
            named = sorted(clash) or [keys[-1]]
            raise ValueError(
                f"column '{named[0]}' has two roles (id, time, output marks, feature or "
                "target); name each column in one role"
            )

    def _check_static_steps(self) -> None:
        if self.text_col or self.horizon or self.season or self.missing or self.max_gap:
            raise ValueError(
                "--static-features with --per-step makes a sequence from each id's constants: "
                "drop --text-col, --horizon, --season, --missing and --max-gap"
            )
        if len(self.target) != 1 or self.kind == "forecast":
            raise ValueError(
                "--per-step takes one --target column (a value or a class at each step), not "
                "--kind forecast"
            )
        self._check_panel_roles()

    def _check_panel(self) -> None:
        if self.text_col:
            raise ValueError("--id-col with a forecast makes many series: drop --text-col")
        if self.missing == "drop":
            raise ValueError(
                "--missing drop would leave holes in many series: use --missing interpolate "
                "(fills runs of up to --max-gap) or error (refuses any gap)"
            )
        if self.max_gap is not None and self.missing != "interpolate":
            raise ValueError("--max-gap applies to --missing interpolate: give both, or neither")
        if len(self.target) != 1:
            raise ValueError("many series take one --target column (the value each series holds)")
        self._check_panel_roles()

    def _check_panel_roles(self) -> None:
        roles = [self.id_col, self.time_col, *self.target, *self.features, *self.static_features]
        named = [name for name in roles if name]
        repeated = sorted({name for name in named if named.count(name) > 1})
        if repeated:
            raise ValueError(
                f"column '{repeated[0]}' has two roles (id, time, target, feature or static "
                "feature); name each column in one role"
            )

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> DataSource:
        """Build from CLI-style flags (``None`` values are ignored); errors are one-line ConfigErrors."""
        clean = {key.replace("-", "_"): v for key, v in args.items() if v is not None}
        unknown = [key for key in clean if key not in cls.model_fields]
        if unknown:
            hint = closest(unknown[0], cls.model_fields)
            raise ConfigError(f"unknown data option '{unknown[0]}'{hint}")
        try:
            return cls(**clean)
        except ValidationError as err:
            raise ConfigError(_one_line(err)) from None

    @property
    def label(self) -> str:
        """Short name for messages: the task name or the CSV path."""
        return self.task if self.task is not None else str(self.data)


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if not field:
        return message
    return f"--{field.replace('_', '-')}: {message} (got {first.get('input')!r})"
