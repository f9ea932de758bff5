"""Export a Cypher-selected subgraph from Neo4j into pure arrays (then ``HeteroData``).

The selection options compile to the parameterised statements in ``cypher/export/``;
nothing is formatted into Cypher text. RATED edges stream in chunks of users balanced by
their rating counts, one row per user with parallel lists (a compact encoding that the
driver decodes fast), on two sessions at once so the server's work overlaps with decoding
here. Movies come as internal node ids, mapped back to movieId through one read of every
movie after the edges (a per-edge ``m.movieId`` read was ~40% of the server's time).
Nothing holds the whole result as Python objects: each chunk becomes numpy arrays at once.
"""

from __future__ import annotations

import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import neo4j
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from engine.data.interactions import IdMap, Interactions, find_sorted
from engine.data.selection import EmptySelectionError, Export, Selection
from engine.errors import ReelGraphError
from engine.graphdb import queries
from engine.graphdb.runner import Runner

log = logging.getLogger(__name__)


__all__ = ["edge_chunks", "eligible_users", "export_subgraph"]


def eligible_users(runner: Runner, selection: Selection) -> tuple[np.ndarray, np.ndarray]:
    """Raw userIds eligible under ``selection`` (sorted; sampled if asked) and their degrees."""
    row = runner.read("export/user_ids", minRatings=selection.min_ratings,
                      maxRatings=selection.max_ratings)[0]
    users = np.array(row["userIds"], dtype=np.int64)
    degrees = np.array(row["degrees"], dtype=np.int64)
    if selection.sample_users is not None and selection.sample_users < len(users):
        rng = np.random.default_rng(selection.seed)
        keep = np.sort(rng.choice(len(users), size=selection.sample_users, replace=False))
        users, degrees = users[keep], degrees[keep]
    return users, degrees


def edge_chunks(degrees: np.ndarray, edges: int, max_users: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` spans of users holding about ``edges`` ratings each (at most ``max_users``).

    Chunks of equal work keep both sessions busy to the end; a user with more ratings than
    ``edges`` gets a chunk of their own.
    """
    out: list[tuple[int, int]] = []
    lo, acc = 0, 0
    for i, d in enumerate(degrees.tolist()):
        if i > lo and (acc + d > edges or i - lo >= max_users):
            out.append((lo, i))
            lo, acc = i, 0
        acc += d
    if lo < len(degrees):
        out.append((lo, len(degrees)))
    return out


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


def _movie_ids(runner: Runner, nodes: np.ndarray) -> np.ndarray:
    """MovieIds of internal movie node ids (read after the edges, so every node existed)."""
    row = runner.read("export/movie_nodes")[0]
    keys = np.array(row["nodes"], dtype=np.int64)
    values = np.array(row["movieIds"], dtype=np.int64)
    order = np.argsort(keys)
    pos, found = find_sorted(keys[order], nodes)
    if not found.all():
        raise ReelGraphError(
            f"{int((~found).sum()):,} exported ratings name movies deleted while the export "
            "ran; re-run it when the load or wipe has finished")
    return values[order][pos]


def _node_frame(runner: Runner, query: str, key: str, ids: np.ndarray,
                columns: list[str]) -> pd.DataFrame:
    rows = [row for part in runner.chunked(query, key, ids.tolist()) for row in part["rows"]]
    frame = pd.DataFrame(rows, columns=columns)
    id_col = columns[0]
    frame = frame.set_index(id_col).reindex(ids).reset_index()
    return frame


def export_subgraph(
    driver: neo4j.Driver,
    selection: Selection | None = None,
    *,
    database: str = "neo4j",
    chunk_edges: int = 100_000,
    chunk_users: int = 5_000,
    workers: int = 2,
    progress: bool = True,
) -> Export:
    """Read the selected users' RATED edges and their users'/movies' metadata."""
    selection = selection or Selection()
    runner = Runner(driver, database)
    t0 = time.perf_counter()
    user_ids, degrees = eligible_users(runner, selection)
    if len(user_ids) == 0:
        raise EmptySelectionError(f"no user matches the selection {selection.as_dict()}")
    params = selection.edge_params()
    parts: list[tuple[np.ndarray, ...]] = []
    ids = user_ids.tolist()
    chunks = [ids[lo:hi] for lo, hi in edge_chunks(degrees, chunk_edges, chunk_users)]
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
    movies = _movie_ids(runner, np.concatenate([p[1] for p in parts]))
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
    movie_frame = _node_frame(runner, "export/movies", "movieIds", idmap.movies,
                              ["movieId", "title", "year", "genres"])
    movie_frame["genres"] = [g if isinstance(g, list) else [] for g in movie_frame["genres"]]
    user_frame = _node_frame(runner, "export/users", "userIds", idmap.users,
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
