"""The layout keeps the data flow visible: one door to Neo4j, arrows downward, small modules.

Read from the source (``ast``), never by importing it, so a violation is reported with the
file and line that introduced it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "loader")
SOURCES = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))

#: Allowed engine subpackages per importing package: lower stages only (see README "Layout").
LAYERS: dict[str, set[str]] = {
    "engine.errors": set(),
    "engine.settings": set(),
    "engine.schema": set(),
    "engine.graphdb": {"engine.errors", "engine.settings", "engine.schema", "engine.data",
                       "engine.evaluate", "engine.writeback"},
    "engine.db": {"engine.errors", "engine.settings", "engine.graphdb"},
    "engine.data": {"engine.errors", "engine.schema"},
    "engine.evaluate": {"engine.errors", "engine.data"},
    "engine.models": {"engine.errors", "engine.schema", "engine.data", "engine.evaluate"},
    "engine.training": {"engine.errors", "engine.data", "engine.evaluate", "engine.models"},
    "engine.writeback": {"engine.errors", "engine.schema", "engine.data", "engine.models"},
    "engine.recommend": {"engine.errors"},
    "engine.viz": {"engine.errors", "engine.evaluate", "engine.graphdb", "engine.models",
                   "engine.training"},
    "loader": {"engine.errors", "engine.settings", "engine.schema", "engine.graphdb"},
    "engine.explore": {"engine.errors", "engine.settings", "engine.data", "engine.graphdb",
                       "engine.jobs"},
}


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def _stage(module: str) -> str | None:
    """``engine.models.hetero.sage`` -> ``engine.models``; ``loader.ingest`` -> ``loader``."""
    parts = module.split(".")
    if parts[0] == "loader":
        return "loader"
    if parts[0] == "engine" and len(parts) > 1:
        return f"engine.{parts[1]}"
    return None


def test_only_engine_graphdb_imports_the_neo4j_driver() -> None:
    bad = [f"{p.relative_to(ROOT)}:{line}: imports {name}"
           for p in SOURCES for line, name in _imports(p)
           if name.split(".")[0] == "neo4j" and not _module(p).startswith("engine.graphdb")]
    assert not bad, "the neo4j driver is imported outside engine.graphdb:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_flow(path: Path) -> None:
    own = _stage(_module(path))
    if own not in LAYERS:  # the cli and jobs wire everything; the package face re-exports
        return
    bad = []
    for line, name in _imports(path):
        target = _stage(name)
        if target is None or target == own:
            continue
        if target not in LAYERS[own]:
            bad.append(f"{path.relative_to(ROOT)}:{line}: {own} imports {name}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 420, f"{path.relative_to(ROOT)} has {lines} lines; split it by concept"


_CYPHER = re.compile(r"\b(MATCH|MERGE|CREATE|RETURN|UNWIND|CALL)\b\s*[\(\{a-z]")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_inline_cypher(path: Path) -> None:
    """Statements live in ``cypher/*.cypher`` files, loaded by name, never in Python strings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and n.body and isinstance(n.body[0], ast.Expr)
                  and isinstance(n.body[0].value, ast.Constant)}
    bad = [f"{path.relative_to(ROOT)}:{n.lineno}: {n.value[:60]!r}" for n in ast.walk(tree)
           if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
           and _CYPHER.search(n.value) and "(" in n.value]
    assert not bad, "\n".join(bad)


def test_one_root_exception() -> None:
    """Every exception class ReelGraph defines derives from engine.errors.ReelGraphError."""
    bad = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.ClassDef) and node.name.endswith("Error")
                    and node.name != "ReelGraphError"):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                known = {"ReelGraphError", "InputError", "ParameterError", "LoadError",
                         "GraphConnectionError", "ServerError",
                         "ClickException"}  # the CLI edge's one-line form of a ReelGraphError
                if not bases & known:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name}({', '.join(bases)})")
    assert not bad, "\n".join(bad)
