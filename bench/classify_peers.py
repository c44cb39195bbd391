"""automl-rnn on a labelled-sequence task against classical references, on the same split.

    python bench/classify_peers.py [--task digits|japanese_vowels] [--seeds 0,1,2] [--trials 10]

The shipped ``digits`` task (1,797 handwritten digits, each read as 8 steps of one 8-pixel row;
scikit-learn's copy of the UCI set), or ``japanese_vowels`` (640 utterances of 7-29 frames x 12
LPC coefficients, 9 speakers; variable lengths), is classified by:

- automl-rnn's default classification search (``--trials``, seeds 0-2), the best trial's test
  accuracy;
- 1-nearest-neighbour with dynamic time warping over the rows (the classic time-series
  classification reference; full window, squared Euclidean step cost), and with plain Euclidean
  distance;
- a logistic regression on the flattened image (scikit-learn, standardised inputs).

With variable lengths (``japanese_vowels``) DTW compares the sequences as they are; plain 1-NN is
left out (``nan``) and the logistic regression reads per-channel mean, standard deviation, first
and last value.

The references see the task's own train and test rows (the search's validation rows are added to
their training rows: they tune nothing). Last line:
``RESULT acc_ours=<median over seeds> acc_1nn_dtw=... acc_1nn=... acc_logreg=... ours_minus_best_ref=...``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parents[1]


def dtw_1nn(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    train_len: np.ndarray | None = None,
    test_len: np.ndarray | None = None,
) -> np.ndarray:
    """Labels of the nearest training sequence by DTW (``[N, T, F]`` inputs, right-padded when
    ``*_len`` give the lengths), vectorised over the training set: each test sequence costs T*T
    steps over all training sequences at once. Padding never enters a path: the warping only
    looks back, so the distance of lengths (a, b) is read at cell (a, b)."""
    labels = np.empty(len(test_x), dtype=train_y.dtype)
    steps = train_x.shape[1]
    ends = np.full(len(train_x), steps) if train_len is None else train_len
    for i, query in enumerate(test_x):
        q_len = query.shape[0] if test_len is None else int(test_len[i])
        query = query[:q_len]
        cost = ((train_x[:, :, None, :] - query[None, None, :, :]) ** 2).sum(-1)  # [N, T, Tq]
        acc = np.full((len(train_x), steps + 1, q_len + 1), np.inf)
        acc[:, 0, 0] = 0.0
        for a in range(1, steps + 1):
            for b in range(1, q_len + 1):
                best = np.minimum(
                    np.minimum(acc[:, a - 1, b], acc[:, a, b - 1]), acc[:, a - 1, b - 1]
                )
                acc[:, a, b] = cost[:, a - 1, b - 1] + best
        labels[i] = train_y[int(np.argmin(acc[np.arange(len(train_x)), ends, q_len]))]
    return labels


def summary_features(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per channel: mean, standard deviation, first and last value of each (unpadded) sequence."""
    rows = []
    for seq, n in zip(x, lengths):
        seq = seq[:n]
        rows.append(np.concatenate([seq.mean(0), seq.std(0), seq[0], seq[-1]]))
    return np.asarray(rows)


def references(task: str, seed: int = 0) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from automl_rnn.data import prepare
    from automl_rnn.data.arrays import ArrayData
    from automl_rnn.data.source import DataSource

    data = prepare(DataSource(task=task))
    assert isinstance(data, ArrayData)
    view = data.views["seq2vec"]
    fit_rows = np.concatenate([data.split["train"], data.split["val"]])
    test_rows = data.split["test"]
    x, y = view.x.astype(np.float64), view.y
    out: dict[str, float] = {}
    started = time.perf_counter()
    lengths = view.lengths
    fit_len, test_len = (None, None) if lengths is None else (lengths[fit_rows], lengths[test_rows])
    predicted = dtw_1nn(x[fit_rows], y[fit_rows], x[test_rows], fit_len, test_len)
    out["acc_1nn_dtw"] = float(np.mean(predicted == y[test_rows]))
    out["dtw_seconds"] = time.perf_counter() - started
    if lengths is None:  # fixed length: the flattened sequence is a vector
        flat = x.reshape(len(x), -1)
        d = ((flat[test_rows, None, :] - flat[None, fit_rows, :]) ** 2).sum(-1)
        out["acc_1nn"] = float(np.mean(y[fit_rows][d.argmin(1)] == y[test_rows]))
    else:  # variable lengths: summary statistics per channel (no 1-NN on them)
        flat = summary_features(x, lengths)
        out["acc_1nn"] = float("nan")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(flat[fit_rows], y[fit_rows])
    out["acc_logreg"] = float(model.score(flat[test_rows], y[test_rows]))
    out["test_rows"] = float(len(test_rows))
    return out


def ours(task: str, seed: int, trials: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as workspace:
        cmd = [sys.executable, "-m", "automl_rnn.cli", "search", "--task", task,
               "--trials", str(trials), "--seed", str(seed), "--workspace", workspace,
               "--no-tracking", "--quiet", "--json"]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    metrics = json.loads(done.stdout)["best"]["metrics"]
    return {"acc": metrics["test_accuracy"], "majority": metrics["test_majority_accuracy"],
            "wall_s": wall}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="digits", help="digits or japanese_vowels")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    refs = references(args.task)
    print(json.dumps({"system": "references", **refs}), flush=True)
    accs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        row = ours(args.task, seed, args.trials)
        accs.append(row["acc"])
        print(json.dumps({"system": "automl-rnn", "seed": seed, **row}), flush=True)
    median = statistics.median(accs)
    best_ref = max(v for k, v in refs.items() if k.startswith("acc_") and v == v)  # not NaN
    print(
        f"RESULT acc_ours={median:.4f} acc_1nn_dtw={refs['acc_1nn_dtw']:.4f} "
        f"acc_1nn={refs['acc_1nn']:.4f} acc_logreg={refs['acc_logreg']:.4f} "
        f"ours_minus_best_ref={median - best_ref:+.4f} worst_seed={min(accs):.4f}"
    )


if __name__ == "__main__":
    main()
