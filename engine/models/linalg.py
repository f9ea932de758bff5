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
import scipy.sparse as sp
from scipy.linalg import lapack

__all__ = ["randomized_svd", "spd_inverse", "spd_solve"]

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


def randomized_svd(m: sp.spmatrix, k: int, *, niter: int = 3, oversample: int = 16,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` singular values and right singular vectors of a sparse ``m`` ([U, I]).

    ``(sigma [k] descending, V [I, k])`` by the randomized range finder with ``niter``
    power iterations (Halko, Martinsson & Tropp 2011, Alg. 4.4; the method of
    ``torch.svd_lowrank``). Both ``m`` and ``m^T`` are kept as ``torch`` CSR so every
    pass is a multi-threaded CSR x dense product: ~1.7 s per pass for 25M non-zeros at
    ``k + oversample = 80`` on 2 cores (``torch.svd_lowrank`` transposes its input on
    each pass and takes 2-3x longer). Float32 throughout; seeded.
    """
    import torch

    n_u, n_i = m.shape
    k = max(1, min(k, min(n_u, n_i)))
    width = min(k + oversample, min(n_u, n_i))
    a, at = _torch_csr(sp.csr_matrix(m)), _torch_csr(sp.csr_matrix(m.T))
    gen = torch.Generator().manual_seed(seed)
    q = _orth(torch.sparse.mm(a, torch.randn(n_i, width, generator=gen)))  # [U, w]
    for _ in range(niter):
        q = _orth(torch.sparse.mm(at, q))  # [I, w]
        q = _orth(torch.sparse.mm(a, q))  # [U, w]
    b = torch.sparse.mm(at, q).T  # Q^T m -> [w, I]
    _, s, vh = torch.linalg.svd(b, full_matrices=False)
    return s[:k].numpy().astype(np.float32), np.ascontiguousarray(vh[:k].T.numpy(), dtype=np.float32)


def _torch_csr(m: sp.csr_matrix) -> Any:
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)),
                                       torch.from_numpy(m.indices.astype(np.int64)),
                                       torch.from_numpy(m.data.astype(np.float32)), size=m.shape)


def _orth(x: Any) -> Any:
    import torch

    q, _ = torch.linalg.qr(x)
    return q
