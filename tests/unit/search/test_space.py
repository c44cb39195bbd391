"""Search spaces: sampling stays in the declared space, conditions hold, every error is one line."""

from __future__ import annotations

import math
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from automl_rnn.config.hparams import Hyperparams
from automl_rnn.errors import ConfigError
from automl_rnn.search.space import SearchSpace, list_spaces, load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)

BUILTINS = {"forecast", "regression", "classification", "tokens", "tiny"}


def write(tmp_path: Path, params: str, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text("description: test space\nparams:\n" + params, encoding="utf-8")
    return path


def draws(space: SearchSpace, n: int, seed: int = 0) -> list[optuna.trial.FrozenTrial]:
    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("params", space.suggest(trial))
        return 0.0

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n)
    return study.trials


RANGES = """\
  topology: {choices: [seq2vec, encoder_decoder]}
  num_layers: {low: 1, high: 3}
  hidden_size: {low: 8, high: 64, log: true}
  batch_size: {low: 16, high: 64, step: 16}
  lr: {low: 1.0e-4, high: 1.0e-2, log: true}
  dropout: {low: 0.0, high: 0.3, when: {num_layers: [2, 3]}}
  teacher_forcing: {low: 0.0, high: 1.0, step: 0.25, when: {topology: encoder_decoder}}
  grad_clip: {choices: [null, 0.5, 1.0]}
  optimizer: adamw
"""


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    space = load_space(str(write(tmp_path_factory.mktemp("space"), RANGES)))
    trials = draws(space, 1000)
    # The trial records the same distributions the YAML declares (inclusive, step, log).
    dists = {k: d for t in trials for k, d in t.distributions.items()}
    assert dists["num_layers"] == optuna.distributions.IntDistribution(1, 3)
    assert dists["hidden_size"] == optuna.distributions.IntDistribution(8, 64, log=True)
    assert dists["batch_size"] == optuna.distributions.IntDistribution(16, 64, step=16)
    assert dists["lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    return [t.user_attrs["params"] for t in trials]


@pytest.mark.parametrize(
    ("name", "low", "high", "step"),
    [("num_layers", 1, 3, 1), ("hidden_size", 8, 64, 1), ("batch_size", 16, 64, 16)],
)
def test_int_ranges_are_inclusive_and_respect_step(
    sampled: list[dict[str, Any]], name: str, low: int, high: int, step: int
) -> None:
    values = [p[name] for p in sampled]
    assert all(isinstance(v, int) and low <= v <= high for v in values)
    assert all((v - low) % step == 0 for v in values)
    assert min(values) == low and max(values) == high


@pytest.mark.parametrize(("name", "low", "high"), [("lr", 1e-4, 1e-2), ("hidden_size", 8, 64)])
def test_log_scale_puts_half_the_draws_below_the_geometric_mean(
    sampled: list[dict[str, Any]], name: str, low: float, high: float
) -> None:
    values = [p[name] for p in sampled]
    assert all(low <= v <= high for v in values)
    below = sum(v < math.sqrt(low * high) for v in values) / len(values)
    assert 0.4 < below < 0.6  # a uniform draw would put ~10% (lr) or ~30% (hidden) there


def test_float_step_and_categorical_reach_every_value(sampled: list[dict[str, Any]]) -> None:
    assert {p["teacher_forcing"] for p in sampled if "teacher_forcing" in p} == {
        0.0,
        0.25,
        0.5,
        0.75,
        1.0,
    }
    assert {p["grad_clip"] for p in sampled} == {None, 0.5, 1.0}
    assert {p["topology"] for p in sampled} == {"seq2vec", "encoder_decoder"}


def test_conditional_parameters_are_present_exactly_when_the_condition_holds(
    sampled: list[dict[str, Any]],
) -> None:
    for p in sampled:
        assert ("dropout" in p) == (p["num_layers"] in (2, 3))
        assert ("teacher_forcing" in p) == (p["topology"] == "encoder_decoder")
        if "dropout" in p:
            assert 0.0 <= p["dropout"] <= 0.3


def test_fixed_values_are_returned_and_every_draw_is_valid(sampled: list[dict[str, Any]]) -> None:
    for p in sampled:
        assert p["optimizer"] == "adamw"
        Hyperparams(**p)


def test_suggest_returns_declaration_order(tmp_path: Path) -> None:
    space = load_space(str(write(tmp_path, RANGES)))
    for params in [t.user_attrs["params"] for t in draws(space, 20)]:
        assert list(params) == [n for n in space.names if n in params]


def test_absent_parameter_counts_as_its_default_in_conditions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  topology: {choices: [seq2seq, encoder_decoder]}\n"
        "  bidirectional: {choices: [false, true], when: {topology: encoder_decoder}}\n"
        "  tbptt_steps: {choices: [null, 16], when: {bidirectional: false}}\n",
    )
    for params in [t.user_attrs["params"] for t in draws(load_space(str(path)), 200)]:
        Hyperparams(**params)
        assert ("tbptt_steps" in params) == (not params.get("bidirectional", False))


class RecordingTrial:
    """Only the three suggest methods, like Ray's captor: records what was asked."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial
        self.captured: dict[str, Any] = {}

    def _capture(self, method: str, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0])  # as Ray's _OptunaTrialSuggestCaptor reads it
        self.captured[name] = getattr(self.trial, method)(*args, **kwargs)
        return self.captured[name]

    def suggest_int(self, *args: Any, **kwargs: Any) -> Any:
        return self._capture("suggest_int", *args, **kwargs)

    def suggest_float(self, *args: Any, **kwargs: Any) -> Any:
        return self._capture("suggest_float", *args, **kwargs)

    def suggest_categorical(self, *args: Any, **kwargs: Any) -> Any:
        return self._capture("suggest_categorical", *args, **kwargs)


def test_define_by_run_returns_only_constants_and_merges_like_ray(tmp_path: Path) -> None:
    space = load_space(str(write(tmp_path, RANGES)))
    direct = [t.user_attrs["params"] for t in draws(space, 50, seed=3)]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for expected in direct:
        trial = study.ask()
        captor = RecordingTrial(trial)
        constants = space.define_by_run(captor)
        assert constants == {"optimizer": "adamw"}
        assert not set(constants) & set(captor.captured)
        assert {**captor.captured, **constants} == expected  # what Ray's OptunaSearch builds
        study.tell(trial, 0.0)


def test_space_and_define_by_run_pickle(tmp_path: Path) -> None:
    space = load_space(str(write(tmp_path, RANGES)))
    again = pickle.loads(pickle.dumps(space.define_by_run))
    assert again.__self__ == space


# ---- errors ------------------------------------------------------------------------------------

ERRORS = [
    ("low_gt_high", "  dropout: {low: 0.5, high: 0.1}\n", ["dropout", "low > high", "0.5"]),
    ("log_low", "  weight_decay: {low: 0.0, high: 0.1, log: true}\n", ["weight_decay", "0.0"]),
    (
        "log_step",
        "  hidden_size: {low: 16, high: 64, log: true, step: 16}\n",
        ["hidden_size", "step", "16"],
    ),
    ("empty_choices", "  cell: {choices: []}\n", ["cell", "empty", "[]"]),
    ("unknown_key", "  dropout: {low: 0.0, hihg: 0.3}\n", ["dropout", "hihg", "'high'"]),
    ("unknown_param", "  hiden_size: 32\n", ["hiden_size", "'hidden_size'"]),
    (
        "when_unknown",
        "  num_layers: {low: 1, high: 2}\n  dropout: {low: 0.0, high: 0.3, when: {num_layer: 2}}\n",
        ["dropout", "num_layer", "'num_layers'"],
    ),
    (
        "when_later",
        "  dropout: {low: 0.0, high: 0.3, when: {num_layers: 2}}\n  num_layers: {low: 1, high: 2}\n",
        ["dropout", "num_layers", "earlier"],
    ),
    (
        "when_value",
        "  num_layers: {low: 1, high: 2}\n  dropout: {low: 0.0, high: 0.3, when: {num_layers: 3}}\n",
        ["dropout", "num_layers", "3"],
    ),
    (
        "when_choice",
        "  cell: {choices: [lstm]}\n  dropout: {low: 0.0, high: 0.3, when: {cell: gru}}\n",
        ["dropout", "cell", "'gru'"],
    ),
    (
        "when_float",
        "  lr: {low: 0.001, high: 0.01}\n  dropout: {low: 0.0, high: 0.3, when: {lr: 0.001}}\n",
        ["dropout", "lr", "float range"],
    ),
    ("bad_choice", "  cell: {choices: [lstm, transformer]}\n", ["cell", "'transformer'"]),
    ("bad_fixed", "  optimizer: sgd\n", ["optimizer", "'sgd'"]),
    ("duplicate_choice", "  cell: {choices: [lstm, lstm]}\n", ["cell", "'lstm'", "twice"]),
    ("bare_list", "  cell: [lstm, gru]\n", ["cell", "choices", "['lstm', 'gru']"]),
    ("fractional_int", "  num_layers: {low: 1, high: 2.5}\n", ["num_layers", "2.5"]),
    ("out_of_field", "  num_layers: {low: 0, high: 2}\n", ["num_layers", "low 0"]),
    ("bool_bound", "  num_layers: {low: true, high: 2}\n", ["num_layers", "True"]),
    ("step_multiple", "  batch_size: {low: 16, high: 60, step: 16}\n", ["batch_size", "60", "16"]),
    ("range_on_choice", "  cell: {low: 1, high: 2}\n", ["cell", "choices", "low=1"]),
    ("only_low", "  lr: {low: 0.001}\n", ["lr", "low=0.001", "high=None"]),
    ("no_range", "  cell: lstm\n  lr: {when: {cell: lstm}}\n", ["lr", "low/high or choices"]),
    ("type_mismatch", "  num_layers: {type: float, low: 1, high: 2}\n", ["num_layers", "float"]),
    ("auto_elsewhere", "  hidden_size: auto\n", ["hidden_size", "auto"]),
    ("log_type", "  lr: {low: 0.001, high: 0.01, log: maybe}\n", ["lr", "log", "'maybe'"]),
    (
        "bidirectional_tbptt",
        "  bidirectional: true\n  tbptt_steps: {choices: [null, 32]}\n",
        ["bidirectional", "tbptt_steps", "True"],
    ),
    (
        "bidirectional_tbptt_range",
        "  bidirectional: {choices: [false, true]}\n  tbptt_steps: {low: 8, high: 64}\n",
        ["bidirectional", "tbptt_steps"],
    ),
    (
        "bidirectional_topology",
        "  topology: {choices: [seq2seq, seq2vec]}\n  bidirectional: true\n",
        ["bidirectional", "topology", "True"],
    ),
]


@pytest.mark.parametrize(("case", "params", "expected"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_one_line_naming_file_parameter_and_value(
    tmp_path: Path, case: str, params: str, expected: list[str]
) -> None:
    assert_one_line_error(write(tmp_path, params, name=f"{case}.yaml"), expected)


def assert_one_line_error(path: Path, expected: list[str]) -> None:
    """Loading ``path`` fails with one line that names the file and holds every ``expected``."""
    with pytest.raises(ConfigError) as info:
        load_space(str(path))
    message = str(info.value)
    assert "\n" not in message and path.name in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("description: x\nparams:\n  cell: {choices: [lstm, gru}\n", "bad.yaml:3"),
        ("description: x\nparams:\n  cell: lstm\n  cell: gru\n", "bad.yaml:4"),
        ("description: x\nparam:\n  cell: lstm\n", "did you mean 'params'"),
        ("- cell\n", "expected a mapping"),
        ("description: x\nparams: {}\n", "no parameter"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(expected)) as info:
        load_space(str(path))
    assert "\n" not in str(info.value)


def test_unknown_name_lists_builtins_and_missing_file_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown search space 'forcast'.*'forecast'.*tiny"):
        load_space("forcast")
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load_space("nowhere.yaml")


# ---- task resolution ---------------------------------------------------------------------------


def spec(space: SearchSpace, name: str) -> Any:
    return space.to_dict()["params"].get(name)


def test_topology_choices_are_intersected_in_the_task_order(tmp_path: Path) -> None:
    path = str(write(tmp_path, "  topology: {choices: [encoder_decoder, seq2vec, seq2seq]}\n"))
    space = load_space(path, topologies=["seq2vec", "vec2seq", "encoder_decoder"])
    assert spec(space, "topology")["choices"] == ["seq2vec", "encoder_decoder"]
    assert load_space(path, topologies=["vec2seq", "seq2seq"]).constants == {"topology": "seq2seq"}
    assert spec(load_space(path), "topology")["choices"] == [
        "encoder_decoder",
        "seq2vec",
        "seq2seq",
    ]
    with pytest.raises(ConfigError) as info:
        load_space(path, topologies=["vec2seq"])
    assert "['encoder_decoder', 'seq2vec', 'seq2seq']" in str(info.value)
    assert "['vec2seq']" in str(info.value)


def test_undeclared_topology_comes_from_the_task(tmp_path: Path) -> None:
    path = str(write(tmp_path, "  cell: {choices: [lstm, gru]}\n"))
    several = load_space(path, topologies=["seq2seq", "encoder_decoder"])
    assert several.names[0] == "topology"
    assert spec(several, "topology")["choices"] == ["seq2seq", "encoder_decoder"]
    assert load_space(path, topologies=["seq2vec"]).constants == {"topology": "seq2vec"}
    assert "topology" not in load_space(path).names


def test_conditions_are_simplified_for_the_task(tmp_path: Path) -> None:
    path = str(
        write(
            tmp_path,
            "  topology: {choices: [seq2vec, encoder_decoder]}\n"
            "  teacher_forcing: {low: 0.0, high: 1.0, when: {topology: encoder_decoder}}\n"
            "  readout: {choices: [last, mean], when: {topology: seq2vec}}\n",
        )
    )
    space = load_space(path, topologies=["seq2vec"])
    assert space.names == ["topology", "readout"]
    assert spec(space, "readout") == {"type": "categorical", "choices": ["last", "mean"]}


def test_seq_len_auto_resolves_to_the_data_candidates(tmp_path: Path) -> None:
    path = str(write(tmp_path, "  seq_len: auto\n  cell: lstm\n"))
    space = load_space(path, seq_len_candidates=[24, 12, 24, 36])
    assert spec(space, "seq_len") == {"type": "categorical", "choices": [24, 12, 36]}
    assert {t.user_attrs["params"]["seq_len"] for t in draws(space, 100)} == {12, 24, 36}
    assert load_space(path, seq_len_candidates=[12]).constants["seq_len"] == 12
    assert load_space(path).names == ["cell"]
    with pytest.raises(ConfigError, match=r"seq_len.*0"):
        load_space(path, seq_len_candidates=[0, 12])


@pytest.mark.parametrize(
    "params",
    [
        "  bidirectional: {choices: [false, true]}\n"
        "  tbptt_steps: {choices: [null, 32], when: {bidirectional: false}}\n",
        "  topology: {choices: [seq2vec, seq2seq]}\n"
        "  bidirectional: {choices: [false, true], when: {topology: seq2vec}}\n"
        "  tbptt_steps: {low: 8, high: 64, when: {topology: seq2seq}}\n",
        "  bidirectional: true\n  tbptt_steps: null\n",
    ],
)
def test_bidirectional_excluded_by_conditions_is_accepted(tmp_path: Path, params: str) -> None:
    space = load_space(str(write(tmp_path, params)))
    for p in [t.user_attrs["params"] for t in draws(space, 200)]:
        Hyperparams(**p)


def test_bidirectional_check_uses_the_task_topologies(tmp_path: Path) -> None:
    path = str(write(tmp_path, "  bidirectional: true\n"))
    assert load_space(path, topologies=["seq2vec"]).constants["bidirectional"] is True
    with pytest.raises(ConfigError, match="bidirectional"):
        load_space(path, topologies=["seq2vec", "seq2seq"])


# ---- display and listing -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_to_dict_round_trips_through_yaml(tmp_path: Path, name: str) -> None:
    space = load_space(name, topologies=["seq2vec", "encoder_decoder"], seq_len_candidates=[12, 24])
    data = space.to_dict()
    path = tmp_path / "again.yaml"
    keys = ("description", "params", "first_trials")
    path.write_text(yaml.safe_dump({k: data[k] for k in keys if k in data}, sort_keys=False))
    again = load_space(str(path)).to_dict()
    assert again["params"] == data["params"]
    assert again.get("first_trials") == data.get("first_trials")


def test_list_spaces_names_the_builtins() -> None:
    listed = {s["name"]: s for s in list_spaces()}
    assert set(listed) >= BUILTINS
    assert all(s["description"] and s["params"] for s in listed.values())
    assert "seq_len" in listed["forecast"]["params"]


def test_import_is_light() -> None:
    code = (
        "import sys, automl_rnn.search.space; "
        "print([m for m in ('optuna', 'torch', 'ray') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- first trials ------------------------------------------------------------------------------

FIRST = """\
  topology: {choices: [seq2vec, encoder_decoder]}
  cell: {choices: [lstm, gru]}
  num_layers: {low: 1, high: 2}
  hidden_size: {low: 8, high: 64, log: true}
  lr: {low: 1.0e-3, high: 1.0e-2, log: true}
  batch_size: {low: 16, high: 64, step: 16}
  teacher_forcing: {low: 0.0, high: 1.0, when: {topology: encoder_decoder}}
  seq_len: auto
  optimizer: adam
"""


def with_first(tmp_path: Path, entries: str, name: str = "space.yaml") -> Path:
    path = write(tmp_path, FIRST, name)
    path.write_text(path.read_text() + "first_trials:\n" + entries, encoding="utf-8")
    return path


def test_first_trials_are_parsed_and_resolved_for_the_task(tmp_path: Path) -> None:
    path = str(
        with_first(
            tmp_path,
            "  - {topology: encoder_decoder, cell: gru, teacher_forcing: 0.5, lr: 1.0e-3}\n"
            "  - {topology: seq2vec, cell: lstm, hidden_size: 64, batch_size: 32}\n",
        )
    )
    space = load_space(path, topologies=["seq2vec", "encoder_decoder"], seq_len_candidates=[12])
    assert space.first_trials == (
        {"topology": "encoder_decoder", "cell": "gru", "teacher_forcing": 0.5, "lr": 1e-3},
        {"topology": "seq2vec", "cell": "lstm", "hidden_size": 64, "batch_size": 32},
    )
    assert space.to_dict()["first_trials"] == [dict(p) for p in space.first_trials]
    # A task that fits only seq2vec: topology becomes fixed and teacher_forcing is dropped, so
    # those values go; the rest of each entry stays for the sampler to start from.
    only = load_space(path, topologies=["seq2vec"], seq_len_candidates=[12])
    assert only.first_trials == (
        {"cell": "gru", "lr": 1e-3},
        {"cell": "lstm", "hidden_size": 64, "batch_size": 32},
    )


FIRST_ERRORS = [
    ("first_unknown", "  - {cel: lstm}\n", ["first_trials[0]", "'cel'", "did you mean 'cell'"]),
    ("first_range", "  - {hidden_size: 128}\n", ["first_trials[0]", "hidden_size", "128"]),
    ("first_step", "  - {batch_size: 20}\n", ["batch_size", "20", "outside"]),
    ("first_float", "  - {lr: 0.5}\n", ["lr", "0.5", "outside"]),
    ("first_choice", "  - {cell: rnn_tanh}\n", ["cell", "rnn_tanh", "outside"]),
    ("first_auto", "  - {seq_len: 24}\n", ["seq_len", "from the data"]),
    ("first_fixed", "  - {optimizer: sgd}\n", ["optimizer", "fixed to 'adam'"]),
    ("first_type", "  - {lr: fast}\n", ["lr", "'fast'"]),
    (
        "first_condition",
        "  - {cell: lstm}\n  - {topology: seq2vec, teacher_forcing: 0.5}\n",
        ["first_trials[1]", "teacher_forcing", "condition"],
    ),
    ("first_not_mapping", "  - lstm\n", ["first_trials[0]", "expected a mapping"]),
]


@pytest.mark.parametrize(
    ("case", "entries", "expected"), FIRST_ERRORS, ids=[e[0] for e in FIRST_ERRORS]
)
def test_first_trial_errors_name_file_entry_parameter_and_value(
    tmp_path: Path, case: str, entries: str, expected: list[str]
) -> None:
    assert_one_line_error(with_first(tmp_path, entries, name=f"{case}.yaml"), expected)


def test_first_trial_values_are_what_optuna_samples_first(tmp_path: Path) -> None:
    path = with_first(tmp_path, "  - {cell: gru, hidden_size: 64, lr: 1.0e-2}\n")
    space = load_space(str(path), topologies=["seq2vec"], seq_len_candidates=[12, 24])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial(space.first_trials[0])
    seen: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        seen.append(space.suggest(trial))
        return 0.0

    study.optimize(objective, n_trials=2)
    assert {k: seen[0][k] for k in ("cell", "hidden_size", "lr")} == space.first_trials[0]
    assert seen[0]["seq_len"] in (12, 24) and seen[1] != seen[0]


@pytest.mark.parametrize(
    ("seq_len", "tbptt"),
    [("16", "16"), ("16", "32"), ("{choices: [12, 24]}", "24"), ("{low: 8, high: 20}", "20")],
)
def test_a_fixed_tbptt_length_no_window_is_longer_than_is_refused(
    tmp_path: Path, seq_len: str, tbptt: str
) -> None:
    """Every trial would quietly train with full BPTT: a user mistake, named with the file."""
    path = write(tmp_path, f"  seq_len: {seq_len}\n  tbptt_steps: {tbptt}\n")
    with pytest.raises(ConfigError, match=r"parameter 'tbptt_steps': .* is not below seq_len"):
        load_space(str(path))


def test_a_fixed_tbptt_length_below_some_window_and_tbptt_choices_are_kept(tmp_path: Path) -> None:
    below = write(tmp_path, "  seq_len: {choices: [12, 48]}\n  tbptt_steps: 24\n", "a.yaml")
    assert load_space(str(below)).constants["tbptt_steps"] == 24
    # Choices may hold a length some windows do not exceed: that means full BPTT for them.
    choices = write(tmp_path, "  seq_len: 16\n  tbptt_steps: {choices: [null, 64]}\n", "b.yaml")
    assert "tbptt_steps" in load_space(str(choices)).names


def test_teacher_forcing_is_not_searched_when_no_topology_has_a_decoder(tmp_path: Path) -> None:
    tf = "  teacher_forcing: {low: 0.0, high: 0.9}\n"
    fixed = write(tmp_path, "  topology: seq2vec\n" + tf, "fixed.yaml")
    assert "teacher_forcing" not in load_space(str(fixed)).names
    no_decoder = write(tmp_path, "  topology: {choices: [seq2vec, seq2seq]}\n" + tf, "none.yaml")
    assert "teacher_forcing" not in load_space(str(no_decoder)).names
    some = write(tmp_path, "  topology: {choices: [seq2vec, encoder_decoder]}\n" + tf, "some.yaml")
    assert "teacher_forcing" in load_space(str(some)).names


def test_any_tbptt_length_goes_with_seq_len_auto(tmp_path: Path) -> None:
    """The windows of ``auto`` depend on the data: a chunk as long as some of them means full BPTT
    for those (documented), never a refusal that depends on the data set."""
    path = write(tmp_path, "  seq_len: auto\n  tbptt_steps: 24\n")
    space = load_space(str(path), seq_len_candidates=[12, 24])
    assert space.constants["tbptt_steps"] == 24
