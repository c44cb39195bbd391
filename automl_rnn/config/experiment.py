"""The experiment spec: everything one search needs, from an experiment YAML and/or CLI flags.

Flags override the YAML; unknown keys are refused with the closest valid one suggested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from automl_rnn.config.storage_url import check_url, mask_url
from automl_rnn.errors import ConfigError, closest
from automl_rnn.yamlio import load_yaml

SamplerName = Literal["tpe", "random", "gp", "cmaes"]
PrunerName = Literal["hyperband", "median", "none"]
SchedulerName = Literal["asha", "hyperband", "none"]

#: The Ray backend's keys: with ``backend: optuna`` each must keep its default.
RAY_KEYS = (
    "address",
    "cpus_per_trial",
    "gpus_per_trial",
    "max_concurrent",
    "scheduler",
    "storage_path",
)

#: Longest study name in UTF-8 bytes (it names a folder; file systems allow 255 bytes).
MAX_STUDY_NAME = 100
#: Characters no study name holds: path separators and what Windows forbids in file names.
_NOT_IN_NAMES = frozenset('/\\:*?"<>|')

#: Keys of the experiment that describe the data (passed to the data layer's DataSource).
DATA_KEYS = (
    "task",
    "data",
    "target",
    "time_col",
    "features",
    "horizon",
    "season",
    "missing",
    "max_gap",
    "text_col",
    "target_text_col",
    "id_col",
    "kind",
    "per_step",
    "static_features",
    "output_steps_col",
    "task_params",
)


class ExperimentSpec(BaseModel):
    """One search: data, space, backend, budget and where it all lives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- data (one of task / data) ---
    task: str | None = None
    data: str | None = None
    target: str | None = None
    time_col: str | None = None
    features: str | list[str] | None = None
    horizon: int | None = Field(None, ge=1)
    season: int | None = Field(None, ge=1)
    missing: str | None = None
    max_gap: int | None = Field(None, ge=0)
    text_col: str | None = None
    target_text_col: str | None = None
    id_col: str | None = None
    kind: str | None = None
    per_step: bool | None = None
    static_features: str | list[str] | None = None
    output_steps_col: str | None = None
    task_params: dict[str, Any] = Field(default_factory=dict)
    # --- what to search ---
    topology: str = "auto"
    """A topology name, or ``auto``: search the topologies the task fits (as the space allows)."""
    space: str | None = None
    """Built-in space name or a YAML path; None takes the task's default space."""
    objectives: list[str] | None = None
    """e.g. ``[val_loss]`` or ``[val_loss, params]``; None takes the task kind's default."""
    # --- how ---
    backend: Literal["optuna", "ray"] = "optuna"
    sampler: SamplerName = "tpe"
    pruner: PrunerName = "hyperband"
    trials: int | None = Field(10, ge=1)
    """Finished (complete or pruned) trials the study should hold when the search ends. Default
    10, or no limit when a ``timeout`` is given alone (the search then runs until it passes)."""
    timeout: float | None = Field(None, gt=0)
    """Seconds after which no new trial starts."""
    max_epochs: int = Field(40, ge=1)
    epoch_samples: int = Field(1024, ge=1)
    """Minimum training samples per epoch: small data sets repeat their (reshuffled) windows."""
    patience: int | None = Field(10, ge=1)
    """Stop a trial after this many epochs without improving its objective (None: never)."""
    workers: int = Field(1, ge=1, le=64)
    threads: int = Field(1, ge=1, le=256)
    """Torch threads per worker. Recurrent models of the sizes searched here gain nothing from
    intra-op threads, and spinning threads slow 40x or worse when cores are shared (measured:
    LSTM encoder-decoder step 14 ms with 1 thread, 1.8-6 s with 2 on a loaded 2-core machine)."""
    # --- where trials run with backend ray (each key needs it) ---
    address: str | None = Field(default=None, min_length=1)
    """Ray cluster to join (``auto``, ``ray://host:10001``, ``host:6379``); None starts a local
    Ray with this machine's CPUs and GPUs and stops it at the end."""
    cpus_per_trial: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    gpus_per_trial: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """A fraction in (0, 1] shares one GPU (0.25: four trials on it), or a whole number."""
    max_concurrent: int | None = Field(default=None, ge=1)
    """Trials running at once; None: as many as the resources allow."""
    scheduler: SchedulerName = "asha"
    """Stops poor trials early on the per-epoch objective."""
    storage_path: str | None = Field(default=None, min_length=1)
    """Ray's experiment state (a folder every node sees, or ``s3://...``); None:
    ``<workspace>/ray``."""
    seed: int = Field(0, ge=0, le=2**32 - 1)
    study: str | None = None
    """Study name; running the same name again resumes it. Default: the task or file name.
    A name, not a path (it names the checkpoint folder inside the workspace)."""
    workspace: str = "."
    """Folder for study storage, checkpoints and the MLflow store."""
    tracking_uri: str | None = None
    """MLflow tracking server (``http://host:5000``); None: the workspace's embedded store."""
    tracking: bool = True
    """Log to MLflow (parent run per search, child run per trial); False tracks nothing."""
    classical_baselines: bool = True
    """Forecasts: also score statsforecast's AutoETS and AutoARIMA on the same windows and say
    whether the chosen model beats them (seconds, cached by data); False skips them."""
    storage: str | None = Field(None, repr=False)
    """A database every worker machine reaches (``postgresql://user@host/db``), shared by the
    searches started with the same study name; None: the workspace's journal file."""

    @field_validator("features", "static_features", mode="before")
    @classmethod
    def _split_features(cls, value: Any) -> Any:
        return (
            [f.strip() for f in value.split(",") if f.strip()] if isinstance(value, str) else value
        )

    @field_validator("objectives", mode="before")
    @classmethod
    def _split_objectives(cls, value: Any) -> Any:
        return (
            [o.strip() for o in value.split(",") if o.strip()] if isinstance(value, str) else value
        )

    @model_validator(mode="before")
    @classmethod
    def _timeout_alone_bounds_by_time(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("timeout") is not None and "trials" not in data:
            return {**data, "trials": None}
        return data

    @model_validator(mode="after")
    def _one_data_source(self) -> ExperimentSpec:
        if (self.task is None) == (self.data is None):
            raise ValueError("give exactly one of --task NAME or --data FILE --target COL")
        if self.trials is None and self.timeout is None:
            raise ValueError("give --trials N or --timeout S (or both) to bound the search")
        return self

    @field_validator(*RAY_KEYS)
    @classmethod
    def _ray_keys_need_ray(cls, value: Any, info: ValidationInfo) -> Any:
        # Only values given are validated; the backend, declared earlier, is in info.data.
        name = str(info.field_name)
        if info.data.get("backend") == "optuna" and value != cls.model_fields[name].default:
            raise ValueError(f"{_flag(name)} needs --backend ray")
        return value

    @field_validator("gpus_per_trial")
    @classmethod
    def _gpus_shared_or_whole(cls, value: float) -> float:
        if value > 1 and not value.is_integer():
            raise ValueError(
                "give --gpus-per-trial as a fraction in (0, 1] (0.25: four trials share one GPU) "
                "or a whole number of GPUs"
            )
        return value

    @field_validator("workers")
    @classmethod
    def _workers_need_optuna(cls, value: int, info: ValidationInfo) -> int:
        if value != 1 and info.data.get("backend") == "ray":
            raise ValueError(
                "--workers is the optuna backend's; with --backend ray use --max-concurrent"
            )
        return value

    @field_validator("study")
    @classmethod
    def _study_is_a_name(cls, value: str | None) -> str | None:
        # It names a folder (checkpoints/<study>/) on every system the workspace may move to.
        if value is not None and (
            value in ("", ".", "..")
            or any(c in _NOT_IN_NAMES or not c.isprintable() for c in value)
            or len(value.encode("utf-8")) > MAX_STUDY_NAME
        ):
            raise ValueError(
                f"not a study name; give a name of at most {MAX_STUDY_NAME} "
                'printable characters (fewer if not ASCII) without / \\ : * ? " < > | (e.g. sales_1)'
            )
        return value

    @field_validator("storage")
    @classmethod
    def _storage_is_a_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("backend") == "ray":
            raise ValueError("--storage is the optuna backend's (Ray keeps the workspace's)")
        return check_url(value)

    @field_validator("workspace")
    @classmethod
    def _workspace_is_a_folder(cls, value: str) -> str:
        path = Path(value).expanduser()
        if path.exists() and not path.is_dir():
            raise ValueError("a file, not a folder; give a folder for --workspace")
        return value

    @property
    def study_name(self) -> str:
        """The study's name (given, or derived from the task or file)."""
        from automl_rnn.data.catalog import is_task_file

        if self.study:
            return self.study
        if self.task and not is_task_file(self.task):
            return self.task
        return Path(str(self.task or self.data)).stem  # a task file or CSV: its file name

    @property
    def workspace_path(self) -> Path:
        return Path(self.workspace).expanduser().resolve()

    def public(self) -> dict[str, Any]:
        """The spec as JSON to store or log: ``storage`` with its password masked."""
        dumped = self.model_dump(mode="json")
        if self.storage is not None:
            dumped["storage"] = mask_url(self.storage)
        return dumped

    def data_args(self) -> dict[str, Any]:
        """The data-source fields that were set (for the data layer's ``DataSource.from_args``)."""
        args = {key: getattr(self, key) for key in DATA_KEYS}
        return {k: v for k, v in args.items() if v is not None and v != {}}


def load_experiment(config: str | None, overrides: dict[str, Any]) -> ExperimentSpec:
    """Build the spec from an optional YAML file and flag overrides (None = flag not given)."""
    values: dict[str, Any] = {}
    if config is not None:
        values = _files_beside(_read_yaml(config), Path(config).parent)
    flags = {k: v for k, v in overrides.items() if v is not None}
    values.update(flags)
    return validate_spec(values, flags, config)


def validate_spec(
    values: dict[str, Any], flags: dict[str, Any], config: str | None = None
) -> ExperimentSpec:
    """The spec from merged ``values``; a refusal is one line blaming the flags when the field
    came from ``flags``, else the ``config`` file."""
    try:
        return ExperimentSpec.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]["loc"]
        by_flag = config is None or (bool(first) and first[0] in flags)
        raise ConfigError(_first_error(err, "flags" if by_flag else config or "flags")) from None


#: Experiment keys that may name a file (a space and a task only when given as a path).
_FILE_KEYS = ("data", "space", "task")


def _files_beside(values: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Relative file names in an experiment YAML that exist next to it, but not in the current
    folder, are read from next to it (a config kept with its data works from anywhere)."""
    from automl_rnn.data.catalog import is_task_file

    out = dict(values)
    for key in _FILE_KEYS:
        value = out.get(key)
        if not isinstance(value, str) or (key != "data" and not is_task_file(value)):
            continue
        path = Path(value).expanduser()
        if not path.is_absolute() and not path.exists() and (folder / path).is_file():
            out[key] = str((folder / path).resolve())  # the same study from any folder
    return out


def _read_yaml(path: str) -> dict[str, Any]:
    loaded = load_yaml(Path(path), "experiment file")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: expected a mapping of experiment keys, got {type(loaded).__name__}"
        )
    return loaded


def _flag(key: str) -> str:
    """The flag of an experiment key (``cpus_per_trial`` -> ``--cpus-per-trial``)."""
    return "--" + key.replace("_", "-")


def _first_error(err: ValidationError, source: str) -> str:
    """One line for the first validation error, naming the source, the field and the value."""
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "experiment"
    if first["type"] == "extra_forbidden":
        hint = closest(field, ExperimentSpec.model_fields)
        return f"{source}: unknown key '{field}'{hint}"
    message = first["msg"].removeprefix("Value error, ")
    if first["loc"] == ("storage",):  # never the password it may hold
        value = first.get("input")
        shown = mask_url(value) if isinstance(value, str) else repr(value)
        return f"{source}: --storage {shown}: {message}"
    if first["loc"]:
        return f"{source}: {field}: {message} (got {first.get('input')!r})"
    return f"{source}: {message}"
