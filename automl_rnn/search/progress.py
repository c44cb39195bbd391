"""The live progress display of a search: one line per finished trial, on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO

import optuna

from automl_rnn.search.summary import best, counts, fmt


class Progress:
    """Prints ``trial N state value | complete/pruned/failed | best | elapsed`` as trials end."""

    def __init__(
        self, study: optuna.Study, target: int | None, stream: TextIO = sys.stderr
    ) -> None:
        self.study = study
        self.target = target
        self.stream = stream
        self.started = time.monotonic()
        self._seen: set[int] = {
            t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()
        }

    def _line(self, head: str) -> None:
        c = counts(self.study)
        done = c["complete"] + c["pruned"]
        target = f"/{self.target}" if self.target else ""
        try:
            top = best(self.study)
            value = top.get("value", top.get("values"))
            shown = ", ".join(fmt(v) for v in value) if isinstance(value, list) else fmt(value)
            best_text = f"best #{top['trial']} {shown}"
        except Exception:
            best_text = "best -"
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"{head:<44} | done {done}{target} (pruned {c['pruned']}) failed {c['failed']}"
            f" running {c['running']} | {best_text} | {elapsed:5.0f}s\n"
        )
        self.stream.flush()

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """In-process worker: an Optuna study callback, called once each trial is stored."""
        self.poll()

    def poll(self) -> None:
        """Print the trials that ended since the last call (reads the shared storage)."""
        finished = [t for t in self.study.get_trials(deepcopy=False) if t.state.is_finished()]
        for trial in finished:
            if trial.number in self._seen:
                continue
            self._seen.add(trial.number)
            state = str(trial.user_attrs.get("state", trial.state.name.lower()))
            if trial.values:
                detail = ", ".join(fmt(v) for v in trial.values)
            else:
                detail = str(trial.user_attrs.get("reason", ""))
            head = f"trial {trial.number:>3} {state:<8} {detail}"
            self._line(head if len(head) <= 100 else head[:99] + "…")
