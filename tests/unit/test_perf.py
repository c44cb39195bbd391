"""The allocator tuning search processes apply (glibc only; each case in a fresh process)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CODE = "from automl_rnn.perf import tune_allocator; print(tune_allocator(), tune_allocator())"


def run(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "AUTOML_RNN_TUNE_MALLOC"}
    if env_value is not None:
        env["AUTOML_RNN_TUNE_MALLOC"] = env_value
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_tunes_glibc_once_per_process() -> None:
    assert run(None) == "True True"


def test_can_be_turned_off() -> None:
    assert run("0") == "False False"
