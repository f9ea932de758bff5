"""The id map and the interaction table every model trains on.

Nothing here talks to Neo4j: :mod:`engine.graphdb.export` builds these from the graph;
the benchmarks build them straight from MovieLens files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class IdMap:
    """Raw ids <-> contiguous indices, built once and saved with every checkpoint.

    ``users[i]`` is the raw ``userId`` of user index ``i``; likewise ``movies``.
    Saved as ``.npz`` (no pickle) so a checkpoint can be read without trusting it.
    """

    users: np.ndarray  # int64 [num_users], raw userId by index
    movies: np.ndarray  # int64 [num_movies], raw movieId by index

    @property
    def num_users(self) -> int:
        return int(self.users.shape[0])

    @property
    def num_movies(self) -> int:
        return int(self.movies.shape[0])

    @classmethod
    def from_raw(cls, user_ids: np.ndarray, movie_ids: np.ndarray) -> IdMap:
        """Sorted unique raw ids become indices 0..n-1."""
        return cls(
            users=np.unique(np.asarray(user_ids, dtype=np.int64)),
            movies=np.unique(np.asarray(movie_ids, dtype=np.int64)),
        )

    def user_index(self, raw: np.ndarray) -> np.ndarray:
        """Indices of raw userIds; raises ``KeyError`` for an unknown id."""
        return _lookup(self.users, raw, "userId")

    def movie_index(self, raw: np.ndarray) -> np.ndarray:
        """Indices of raw movieIds; raises ``KeyError`` for an unknown id."""
        return _lookup(self.movies, raw, "movieId")

    def find_users(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(index, found)`` of raw userIds: ``index`` is valid where ``found`` (no error)."""
        return find_sorted(self.users, raw)

    def find_movies(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(index, found)`` of raw movieIds: ``index`` is valid where ``found`` (no error)."""
        return find_sorted(self.movies, raw)

    def save(self, path: Path) -> None:
        np.savez(path, users=self.users, movies=self.movies)

    @classmethod
    def load(cls, path: Path) -> IdMap:
        with np.load(path, allow_pickle=False) as z:
            return cls(users=z["users"].astype(np.int64), movies=z["movies"].astype(np.int64))


def find_sorted(sorted_ids: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(pos, found)``: positions of ``raw`` in ``sorted_ids`` (clipped) and which exist."""
    raw = np.asarray(raw, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, raw), max(len(sorted_ids) - 1, 0))
    ok = sorted_ids[pos] == raw if len(sorted_ids) else np.zeros(raw.shape, dtype=bool)
    return pos.astype(np.int64), ok


def _lookup(sorted_ids: np.ndarray, raw: np.ndarray, what: str) -> np.ndarray:
    raw = np.asarray(raw, dtype=np.int64)
    pos, ok = find_sorted(sorted_ids, raw)
    if not np.all(ok):
        bad = raw[~ok][:5].tolist()
        raise KeyError(f"unknown {what}(s): {bad}")
    return pos


@dataclass
class Interactions:
    """User -> movie ratings as parallel index arrays (one row per RATED edge).

    ``user`` and ``item`` are indices into an :class:`IdMap`; ``rating`` is the explicit
    rating (float32) and ``timestamp`` seconds since the epoch (int64).
    """

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    num_users: int
    num_items: int
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.user)
        for name in ("item", "rating", "timestamp"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Interactions.{name} has {len(getattr(self, name))} rows, expected {n}")

    def __len__(self) -> int:
        return int(len(self.user))

    def subset(self, mask_or_index: np.ndarray) -> Interactions:
        """Rows selected by a boolean mask or an index array (same id space)."""
        return Interactions(
            user=self.user[mask_or_index],
            item=self.item[mask_or_index],
            rating=self.rating[mask_or_index],
            timestamp=self.timestamp[mask_or_index],
            num_users=self.num_users,
            num_items=self.num_items,
            meta=dict(self.meta),
        )

    def to_csr(self, binary: bool = True) -> sp.csr_matrix:
        """User x item CSR (float32, duplicates merged, sorted indices).

        ``binary=True`` gives 1.0 for every rated pair (implicit feedback); otherwise the
        rating of the pair (the last row wins if a pair was rated twice).
        """
        if binary:
            data = np.ones(len(self), dtype=np.float32)
            shape = (self.num_users, self.num_items)
            m = sp.csr_matrix((data, (self.user, self.item)), shape=shape)
            m.sum_duplicates()
            m.data[:] = 1.0
        else:
            key = self.user.astype(np.int64) * max(self.num_items, 1) + self.item
            _, last = np.unique(key[::-1], return_index=True)
            idx = len(key) - 1 - last
            m = sp.csr_matrix(
                (self.rating[idx].astype(np.float32), (self.user[idx], self.item[idx])),
                shape=(self.num_users, self.num_items),
            )
        m.sort_indices()
        return m

    def to_json_summary(self) -> str:
        return json.dumps({"rows": len(self), "users": self.num_users, "items": self.num_items})
