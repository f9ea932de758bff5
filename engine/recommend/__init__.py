"""Recommendation rows as people read them: tables, JSON, CSV, and the filters they type.

The rows come from :class:`engine.graphdb.reader.Reader` (the ``cypher/recommend``
statements); this module only turns them into text, so the CLI, ``engine viz`` and the
demo print the same thing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

from engine.errors import InputError

__all__ = ["FORMATS", "Format", "parse_years", "render"]

Format = Literal["table", "json", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json", "csv")


def parse_years(text: str | None) -> tuple[int | None, int | None]:
    """``"1990:1999"`` -> (1990, 1999); ``"1990:"``, ``":1999"``, ``"1995"`` work too."""
    if not text:
        return None, None
    lo, sep, hi = text.partition(":")
    try:
        first = int(lo) if lo.strip() else None
        last = (int(hi) if hi.strip() else None) if sep else first
    except ValueError as exc:
        raise InputError(f"--year {text!r}: expected YEAR, FROM:TO, FROM: or :TO") from exc
    if first is not None and last is not None and last < first:
        raise InputError(f"--year {text!r}: the range is empty")
    return first, last


def cell(value: Any, width: int = 60) -> str:
    """One value as table text (floats to 4 significant digits, long text cut with …)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        value = ", ".join(cell(v, width) for v in value)
    if isinstance(value, dict):
        value = json.dumps(value, default=str)
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: Format) -> str:
    """Rows as an aligned table, JSON (all columns) or CSV (the given columns)."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2, default=str, ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["|".join(map(str, v)) if isinstance(v, list) else
                             ("" if v is None else v) for v in (row.get(c) for c in columns)])
        return buf.getvalue().rstrip("\n")
    if not rows:
        return "(no rows)"
    cells = [[cell(row.get(c), 200 if c == "explanation" else 48) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def render_record(row: dict[str, Any]) -> str:
    """One row (``engine explain``) as ``key  value`` lines, lists one item per line."""
    width = max((len(k) for k in row), default=0)
    lines = []
    for key, value in row.items():
        if isinstance(value, list) and value and isinstance(value[0], dict) or key == "paths":
            lines.append(f"{key.ljust(width)}  ")
            lines.extend(f"{'':{width}}  - {cell(item, 200)}" for item in value)
        else:
            lines.append(f"{key.ljust(width)}  {cell(value, 300)}")
    return "\n".join(lines)
