"""The exported folder's file names, its manifest and checksums, and the runtime's one error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

TRIAL_FORMAT_VERSION = 1
"""A folder of one trial (what every version of this runtime reads)."""
ENSEMBLE_FORMAT_VERSION = 2
"""A folder whose graph averages several trials (``preprocess.json``'s ``network`` holds
``ensemble``): a runtime that cannot rebuild it for the eager engine refuses it plainly."""
FORMAT_VERSION = ENSEMBLE_FORMAT_VERSION
"""The newest folder format this runtime reads."""
MANIFEST = "manifest.json"
PREPROCESS = "preprocess.json"
ONNX_FILE = "model.onnx"
TORCHSCRIPT_FILE = "model.torchscript.pt"
WEIGHTS_FILE = "weights.pt"
ENGINES = ("auto", "onnx", "torchscript", "eager")
ENGINE_FILES = {"onnx": ONNX_FILE, "torchscript": TORCHSCRIPT_FILE, "eager": WEIGHTS_FILE}


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


def read_manifest(root: Path) -> dict[str, Any]:
    """The folder's manifest, its format version checked and every listed file verified."""
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
    return manifest


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
