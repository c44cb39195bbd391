"""The best trial of a multi-objective study follows the first objective's direction."""

from __future__ import annotations

import optuna
import pytest

from automl_rnn.search.ledger import Ledger
from automl_rnn.search.summary import best

optuna.logging.set_verbosity(optuna.logging.WARNING)

# (first objective, second objective) of three trials, all on the Pareto front.
VALUES = [(0.90, 3.0), (0.95, 5.0), (0.80, 1.0)]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [("maximize", "minimize", 1), ("minimize", "maximize", 2)],
    ids=["maximize", "minimize"],
)
def test_best_is_the_front_trial_best_on_the_first_objective(
    first: str, second: str, expected: int
) -> None:
    # In both set-ups a better first value always costs a worse second one: all three trials
    # are on the Pareto front, and only the first objective's direction tells the best.
    study = optuna.create_study(directions=[first, second])
    for i in range(len(VALUES)):
        study.enqueue_trial({"i": i})
    study.optimize(lambda trial: VALUES[trial.suggest_int("i", 0, 2)], n_trials=3)
    assert len(study.best_trials) == 3
    snapshot = Ledger(study._storage, study).snapshot()
    assert len(snapshot.pareto_front()) == 3
    top = snapshot.best()
    assert top is not None and top.number == expected
    record = best(snapshot)
    assert record["trial"] == expected
    assert record["pareto_front"][0]["trial"] == expected
