"""RECOMMENDED edges of a new run, already-rated movies dropped by the writer (the fast path).

:func:`unstamped_ratings` is read before an export, beside the database clock; at
write-back :func:`rated_now` says which (user, movie) pairs are rated now -- what the
export saw (:class:`~engine.writeback.rated.KnownRatings`) plus the ratings written since
(``ratedAt``) -- or that it cannot tell, because ratings without ``ratedAt`` appeared.
Then :func:`flat_edges` drops the rated pairs from the top-K in numpy, and
:func:`flat_phases` splits the edges into lock-disjoint blocks for
``cypher/writeback/recommended_create_flat`` (:meth:`Runner.phases`). The other paths
(``recommended_create`` / ``recommended_batch``) check RATED inside each write.

What it cannot see: a rating written without ``ratedAt`` while a loaded rating was
re-rated through ``engine rate`` (the unstamped count stays level), and ratings written
after :func:`rated_now` while the edges are being written (the checking statements
narrow that window to one batch); ``engine refresh`` replaces such a user's list.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from engine.graphdb.live import LOOKBACK_S
from engine.graphdb.nodeids import MISSING, NodeIds
from engine.graphdb.runner import Runner, spans
from engine.writeback.output import RunOutput
from engine.writeback.rated import KnownRatings, flat_rows, kept_mask

log = logging.getLogger(__name__)

__all__ = ["PARITY_PHASES", "flat_edges", "flat_phases", "rated_now", "unstamped_ratings"]

#: Two phases of two (user parity, movie parity) blocks: the blocks of a phase share no
#: node, so two transactions writing them never wait on each other's locks (as the loader's).
PARITY_PHASES = (((0, 0), (1, 1)), ((0, 1), (1, 0)))

Flat = dict[str, np.ndarray | None]


def unstamped_ratings(db: Runner) -> int:
    """RATED edges without ``ratedAt`` now (``writeback/unstamped_ratings``)."""
    return int(db.read("writeback/unstamped_ratings")[0]["unstamped"])


def rated_now(db: Runner, out: RunOutput, known: KnownRatings | None) -> sp.csr_matrix | None:
    """Every rated pair of the run's users now, or None when that cannot be known here.

    ``known`` plus the ratings written since its export (``ratedAt``, looked at from
    :data:`~engine.graphdb.live.LOOKBACK_S` before, for late commits). If more RATED edges
    lack ``ratedAt`` than at the export, ratings came from a client that skips the
    live-update contract (or another load): None, and the write statements check.
    """
    if known is None or not known.fits(out.idmap):
        return None
    row = db.read("writeback/rated_since", since=known.as_of, lookbackSeconds=LOOKBACK_S)[0]
    unstamped = unstamped_ratings(db)
    if unstamped > known.unstamped:
        log.info("run %s: %d ratings without ratedAt appeared since the export; the write "
                 "statements check already-rated movies", out.run_id, unstamped - known.unstamped)
        return None
    users, movies = (np.asarray(row[k], dtype=np.int64) for k in ("users", "movies"))
    u, u_ok = out.idmap.find_users(users)
    m, m_ok = out.idmap.find_movies(movies)
    return known.with_pairs(u[u_ok & m_ok], m[u_ok & m_ok]).pairs


def block_columns(out: RunOutput, ids: NodeIds, movie_ids: np.ndarray, lo: int, hi: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Users ``lo:hi``'s internal ids ``[n]``, and their top-K ``[n, K]`` as movie internal ids.

    Also the predicted ratings and the ``becauseOf`` movieIds (:data:`MISSING`: none) or
    None. ``movie_ids`` maps the run's movie indices to internal ids.
    """
    users = ids.users(out.idmap.users[lo:hi], strict=False)
    movies = movie_ids[out.rec_items[lo:hi]]
    ratings = out.rec_ratings[lo:hi] if out.rec_ratings is not None else None
    reasons = None
    if out.rec_reasons is not None:  # movie index -> raw movieId (-1: no recent reason)
        idx = out.rec_reasons[lo:hi]
        reasons = np.where(idx >= 0, out.idmap.movies[np.maximum(idx, 0)], MISSING)
    return users, movies, ratings, reasons


def flat_edges(out: RunOutput, ids: NodeIds, rated: sp.csr_matrix, chunk: int = 20_000) -> Flat:
    """Every user's top-K minus rated pairs as flat arrays (internal ids, ranks renumbered).

    Users or movies gone from the graph and non-finite scores are dropped too.
    """
    movie_ids = ids.movies(out.idmap.movies, strict=False)
    parts: list[Flat] = []
    for lo, hi in spans(out.idmap.num_users, chunk):
        users, movies, ratings, reasons = block_columns(out, ids, movie_ids, lo, hi)
        keep = kept_mask(out.rec_items, out.rec_scores, rated, lo, hi)
        keep &= (movies != MISSING) & (users != MISSING)[:, None]
        rows, ranks, (m, sc, r, why) = flat_rows(keep, movies, out.rec_scores[lo:hi], ratings, reasons)
        parts.append({"users": users[rows], "movies": m, "ranks": ranks, "scores": sc,
                      "ratings": r, "reasons": why})
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return {"users": empty, "movies": empty, "ranks": empty, "scores": empty.astype(np.float32),
                "ratings": None, "reasons": None}
    return {key: None if parts[0][key] is None else np.concatenate([p[key] for p in parts])
            for key in parts[0]}


def flat_phases(run_id: str, flat: Flat, size: int) -> list[list[Iterator[dict[str, Any]]]]:
    """``recommended_create_flat`` batches of at most ``size`` edges, per block per phase."""
    users, movies = flat["users"], flat["movies"]
    assert users is not None and movies is not None

    def batches(rows: np.ndarray) -> Iterator[dict[str, Any]]:
        for lo, hi in spans(len(rows), size):
            yield {"runId": run_id, **flat_params(flat, rows[lo:hi])}

    return [[batches(np.nonzero((users % 2 == pu) & (movies % 2 == pm))[0]) for pu, pm in phase]
            for phase in PARITY_PHASES]


def flat_params(flat: Flat, rows: np.ndarray) -> dict[str, Any]:
    """The parameters of ``recommended_create_flat`` for edges ``rows`` of ``flat``."""
    def col(key: str, dtype: type) -> list[Any] | None:
        values = flat[key]
        return None if values is None else values[rows].astype(dtype).tolist()

    reasons = col("reasons", np.int64)
    return {"users": col("users", np.int64), "movies": col("movies", np.int64),
            "ranks": col("ranks", np.int64), "scores": col("scores", np.float64),
            "ratings": col("ratings", np.float64),
            "reasons": None if reasons is None else [None if x == MISSING else x for x in reasons]}
