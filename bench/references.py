"""Reference recommenders of the quality benchmark, under the engine's Recommender contract.

Not engine models (they are what the engine's default is measured against):

* ``RecencyEASE`` -- EASE (Steck 2019) applied to a recency-weighted user row: each train
  rating weighs ``0.5 ** (steps back from the user's last rating / h) + 0.1``;
* ``RecentPopularity`` -- items rated most in the ``window_days`` before the user's last
  train rating (popularity drift);
* ``ImplicitALS`` -- ``implicit`` 0.7.3's alternating least squares (Hu, Koren & Volinsky
  2008), from the optional ``bench`` extra.

EASE, popularity and PyG LightGCN come from :mod:`engine.models` (``EASE``,
``PopularityRecommender``, ``PyGLightGCN``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from engine.data import Interactions
from engine.models.base import Recommender
from engine.models.ease import ease_weights
from engine.models.history import FitHistory
from engine.models.ops import DEFAULT_CACHE, csr_fingerprint
from engine.models.sequence import recency_profile

__all__ = ["ImplicitALS", "RecencyEASE", "RecentPopularity", "implicit_available"]


class RecencyEASE(Recommender):
    """EASE on a recency-weighted profile (the issue's ten-line baseline)."""

    name: ClassVar[str] = "recency_ease"

    def __init__(self, reg: float = 200.0, half_life: float = 2.0, floor: float = 0.1) -> None:
        super().__init__()
        self.reg, self.half_life, self.floor = float(reg), float(half_life), float(floor)
        self.weights = np.zeros((0, 0), np.float32)
        self.profile = None

    def _fit(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        assert self._seen is not None
        x = self._seen.astype(np.float64)
        fp = csr_fingerprint(x)
        gram = DEFAULT_CACHE.cached((fp, "gram"), lambda: np.asarray((x.T @ x).todense()))
        self.weights = DEFAULT_CACHE.cached((fp, "ease", self.reg),
                                            lambda: ease_weights(gram, self.reg)).astype(np.float32)
        self.profile = recency_profile(train, self.half_life, self.floor)
        return FitHistory()

    def score(self, users: np.ndarray) -> np.ndarray:
        assert self.profile is not None
        return np.asarray(self.profile[np.asarray(users)] @ self.weights, dtype=np.float32)


class RecentPopularity(Recommender):
    """Ratings of each item in the ``window_days`` up to the user's last train rating."""

    name: ClassVar[str] = "recent_popularity"

    def __init__(self, window_days: float = 30.0) -> None:
        super().__init__()
        self.window_days = float(window_days)
        self.cumulative = np.zeros((0, 0), np.float32)
        self.user_bin = np.zeros(0, np.int64)
        self.bin_days = 7.0

    def _fit(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        t = train.timestamp.astype(np.float64)
        start = t.min() if len(t) else 0.0
        bins = ((t - start) // (self.bin_days * 86400)).astype(np.int64)
        counts = np.zeros((int(bins.max()) + 2 if len(bins) else 2, train.num_items), np.float32)
        np.add.at(counts, (bins + 1, train.item), 1.0)
        self.cumulative = np.cumsum(counts, axis=0)  # [B+1, I]: ratings before the end of bin b
        last = np.full(train.num_users, -1, np.int64)
        np.maximum.at(last, train.user, bins)
        self.user_bin = last + 1
        return FitHistory()

    def score(self, users: np.ndarray) -> np.ndarray:
        hi = self.user_bin[np.asarray(users)]
        lo = np.maximum(hi - int(round(self.window_days / self.bin_days)), 0)
        return (self.cumulative[hi] - self.cumulative[lo]).astype(np.float32)


def implicit_available() -> bool:
    """Whether ``import implicit`` works (the optional ``bench`` extra)."""
    try:
        import implicit  # noqa: F401
    except Exception:  # noqa: BLE001 - any import problem means "not available"
        return False
    return True


class ImplicitALS(Recommender):
    """``implicit.cpu.als.AlternatingLeastSquares`` on the binary train matrix."""

    name: ClassVar[str] = "implicit_als"

    def __init__(self, factors: int = 64, regularization: float = 10.0, alpha: float = 1.0,
                 iterations: int = 30, seed: int = 0, threads: int = 0) -> None:
        super().__init__()
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed, self.threads = iterations, seed, threads
        self.user_factors = np.zeros((0, 0), np.float32)
        self.item_factors = np.zeros((0, 0), np.float32)

    def _fit(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        from implicit.cpu.als import AlternatingLeastSquares

        assert self._seen is not None
        model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                        alpha=self.alpha, iterations=self.iterations,
                                        random_state=self.seed, num_threads=self.threads)
        model.fit(self._seen.tocsr(), show_progress=False)
        self.user_factors = np.asarray(model.user_factors, np.float32)
        self.item_factors = np.asarray(model.item_factors, np.float32)
        return FitHistory()

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors[np.asarray(users)] @ self.item_factors.T

    def embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        return self.user_factors, self.item_factors

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_factors, self.item_factors = state["user_factors"], state["item_factors"]


def grid(**axes: list[Any]) -> list[dict[str, Any]]:
    """Every combination of the axes, e.g. ``grid(reg=[1, 2], h=[3])``."""
    out: list[dict[str, Any]] = [{}]
    for key, values in axes.items():
        out = [{**point, key: v} for point in out for v in values]
    return out
