"""Read recommendations from the graph: runs the ``cypher/recommend/`` files by name.

This is the reader behind ``engine recommend / similar / explain`` and ``engine viz``. All logic
(which run is current, cold start, filters, explanations) lives in the Cypher files, so
that what the CLI prints is exactly what the same file returns pasted into Neo4j
Browser; this module only passes parameters, checks that ids exist, and turns driver
values (paths) into plain Python.

    reader = Reader(driver, database="neo4j")
    rows = reader.recommend(1, k=10, genres=["Comedy"], years=(1990, 1999))
    rows = reader.least_relevant(1, k=10)
    rows = reader.similar_movies(1, k=10); rows = reader.similar_users(1, k=10)
    row = reader.explain(1, 1196)
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Sequence
from typing import Any

import neo4j
from neo4j.graph import Node, Path, Relationship

from engine.errors import InputError
from engine.evaluate.segments import THRESHOLDS, Thresholds
from engine.graphdb.runner import Runner

log = logging.getLogger(__name__)


class UnknownIdError(InputError, LookupError):
    """The user or movie id is not in the graph (exit code 2)."""


class UnknownGenreError(InputError, LookupError):
    """A ``--genre`` names no genre of the graph (exit code 2)."""


def _node_text(node: Node) -> str:
    if "title" in node:
        return f"({node['title']})"
    if "userId" in node:
        return f"(user {node['userId']})"
    return f"({':'.join(node.labels)})"


def _rel_text(rel: Relationship) -> str:
    rating = rel.get("rating")
    return f"[:{rel.type}{' ' + format(rating, 'g') if rating is not None else ''}]"


def path_text(path: Path) -> str:
    """``(user 1)-[:RATED 5]->(Toy Story (1995))<-[:RATED 4.5]-(user 7)...`` (readable)."""
    nodes = list(path.nodes)
    out = [_node_text(nodes[0])]
    for rel, left, right in zip(path.relationships, nodes[:-1], nodes[1:], strict=True):
        forward = rel.start_node is not None and rel.start_node.element_id == left.element_id
        out.append(f"-{_rel_text(rel)}->" if forward else f"<-{_rel_text(rel)}-")
        out.append(_node_text(right))
    return "".join(out)


def _plain(value: Any) -> Any:
    """Driver values as plain Python (paths as text, nodes as their properties)."""
    if isinstance(value, Path):
        return path_text(value)
    if isinstance(value, Node):
        return {k: v for k, v in value.items() if not k.startswith("embedding")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Reader:
    """Runs the recommendation queries on one database through an injected driver."""

    def __init__(self, driver: neo4j.Driver, database: str = "neo4j") -> None:
        self.runner = Runner(driver, database)

    def run(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """Rows of query ``name`` (one auto-commit read), values as plain Python."""
        return [{k: _plain(v) for k, v in row.items()} for row in self.runner.read(name, **params)]

    # ------------------------------------------------------------------ checks
    def lookup(self, user_id: int | None = None, movie_id: int | None = None) -> dict[str, Any]:
        """Which of the ids exist, plus the run readers see now; raises :class:`UnknownIdError`."""
        row = self.run("recommend/lookup", userId=user_id, movieId=movie_id)[0]
        if user_id is not None and not row["userExists"]:
            raise UnknownIdError(
                f"unknown user {user_id}: no (:User {{userId: {user_id}}}) in the graph")
        if movie_id is not None and not row["movieExists"]:
            raise UnknownIdError(
                f"unknown movie {movie_id}: no (:Movie {{movieId: {movie_id}}}) in the graph")
        return row

    def check_genres(self, genres: Sequence[str] | None) -> None:
        """Raise :class:`UnknownGenreError` for a genre the graph does not hold, with a hint."""
        if not genres:
            return
        known = [r["name"] for r in self.runner.read("admin/genre_names")]
        unknown = [g for g in genres if g not in known]
        if not unknown:
            return
        by_fold = {k.casefold(): k for k in known}
        hints = []
        for g in unknown:
            close = by_fold.get(g.casefold()) or next(
                iter(difflib.get_close_matches(g, known, n=1, cutoff=0.6)), None)
            hints.append(f"{g!r}" + (f" (did you mean {close!r}?)" if close else ""))
        raise UnknownGenreError(
            f"unknown genre {', '.join(hints)}; the graph's genres are "
            f"{', '.join(known) or '(none: is a dataset loaded?)'}")

    # ------------------------------------------------------------------ queries
    def recommend(
        self,
        user_id: int,
        k: int = 10,
        *,
        genres: Sequence[str] | None = None,
        years: tuple[int | None, int | None] = (None, None),
        min_score: float | None = None,
    ) -> list[dict[str, Any]]:
        """``recommend/for_user``: top-k with score, source, runId and explanation."""
        _check_k(k)
        if min_score is not None and not math.isfinite(min_score):
            raise InputError(f"min_score must be a finite number, got {min_score}")
        self.lookup(user_id=user_id)
        self.check_genres(genres)
        return self.run(
            "recommend/for_user", userId=user_id, k=k, genres=list(genres) if genres else None,
            yearMin=years[0], yearMax=years[1], minScore=min_score,
        )

    def least_relevant(self, user_id: int, k: int = 10) -> list[dict[str, Any]]:
        """``recommend/least_relevant``: unrated movies with the lowest affinity."""
        _check_k(k)
        self.lookup(user_id=user_id)
        return self.run("recommend/least_relevant", userId=user_id, k=k)

    def similar_movies(self, movie_id: int, k: int = 10) -> list[dict[str, Any]]:
        """``recommend/similar_movies``."""
        _check_k(k)
        self.lookup(movie_id=movie_id)
        return self.run("recommend/similar_movies", movieId=movie_id, k=k)

    def similar_users(self, user_id: int, k: int = 10) -> list[dict[str, Any]]:
        """``recommend/similar_users``."""
        _check_k(k)
        self.lookup(user_id=user_id)
        return self.run("recommend/similar_users", userId=user_id, k=k)

    def explain(self, user_id: int, movie_id: int) -> dict[str, Any]:
        """``recommend/explain``: one row of evidence for (user, movie)."""
        self.lookup(user_id=user_id, movie_id=movie_id)
        return self.run("recommend/explain", userId=user_id, movieId=movie_id)[0]

    def genre_affinity(self, user_id: int) -> list[dict[str, Any]]:
        """``recommend/genre_affinity``."""
        self.lookup(user_id=user_id)
        return self.run("recommend/genre_affinity", userId=user_id)

    def by_segment(self, k: int = 5, thresholds: Thresholds = THRESHOLDS) -> list[dict[str, Any]]:
        """``recommend/by_segment``: most recommended movies per activity segment."""
        _check_k(k)
        return self.run("recommend/by_segment", **thresholds.cypher_params(), k=k)

    def current_run(self) -> dict[str, Any]:
        """``recommend/current_run`` (all fields None when no run was written back)."""
        rows = self.run("recommend/current_run")
        return rows[0] if rows else {}


def _check_k(k: int) -> None:
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
