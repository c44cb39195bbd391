"""The objectives each task kind offers, pinned whole: the name a user writes, the metric it
reads, its direction and whether it is known per epoch. A wrong direction would make a search
keep its worst trials; a wrong metric would rank trials by something else. Found unpinned by
mutation testing (``search/objectives.py``: 35 survivors)."""

from __future__ import annotations

import pytest

from automl_rnn import metric_names as M
from automl_rnn.errors import ConfigError
from automl_rnn.search.objectives import default_objective, resolve_objectives

COMMON = {
    "val_loss": (M.VAL_LOSS, "minimize", True),
    "params": ("params", "minimize", False),
    "latency_ms": ("latency_ms", "minimize", False),
}
MAE = {"val_mae": (M.VAL_METRIC, "minimize", True)}
ACCURACY = {"val_accuracy": (M.VAL_METRIC, "maximize", True)}
EXACT = {"val_exact": (M.VAL_EXACT, "maximize", True)}


@pytest.mark.parametrize(
    ("kind", "offered"),
    [
        ("forecast", COMMON | MAE),
        ("regression", COMMON | MAE),
        ("classification", COMMON | ACCURACY),
        ("tokens", COMMON | ACCURACY | EXACT),
    ],
)
def test_each_kind_offers_its_objectives_with_their_metric_direction_and_timing(
    kind: str, offered: dict[str, tuple[str, str, bool]]
) -> None:
    per_epoch = [name for name, (_, _, known) in offered.items() if known]
    others = [name for name in offered if name not in per_epoch]
    for first in per_epoch:  # every order a user may write that the rules allow
        names = [first, *[n for n in per_epoch if n != first], *others]
        resolved = resolve_objectives(names, kind)
        assert [o.name for o in resolved] == names
        assert {o.name: (o.metric, o.direction, o.per_epoch) for o in resolved} == offered
    unoffered = {"val_mae", "val_accuracy", "val_exact"} - set(offered)
    for name in unoffered:
        with pytest.raises(ConfigError, match=rf"^objectives: unknown objective '{name}'.*valid: "):
            resolve_objectives([name], kind)


def test_the_refusals_name_what_to_write() -> None:
    with pytest.raises(ConfigError) as empty:
        resolve_objectives([], "forecast")
    assert str(empty.value) == "objectives: give at least one objective, e.g. --objectives val_loss"
    with pytest.raises(ConfigError) as twice:
        resolve_objectives(["val_loss", "params", "val_loss"], "forecast")
    assert str(twice.value) == "objectives: each objective once, got val_loss,params,val_loss"
    with pytest.raises(ConfigError) as late:
        resolve_objectives(["latency_ms", "val_loss"], "forecast")
    assert str(late.value) == (
        "objectives: the first objective must be a validation metric, got 'latency_ms' "
        "(e.g. --objectives val_loss,params)"
    )


@pytest.mark.parametrize(
    ("kind", "many_series", "expected"),
    [
        ("forecast", False, "val_mae"),
        ("forecast", True, "val_loss"),
        ("regression", False, "val_loss"),
        ("classification", False, "val_loss"),
        ("tokens", False, "val_loss"),
    ],
)
def test_the_default_objective_by_kind(kind: str, many_series: bool, expected: str) -> None:
    assert default_objective(kind, many_series) == expected
    assert resolve_objectives([expected], kind)[0].per_epoch
