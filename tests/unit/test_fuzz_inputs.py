"""Fuzzing the CLI's inputs: whatever the data file, experiment file, space file or flag values,
``automl-rnn`` exits 0 or refuses with exit 2 and one ``error:`` line; never a traceback, and a
refusal writes nothing (the workspace stays absent).

The CLI's ``main()`` runs in this process (fast). ``search`` never trains here: its backend is
replaced by one that stops the command once every check has passed (:class:`Accepted`), which is
where a real search would create its study; so the workspace must be absent after every example,
refused or accepted. Hypothesis runs derandomized (the same examples every time) with no example
database, and modest example counts keep the module within seconds.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import yaml

pytest.importorskip("hypothesis")  # the dev extra installs it

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from automl_rnn import cli
from automl_rnn.data import clear_cache

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)

VALID_CSV = "month,sales,promo,review,label\n" + "".join(
    f"{2000 + i // 12}-{i % 12 + 1:02d},{100 + 10 * (i % 12) + i:.1f},{i % 3},"
    f"{'good' if i % 2 else 'bad'} day {i},{i % 2}\n"
    for i in range(72)
)


class Accepted(BaseException):
    """Raised where the search would pick its backend: every input check has passed."""


def _accept(name: str) -> None:
    raise Accepted(name)


_names = itertools.count()


def _fresh(folder: Path, suffix: str, content: bytes) -> Path:
    """A new file each example (the data layer memoises by file name, size and mtime)."""
    path = folder / f"in{next(_names)}{suffix}"
    path.write_bytes(content)
    return path


@contextlib.contextmanager
def _argv(args: list[str]) -> Iterator[None]:
    saved, handler = sys.argv, signal.getsignal(signal.SIGTERM)
    sys.argv = ["automl-rnn", *args]
    try:
        yield
    finally:
        sys.argv = saved
        signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def _warnings_to(stream: io.StringIO) -> Iterator[None]:
    """Log records of WARNING and above go to ``stream``, as Python's last-resort handler sends
    them to the real CLI's stderr (pytest's own log capture would swallow them here)."""
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)


def run_cli(args: list[str], workspace: Path) -> tuple[str, str]:
    """Run the CLI on ``args`` (``--workspace`` added to ``search``): ``("exit 0" | "exit 2" |
    "accepted", stderr)``; any other exit or exception fails the example."""
    if args and args[0] == "search":
        args = [*args, "--workspace", str(workspace)]
    err, out = io.StringIO(), io.StringIO()
    clear_cache()
    with (
        _argv(args),
        _warnings_to(err),
        mock.patch("automl_rnn.orchestration.search.get_backend", _accept),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(out),
    ):
        try:
            cli.main()
            outcome = "no exit"
        except SystemExit as done:
            outcome = f"exit {done.code}"
        except Accepted:
            outcome = "accepted"
    stderr = err.getvalue()
    assert "Traceback" not in stderr
    assert outcome in ("exit 0", "exit 2", "accepted"), (outcome, args, stderr[-2000:])
    if outcome == "exit 2":
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, stderr)
    assert not workspace.exists(), f"{args}: wrote {workspace}"
    return outcome, stderr


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every example's files go, beside ``valid.csv`` (experiment files name it)."""
    path = tmp_path_factory.mktemp("fuzz")
    (path / "valid.csv").write_text(VALID_CSV)
    return path


# ---- data files -------------------------------------------------------------------------------


@settings(FUZZ, max_examples=15)
@given(content=st.binary(max_size=600))
def test_random_bytes_as_a_data_file(folder: Path, content: bytes) -> None:
    data = str(_fresh(folder, ".csv", content))
    run_cli(["inspect", "--data", data, "--target", "sales"], folder / "ws")
    run_cli(["search", "--data", data, "--target", "sales"], folder / "ws")


csv_like = st.builds(
    lambda header, body: (header + body).encode(),
    st.sampled_from(["", "sales\n", "month,sales\n", "sales;promo\n", "t\tsales\n"]),
    st.text('0123456789,;.\t\n -:eE+NaIf"x', max_size=400),
)


@FUZZ
@given(content=csv_like)
def test_csv_like_text_as_a_data_file(folder: Path, content: bytes) -> None:
    data = str(_fresh(folder, ".csv", content))
    run_cli(["inspect", "--data", data, "--target", "sales"], folder / "ws")
    run_cli(["search", "--data", data, "--target", "sales", "--horizon", "2"], folder / "ws")


def _mutated(text: str, cut: int, edits: list[tuple[int, str]]) -> bytes:
    chars = list(text[:cut])
    for at, char in edits:
        if chars:
            chars[at % len(chars)] = char
    return "".join(chars).encode()


truncated_csvs = st.builds(
    _mutated,
    st.just(VALID_CSV),
    st.integers(0, len(VALID_CSV)),
    st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from([",", ";", "\n", "", "x", "\x00", "é"])), max_size=3),
)  # fmt: skip

csv_flags = st.sampled_from(
    [
        ["--target", "sales"],
        ["--target", "sales", "--time-col", "month"],
        ["--target", "sales", "--features", "promo", "--horizon", "3"],
        ["--target", "sales,promo", "--time-col", "month", "--missing", "drop"],
        ["--target", "label", "--text-col", "review"],
    ]
)


@FUZZ
@given(content=truncated_csvs, flags=csv_flags)
def test_truncated_and_damaged_csvs(folder: Path, content: bytes, flags: list[str]) -> None:
    data = str(_fresh(folder, ".csv", content))
    run_cli(["inspect", "--data", data, *flags], folder / "ws")
    run_cli(["search", "--data", data, *flags], folder / "ws")


# ---- experiment and space files ------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["co2", "sine_mix", "tiny", "lstm", "gru", "seq2vec", "val_loss", "auto"]),
    st.sampled_from(["a\x00b.csv", "x\x00.yaml", "two\nlines.csv", "../", "/", "~", "."]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip

#: Experiment keys (``task_params`` left out: a huge generated series is a valid request).
EXPERIMENT_KEYS = [
    "task", "data", "target", "horizon", "season", "missing", "topology", "space", "objectives",
    "backend", "sampler", "pruner", "trials", "timeout", "max_epochs", "patience", "workers",
    "threads", "seed", "study", "scheduler", "cpus_per_trial", "time_col", "features", "trails",
]  # fmt: skip


def _yaml_text(mapping: dict[str, object], raw: str, as_text: bool) -> bytes:
    """``raw`` text (often not YAML), or ``mapping`` written as YAML."""
    if as_text:
        return raw.encode("utf-8", "surrogatepass")
    return yaml.safe_dump(mapping, allow_unicode=True).encode()


#: Valid experiments to change a few keys of (``valid.csv`` lies beside each experiment file).
BASES = [{"task": "sine_mix"}, {"data": "valid.csv", "target": "sales", "time_col": "month"}, {}]

#: Keys naming a file or a column, and odd names for them.
NAME_KEYS = ("task", "data", "space", "target", "time_col")
odd_names = st.sampled_from(
    ["a\x00b.csv", "valid.csv\x00", "two\nlines.csv", "/", "..", "valid.csv", "valid.csv/x"]
)
change = st.sampled_from(EXPERIMENT_KEYS).flatmap(
    lambda key: st.tuples(st.just(key), odd_names | values if key in NAME_KEYS else values)
)
experiments = st.builds(
    lambda base, changes, raw, as_text: _yaml_text({**base, **dict(changes)}, raw, as_text),
    st.sampled_from(BASES),
    st.lists(change, max_size=3),
    st.text(max_size=80),
    st.sampled_from([False, False, False, True]),
)


@FUZZ
@given(content=experiments)
@example(content=b'data: "valid.csv\\0"\ntarget: sales\n')  # a NUL in a file name: was a traceback
def test_random_experiment_files(folder: Path, content: bytes) -> None:
    config = str(_fresh(folder, ".yaml", content))
    run_cli(["search", "--config", config], folder / "ws")
    run_cli(["search", "--config", config, "--task", "sine_mix", "--trials", "1"], folder / "ws")


PARAM_NAMES = ["cell", "topology", "num_layers", "hidden_size", "lr", "batch_size", "seq_len",
               "tbptt_steps", "bidirectional", "dropout", "hiden_size"]  # fmt: skip
param_values = st.one_of(
    values,
    st.fixed_dictionaries(
        {},
        optional={
            "low": scalars, "high": scalars, "log": scalars, "step": scalars,
            "choices": st.lists(scalars, max_size=4), "when": values, "type": scalars,
        },
    ),
)  # fmt: skip
spaces = st.builds(
    _yaml_text,
    st.fixed_dictionaries(
        {"params": st.dictionaries(st.sampled_from(PARAM_NAMES), param_values, max_size=5)},
        optional={"description": scalars, "first_trials": values},
    ),
    st.text(max_size=80),
    st.booleans(),
)


@FUZZ
@given(content=spaces)
def test_random_space_files(folder: Path, content: bytes) -> None:
    space = str(_fresh(folder, ".yaml", content))
    run_cli(["search", "--task", "sine_mix", "--space", space], folder / "ws")


# ---- flag values ----------------------------------------------------------------------------------

FLAGS = ["--trials", "--timeout", "--max-epochs", "--patience", "--workers", "--threads", "--seed",
         "--objectives", "--sampler", "--pruner", "--topology", "--horizon", "--season",
         "--missing", "--study", "--backend", "--cpus-per-trial", "--gpus-per-trial",
         "--max-concurrent", "--space", "--task", "--data", "--target", "--features"]  # fmt: skip
#: What a shell can pass: any text but NUL.
argv_text = st.text(st.characters(exclude_characters="\x00"), max_size=10)
flag_values = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    argv_text,
    st.sampled_from(["0", "-1", "1", "co2", "tiny", "ray", "nan", "inf", "", " ", "1e999"]),
    st.sampled_from(["two\nlines", "x.yaml\r\n", "/", "..", "~/nowhere.csv"]),
)


#: The flags ``inspect`` takes too.
DATA_FLAGS = ["--horizon", "--season", "--missing", "--task", "--data", "--target", "--features"]


@FUZZ
@given(flags=st.lists(st.tuples(st.sampled_from(FLAGS), flag_values), max_size=4))
def test_random_flag_values(folder: Path, flags: list[tuple[str, str]]) -> None:
    args = [part for flag, value in flags for part in (flag, value)]
    run_cli(["search", "--task", "sine_mix", *args], folder / "ws")
    data_args = [part for flag, value in flags if flag in DATA_FLAGS for part in (flag, value)]
    run_cli(["inspect", "--task", "sine_mix", *data_args], folder / "ws")


@settings(FUZZ, max_examples=15)
@given(
    command=st.sampled_from(["export", "report", "best", "status", "repair"]),
    flags=st.lists(
        st.tuples(st.sampled_from(["--study", "--trial", "--formats", "--register"]), flag_values),
        max_size=3,
    ),
)
def test_random_flags_of_the_study_commands(
    folder: Path, command: str, flags: list[tuple[str, str]]
) -> None:
    """No study in the workspace: each refuses, and neither the workspace nor ``--out`` appears."""
    out = folder / "out"
    args = [part for flag, value in flags for part in (flag, value)]
    if command in ("export", "report"):
        args = ["--out", str(out), *args]
    outcome, _ = run_cli(
        [command, "--study", "s", *args, "--workspace", str(folder / "ws")], folder / "ws"
    )
    assert outcome == "exit 2" and not out.exists()
