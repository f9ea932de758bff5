"""Fold-in of new users into factor models: one small ridge regression per user, no retraining.

A factor model scores ``offset_i + θ_u · φ_i``. For a user the model has never seen (or
whose ratings changed after training), ``θ_u`` is the ridge solution on the items they
rated, with the item side ``φ`` and ``offset`` frozen (as ``implicit``'s
``recalculate_user`` does for ALS)::

    θ_u = argmin_θ  Σ_{i ∈ R_u} (y_ui − offset_i − θ·φ_i)²  +  θ^T G θ  +  λ |θ|²

* implicit-feedback models (BPR-trained embeddings): ``y = 1`` on the rated items and
  ``G = α Φ^T Φ`` pulls every other item's score toward 0 (the implicit-ALS loss with
  unit confidence);
* rating models: ``y`` = the ratings, ``G = 0``.

Pure numpy; cost ``O(n_u d² + d³)`` per user (``d`` <= a few hundred).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["ridge_users"]


def ridge_users(rows: sp.csr_matrix, phi: np.ndarray, *, reg: float | np.ndarray,
                offset: np.ndarray | None = None, gram: np.ndarray | None = None) -> np.ndarray:
    """``θ`` ``[n, d]`` (float32) for each row of ``rows`` ``[n, I]`` (data = targets ``y``).

    ``phi`` is ``[I, d]``; ``offset`` ``[I]`` is subtracted from the targets; ``gram``
    ``[d, d]`` is added to every user's normal equations (see the module docstring); ``reg``
    is λ, one value or one per dimension (0 leaves a bias column unshrunk). A user
    with no rows gets ``θ = 0`` (the item side alone: ``offset``).
    """
    phi64 = np.asarray(phi, dtype=np.float64)
    d = phi64.shape[1]
    base = np.diag(np.broadcast_to(np.asarray(reg, dtype=np.float64), (d,)))
    if gram is not None:
        base = base + np.asarray(gram, dtype=np.float64)
    out = np.zeros((rows.shape[0], d), dtype=np.float32)
    rows = sp.csr_matrix(rows)
    for u in range(rows.shape[0]):
        lo, hi = rows.indptr[u], rows.indptr[u + 1]
        if lo == hi or d == 0:
            continue
        items = rows.indices[lo:hi]
        y = rows.data[lo:hi].astype(np.float64)
        if offset is not None:
            y = y - offset[items]
        f = phi64[items]
        out[u] = np.linalg.solve(base + f.T @ f, f.T @ y)
    return out
