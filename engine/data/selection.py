"""Which part of the graph to train on, and the exported subgraph as pure arrays.

:class:`Selection` compiles to the parameters of the ``cypher/export`` statements
(nothing is formatted into Cypher text); :class:`Export` is what
:func:`engine.graphdb.export.export_subgraph` returns: interactions in an
:class:`~engine.data.interactions.IdMap`'s index space plus node metadata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from engine.data.interactions import IdMap, Interactions
from engine.errors import InputError


class EmptySelectionError(InputError):
    """The selection matched no user or no rating."""


@dataclass(frozen=True)
class Selection:
    """Which part of the graph to train on (every field optional).

    ``min_ratings``/``max_ratings`` bound a user's total number of ratings (e.g.
    ``max_ratings=200`` drops "bulk raters"); ``min_ts``/``max_ts`` select ratings by
    time (epoch seconds, ``[min_ts, max_ts)``); ``min_rating`` keeps only ratings at or
    above a threshold (implicit feedback); ``genres`` keeps ratings of movies in any of
    them; ``sample_users`` keeps a seeded random sample of the eligible users.
    """

    min_ratings: int = 1
    max_ratings: int | None = None
    min_ts: int | None = None
    max_ts: int | None = None
    min_rating: float | None = None
    genres: tuple[str, ...] | None = None
    sample_users: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.min_ratings < 0:
            raise InputError("min_ratings must be >= 0")
        if self.max_ratings is not None and self.max_ratings < self.min_ratings:
            raise InputError(f"max_ratings ({self.max_ratings}) < min_ratings ({self.min_ratings})")
        if self.min_ts is not None and self.max_ts is not None and self.max_ts <= self.min_ts:
            raise InputError("the date range is empty (max_ts <= min_ts)")
        if self.sample_users is not None and self.sample_users < 1:
            raise InputError("sample_users must be >= 1")
        if self.min_rating is not None and not math.isfinite(self.min_rating):
            raise InputError(f"min_rating must be a finite number, got {self.min_rating}")

    def edge_params(self) -> dict[str, Any]:
        """Parameters of ``cypher/export/ratings`` besides the user ids."""
        return {
            "minTs": self.min_ts, "maxTs": self.max_ts,
            "minRating": self.min_rating,
            "genres": list(self.genres) if self.genres else None,
        }

    @property
    def keeps_every_rating(self) -> bool:
        """Whether every rating of a selected user is exported (no edge filter)."""
        return not any(v is not None for v in self.edge_params().values())

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class Export:
    """A subgraph as arrays: interactions in IdMap index space plus node metadata."""

    idmap: IdMap
    interactions: Interactions
    movies: pd.DataFrame  # row i describes idmap.movies[i]: movieId, title, year, genres
    users: pd.DataFrame  # row i describes idmap.users[i]: userId, gender, age, occupation
    selection: Selection
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def genres(self) -> list[str]:
        return sorted({g for gs in self.movies["genres"] for g in gs})
