"""Load Cypher statements from the ``cypher`` package by name.

Every ``.cypher`` file holds exactly one statement and starts with a ``//`` header::

    // Purpose: what it returns and why.
    // Params:
    //   $userId  INTEGER  the user to recommend for
    // Example:
    //   :param userId => 1

``load("recommend/for_user")`` returns the statement text (header kept: Neo4j ignores
comments). :func:`header_params` and :func:`used_params` let a test check that the
header documents exactly the parameters the statement uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from engine.errors import ReelGraphError

_PARAM_USE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_PARAM_DOC = re.compile(r"^//\s+\$([A-Za-z_][A-Za-z0-9_]*)\b", re.MULTILINE)
_LINE_COMMENT = re.compile(r"//[^\n]*")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


class QueryNotFoundError(ReelGraphError, KeyError):
    """No ``.cypher`` file of that name ships with the package."""


@dataclass(frozen=True)
class Query:
    """One Cypher statement and its documented header."""

    name: str
    text: str

    @property
    def header(self) -> str:
        """The leading ``//`` comment block."""
        lines = []
        for line in self.text.splitlines():
            if not line.startswith("//"):
                break
            lines.append(line)
        return "\n".join(lines)

    @property
    def body(self) -> str:
        """The statement without comments."""
        return _LINE_COMMENT.sub("", self.text).strip()


def names() -> list[str]:
    """All query names, e.g. ``["schema/constraints", ...]``, sorted."""
    root = resources.files("cypher")
    found: list[str] = []

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir() and not child.name.startswith(("_", ".")):
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".cypher"):
                found.append(prefix + child.name[: -len(".cypher")])

    walk(root, "")
    return sorted(found)


@cache
def get(name: str) -> Query:
    """The query called ``name`` (path under ``cypher/`` without ``.cypher``)."""
    target = resources.files("cypher").joinpath(*f"{name}.cypher".split("/"))
    if not target.is_file():
        raise QueryNotFoundError(f"no Cypher file named {name!r} (known: {', '.join(names())})")
    return Query(name=name, text=target.read_text(encoding="utf-8"))


def load(name: str) -> str:
    """The text of the query called ``name``."""
    return get(name).text


def used_params(text: str) -> set[str]:
    """Parameters a statement uses (``$name``), ignoring comments and string literals."""
    body = _STRING.sub("''", _LINE_COMMENT.sub("", text))
    return set(_PARAM_USE.findall(body))


def header_params(text: str) -> set[str]:
    """Parameters the header documents (lines ``//   $name ...``)."""
    header = Query("", text).header
    return set(_PARAM_DOC.findall(header))
