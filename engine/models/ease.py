"""EASE: Embarrassingly Shallow Autoencoder (Steck, WWW 2019), closed form.

With ``X`` the binary user x item matrix (``[U, I]``) and Gram ``G = X^T X`` (``[I, I]``)::

    min_B ||X - X B||_F^2 + λ ||B||_F^2   s.t.  diag(B) = 0
    P = (G + λ I)^{-1},   B_ij = -P_ij / P_jj  (i != j),   B_jj = 0
    score(u, :) = X_u B

``B`` is dense ``[I, I]`` float32 -- right for catalogues up to a few 10^4 items. Seen
from the graph side, ``(G + λI)^{-1} G`` is a rational low-pass filter of the item-item
co-occurrence graph; :mod:`engine.models.graph_filter` builds on that view.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from engine.data.interactions import Interactions
from engine.models.base import Recommender
from engine.models.history import FitHistory
from engine.models.linalg import spd_inverse
from engine.models.params import check_float

__all__ = ["EASE", "ease_weights"]


def ease_weights(gram: np.ndarray, reg: float) -> np.ndarray:
    """EASE item-item weights ``B`` ([I, I] float32) from a dense PSD Gram matrix.

    ``P = (G + λI)^{-1}`` via a Cholesky factorisation (the matrix is SPD for λ > 0).
    """
    p = spd_inverse(gram, reg)
    b = -p / np.diag(p)[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b


class EASE(Recommender):
    """EASE item-item linear autoencoder; ``reg`` is the L2 weight λ (≈ 400 on ML-100K)."""

    name: ClassVar[str] = "ease"

    def __init__(self, reg: float = 400.0) -> None:
        super().__init__()
        self.reg = check_float("reg", reg, 0.0, lo_open=True)
        self.weights = np.zeros((0, 0), dtype=np.float32)

    def _fit(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        assert self._seen is not None
        t0 = time.perf_counter()
        x = self._seen.astype(np.float64)
        gram = np.asarray((x.T @ x).todense())
        self.weights = ease_weights(gram, self.reg).astype(np.float32)
        return FitHistory(fit_seconds=time.perf_counter() - t0)

    def score(self, users: np.ndarray) -> np.ndarray:
        """``X[users] @ B`` -> float32 ``[n, I]``."""
        assert self._seen is not None
        x: sp.csr_matrix = self._seen[np.asarray(users, dtype=np.int64)]
        return np.asarray(x @ self.weights, dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.weights = state["weights"].astype(np.float32)
