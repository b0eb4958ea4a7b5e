"""The conda environments agree with pyproject.toml's dependencies and lower bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: conda-forge names of PyPI distributions that differ
CONDA_NAMES = {"torch": "pytorch"}


def _requirement(text: str) -> tuple[str, str]:
    name, bound = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", text.strip()).groups()  # type: ignore[union-attr]
    return CONDA_NAMES.get(name.lower(), name.lower()), bound.replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(_requirement(r) for r in requirements)


def _conda(path: Path) -> dict[str, str]:
    entries: list[str] = []
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(entry, dict):
            entries += [e for e in entry.get("pip", []) if not e.startswith("-")]
        elif entry not in ("pip", "python>=3.11"):
            entries.append(entry)
    return dict(_requirement(e) for e in entries)


@pytest.mark.parametrize("path", ["environment.yml", "workflow/envs/geo.yaml", "workflow/envs/torch.yaml"])
def test_conda_pins_are_pyprojects(path):
    wanted = _pyproject()
    for name, bound in _conda(ROOT / path).items():
        assert wanted.get(name) == bound, f"{path}: {name}{bound}, but pyproject.toml has {wanted.get(name)}"


def test_environment_yml_has_every_dependency():
    missing = set(_pyproject()) - set(_conda(ROOT / "environment.yml")) - {"ruff", "mypy"}
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_torch_rules_have_the_geo_stack():
    """The training and mapping rules read composites through ``permafusion.composite``."""
    missing = set(_conda(ROOT / "workflow/envs/geo.yaml")) - set(_conda(ROOT / "workflow/envs/torch.yaml"))
    assert not missing, f"workflow/envs/torch.yaml lacks {sorted(missing)}"
