"""Run a snippet against the project's code as it was at a git revision (for before/after).

``at_revision(rev)`` unpacks ``engine/``, ``loader/`` and ``cypher/`` of ``rev`` into a
temporary folder (``git archive``); ``run_at(tree, code, env)`` runs ``code`` in a fresh
interpreter with that folder first on ``sys.path`` and returns the JSON object the snippet
prints on its last line. Both sides of a benchmark then run on the same server and data in
the same run, alternately.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def at_revision(rev: str) -> Iterator[Path]:
    """A temporary folder holding the packages of revision ``rev``."""
    blob = subprocess.run(["git", "archive", "--format=tar", rev, "engine", "loader", "cypher"],
                          cwd=ROOT, check=True, capture_output=True).stdout
    safe = "".join(c if c.isalnum() else "-" for c in rev)
    with tempfile.TemporaryDirectory(prefix=f"rg-{safe}-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def run_at(tree: Path, code: str, env: dict[str, str], args: list[str] | None = None) -> dict[str, Any]:
    """Run ``code`` with ``tree`` first on ``sys.path``; its last stdout line is JSON."""
    prelude = f"import sys; sys.path.insert(0, {str(tree)!r})\n"
    out = subprocess.run([sys.executable, "-c", prelude + code, *(args or [])], cwd=tree,
                         capture_output=True, text=True, env={**os.environ, **env})
    if out.returncode != 0:
        raise RuntimeError(f"the code of {tree.name} failed (exit {out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
