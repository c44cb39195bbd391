"""The live progress display of a search: one line per finished trial, on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from automl_rnn.search.ledger import Ledger
from automl_rnn.search.records import StudySnapshot, TrialRecord
from automl_rnn.search.summary import fmt


class Progress:
    """Prints ``trial N state value | done/pruned/failed/running | best | elapsed`` as trials end."""

    def __init__(self, ledger: Ledger, target: int | None, stream: TextIO = sys.stderr) -> None:
        self.ledger = ledger
        self.target = target
        self.stream = stream
        self.started = time.monotonic()
        self._seen = {t.number for t in ledger.snapshot().trials if t.finished}

    def poll(self) -> None:
        """Print the trials that ended since the last call (reads the shared ledger)."""
        snapshot = self.ledger.snapshot()
        for trial in snapshot.trials:
            if trial.finished and trial.number not in self._seen:
                self._seen.add(trial.number)
                head = _head(trial)
                self._line(snapshot, head if len(head) <= 100 else head[:99] + "…")

    def _line(self, snapshot: StudySnapshot, head: str) -> None:
        c = snapshot.counts()
        done = c["complete"] + c["pruned"]
        target = f"/{self.target}" if self.target else ""
        top = snapshot.best()
        if top is None:
            best_text = "best -"
        else:
            best_text = f"best #{top.number} " + ", ".join(fmt(v) for v in top.values or ())
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"{head:<44} | done {done}{target} (pruned {c['pruned']}) failed {c['failed']}"
            f" running {c['running']} | {best_text} | {elapsed:5.0f}s\n"
        )
        self.stream.flush()


def _head(trial: TrialRecord) -> str:
    detail = ", ".join(fmt(v) for v in trial.values) if trial.values else trial.reason or ""
    return f"trial {trial.number:>3} {trial.status.value:<8} {detail}"
