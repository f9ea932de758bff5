"""The in-memory result of loading MovieLens: typed tables plus the rows that were rejected.

:class:`MovieLensData` is the contract between the pure parser (:mod:`loader.parse`,
:mod:`loader.synthetic`) and the Neo4j writer. Column names follow the graph property
names in :mod:`engine.schema` (``userId``, ``movieId``, ...), so rows map straight onto
``UNWIND $rows AS row`` parameters.

Column types (see :data:`SCHEMA`):

* ``int64``: required integers; ``Int64`` (pandas nullable): optional integers;
* ``float64``: ratings;
* ``object``: text, holding ``str`` or ``None`` (never ``NaN``) so that
  ``frame.to_dict("records")`` gives Neo4j-ready values; ``genres`` holds ``list[str]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from engine.errors import InputError

#: Column name -> dtype, per table. ``"text"`` means object dtype holding ``str | None``;
#: ``"list"`` means object dtype holding ``list[str]``.
SCHEMA: Final[dict[str, dict[str, str]]] = {
    "users": {
        "userId": "int64",
        "gender": "text",
        "age": "Int64",
        "occupation": "text",
        "zip": "text",
    },
    "movies": {
        "movieId": "int64",
        "title": "text",
        "year": "Int64",
        "imdbId": "Int64",
        "tmdbId": "Int64",
        "genres": "list",
    },
    "ratings": {"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"},
    "tags": {"userId": "int64", "movieId": "int64", "tag": "text", "timestamp": "int64"},
}


@dataclass(frozen=True)
class Reject:
    """One input line that failed validation.

    ``line`` is the 1-based physical line in ``file`` (the header of a CSV file is
    line 1); ``0`` means the whole file (missing or empty). ``text`` is the raw line
    without its line ending.
    """

    file: str
    line: int
    text: str
    problem: str
    expected: str

    def message(self) -> str:
        """``file:line: problem: 'text' (expected ...)``, as used by :class:`LoadError`."""
        return f"{self.file}:{self.line}: {self.problem}: {self.text!r} (expected {self.expected})"


class LoadError(InputError):
    """A MovieLens input could not be loaded; ``.reject`` says where and why.

    Files are read and validated before anything is written, so the message says so.
    """

    def __init__(self, reject: Reject) -> None:
        super().__init__(f"{reject.message()}; nothing was written")
        self.reject = reject

    def __reduce__(self) -> tuple[type[LoadError], tuple[Reject]]:
        return (LoadError, (self.reject,))


@dataclass(repr=False)
class MovieLensData:
    """One MovieLens release (or a synthetic stand-in) as validated, typed tables.

    Every rating and tag refers to a movie in ``movies`` and a user in ``users``;
    ``(userId, movieId)`` is unique in ``ratings``. ``rejects`` lists the input lines
    dropped in ``on_error="skip"`` mode (always empty in ``"fail"`` mode).
    """

    name: str
    layout: str
    source: str
    md5: str | None
    users: pd.DataFrame
    movies: pd.DataFrame
    ratings: pd.DataFrame
    tags: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    synthetic: bool = False

    def counts(self) -> dict[str, int]:
        """Row counts: users, movies, genres (distinct names), ratings, tags."""
        genres = {g for gs in self.movies["genres"] for g in gs}
        return {
            "users": len(self.users),
            "movies": len(self.movies),
            "genres": len(genres),
            "ratings": len(self.ratings),
            "tags": len(self.tags),
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v:,}" for k, v in self.counts().items())
        return (
            f"MovieLensData(name={self.name!r}, layout={self.layout!r}, source={self.source!r}, "
            f"{counts}, rejects={len(self.rejects)}, synthetic={self.synthetic})"
        )


def conform(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the columns of ``SCHEMA[table]``, in order and typed.

    Missing columns are filled with nulls; text columns become object dtype with
    ``None`` for missing values.
    """
    out: dict[str, object] = {}
    n = len(frame)
    for col, dtype in SCHEMA[table].items():
        values = frame[col] if col in frame.columns else None
        if dtype == "list":
            items = [[] for _ in range(n)] if values is None else list(values)
            out[col] = pd.Series(items, dtype=object)
        elif dtype == "text":
            arr = np.full(n, None, dtype=object) if values is None else values.to_numpy(
                dtype=object, na_value=None)
            out[col] = pd.Series(arr, dtype=object, copy=False)
        elif values is None:
            out[col] = pd.Series(pd.array([None] * n, dtype="Int64"))
        elif dtype == "Int64":
            out[col] = pd.Series(pd.array(values, dtype="Int64"))
        else:
            out[col] = pd.Series(values.to_numpy(dtype=dtype), copy=False)
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def empty(table: str) -> pd.DataFrame:
    """An empty frame with the columns and dtypes of ``SCHEMA[table]``."""
    return conform(table, pd.DataFrame({c: np.empty(0) for c in SCHEMA[table]}))
