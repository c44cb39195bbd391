"""Search space files, pinned: every refusal's whole one-line message (a test that matched a
fragment let a mutant drop the parameter's name or the offending value), and the behaviour a
fragment test cannot see: steps, bounds, ``contains``, the spec a space prints back, and how a
name or a path is told apart (mutation testing of ``search/space/``, issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from automl_rnn.errors import ConfigError
from automl_rnn.search.space import list_spaces, load_space
from automl_rnn.search.space.loading import describe_space
from automl_rnn.search.space.parsing import parse_space
from automl_rnn.search.space.schema import FloatParam, IntParam

#: (case, the file's text, the message after "<file>: ").
REFUSALS = [
    ("no_param", "description: x\nparams: {}\n", "'params' declares no parameter"),
    (
        "unknown_param",
        "params:\n  hiden_size: 32\n",
        "unknown parameter 'hiden_size' (did you mean 'hidden_size'?); valid: batch_size, bidirectional, cell, dropout, ema_decay, grad_clip, head_init, hidden_size, loss, lr, lr_schedule, num_layers, optimizer, readout, scaling, seq_len, skip, tbptt_steps, teacher_forcing, topology, weight_decay",
    ),
    (
        "unknown_top_key",
        "description: x\nparam:\n  cell: lstm\n",
        "unknown key 'param' (did you mean 'params'?); valid: description, params, first_trials",
    ),
    ("params_not_mapping", "params: 3\n", "params: Input should be a valid dictionary (got 3)"),
    ("not_mapping", "- cell\n", "expected a mapping with 'description' and 'params', got ['cell']"),
    (
        "auto_elsewhere",
        "params:\n  hidden_size: auto\n",
        "parameter 'hidden_size': 'auto' is only supported for seq_len (got hidden_size: auto)",
    ),
    (
        "bare_list",
        "params:\n  cell: [lstm, gru]\n",
        "parameter 'cell': write choices as {choices: ['lstm', 'gru']} (got a bare list ['lstm', 'gru'])",
    ),
    (
        "choices_with_range",
        "params:\n  cell: {choices: [lstm], low: 1, step: 2, log: true}\n",
        "parameter 'cell': choices cannot be combined with low, step, log (got ['lstm'])",
    ),
    (
        "choices_type",
        "params:\n  cell: {type: int, choices: [lstm]}\n",
        "parameter 'cell': type int does not match choices (got ['lstm'])",
    ),
    (
        "empty_choices",
        "params:\n  cell: {choices: []}\n",
        "parameter 'cell': choices is empty (got [])",
    ),
    (
        "bad_choice",
        "params:\n  cell: {choices: [lstm, transformer]}\n",
        "parameter 'cell': choice 'transformer' is invalid for cell: Input should be 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru'",
    ),
    (
        "duplicate_choice",
        "params:\n  cell: {choices: [lstm, gru, lstm]}\n",
        "parameter 'cell': choice 'lstm' is listed twice (got ['lstm', 'gru', 'lstm'])",
    ),
    (
        "no_range",
        "params:\n  cell: lstm\n  lr: {when: {cell: lstm}}\n",
        "parameter 'lr': needs low/high or choices; a fixed value is written `name: value` (got {'when': {'cell': 'lstm'}})",
    ),
    (
        "range_on_text",
        "params:\n  cell: {low: 1, high: 2}\n",
        "parameter 'cell': cell is not numeric: use choices (got low=1)",
    ),
    (
        "only_low",
        "params:\n  lr: {low: 0.001}\n",
        "parameter 'lr': needs both low and high (got low=0.001, high=None)",
    ),
    (
        "range_type",
        "params:\n  num_layers: {type: float, low: 1, high: 2}\n",
        "parameter 'num_layers': num_layers is int in Hyperparams (got type float)",
    ),
    (
        "low_gt_high",
        "params:\n  dropout: {low: 0.5, high: 0.1}\n",
        "parameter 'dropout': low > high (got low=0.5, high=0.1)",
    ),
    (
        "log_low",
        "params:\n  weight_decay: {low: 0.0, high: 0.1, log: true}\n",
        "parameter 'weight_decay': log scale needs low > 0 (got low=0.0)",
    ),
    (
        "log_step",
        "params:\n  hidden_size: {low: 16, high: 64, log: true, step: 16}\n",
        "parameter 'hidden_size': log cannot be combined with step (got step=16)",
    ),
    (
        "step_zero",
        "params:\n  dropout: {low: 0.0, high: 0.5, step: 0}\n",
        "parameter 'dropout': step must be a positive float (got step=0)",
    ),
    (
        "step_bool",
        "params:\n  dropout: {low: 0.0, high: 0.5, step: true}\n",
        "parameter 'dropout': step must be a positive float (got step=True)",
    ),
    (
        "step_text",
        "params:\n  dropout: {low: 0.0, high: 0.5, step: often}\n",
        "parameter 'dropout': step must be a positive float (got step='often')",
    ),
    (
        "step_negative",
        "params:\n  dropout: {low: 0.0, high: 0.5, step: -0.1}\n",
        "parameter 'dropout': step must be a positive float (got step=-0.1)",
    ),
    (
        "int_step_fraction",
        "params:\n  hidden_size: {low: 16, high: 64, step: 0.5}\n",
        "parameter 'hidden_size': step must be a positive int (got step=0.5)",
    ),
    (
        "step_multiple",
        "params:\n  batch_size: {low: 16, high: 60, step: 16}\n",
        "parameter 'batch_size': high - low must be a multiple of step (got low=16, high=60, step=16)",
    ),
    (
        "step_multiple_offset",
        "params:\n  hidden_size: {low: 10, high: 41, step: 15}\n",
        "parameter 'hidden_size': high - low must be a multiple of step (got low=10, high=41, step=15)",
    ),
    (
        "bool_bound",
        "params:\n  num_layers: {low: true, high: 2}\n",
        "parameter 'num_layers': low True is not a number",
    ),
    (
        "inf_bound",
        "params:\n  lr: {low: 0.001, high: .inf}\n",
        "parameter 'lr': high inf is not finite",
    ),
    (
        "out_of_field",
        "params:\n  num_layers: {low: 0, high: 2}\n",
        "parameter 'num_layers': low 0 is invalid for num_layers: Input should be greater than or equal to 1",
    ),
    (
        "fractional_int",
        "params:\n  num_layers: {low: 1, high: 2.5}\n",
        "parameter 'num_layers': high 2.5 is invalid for num_layers: Input should be a valid integer, got a number with a fractional part",
    ),
    (
        "unknown_param_key",
        "params:\n  dropout: {low: 0.0, hihg: 0.3}\n",
        "parameter 'dropout': unknown key 'hihg' (did you mean 'high'?); valid: type, low, high, log, step, choices, when",
    ),
    (
        "param_key_type",
        "params:\n  lr: {low: 0.001, high: 0.01, log: maybe}\n",
        "parameter 'lr': log: Input should be a valid boolean, unable to interpret input (got 'maybe')",
    ),
    (
        "bad_fixed",
        "params:\n  optimizer: sgd\n",
        "parameter 'optimizer': value 'sgd' is invalid for optimizer: Input should be 'adam' or 'adamw'",
    ),
    (
        "when_empty",
        "params:\n  dropout: {low: 0.0, high: 0.3, when: {}}\n",
        "parameter 'dropout': when is empty (got {})",
    ),
    (
        "when_itself",
        "params:\n  dropout: {low: 0.0, high: 0.3, when: {dropout: 0.1}}\n",
        "parameter 'dropout': condition on itself (got when: {dropout: 0.1})",
    ),
    (
        "when_later",
        "params:\n  dropout: {low: 0.0, high: 0.3, when: {num_layers: 2}}\n  num_layers: {low: 1, high: 2}\n",
        "parameter 'dropout': condition on 'num_layers', which is not declared before 'dropout' (conditions may only refer to earlier parameters)",
    ),
    (
        "when_unknown",
        "params:\n  num_layers: {low: 1, high: 2}\n  dropout: {low: 0.0, high: 0.3, when: {num_layer: 2}}\n",
        "parameter 'dropout': condition on unknown parameter 'num_layer' (did you mean 'num_layers'?)",
    ),
    (
        "when_float",
        "params:\n  lr: {low: 0.001, high: 0.01}\n  dropout: {low: 0.0, high: 0.3, when: {lr: 0.001}}\n",
        "parameter 'dropout': condition on 'lr', which is a float range (got 0.001)",
    ),
    (
        "when_auto",
        "params:\n  seq_len: auto\n  dropout: {low: 0.0, high: 0.3, when: {seq_len: 24}}\n",
        "parameter 'dropout': condition on 'seq_len', which is seq_len: auto (got 24)",
    ),
    (
        "when_no_value",
        "params:\n  cell: {choices: [lstm, gru]}\n  dropout: {low: 0.0, high: 0.3, when: {cell: []}}\n",
        "parameter 'dropout': condition on 'cell' lists no value (got [])",
    ),
    (
        "when_bad_value",
        "params:\n  num_layers: {low: 1, high: 3}\n  dropout: {low: 0.0, high: 0.3, when: {num_layers: 0}}\n",
        "parameter 'dropout': condition value for 'num_layers' 0 is invalid for num_layers: Input should be greater than or equal to 1",
    ),
    (
        "when_value_outside",
        "params:\n  num_layers: {low: 1, high: 2}\n  dropout: {low: 0.0, high: 0.3, when: {num_layers: 3}}\n",
        "parameter 'dropout': condition value 3 is not among the values of 'num_layers' (declared: {'type': 'int', 'low': 1, 'high': 2})",
    ),
    (
        "first_undeclared",
        "params:\n  cell: {choices: [lstm, gru]}\nfirst_trials:\n  - {cel: gru}\n",
        "first_trials[0]: unknown declared parameter 'cel' (did you mean 'cell'?); valid: cell",
    ),
    (
        "first_auto",
        "params:\n  seq_len: auto\n  cell: {choices: [lstm, gru]}\nfirst_trials:\n  - {seq_len: 24}\n",
        "first_trials[0]: parameter 'seq_len': 'seq_len: auto' takes its values from the data; leave it out",
    ),
    (
        "first_outside",
        "params:\n  cell: {choices: [lstm, gru]}\nfirst_trials:\n  - {cell: rnn}\n",
        "first_trials[0]: parameter 'cell': value 'rnn' is invalid for cell: Input should be 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru'",
    ),
    (
        "tbptt_long",
        "params:\n  seq_len: {choices: [16, 32]}\n  tbptt_steps: 32\n",
        "parameter 'tbptt_steps': 32 is not below seq_len (at most 32): truncated BPTT needs chunks shorter than the window; give a smaller value, or null for full BPTT",
    ),
    (
        "bidirectional_tbptt",
        "params:\n  bidirectional: true\n  tbptt_steps: {choices: [null, 32]}\n",
        "parameter 'bidirectional': true can be sampled together with a non-null tbptt_steps (needs full BPTT); exclude it with when: (got True)",
    ),
    (
        "bidirectional_topology",
        "params:\n  topology: {choices: [seq2seq, seq2vec]}\n  bidirectional: true\n",
        "parameter 'bidirectional': true can be sampled together with a topology other than encoder_decoder, seq2vec; exclude it with when: (got True)",
    ),
    (
        "skip_topology",
        "params:\n  topology: {choices: [seq2seq, seq2vec]}\n  skip: {choices: [none, seasonal_naive]}\n",
        "parameter 'skip': seasonal_naive can be sampled together with a topology other than encoder_decoder, seq2vec; exclude it with when: (got {'type': 'categorical', 'choices': ['none', 'seasonal_naive']})",
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_is_exactly_its_one_line(
    tmp_path: Path, case: str, text: str, expected: str
) -> None:
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_space(str(path))
    assert str(refused.value) == f"{path}: {expected}"


def test_the_skip_loads_where_its_condition_keeps_it_to_window_forecasts(tmp_path: Path) -> None:
    path = tmp_path / "skip.yaml"
    path.write_text(
        "params:\n  topology: {choices: [seq2seq, seq2vec, encoder_decoder]}\n"
        "  skip: {choices: [none, seasonal_naive], when: {topology: [seq2vec, encoder_decoder]}}\n",
        encoding="utf-8",
    )
    skip = load_space(str(path)).to_dict()["params"]["skip"]
    assert skip["when"] == {"topology": ["seq2vec", "encoder_decoder"]}


def _space(tmp_path: Path, params: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"description: pinned\nparams:\n{params}", encoding="utf-8")
    return path


def test_steps_bounds_and_conditions_are_kept_as_declared(tmp_path: Path) -> None:
    """A step that divides the range from a low that is not a multiple of it, a range of one
    value, a float step and a conditional stepped int: parsed as written."""
    path = _space(
        tmp_path,
        "  num_layers: {low: 2, high: 2}\n"
        "  hidden_size: {low: 10, high: 40, step: 15, when: {num_layers: 2}}\n"
        "  dropout: {low: 0.1, high: 0.7, step: 0.2}\n"
        "  lr: {low: 0.001, high: 0.1, log: true}\n",
    )
    by_name = {p.name: p for p in parse_space(path).params}
    assert by_name["num_layers"] == IntParam(name="num_layers", low=2, high=2)
    assert by_name["hidden_size"] == IntParam(
        name="hidden_size", low=10, high=40, step=15, when={"num_layers": (2,)}
    )
    assert by_name["dropout"] == FloatParam(name="dropout", low=0.1, high=0.7, step=0.2)
    assert by_name["lr"] == FloatParam(name="lr", low=0.001, high=0.1, log=True)


def test_the_spec_a_space_prints_back_holds_steps_logs_and_conditions(tmp_path: Path) -> None:
    path = _space(
        tmp_path,
        "  cell: {choices: [lstm, gru, rnn_tanh]}\n"
        "  num_layers: {low: 1, high: 3}\n"
        "  hidden_size: {low: 16, high: 64, step: 16, when: {cell: lstm}}\n"
        "  batch_size: {low: 16, high: 64, when: {cell: [gru, rnn_tanh]}}\n"
        "  dropout: {low: 0.0, high: 0.5, step: 0.25, when: {num_layers: [2, 3]}}\n"
        "  lr: {low: 0.001, high: 0.1, log: true}\n",
    )
    shown = load_space(str(path)).to_dict()
    assert shown == {
        "name": "s",
        "path": str(path),
        "description": "pinned",
        "params": {
            "cell": {"type": "categorical", "choices": ["lstm", "gru", "rnn_tanh"]},
            "num_layers": {"type": "int", "low": 1, "high": 3},
            "hidden_size": {
                "type": "int", "low": 16, "high": 64, "step": 16, "when": {"cell": "lstm"}
            },
            "batch_size": {
                "type": "int", "low": 16, "high": 64, "when": {"cell": ["gru", "rnn_tanh"]}
            },
            "dropout": {
                "type": "float", "low": 0.0, "high": 0.5, "step": 0.25,
                "when": {"num_layers": [2, 3]},
            },
            "lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True},
        },
        **{k: v for k, v in shown.items() if k not in ("name", "path", "description", "params")},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("value", "inside"),
    [(10, True), (25, True), (40, True), (20, False), (55, False), (True, False), (25.0, False)],
)
def test_an_int_range_contains_its_steps_only(value: Any, inside: bool) -> None:
    assert IntParam(name="hidden_size", low=10, high=40, step=15).contains(value) is inside


@pytest.mark.parametrize(
    ("value", "inside"),
    [(0.1, True), (0.35, True), (0.85, True), (0.25, False), (0.7, False), (0.95, False),
     (True, False), ("0.35", False)],
)  # fmt: skip
def test_a_float_range_with_a_step_contains_its_steps_only(value: Any, inside: bool) -> None:
    """Steps counted from ``low`` (0.1 is not a multiple of 0.25: counting from 0 would miss)."""
    assert FloatParam(name="dropout", low=0.1, high=0.85, step=0.25).contains(value) is inside
    assert FloatParam(name="dropout", low=0.1, high=0.85).contains(value) is (
        not isinstance(value, bool | str) and 0.1 <= value <= 0.85
    )


def test_sampled_floats_stay_on_their_step(tmp_path: Path) -> None:
    space = load_space(str(_space(tmp_path, "  dropout: {low: 0.1, high: 0.7, step: 0.2}\n")))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = {round(space.suggest(study.ask())["dropout"], 9) for _ in range(60)}
    assert drawn == {0.1, 0.3, 0.5, 0.7}


def test_a_space_without_a_task_describes_seq_len_auto_in_words(tmp_path: Path) -> None:
    path = _space(tmp_path, "  seq_len: auto\n  cell: {choices: [lstm, gru]}\n  hidden_size: 32\n")
    shown = describe_space(str(path))
    assert shown["params"] == {
        "seq_len": "auto: window lengths proposed from the training data (multiples of its "
        "seasonal period, autocorrelation peaks)",
        "cell": {"type": "categorical", "choices": ["lstm", "gru"]},
        "hidden_size": 32,
    }
    assert list(shown["params"]) == ["seq_len", "cell", "hidden_size"]
    assert shown["name"] == "s" and shown["description"] == "pinned"


def test_names_and_paths_are_told_apart(tmp_path: Path) -> None:
    """A ``.yaml`` or ``.yml`` name, or one with a slash either way, is a file; anything else is
    a built-in's name."""
    yml = _space(tmp_path, "  cell: lstm\n", name="mine.yml")
    assert load_space(str(yml)).name == "mine"
    plain = _space(tmp_path, "  cell: lstm\n", name="noext")
    assert load_space(str(plain)).name == "noext"  # a slash: a path, whatever its suffix
    for missing in ("nowhere.yaml", "nowhere.yml", "a/b", "a\\b"):
        with pytest.raises(ConfigError) as refused:
            load_space(missing)
        assert str(refused.value) == f"search space file not found: {missing}"
    with pytest.raises(ConfigError) as refused:
        load_space("forecats")
    assert str(refused.value).endswith(" (or a .yaml path)")
    assert "'forecast'" in str(refused.value)


def test_the_built_in_spaces_are_listed_with_their_files() -> None:
    listed = {entry["name"]: entry for entry in list_spaces()}
    assert {"forecast", "tiny"} <= set(listed)
    tiny = listed["tiny"]
    assert Path(tiny["path"]).name == "tiny.yaml" and Path(tiny["path"]).is_file()
    assert tiny["params"] == [p.name for p in parse_space(Path(tiny["path"])).params]
    assert set(tiny) == {"name", "description", "params", "path"}


#: (case, params, what the task gives load_space, the message after "<file>: ").
TASK_REFUSALS = [
    (
        "unknown_task_topology",
        "  cell: lstm\n",
        {"topologies": ["seq2vec", "seq2sec"]},
        "parameter 'topology': task topology 'seq2sec' is not one of seq2seq, seq2vec, vec2seq, "
        "encoder_decoder",
    ),
    (
        "no_topology_fits",
        "  topology: {choices: [seq2seq, encoder_decoder]}\n",
        {"topologies": ["seq2vec"]},
        "parameter 'topology': none of the space's topologies ['seq2seq', 'encoder_decoder'] "
        "fits the task's ['seq2vec']",
    ),
    (
        "fixed_topology_misfits",
        "  topology: seq2seq\n",
        {"topologies": ["seq2vec", "vec2seq"]},
        "parameter 'topology': none of the space's topologies ['seq2seq'] fits the task's "
        "['seq2vec', 'vec2seq']",
    ),
    (
        "candidate_zero",
        "  seq_len: auto\n",
        {"seq_len_candidates": [12, 0]},
        "parameter 'seq_len': seq_len candidate 0 is invalid for seq_len: Input should be "
        "greater than or equal to 1",
    ),
    (
        "candidate_none",
        "  seq_len: auto\n",
        {"seq_len_candidates": [12, None]},
        "parameter 'seq_len': seq_len candidate None is not a length",
    ),
]


@pytest.mark.parametrize(
    ("case", "params", "task", "expected"), TASK_REFUSALS, ids=[r[0] for r in TASK_REFUSALS]
)
def test_what_a_task_cannot_use_is_exactly_its_one_line(
    tmp_path: Path, case: str, params: str, task: dict[str, Any], expected: str
) -> None:
    path = _space(tmp_path, params, name=f"{case}.yaml")
    with pytest.raises(ConfigError) as refused:
        load_space(str(path), **task)
    assert str(refused.value) == f"{path}: {expected}"


def test_a_conditional_topology_keeps_its_condition_for_the_task(tmp_path: Path) -> None:
    path = _space(
        tmp_path,
        "  cell: {choices: [lstm, gru]}\n"
        "  topology: {choices: [seq2vec, seq2seq, encoder_decoder], when: {cell: lstm}}\n",
    )
    shown = load_space(str(path), topologies=["seq2seq", "seq2vec"]).to_dict()["params"]
    assert shown["topology"] == {
        "type": "categorical",
        "choices": ["seq2seq", "seq2vec"],  # the task's order
        "when": {"cell": "lstm"},
    }
