"""MovieLens id -> internal node id of every :User and :Movie, read once per batch job.

Batched writes that address their endpoints by internal id (``MATCH (n) WHERE id(n) =
$ids[i]``) are ~2.5x cheaper per row than by ``userId``/``movieId`` index seeks (measured
in ``bench/load.py``). Internal ids are only valid while the node exists, so they are never
stored: every load or write-back reads them again (``cypher/admin/node_ids``) after the
nodes it needs exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ReelGraphError
from engine.graphdb.runner import Runner
from engine.schema import Label

MISSING = -1


class UnknownNodeError(ReelGraphError, LookupError):
    """Ids that should be in the graph are not."""


@dataclass(frozen=True)
class NodeIds:
    """Sorted MovieLens keys and their internal node ids, per label."""

    user_keys: np.ndarray
    user_ids: np.ndarray
    movie_keys: np.ndarray
    movie_ids: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> NodeIds:
        """From ``admin/node_ids`` rows ``{label, key, id}``."""
        parts = {}
        for label in (Label.USER, Label.MOVIE):
            pairs = sorted((int(r["key"]), int(r["id"])) for r in rows if r["label"] == label)
            arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
            parts[label] = (arr[:, 0].copy(), arr[:, 1].copy())
        return cls(*parts[Label.USER], *parts[Label.MOVIE])

    @classmethod
    def read(cls, runner: Runner) -> NodeIds:
        """The ids as they are in the graph now."""
        return cls.from_rows(runner.read("admin/node_ids"))

    @staticmethod
    def _lookup(keys: np.ndarray, ids: np.ndarray, wanted: np.ndarray, what: str,
                strict: bool) -> np.ndarray:
        wanted = np.asarray(wanted, dtype=np.int64)
        if len(keys) == 0:
            found = np.zeros(wanted.shape, dtype=bool)
            out = np.full(wanted.shape, MISSING, dtype=np.int64)
        else:
            pos = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
            found = keys[pos] == wanted
            out = np.where(found, ids[pos], MISSING)
        if strict and not found.all():
            raise UnknownNodeError(
                f"{int((~found).sum()):,} {what} id(s) are not in the graph "
                f"(e.g. {int(wanted[~found].flat[0])})"
            )
        return out

    def users(self, keys: np.ndarray, strict: bool = True) -> np.ndarray:
        """Internal ids of these userIds (``MISSING`` where absent unless ``strict``)."""
        return self._lookup(self.user_keys, self.user_ids, keys, "user", strict)

    def movies(self, keys: np.ndarray, strict: bool = True) -> np.ndarray:
        """Internal ids of these movieIds (``MISSING`` where absent unless ``strict``)."""
        return self._lookup(self.movie_keys, self.movie_ids, keys, "movie", strict)
