"""The experiment spec: YAML + flags (flags win), refused keys, objectives, one data source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from automl_rnn import api
from automl_rnn.config.experiment import ExperimentSpec, load_experiment
from automl_rnn.errors import ConfigError
from automl_rnn.orchestration.resume import resolve_spec
from automl_rnn.search.objectives import default_objective, resolve_objectives
from automl_rnn.search.storage import journal_path, open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

EXPERIMENTS = Path(__file__).parents[2] / "fixtures" / "experiments"
TINY = str(EXPERIMENTS / "sine_mix_tiny.yaml")
UNKNOWN_KEY = str(EXPERIMENTS / "unknown_key.yaml")


# ---- YAML and flags ----------------------------------------------------------------------------


def test_yaml_values_are_read() -> None:
    spec = load_experiment(TINY, {})
    assert (spec.task, spec.space, spec.trials, spec.max_epochs) == ("sine_mix", "tiny", 3, 2)
    assert (spec.seed, spec.pruner, spec.objectives) == (7, "median", ["val_loss", "params"])
    assert spec.workers == 1 and spec.sampler == "tpe"  # not in the file: defaults


def test_flags_override_the_yaml_and_unset_flags_do_not() -> None:
    overrides: dict[str, Any] = {
        "trials": 5,
        "pruner": "none",
        "objectives": "val_mae",
        "seed": None,  # a flag not given
        "max_epochs": None,
    }
    spec = load_experiment(TINY, overrides)
    assert (spec.trials, spec.pruner, spec.objectives) == (5, "none", ["val_mae"])
    assert (spec.seed, spec.max_epochs) == (7, 2)


def test_flags_alone_make_a_spec() -> None:
    spec = load_experiment(None, {"task": "sine_mix", "trials": 2, "space": None})
    assert (spec.task, spec.trials, spec.space, spec.study_name) == (
        "sine_mix",
        2,
        None,
        "sine_mix",
    )


def test_unknown_yaml_key_is_refused_with_the_file_and_closest_key() -> None:
    with pytest.raises(ConfigError) as raised:
        load_experiment(UNKNOWN_KEY, {})
    message = str(raised.value)
    assert UNKNOWN_KEY in message
    assert "unknown key 'trails'" in message and "did you mean 'trials'" in message
    assert "\n" not in message


def test_unknown_key_without_a_close_match_gets_no_suggestion() -> None:
    with pytest.raises(ConfigError, match="unknown key 'zzzz'") as raised:
        load_experiment(None, {"task": "sine_mix", "zzzz": 1})
    assert "did you mean" not in str(raised.value)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"task": "sine_mix", "trials": 0}, "trials"),
        ({"task": "sine_mix", "sampler": "annealing"}, "annealing"),
        ({"task": "sine_mix", "workers": 0}, "workers"),
        ({"task": "sine_mix", "trials": None, "max_epochs": "many"}, "max_epochs"),
        ({"task": "sine_mix", "seed": -1}, "seed"),
        ({"task": "sine_mix", "seed": 2**32}, "seed"),
        ({"task": "sine_mix", "study": "a\nb"}, "not a study name"),
        ({"task": "sine_mix", "study": "a:b"}, "not a study name"),
        ({"task": "sine_mix", "study": "a" * 101}, "at most 100"),
        ({"task": "sine_mix", "study": "é" * 60}, "fewer if not ASCII"),  # 120 bytes
    ],
)
def test_bad_values_name_the_field_and_the_value(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as raised:
        load_experiment(None, overrides)
    assert str(raised.value).startswith("flags: ")


def test_a_search_must_be_bounded(tmp_path: Path) -> None:
    config = tmp_path / "unbounded.yaml"
    config.write_text("task: sine_mix\ntrials: null\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="--trials N or --timeout S"):
        load_experiment(str(config), {})
    assert load_experiment(str(config), {"timeout": 60}).trials is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("- task\n- sine_mix\n", "expected a mapping"), ("task: [sine_mix\n", "invalid YAML")],
)
def test_malformed_yaml_is_one_line_naming_the_file(
    tmp_path: Path, text: str, fragment: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment) as raised:
        load_experiment(str(config), {})
    assert str(config) in str(raised.value) and "\n" not in str(raised.value)


def test_missing_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_experiment(str(tmp_path / "nope.yaml"), {"task": "sine_mix"})


# ---- exactly one data source -------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [{"trials": 2}, {"task": "sine_mix", "data": "sales.csv", "target": "y"}],
    ids=["neither", "both"],
)
def test_exactly_one_of_task_and_data(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="exactly one of --task NAME or --data FILE"):
        load_experiment(None, overrides)


def test_data_source_names_the_study_and_feeds_the_data_layer() -> None:
    spec = load_experiment(None, {"data": "shop/sales.csv", "target": "units", "horizon": 7})
    assert spec.study_name == "sales"
    assert spec.data_args() == {"data": "shop/sales.csv", "target": "units", "horizon": 7}
    named = load_experiment(None, {"task": "sine_mix", "study": "mine"})
    assert named.study_name == "mine" and named.data_args() == {"task": "sine_mix"}


# ---- the Ray backend's keys --------------------------------------------------------------------

RAY_KEYS = {
    "address": "auto",
    "cpus_per_trial": 2.0,
    "gpus_per_trial": 0.25,
    "max_concurrent": 4,
    "scheduler": "hyperband",
    "storage_path": "s3://bucket/ray",
}


def test_a_ray_spec_takes_every_ray_key_and_the_defaults_keep_optuna_unchanged() -> None:
    spec = load_experiment(None, {"task": "sine_mix", "backend": "ray", **RAY_KEYS})
    assert (spec.backend, spec.workers) == ("ray", 1)
    assert {key: getattr(spec, key) for key in RAY_KEYS} == RAY_KEYS
    plain = load_experiment(None, {"task": "sine_mix"})
    assert plain.backend == "optuna"
    assert {key: getattr(plain, key) for key in RAY_KEYS} == {
        "address": None,
        "cpus_per_trial": 1.0,
        "gpus_per_trial": 0.0,
        "max_concurrent": None,
        "scheduler": "asha",
        "storage_path": None,
    }
    defaults = {"cpus_per_trial": 1, "gpus_per_trial": 0, "scheduler": "asha"}
    assert load_experiment(None, {"task": "sine_mix", **defaults}).backend == "optuna"


@pytest.mark.parametrize(("key", "value"), RAY_KEYS.items(), ids=list(RAY_KEYS))
def test_a_ray_key_without_the_ray_backend_is_refused_naming_its_flag(key: str, value: Any) -> None:
    flag = "--" + key.replace("_", "-")
    with pytest.raises(ConfigError, match=f"^flags: {key}: {flag} needs --backend ray") as raised:
        load_experiment(None, {"task": "sine_mix", key: value})
    assert "\n" not in str(raised.value)


def test_workers_with_the_ray_backend_are_refused_and_one_worker_is_not() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^flags: workers: --workers is the optuna backend's; with --backend ray use "
        r"--max-concurrent \(got 2\)$",
    ):
        load_experiment(None, {"task": "sine_mix", "backend": "ray", "workers": 2})
    assert load_experiment(None, {"task": "sine_mix", "backend": "ray", "workers": 1}).workers == 1


@pytest.mark.parametrize("gpus", [0.0, 0.1, 0.25, 1.0, 2.0, 8])
def test_gpus_per_trial_is_a_share_of_one_gpu_or_whole_gpus(gpus: float) -> None:
    spec = load_experiment(None, {"task": "sine_mix", "backend": "ray", "gpus_per_trial": gpus})
    assert spec.gpus_per_trial == gpus


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (
            {"gpus_per_trial": 1.5},
            r"gpus_per_trial: give --gpus-per-trial as a fraction in \(0, 1\]",
        ),
        ({"gpus_per_trial": -0.5}, "gpus_per_trial: Input should be greater than or equal to 0"),
        ({"gpus_per_trial": float("inf")}, "gpus_per_trial: Input should be a finite number"),
        ({"cpus_per_trial": 0}, "cpus_per_trial: Input should be greater than 0"),
        ({"max_concurrent": 0}, "max_concurrent: Input should be greater than or equal to 1"),
        ({"scheduler": "pbt"}, "scheduler: Input should be 'asha', 'hyperband' or 'none'"),
        ({"address": ""}, "address: String should have at least 1 character"),
    ],
)
def test_bad_ray_values_are_refused_in_one_line(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=f"^flags: {fragment}") as raised:
        load_experiment(None, {"task": "sine_mix", "backend": "ray", **overrides})
    assert "\n" not in str(raised.value)


def test_ray_keys_in_an_experiment_yaml_blame_the_file_or_the_flag(tmp_path: Path) -> None:
    config = tmp_path / "ray.yaml"
    config.write_text(
        "task: sine_mix\nbackend: ray\nscheduler: none\nworkers: 2\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"ray\.yaml: workers: --workers is the optuna backend's"):
        load_experiment(str(config), {})
    config.write_text("task: sine_mix\nbackend: ray\nscheduler: none\n", encoding="utf-8")
    assert load_experiment(str(config), {"max_concurrent": 2}).scheduler == "none"
    with pytest.raises(ConfigError, match=r"^flags: workers: --workers is the optuna"):
        load_experiment(str(config), {"workers": 3})
    with pytest.raises(ConfigError, match=r"ray\.yaml: scheduler: --scheduler needs --backend ray"):
        load_experiment(str(config), {"backend": "optuna"})


# ---- objectives --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        ("val_loss", ["val_loss"]),
        ("val_loss,params", ["val_loss", "params"]),
        (" val_loss , latency_ms ,", ["val_loss", "latency_ms"]),
        (["val_mae", "params"], ["val_mae", "params"]),
        (None, None),
    ],
)
def test_objectives_are_split_on_commas(given: Any, parsed: list[str] | None) -> None:
    assert ExperimentSpec(task="sine_mix", objectives=given).objectives == parsed


def test_objectives_resolve_to_metrics_and_directions() -> None:
    resolved = resolve_objectives(["val_mae", "params", "latency_ms"], "forecast")
    assert [(o.name, o.direction, o.per_epoch) for o in resolved] == [
        ("val_mae", "minimize", True),
        ("params", "minimize", False),
        ("latency_ms", "minimize", False),
    ]
    (accuracy,) = resolve_objectives(["val_accuracy"], "classification")
    assert accuracy.direction == "maximize"
    assert default_objective("forecast") == "val_mae"
    assert default_objective("classification") == "val_loss"


@pytest.mark.parametrize(
    ("names", "kind", "fragment"),
    [
        (["val_los"], "forecast", "did you mean 'val_loss'"),
        (["val_accuracy"], "forecast", "unknown objective 'val_accuracy'"),
        (["val_loss", "val_loss"], "forecast", "each objective once"),
        (["params", "val_loss"], "forecast", "first objective must be a validation metric"),
        ([], "forecast", "at least one objective"),
    ],
)
def test_bad_objectives_are_refused(names: list[str], kind: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        resolve_objectives(names, kind)


# ---- resume: the stored experiment -------------------------------------------------------------


def stored_study(workspace: Path, experiment: dict[str, Any], name: str = "sine_mix") -> None:
    study = optuna.create_study(study_name=name, storage=open_storage(workspace))
    study.set_user_attr("experiment", experiment)


def test_study_name_alone_resumes_with_the_stored_experiment(tmp_path: Path) -> None:
    stored = ExperimentSpec(task="sine_mix", space="tiny", max_epochs=3, seed=4, study="mine")
    stored_study(tmp_path, stored.model_dump(mode="json"), name="mine")
    spec = resolve_spec({"study": "mine", "workspace": str(tmp_path), "trials": 6}, None)
    assert (spec.task, spec.space, spec.max_epochs, spec.seed) == ("sine_mix", "tiny", 3, 4)
    assert spec.trials == 6  # the flag wins over the stored value


def test_resuming_with_a_different_space_is_refused_before_any_trial(tmp_path: Path) -> None:
    stored = ExperimentSpec(task="sine_mix", space="tiny", workspace=str(tmp_path))
    stored_study(tmp_path, stored.model_dump(mode="json"))
    overrides = {"task": "sine_mix", "space": "forecast", "workspace": str(tmp_path), "trials": 1}
    with pytest.raises(ConfigError, match="already exists with a different space"):
        api.search(overrides, progress=False)
    study = optuna.load_study(study_name="sine_mix", storage=open_storage(tmp_path))
    assert study.trials == []
    assert journal_path(tmp_path).is_file()


def test_a_flags_error_names_the_flags_not_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "ok.yaml"
    config.write_text("task: sine_mix\ntrials: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^flags: trials: ") as raised:
        load_experiment(str(config), {"trials": 0})
    assert "ok.yaml" not in str(raised.value)
    config.write_text("task: sine_mix\ntrials: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"ok\.yaml: trials: "):
        load_experiment(str(config), {"seed": 1})


def test_a_workspace_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "data.csv"
    file.write_text("y\n1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="workspace: a file, not a folder"):
        load_experiment(None, {"task": "sine_mix", "workspace": str(file)})


def test_the_top_seed_works_for_every_worker_and_resume_offset() -> None:
    from automl_rnn.backends.optuna_backend import make_sampler

    top = load_experiment(None, {"task": "sine_mix", "seed": 2**32 - 1}).seed
    for name in ("tpe", "random"):
        make_sampler(name, top + 1 + 10_007 * 5, 10)  # worker 1 of a study holding 5 trials


def test_resuming_a_study_that_does_not_exist_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no study 'nope' in workspace .* to resume"):
        resolve_spec({"study": "nope", "workspace": str(tmp_path)}, None)


def test_files_named_in_an_experiment_yaml_are_found_next_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tmp_path / "project"
    kept.mkdir()
    (kept / "sales.csv").write_text("y\n1\n", encoding="utf-8")
    (kept / "space.yaml").write_text("params: {}\n", encoding="utf-8")
    config = kept / "exp.yaml"
    config.write_text("data: sales.csv\ntarget: y\nspace: space.yaml\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    spec = load_experiment(str(config), {})
    found = (str((kept / "sales.csv").resolve()), str((kept / "space.yaml").resolve()))
    assert (spec.data, spec.space) == found  # absolute: the same study from any folder
    # A file in the current folder wins (paths relative to where the command runs, as before).
    (elsewhere / "sales.csv").write_text("y\n1\n", encoding="utf-8")
    assert load_experiment(str(config), {}).data == "sales.csv"


def test_a_resume_by_study_name_validates_flags_in_one_line_and_honours_a_lone_timeout(
    tmp_path: Path,
) -> None:
    api.search(
        {"task": "sine_mix", "space": "tiny", "trials": 1, "max_epochs": 1, "tracking": False,
         "workspace": str(tmp_path)},
        progress=False,
    )  # fmt: skip
    stored = {"study": "sine_mix", "workspace": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"^flags: seed: "):
        resolve_spec({**stored, "seed": -1}, None)
    assert resolve_spec({**stored, "timeout": 60}, None).trials is None
    assert resolve_spec({**stored, "timeout": 60, "trials": 4}, None).trials == 4
