"""Sequential signals from the RATED timestamps: recency-weighted profiles and a transition filter.

Every user's train ratings are put in time order (ties by movie index). With ``back`` the
number of ratings a rating is older than the user's latest one:

* **recency profile** ``p_u`` ([I]): ``p_ui = 0.5 ** (back_ui / h) + c`` -- the user's
  row with recent ratings weighted up (half-life ``h`` ratings, floor ``c``); ``h = inf``
  gives the binary row (times ``1 + c``);
* **context** ``z_u`` ([I]): the user's latest ``window`` ratings weighted
  ``0.5 ** (back / h_s)`` -- what the next ratings follow on;
* **transition filter** ``T`` ([I, I]): the closed-form next-items regression of SLIT
  (Choi et al., "Session-aware Linear Item-Item Models for Session-based
  Recommendation", WWW 2021) over every position ``k`` of every user's sequence::

      Z[k] = sum_{o=1..window} 0.5 ** ((o - 1) / h_s) x_{i_(k-o)}     context before k
      Y[k] = sum_{d=0..horizon-1} decay ** d x_{i_(k+d)}             the next items
      T = (Z^T Z + λ I)^{-1} Z^T Y                                    [I, I]

  ``z_u T`` scores what tends to be rated after the user's latest ratings. ``T`` is a
  directed item -> item graph: ``T[j, i]`` is how strongly rating ``j`` leads to ``i``,
  which is also the explanation "because you recently rated j".

Pure numpy/scipy; memory ``O(nnz(Z) + I²)`` (for catalogues up to the dense limit).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.data.interactions import Interactions
from engine.models.linalg import spd_solve
from engine.models.ops import DEFAULT_CACHE, fingerprint

__all__ = ["context_rows", "frequent_items", "latest_context", "positions_within", "recency_profile",
           "restrict",
           "time_order", "transition_filter", "windowed_cooccurrence"]


def time_order(inter: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(order, pos, length)``: rows sorted by (user, time, item).

    ``pos`` is each sorted row's 0-based position in its user's sequence and ``length``
    that sequence's length (both aligned with ``order``). Cached per train set (a fit
    asks for it several times); one int64 sort key when (user, time rank, item) fits in
    63 bits, which is ~4x faster than ``np.lexsort`` at 25M rows.
    """
    key = (fingerprint(inter.user, inter.item, inter.timestamp), "time_order")
    return DEFAULT_CACHE.cached(key, lambda: _time_order(inter))


def _time_order(inter: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stamps, t_rank = np.unique(inter.timestamp, return_inverse=True)
    n_u, n_t, n_i = max(inter.num_users, 1), max(len(stamps), 1), max(inter.num_items, 1)
    if n_u * n_t * n_i < 2**63:
        key = (inter.user.astype(np.int64) * n_t + t_rank) * n_i + inter.item
        order = np.argsort(key)  # keys are unique but for duplicate rows, which may go either way
    else:
        order = np.lexsort((inter.item, inter.timestamp, inter.user))
    user = inter.user[order]
    starts = np.r_[0, np.flatnonzero(np.diff(user)) + 1] if len(user) else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, len(user)])
    pos = np.arange(len(user)) - np.repeat(starts, counts)
    return order, pos, np.repeat(counts, counts)


def recency_profile(inter: Interactions, half_life: float, floor: float) -> sp.csr_matrix:
    """``p_ui = 0.5 ** (back / half_life) + floor`` per distinct pair (float32 CSR [U, I])."""
    order, pos, length = time_order(inter)
    back = (length - 1 - pos).astype(np.float64)
    w = (0.5 ** (back / half_life) if np.isfinite(half_life) else np.ones_like(back)) + floor
    m = sp.csr_matrix((w, (inter.user[order], inter.item[order])),
                      shape=(inter.num_users, inter.num_items))
    m.sum_duplicates()
    return m.astype(np.float32)


def latest_context(inter: Interactions, half_life: float, window: int) -> sp.csr_matrix:
    """Each user's latest ``window`` ratings weighted ``0.5 ** (back / half_life)`` (CSR [U, I])."""
    order, pos, length = time_order(inter)
    back = length - 1 - pos
    keep = back < window
    m = sp.csr_matrix((0.5 ** (back[keep] / half_life), (inter.user[order][keep], inter.item[order][keep])),
                      shape=(inter.num_users, inter.num_items))
    m.sum_duplicates()
    return m.astype(np.float32)


def context_rows(inter: Interactions, half_life: float, window: int, horizon: int,
                 decay: float, positions: int | None = None) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(Z, Y)`` of the transition regression (module docstring), one row per position ``k >= 1``.

    Rows are in time order: row ``r`` is the ``r``-th such position of the sorted ratings.
    With ``positions``, only each user's latest ``positions`` positions are rows (their
    contexts still reach ``window`` ratings back): the regression's cost then grows with the
    number of users, not with the heaviest users' histories.
    """
    order, pos, length = time_order(inter)
    item = inter.item[order]
    rows = np.flatnonzero((pos >= 1) & (length - 1 - pos < positions) if positions is not None else pos >= 1)
    rows_z, cols_z, vals_z, rows_y, cols_y, vals_y = [], [], [], [], [], []
    for o in range(1, window + 1):  # context: the item o steps before position k
        r = np.flatnonzero(pos[rows] >= o)
        rows_z.append(r)
        cols_z.append(item[rows[r] - o])
        vals_z.append(np.full(len(r), 0.5 ** ((o - 1) / half_life), dtype=np.float32))
    for d in range(horizon):  # targets: the items d steps after (from) position k
        r = np.flatnonzero(pos[rows] + d < length[rows])
        rows_y.append(r)
        cols_y.append(item[rows[r] + d])
        vals_y.append(np.full(len(r), decay**d, dtype=np.float32))
    shape = (len(rows), inter.num_items)
    z = sp.csr_matrix((np.concatenate(vals_z), (np.concatenate(rows_z), np.concatenate(cols_z))), shape=shape)
    y = sp.csr_matrix((np.concatenate(vals_y), (np.concatenate(rows_y), np.concatenate(cols_y))), shape=shape)
    return z, y


def positions_within(inter: Interactions, budget: int) -> int | None:
    """The largest per-user cap ``P`` on regression rows with ``Σ_u min(n_u - 1, P) <= budget``.

    ``None`` when every position fits (small data: the regression is exact).
    """
    counts = np.bincount(inter.user, minlength=inter.num_users)
    rows = np.maximum(counts - 1, 0)
    if rows.sum() <= budget:
        return None
    lo, hi = 1, int(rows.max())  # Σ min(rows, P) is increasing in P
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if np.minimum(rows, mid).sum() <= budget else (lo, mid - 1)
    return lo


def windowed_cooccurrence(inter: Interactions, items: np.ndarray, tau: float, window: int) -> np.ndarray:
    """Time-decayed co-occurrence of ``items`` from near neighbours in time: ``[h, h]`` float32.

    ``W_ij = Σ_u Σ exp(-|t_ui - t_uj| / tau)`` over the pairs of ``items`` at most
    ``window`` apart in the user's time-ordered sequence (of those items), both ways, and
    ``W_ii`` = ratings of ``i``: the kernel of :func:`engine.models.ops.temporal_cooccurrence`
    truncated to nearby ratings (where it is not negligible unless a session is long), in
    ``O(nnz · window)`` instead of ``O(Σ_u n_u²)``. Accumulated by ``np.bincount`` per offset.
    """
    inter = restrict(inter, items)
    where = np.full(inter.num_items, -1, dtype=np.int64)
    where[items] = np.arange(len(items))
    order, pos, _ = time_order(inter)
    col = where[inter.item[order]]
    t = inter.timestamp[order].astype(np.float64)
    h = len(items)
    flat = np.bincount(col * (h + 1), minlength=h * h).astype(np.float64)  # the diagonal
    inv_tau = 1.0 / tau if np.isfinite(tau) else 0.0
    pairs = np.zeros(h * h, dtype=np.float64)
    active = np.arange(len(col))  # rows whose o-th predecessor may still be near in time
    for o in range(1, window + 1):
        active = active[pos[active] >= o]
        if len(active) == 0:
            break
        w = np.exp(-(t[active] - t[active - o]) * inv_tau)  # sorted by time: Δt grows with o
        near = w > 1e-6  # pairs hours apart add nothing, nor do any further back
        active, w = active[near], w[near]
        pairs += np.bincount(col[active] * h + col[active - o], weights=w, minlength=h * h)
    square = pairs.reshape(h, h)
    return (flat.reshape(h, h) + square + square.T).astype(np.float32)


def restrict(inter: Interactions, items: np.ndarray) -> Interactions:
    """``inter`` without the ratings of items outside ``items`` (indices unchanged)."""
    keep = np.zeros(inter.num_items, dtype=bool)
    keep[items] = True
    return inter.subset(keep[inter.item])


def frequent_items(inter: Interactions, min_ratings: int) -> np.ndarray:
    """Indices of the items with at least ``min_ratings`` ratings in ``inter`` (sorted)."""
    return np.flatnonzero(np.bincount(inter.item, minlength=inter.num_items) >= min_ratings)


def transition_filter(inter: Interactions, *, reg: float, half_life: float, window: int,
                      horizon: int, decay: float, items: np.ndarray | None = None,
                      sequences: str = "all", rows: int | None = None) -> np.ndarray:
    """``T = (Z^T Z + reg I)^{-1} Z^T Y`` (float32; module docstring).

    With ``items`` (indices), contexts and targets are restricted to those items and ``T``
    is ``[len(items), len(items)]`` in their order: the cost is cubic in the items kept.
    ``sequences="items"`` drops the other items from the sequences first (the context is
    then the previous ``window`` ratings *of those items*; memory ``O(nnz)`` of the kept
    ratings only -- the large-catalogue path), ``"all"`` keeps them as positions.
    ``rows`` caps the regression rows at each user's latest positions, with the largest
    per-user cap whose total fits (:func:`positions_within`, :func:`context_rows`).
    """
    if items is not None and sequences == "items":
        inter = restrict(inter, items)
    positions = positions_within(inter, rows) if rows is not None else None
    z, y = context_rows(inter, half_life, window, horizon, decay, positions)
    if items is not None:
        z, y = z[:, items], y[:, items]
    zt = z.T.tocsr()
    return spd_solve((zt @ z).toarray(), reg, (zt @ y).toarray())
