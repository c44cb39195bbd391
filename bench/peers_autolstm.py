"""One neuralforecast ``AutoLSTM`` search on a panel series, run by ``bench/peers.py`` in its own
process: ``peers_autolstm.py TASK SEED TRIALS`` prints the test scores as one JSON line.

The series and its splits come from automl-rnn's own data preparation (the same values, gaps
filled the same way): AutoLSTM tunes on the same validation part (``val_size``) and forecasts the
same test window. Its default space is kept, except the input sizes: those the training part
cannot hold are dropped (the default's ``-1``, "all history", and ``16h``/``64h`` crash on short
series), and ``3h`` then ``2h`` are added while fewer than two remain, as a user would have to.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings

import numpy as np
import pandas as pd


def main(task: str, seed: int, trials: int) -> None:
    import optuna
    from neuralforecast import NeuralForecast
    from neuralforecast.auto import AutoLSTM
    from ray import tune

    from automl_rnn.data import prepare
    from automl_rnn.data.forecast import ForecastData
    from automl_rnn.data.source import DataSource

    data = prepare(DataSource(task=task))
    assert isinstance(data, ForecastData) and data.d == 1
    h, train_len = data.horizon or 1, data.train_end
    config = AutoLSTM.default_config.copy()
    sizes = [m for m in config["input_size_multiplier"] if m > 0 and h * m + h <= train_len]
    for extra in (3, 2):
        if len(sizes) < 2 and extra not in sizes and h * extra + h <= train_len:
            sizes.insert(0, extra)
    config["input_size"] = tune.choice([h * m for m in sizes])
    config["inference_input_size"] = tune.choice(
        [h * m for m in config["inference_input_size_multiplier"]]
    )
    del config["input_size_multiplier"], config["inference_input_size_multiplier"]
    history = pd.DataFrame(
        {"unique_id": "s", "ds": np.arange(data.val_end), "y": data.targets[: data.val_end, 0]}
    )
    model = AutoLSTM(
        h=h,
        config=AutoLSTM._ray_config_to_optuna(config),
        backend="optuna",
        num_samples=trials,
        search_alg=optuna.samplers.TPESampler(seed=seed),
    )
    forecaster = NeuralForecast(models=[model], freq=1)
    forecaster.fit(history, val_size=data.val_size)
    predicted = forecaster.predict()["AutoLSTM"].to_numpy().reshape(1, h, 1)
    scores = data.score("test", predicted)
    print(json.dumps({k: scores[f"test_{k}"] for k in ("mae", "smape", "mase", "rel_mae")}))


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
