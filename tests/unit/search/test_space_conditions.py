"""``when:`` with several keys: a parameter is sampled only when *all* of them hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from automl_rnn.config.hparams import Hyperparams
from automl_rnn.errors import ConfigError
from automl_rnn.search.space import SearchSpace, load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)

MULTI_KEY = """\
description: conditions on two and three keys
params:
  topology: {choices: [seq2seq, seq2vec]}
  cell: {choices: [lstm, gru]}
  num_layers: {low: 1, high: 3}
  tbptt_steps: {choices: [null, 8], when: {topology: seq2seq}}
  bidirectional: {choices: [false, true], when: {topology: seq2vec, tbptt_steps: null}}
  dropout: {low: 0.0, high: 0.3, when: {num_layers: [2, 3], cell: lstm}}
  readout: {choices: [last, mean], when: {topology: seq2vec, cell: gru, num_layers: 1}}
"""


def _space(tmp_path: Path, text: str = MULTI_KEY) -> SearchSpace:
    path = tmp_path / "multi_key.yaml"
    path.write_text(text, encoding="utf-8")
    return load_space(str(path))


def _draws(space: SearchSpace, n: int, seed: int) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        points.append(space.suggest(trial))
        return 0.0

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n)
    return points


def test_a_multi_key_condition_holds_only_when_every_key_holds(tmp_path: Path) -> None:
    draws = _draws(_space(tmp_path), 400, seed=3)
    for p in draws:
        Hyperparams(**p)  # every draw is a valid point (bidirectional never meets tbptt)
        seq2vec = p["topology"] == "seq2vec"
        assert ("tbptt_steps" in p) == (not seq2vec), p
        assert ("bidirectional" in p) == (seq2vec and p.get("tbptt_steps") is None), p
        assert ("dropout" in p) == (p["num_layers"] in (2, 3) and p["cell"] == "lstm"), p
        assert ("readout" in p) == (seq2vec and p["cell"] == "gru" and p["num_layers"] == 1), p
    # The draws meet every partial match (some keys hold, others not), where "any" would differ.
    partial = {
        "dropout: layers only": [p for p in draws if p["num_layers"] > 1 and p["cell"] == "gru"],
        "dropout: cell only": [p for p in draws if p["num_layers"] == 1 and p["cell"] == "lstm"],
        "readout: two of three": [
            p for p in draws if p["topology"] == "seq2vec" and p["cell"] == "gru"
            and p["num_layers"] > 1
        ],
        "bidirectional: tbptt null only": [p for p in draws if p.get("tbptt_steps", 0) is None],
    }  # fmt: skip
    assert all(partial.values()), {k: len(v) for k, v in partial.items()}
    assert any("readout" in p for p in draws) and any("dropout" in p for p in draws)


def test_a_first_trial_that_meets_only_part_of_a_condition_is_refused(tmp_path: Path) -> None:
    text = MULTI_KEY + "first_trials:\n  - {num_layers: 2, cell: gru, dropout: 0.1}\n"
    with pytest.raises(ConfigError, match=r"parameter 'dropout': given, but its condition"):
        _space(tmp_path, text)
