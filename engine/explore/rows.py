"""What the explore page shows, worked out without a database: inputs checked, rows filtered, changes marked.

Pure functions over the plain rows of the ``cypher/recommend`` files (dicts with ``movieId``,
``title``, ``year``, ``genres``, ``score`` or ``affinity``, ``explanation``):

* :func:`parse_filters` / :func:`parse_user` / :func:`parse_rating` turn the page's control
  values into checked values, or raise :class:`~engine.errors.InputError` with a message the
  page shows as it is;
* :func:`keep` / :func:`filter_rows` apply the genre and year filters in Python, for the one
  file that has none (``least_relevant``: the app over-fetches and filters, see
  :data:`LEAST_FETCH`);
* :func:`mark_changes` compares the list before a what-if rating with the list after it:
  every row is ``up``, ``down``, ``same`` or ``new``, and the rows that left are ``gone``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from engine.errors import InputError

__all__ = ["LEAST_FETCH", "MAX_K", "NEW_USER", "Filters", "Mark", "change_counts", "change_text",
           "filter_rows", "keep", "mark_changes", "parse_filters", "parse_rating", "parse_user"]

#: The user picker's value for "a new user" (the app gives them the next free userId).
NEW_USER: Final = "new"
#: The largest top-K the page asks for.
MAX_K: Final = 50
#: ``least_relevant`` has no genre/year parameters: the app reads this many rows (at least
#: ``10 * k``) and keeps the first ``k`` that pass the filters.
LEAST_FETCH: Final = 200

Mark = Literal["up", "down", "same", "new", "gone"]


@dataclass(frozen=True)
class Filters:
    """The page's filters: genres (any of), a year range, a minimum score (top list only), top-K."""

    genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    min_score: float | None = None
    k: int = 10

    def without_score(self) -> Filters:
        """The filters ``least_relevant`` rows get (a minimum score means nothing at the bottom)."""
        return replace(self, min_score=None)


def _number(value: Any, what: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise InputError(f"{what} {value!r} is not a finite number")
    return number


def parse_filters(genres: Sequence[str] | None, years: Sequence[Any] | None, min_score: Any, k: Any,
                  year_bounds: tuple[int, int] | None = None) -> Filters:
    """Checked :class:`Filters` from the controls' values.

    A year range equal to the catalogue's ``year_bounds`` is no filter (so movies without a
    year stay in); an empty minimum score is none.
    """
    top = _number(k, "top-K")
    if top is None or top != int(top) or not 1 <= top <= MAX_K:
        raise InputError(f"top-K must be a whole number from 1 to {MAX_K}, got {k!r}")
    low = high = None
    if years is not None and len(years) == 2 and None not in years:
        lo, hi = (int(round(float(y))) for y in years)
        if lo > hi:
            raise InputError(f"the year range {lo}-{hi} is empty: the first year must come first")
        if year_bounds is None or (lo, hi) != tuple(year_bounds):
            low, high = lo, hi
    return Filters(tuple(sorted(set(genres or ()))), low, high, _number(min_score, "minimum score"), int(top))


def parse_user(value: Any) -> int | Literal["new"] | None:
    """The picker's value: a userId, :data:`NEW_USER`, or ``None`` when nothing is picked."""
    if value is None or value == "":
        return None
    if value == NEW_USER:
        return NEW_USER
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"user {value!r} is not a userId (a whole number) or 'a new user'") from None
    if not math.isfinite(number) or number != int(number) or abs(number) >= 2**63:
        raise InputError(f"user {value!r} is not a userId (a whole number) or 'a new user'")
    return int(number)


def parse_rating(value: Any) -> float:
    """The what-if rating as a number; whether it is on the release's scale is the checked path's call."""
    number = _number(value, "rating")
    if number is None:
        raise InputError("give a rating: click a star or type a number")
    return number


def keep(row: dict[str, Any], filters: Filters) -> bool:
    """Whether ``row`` passes the genre and year filters (the same rule as ``for_user``)."""
    if filters.genres and not set(row.get("genres") or ()) & set(filters.genres):
        return False
    year = row.get("year")
    if filters.year_min is not None and (year is None or year < filters.year_min):
        return False
    return not (filters.year_max is not None and (year is None or year > filters.year_max))


def filter_rows(rows: Sequence[dict[str, Any]], filters: Filters) -> list[dict[str, Any]]:
    """The first ``filters.k`` rows that pass :func:`keep`, ranked again from 1."""
    kept = [dict(r) for r in rows if keep(r, filters)][: filters.k]
    for i, row in enumerate(kept, 1):
        row["rank"] = i
    return kept


def mark_changes(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``after`` with ``change`` (a :data:`Mark`) and ``was`` (the old rank) on each row; the gone rows.

    Ranks are positions in the lists (1 = first). Gone rows keep their old fields with
    ``change = "gone"``.
    """
    old = {r["movieId"]: i for i, r in enumerate(before, 1)}
    new_ids = {r["movieId"] for r in after}
    rows = []
    for i, r in enumerate(after, 1):
        was = old.get(r["movieId"])
        mark: Mark = "new" if was is None else "up" if i < was else "down" if i > was else "same"
        rows.append({**r, "change": mark, "was": was})
    gone = [{**r, "change": "gone", "was": i} for i, r in enumerate(before, 1) if r["movieId"] not in new_ids]
    return rows, gone


def change_counts(rows: Sequence[dict[str, Any]], gone: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many rows moved up, moved down, are new, are gone."""
    counts = {"up": 0, "down": 0, "new": 0, "gone": len(gone)}
    for r in rows:
        if r.get("change") in counts:
            counts[r["change"]] += 1
    return counts


def change_text(counts: dict[str, int]) -> str:
    """``"2 new, 1 gone, 3 moved up, 1 moved down"`` (``"no change"``)."""
    words = (("new", "new"), ("gone", "gone"), ("up", "moved up"), ("down", "moved down"))
    parts = [f"{counts[key]} {word}" for key, word in words if counts.get(key)]
    return ", ".join(parts) or "no change"
