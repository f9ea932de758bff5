"""``index.html`` of ``engine viz``: a titled page with a human caption under every figure.

Pure: sections in, one HTML file out. Everything interpolated is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Metrics worth a row in the page, in this order, with their display names.
_METRICS = (("ndcg@10", "NDCG@10"), ("recall@10", "Recall@10"), ("precision@10", "Precision@10"),
            ("map@10", "MAP@10"), ("hit@10", "Hit@10"), ("coverage@10", "Coverage@10"),
            ("novelty@10", "Novelty@10"), ("rmse", "RMSE"), ("mae", "MAE"), ("n_users", "users evaluated"))


@dataclass
class Section:
    """One block of index.html: its figures/links, a caption, a small table, or why it was skipped."""

    title: str
    files: list[str] = field(default_factory=list)
    note: str = ""
    skipped: str = ""
    table: list[tuple[str, str]] = field(default_factory=list)


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """``[("NDCG@10", "0.3094"), ...]`` from a run's metrics.json (its validation part when present)."""
    valid = metrics.get("valid", metrics) if isinstance(metrics.get("valid", metrics), dict) else {}
    rows = []
    for key, name in _METRICS:
        value = valid.get(key)
        if isinstance(value, int | float):
            rows.append((name, f"{int(value):,}" if key == "n_users" else f"{value:.4f}"))
    return rows


def filters_text(user_id: int, k: int, genres: Sequence[str] | None, years: tuple[int | None, int | None],
                 min_score: float | None) -> str:
    """``"user 1's top 10, genres Comedy or Drama, years 1990-1999, score >= 0.5"``."""
    parts = [f"user {user_id}'s top {k}"]
    parts.append(f"genres {' or '.join(genres)}" if genres else "all genres")
    lo, hi = years
    parts.append("any year" if lo is None and hi is None else
                 f"years {lo if lo is not None else '…'}–{hi if hi is not None else '…'}")
    parts.append("no minimum score" if min_score is None else f"score ≥ {min_score:g}")
    return ", ".join(parts)


def write_index(path: Path, *, title: str, intro: str, sections: Sequence[Section]) -> Path:
    """The page: ``<title>``/``<h1>`` = ``title``, an intro line, then each section with its caption."""
    esc = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{esc(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;color:#222}"
             "img{max-width:100%;border:1px solid #ddd} .skip{color:#a33} p.caption{max-width:70em}"
             "table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}"
             "</style></head><body>",
             f"<h1>{esc(title)}</h1>", f"<p>{esc(intro)}</p>"]
    for s in sections:
        parts.append(f"<h2>{esc(s.title)}</h2>")
        if s.skipped:
            parts.append(f"<p class='skip'>Skipped: {esc(s.skipped)}</p>")
        if s.note:
            parts.append(f"<p class='caption'>{esc(s.note)}</p>")
        if s.table:
            cells = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in s.table)
            parts.append(f"<table>{cells}</table>")
        for f in s.files:
            if f.endswith(".html"):
                parts.append(f"<p><a href='{esc(f)}'>{esc(f)}</a>: the same graph, interactive "
                             "(drag to pan, wheel to zoom, hover a box or an edge for its numbers)</p>")
            else:
                parts.append(f"<p><img src='{esc(f)}' alt='{esc(s.title)}'></p>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
