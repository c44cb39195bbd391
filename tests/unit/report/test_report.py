"""The search report on snapshots of real studies (journal storage, read back through the
ledger) whose trials carry what the backend records: files, valid PNGs, an offline page, the
words. Optuna's own answers (best trial, Pareto front) are the oracle the report is checked on."""

from __future__ import annotations

import base64
import math
import random
import re
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from automl_rnn.errors import UserError
from automl_rnn.report import (
    CONVERGENCE_PNG,
    HISTORY_PNG,
    IMPORTANCES_PNG,
    PARALLEL_PNG,
    PARETO_PNG,
    REPORT_HTML,
    describe,
    objective_names,
    read,
    write_report,
)
from automl_rnn.report.importance import numeric_axis, param_axis
from automl_rnn.search.ledger import Ledger
from automl_rnn.search.records import StudySnapshot, TrialStatus
from automl_rnn.search.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.ERROR)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXPERIMENT = {"task": "air_passengers", "space": "tiny", "topology": "auto", "objectives": None}
Outcome = tuple[str, str | None]  # (state, failure reason)


def _sample(trial: optuna.Trial) -> dict[str, Any]:
    """A small conditional space like ours: teacher forcing only for encoder-decoders."""
    params: dict[str, Any] = {
        "cell": trial.suggest_categorical("cell", ["gru", "lstm", "rnn_tanh"]),
        "topology": trial.suggest_categorical("topology", ["seq2seq", "encoder_decoder"]),
        "hidden_size": trial.suggest_int("hidden_size", 8, 64),
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [32]),  # constant
    }
    if params["topology"] == "encoder_decoder":
        params["teacher_forcing"] = trial.suggest_float("teacher_forcing", 0.0, 1.0)
    return {**params, "num_layers": 1, "dropout": 0.0}


def _curves(final: float, epochs: int, rng: random.Random) -> dict[str, list[float | None]]:
    val = [round(final * (1 + 2.0 / (e + 1)) + rng.random(), 4) for e in range(epochs)]
    return {
        "train_loss": [round(v / final * 0.5, 4) for v in val],
        "val_loss": [round(v / final, 4) for v in val],
        "val_metric": val,
    }


def build_study(
    folder: Path,
    outcomes: list[Outcome],
    objectives: list[str] | None = None,
    name: str = "air_passengers",
    seed: int = 0,
) -> tuple[optuna.Study, StudySnapshot]:
    """A study in a journal file whose trials look like the backend's: sampled params, user
    attrs state / params / metrics / reason / seed / curves, intermediate values (single
    objective); with the ledger's snapshot of it. No task kind nor objective names are stored,
    like the studies written before they were."""
    multi = objectives is not None and len(objectives) > 1
    study = optuna.create_study(
        study_name=name,
        storage=open_storage(folder),
        directions=["minimize"] * (len(objectives) if objectives else 1),
        sampler=optuna.samplers.RandomSampler(seed=seed),
    )
    study.set_user_attr("experiment", {**EXPERIMENT, "objectives": objectives})
    rng = random.Random(seed)
    for state, reason in outcomes:
        trial = study.ask()
        params = _sample(trial)
        mae = 20 + 400 * params["lr"] + 600 / params["hidden_size"] + 5 * rng.random()
        size = float(40 * params["hidden_size"] + 17)
        epochs = 2 if state == "pruned" else 4
        curves = _curves(mae, epochs, rng)
        if state == "failed":
            curves["val_loss"][-1] = None  # diverged: not finite
        metrics = {
            "val_mae": mae, "test_mae": mae * 0.8, "test_snaive_mae": 40.0,
            "test_rel_mae": mae * 0.8 / 40.0, "params": size, "latency_ms": 0.5,
            "epochs": float(epochs), "best_epoch": float(epochs - 1), "wall_seconds": 1.0,
        }  # fmt: skip
        trial.set_user_attr("state", state)
        trial.set_user_attr("params", params)
        trial.set_user_attr("seed", 1000 + trial.number)
        trial.set_user_attr("metrics", metrics if state != "failed" else {"wall_seconds": 0.1})
        trial.set_user_attr("curves", curves)
        if reason:
            trial.set_user_attr("reason", reason)
        if not multi:
            for epoch, value in enumerate(curves["val_metric"]):
                if value is not None:
                    trial.report(value, epoch)
        if state == "complete":
            study.tell(trial, [mae, size] if multi else mae)
        elif state == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, state=TrialState.FAIL)
    return study, Ledger.open(folder, name).snapshot()


MIXED: list[Outcome] = [("complete", None)] * 8 + [
    ("pruned", "pruned at epoch 1"),
    ("failed", "diverged: non-finite loss"),
    ("pruned", "pruned at epoch 1"),
    ("failed", "error: RuntimeError: boom"),
]


Reported = tuple[optuna.Study, StudySnapshot, list[Path]]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    """8 complete, 2 pruned, 2 failed trials, one objective; its report written once."""
    study, snapshot = build_study(tmp_path_factory.mktemp("single"), MIXED)
    out = tmp_path_factory.mktemp("single_report") / "report"
    return study, snapshot, write_report(snapshot, out, top_k=3)


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    """The same trials searched for two objectives (val_loss, params)."""
    study, snapshot = build_study(tmp_path_factory.mktemp("multi"), MIXED, ["val_loss", "params"])
    out = tmp_path_factory.mktemp("multi_report") / "report"
    return study, snapshot, write_report(snapshot, out)


def assert_valid_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 5_000, (path, len(data))  # a drawn figure, not an empty canvas


def assert_offline_page(page: str, pngs: list[Path]) -> None:
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert not external, external
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()  # no stylesheet to fetch: the CSS is inline
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) == len(pngs)
    for png in pngs:
        assert base64.b64encode(png.read_bytes()).decode("ascii") in embedded, png.name


def test_single_objective_report_writes_the_page_and_four_plots(single: Reported) -> None:
    study, _, files = single
    names = [f.name for f in files]
    assert names == [REPORT_HTML, HISTORY_PNG, CONVERGENCE_PNG, IMPORTANCES_PNG, PARALLEL_PNG]
    folder = files[0].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    assert [p.name for p in folder.parent.iterdir()] == ["report"]  # no temporary folder left
    pngs = files[1:]
    for png in pngs:
        assert_valid_png(png)
    page = files[0].read_text(encoding="utf-8")
    assert_offline_page(page, pngs)
    best = study.best_trial
    assert f"Best trial #{best.number}</strong>" in page
    assert f"val_mae = {best.value:.4g}" in page
    for state in ("complete", "pruned", "failed"):
        assert page.count(f"<td>{state}</td>") == sum(s == state for s, _ in MIXED)
    assert "diverged: non-finite loss" in page and "error: RuntimeError: boom" in page


def test_importance_notes_name_the_conditional_and_the_constant_parameter(
    single: Reported,
) -> None:
    study, _, files = single
    page = files[0].read_text(encoding="utf-8")
    assert "not set (or not sampled alike) in every completed trial: teacher_forcing" in page
    assert "constant over the completed trials: batch_size" in page
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert any("teacher_forcing" in t.params for t in complete)  # the note is about a real gap
    assert any("teacher_forcing" not in t.params for t in complete)


def test_describe_says_what_was_searched_and_what_won(single: Reported) -> None:
    study, snapshot, files = single
    text = describe(snapshot)
    best = study.best_trial
    rel = best.user_attrs["metrics"]["test_rel_mae"]
    assert text.startswith("Study air_passengers searched task air_passengers (space tiny")
    assert "for val_mae (minimize)" in text
    assert "12 trials: 8 complete, 2 pruned, 2 failed" in text
    assert "diverged: non-finite loss x1" in text and "error: RuntimeError: boom x1" in text
    assert f"Best: trial #{best.number} with val_mae={best.value:.4g}" in text
    assert f"hidden_size={best.params['hidden_size']}" in text
    verdict = "beats seasonal naive" if rel < 1 else "does not beat seasonal naive"
    assert f"it {verdict} (test MAE" in text and f"test_rel_mae={rel:.4g}" in text
    assert "\n" not in text
    assert text in files[0].read_text(encoding="utf-8")  # the page opens with the same words


def test_multi_objective_report_adds_the_pareto_front(multi: Reported) -> None:
    study, snapshot, files = multi
    names = [f.name for f in files]
    assert names[-1] == PARETO_PNG and len(names) == 6
    for png in files[1:]:
        assert_valid_png(png)
    page = files[0].read_text(encoding="utf-8")
    assert_offline_page(page, files[1:])
    front = sorted(study.best_trials, key=lambda t: t.values[0])
    assert len(front) >= 2  # a real trade-off between the loss and the size
    assert f"Pareto front holds {len(front)} trial(s)" in page
    for trial in front:
        assert f'<td>#{trial.number}</td><td class="num">{trial.values[0]:.4g}</td>' in page
    assert f"Best trial #{front[0].number}</strong>" in page
    assert objective_names(snapshot) == ["val_loss", "params"]
    assert "for val_loss (minimize), params (minimize)" in describe(snapshot)


def test_study_without_a_completed_trial_still_gets_a_page(tmp_path: Path) -> None:
    outcomes: list[Outcome] = [
        ("failed", "diverged: gradient norm 3.1e+07"),
        ("pruned", "pruned at epoch 1"),
        ("failed", "out_of_memory"),
    ]
    _, snapshot = build_study(tmp_path / "ws", outcomes)
    files = write_report(snapshot, tmp_path / "out")
    assert [f.name for f in files] == [REPORT_HTML]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [REPORT_HTML]
    page = files[0].read_text(encoding="utf-8")
    assert "No trial completed: there is no best trial yet." in page
    assert page.count("No completed trial yet: nothing to plot.") == 3
    assert "Not enough trials: parameter importances need at least 3" in page
    assert "diverged: gradient norm 3.1e+07" in page and "out_of_memory" in page
    assert "data:image/png" not in page
    text = describe(snapshot)
    assert "3 trials: 0 complete, 1 pruned, 2 failed" in text
    assert text.endswith("No trial completed, so there is no winner yet.")


def test_two_completed_trials_are_not_enough_for_importances(tmp_path: Path) -> None:
    _, snapshot = build_study(tmp_path / "ws", [("complete", None)] * 2)
    files = write_report(snapshot, tmp_path / "out")
    assert IMPORTANCES_PNG not in [f.name for f in files]
    assert HISTORY_PNG in [f.name for f in files] and PARALLEL_PNG in [f.name for f in files]
    page = files[0].read_text(encoding="utf-8")
    assert "Not enough trials: parameter importances need at least 3 completed trials" in page


def test_default_objective_name_comes_from_the_forecast_metrics(tmp_path: Path) -> None:
    study, snapshot = build_study(tmp_path, [("complete", None)])
    assert study.user_attrs["experiment"]["objectives"] is None
    assert snapshot.info.kind is None
    assert objective_names(snapshot) == ["val_mae"]
    assert read(snapshot).kind == "forecast"


def test_stored_kind_and_objective_names_are_used_as_stored(tmp_path: Path) -> None:
    study, _ = build_study(tmp_path, [("complete", None)])
    ledger = Ledger.open(tmp_path, study.study_name)
    ledger.store_experiment(study.user_attrs["experiment"], "regression", ["val_rmse"])
    view = read(ledger.snapshot())
    assert view.kind == "regression"  # not guessed from the forecast metrics
    assert view.names == ["val_rmse"]


def test_rewriting_into_a_folder_keeps_other_files_and_drops_stale_plots(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _, two = build_study(tmp_path / "a", MIXED[:4], ["val_loss", "params"])
    assert (out / PARETO_PNG) in write_report(two, out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    _, one = build_study(tmp_path / "b", MIXED[:4])
    files = write_report(one, out)
    assert not (out / PARETO_PNG).exists()
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f.name for f in files), "notes.txt"])
    assert "val_mae" in files[0].read_text(encoding="utf-8")


def test_bad_out_dir_is_a_user_error_and_writes_nothing(tmp_path: Path) -> None:
    _, snapshot = build_study(tmp_path / "ws", MIXED[:3])
    a_file = tmp_path / "taken"
    a_file.write_text("keep", encoding="utf-8")
    with pytest.raises(UserError, match="is an existing file"):
        write_report(snapshot, a_file)
    assert a_file.read_text(encoding="utf-8") == "keep"
    with pytest.raises(UserError, match="cannot write the report to"):
        write_report(snapshot, a_file / "below" / "report")  # a file in the way of the folders
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken", "ws"]


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    _, snapshot = build_study(tmp_path / "ws", MIXED[:3])
    files = write_report(snapshot, tmp_path / "deep" / "er" / "report")
    assert files[0] == tmp_path / "deep" / "er" / "report" / REPORT_HTML
    assert [p.name for p in (tmp_path / "deep" / "er").iterdir()] == ["report"]


def test_parallel_axes_space_categories_evenly_and_scale_log_parameters(tmp_path: Path) -> None:
    _, snapshot = build_study(tmp_path, [("complete", None)] * 10)
    trials = snapshot.by_status(TrialStatus.COMPLETE)
    cells = param_axis("cell", trials)
    seen = [c for c in ("gru", "lstm", "rnn_tanh") if any(t.sampled["cell"] == c for t in trials)]
    assert len(seen) == 3  # every level occurs with this seed
    assert cells.ticks == [(0.0, "gru"), (0.5, "lstm"), (1.0, "rnn_tanh")]
    for trial in trials:
        assert (
            cells.positions[trial.number]
            == {"gru": 0.0, "lstm": 0.5, "rnn_tanh": 1.0}[trial.sampled["cell"]]
        )
    lr = param_axis("lr", trials)
    values = {t.number: t.sampled["lr"] for t in trials}
    low, high = min(values.values()), max(values.values())
    for number, value in values.items():
        expected = math.log(value / low) / math.log(high / low)
        assert lr.positions[number] == pytest.approx(expected)
    assert float(lr.ticks[1][1]) == pytest.approx(math.sqrt(low * high), rel=1e-3)
    flat = numeric_axis("x", {0: 3.0, 1: 3.0}, log=False)
    assert flat.positions == {0: 0.5, 1: 0.5}
