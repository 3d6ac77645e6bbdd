"""The code's layers: every module imports only from its own layer or the ones below it.

The order is the data flow (``../shared/DESIGN.md``): hazards, then the scenario model, the
registry, the engine, plans, publishing, exchange, and the front ends (CLI, app) on top. The
walk reads every ``import`` statement, including those inside functions, with :mod:`ast`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layers from the bottom up; a module's layer is the longest prefix of its dotted name listed.
LAYERS = (
    ("hazards",),
    ("simulator", "simulator.scenario"),
    ("simulator.registry",),
    ("simulator.engine",),
    ("simulator.plans",),
    ("simulator.publish",),
    ("simulator.exchange",),
    ("simulator.workspace",),
    ("simulator.cli", "simulator.app", "app", "app_pages"),
)


def layer_of(module: str) -> int:
    best, level = "", None
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, level = prefix, i
    if level is None:
        raise AssertionError(f"{module} is in no layer; add it to LAYERS")
    return level


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every project import in ``path`` (``from a import b`` counts ``a.b``
    when ``a.b`` is a module, else ``a``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                as_path = ROOT / Path(*full.split("."))
                out.append((node.lineno, full if as_path.with_suffix(".py").exists() or as_path.is_dir()
                            else node.module))
    return [(line, m) for line, m in out if m.split(".")[0] in ("hazards", "simulator", "app")]


def sources() -> list[Path]:
    files = sorted((ROOT / "hazards").rglob("*.py")) + sorted((ROOT / "simulator").rglob("*.py"))
    return files + [ROOT / "app.py"]


def test_every_module_imports_only_downward():
    upward = []
    for path in sources():
        own = layer_of(module_name(path))
        for line, target in imports_of(path):
            if layer_of(target) > own:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not upward, "imports against the data flow:\n" + "\n".join(upward)


def test_hazards_imports_nothing_from_simulator():
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in sorted((ROOT / "hazards").rglob("*.py"))
        for line, target in imports_of(path)
        if target.split(".")[0] != "hazards"
    ]
    assert not found, "\n".join(found)


def test_the_walk_would_see_an_upward_import(tmp_path):
    """The check can fail: an upward import written into a file is found."""
    bad = ROOT / "hazards" / "_layer_probe.py"
    bad.write_text("def f():\n    from simulator.engine import evaluate\n", encoding="utf-8")
    try:
        assert imports_of(bad) == [(2, "simulator.engine")]
        assert layer_of("simulator.engine") > layer_of("hazards._layer_probe")
    finally:
        bad.unlink()


@pytest.mark.parametrize("wing", ["registry", "engine", "plans", "publish", "exchange", "cli", "app"])
def test_the_tree_shows_the_wings(wing):
    assert (ROOT / "simulator" / wing / "__init__.py").exists()


def test_every_error_class_is_in_the_one_hierarchy():
    """Error classes are defined in hazards/errors.py only, and all derive from MadadError."""
    from hazards import errors

    elsewhere = []
    for path in sources():
        if path == ROOT / "hazards" / "errors.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (
                node.name.endswith("Error") or any(getattr(b, "id", "").endswith("Error") for b in node.bases)
            ):
                elsewhere.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not elsewhere, "error classes outside hazards/errors.py:\n" + "\n".join(elsewhere)
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert all(issubclass(c, errors.MadadError) for c in classes)
