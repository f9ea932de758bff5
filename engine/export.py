"""Export a Cypher-selected subgraph from Neo4j into pure arrays (then ``HeteroData``).

The selection options compile to the parameterised statements in ``cypher/export/``;
nothing is formatted into Cypher text. RATED edges stream in chunks of users, one row per
user with parallel lists (a compact encoding that the driver decodes fast), on two
sessions at once so the server's work overlaps with decoding here. Nothing holds the
whole result as Python objects: each chunk becomes numpy arrays straight away.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import neo4j
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from engine import queries
from engine.data import IdMap, Interactions

log = logging.getLogger(__name__)


class EmptySelectionError(ValueError):
    """The selection matched no ratings."""


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
            raise ValueError("min_ratings must be >= 0")
        if self.max_ratings is not None and self.max_ratings < self.min_ratings:
            raise ValueError(f"max_ratings ({self.max_ratings}) < min_ratings ({self.min_ratings})")
        if self.min_ts is not None and self.max_ts is not None and self.max_ts <= self.min_ts:
            raise ValueError("the date range is empty (max_ts <= min_ts)")
        if self.sample_users is not None and self.sample_users < 1:
            raise ValueError("sample_users must be >= 1")

    def edge_params(self) -> dict[str, Any]:
        return {
            "minTs": self.min_ts, "maxTs": self.max_ts,
            "minRating": self.min_rating,
            "genres": list(self.genres) if self.genres else None,
        }

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


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def select_users(driver: neo4j.Driver, selection: Selection, database: str) -> np.ndarray:
    """Raw userIds eligible under ``selection`` (sorted; sampled if asked)."""
    records, _, _ = driver.execute_query(
        queries.load("export/user_ids"),
        parameters_={"minRatings": selection.min_ratings, "maxRatings": selection.max_ratings},
        database_=database, routing_=neo4j.RoutingControl.READ,
    )
    users = np.fromiter((r["userId"] for r in records), dtype=np.int64, count=len(records))
    if selection.sample_users is not None and selection.sample_users < len(users):
        rng = np.random.default_rng(selection.seed)
        users = np.sort(rng.choice(users, size=selection.sample_users, replace=False))
    return users


def _fetch_chunk(driver: neo4j.Driver, database: str, user_ids: list[int],
                 params: dict[str, Any]) -> tuple[np.ndarray, ...]:
    text = queries.load("export/ratings")
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        result = session.run(text, userIds=user_ids, **params)
        rows = [(r[0], r[1], r[2], r[3]) for r in result]
    if not rows:
        empty_i = np.empty(0, dtype=np.int64)
        return empty_i, empty_i, np.empty(0, dtype=np.float32), empty_i
    lengths = np.fromiter((len(r[1]) for r in rows), dtype=np.int64, count=len(rows))
    total = int(lengths.sum())
    users = np.repeat(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), lengths)
    movies = np.fromiter(itertools.chain.from_iterable(r[1] for r in rows), np.int64, total)
    ratings = np.fromiter(itertools.chain.from_iterable(r[2] for r in rows), np.float32, total)
    stamps = np.fromiter(itertools.chain.from_iterable(r[3] for r in rows), np.int64, total)
    return users, movies, ratings, stamps


def _node_frame(driver: neo4j.Driver, database: str, query: str, key: str, ids: np.ndarray,
                columns: list[str], chunk: int = 20_000) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for part in _chunks(ids.tolist(), chunk):
        records, _, _ = driver.execute_query(
            queries.load(query), parameters_={key: part}, database_=database,
            routing_=neo4j.RoutingControl.READ,
        )
        rows.extend(r.data() for r in records)
    frame = pd.DataFrame(rows, columns=columns)
    id_col = columns[0]
    frame = frame.set_index(id_col).reindex(ids).reset_index()
    return frame


def export_subgraph(
    driver: neo4j.Driver,
    selection: Selection | None = None,
    *,
    database: str = "neo4j",
    chunk_users: int = 2_000,
    workers: int = 2,
    progress: bool = True,
) -> Export:
    """Read the selected users' RATED edges and their users'/movies' metadata."""
    selection = selection or Selection()
    t0 = time.perf_counter()
    user_ids = select_users(driver, selection, database)
    if len(user_ids) == 0:
        raise EmptySelectionError(f"no user matches the selection {selection.as_dict()}")
    params = selection.edge_params()
    parts: list[tuple[np.ndarray, ...]] = []
    chunks = list(_chunks(user_ids.tolist(), chunk_users))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, tqdm(
        total=len(user_ids), desc="export RATED", unit="users", disable=not progress
    ) as bar:
        for part, ids in zip(
            pool.map(lambda ids: _fetch_chunk(driver, database, ids, params), chunks), chunks,
            strict=True,
        ):
            parts.append(part)
            bar.update(len(ids))
            bar.set_postfix(edges=sum(len(p[0]) for p in parts))
    users = np.concatenate([p[0] for p in parts])
    movies = np.concatenate([p[1] for p in parts])
    ratings = np.concatenate([p[2] for p in parts])
    stamps = np.concatenate([p[3] for p in parts])
    if len(users) == 0:
        raise EmptySelectionError(f"the selection {selection.as_dict()} matched no ratings")
    t_edges = time.perf_counter() - t0

    idmap = IdMap.from_raw(users, movies)
    inter = Interactions(
        user=idmap.user_index(users), item=idmap.movie_index(movies), rating=ratings,
        timestamp=stamps, num_users=idmap.num_users, num_items=idmap.num_movies,
        meta={"selection": selection.as_dict()},
    )
    movie_frame = _node_frame(driver, database, "export/movies", "movieIds", idmap.movies,
                              ["movieId", "title", "year", "genres"])
    movie_frame["genres"] = [g if isinstance(g, list) else [] for g in movie_frame["genres"]]
    user_frame = _node_frame(driver, database, "export/users", "userIds", idmap.users,
                             ["userId", "gender", "age", "occupation"])
    seconds = time.perf_counter() - t0
    stats = {
        "edges": float(len(inter)), "users": float(idmap.num_users),
        "movies": float(idmap.num_movies), "edge_seconds": t_edges, "seconds": seconds,
        "edges_per_second": len(inter) / t_edges if t_edges > 0 else float("nan"),
    }
    log.info("exported %d RATED edges in %.2fs (%.0f edges/s)", len(inter), t_edges,
             stats["edges_per_second"])
    return Export(idmap, inter, movie_frame, user_frame, selection, stats)
