"""Already-rated movies, checked in numpy before a write-back instead of inside each write.

An export with no edge filter sees every rating its users had, and the model never
recommends those (seen items are excluded when the top-K is built). Ratings written after
the export carry ``RATED.ratedAt`` by the live-update contract of ``engine rate``, so one
index read finds them. :class:`KnownRatings` holds what the export saw; :func:`kept_mask`
drops rated pairs from the top-K and :func:`flat_rows` renumbers ranks and flattens a
block of users into the parallel lists of ``cypher/writeback/recommended_create_flat``.

The alternative, checking in the write statement, expands every RATED edge of every user
(25M at the ML-25M shape) inside the write transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from engine.data.interactions import IdMap, Interactions

__all__ = ["KnownRatings", "flat_rows", "kept_mask"]


@dataclass(frozen=True)
class KnownRatings:
    """What a run's export saw: every rated (user, movie) pair of its users, and when.

    ``pairs`` is ``[num_users, num_movies]`` in ``idmap``'s index space; ``as_of`` the
    database clock (ISO-8601) read before the export began; ``unstamped`` the number of
    RATED edges without ``ratedAt`` in the graph then (the write-back compares it with the
    number now, to notice ratings written without ``ratedAt``).
    """

    pairs: sp.csr_matrix
    idmap: IdMap
    as_of: str
    unstamped: int

    @classmethod
    def from_interactions(cls, inter: Interactions, idmap: IdMap, as_of: str,
                          unstamped: int) -> KnownRatings:
        """From an export's interactions (repeated pairs allowed)."""
        return cls(inter.to_csr(binary=True), idmap, as_of, int(unstamped))

    def fits(self, idmap: IdMap) -> bool:
        """Whether ``idmap`` is the id space of :attr:`pairs`."""
        return (np.array_equal(idmap.users, self.idmap.users)
                and np.array_equal(idmap.movies, self.idmap.movies))

    def with_pairs(self, users: np.ndarray, movies: np.ndarray) -> KnownRatings:
        """These pairs added (e.g. ratings written after the export)."""
        if len(users) == 0:
            return self
        extra = sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, movies)),
                              shape=self.pairs.shape)
        merged = (self.pairs + extra).tocsr()
        merged.data[:] = 1.0
        return KnownRatings(merged, self.idmap, self.as_of, self.unstamped)


def kept_mask(items: np.ndarray, scores: np.ndarray, rated: sp.csr_matrix, lo: int, hi: int) -> np.ndarray:
    """``[hi - lo, K]`` bool: finite-score recommendations of users ``lo:hi`` not in ``rated``."""
    block = items[lo:hi]
    keep = np.isfinite(scores[lo:hi])
    sub = rated[lo:hi]
    if sub.nnz:
        rows = np.repeat(np.arange(hi - lo), block.shape[1])
        hit = np.asarray(sub[rows, block.ravel()]).reshape(block.shape)
        keep &= ~hit.astype(bool)
    return keep


def flat_rows(keep: np.ndarray, *columns: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list]:
    """Row index, 1-based rank among the kept, and each column's kept values, flat and best first.

    ``keep`` and every column are ``[n, K]`` (a ``None`` column stays ``None``).
    """
    rows, cols = np.nonzero(keep)
    ranks = (np.cumsum(keep, axis=1) * keep)[rows, cols]
    return rows, ranks, [None if c is None else c[rows, cols] for c in columns]
