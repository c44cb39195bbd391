"""No code path of the package unpickles: every ``torch.load`` passes ``weights_only=True``, YAML
is read with a safe loader, and Python's pickle never loads anything (issue 17 §3).

The scan reads the source's syntax tree (names resolved through the module's imports), so a
docstring or comment that mentions ``pickle.load`` is not a hit, and an aliased import is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "automl_rnn"

#: Calls that unpickle (or run arbitrary constructors) whatever their arguments.
ALWAYS_UNSAFE = {
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "_pickle.load",
    "_pickle.loads",
    "cloudpickle.load",
    "cloudpickle.loads",
    "dill.load",
    "dill.loads",
    "joblib.load",
    "pandas.read_pickle",
    "yaml.unsafe_load",
    "yaml.unsafe_load_all",
    "yaml.full_load",
    "yaml.full_load_all",
}
#: YAML loaders that build plain data only.
SAFE_YAML_LOADERS = {"yaml.SafeLoader", "yaml.CSafeLoader", "yaml.BaseLoader", "yaml.CBaseLoader"}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


class _Module:
    """One module's imports and classes, to resolve names to what they import."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node

    def resolve(self, node: ast.expr) -> str | None:
        name = _dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        full = self.aliases.get(head, head)
        return f"{full}.{rest}" if rest else full

    def safe_yaml_loader(self, node: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        """A safe loader, or a class of this module derived only from safe loaders."""
        name = self.resolve(node)
        if name in SAFE_YAML_LOADERS:
            return True
        local = self.classes.get(name or "")
        if local is None or local.name in seen or not local.bases:
            return False
        return all(self.safe_yaml_loader(base, seen | {local.name}) for base in local.bases)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def unsafe_loads(source: str) -> list[str]:
    """``line: call`` for each call in ``source`` that could unpickle or load unsafe YAML."""
    tree = ast.parse(source)
    module = _Module(tree)
    found = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = module.resolve(call.func)
        if name in ALWAYS_UNSAFE:
            found.append(f"{call.lineno}: {name}")
        elif name == "torch.load":
            flag = _keyword(call, "weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append(f"{call.lineno}: torch.load without weights_only=True")
        elif name in ("yaml.load", "yaml.load_all"):
            loader = _keyword(call, "Loader") or (call.args[1] if len(call.args) > 1 else None)
            if loader is None or not module.safe_yaml_loader(loader):
                found.append(f"{call.lineno}: {name} without a safe loader")
    return found


def test_the_package_never_unpickles_or_loads_unsafe_yaml() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the scan sees the package
    hits = {
        str(path.relative_to(PACKAGE.parent)): found
        for path in files
        if (found := unsafe_loads(path.read_text(encoding="utf-8")))
    }
    assert hits == {}, "unsafe loading (use torch.load(weights_only=True), yaml.safe_load)"


@pytest.mark.parametrize(
    "source",
    [
        "import pickle\npickle.load(f)\n",
        "import pickle as p\np.loads(b)\n",
        "from pickle import load\nload(f)\n",
        "import torch\ntorch.load(path)\n",
        "import torch\ntorch.load(path, weights_only=False)\n",
        "from torch import load\nload(path, map_location='cpu')\n",
        "import yaml\nyaml.load(text)\n",
        "import yaml\nyaml.load(text, Loader=yaml.Loader)\n",
        "import yaml\nyaml.load(text, yaml.FullLoader)\n",
        "import yaml\nyaml.unsafe_load(text)\n",
        "import yaml\nclass L(yaml.UnsafeLoader): ...\nyaml.load(text, Loader=L)\n",
        "import pandas as pd\npd.read_pickle(path)\n",
    ],
)
def test_the_scan_finds_each_unsafe_load(source: str) -> None:
    assert len(unsafe_loads(source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.load(path, map_location='cpu', weights_only=True)\n",
        "import yaml\nyaml.safe_load(text)\n",
        "import yaml\nyaml.load(text, Loader=yaml.SafeLoader)\n",
        "import yaml\nclass S(yaml.SafeLoader): ...\nclass T(S): ...\nyaml.load(text, Loader=T)\n",
        '"""pickle.load(f) is never called."""\nimport json\njson.load(f)\n',
    ],
)
def test_the_scan_passes_safe_loads(source: str) -> None:
    assert unsafe_loads(source) == []
