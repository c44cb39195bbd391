"""The experiment a search runs, from flags, YAML or the stored study, and what a resume may change."""

from __future__ import annotations

import sys
from pathlib import Path

from automl_rnn.config.experiment import DATA_KEYS, ExperimentSpec, load_experiment, validate_spec
from automl_rnn.errors import ConfigError
from automl_rnn.search.ledger import Ledger
from automl_rnn.search.storage import check_storage, journal_path

#: Keys that must match when a study is resumed (they change what is searched).
_IDENTITY_KEYS = (*DATA_KEYS, "topology", "space", "objectives")
#: Keys a resumed study may change, with a note: its old and new trials then differ in how
#: they were trained or sampled.
_BUDGET_KEYS = ("max_epochs", "epoch_samples", "patience", "sampler", "pruner", "seed", "backend")

#: Flag values as the CLI passes them (None: not given).
Overrides = dict[str, object]


def resolve_spec(overrides: Overrides, config: str | None) -> ExperimentSpec:
    """The spec from flags and YAML; ``--study NAME`` alone resumes with the stored spec."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if config is None and "task" not in given and "data" not in given and given.get("study"):
        workspace = str(given.get("workspace", "."))
        folder = Path(workspace).expanduser().resolve()
        # No journal, no study: refused without importing optuna.
        url = given.get("storage")
        if url is not None:  # a wrong password is said as such, not as "no study"
            check_storage(str(url))
        here = url is not None or journal_path(folder).is_file()
        found = Ledger.find(folder, str(given["study"]), _text(url)) if here else None
        where = f"workspace {workspace}" if url is None else "--storage"
        stored = found.stored_experiment() if found is not None else None
        if stored is None:
            raise ConfigError(
                f"no study '{given['study']}' in {where} to resume; start it with "
                "--task NAME or --data FILE --target COL"
            )
        if "timeout" in given and "trials" not in given:
            stored.pop("trials", None)  # --timeout alone bounds by time, on a resume too
        return validate_spec({**stored, **given}, given)
    return load_experiment(config, overrides)


def check_resume(ledger: Ledger, spec: ExperimentSpec) -> bool:
    """Refuse a resume that changes what is searched; note one that changes the budget.

    Returns whether the study already held an experiment (a resume)."""
    stored = ledger.stored_experiment()
    if stored is None:
        return False
    current = spec.public()
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
    return True


def _text(value: object) -> str | None:
    return None if value is None else str(value)
