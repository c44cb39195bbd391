"""The classical baselines of a forecast search (:mod:`automl_rnn.data.classical`), fitted in a
process of their own while the trials run: a seasonal AutoARIMA on a long monthly series takes
tens of seconds, which a machine with a spare core hides entirely. The study keeps the scores
(once per data); the process dies with its driver, and a failure there only warns."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.panel_data import PanelData
from automl_rnn.search.ledger import Ledger
from automl_rnn.search.plan import SearchPlan

_log = logging.getLogger("automl_rnn")

MAX_SERIES = 200
"""Many series: the baselines are fitted per series up to this many (a seasonal AutoARIMA takes
about a second each); a larger panel is compared with seasonal naive only, and told so."""

WAIT_S = 600
"""Longest wait for the scores once the trials are done; past it the search ends without them."""


class ClassicalJob:
    """One background scoring of the baselines; :meth:`finish` stores them in the study."""

    def __init__(self, process: subprocess.Popen[bytes], folder: Path, ledger: Ledger) -> None:
        self.process, self.folder, self.ledger = process, folder, ledger

    @classmethod
    def start(cls, spec: ExperimentSpec, plan: SearchPlan, ledger: Ledger) -> ClassicalJob | None:
        """Start scoring, unless turned off, not a forecast, or already in the study."""
        data = plan.prepared
        if not spec.classical_baselines or not isinstance(data, ForecastData | PanelData):
            return None
        if isinstance(data, PanelData) and len(data.ids) > MAX_SERIES:
            _log.warning(
                "AutoETS and AutoARIMA are not fitted on %d series (at most %d, a second or so "
                "each): the verdict compares with seasonal naive only", len(data.ids), MAX_SERIES,
            )  # fmt: skip
            return None
        if ledger.classical_fingerprint() == data.fingerprint:
            return None
        from automl_rnn.data import classical

        cached = classical.read_cached(data)
        if cached is not None:  # scored before on this data: no process, no fit
            ledger.store_classical(data.fingerprint, cached)
            return None
        folder = Path(tempfile.mkdtemp(prefix="automl-rnn-classical-"))
        command = [sys.executable, "-m", "automl_rnn.data.classical", json.dumps(spec.data_args()),
                   str(folder / "scores.json"), str(os.getpid())]  # fmt: skip
        try:
            with (folder / "stderr.txt").open("wb") as errors:
                process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        except OSError as err:
            _log.warning("the classical baselines were not started (%s)", err)
            return None
        return cls(process, folder, ledger)

    def finish(self) -> None:
        """Wait for the scores and keep them in the study (a failure warns and keeps nothing)."""
        try:
            try:
                code = self.process.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                _log.warning("the classical baselines were not scored within %d s", WAIT_S)
                return
            scores = self.folder / "scores.json"
            if code == 0 and scores.is_file():
                payload = json.loads(scores.read_text())
                self.ledger.store_classical(payload["fingerprint"], payload["scores"])
            else:
                lines = (self.folder / "stderr.txt").read_text(errors="replace").splitlines()
                _log.warning(
                    "the classical baselines were not scored (exit %s: %s)",
                    code, lines[-1] if lines else "no message",
                )  # fmt: skip
        except Exception as err:
            _log.warning(
                "the classical baselines were not stored (%s: %s)", type(err).__name__, err
            )
        finally:
            self.stop()

    def stop(self) -> None:
        """End the process (if still running) and remove its folder."""
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=10)
        for path in self.folder.glob("*"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()
