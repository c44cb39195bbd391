"""The study ledger: the one owner of how a study is stored, read and written.

Every backend writes the same records to the workspace's Optuna storage (the journal file by
default), so ``best``, ``status``, ``report``, ``export`` and resume read any study alike. This
module alone knows the storage keys (Optuna user attributes) and maps them to the typed records of
:mod:`automl_rnn.search.records`. Who calls it: the orchestrator (open or create, resume checks,
recovery), the backends (a :class:`TrialHandle` per running trial, in the process that runs it),
and the read commands (:meth:`Ledger.snapshot`, which never writes).

Process safety comes from the storage: Optuna's ``JournalStorage`` appends under a file lock, so
worker processes on one machine write concurrently; trial claims are serialised by
:meth:`Ledger.claims`. On a shared database (``--storage``) the processes of several machines
write to one study; a running trial there heartbeats (:meth:`TrialHandle.heartbeats`), since
another machine cannot tell by its pid whether its process lives.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from automl_rnn.errors import UserError
from automl_rnn.search import stored as keys
from automl_rnn.search.heartbeat import beating
from automl_rnn.search.records import (
    HEARTBEAT_S,
    ParamValue,
    StudyInfo,
    StudySnapshot,
    TrialStatus,
    curves,
)
from automl_rnn.search.storage import (
    claims_lock,
    journal_path,
    open_storage,
    schema_lock,
    storage_errors,
)

if TYPE_CHECKING:
    import optuna

    from automl_rnn.trial.outcome import TrialResult

Direction = Literal["minimize", "maximize"]

# Storage keys and reading stored trials back: automl_rnn.search.stored

#: Failure reason of a trial whose process died while it ran (its parameters are queued again).
WORKER_DIED = "worker died (killed mid-trial)"
#: Failure reason of a trial cut short by Ctrl-C / SIGTERM (its parameters are queued again).
INTERRUPTED = "interrupted"
#: Failure reason of a trial whose node or worker process was lost more often than the
#: backend retries (Ray's ``FailureConfig``); the search's exit status says so.
NODE_LOST = "node lost after retries"
#: Failure reasons the ledger writes on behalf of a trial's process that is gone.
RECOVERED = (WORKER_DIED, NODE_LOST)


class Ledger:
    """One study in one storage (see the module docstring)."""

    def __init__(
        self,
        storage: optuna.storages.BaseStorage,
        study: optuna.Study,
        workspace: Path | None = None,
        url: str | None = None,
    ) -> None:
        self.storage = storage
        self.study = study
        self.workspace = workspace
        self.url = url

    # ---- opening (``url``: a shared database, else the workspace's journal) ----------------------
    @classmethod
    def open(cls, workspace: Path, name: str, url: str | None = None) -> Ledger:
        """The existing study ``name``; a one-line :class:`UserError` when there is none."""
        import optuna

        _quiet(optuna)
        if url is None and not journal_path(workspace).is_file():
            raise UserError(
                f"no studies in workspace {workspace} (run `automl-rnn search` there first)"
            )
        where = "this workspace" if url is None else "this --storage"
        with schema_lock(url):
            storage = open_storage(workspace, url)
        try:
            with storage_errors(url):
                study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
            known = ", ".join(sorted(names)) or "none yet"
            raise UserError(f"no study '{name}' in {where} (studies: {known})") from None
        return cls(storage, study, workspace, url)

    @classmethod
    def find(cls, workspace: Path, name: str, url: str | None = None) -> Ledger | None:
        """The study ``name`` if the storage holds it, else None (nothing is created)."""
        try:
            return cls.open(workspace, name, url)
        except UserError:
            return None

    @classmethod
    def create(
        cls, workspace: Path, name: str, directions: Sequence[Direction], url: str | None = None
    ) -> Ledger:
        """Create the study, or load it when it exists (a resume, or another machine's)."""
        import optuna

        _quiet(optuna)
        with schema_lock(url):  # one process at a time creates the schema and the study
            storage = open_storage(workspace, url)
            with storage_errors(url):
                study = optuna.create_study(
                    study_name=name,
                    storage=storage,
                    directions=list(directions),
                    load_if_exists=True,
                )
        return cls(storage, study, workspace, url)

    def claims(self) -> contextlib.AbstractContextManager[None]:
        """The lock held while trials are counted and the next one created (every machine's
        workers share it on a database)."""
        return claims_lock(self.workspace or Path("."), self.storage, self.name)

    def delete(self) -> None:
        """Remove the study (one this command created and never ran a trial in)."""
        import optuna

        optuna.delete_study(study_name=self.name, storage=self.storage)

    @property
    def name(self) -> str:
        return self.study.study_name

    # ---- reading -------------------------------------------------------------------------------
    def info(self) -> StudyInfo:
        attrs = self.study.user_attrs
        experiment = attrs.get(keys.EXPERIMENT)
        spec = dict(experiment) if isinstance(experiment, dict) else {}
        directions = tuple(d.name.lower() for d in self.study.directions)
        kind = keys.text(attrs.get(keys.KIND))
        return StudyInfo(
            name=self.name,
            directions=directions,
            objective_names=keys.objective_names(
                attrs.get(keys.OBJECTIVES), spec, kind, len(directions)
            ),
            experiment=spec,
            kind=kind,
            task=keys.text(spec.get("task") or spec.get("data")),
            stopped=keys.text(attrs.get(keys.STOPPED)),
            tracking_uris=tuple(str(u) for u in attrs.get(keys.TRACKING_URIS) or ()),
            mlflow_parent_run_id=keys.text(attrs.get(keys.PARENT_RUN)),
            classical=keys.classical_scores(attrs.get(keys.CLASSICAL)),
        )

    def snapshot(self) -> StudySnapshot:
        """Every trial and the study's info, read once (never writes)."""
        frozen = self.study.get_trials(deepcopy=False)
        return StudySnapshot(self.info(), tuple(keys.record(t) for t in frozen))

    def stored_experiment(self) -> dict[str, object] | None:
        stored = self.study.user_attrs.get(keys.EXPERIMENT)
        return dict(stored) if isinstance(stored, dict) else None

    # ---- study-level writes --------------------------------------------------------------------
    def store_experiment(
        self, experiment: Mapping[str, object], kind: str, objective_names: Sequence[str]
    ) -> None:
        """Keep the resolved experiment, the task kind and the objective names with the study."""
        self.study.set_user_attr(keys.EXPERIMENT, dict(experiment))
        self.study.set_user_attr(keys.KIND, kind)
        self.study.set_user_attr(keys.OBJECTIVES, list(objective_names))

    def set_stopped(self, reason: str | None) -> None:
        """Note why the search stopped early (None clears a previous run's note)."""
        if reason is not None or self.study.user_attrs.get(keys.STOPPED):
            self.study.set_user_attr(keys.STOPPED, reason)

    def classical_fingerprint(self) -> str | None:
        """The data fingerprint the stored classical baselines were scored on, if any."""
        stored = self.study.user_attrs.get(keys.CLASSICAL)
        return keys.text(stored.get("fingerprint")) if isinstance(stored, dict) else None

    def store_classical(self, fingerprint: str, scores: Mapping[str, Mapping[str, object]]) -> None:
        """Keep the classical baselines' scores (AutoETS, AutoARIMA) on this study's data."""
        payload = {"fingerprint": fingerprint, "scores": {k: dict(v) for k, v in scores.items()}}
        self.study.set_user_attr(keys.CLASSICAL, payload)

    def set_parent_run(self, run_id: str) -> None:
        self.study.set_user_attr(keys.PARENT_RUN, run_id)

    def add_tracking_uri(self, where: str) -> None:
        """Note where this search logs (the latest last; a resume may move)."""
        stored = self.study.user_attrs.get(keys.TRACKING_URIS)
        used = [str(u) for u in stored or [] if u != where] + [where]
        if used != stored:
            self.study.set_user_attr(keys.TRACKING_URIS, used)

    def enqueue_first_trials(self, points: Sequence[Mapping[str, ParamValue]]) -> None:
        """Queue a new study's known-good first points (a resumed study does not repeat them)."""
        for point in points:
            self.study.enqueue_trial(dict(point), user_attrs={keys.FIRST_TRIAL: True})

    # ---- trials --------------------------------------------------------------------------------
    def handle(self, number: int) -> TrialHandle:
        """Writes for trial ``number`` (from the process that runs it)."""
        return TrialHandle(
            self,
            number,
            self.study._storage.get_trial_id_from_study_id_trial_number(
                self.study._study_id, number
            ),
        )

    def claimed(self) -> int:
        """Trials that count towards ``--trials`` (:meth:`StudySnapshot.claimed`)."""
        return self.snapshot().claimed()

    def requeue(
        self, params: Mapping[str, ParamValue], retry_of: int, resume_from: str | None = None
    ) -> None:
        """Queue ``params`` to run again (a trial that was interrupted or whose worker died),
        continuing from the snapshot at ``resume_from`` where the backend can."""
        if params:
            attrs: dict[str, object] = {keys.RETRY_OF: retry_of}
            if resume_from:
                attrs[keys.RESUME_FROM] = resume_from
            self.study.enqueue_trial(dict(params), user_attrs=attrs, skip_if_exists=False)

    def recover_stale(self) -> list[int]:
        """Fail the RUNNING trials whose process died and queue their parameters again.

        Returns the numbers of the trials recovered. Called where work resumes (``search``) and
        by ``repair``; read commands only report stale trials.
        """
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        recovered = []
        for trial in self.snapshot().stale():
            handle = self.handle(trial.number)
            try:
                handle.fail(WORKER_DIED)
                self.study.tell(trial.number, state=TrialState.FAIL)
            except (UpdateFinishedTrialError, ValueError):
                continue  # another process recovered it a moment ago
            self.requeue(trial.sampled, trial.number, trial.epoch_checkpoint)
            recovered.append(trial.number)
        return recovered

    def recovered_since(self, since: float) -> list[int]:
        """Numbers of the trials failed as :data:`WORKER_DIED` since ``since`` (a timestamp)."""
        return self.failed_since(since, WORKER_DIED)

    def failed_since(self, since: float, reason: str) -> list[int]:
        """Numbers of the trials failed with ``reason`` since ``since`` (a timestamp)."""
        return sorted(
            t.number
            for t in self.snapshot().by_status(TrialStatus.FAILED)
            if t.reason == reason and t.completed is not None and t.completed.timestamp() >= since
        )


class TrialHandle:
    """The writes of one trial, from the process that runs it (or recovers it)."""

    def __init__(self, ledger: Ledger, number: int, trial_id: int) -> None:
        self.ledger, self.number, self._id = ledger, number, trial_id

    def _set(self, key: str, value: object) -> None:
        self.ledger.study._storage.set_trial_user_attr(self._id, key, value)

    def start(self, owner: str, seed: int) -> None:
        """The trial runs in the process ``owner`` with ``seed`` (its first writes)."""
        self._set(keys.OWNER, owner)
        self._set(keys.SEED, seed)

    @contextlib.contextmanager
    def heartbeats(self, every: float = HEARTBEAT_S) -> Iterator[None]:
        """On a shared database: note the time every ``every`` seconds (a daemon thread) while
        the trial runs; a trial whose note is older than the grace period is stale."""
        if self.ledger.url is None:
            yield
            return
        with beating(lambda: self._set(keys.HEARTBEAT, time.time()), every, f"trial-{self.number}"):
            yield

    def set_run_id(self, run_id: str) -> None:
        self._set(keys.RUN_ID, run_id)

    def set_epoch_checkpoint(self, uri: str) -> None:
        """Where the trial's latest per-epoch snapshot is (a requeued copy continues from it)."""
        self._set(keys.EPOCH_CHECKPOINT, uri)

    def resume_from(self) -> str | None:
        """The snapshot this (requeued) trial should continue from, if any."""
        trial = self.ledger.study._storage.get_trial(self._id)
        return keys.text(trial.user_attrs.get(keys.RESUME_FROM))

    def fail(self, reason: str) -> None:
        """Why the trial failed (its state is Optuna's, told by the caller)."""
        self._set(keys.REASON, reason)

    def record(self, result: TrialResult) -> None:
        """Store the trial runner's result (read back as a :class:`TrialRecord`; its state is
        Optuna's, told by the backend)."""
        self._set(keys.PARAMS, result.params)
        self._set(keys.METRICS, {k: v for k, v in result.metrics.items() if math.isfinite(v)})
        if result.reason:
            self._set(keys.REASON, result.reason)
        if result.checkpoint:
            self._set(keys.CHECKPOINT, result.checkpoint)
        if result.history:
            self._set(keys.CURVES, curves(result.history))

    def interrupted(
        self, sampled: Mapping[str, ParamValue], resume_from: str | None = None
    ) -> None:
        """Cut short by Ctrl-C / SIGTERM: failed as interrupted, its parameters queued first
        (continuing from ``resume_from`` where the backend can)."""
        self.fail(INTERRUPTED)
        with contextlib.suppress(Exception):
            self.ledger.requeue(sampled, self.number, resume_from)


def _quiet(optuna: ModuleType) -> None:
    """Optuna logs each study opened and each failed trial; our progress line and summary say
    what matters (failures with their reason)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
