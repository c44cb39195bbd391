"""Orchestrates one search: spec -> plan -> study (created or resumed) -> workers -> summary."""

from __future__ import annotations

import contextlib
import io
import sys
import time
import traceback
from datetime import datetime
from typing import Any

from automl_rnn.config.experiment import (
    DATA_KEYS,
    ExperimentSpec,
    load_experiment,
    validate_spec,
)
from automl_rnn.errors import ConfigError
from automl_rnn.search.plan import SearchPlan, make_plan

#: Keys that must match when a study is resumed (they change what is searched).
_IDENTITY_KEYS = (*DATA_KEYS, "topology", "space", "objectives")
#: Keys a resumed study may change, with a note: its old and new trials then differ in how
#: they were trained or sampled.
_BUDGET_KEYS = ("max_epochs", "epoch_samples", "patience", "sampler", "pruner", "seed")


def resolve_spec(overrides: dict[str, Any], config: str | None) -> ExperimentSpec:
    """The spec from flags and YAML; ``--study NAME`` alone resumes with the stored spec."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if config is None and "task" not in given and "data" not in given and given.get("study"):
        workspace = str(given.get("workspace", "."))
        stored = _stored_spec(workspace, str(given["study"]))
        if stored is None:
            raise ConfigError(
                f"no study '{given['study']}' in workspace {workspace} to resume; start it with "
                "--task NAME or --data FILE --target COL"
            )
        if "timeout" in given and "trials" not in given:
            stored.pop("trials", None)  # --timeout alone bounds by time, on a resume too
        return validate_spec({**stored, **given}, given)
    return load_experiment(config, overrides)


def _stored_spec(workspace: str, study: str) -> dict[str, Any] | None:
    from pathlib import Path

    import optuna

    from automl_rnn.search.storage import journal_path, open_storage

    folder = Path(workspace).expanduser().resolve()
    if not journal_path(folder).is_file():
        return None
    try:
        loaded = optuna.load_study(study_name=study, storage=open_storage(folder))
    except KeyError:
        return None
    stored = loaded.user_attrs.get("experiment")
    return dict(stored) if isinstance(stored, dict) else None


def _check_resume(study: Any, spec: ExperimentSpec) -> None:
    stored = study.user_attrs.get("experiment")
    current = spec.model_dump(mode="json")
    if not isinstance(stored, dict):
        study.set_user_attr("experiment", current)
        return
    changed = [k for k in _IDENTITY_KEYS if stored.get(k) != current.get(k)]
    if changed:
        raise ConfigError(
            f"study '{spec.study_name}' already exists with a different {', '.join(changed)} "
            f"({', '.join(f'{k}={stored.get(k)!r}' for k in changed)}); "
            "use another --study name to start a new search"
        )
    budget = [k for k in _BUDGET_KEYS if k in stored and stored[k] != current.get(k)]
    if budget:  # allowed (a longer budget, another sampler), but its trials are not alike
        print(
            f"note: study '{spec.study_name}' continues with "
            + ", ".join(f"{k}={current.get(k)!r} (was {stored[k]!r})" for k in budget),
            file=sys.stderr,
        )


def run_search(overrides: dict[str, Any], config: str | None, progress: bool) -> dict[str, Any]:
    """Validate, create or resume the study, run the trials, and summarise."""
    from automl_rnn.backends import optuna_backend
    from automl_rnn.search.progress import Progress
    from automl_rnn.search.storage import recover_stale_trials, recovered_since
    from automl_rnn.search.summary import best, counts, failure_reasons, status
    from automl_rnn.signals import (
        ignore_further_interrupts,
        interrupt_handlers,
        restore_interrupts,
    )

    spec = resolve_spec(overrides, config)
    plan = make_plan(spec)
    started, since = time.monotonic(), datetime.now()
    if spec.tracking and spec.tracking_uri:
        _probe_tracking_server(spec.tracking_uri)  # before anything is written
    study = optuna_backend.create_study(spec, plan)
    _check_resume(study, spec)
    if study.user_attrs.get("stopped"):  # a note on the previous run, not on this one
        study.set_user_attr("stopped", None)
    recover_stale_trials(study)
    search_run = _open_tracking(spec, plan, study)
    target = search_run.target if search_run is not None else None
    display = Progress(study, spec.trials, sys.stderr if progress else io.StringIO())
    # Worker 0 runs here (it has the data and imports already); the others are spawned.
    others = optuna_backend.start_workers(spec, range(1, spec.workers), target)
    handlers = interrupt_handlers()
    try:
        optuna_backend.optimize(spec, plan, 0, progress=display, target=target)
        _join_and_finish_for_dead_workers(spec, plan, study, others, started, display, target)
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):
            ignore_further_interrupts()
        optuna_backend.join_workers(others, stop=True)
        with contextlib.suppress(Exception):  # a worker killed in its cleanup left a trial RUNNING
            recover_stale_trials(study)
        if search_run is not None:
            _close_trial_runs(search_run)
            interrupted = isinstance(err, KeyboardInterrupt)
            _finish(
                search_run,
                study,
                status="KILLED" if interrupted else "FAILED",
                error=None if interrupted else traceback.format_exc(),
            )
        restore_interrupts(handlers)  # a notebook's Ctrl-C works again
        raise
    if search_run is not None:
        _finish(search_run, study)
    display.poll()
    summary: dict[str, Any] = {
        "study": spec.study_name,
        "workspace": str(spec.workspace_path),
        "task": plan.prepared.name,
        "space": plan.space.name,
        "objectives": [o.name for o in plan.objectives],
        "counts": counts(study),
        "failure_reasons": failure_reasons(study),
        "recovered_trials": recovered_since(study, since),
        "elapsed_seconds": status(study)["elapsed_seconds"],
    }
    if search_run is not None:
        summary["mlflow"] = {
            "tracking_uri": search_run.target.tracking_uri,
            "experiment_id": search_run.target.experiment_id,
            "parent_run_id": search_run.run_id,
            "ui": ui_command(spec),
        }
    stopped = study.user_attrs.get("stopped")
    if stopped:
        summary["stopped"] = stopped
    try:
        summary["best"] = best(study)
    except Exception:
        summary["best"] = None
    summary["baseline"] = _baseline_verdict(plan, summary["best"])
    return summary


def _join_and_finish_for_dead_workers(
    spec: ExperimentSpec,
    plan: SearchPlan,
    study: Any,
    others: list[Any],
    started: float,
    display: Any,
    target: Any,
) -> None:
    """Wait for the other workers; if one died, finish the search here (its trial counted as
    running until now: it is failed and its parameters run again)."""
    from automl_rnn.backends import optuna_backend
    from automl_rnn.search.storage import recover_stale_trials

    codes = optuna_backend.join_workers(others)
    for index, code in enumerate(codes, start=1):
        if code != 0:
            print(
                f"warning: worker {index} ended with exit code {code}; any trial it left "
                "running is failed and its parameters are run again",
                file=sys.stderr,
            )
    if not any(codes):
        return
    recover_stale_trials(study)
    rest = _time_left(spec, started)
    if rest is None or rest > 0:
        again = spec.model_copy(update={"timeout": rest})
        optuna_backend.optimize(again, plan, 0, progress=display, target=target)


def _time_left(spec: ExperimentSpec, started: float) -> float | None:
    """Seconds left of ``--timeout`` (None: no timeout)."""
    if spec.timeout is None:
        return None
    return spec.timeout - (time.monotonic() - started)


def _close_trial_runs(search_run: Any) -> None:
    """After an interrupted search, with every worker gone: end any trial run still RUNNING (a
    process cut short in its own cleanup leaves one); a tracking error only warns."""
    from automl_rnn.search.storage import owner_tag
    from automl_rnn.tracking.hygiene import close_orphaned_runs

    target = search_run.target
    try:
        close_orphaned_runs(target.tracking_uri, target.study, ended_owner=owner_tag())
    except Exception as err:
        print(
            f"warning: MLflow: trial runs left open were not closed ({type(err).__name__})",
            file=sys.stderr,
        )


def _finish(search_run: Any, study: Any, **outcome: Any) -> None:
    """End the parent run; a tracking error here only warns (the trials are in the study)."""
    try:
        search_run.finish(study, **outcome)
    except Exception as err:
        text = " ".join(str(err).split())[:200]
        print(
            f"warning: MLflow: the search run was not finished ({type(err).__name__}: {text}); "
            "every trial is stored in the study",
            file=sys.stderr,
        )


def _open_tracking(spec: ExperimentSpec, plan: SearchPlan, study: Any) -> Any:
    """Close orphaned runs of this study, then create or reopen its parent run (None: off)."""
    if not spec.tracking:
        return None
    from automl_rnn.search.storage import owner_tag
    from automl_rnn.tracking.hygiene import close_orphaned_runs, record_tracking_uri
    from automl_rnn.tracking.search_run import SearchRun
    from automl_rnn.tracking.store import resolve_tracking_uri

    uri = resolve_tracking_uri(spec.workspace_path, spec.tracking_uri)
    try:
        close_orphaned_runs(uri, spec.study_name)
        search_run = SearchRun.open(spec, plan, study, owner_tag())
    except Exception as err:
        if all(t.state.name == "WAITING" for t in study.get_trials(deepcopy=False)):
            # Nothing ever ran in it (a study this command created, its first trials queued):
            # leave nothing behind.
            import optuna

            optuna.delete_study(study_name=study.study_name, storage=study._storage)
        raise ConfigError(_unusable(uri, err)) from None
    record_tracking_uri(study, spec.tracking_uri)
    return search_run


def _unusable(uri: str, err: BaseException) -> str:
    text = " ".join(str(err).split())
    if len(text) > 200:
        text = text[:200].rsplit(" ", 1)[0] + " …"
    return (
        f"MLflow tracking at {uri} is not usable ({type(err).__name__}: {text}); "
        "fix --tracking-uri or pass --no-tracking"
    )


def _probe_tracking_server(uri: str) -> None:
    """Refuse an http(s) tracking URI nobody answers at within 5 s (MLflow itself retries for
    minutes), or any other URI MLflow cannot use; one line, before the study exists."""
    import ssl
    from urllib.error import HTTPError, URLError
    from urllib.parse import urlsplit
    from urllib.request import urlopen

    scheme = urlsplit(uri).scheme
    if scheme in ("http", "https"):
        try:
            with urlopen(uri.rstrip("/") + "/health", timeout=5):  # http(s) only: checked above
                return
        except HTTPError:
            return  # something answers (a proxy's 401, an old server without /health)
        except (URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, ssl.SSLError) or isinstance(err, ssl.SSLError):
                return  # it answers; MLflow has its own certificate settings to judge it
            raise ConfigError(
                f"no MLflow server answers at {uri} ({reason}); start it, fix --tracking-uri, "
                "or pass --no-tracking"
            ) from None
    from automl_rnn.tracking.store import client

    try:
        client(uri).search_experiments(max_results=1)
    except Exception as err:
        raise ConfigError(_unusable(uri, err)) from None


def ui_command(spec: ExperimentSpec) -> str:
    """The command that opens the MLflow UI on this search's runs."""
    if spec.tracking_uri:
        return f"open {spec.tracking_uri} (experiment '{spec.study_name}')"
    return f"automl-rnn ui --workspace {spec.workspace_path}"


def _baseline_verdict(plan: SearchPlan, top: dict[str, Any] | None) -> dict[str, Any] | None:
    """Test metrics of the best trial against the task's baseline, in words and numbers."""
    if top is None:
        return None
    metrics = top.get("metrics", {})
    kind = plan.prepared.kind
    if kind == "forecast" and "test_rel_mae" in metrics:
        rel = metrics["test_rel_mae"]
        return {
            "test_mae": metrics.get("test_mae"),
            "seasonal_naive_mae": metrics.get("test_snaive_mae"),
            "test_rel_mae": rel,
            "test_mase": metrics.get("test_mase"),
            "verdict": "beats seasonal naive" if rel < 1 else "does NOT beat seasonal naive",
        }
    if kind == "classification" and "test_accuracy" in metrics:
        acc, base = metrics["test_accuracy"], metrics.get("test_majority_accuracy", 0.0)
        return {
            "test_accuracy": acc,
            "majority_accuracy": base,
            "verdict": "beats the majority class"
            if acc > base
            else "does NOT beat the majority class",
        }
    return {k: v for k, v in metrics.items() if k.startswith("test_")}
