"""The built wheel works as installed, not only the editable checkout.

Builds the wheel and the sdist, installs the wheel with pip into a fresh virtual
environment (its dependencies are reused from the test environment through a ``.pth``
path entry, as allowed; the checkout itself is never on that environment's path), and from
that install runs ``engine --help``, ``engine models``, an import of every subpackage, and
a tiny ``engine load`` + ``engine train`` + ``engine recommend`` against the session's Neo4j.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from tests.integration._cli import env_for

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(out),
          str(ROOT)], cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def fresh(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    site = Path(_run([str(venv / "bin" / "python"), "-c",
                      "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=venv.parent).stdout.strip())
    # the dependencies come from this environment; .pth files there (the editable
    # checkout's finder) are NOT processed for a path added this way
    (site / "_reelgraph_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = dist.glob("reelgraph-*.whl")
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
          str(wheel)], cwd=venv.parent)
    return venv


def test_wheel_and_sdist_hold_every_package_and_data_file(dist: Path) -> None:
    (wheel,) = dist.glob("reelgraph-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {str(p.relative_to(ROOT)) for pkg in ("engine", "loader", "cypher")
               for p in (ROOT / pkg).rglob("*")
               if p.is_file() and p.suffix in (".py", ".cypher", ".xml", ".zip", ".typed")
               and "__pycache__" not in p.parts}
    assert sources <= names, sorted(sources - names)[:10]
    assert "loader/bundled/ml-latest-small.zip" in names and "engine/py.typed" in names
    (sdist,) = dist.glob("reelgraph-*.tar.gz")
    with tarfile.open(sdist) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    assert sources <= members and "pyproject.toml" in members and "README.md" in members


def test_third_party_imports_are_declared_dependencies(dist: Path) -> None:
    (wheel,) = dist.glob("reelgraph-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = [line for line in zf.read(meta).decode().splitlines() if line.startswith("Requires-Dist:")]

    def names(keep: str | None) -> set[str]:
        return {re.split(r"[ ;<>=!\[]", line.split(":", 1)[1].strip())[0].lower().replace("_", "-")
                for line in lines
                if (f"extra == \"{keep}\"" in line if keep else "extra ==" not in line)}

    core = names(None)
    # an optional feature's package may import what its extra declares (and only that)
    optional = {ROOT / "engine" / "explore": names("explore")}
    provided = metadata.packages_distributions()
    missing = set()
    for path in [p for pkg in ("engine", "loader") for p in (ROOT / pkg).rglob("*.py")]:
        requires = core | next((extra for where, extra in optional.items() if path.is_relative_to(where)),
                               set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                    else [])
            for mod in mods:
                top = mod.split(".")[0]
                if top in ("engine", "loader", "cypher") or top in sys.stdlib_module_names:
                    continue
                dists = {d.lower().replace("_", "-") for d in provided.get(top, [top])}
                if not dists & requires:
                    missing.add(f"{path.relative_to(ROOT)} imports {top} ({', '.join(dists)})")
    assert not missing, "undeclared dependencies:\n" + "\n".join(sorted(missing))


def test_installed_wheel_runs(fresh: Path, tmp_path: Path) -> None:
    bin_ = fresh / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    out = _run([str(bin_ / "engine"), "--help"], cwd=tmp_path, env=env).stdout
    assert "Examples:" in out and "torch.jit" not in out
    models = _run([str(bin_ / "engine"), "models"], cwd=tmp_path, env=env)
    assert "* " in models.stdout and "FutureWarning" not in models.stderr
    code = (
        "import importlib, pkgutil, engine, loader, cypher\n"
        "assert '/site-packages/' in engine.__file__, engine.__file__\n"
        "n = 0\n"
        "for pkg in (engine, loader):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if not m.name.endswith('__main__'):\n"
        "            importlib.import_module(m.name); n += 1\n"
        "from engine.graphdb import queries\n"
        "assert len(queries.names()) > 50\n"
        "from loader import bundled_dataset\n"
        "assert bundled_dataset().is_file()\n"
        "print(n)\n"
    )
    imported = int(_run([str(bin_ / "python"), "-c", code], cwd=tmp_path, env=env).stdout.split()[-1])
    assert imported >= 60


def test_installed_wheel_loads_trains_and_recommends(fresh: Path, neo4j_server, clean_graph,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    s = neo4j_server.settings
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(env_for(s))
    engine = [str(fresh / "bin" / "engine"), "--uri", s.uri, "--user", s.user]
    loaded = _run([*engine, "load", "synthetic", "--users", "60", "--movies", "40",
                   "--ratings", "1500", "--no-progress"], cwd=tmp_path, env=env)
    assert "RATED" in loaded.stdout
    trained = _run([*engine, "train", "--model", "ease", "--no-progress"], cwd=tmp_path, env=env)
    assert "write-back: run" in trained.stdout and (tmp_path / "runs").is_dir()
    recs = _run([*engine, "recommend", "--user", "1", "-k", "5", "--format", "json"], cwd=tmp_path,
                env=env)
    assert recs.stdout.count('"source": "model"') == 5
