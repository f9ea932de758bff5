"""The temporal graph filter for any catalogue size: dense on the head, low-rank everywhere.

:class:`~engine.models.temporal.TemporalGraphFilter` keeps dense ``[I, I]`` operators, so
its memory is ``O(I²)`` and its fit ``O(I³)``. This model keeps the same two parts and the
same scoring rule, ``score(u) = std(p_u H) + α std(z_u T)``, but never builds an
``[I, I]`` matrix:

* **Taste** ``p_u H`` = a rational low-pass filter (EASE, Steck 2019) on the ``head``
  (the ``head_items`` most-rated items; its Gram ``X_h^T X_h`` is summed over user
  chunks) + the ideal low-pass filter of the normalised bipartite graph (GF-CF, Shen et
  al. 2021) on **every** item, kept factorised::

      p_u H = [p_u,h B_h / s_B  |  0]  +  α_M (p_u D^{-e} V_k)(D^{e} V_k)^T / s_M

  with ``V_k`` the top-``rank`` right singular vectors of ``D_U^{-1/2} X D_I^{-e}``
  (:func:`~engine.models.linalg.randomized_svd`). Items outside the head (the long
  tail) are ranked by the low-rank part alone.
* **Sequence** ``z_u T``: the SLIT-style transition filter of
  :mod:`engine.models.sequence`, on the head items that have at least
  ``seq_min_ratings`` ratings; the sequences are restricted to those items first and
  at most ``seq_rows`` positions are regression rows (each user's latest, with the
  largest per-user cap that fits; on small data every position).
* The time-decayed co-occurrence of the head is built from ratings at most
  ``time_window`` apart in each user's time order
  (:func:`~engine.models.sequence.windowed_cooccurrence`), ``O(nnz · window)``.

Memory ``O(nnz + head² + I·rank)``; fit time ``O(U·head² + head³ + nnz·rank·niter)``.
On a catalogue no larger than ``head_items`` the head is everything, and the model is
the dense filter with a truncated co-occurrence kernel and a randomized SVD -- see
``bench/scale.py`` for the measured size rule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from tqdm.auto import tqdm

from engine.data.interactions import Interactions
from engine.models.ease import ease_weights
from engine.models.graph_filter import degree_scales
from engine.models.history import FitHistory
from engine.models.linalg import randomized_svd
from engine.models.ops import DEFAULT_CACHE, csr_fingerprint, degree_normalised, fingerprint
from engine.models.params import check_int
from engine.models.sequence import frequent_items, transition_filter, windowed_cooccurrence
from engine.models.temporal import TemporalGraphFilter

__all__ = ["ScalableTemporalFilter", "head_gram", "head_items", "item_counts"]

log = logging.getLogger(__name__)

_GRAM_CHUNK = 8192  # users per dense block of the head Gram (8192 x 3000 float32 = 98 MB)


def item_counts(train: Interactions) -> np.ndarray:
    """Train ratings per item ([I] int64)."""
    return np.bincount(train.item, minlength=train.num_items)


def head_items(degree: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` items with the most train ratings (ties by index), sorted by index."""
    n = min(n, len(degree))
    order = np.lexsort((np.arange(len(degree)), -np.asarray(degree)))
    return np.sort(order[:n])


def head_gram(x: object, head: np.ndarray, progress: bool = False) -> np.ndarray:
    """``X_h^T X_h`` ([h, h] float32) summed over dense user blocks (one sgemm each).

    BLAS ``ssyrk`` would halve the flops but measured slower here (layout copies).
    """
    xh = x[:, head].tocsr()  # type: ignore[index]
    gram = np.zeros((len(head), len(head)), dtype=np.float32)
    for lo in tqdm(range(0, xh.shape[0], _GRAM_CHUNK), desc="head gram", unit="block",
                   disable=not progress, leave=False):
        block = xh[lo : lo + _GRAM_CHUNK].toarray().astype(np.float32)
        gram += block.T @ block
    return gram


class ScalableTemporalFilter(TemporalGraphFilter):
    """Temporal graph filter without ``[I, I]`` matrices (see module doc).

    Args (besides :class:`TemporalGraphFilter`'s):
        head_items: items of the dense rational filter and of the transition filter.
        seq_rows: most positions (rows) in the transition regression.
        time_window: neighbours in time order that the time-decayed co-occurrence links.
        svd_iterations: power iterations of the randomized SVD.
    """

    name: ClassVar[str] = "scalable_filter"
    fresh_scores: ClassVar[bool] = True

    def __init__(self, reg: float = 800.0, rank: int = 64, lowpass_weight: float = 0.25,
                 degree_exp: float = 0.5, recency: float = 3.0, recency_floor: float = 0.1,
                 seq_weight: float = 0.5, seq_reg: float = 1000.0, seq_half_life: float = 8.0,
                 seq_window: int = 32, seq_horizon: int = 10, seq_decay: float = 0.9,
                 seq_min_ratings: int = 3, head_items: int = 3000, seq_rows: int = 600_000,
                 time_weight: float = 4.0, time_scale: float = 600.0, time_window: int = 32,
                 svd_iterations: int = 3, scale_sample: int = 2048, seed: int = 0) -> None:
        super().__init__(reg=reg, time_weight=time_weight, time_scale=time_scale, rank=rank,
                         lowpass_weight=lowpass_weight, degree_exp=degree_exp, recency=recency,
                         recency_floor=recency_floor, seq_weight=seq_weight, seq_reg=seq_reg,
                         seq_half_life=seq_half_life, seq_window=seq_window, seq_horizon=seq_horizon,
                         seq_decay=seq_decay, seq_min_ratings=seq_min_ratings,
                         scale_sample=scale_sample, seed=seed)
        self.head_items = check_int("head_items", head_items, 1)
        self.seq_rows = check_int("seq_rows", seq_rows, 1)
        self.time_window = check_int("time_window", time_window, 1, 1000)
        self.svd_iterations = check_int("svd_iterations", svd_iterations, 0, 20)
        self.head = np.zeros(0, dtype=np.int64)  # head item indices [h]
        self.scale_lowpass = 0.0  # α_M / s_M
        self._lowpass_parts: tuple[np.ndarray, ...] | None = None  # derived from basis + degrees

    # ------------------------------------------------------------------ fitting
    def _fit_taste(self, train: Interactions, valid: Interactions | None, graph: object) -> FitHistory:
        """Head EASE + factorised low-pass part (module doc); nothing ``[I, I]``."""
        assert self._seen is not None
        laps: dict[str, float] = {}
        t0 = last = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal last
            now = time.perf_counter()
            laps[f"{step}_seconds"] = now - last
            last = now

        x = self._seen
        fp = csr_fingerprint(x)
        deg = np.asarray(x.sum(axis=0), dtype=np.float64).ravel()
        self.item_degree = deg.astype(np.float32)
        self.head = head_items(item_counts(train), self.head_items)
        gram = DEFAULT_CACHE.cached((fp, "head_gram", self.head_items),
                                    lambda: head_gram(x, self.head, progress=x.nnz > 5_000_000))
        lap("gram")
        if self.time_weight > 0:
            tfp = fingerprint(train.user, train.item, train.timestamp)
            near = DEFAULT_CACHE.cached(
                (tfp, "head_near", self.head_items, self.time_scale, self.time_window),
                lambda: windowed_cooccurrence(train, self.head, self.time_scale, self.time_window))
            lap("cooccurrence")
            key: tuple[object, ...] = (tfp, "head_ease", self.head_items, self.time_scale,
                                       self.time_window, self.time_weight, self.reg)
            weights = DEFAULT_CACHE.cached(
                key, lambda: ease_weights(gram + np.float32(self.time_weight) * near, self.reg))
        else:
            weights = DEFAULT_CACHE.cached((fp, "head_ease", self.head_items, self.reg),
                                           lambda: ease_weights(gram, self.reg))
        lap("ease")
        if self.lowpass_weight > 0 and self.rank > 0:
            self.basis = DEFAULT_CACHE.cached(
                (fp, "rsvd", self.degree_exp, self.rank, self.svd_iterations, self.seed),
                lambda: randomized_svd(degree_normalised(x, 0.5, self.degree_exp), self.rank,
                                       niter=self.svd_iterations, seed=self.seed)[1])
        else:
            self.basis = np.zeros((x.shape[1], 0), dtype=np.float32)
        self._lowpass_parts = None
        lap("svd")
        rng = np.random.default_rng(self.seed)
        sample = x[np.sort(rng.choice(x.shape[0], size=min(self.scale_sample, x.shape[0]), replace=False))]
        s_b = float(np.std(sample[:, self.head] @ weights)) or 1.0
        self.filter = (weights / np.float32(s_b)).astype(np.float32)
        self.scale_lowpass = 0.0
        if self.basis.shape[1]:
            self.scale_lowpass = self.lowpass_weight / (float(np.std(self._lowpass(sample))) or 1.0)
        lap("scales")
        seconds = time.perf_counter() - t0
        log.info("scalable_filter taste fitted in %.1fs (I=%d, head=%d, rank=%d): %s", seconds,
                 x.shape[1], len(self.head), self.basis.shape[1],
                 ", ".join(f"{k[:-8]} {v:.1f}s" for k, v in laps.items()))
        return FitHistory(fit_seconds=seconds,
                          info={"scale_rational": s_b, "head": float(len(self.head)), **laps})

    def sequence_items(self, train: Interactions) -> np.ndarray:
        """Head items with at least ``seq_min_ratings`` ratings."""
        head = head_items(item_counts(train), self.head_items)
        return np.intersect1d(frequent_items(train, self.seq_min_ratings), head)

    def fit_transition(self, train: Interactions, items: np.ndarray, reg: float, horizon: int) -> np.ndarray:
        """``T`` on sequences restricted to ``items``, at most ``seq_rows`` rows (the latest)."""
        return transition_filter(train, reg=reg, half_life=self.seq_half_life, window=self.seq_window,
                                 horizon=horizon, decay=self.seq_decay, items=items, sequences="items",
                                 rows=self.seq_rows)

    def _factors(self) -> tuple[np.ndarray, ...]:
        """``(L = D^{-e} V_k, R = D^{e} V_k, ΣR, R^T R, R[head])``, computed once per fit or load.

        ``L`` and ``R`` are ``[I, k]`` float32; the sums, Gram and head rows float64 (the
        per-user mean and variance of :meth:`_taste`), so no score batch recomputes them.
        """
        if self._lowpass_parts is None:
            d_neg, d_pos = degree_scales(self.item_degree, self.degree_exp)
            left = d_neg.astype(np.float32)[:, None] * self.basis
            right = d_pos.astype(np.float32)[:, None] * self.basis
            r64 = right.astype(np.float64)
            self._lowpass_parts = (left, right, r64.sum(axis=0), r64.T @ r64, r64[self.head])
        return self._lowpass_parts

    def _lowpass(self, rows: object) -> np.ndarray:
        """``(r D^{-e} V)(D^{e} V)^T`` for user rows ``r`` (sparse ``[n, I]``) -> ``[n, I]``."""
        left, right = self._factors()[:2]
        return np.asarray(rows @ left, dtype=np.float32) @ right.T

    # ------------------------------------------------------------------ inference
    def _taste(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The taste scores ``t = L R^T + [H | 0]`` in factored form, with their row mean and std.

        ``(L [n, k], R [I, k], H [n, h], mean [n], sd [n])``. The mean and variance over the
        catalogue come from the factors (``Σ_i t_i = L·ΣR + ΣH``,
        ``Σ_i t_i² = L (R^T R) L^T + Σ_h (2 (L R_h^T) H + H²)``), so standardising never
        takes extra passes over an ``[n, I]`` block.
        """
        p = self.profile[np.asarray(users, dtype=np.int64)]
        h = np.asarray(p[:, self.head] @ self.filter, dtype=np.float32)
        n_items = float(self.num_items)
        if self.basis.shape[1]:
            left, right, r_sum, r_gram, r_head = self._factors()
            lo = np.asarray(p @ left, dtype=np.float64) * self.scale_lowpass
            lp_head = lo @ r_head.T
            total = lo @ r_sum + h.sum(axis=1)
            squares = (np.einsum("ij,jk,ik->i", lo, r_gram, lo)
                       + (2.0 * lp_head * h + h.astype(np.float64) ** 2).sum(axis=1))
        else:
            lo, right = np.zeros((len(h), 0)), np.zeros((self.num_items, 0), dtype=np.float32)
            total, squares = h.sum(axis=1, dtype=np.float64), (h.astype(np.float64) ** 2).sum(axis=1)
        mean = total / n_items
        sd = np.sqrt(np.maximum(squares / n_items - mean**2, 0.0))
        return lo.astype(np.float32), right, h, mean, np.where(sd > 1e-12, sd, 1.0)

    def _assemble(self, users: np.ndarray, with_sequence: bool) -> np.ndarray:
        """``std(p_u H) [+ α std(z_u T)]`` written into one ``[n, I]`` block (one GEMM)."""
        lo, right, h, mean, sd = self._taste(users)
        out = (lo / sd[:, None].astype(np.float32)) @ right.T if right.shape[1] else np.zeros(
            (len(h), self.num_items), dtype=np.float32)
        out[:, self.head] += h / sd[:, None].astype(np.float32)
        shift = mean / sd
        if with_sequence and self.seq_weight > 0 and len(self.seq_items):
            c = np.asarray(self.context[np.asarray(users, dtype=np.int64)][:, self.seq_items]
                           @ self.transition, dtype=np.float64)
            c_mean = c.sum(axis=1) / self.num_items
            c_sd = np.sqrt(np.maximum((c**2).sum(axis=1) / self.num_items - c_mean**2, 0.0))
            c_sd = np.where(c_sd > 1e-12, c_sd, 1.0)
            shift = shift + self.seq_weight * c_mean / c_sd
            out[:, self.seq_items] += (self.seq_weight * c / c_sd[:, None]).astype(np.float32)
        out -= shift[:, None].astype(np.float32)
        return out

    def taste_scores(self, users: np.ndarray) -> np.ndarray:
        """``std(p_u H)`` for ``users`` -> float32 ``[n, I]`` (no ``[I, I]`` matrix)."""
        return self._assemble(users, with_sequence=False)

    def score(self, users: np.ndarray) -> np.ndarray:
        """``std(p_u H) + α std(z_u T)`` -> float32 ``[n, I]``, standardised from the factors."""
        return self._assemble(users, with_sequence=True)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {**super()._state(), "head": self.head,
                "scale_lowpass": np.asarray([self.scale_lowpass], dtype=np.float64)}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:
        super()._load_state(state)
        self.head = state["head"].astype(np.int64)
        self.scale_lowpass = float(state["scale_lowpass"][0])
        self._lowpass_parts = None
