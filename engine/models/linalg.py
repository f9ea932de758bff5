"""Dense symmetric positive-definite solves for the closed-form item-item models.

``(G + λI)^{-1}`` (EASE) and ``(G + λI)^{-1} C`` (the transition filter) by Cholesky
(LAPACK ``potrf`` / ``potri`` / ``potrs``). Single precision by default: on the 2-core
machine it is ~5x faster than double at n = 4000 (2.8 s vs 13.8 s for factor + inverse)
and the regularised Gram matrices are well conditioned (λ >= 100 against degrees in the
hundreds), so the filters agree to ~1e-5 relative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import lapack

__all__ = ["spd_inverse", "spd_solve"]

_LAPACK = {np.dtype(np.float32): (lapack.spotrf, lapack.spotri, lapack.spotrs),
           np.dtype(np.float64): (lapack.dpotrf, lapack.dpotri, lapack.dpotrs)}


def _factor(gram: np.ndarray, reg: float, dtype: type) -> tuple[np.ndarray, tuple[Any, Any]]:
    potrf, potri, potrs = _LAPACK[np.dtype(dtype)]
    g: np.ndarray = np.array(gram, dtype=dtype, copy=True)
    g[np.diag_indices_from(g)] += reg
    c, info = potrf(g, lower=0, clean=1, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"G + λI is not positive definite (potrf info={info})")
    return c, (potri, potrs)


def spd_inverse(gram: np.ndarray, reg: float, dtype: type = np.float32) -> np.ndarray:
    """``(gram + reg I)^{-1}`` as a full symmetric matrix of ``dtype``."""
    c, (potri, _) = _factor(gram, reg, dtype)
    p, info = potri(c, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed (info={info})")
    return np.triu(p) + np.triu(p, 1).T


def spd_solve(gram: np.ndarray, reg: float, rhs: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """``(gram + reg I)^{-1} rhs`` of ``dtype``."""
    c, (_, potrs) = _factor(gram, reg, dtype)
    x, info = potrs(c, np.asarray(rhs, dtype=dtype), lower=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"potrs failed (info={info})")
    return x
