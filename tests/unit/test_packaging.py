"""Every code package ships in the wheel, and the built-in tasks and spaces load from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_every_code_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "automl_rnn").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


@pytest.mark.slow
def test_builtin_tasks_and_spaces_load_from_an_installed_wheel(tmp_path: Path) -> None:
    wheel_dir, site = tmp_path / "wheel", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(wheel_dir), str(ROOT)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    wheel = next(wheel_dir.glob("automl_rnn-*.whl"))
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    probe = (
        "import automl_rnn, json;"
        "from automl_rnn.data.catalog import list_tasks;"
        "from automl_rnn.data import prepare;"
        "from automl_rnn.data.source import DataSource;"
        "from automl_rnn.search.space import list_spaces;"
        "p = prepare(DataSource.from_args({'task': 'air_passengers'}));"
        "print(json.dumps([automl_rnn.__file__, len(list_tasks()), len(list_spaces()), p.summary()['rows']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    origin, n_tasks, n_spaces, rows = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert origin.startswith(str(site))  # imported from the wheel, not the checkout
    from automl_rnn.data.catalog import list_tasks

    assert (n_tasks, rows) == (len(list_tasks()), 144)  # every task of the checkout is shipped
    assert n_spaces >= 5


def test_constraints_pin_every_dependency_inside_its_declared_range() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [
        Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        if name == "torch":
            assert name not in pins  # pinned by the Makefile's TORCH_SPEC (GPU users bring theirs)
            continue
        assert name in pins, f"constraints.txt lacks {name}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])
