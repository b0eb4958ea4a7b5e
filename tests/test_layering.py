"""The engine's layers import downwards only, and never a task or the demo.

The engine (``core``, ``geo``, ``composite``, ``series``, ``learn``, ``products``) must serve every task, so
it may not import ``permafusion.tasks`` or ``permafusion.demo``; ``core`` is the bottom layer and imports
no other engine package, and ``learn`` knows nothing of rasters, composites or maps. The modules are read
with :mod:`ast`, not imported, so that an import inside a function counts as well and nothing runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "permafusion"
ENGINE = ("core", "geo", "composite", "series", "learn", "products")


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = PACKAGE) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path`` (a module of the package at ``root``),
    relative imports resolved.

    ``from a import b`` yields ``a`` and then ``a.b``, since ``b`` may be a submodule
    (``from permafusion import tasks``).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path, root)
    # the package a relative import starts from: the module's own package (a package's __init__ is it)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            yield node.lineno, source
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{source}.{alias.name}"


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _offenders(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    """``file:line imports name`` for every import of a ``forbidden`` package in ``packages``."""
    found: dict[str, str] = {}
    for package in packages:
        for path in sorted((PACKAGE / package).rglob("*.py")):
            for line, name in _imports(path):
                if any(_within(name, f) for f in forbidden):
                    # the first match of a line (``from a import b`` yields a, then a.b) is enough
                    found.setdefault(f"{path.relative_to(PACKAGE.parent)}:{line}", name)
    return [f"{where} imports {name}" for where, name in sorted(found.items())]


def test_engine_packages_exist() -> None:
    for package in ENGINE:
        assert (PACKAGE / package / "__init__.py").is_file(), package
        assert any((PACKAGE / package).rglob("*.py"))


def test_engine_imports_no_task_and_no_demo() -> None:
    offenders = _offenders(ENGINE, ("permafusion.tasks", "permafusion.demo"))
    assert not offenders, "the engine imports tasks or the demo:\n" + "\n".join(offenders)


def test_core_imports_no_other_engine_package() -> None:
    upper = tuple(f"permafusion.{p}" for p in ENGINE if p != "core")
    offenders = _offenders(("core",), upper)
    assert not offenders, "permafusion.core imports upwards:\n" + "\n".join(offenders)


def test_learn_imports_no_geo_composite_series_or_products() -> None:
    offenders = _offenders(
        ("learn",), tuple(f"permafusion.{p}" for p in ("geo", "composite", "series", "products"))
    )
    assert not offenders, "permafusion.learn imports upwards:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("learn/x.py", "from ..tasks import degradation\n", "permafusion.tasks"),
        ("learn/x.py", "from . import loop\n", "permafusion.learn"),
        ("learn/__init__.py", "from .loop import fit\n", "permafusion.learn.loop"),
        ("core/x.py", "from ..learn.loop import fit\n", "permafusion.learn.loop"),
        ("geo/x.py", "def f():\n    import permafusion.demo.scene\n", "permafusion.demo.scene"),
        ("geo/x.py", "from permafusion import tasks\n", "permafusion.tasks"),
    ],
)
def test_imports_are_resolved(tmp_path: Path, module: str, source: str, expected: str) -> None:
    root = tmp_path / "permafusion"
    path = root / module
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert expected in {name for _, name in _imports(path, root)}
