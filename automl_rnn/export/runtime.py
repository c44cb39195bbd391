"""Predict from an exported folder: checksums checked, inputs encoded, one engine run, outputs decoded.

Self-contained on purpose: this module imports nothing from automl_rnn (numpy and pandas at import;
onnxruntime or torch when an engine starts), so MLflow ships it inside the pyfunc model (as
``automl_rnn_runtime.py``) and a served model needs no automl-rnn install. Only the ``eager``
engine (the network rebuilt from automl-rnn's model code) needs the package.

Safe loading: before anything is read, every file is checked against the sha256 in
``manifest.json``. ONNX is parsed by onnxruntime; the TorchScript program by ``torch.jit.load``
(TorchScript's own deserializer: tensors and TorchScript code, no Python callables); ``weights.pt``
only with ``torch.load(weights_only=True)``. Python's pickle never sees a file from the folder.

Engines: ``onnx`` (onnxruntime), ``torchscript``, ``eager``; ``auto`` takes the ONNX artefact when
onnxruntime is installed, else the TorchScript one, else the eager network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PREPROCESS = "preprocess.json"
ONNX_FILE = "model.onnx"
TORCHSCRIPT_FILE = "model.torchscript.pt"
WEIGHTS_FILE = "weights.pt"
ENGINES = ("auto", "onnx", "torchscript", "eager")
ENGINE_FILES = {"onnx": ONNX_FILE, "torchscript": TORCHSCRIPT_FILE, "eager": WEIGHTS_FILE}
#: Rows per engine call (bounded memory on large inputs).
CHUNK_ROWS = 1024


class BundleError(ValueError):
    """The folder, or the data given to it, cannot be used; the message says what to do."""


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path`` (a BundleError when missing or not an object)."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(
            f"{path.parent} is not an exported model folder (no {path.name}); "
            "make one with `automl-rnn export`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(
            f"{path}: unreadable ({type(err).__name__}); export the model again"
        ) from None
    if not isinstance(loaded, dict):
        raise BundleError(f"{path}: expected a JSON object; export the model again")
    return loaded


def verify_files(root: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists exists and has its recorded sha256."""
    for name, entry in sorted(manifest.get("files", {}).items()):
        path = root / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BundleError(f"{root / MANIFEST}: file entry '{name}' leaves the folder")
        if not path.is_file():
            raise BundleError(f"{path}: missing (listed in {MANIFEST}); export the model again")
        if sha256(path) != entry.get("sha256"):
            raise BundleError(
                f"{path}: checksum differs from {MANIFEST} (file changed or corrupt); "
                "export the model again"
            )


# ---- engines -------------------------------------------------------------------------------


class Engine:
    """Runs the exported graph: float32 inputs ``x`` -> its output array."""

    name = ""

    def run(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxEngine(Engine):
    """onnxruntime on the CPU (``threads`` intra-op threads; small RNNs gain nothing from more)."""

    name = "onnx"

    def __init__(self, path: Path, threads: int | None = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:
            raise BundleError(f"{path}: not a loadable ONNX model ({_short(err)})") from None
        self.input = self.session.get_inputs()[0].name

    def run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input: x})[0])


class TorchScriptEngine(Engine):
    """The TorchScript program, read by ``torch.jit.load`` (no Python pickle)."""

    name = "torchscript"

    def __init__(self, path: Path, threads: int | None = 1) -> None:
        import torch

        self.torch, self.threads = torch, threads
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript's deprecation
                self.module = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as err:
            raise BundleError(
                f"{path}: not a loadable TorchScript program ({_short(err)})"
            ) from None

    def run(self, x: np.ndarray) -> np.ndarray:
        with _torch_threads(self.torch, self.threads), self.torch.inference_mode():
            return self.module(self.torch.from_numpy(x)).numpy()  # type: ignore[no-any-return]


class EagerEngine(Engine):
    """The network rebuilt from automl-rnn's model code, weights via ``weights_only=True``."""

    name = "eager"

    def __init__(self, path: Path, network: dict[str, Any], threads: int | None = 1) -> None:
        import torch

        from automl_rnn.export.network import load_inference_net

        self.torch, self.threads = torch, threads
        self.net = load_inference_net(network, path)

    def run(self, x: np.ndarray) -> np.ndarray:
        with _torch_threads(self.torch, self.threads), self.torch.inference_mode():
            return self.net(self.torch.from_numpy(x)).numpy()  # type: ignore[no-any-return]


@contextlib.contextmanager
def _torch_threads(torch: Any, threads: int | None) -> Iterator[None]:
    """Torch's intra-op thread count set to ``threads`` for one call, then put back, so loading a
    bundle in a process (a notebook, a server) does not change torch's threads for the rest."""
    before = torch.get_num_threads()
    if threads is None or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:160]}"


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# ---- the bundle ----------------------------------------------------------------------------


class Bundle:
    """An exported folder, ready to predict. Load with :func:`load_bundle`."""

    def __init__(
        self, root: Path, manifest: dict[str, Any], pre: dict[str, Any], engine: Engine
    ) -> None:
        self.root = root
        self.manifest = manifest
        self.pre = pre
        self.engine = engine

    @property
    def kind(self) -> str:
        return str(self.pre["kind"])

    def run(self, x: np.ndarray) -> np.ndarray:
        """The graph's output for float32 inputs ``x`` (in chunks of :data:`CHUNK_ROWS`)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        parts = [self.engine.run(x[i : i + CHUNK_ROWS]) for i in range(0, len(x), CHUNK_ROWS)]
        return np.concatenate(parts, axis=0)

    def predict(self, frame: pd.DataFrame, source: str = "input", row: str = "row") -> pd.DataFrame:
        """Predictions for ``frame``: a forecast (``horizon`` rows) from a history, or one row per
        input row. ``source`` and ``row`` name the data and its rows in messages (``line`` with
        file line numbers as the index)."""
        if not isinstance(frame, pd.DataFrame):
            raise BundleError(f"{source}: expected a table (DataFrame), got {type(frame).__name__}")
        if self.kind == "forecast":
            return self._forecast(frame, source, row)
        groups = encode_rows(self.pre["input"], frame, source, row)
        outputs: list[tuple[np.ndarray, np.ndarray]] = [(index, self.run(x)) for index, x in groups]
        return decode_rows(self.pre["input"], self.pre["output"], frame, outputs)

    def _forecast(self, frame: pd.DataFrame, source: str, row: str) -> pd.DataFrame:
        spec = self.pre["input"]
        window = read_history(spec, frame, source, row)
        x, loc, scale = scale_window(spec, window.values)
        scaled = self.run(x[None])[0]  # [L, D]
        values = scaled.astype(np.float32) * scale + loc
        return forecast_frame(spec, self.pre["output"], window.times, values)


def load_bundle(path: str | Path, engine: str = "auto", threads: int | None = 1) -> Bundle:
    """Open an exported folder: manifest and checksums checked, the engine started."""
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"{root}: no such model folder; give the --out folder of `export`")
    manifest = read_json(root / MANIFEST)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BundleError(
            f"{root / MANIFEST}: format_version {version!r} is newer than this automl-rnn "
            f"reads ({FORMAT_VERSION}); upgrade automl-rnn"
        )
    verify_files(root, manifest)
    pre = read_json(root / PREPROCESS)
    return Bundle(root, manifest, pre, start_engine(root, manifest, pre, engine, threads))


def start_engine(
    root: Path, manifest: dict[str, Any], pre: dict[str, Any], engine: str, threads: int | None
) -> Engine:
    """The engine ``engine`` names (``auto``: ONNX with onnxruntime, else TorchScript, else eager)."""
    if engine not in ENGINES:
        raise BundleError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}")
    listed = set(manifest.get("files", {}))
    if engine == "auto":
        usable = [
            name
            for name, module in (("onnx", "onnxruntime"), ("torchscript", "torch"))
            if ENGINE_FILES[name] in listed and _installed(module)
        ]
        engine = usable[0] if usable else "eager"
    if ENGINE_FILES[engine] not in listed:
        have = [name for name, file in ENGINE_FILES.items() if file in listed]
        raise BundleError(
            f"{root}: has no {engine} artefact ({ENGINE_FILES[engine]}); engines here: "
            f"{', '.join(have)} (export with --format {engine} to add it)"
        )
    path = root / ENGINE_FILES[engine]
    if engine == "onnx":
        if not _installed("onnxruntime"):
            raise BundleError("--engine onnx needs onnxruntime: pip install onnxruntime")
        return OnnxEngine(path, threads)
    if engine == "torchscript":
        return TorchScriptEngine(path, threads)
    return EagerEngine(path, pre["network"], threads)


# ---- forecast history --------------------------------------------------------------------


class History:
    """The last ``window`` rows of a history: values ``[T, F]`` (float32) and their times."""

    def __init__(self, values: np.ndarray, times: Any) -> None:
        self.values = values
        self.times = times


def _where(row: str, label: Any) -> str:
    return f"{row} {label}"


def _numbers(column: pd.Series, name: str, source: str, row: str) -> np.ndarray:
    """A column as float64 (NaN where empty); a cell that is not a number is an error."""
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    raw = column if numeric else column.astype(str).str.strip()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & column.notna().to_numpy() & (raw.astype(str) != "").to_numpy()
    bad |= np.isinf(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise BundleError(
            f"{source}: column '{name}' has non-numeric value {column.iloc[i]!r} at "
            f"{_where(row, column.index[i])}; give numbers"
        )
    return values


def _times(
    column: pd.Series, kind: str, name: str, source: str, row: str, dayfirst: bool | None = None
) -> Any:
    """The time column as datetimes (``kind='datetime'``, in the training data's day order when
    it mattered) or numbers."""
    values: Any
    if kind == "number":
        values = _numbers(column, name, source, row)
        missing = np.isnan(values)
    else:
        if pd.api.types.is_datetime64_any_dtype(column):
            parsed = pd.DatetimeIndex(column)
        else:
            text = column.astype(str).str.strip()
            parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format="ISO8601"))
            if parsed.isna().any():
                parsed = pd.DatetimeIndex(
                    pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=bool(dayfirst))
                )
        if parsed.tz is not None:
            parsed = parsed.tz_convert(None)
        values, missing = parsed, np.asarray(parsed.isna())
    if missing.any():
        i = int(np.argmax(missing))
        raise BundleError(
            f"{source}: column '{name}' has {column.iloc[i]!r} at {_where(row, column.index[i])}, "
            "which is not a time; use one format (e.g. 2024-01-31) in the column"
        )
    return values


def read_history(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> History:
    """The model's input window from a history table: columns checked, rows in time order, the
    last ``window`` rows complete."""
    time_col, columns, window = spec.get("time_col"), list(spec["columns"]), int(spec["window"])
    needed = ([time_col] if time_col else []) + columns
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        raise BundleError(
            f"{source}: no column {names}; the model needs the columns it was trained on: "
            f"{', '.join(needed)}"
        )
    if len(frame) < window:
        raise BundleError(
            f"{source}: history has {len(frame)} rows, shorter than the model's input window of "
            f"{window}; give at least the last {window} rows of {', '.join(needed)}"
        )
    times: Any = None
    if time_col:
        kind, dayfirst = spec.get("time_kind", "datetime"), spec.get("dayfirst")
        times = _times(frame[time_col], kind, time_col, source, row, dayfirst)
        order = np.argsort(np.asarray(times), kind="stable")
        frame, times = frame.iloc[order], times[order]
        same = np.flatnonzero(np.asarray(times[1:]) == np.asarray(times[:-1]))
        if len(same):
            label = frame.index[int(same[0]) + 1]
            raise BundleError(
                f"{source}: column '{time_col}' repeats time {frame[time_col].iloc[int(same[0])]!r} "
                f"at {_where(row, label)}; each time must appear once"
            )
        times = times[-window:]
    tail = frame.iloc[-window:]
    values = np.stack([_numbers(tail[c], c, source, row) for c in columns], axis=1)
    empty = np.isnan(values)
    if empty.any():
        i, j = (int(k) for k in np.argwhere(empty)[0])
        raise BundleError(
            f"{source}: column '{columns[j]}' is empty at {_where(row, tail.index[i])}; the model "
            f"reads every one of the last {window} rows: fill the gap"
        )
    return History(values.astype(np.float32), times)


def scale_window(spec: dict[str, Any], values: np.ndarray) -> tuple[np.ndarray, Any, Any]:
    """Scaled inputs ``[T, F]`` (float32) and the targets' ``loc``, ``scale`` (float32 ``[D]``),
    exactly as training scaled its windows."""
    d = len(spec["targets"])
    x = values.astype(np.float32)
    if spec["scaling"] == "global":
        loc = np.asarray(spec["mu"], dtype=np.float64)
        scale = np.asarray(spec["sd"], dtype=np.float64)
    else:
        loc = x.mean(axis=0, dtype=np.float64)
        floor = float(spec["scale_floor"]) * np.asarray(spec["sd"], dtype=np.float64)
        scale = np.maximum(x.std(axis=0, dtype=np.float64), floor)
    scaled = ((x - loc) / scale).astype(np.float32)
    return scaled, loc[:d].astype(np.float32), scale[:d].astype(np.float32)


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """pandas' frequency string of ``index`` (None when irregular or under 3 points)."""
    if len(index) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 warns it will return an offset object
        try:
            found = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    return None if found is None else str(getattr(found, "freqstr", found))


def future_times(spec: dict[str, Any], times: Any, horizon: int) -> Any:
    """Timestamps of the next ``horizon`` steps after the history (its own frequency, else the
    training data's, else its median step)."""
    if times is None:
        return None
    if spec.get("time_kind") == "number":
        step = float(np.median(np.diff(times))) if len(times) > 1 else float(spec.get("step") or 1)
        return times[-1] + step * np.arange(1, horizon + 1)
    index = pd.DatetimeIndex(times)
    freq = infer_freq(index)
    for candidate in (freq, spec.get("freq")):
        if not candidate:
            continue
        try:
            ahead = pd.date_range(start=index[-1], periods=horizon + 1, freq=candidate)
        except ValueError:
            continue
        return ahead[1:] if ahead[0] == index[-1] else ahead[:horizon]
    gap = pd.Timedelta(pd.Series(index).diff().median() if len(index) > 1 else spec["step"])
    return pd.DatetimeIndex([index[-1] + gap * k for k in range(1, horizon + 1)])


def _time_text(times: Any) -> list[Any]:
    if not isinstance(times, pd.DatetimeIndex):
        return [float(t) for t in times]
    if (times == times.normalize()).all():
        return [t.strftime("%Y-%m-%d") for t in times]
    return [t.isoformat() for t in times]


def forecast_frame(
    spec: dict[str, Any], out: dict[str, Any], times: Any, values: np.ndarray
) -> pd.DataFrame:
    """The forecast as rows: ``step`` (1..horizon), the time column when there is one, targets."""
    horizon = int(out["horizon"])
    table: dict[str, Any] = {"step": np.arange(1, horizon + 1)}
    ahead = future_times(spec, times, horizon)
    if ahead is not None:
        table[str(spec["time_col"])] = _time_text(ahead)
    for j, name in enumerate(spec["targets"]):
        table[str(name)] = values[:, j].astype(np.float32)  # the model's precision
    return pd.DataFrame(table)


# ---- row inputs (classification, tokens, regression) ---------------------------------------


def _cells(frame: pd.DataFrame, name: str, source: str, row: str) -> pd.Series:
    frame = frame.rename(columns=lambda c: str(c).strip())
    if name not in frame.columns:
        raise BundleError(
            f"{source}: no column '{name}'; the model reads column '{name}' "
            f"(columns given: {', '.join(map(str, frame.columns)) or 'none'})"
        )
    column = frame[name]
    empty = column.isna().to_numpy() | (column.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        i = int(np.argmax(empty))
        raise BundleError(f"{source}: column '{name}' is empty at {_where(row, column.index[i])}")
    return column


def _symbols(text: str, chars: bool) -> list[str]:
    return list(text) if chars else text.split()


def token_ids(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> list[np.ndarray]:
    """Each row's input ids (1-based, 0 is padding) for ``chars`` and ``tokens`` inputs."""
    chars = spec["type"] == "chars"
    symbols = list(spec["alphabet"] if chars else spec["vocab"])
    ids = {s: i + 1 for i, s in enumerate(symbols)}
    unknown = len(symbols) + 1 if spec.get("unknown") else None
    column = _cells(frame, spec["column"], source, row)
    limit = spec.get("max_chars")
    rows = []
    for label, cell in column.items():
        text = str(cell)
        if chars and limit:
            text = text[: int(limit)]
        items = _symbols(text, chars)
        coded = []
        for item in items:
            code = ids.get(item, unknown)
            if code is None:
                what = "character" if chars else "token"
                shown = "".join(symbols) if chars else " ".join(symbols)
                raise BundleError(
                    f"{source}: column '{spec['column']}' has {what} {item!r} at "
                    f"{_where(row, label)}, which the model never saw; use only: {shown}"
                )
            coded.append(code)
        rows.append(np.asarray(coded, dtype=np.int64))
    _check_length(spec, [len(r) for r in rows], column.index, source, row)
    return rows


def _check_length(
    spec: dict[str, Any], lengths: Sequence[int], labels: Any, source: str, row: str
) -> None:
    fixed = spec.get("length")
    for label, length in zip(labels, lengths):
        if fixed is not None and length != fixed:
            raise BundleError(
                f"{source}: {_where(row, label)} has {length} steps; the model reads exactly {fixed}"
            )


def float_steps(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> list[Any]:
    """Each row's ``[T, F]`` float32 steps; each column holds one space-separated feature."""
    columns = [_cells(frame, name, source, row) for name in spec["columns"]]
    rows = []
    for i, label in enumerate(columns[0].index):
        parts = []
        for name, column in zip(spec["columns"], columns):
            try:
                parts.append([float(v) for v in str(column.iloc[i]).split()])
            except ValueError:
                raise BundleError(
                    f"{source}: column '{name}' at {_where(row, label)} must hold space-separated "
                    "numbers"
                ) from None
        if len({len(p) for p in parts}) != 1:
            raise BundleError(
                f"{source}: {_where(row, label)}: columns {', '.join(spec['columns'])} hold "
                "different numbers of steps"
            )
        rows.append(np.asarray(parts, dtype=np.float32).T)
    _check_length(spec, [len(r) for r in rows], columns[0].index, source, row)
    return rows


def pixels(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> np.ndarray:
    """Pixel columns scaled by ``max`` to [0, 1] and shaped ``[N, *shape]`` (float32)."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    names = list(spec["columns"])
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise BundleError(
            f"{source}: no column '{missing[0]}' ({len(missing)} of {len(names)} pixel columns "
            f"missing); the model reads {names[0]}..{names[-1]}"
        )
    values = np.stack([_numbers(frame[c], c, source, row) for c in names], axis=1)
    top = float(spec["max"])
    bad = np.isnan(values) | (values < 0) | (values > top)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise BundleError(
            f"{source}: column '{names[j]}' at {_where(row, frame.index[i])} must be a number "
            f"in 0..{top:g}"
        )
    return (values / top).astype(np.float32).reshape(len(frame), *spec["shape"])


def encode_rows(
    spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Graph inputs for each group of rows: ``(row positions, x)``. Variable-length inputs are
    grouped by length, so no padding ever enters the recurrence."""
    if len(frame) == 0:
        raise BundleError(f"{source}: no rows to predict")
    kind = spec["type"]
    if kind == "pixels":
        return [(np.arange(len(frame)), pixels(spec, frame, source, row))]
    if kind in ("chars", "tokens"):
        width = int(spec["one_hot"])
        table = np.eye(width + 1, dtype=np.float32)[:, 1:]  # id 0 (padding) -> zeros
        steps: list[Any] = [table[ids] for ids in token_ids(spec, frame, source, row)]
    elif kind == "float_steps":
        steps = float_steps(spec, frame, source, row)
    else:
        raise BundleError(f"unknown input type '{kind}' in {PREPROCESS}; export the model again")
    by_length: dict[int, list[int]] = {}
    for i, item in enumerate(steps):
        by_length.setdefault(len(item), []).append(i)
    return [
        (np.asarray(rows), np.stack([steps[i] for i in rows]).astype(np.float32))
        for _, rows in sorted(by_length.items())
    ]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted.astype(np.float64))
    return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def token_text(ids: Sequence[int], vocab: Sequence[str]) -> str:
    """Output ids -> text, stopping at the first PAD (id 0); one-character tokens are joined."""
    chosen = []
    for index in ids:
        if int(index) == 0:
            break
        chosen.append(vocab[int(index)] if 0 <= int(index) < len(vocab) else "?")
    joiner = "" if all(len(v) == 1 for v in vocab[1:]) else " "
    return joiner.join(chosen)


def decode_rows(
    spec: dict[str, Any],
    out: dict[str, Any],
    frame: pd.DataFrame,
    outputs: list[tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """One output row per input row, in input order (text inputs are echoed beside)."""
    n = len(frame)
    table: dict[str, Any] = {}
    if spec["type"] in ("chars", "tokens"):
        name = str(spec["column"])
        table[name] = frame.rename(columns=lambda c: str(c).strip())[name].astype(str).tolist()
    kind = out["type"]
    if kind == "classes":
        classes = list(out["classes"])
        labels: list[Any] = [None] * n
        probability = np.zeros(n, dtype=np.float32)
        for index, logits in outputs:
            p = _softmax(logits)
            best = p.argmax(axis=-1)
            for i, k, pk in zip(index, best, p[np.arange(len(p)), best]):
                labels[int(i)], probability[int(i)] = classes[int(k)], float(pk)
        table.update(prediction=labels, probability=probability)
    elif kind == "tokens":
        positions = out.get("positions")
        texts: list[Any] = [None] * n
        for index, logits in outputs:
            ids = logits.argmax(axis=-1)
            if positions is not None:
                ids = ids[:, positions]
            for i, row_ids in zip(index, ids):
                texts[int(i)] = token_text(row_ids, out["vocab"])
        table["prediction"] = texts
    else:
        width = int(out["output_len"]) * int(out["output_size"])
        values = np.zeros((n, width), dtype=np.float32)
        for index, y in outputs:
            values[index] = y.reshape(len(index), -1)
        names = ["prediction"] if width == 1 else [f"prediction_{k}" for k in range(width)]
        table.update({name: values[:, k] for k, name in enumerate(names)})
    return pd.DataFrame(table)
