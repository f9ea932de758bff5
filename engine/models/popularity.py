"""Most-popular baseline: every user gets the items with the most train interactions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from engine.data.interactions import Interactions
from engine.models.base import Recommender
from engine.models.history import FitHistory

__all__ = ["PopularityRecommender"]


class PopularityRecommender(Recommender):
    """Non-personalised popularity ranking.

    ``score(u, i) = |{v : (v, i) in train}|`` (distinct users per item), identical for every
    user; shapes: ``counts`` float32 ``[num_items]``. The reference floor of every table.
    """

    name: ClassVar[str] = "popularity"

    def __init__(self) -> None:
        super().__init__()
        self.counts = np.zeros(0, dtype=np.float32)

    def _fit(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        assert self._seen is not None
        self.counts = np.asarray(self._seen.sum(axis=0), dtype=np.float32).ravel()
        return FitHistory()

    def score(self, users: np.ndarray) -> np.ndarray:
        """Item counts broadcast to ``[len(users), num_items]``."""
        n = len(np.asarray(users).reshape(-1))
        return np.broadcast_to(self.counts, (n, self.num_items)).copy()

    def _state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.counts = state["counts"].astype(np.float32)
