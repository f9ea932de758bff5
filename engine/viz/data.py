"""The one IO module of :mod:`engine.viz`: reads what the plots need from Neo4j through Cypher files.

Every read goes through :class:`engine.graphdb.reader.Reader` (read transactions, parameters only)
with the ``cypher/viz/`` statements, plus ``recommend/for_user``, ``recommend/similar_users``
and ``recommend/current_run`` for the recommendation subgraph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.evaluate.segments import Thresholds
from engine.graphdb.reader import Reader


@dataclass
class Subgraph:
    """A user's recommendations with their explanation paths."""

    user_id: int
    recs: list[dict[str, Any]]
    paths: list[dict[str, Any]]
    similar_users: list[dict[str, Any]] = field(default_factory=list)


def current_run(reader: Reader) -> dict[str, Any]:
    """The model run readers see now (all keys None when there is none)."""
    return reader.current_run()


def movies(reader: Reader, limit: int = 3000) -> list[dict[str, Any]]:
    """The most rated movies with genres and their vector in the current run (empty without vectors)."""
    return reader.run("viz/movie_embeddings", limit=limit)


def users(reader: Reader, with_embeddings: bool = True) -> list[dict[str, Any]]:
    """Every user with ``ratings``, ``meanRating`` and (optionally) ``embedding``."""
    return reader.run("viz/user_activity", withEmbeddings=with_embeddings)


def genre_by_segment(reader: Reader, thresholds: Thresholds) -> list[dict[str, Any]]:
    """Ratings and average rating per (segment, genre)."""
    return reader.run("viz/genre_by_segment", **thresholds.cypher_params())


def rating_sample(reader: Reader, every: int = 5, limit: int = 20000) -> list[dict[str, Any]]:
    """(userId, movieId, rating) rows of every ``every``-th user."""
    return reader.run("viz/rating_sample", every=every, limit=limit)


def subgraph(reader: Reader, user_id: int, *, k: int = 10, genres: list[str] | None = None,
             year_min: int | None = None, year_max: int | None = None, min_score: float | None = None,
             n_similar: int = 5, min_rating: float = 4.0, per_movie: int = 2) -> Subgraph:
    """Top-``k`` recommendations (filtered like ``engine recommend``) and why (``viz/explain_paths``)."""
    reader.lookup(user_id=user_id)  # raises UnknownIdError for an unknown user
    recs = reader.recommend(user_id, k=k, genres=genres, years=(year_min, year_max), min_score=min_score)
    similar = reader.similar_users(user_id, k=n_similar) if n_similar > 0 else []
    paths = reader.run(
        "viz/explain_paths", userId=user_id, movieIds=[r["movieId"] for r in recs],
        similarUserIds=[s["userId"] for s in similar], minRating=min_rating, perMovie=per_movie,
    ) if recs else []
    return Subgraph(user_id=user_id, recs=recs, paths=paths, similar_users=similar)
