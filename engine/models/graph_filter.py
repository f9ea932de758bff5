"""Temporal graph-filter CF: the default ReelGraph model (closed form, no SGD).

A graph-signal-processing recommender on the train user-item graph. A user's signal is
her row ``x_u ∈ {0,1}^I``; her scores are ``x_u H`` where ``H`` ([I, I]) sums two
low-pass filters of item-item graphs derived from the bipartite graph:

1. **Rational low-pass filter of the time-weighted co-occurrence graph** (EASE-style,
   Steck, WWW 2019). Edges carry their ``timestamp`` (``:RATED {timestamp}``); two items
   rated by the same user close in time are linked more strongly::

       W = X^T X + c · Σ_u K_u,   (K_u)_ij = exp(-|t_ui - t_uj| / τ)      [I, I], PSD
       P = (W + λ I)^{-1},   B = I - P · diag(1 / diag(P))   (so diag(B) = 0)

   In the eigenbasis of ``W`` (eigenvalues ω), ``(W + λI)^{-1} W`` applies
   ``h(ω) = ω / (ω + λ)``: a smooth low-pass filter; the zero-diagonal constraint stops
   an item from recommending itself. ``c = 0`` gives plain EASE.

2. **Ideal low-pass filter of the normalised bipartite graph** (GF-CF, Shen et al.,
   CIKM 2021)::

       R̃ = D_U^{-1/2} X D_I^{-1/2},   R̃ ≈ U_k Σ_k V_k^T   (top-k singular vectors)
       M = D_I^{-e} V_k V_k^T D_I^{e}                     (e = ``degree_exp`` = 1/2)

   ``V_k V_k^T`` keeps only the k smoothest graph-Fourier components of the normalised
   item-item graph ``R̃^T R̃`` (eigenvalues σ²), i.e. the spectral limit of LightGCN's
   propagation without training.

The two are put on a common scale (std of their scores over a seeded sample of users)
and mixed with weight ``α`` (``lowpass_weight``)::

    H = B / s_B + α M / s_M,        score(u, :) = x_u H                [n, I]

All hyper-parameters are plain numbers chosen on a validation split. Fit is a handful of
dense ``[I, I]`` operations (one inverse, one truncated SVD): < 2 s for MovieLens-100K
on one CPU core; memory ``O(I²)``, so it targets catalogues up to ~2·10⁴ items (use
:class:`~engine.models.lightgcn.LightGCNCSR` beyond). Timestamps only reweight graph
edges; without them (all equal) the temporal term is plain co-occurrence.

``embeddings()`` returns the spectral (low-pass) part as factors: ``user = x_u D_I^{-e}
V_k`` [U, k], ``item = D_I^{e} V_k`` [I, k] -- for vector-index similarity search.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.models.base import Recommender
from engine.models.ease import ease_weights
from engine.models.history import FitHistory
from engine.models.ops import (
    DEFAULT_CACHE,
    csr_fingerprint,
    degree_normalised,
    fingerprint,
    temporal_cooccurrence,
)
from engine.models.params import check_float, check_int

__all__ = ["GraphFilterCF", "degree_scales", "top_singular_vectors"]

log = logging.getLogger(__name__)

_DENSE_SVD_MAX = 16_000_000  # Gram entries up to which a dense eigh is used (4000²)
MAX_ITEMS = 20_000  # dense [I, I] float32 filters: 20k items = 1.6 GB per matrix


def degree_scales(degree: np.ndarray, exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """``(D^{-e}, D^{e})`` of item degrees as float64 vectors (a zero degree scales to 0)."""
    deg = np.asarray(degree, dtype=np.float64)
    with np.errstate(divide="ignore"):
        d_neg = np.where(deg > 0, deg ** (-exponent), 0.0)
    return d_neg, deg**exponent


def top_singular_vectors(m: sp.csr_matrix, k: int, seed: int = 0) -> np.ndarray:
    """Top-``k`` right singular vectors of ``m`` ([U, I]) as columns ``[I, k]`` (descending σ).

    Small graphs: eigen-decomposition of the smaller Gram (``m m^T`` [U,U] or ``m^T m``
    [I,I]), ``V = m^T U Σ^{-1}`` -- much faster than a dense SVD, exact up to rounding.
    Large graphs: ``scipy.sparse.linalg.svds`` with a seeded start vector.
    """
    n_u, n_i = m.shape
    k = max(1, min(k, min(n_u, n_i)))
    if min(n_u, n_i) ** 2 <= _DENSE_SVD_MAX:
        if n_u < n_i:
            w, u = np.linalg.eigh((m @ m.T).toarray())
            order = np.argsort(-w)[:k]
            sigma = np.sqrt(np.maximum(w[order], 0.0))
            v = (m.T @ u[:, order]) / np.where(sigma > 0, sigma, 1.0)[None, :]
        else:
            w, vv = np.linalg.eigh((m.T @ m).toarray())
            v = vv[:, np.argsort(-w)[:k]]
        return np.ascontiguousarray(v)
    rng = np.random.default_rng(seed)
    _, s, vt = svds(m, k=min(k, min(n_u, n_i) - 1), v0=rng.standard_normal(min(n_u, n_i)))
    return np.ascontiguousarray(vt[np.argsort(-s)].T)


class GraphFilterCF(Recommender):
    """Temporal rational + ideal low-pass graph filter (see module docstring).

    Defaults are the values chosen on the P1 validation split (``bench/train.py``).

    Args:
        reg: λ of the rational filter (grows with the Gram's scale, ~ (1 + c)·400 here).
        time_weight: c, weight of the time-decayed co-occurrence (0 = plain EASE graph).
        time_scale: τ in seconds of the ``exp(-|Δt|/τ)`` edge kernel.
        rank: k, number of graph-Fourier components kept by the ideal low-pass filter.
        lowpass_weight: α, mix of the ideal low-pass part (0 disables it).
        degree_exp: e, degree exponent of the low-pass part (GF-CF uses 1/2).
        scale_sample: users sampled to estimate the component scales.
        seed: seed of that sample (and of the iterative SVD on large graphs).
    """

    name: ClassVar[str] = "graph_filter"

    def __init__(
        self,
        reg: float = 800.0,
        time_weight: float = 4.0,
        time_scale: float = 600.0,
        rank: int = 32,
        lowpass_weight: float = 0.25,
        degree_exp: float = 0.5,
        scale_sample: int = 2048,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.reg = check_float("reg", reg, 0.0, lo_open=True)
        self.time_weight = check_float("time_weight", time_weight, 0.0)
        self.time_scale = check_float("time_scale", time_scale, 0.0, lo_open=True, allow_inf=True)
        self.rank = check_int("rank", rank, 0)
        self.lowpass_weight = check_float("lowpass_weight", lowpass_weight, 0.0)
        self.degree_exp = check_float("degree_exp", degree_exp, 0.0, 1.0)
        self.scale_sample = check_int("scale_sample", scale_sample, 1)
        self.seed = check_int("seed", seed, 0)
        self.filter = np.zeros((0, 0), dtype=np.float32)  # H [I, I]
        self.basis = np.zeros((0, 0), dtype=np.float32)  # V_k [I, k]
        self.item_degree = np.zeros(0, dtype=np.float32)  # [I]

    # ------------------------------------------------------------------ components
    def _rational(self, train: Interactions, x: sp.csr_matrix) -> np.ndarray:
        fp = csr_fingerprint(x)
        gram = DEFAULT_CACHE.cached(
            (fp, "gram"), lambda: np.asarray((x.T @ x).todense(), dtype=np.float32))
        if self.time_weight > 0:
            tfp = fingerprint(train.user, train.item, train.timestamp)
            temporal = DEFAULT_CACHE.cached(
                (tfp, "temporal", self.time_scale),
                lambda: temporal_cooccurrence(
                    train.user, train.item, train.timestamp, train.num_items, self.time_scale
                ),
            )
            key: tuple[object, ...] = (tfp, "ease", self.time_scale, self.time_weight, self.reg)
            return DEFAULT_CACHE.cached(
                key, lambda: ease_weights(gram + self.time_weight * temporal, self.reg)
            )
        return DEFAULT_CACHE.cached((fp, "ease", self.reg), lambda: ease_weights(gram, self.reg))

    def _lowpass_basis(self, x: sp.csr_matrix) -> np.ndarray:
        fp = csr_fingerprint(x)
        dense = min(x.shape) ** 2 <= _DENSE_SVD_MAX
        # a dense SVD gives every k at once: cache the widest basis and slice
        k_key = "all" if dense else self.rank
        norm = degree_normalised(x, 0.5, self.degree_exp)
        full = DEFAULT_CACHE.cached(
            (fp, "svd", self.degree_exp, k_key),
            lambda: top_singular_vectors(norm, min(x.shape) if dense else self.rank, self.seed),
        )
        return full[:, : self.rank]

    # ------------------------------------------------------------------ fitting
    def _fit(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        assert self._seen is not None
        if train.num_items > MAX_ITEMS:
            raise ParameterError(
                f"graph_filter keeps dense [I, I] filters; {train.num_items} items exceed "
                f"{MAX_ITEMS} -- use lightgcn_csr for catalogues this large"
            )
        t0 = time.perf_counter()
        x = self._seen.astype(np.float64)
        deg = np.asarray(x.sum(axis=0)).ravel()
        rng = np.random.default_rng(self.seed)
        n_sample = min(self.scale_sample, x.shape[0])
        sample = x[np.sort(rng.choice(x.shape[0], size=n_sample, replace=False))]

        b = self._rational(train, x)
        s_b = float(np.std(sample @ b)) or 1.0
        h = b / s_b
        self.item_degree = deg.astype(np.float32)
        if self.lowpass_weight > 0 and self.rank > 0:
            v = self._lowpass_basis(x)
            d_neg, d_pos = degree_scales(deg, self.degree_exp)
            m = ((d_neg[:, None] * v) @ (v.T * d_pos[None, :])).astype(np.float32)
            s_m = float(np.std(sample @ m)) or 1.0
            h = h + np.float32(self.lowpass_weight / s_m) * m
            self.basis = v.astype(np.float32)
        else:
            self.basis = np.zeros((x.shape[1], 0), dtype=np.float32)
        self.filter = np.ascontiguousarray(h, dtype=np.float32)
        seconds = time.perf_counter() - t0
        log.info("graph_filter fitted in %.2fs (I=%d, k=%d)", seconds, x.shape[1], self.rank)
        return FitHistory(fit_seconds=seconds, info={"scale_rational": s_b})

    # ------------------------------------------------------------------ inference
    def score(self, users: np.ndarray) -> np.ndarray:
        """``x_u H`` for each user -> float32 ``[n, I]``."""
        assert self._seen is not None
        x = self._seen[np.asarray(users, dtype=np.int64)]
        return np.asarray(x @ self.filter, dtype=np.float32)

    def embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Spectral factors of the low-pass part (``None`` if it is disabled)."""
        if self.basis.shape[1] == 0 or self._seen is None:
            return None
        d_neg, d_pos = degree_scales(self.item_degree, self.degree_exp)
        v = self.basis.astype(np.float64)
        users = self._seen @ (d_neg[:, None] * v)
        items = d_pos[:, None] * v
        return users.astype(np.float32), items.astype(np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"filter": self.filter, "basis": self.basis, "item_degree": self.item_degree}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.filter = np.asarray(state["filter"], dtype=np.float32)
        self.basis = np.asarray(state["basis"], dtype=np.float32)
        self.item_degree = np.asarray(state["item_degree"], dtype=np.float32)
