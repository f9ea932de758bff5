"""Write a validated :class:`~loader.dataset.MovieLensData` into Neo4j.

Order: constraints, genres, users, movies (+ IN_GENRE), RATED, TAGGED, then the counts
in the graph are checked against the source and the ``:Dataset`` node is marked
complete. Every write is a batched ``UNWIND $rows`` with parameters only.

Idempotent and resumable:

* nodes, IN_GENRE and TAGGED are MERGEd, so re-running them changes nothing;
* RATED edges are the bulk of the data. They are split into four blocks by the parity
  of (userId, movieId); blocks (0,0)+(1,1), then (0,1)+(1,0), are written by two
  concurrent transactions that share no node, so neither waits on the other's locks and
  the server uses both cores. Each batch commits in the same transaction as its block's
  checkpoint on the ``:Dataset`` node (rows done so far, in a fixed order), so after a
  crash of the loader or of Neo4j a re-run continues exactly after the last committed
  batch of every block. While a dataset has never completed, batches CREATE edges (the
  fast path for an empty database); a load of an already complete dataset MERGEs them
  (no duplicates, changed ratings updated).

Live data survives a reload of the same release: a rating written by ``engine rate``
(``ratedAt`` set) is kept when it is at least as new as the file's (the newest rating of
a pair wins), the users and ratings live use added are allowed for in the count check
and reported, and the dataset stays ``complete`` throughout, so a reload that stops
never locks the graph for ``engine train`` or ``engine writeback``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from engine.errors import InputError, ReelGraphError
from engine.graphdb import Runner, spans
from engine.graphdb.live import ensure_indexes
from engine.graphdb.nodeids import NodeIds, UnknownNodeError
from engine.schema import UNIQUE_KEYS, Label, Rel
from loader.dataset import MovieLensData
from loader.provenance import check_same_content, fingerprint, mark_failed, same_content
from loader.wipe import wipe

log = logging.getLogger(__name__)

Mode = Literal["create", "merge", "bulk"]
Block = tuple[int, int]
BLOCKS: tuple[Block, ...] = ((0, 0), (1, 1), (0, 1), (1, 0))
PHASES: tuple[tuple[Block, Block], ...] = (((0, 0), (1, 1)), ((0, 1), (1, 0)))
DEFAULT_BATCH_SIZE = 50_000


class LoadConflictError(InputError):
    """The database already holds other data; loading would mix datasets."""


class LoadVerificationError(ReelGraphError):
    """After writing, the graph's counts differ from the source counts."""


@dataclass
class LoadSummary:
    """What a load read, wrote and verified, and how fast."""

    dataset: str
    expected: dict[str, int]
    in_graph: dict[str, int]
    ratings_mode: Mode
    resumed_from: int
    seconds: dict[str, float] = field(default_factory=dict)
    importer_peak_rss_mib: float | None = None  # bulk path: neo4j-admin's high-water mark
    #: a reload: live ratings (and their users) the graph holds beyond the files, kept
    live: dict[str, int] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return sum(self.seconds.values())

    def rated_per_second(self) -> float:
        """RATED edges per second of the ratings step (bulk path: of the whole load)."""
        written = self.expected["ratings"] - self.resumed_from
        secs = self.elapsed if self.ratings_mode == "bulk" else self.seconds.get("ratings", 0.0)
        return written / secs if secs > 0 else float("nan")

    def table(self) -> str:
        """A printable summary: read vs in-graph per label/type, rows/s, elapsed."""
        rows = [
            ("users", "User"), ("movies", "Movie"), ("genres", "Genre"),
            ("ratings", "RATED"), ("tags", "TAGGED"), ("in_genre", "IN_GENRE"),
        ]
        lines = [f"{'source':<10} {'read':>12} {'graph':<9} {'in graph':>12}  ok"]
        for key, kind in rows:
            exp, got = self.expected.get(key, 0), self.in_graph.get(kind, 0)
            ok = "yes" if exp == got else (
                f"yes (+{got - exp:,} live)" if exp < got <= exp + self.live.get(key, 0) else "NO")
            lines.append(f"{key:<10} {exp:>12,} {kind:<9} {got:>12,}  {ok}")
        rate = self.rated_per_second()
        if self.live.get("ratings"):
            lines.append(f"kept {self.live['ratings']:,} live ratings by {self.live['users']:,} users "
                         "(engine rate); a pair rated since the release keeps its newest rating")
        lines.append(
            f"RATED written at {rate:,.0f} edges/s ({self.ratings_mode} path"
            + (f", resumed after {self.resumed_from:,} rows" if self.resumed_from else "")
            + f"); total {self.elapsed:.1f}s ("
            + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
            + ")"
        )
        return "\n".join(lines)


def batch(runner: Runner, query: str, params: dict[str, Any], progress: dict[str, Any] | None,
          dataset: str) -> None:
    """One batch and (optionally) its checkpoint on the ``:Dataset`` node, in one transaction."""
    statements = [(query, params)]
    if progress is not None:
        statements.append(("load/dataset_progress", {"name": dataset, "progress": progress}))
    runner.transaction(statements)


def graph_counts(runner: Runner) -> dict[str, int]:
    """Nodes/relationships per kind (a kind the graph never had counts 0)."""
    got = {r["kind"]: int(r["n"]) for r in runner.read("admin/graph_counts")}
    kinds = (Label.USER, Label.MOVIE, Label.GENRE, Rel.RATED, Rel.IN_GENRE, Rel.TAGGED)
    return {kind: got.get(kind, 0) for kind in kinds}


def ensure_schema(runner: Runner, timeout_s: int = 300) -> None:
    """Uniqueness constraints and the live-update indexes (idempotent), then wait until they are online."""
    for _, label, _ in UNIQUE_KEYS:
        runner.write(f"schema/constraint_{label.lower()}")
    ensure_indexes(runner)
    runner.write("admin/await_indexes", timeoutSeconds=timeout_s)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with Python scalars and ``None`` for nulls (Neo4j-ready)."""
    out = frame.astype(object).where(frame.notna(), None)
    return out.to_dict("records")


def rating_batches(ratings: pd.DataFrame, start: int, size: int,
                   ids: NodeIds) -> Iterator[tuple[int, dict[str, list]]]:
    """``(rows_done_after, params)`` batches of ratings from row ``start``.

    ``ratings`` must already be in the canonical order (userId, movieId) so that row
    offsets mean the same thing in every run; ``params`` are the parallel lists of
    ``load/ratings_create`` / ``load/ratings_merge`` (internal node ids, values).
    """
    users = ids.users(ratings["userId"].to_numpy())
    movies = ids.movies(ratings["movieId"].to_numpy())
    values = ratings["rating"].to_numpy(dtype=np.float64)
    stamps = ratings["timestamp"].to_numpy(dtype=np.int64)
    for lo in range(start, len(ratings), size):
        hi = min(lo + size, len(ratings))
        yield hi, {
            "users": users[lo:hi].tolist(), "movies": movies[lo:hi].tolist(),
            "ratings": values[lo:hi].tolist(), "timestamps": stamps[lo:hi].tolist(),
        }


def expected_counts(data: MovieLensData) -> dict[str, int]:
    """What the graph must hold once ``data`` is loaded."""
    counts = data.counts()
    counts["tags"] = int(len(data.tags.drop_duplicates(["userId", "movieId", "tag"])))
    counts["in_genre"] = int(sum(len(g) for g in data.movies["genres"]))
    return counts


def load_dataset(
    runner: Runner,
    data: MovieLensData,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    replace: bool = False,
    progress: bool = True,
) -> LoadSummary:
    """Load ``data`` into ``database``; see the module docstring for the guarantees."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    ensure_schema(runner)
    _check_conflicts(runner, data.name, replace)
    seconds["schema"] = time.perf_counter() - t0

    expected = expected_counts(data)
    digest = fingerprint(data)
    before = {d["name"]: d["props"] for d in runner.read("load/dataset_get")}.get(data.name)
    check_same_content(before, data, digest)  # an edited release: refused before any write
    begun = runner.write(
        "load/dataset_begin", name=data.name, source=data.source, md5=data.md5,
        fingerprint=digest, synthetic=bool(data.synthetic), expected=json.dumps(expected),
    )[0]
    try:
        current = before or {}
        done, mode = _ratings_plan(begun, current, data, digest)
        if not any(done.values()) and mode == "merge":
            # A reload of the same complete release only re-asserts what the graph holds
            # (newest rating wins), so the graph stays usable ('complete') while it runs and
            # if it stops; any other merge marks the dataset loading until verified.
            status = "complete" if begun["status"] == "complete" else "loading"
            reset = {_done_key(b): 0 for b in BLOCKS}
            runner.write("load/dataset_progress", name=data.name,
                         progress={"status": status, "tagsDone": 0, "ratingsMode": mode, **reset})

        def timed(step: str, fn: Any) -> None:
            start = time.perf_counter()
            fn()
            seconds[step] = time.perf_counter() - start

        genres = sorted({g for gs in data.movies["genres"] for g in gs})
        tags_done = int(current.get("tagsDone") or 0)
        timed("nodes", lambda: _load_nodes(runner, data, genres, batch_size, progress))
        timed("ratings", lambda: _load_ratings(runner, data, done, mode, batch_size, progress))
        timed("tags", lambda: _load_tags(runner, data, tags_done, batch_size, progress))

        start = time.perf_counter()
        in_graph = graph_counts(runner)
        live = live_counts(runner) if mode == "merge" else {}
        verify(expected, in_graph, live)
        if live.get("ratings"):
            log.warning("kept %s live rating(s) by %s user(s) written since the release was "
                        "loaded (the newest rating of a pair wins)", f"{live['ratings']:,}",
                        f"{live['users']:,}")
        runner.autocommit("load/movie_rating_counts")
        runner.write("load/dataset_finish", name=data.name, counts=json.dumps(in_graph))
        seconds["verify"] = time.perf_counter() - start
    except BaseException as exc:  # the :Dataset never stays 'loading'; the checkpoints stay
        mark_failed(runner, data.name, exc)
        raise
    return LoadSummary(data.name, expected, in_graph, mode, sum(done.values()), seconds,
                       live=live)


def _check_conflicts(runner: Runner, name: str, replace: bool) -> None:
    datasets = runner.read("load/dataset_get")
    wiping = [d["name"] for d in datasets if d["props"].get("status") == "wiping"]
    if wiping and not replace:
        raise LoadConflictError(
            f"the database holds a half-wiped dataset ({', '.join(wiping)}): an earlier "
            "--replace was interrupted. Re-run with --replace to finish the wipe and load."
        )
    others = [d["name"] for d in datasets if d["name"] != name]
    counts = graph_counts(runner)
    stray = not datasets and counts.get(Label.USER, 0) > 0
    if (others or stray) and not replace:
        what = f"dataset {', '.join(others)}" if others else "users not loaded by ReelGraph"
        raise LoadConflictError(
            f"database already holds {what}; ids of different releases collide. "
            "Re-run with --replace to wipe it first, or load into another database/server."
        )
    if replace and (others or stray or wiping or counts.get(Label.USER, 0) > 0):
        deleted = wipe(runner)
        log.info("--replace: deleted %d nodes", deleted)


def _done_key(block: Block) -> str:
    return f"ratingsDone{block[0]}{block[1]}"


def _ratings_plan(begun: dict, current: dict, data: MovieLensData, digest: str
                  ) -> tuple[dict[Block, int], Mode]:
    """Rows already committed per block, and the write path to continue with."""
    fresh = {b: 0 for b in BLOCKS}
    if begun["status"] == "complete":
        return fresh, "merge"  # reload of a finished dataset: idempotent path
    done = {b: int(current.get(_done_key(b)) or 0) for b in BLOCKS}
    mode: Mode = current.get("ratingsMode") or "create"
    if any(done.values()) and not same_content(current, digest, data.md5):
        return fresh, "merge"  # cannot tell the content is the same: start over, safely
    return done, mode


def _load_nodes(runner: Runner, data: MovieLensData, genres: list[str], size: int,
                progress: bool) -> None:
    runner.write("load/genres", names=genres)
    for table, query, frame in (
        ("users", "load/users", data.users),
        ("movies", "load/movies", data.movies),
    ):
        with tqdm(total=len(frame), desc=f"{data.name} {table}", unit="rows",
                  disable=not progress, leave=False) as bar:
            for lo, hi in spans(len(frame), size):
                runner.write(query, rows=_records(frame.iloc[lo:hi]))
                bar.update(hi - lo)


def partition(ratings: pd.DataFrame) -> dict[Block, pd.DataFrame]:
    """Split ratings into four blocks by (userId parity, movieId parity), canonical order.

    Blocks (0,0) and (1,1) share no user and no movie, nor do (0,1) and (1,0), so two
    transactions writing such a pair never wait on each other's node locks.
    """
    pu = (ratings["userId"].to_numpy() % 2).astype(np.int8)
    pm = (ratings["movieId"].to_numpy() % 2).astype(np.int8)
    return {
        b: ratings[(pu == b[0]) & (pm == b[1])]
        .sort_values(["userId", "movieId"], kind="stable", ignore_index=True)
        for b in BLOCKS
    }


def _load_ratings(runner: Runner, data: MovieLensData, done: dict[Block, int], mode: Mode,
                  size: int, progress: bool) -> None:
    blocks = partition(data.ratings)
    try:
        ids = NodeIds.read(runner)
        ids.users(data.ratings["userId"].unique())
        ids.movies(data.ratings["movieId"].unique())
    except UnknownNodeError as exc:
        raise LoadVerificationError(f"ratings refer to nodes the node step did not write: {exc}") from exc
    query = "load/ratings_create" if mode == "create" else "load/ratings_merge"

    def write_block(block: Block, bar: tqdm) -> None:
        frame, key = blocks[block], _done_key(block)
        start = min(done[block], len(frame))
        for upto, params in rating_batches(frame, start, size, ids):
            batch(runner, query, params, {key: upto, "ratingsMode": mode}, data.name)
            bar.update(upto - start)
            start = upto

    with tqdm(total=len(data.ratings), initial=sum(done.values()), desc=f"{data.name} ratings",
              unit="rows", unit_scale=True, disable=not progress) as bar, \
            ThreadPoolExecutor(max_workers=2) as pool:
        for pair in PHASES:  # each pair's blocks are lock-disjoint: write them concurrently
            for future in [pool.submit(write_block, block, bar) for block in pair]:
                future.result()


def _load_tags(runner: Runner, data: MovieLensData, done: int, size: int, progress: bool) -> None:
    tags = data.tags.drop_duplicates(["userId", "movieId", "tag"]).sort_values(
        ["userId", "movieId", "tag"], kind="stable", ignore_index=True
    )
    if tags.empty:
        return
    with tqdm(total=len(tags), initial=min(done, len(tags)), desc=f"{data.name} tags",
              unit="rows", disable=not progress, leave=False) as bar:
        for start in range(min(done, len(tags)), len(tags), size):
            chunk = tags.iloc[start : start + size]
            batch(runner, "load/tags", {"rows": _records(chunk)}, {"tagsDone": start + len(chunk)},
                  data.name)
            bar.update(len(chunk))


def live_counts(runner: Runner) -> dict[str, int]:
    """Ratings written live (``ratedAt`` set, by ``engine rate``) and the users who wrote them."""
    row = runner.read("load/live_counts")[0]
    return {"users": int(row["liveUsers"]), "ratings": int(row["liveRatings"])}


def verify(expected: dict[str, int], in_graph: dict[str, int],
           live: dict[str, int] | None = None) -> None:
    """Raise :class:`LoadVerificationError` unless every count in the graph is the source's.

    ``live`` (:func:`live_counts`): the graph may hold up to that many more users and
    ratings than the files, and no fewer -- what users rated since the release was loaded.
    """
    pairs = {
        "users": Label.USER, "movies": Label.MOVIE, "genres": Label.GENRE,
        "ratings": Rel.RATED, "tags": Rel.TAGGED, "in_genre": Rel.IN_GENRE,
    }
    extra = live or {}
    bad = [
        f"{key}: source {expected[key]:,} vs graph {in_graph.get(kind, 0):,}"
        + (f" (of which up to {extra[key]:,} live)" if extra.get(key) else "")
        for key, kind in pairs.items()
        if not expected[key] <= in_graph.get(kind, 0) <= expected[key] + extra.get(key, 0)
    ]
    if bad:
        raise LoadVerificationError("counts differ after load: " + "; ".join(bad))
