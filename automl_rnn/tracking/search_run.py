"""The parent MLflow run of a search: what was searched, how to reproduce it, and what won.

One parent run per study: created by the first ``search``, reopened (RUNNING again) when the same
study is resumed, so all of a study's trial runs nest under one parent. Its id is kept in the
study's ledger (:meth:`automl_rnn.search.ledger.Ledger.set_parent_run`).
"""

from __future__ import annotations

import platform
import shlex
import sys
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_rnn.search.verdict import baseline_verdict
from automl_rnn.tracking.mlflow_tracker import TrackingTarget, make_metric
from automl_rnn.tracking.store import (
    OWNER_TAG,
    ROLE_TAG,
    STUDY_TAG,
    client,
    ensure_experiment,
    resolve_tracking_uri,
)

if TYPE_CHECKING:
    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.search.ledger import Ledger
    from automl_rnn.search.plan import SearchPlan
    from automl_rnn.search.records import StudySnapshot
_PACKAGES = ("automl-rnn", "torch", "pytorch-lightning", "optuna", "mlflow", "numpy", "pandas")


class SearchRun:
    """The parent run of one search (see the module docstring)."""

    def __init__(self, target: TrackingTarget, mlflow_client: Any = None) -> None:
        self.target = target
        self.client = mlflow_client if mlflow_client is not None else client(target.tracking_uri)

    @property
    def run_id(self) -> str:
        return self.target.parent_run_id

    @classmethod
    def open(cls, spec: ExperimentSpec, plan: SearchPlan, ledger: Ledger, owner: str) -> SearchRun:
        """Create the study's parent run, or reopen it when the study is resumed."""
        uri = resolve_tracking_uri(spec.workspace_path, spec.tracking_uri)
        mlflow_client = client(uri)
        experiment_id = ensure_experiment(mlflow_client, spec.study_name, spec.workspace_path, uri)
        run_id = _existing_parent(mlflow_client, ledger.info().mlflow_parent_run_id)
        if run_id is not None:
            mlflow_client.update_run(run_id, status="RUNNING")
            mlflow_client.set_tag(run_id, OWNER_TAG, owner)
            mlflow_client.set_tag(run_id, "resumed_at", time.strftime("%Y-%m-%d %H:%M:%S"))
        else:
            run = mlflow_client.create_run(
                experiment_id,
                run_name=f"search-{spec.study_name}",
                tags={
                    ROLE_TAG: "search",
                    STUDY_TAG: spec.study_name,
                    OWNER_TAG: owner,
                    "mlflow.source.name": "automl-rnn",
                    "data_fingerprint": str(plan.prepared.fingerprint),
                    "task": str(plan.prepared.name),
                    "kind": str(plan.prepared.kind),
                },
            )
            run_id = run.info.run_id
            ledger.set_parent_run(run_id)
        search = cls(TrackingTarget(uri, experiment_id, run_id, spec.study_name), mlflow_client)
        search._log_inputs(spec, plan)
        return search

    def _log_inputs(self, spec: ExperimentSpec, plan: SearchPlan) -> None:
        """Spec, space, versions and the reproduction command (rewritten on every resume)."""
        from mlflow.entities import Param

        resolved = {k: v for k, v in spec.public().items() if v is not None}  # no password
        params = {
            "backend": spec.backend,
            "sampler": spec.sampler,
            "pruner": spec.pruner,
            "seed": spec.seed,
            "space": plan.space.name,
            "objectives": ",".join(o.name for o in plan.objectives),
            "data": spec.task or spec.data,
            "topology": spec.topology,
            "max_epochs": spec.max_epochs,
        }
        logged = self.client.get_run(self.run_id).data.params
        fresh = [Param(k, str(v)) for k, v in params.items() if k not in logged]
        if fresh:
            self.client.log_batch(self.run_id, params=fresh)
        self.client.log_dict(self.run_id, resolved, "experiment.yaml")
        self.client.log_dict(self.run_id, plan.space.to_dict(), "search_space.yaml")
        self.client.log_dict(self.run_id, versions(), "versions.json")
        self.client.log_text(self.run_id, reproduce_command(spec) + "\n", "reproduce.sh")
        self.client.set_tag(self.run_id, "reproduce", reproduce_command(spec))
        self.client.set_tag(
            self.run_id,
            "mlflow.note.content",
            f"Searching {plan.prepared.kind} task '{plan.prepared.name}' with space "
            f"'{plan.space.name}' ({spec.sampler} + {spec.pruner}, budget "
            f"{spec.trials or 'unbounded'} trials); running.",
        )

    def finish(
        self,
        snapshot: StudySnapshot,
        description: str,
        report: Path | None = None,
        status: str = "FINISHED",
        error: str | None = None,
        ensemble: Mapping[str, Any] | None = None,
    ) -> None:
        """Record counts, the winner, the default export's ``ensemble`` (its trials as the tag
        ``ensemble_trials``, its scores as ``ensemble_<metric>``), the description and the
        report folder; end the run."""
        try:
            tally = snapshot.counts()
            self.client.log_batch(
                self.run_id,
                metrics=[make_metric(f"trials_{k}", v) for k, v in tally.items() if k != "waiting"],
            )
            top = snapshot.best()
            if top is not None:
                self.client.log_batch(
                    self.run_id,
                    metrics=[make_metric("best_trial", top.number)]
                    + [make_metric(f"best_value_{i}", v) for i, v in enumerate(top.values or ())],
                )
                self.client.set_tag(self.run_id, "best_trial", str(top.number))
                if top.mlflow_run_id:
                    self.client.set_tag(self.run_id, "best_run_id", top.mlflow_run_id)
                self._log_verdict(snapshot, top.metrics)
            if ensemble:
                trials = ",".join(str(n) for n in ensemble["trials"])
                self.client.set_tag(self.run_id, "ensemble_trials", trials)
                self.client.log_batch(
                    self.run_id,
                    metrics=[
                        make_metric(f"ensemble_{k}", v) for k, v in ensemble["metrics"].items()
                    ],
                )
            self.client.set_tag(self.run_id, "mlflow.note.content", description)
            if error:
                self.client.log_text(self.run_id, error, "traceback.txt")
            if report is not None:
                self.client.log_artifacts(self.run_id, str(report), "report")
        finally:
            self.client.set_terminated(self.run_id, status=status)

    def _log_verdict(self, snapshot: StudySnapshot, metrics: Mapping[str, float]) -> None:
        """The baselines' scores (``baseline_auto_ets_test_mae``, ...) and the verdict's words."""
        info = snapshot.info
        verdict = baseline_verdict(info.kind, metrics, info.classical) or {}
        scores = [
            make_metric(f"baseline_{key}_{name}", value)
            for key, table in info.classical.items()
            for name, value in table.items()
            if isinstance(value, float | int)
        ]
        if scores:
            self.client.log_batch(self.run_id, metrics=scores)
        for tag in ("verdict", "classical_verdict", "winner_on_test", "best_on_validation"):
            if isinstance(verdict.get(tag), str):
                self.client.set_tag(self.run_id, tag, str(verdict[tag]))


def _existing_parent(mlflow_client: Any, run_id: str | None) -> str | None:
    if not run_id:
        return None
    try:
        run = mlflow_client.get_run(run_id)
    except Exception:  # deleted, or the study moved to another tracking store
        return None
    return None if run.info.lifecycle_stage == "deleted" else run_id


def versions() -> dict[str, str]:
    """Python, platform and package versions the search ran with."""
    found: dict[str, str] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def reproduce_command(spec: ExperimentSpec) -> str:
    """An ``automl-rnn search`` command line that reruns this search from scratch."""
    from automl_rnn.config.experiment import ExperimentSpec as Spec

    defaults = Spec.model_fields
    args = ["automl-rnn", "search"]
    for name, value in spec.public().items():  # --storage with its password masked
        if name in ("task_params", "tracking") or value is None:
            continue
        field = defaults[name]
        if not field.is_required() and field.get_default(call_default_factory=True) == value:
            continue
        flag = "--" + name.replace("_", "-")
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        if name == "workspace":
            text = str(spec.workspace_path)
        args += [flag, text]
    if spec.task_params:  # no flag for these: the run's experiment.yaml holds them
        return "automl-rnn search --config experiment.yaml  # the parent run's artifact"
    return " ".join(shlex.quote(a) for a in args)
