"""``make_plan``: what a spec resolves to before any trial (topologies, windows, scaling,
objectives), and the refusals that name the file, the value and what to write. Found without a
unit test by mutation testing (``search/plan.py``: 61 of 93 mutants survived or ran no test;
the CLI tests that check the refusals run in subprocesses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.errors import ConfigError
from automl_rnn.search.plan import make_plan

SINE_MIX_MAX_SEQ_LEN = 372  # 480 points - horizon 12 - validation 48 - test 48


def space(tmp_path: Path, body: str) -> str:
    path = tmp_path / "space.yaml"
    path.write_text("params:\n  cell: gru\n  hidden_size: 8\n" + body)
    return str(path)


@pytest.mark.parametrize(
    ("topology", "expected"),
    [("auto", {"seq2vec", "encoder_decoder", "seq2seq"}), ("seq2seq", {"seq2seq"})],
)
def test_the_topologies_searched_are_the_tasks_or_the_one_asked(
    topology: str, expected: set[str]
) -> None:
    plan = make_plan(ExperimentSpec(task="sine_mix", space="tiny", topology=topology))
    (param,) = [p for p in plan.space.params if p.name == "topology"]
    assert set(param.domain() or ()) == expected
    assert plan.prepared.name == "sine_mix"


@pytest.mark.parametrize(
    ("task", "topology", "kind", "choices"),
    [
        ("digits", "seq2seq", "classification", "seq2vec"),
        ("sine_mix", "vec2seq", "forecast", "seq2vec, encoder_decoder, seq2seq"),
    ],
)
def test_a_topology_the_task_cannot_use_is_refused_with_every_choice(
    task: str, topology: str, kind: str, choices: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        make_plan(ExperimentSpec(task=task, space="tiny", topology=topology))
    assert str(refused.value) == (
        f"--topology '{topology}' does not fit task '{task}' ({kind}); choose one of: auto, "
        f"{choices}"
    )


def test_forecast_windows_come_from_the_series_and_default_objective_from_the_kind() -> None:
    plan = make_plan(ExperimentSpec(task="sine_mix", space="tiny"))
    (seq_len,) = [p for p in plan.space.params if p.name == "seq_len"]
    assert sorted(seq_len.domain() or ()) == plan.prepared.seq_len_candidates()
    assert [o.name for o in plan.objectives] == ["val_mae"]
    asked = make_plan(ExperimentSpec(task="sine_mix", space="tiny", objectives="val_loss,params"))
    assert [o.name for o in asked.objectives] == ["val_loss", "params"]
    assert [o.name for o in make_plan(ExperimentSpec(task="digits")).objectives] == ["val_loss"]


@pytest.mark.parametrize(
    ("seq_len", "first_too_long"),
    [
        (f"{SINE_MIX_MAX_SEQ_LEN + 1}", SINE_MIX_MAX_SEQ_LEN + 1),
        (f"{{choices: [24, {SINE_MIX_MAX_SEQ_LEN + 28}, {SINE_MIX_MAX_SEQ_LEN + 4}]}}", 376),
        (f"{{low: 12, high: {SINE_MIX_MAX_SEQ_LEN + 8}}}", SINE_MIX_MAX_SEQ_LEN + 8),
    ],
    ids=["fixed", "choices", "range"],
)
def test_a_window_the_series_cannot_hold_is_refused_naming_the_smallest_such(
    tmp_path: Path, seq_len: str, first_too_long: int
) -> None:
    path = space(tmp_path, f"  seq_len: {seq_len}\n")
    with pytest.raises(ConfigError) as refused:
        make_plan(ExperimentSpec(task="sine_mix", space=path))
    assert str(refused.value) == (
        f"{path}: seq_len {first_too_long} is longer than the series allows (at most "
        f"{SINE_MIX_MAX_SEQ_LEN} after horizon, validation and test)"
    )


@pytest.mark.parametrize(
    "seq_len", [f"{SINE_MIX_MAX_SEQ_LEN}", f"{{low: 12, high: {SINE_MIX_MAX_SEQ_LEN}}}"]
)
def test_the_longest_window_the_series_holds_is_accepted(tmp_path: Path, seq_len: str) -> None:
    plan = make_plan(
        ExperimentSpec(task="sine_mix", space=space(tmp_path, f"  seq_len: {seq_len}\n"))
    )
    assert plan.prepared.max_seq_len == SINE_MIX_MAX_SEQ_LEN


@pytest.mark.parametrize("scaling", ["global", "{choices: [window, global]}"])
def test_many_series_refuse_a_space_that_draws_global_scaling(tmp_path: Path, scaling: str) -> None:
    path = space(tmp_path, f"  scaling: {scaling}\n  seq_len: 12\n")
    with pytest.raises(ConfigError) as refused:
        make_plan(ExperimentSpec(task="us_employment", space=path))
    assert str(refused.value) == (
        f"{path}: scaling 'global' does not fit many series (they differ in scale; each window "
        "is scaled by its own statistics): write scaling: window"
    )
    plan = make_plan(ExperimentSpec(task="sine_mix", space=path))  # one series: either scaling
    assert plan.prepared.many_series is False


def test_many_series_accept_window_scaling_and_rank_by_the_validation_loss(tmp_path: Path) -> None:
    path = space(tmp_path, "  scaling: window\n  seq_len: 12\n")
    plan = make_plan(ExperimentSpec(task="us_employment", space=path))
    assert plan.prepared.many_series and [o.name for o in plan.objectives] == ["val_loss"]
