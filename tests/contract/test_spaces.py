"""Every file in ``search_spaces/`` loads for every kind of task and samples valid Hyperparams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from automl_rnn.config.hparams import Hyperparams
from automl_rnn.resources import spaces_dir, tasks_dir
from automl_rnn.search.space import SearchSpace, list_spaces, load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE_FILES = sorted(spaces_dir().glob("*.yaml"))

# (topologies, seq_len candidates) of the built-in task kinds (tasks issue), plus no task at all.
TASK_SHAPES: dict[str, tuple[list[str] | None, list[int] | None]] = {
    "forecast": (["seq2vec", "encoder_decoder", "seq2seq"], [12, 24, 36]),
    "seq2vec": (["seq2vec"], None),
    "tokens": (["seq2seq", "encoder_decoder"], None),
    "caption": (["vec2seq"], None),
    "translation": (["encoder_decoder"], None),
    "no_task": (None, None),
}


def test_the_builtin_spaces_tasks_name_exist() -> None:
    names = {s["name"] for s in list_spaces()}
    assert names >= {"forecast", "regression", "classification", "tokens", "tiny"}
    for task in sorted(tasks_dir().glob("*.yaml")):  # tasks name their default space
        data = yaml.safe_load(task.read_text(encoding="utf-8")) or {}
        for key in ("space", "default_space", "search_space"):
            if isinstance(data, dict) and key in data:
                assert data[key] in names, f"{task.name}: {key}: {data[key]!r}"


def _sample(space: SearchSpace, n_trials: int) -> list[dict[str, Any]]:
    sampler = optuna.samplers.TPESampler(seed=0, multivariate=True, group=True)
    study = optuna.create_study(sampler=sampler)
    sampled: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial)
        Hyperparams(**params)
        sampled.append(params)
        return float(params.get("lr", 1e-3)) * float(params.get("hidden_size", 64))

    study.optimize(objective, n_trials=n_trials)
    assert len(study.trials) == n_trials
    return sampled


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("shape", sorted(TASK_SHAPES))
@pytest.mark.parametrize("path", SPACE_FILES, ids=[p.stem for p in SPACE_FILES])
def test_space_loads_and_samples_valid_hyperparams(path: Path, shape: str) -> None:
    topologies, candidates = TASK_SHAPES[shape]
    space = load_space(str(path), topologies=topologies, seq_len_candidates=candidates)
    assert space.description, f"{path.name}: explain the space in its description"
    declares_auto = yaml.safe_load(path.read_text())["params"].get("seq_len") == "auto"
    for params in _sample(space, 20):
        assert list(params) == [n for n in space.names if n in params]
        assert space.constants.items() <= params.items()
        if topologies is not None:
            assert params["topology"] in topologies
        if declares_auto:
            assert ("seq_len" in params) == (candidates is not None)
            assert candidates is None or params["seq_len"] in candidates


def test_showing_a_space_lists_seq_len_auto_with_where_its_candidates_come_from() -> None:
    """Without a task there are no candidates, but the user must still see seq_len is searched."""
    from automl_rnn import api

    shown = api.spaces("forecast")
    assert list(shown["params"])[:2] == ["topology", "seq_len"]  # in declaration order
    assert shown["params"]["seq_len"].startswith("auto: window lengths proposed from")
