"""The built-in tasks: find, read and list ``tasks/*.yaml`` (torch- and numpy-free)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl_rnn.data.spec import TaskSpec, load_spec
from automl_rnn.errors import ConfigError, unknown_name
from automl_rnn.resources import tasks_dir


@dataclass(frozen=True)
class TaskInfo:
    """One row of ``automl-rnn tasks``."""

    name: str
    kind: str
    size: int
    topologies: tuple[str, ...]
    metric: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        """Plain dict with keys name, kind, size, topologies, metric, description."""
        return {
            "name": self.name,
            "kind": self.kind,
            "size": self.size,
            "topologies": list(self.topologies),
            "metric": self.metric,
            "description": self.description,
        }


def task_files() -> list[Path]:
    """The built-in task files, sorted by name."""
    return sorted(tasks_dir().glob("*.yaml"))


def task_names() -> list[str]:
    """Names of the built-in tasks."""
    return [path.stem for path in task_files()]


def is_task_file(name: str) -> bool:
    """Whether ``--task`` names a task file (by path) rather than a built-in task."""
    return name.endswith((".yaml", ".yml"))


def task_path(name: str) -> Path:
    """The YAML file of built-in task ``name``, or of a task file given by path."""
    if is_task_file(name):
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"task file not found: {name}")
        return path
    path = tasks_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(unknown_name("task", name, task_names()))
    return path


def load_task(name: str) -> tuple[TaskSpec, Path]:
    """Validated spec of a built-in task name (or task file path), with the file it came from."""
    path = task_path(name)
    spec = load_spec(path)
    builtin = path.parent.resolve() == tasks_dir().resolve()
    if builtin and spec.name != path.stem:
        raise ConfigError(f"{path}: field 'name' must match the file name '{path.stem}'")
    return spec, path


def data_file(spec: TaskSpec, task_file: Path) -> Path:
    """The CSV a task reads: beside its task file (or in ``data/`` there), else in ``tasks/data``."""
    assert spec.file is not None
    folders = (task_file.parent, task_file.parent / "data", tasks_dir() / "data")
    for folder in folders:
        if (folder / spec.file).is_file():
            return folder / spec.file
    raise ConfigError(
        f"{task_file}: field 'file': {spec.file} is not in {task_file.parent} nor in {folders[-1]}"
    )


def list_tasks() -> list[TaskInfo]:
    """Every built-in task, as listed by ``automl-rnn tasks``."""
    rows = []
    for path in task_files():
        spec = load_spec(path)
        rows.append(
            TaskInfo(
                name=spec.name,
                kind=spec.kind,
                size=spec.size,
                topologies=tuple(spec.topologies),
                metric=spec.metric,
                description=spec.description,
            )
        )
    return rows
