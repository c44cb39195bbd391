"""``automl-rnn export``: one trial to a folder that predicts without the training stack.

The folder (``--out``) holds:

- ``manifest.json``: study, trial, params, metrics, seed, data fingerprint, package versions, the
  verification of each format, and the sha256 of every other file (checked before any load);
- ``preprocess.json``: how input tables become the graph's input and its output becomes answers
  (window, scaling, time column and frequency, horizon, targets, classes, vocabularies);
- ``weights.pt``: the state_dict (tensors only; loaded with ``weights_only=True``);
- ``model.onnx`` (``--format onnx``) and ``model.torchscript.pt`` (``--format torchscript``).

It is built in a hidden folder beside ``--out`` and renamed into place only when complete and
verified, so a failed export leaves nothing behind. ``--format mlflow`` also logs the folder as a
pyfunc model to the trial's MLflow run (:mod:`automl_rnn.export.pyfunc`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_rnn.errors import ConfigError, UserError, closest
from automl_rnn.export import runtime, writing
from automl_rnn.export.folder import check_out, publish, staging_for, writable
from automl_rnn.export.loading import trial_checkpoint

if TYPE_CHECKING:
    from torch import Tensor

    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.config.hparams import Hyperparams
    from automl_rnn.data.prepared import PreparedData
    from automl_rnn.search.records import StudyInfo, StudySnapshot, TrialRecord

FORMATS = ("onnx", "torchscript", "mlflow")
DEFAULT_FORMATS = "onnx,torchscript,mlflow"


def parse_formats(text: str) -> list[str]:
    """``"onnx,torchscript"`` -> ``["onnx", "torchscript"]``; unknown names are a ConfigError."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise ConfigError(f"--format: give one or more of {', '.join(FORMATS)}")
    for name in names:
        if name not in FORMATS:
            raise ConfigError(
                f"--format: unknown format '{name}'{closest(name, FORMATS)}; "
                f"valid: {', '.join(FORMATS)}"
            )
    if "mlflow" in names and not {"onnx", "torchscript"} & set(names):
        raise ConfigError(
            "--format mlflow serves the exported ONNX or TorchScript graph: add one of them "
            "(e.g. --format onnx,mlflow)"
        )
    return [name for name in FORMATS if name in names]


def _pick_trial(snapshot: StudySnapshot, number: int | None) -> TrialRecord:
    """The trial to export: ``number``, or the best completed trial."""
    from automl_rnn.search.records import TrialStatus

    name = snapshot.info.name
    top = snapshot.best()
    if number is None:
        if top is None:
            raise UserError(f"study '{name}' has no completed trial yet")
        return top
    trials = {t.number: t for t in snapshot.trials}
    complete = sorted(t.number for t in snapshot.by_status(TrialStatus.COMPLETE))
    done = ", ".join(map(str, complete)) or "none"
    if number not in trials:
        raise UserError(f"--trial {number}: study '{name}' has no such trial; completed: {done}")
    trial = trials[number]
    if trial.status is not TrialStatus.COMPLETE:
        raise UserError(
            f"--trial {number}: trial is {trial.status.value}, not complete; "
            f"completed trials: {done}"
        )
    return trial


def _ensemble_members(snapshot: StudySnapshot, size: int) -> list[TrialRecord]:
    from automl_rnn.export.assembly import pick_members

    return pick_members(snapshot, size)


def _stored_spec(info: StudyInfo, workspace: Path) -> ExperimentSpec:
    from pydantic import ValidationError

    from automl_rnn.config.experiment import ExperimentSpec

    stored = dict(info.experiment)
    if not stored:
        raise UserError(f"study '{info.name}' has no stored experiment to export from")
    data = stored.get("data")
    if isinstance(data, str) and not Path(data).is_absolute() and not Path(data).exists():
        beside = workspace / data  # searched from the workspace folder (the default)
        if beside.exists():
            stored = {**stored, "data": str(beside)}
    try:
        return ExperimentSpec.model_validate({**stored, "workspace": str(workspace)})
    except ValidationError as err:
        raise ConfigError(f"study '{info.name}': stored experiment is invalid ({err})") from None


def _prepare(spec: ExperimentSpec, study_name: str) -> PreparedData:
    from automl_rnn.data import prepare
    from automl_rnn.data.source import DataSource

    try:
        return prepare(DataSource.from_args(spec.data_args()))
    except UserError as err:
        raise type(err)(
            f"study '{study_name}' data: {err} (export reads the data the study searched)"
        ) from None


def _check_data(info: StudyInfo, workspace: Path, prepared: PreparedData) -> None:
    """Refuse data that differ from what the study searched (the fingerprint its parent MLflow
    run recorded): the trial's weights belong to that data's windows and scaling."""
    from automl_rnn.errors import DataError
    from automl_rnn.tracking.hygiene import study_tracking_uri
    from automl_rnn.tracking.store import client

    run_id, uri = info.mlflow_parent_run_id, study_tracking_uri(info, workspace)
    if not run_id or uri is None:
        return
    try:
        recorded = client(uri).get_run(run_id).data.tags.get("data_fingerprint")
    except Exception:  # store unreachable: nothing to compare with
        return
    if recorded and recorded != prepared.fingerprint:
        raise DataError(
            f"study '{info.name}': its data changed since the search (fingerprint "
            f"{prepared.fingerprint[:12]}, searched {recorded[:12]}); restore the data it "
            "searched to export its trials"
        )


def export_trial(
    snapshot: StudySnapshot,
    workspace: Path,
    out: str,
    trial: int | None = None,
    formats: str = DEFAULT_FORMATS,
    register: str | None = None,
    refit: bool = False,
    force: bool = False,
    ensemble: int | None = None,
) -> dict[str, Any]:
    """Export one trial of the study to ``out``, or (``ensemble``) the mean of its best
    ``ensemble`` trials as one graph (see the module docstring; ``force`` replaces a non-empty
    ``out`` once the new export is complete); return a summary. Without ``trial``, ``ensemble``
    or ``refit``, a forecast of one series with enough completed trials exports the ensemble of
    :data:`~automl_rnn.export.choice.DEFAULT_SIZE` (``ensemble=1``: the best trial alone)."""
    chosen = parse_formats(formats)
    if ensemble is not None and trial is not None:
        raise ConfigError("--ensemble takes the study's best trials itself: drop --trial")
    if register is not None and "mlflow" not in chosen:
        raise ConfigError("--register needs the mlflow format: add mlflow to --format")
    if register is not None and not register.strip():
        raise ConfigError("--register: give a model name")
    target = Path(out).expanduser().resolve()
    check_out(target, force)
    info = snapshot.info
    by_default = ensemble is None and trial is None and not refit
    if ensemble == 1:
        ensemble = None  # the best trial alone, exported as such
    members = None if ensemble is None else _ensemble_members(snapshot, ensemble)
    picked = _pick_trial(snapshot, trial) if members is None else members[0]  # refusals first
    spec = _stored_spec(info, workspace)
    prepared = _prepare(spec, info.name)
    if by_default:
        from automl_rnn.export.choice import default_size

        size = default_size(snapshot, prepared)
        members = None if size is None else _ensemble_members(snapshot, size)
        picked = picked if members is None else members[0]
    record = picked.to_json(info.name)
    records = [m.to_json(info.name) for m in members or ()]
    checkpoint = None if refit else trial_checkpoint(workspace, info.name, record)
    for other in records if not refit else ():
        trial_checkpoint(workspace, info.name, other)  # every member's weights, before any work
    _check_data(info, workspace, prepared)
    if members is not None:
        from automl_rnn.export.assembly import check_supported

        check_supported(prepared, info.name)
    staging = writable(target, lambda: staging_for(target))
    try:
        summary = (
            _build(info.name, workspace, spec, prepared, record, checkpoint, chosen, staging)
            if members is None
            else _build_ensemble(
                info.name, workspace, spec, prepared, records, refit, chosen, staging
            )
        )
        if refit and members is None:
            summary["refit"] = summary["manifest"]["refit"]
        if "mlflow" in chosen:
            summary["mlflow"] = _log_mlflow(
                spec, workspace, prepared, record, picked.mlflow_run_id, staging, register
            )
            summary["manifest"]["mlflow"] = summary["mlflow"]
            writing.write_json(staging / runtime.MANIFEST, summary["manifest"])
        writable(target, lambda: publish(staging, target))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary["out"] = str(target)
    summary["files"] = sorted(p.name for p in target.iterdir())
    return summary


def _build(
    study: str,
    workspace: Path,
    spec: ExperimentSpec,
    prepared: PreparedData,
    record: dict[str, Any],
    checkpoint: Path | None,
    formats: list[str],
    folder: Path,
) -> dict[str, Any]:
    """One trial's weights, preprocessing, graphs (each verified) and manifest, into ``folder``."""
    import torch

    from automl_rnn.data.contract import DataShape
    from automl_rnn.export import codec, network
    from automl_rnn.training.recipe import arch_of, resolve_params

    torch.set_num_threads(spec.threads)
    hp = resolve_params(record["params"], prepared)
    topology = str(hp.topology)
    shape: DataShape = prepared.shape(topology)
    arch = arch_of(hp)
    state, refit_info = _weights(spec, prepared, record, hp, checkpoint)
    pre = {
        "format_version": runtime.TRIAL_FORMAT_VERSION,
        "kind": prepared.kind,
        "task": prepared.name,
        "topology": topology,
        "network": network.network_spec(arch, shape),
        **codec.describe(spec, prepared, hp),
    }
    graph = writing.Graph(
        net=network.build_inference_net(pre["network"], state),
        state=state,
        pre=pre,
        inputs=codec.samples(pre, prepared, hp),
        float_out=shape.is_float_target,
        per_step=topology == "seq2seq" and (not shape.is_float_target or shape.per_step_target),
    )
    extra = {
        "checkpoint": None if checkpoint is None else _checkpoint_entry(checkpoint),
        "refit": refit_info,
    }
    return writing.write(study, spec, prepared, record, graph, formats, folder, extra)


def _checkpoint_entry(path: Path) -> dict[str, str]:
    """How the manifest names the weights a folder was made from."""
    return {"path": str(path), "sha256": runtime.sha256(path)}


def _weights(
    spec: ExperimentSpec,
    prepared: PreparedData,
    record: dict[str, Any],
    hp: Hyperparams,
    checkpoint: Path | None,
) -> tuple[dict[str, Tensor], dict[str, Any] | None]:
    """A trial's kept weights (``checkpoint``), or (None) its configuration retrained on train +
    validation, with what the refit did and scored."""
    from automl_rnn.export.loading import trial_weights
    from automl_rnn.export.refit import epochs_of, refit

    if checkpoint is not None:
        return trial_weights(checkpoint, record["trial"]), None
    epochs = epochs_of(record["metrics"])
    state, test_metrics = refit(spec, prepared, hp, int(record["seed"]), epochs)
    info = {"data": "train+val", "epochs": epochs, "seed": record["seed"], "metrics": test_metrics}
    return state, info


def _build_ensemble(
    study: str,
    workspace: Path,
    spec: ExperimentSpec,
    prepared: PreparedData,
    records: list[dict[str, Any]],
    refitted: bool,
    formats: list[str],
    folder: Path,
) -> dict[str, Any]:
    """The ensemble of ``records`` (:mod:`.assembly`), written and verified like one trial."""
    import torch

    from automl_rnn.export import assembly, codec
    from automl_rnn.training.recipe import resolve_params

    torch.set_num_threads(spec.threads)
    series = assembly.check_supported(prepared, study)
    checkpoints: dict[int, dict[str, Any]] = {}
    refits: dict[int, dict[str, Any] | None] = {}

    def weights_of(record: dict[str, Any], hp: Hyperparams) -> dict[str, Tensor]:
        path = None if refitted else trial_checkpoint(workspace, study, record)
        if path is not None:
            checkpoints[int(record["trial"])] = _checkpoint_entry(path)
        state, refits[int(record["trial"])] = _weights(spec, prepared, record, hp, path)
        return state

    made = assembly.assemble(series, records, weights_of)
    top = records[0]
    hp = resolve_params(top["params"], prepared).model_copy(
        update={"seq_len": made.window, "scaling": "global"}
    )
    pre = {
        "format_version": runtime.ENSEMBLE_FORMAT_VERSION,
        "kind": prepared.kind,
        "task": prepared.name,
        "topology": "ensemble",
        "network": made.network,
        **codec.describe(spec, prepared, hp),
    }
    graph = writing.Graph(
        made.net, made.state, pre, codec.samples(pre, prepared, hp), float_out=True, per_step=False
    )
    ensemble = {
        "size": len(records),
        "trials": [int(r["trial"]) for r in records],
        "rule": "the study's best trials on its validation objective, averaged with equal weights",
        "metrics": made.metrics,
        "members": [
            {**member, "checkpoint": checkpoints.get(member["trial"]),
             "refit": refits.get(member["trial"])}
            for member in made.members
        ],
    }  # fmt: skip
    extra = {"checkpoint": None, "refit": None, "ensemble": ensemble}
    return writing.write(study, spec, prepared, top, graph, formats, folder, extra)


def _log_mlflow(
    spec: ExperimentSpec,
    workspace: Path,
    prepared: PreparedData,
    record: dict[str, Any],
    run_id: str | None,
    folder: Path,
    register: str | None,
) -> dict[str, Any]:
    """Log the folder as the MLflow pyfunc model (signature from a real prediction)."""
    from automl_rnn.export import codec, pyfunc
    from automl_rnn.tracking.store import resolve_tracking_uri
    from automl_rnn.training.recipe import resolve_params

    hp = resolve_params(record["params"], prepared)
    bundle = runtime.load_bundle(folder)
    example = codec.input_example(bundle.pre, prepared, hp)
    prediction = bundle.predict(example, "input example")
    engines = [name for name in ("onnx", "torchscript") if name in bundle.manifest["engines"]]
    target = pyfunc.Target(
        tracking_uri=resolve_tracking_uri(workspace, spec.tracking_uri),
        workspace=workspace,
        study=str(record["study"]),
        trial=int(record["trial"]),
        run_id=run_id,
    )
    return pyfunc.log(target, folder, engines, example, prediction, register)
