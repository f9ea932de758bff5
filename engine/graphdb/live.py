"""Live updates in the graph: new ratings in, refreshed top-K lists out, readers never see a mix.

The graph contract, so that any Cypher client can take part::

    (:User)-[:RATED {rating, timestamp, ratedAt}]->(:Movie)
        rating     FLOAT    on the loaded release's scale
        timestamp  INTEGER  when it was given, epoch seconds (the model's time order)
        ratedAt    DATETIME when it was written (datetime()); engine refresh looks for these

``engine rate`` writes exactly that (``cypher/live/rate``). ``engine refresh`` finds the
users with RATED edges written after the current run was exported
(``cypher/live/changed_users``, an index seek on ``ratedAt``), folds their whole history
into the saved model and replaces their lists inside the current run.

**No reader sees a partial or mixed list.** A user's lists are versioned:
``RECOMMENDED.version`` (absent = 0, the write-back's) and ``User.liveVersion`` (with
``User.liveRun``) naming the one readers read. A refresh of a set of users (1) creates the
new lists under a new version, invisible (``live/recommended_live``); (2) in ONE small
transaction flips every user's ``liveVersion`` to it and marks the lists it replaces
``supersededAt`` (``live/switch_users``, guarded by the refresh lease, for the current run
only; versions come from the database, ``live/next_version``, so they only grow); (3)
deletes superseded lists after a grace period (``live/superseded_delete``), longer than
any reader takes. A reader binds the user's
version once and reads that list, which is complete whether it picked the old version or
the new one. Neo4j 5 Community can show a committing transaction half applied
(:mod:`engine.graphdb.writeback`), which is why the flip never deletes what a reader may
be reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from engine.errors import ReelGraphError
from engine.graphdb.lease import Lease
from engine.graphdb.runner import Runner, spans
from engine.schema import INDEXES

__all__ = ["GRACE_S", "History", "LiveLists", "NotCurrentError", "changed_users", "current_run",
           "delete_superseded", "ensure_indexes", "known_movies", "next_version", "now",
           "read_histories", "switch_users", "write_lists", "write_ratings"]

#: Seconds a superseded live list stays readable before it is deleted.
GRACE_S: Final = 2
#: Seconds before the last poll (or the run's export) that ratings are looked at again.
LOOKBACK_S: Final = 60


def ensure_indexes(db: Runner) -> None:
    """The ``ratedAt`` / ``supersededAt`` range indexes (idempotent; graphs loaded before them).

    Not awaited: queries are correct while an index populates, and waiting for every index
    would also wait for a write-back's vector index being built.
    """
    for name in INDEXES:
        db.write(f"schema/{name}")


def known_movies(db: Runner, movie_ids: list[int]) -> set[int]:
    """The subset of ``movie_ids`` that are :Movie nodes."""
    known: set[int] = set()
    for lo, hi in spans(len(movie_ids), 20_000):
        rows = db.read("live/known_movies", movieIds=movie_ids[lo:hi])
        known.update(int(m) for m in rows[0]["known"])
    return known


def write_ratings(db: Runner, users: list[int], movies: list[int], ratings: list[float],
                  timestamps: list[int]) -> int:
    """All ratings in ONE transaction (nothing is written if it fails); returns how many."""
    rows = db.write("live/rate", userIds=users, movieIds=movies, ratings=ratings,
                    timestamps=timestamps)
    return int(rows[0]["written"]) if rows else 0


def now(db: Runner) -> str:
    """The database's clock (ISO-8601): ``ratedAt`` is compared with it, never with a client's."""
    return str(db.read("admin/now")[0]["now"])


def current_run(db: Runner) -> dict[str, Any] | None:
    """The run readers see now (``recommend/current_run``), or ``None`` before any write-back."""
    rows = db.read("recommend/current_run")
    return rows[0] if rows and rows[0]["runId"] is not None else None


def changed_users(db: Runner, run_id: str, since: str, lookback_s: int = LOOKBACK_S
                  ) -> tuple[list[int], str]:
    """Users whose ratings changed after ``since`` and are not yet live in ``run_id``; the DB time.

    Ratings written up to ``lookback_s`` before ``since`` are looked at again (a rating
    stamped by a transaction that committed late is still found; users already live
    with it are skipped).
    """
    row = db.read("live/changed_users", runId=run_id, since=since, lookbackSeconds=lookback_s)[0]
    return sorted(int(u) for u in row["users"]), str(row["now"])


@dataclass
class History:
    """Users' whole rating histories, as read from the graph (raw ids)."""

    user_ids: list[int]
    movies: list[np.ndarray]  # int64 movieIds per user
    ratings: list[np.ndarray]  # float32
    timestamps: list[np.ndarray]  # int64 epoch seconds
    as_of: list[str | None]  # latest ratedAt per user (ISO-8601), None for none
    counts: list[int]
    digests: list[int]  # what live/changed_users compares (a re-rate changes it)


def read_histories(db: Runner, user_ids: list[int]) -> History:
    """The rating history of each of ``user_ids`` that exists, in the order given."""
    rows = {int(r["userId"]): r for r in db.read("live/histories", userIds=user_ids)}
    out = History([], [], [], [], [], [], [])
    for uid in user_ids:
        r = rows.get(uid)
        if r is None:
            continue
        out.user_ids.append(uid)
        out.movies.append(np.asarray(r["movies"], dtype=np.int64))
        out.ratings.append(np.asarray(r["ratings"], dtype=np.float32))
        out.timestamps.append(np.asarray([t if t is not None else 0 for t in r["timestamps"]],
                                         dtype=np.int64))
        out.as_of.append(r["asOf"])
        out.counts.append(int(r["ratingCount"]))
        out.digests.append(int(r["digest"] or 0))
    return out


@dataclass
class LiveLists:
    """New top-K lists of some users (raw ids), best first; ``None`` columns when the model has none."""

    user_ids: list[int]
    movies: list[list[int]]
    scores: list[list[float]]
    ratings: list[list[float]] | None
    reasons: list[list[int | None]] | None
    #: fold-in user vectors (the run's embedding slot); None for a user without one (removed)
    vectors: list[list[float] | None] | None


class NotCurrentError(ReelGraphError):
    """The run is no longer current (a write-back switched) or the refresh lease was lost."""


def next_version(db: Runner, lease: Lease, run_id: str) -> int:
    """The run's next list version, allocated by the database (versions only grow)."""
    rows = db.write("live/next_version", **lease.params, runId=run_id)
    if not rows:
        raise NotCurrentError(f"run {run_id} is no longer current, or the refresh lease was lost")
    return int(rows[0]["version"])


def write_lists(db: Runner, lease: Lease, run_id: str, version: int, lists: LiveLists) -> int:
    """Step 1: the new lists, not yet visible; returns the edges written."""
    rows = db.write("live/recommended_live", **lease.params, runId=run_id, version=version,
                    userIds=lists.user_ids, movieIds=lists.movies, scores=lists.scores,
                    ratings=lists.ratings, reasons=lists.reasons)
    return int(rows[0]["written"]) if rows else 0


def switch_users(db: Runner, lease: Lease, run_id: str, version: int, lists: LiveLists,
                 history: History, embedding_property: str | None) -> int:
    """Step 2: ONE transaction shows the new lists (and vectors); returns the users switched.

    ``lists`` are ``history``'s users in the same order (as :func:`engine.jobs.live.fold_lists`
    makes them).
    """
    if lists.user_ids != history.user_ids:
        raise ValueError("the lists must be the history's users, in the same order")
    rows = db.write(
        "live/switch_users", **lease.params, runId=run_id, version=version, userIds=lists.user_ids,
        asOf=history.as_of, counts=history.counts, digests=history.digests,
        property=embedding_property if lists.vectors is not None else None,
        vectors=lists.vectors if embedding_property else None,
    )
    if not rows:
        raise NotCurrentError(f"run {run_id} is no longer current, or the refresh lease was lost")
    return int(rows[0]["users"])


def delete_superseded(db: Runner, grace_s: float = GRACE_S, limit: int = 20_000) -> int:
    """Step 3: delete lists superseded more than ``grace_s`` ago, in batches; returns how many."""
    total = 0
    while True:
        rows = db.write("live/superseded_delete", graceSeconds=int(grace_s), limit=limit)
        deleted = int(rows[0]["deleted"]) if rows else 0
        total += deleted
        if deleted < limit:
            return total
