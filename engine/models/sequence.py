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

__all__ = ["context_rows", "frequent_items", "latest_context", "recency_profile", "time_order",
           "transition_filter"]


def time_order(inter: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(order, pos, length)``: rows sorted by (user, time, item).

    ``pos`` is each sorted row's 0-based position in its user's sequence and ``length``
    that sequence's length (both aligned with ``order``).
    """
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
                 decay: float) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(Z, Y)`` of the transition regression (module docstring), one row per position ``k >= 1``."""
    order, pos, length = time_order(inter)
    item = inter.item[order]
    rows_z, cols_z, vals_z, rows_y, cols_y, vals_y = [], [], [], [], [], []
    for o in range(1, window + 1):  # context: the item o steps before position k
        k = np.flatnonzero(pos >= o)
        rows_z.append(k)
        cols_z.append(item[k - o])
        vals_z.append(np.full(len(k), 0.5 ** ((o - 1) / half_life)))
    for d in range(horizon):  # targets: the items d steps after (from) position k
        k = np.flatnonzero((pos >= 1) & (pos + d < length))
        rows_y.append(k)
        cols_y.append(item[k + d])
        vals_y.append(np.full(len(k), decay**d))
    shape = (len(item), inter.num_items)
    z = sp.csr_matrix((np.concatenate(vals_z), (np.concatenate(rows_z), np.concatenate(cols_z))), shape=shape)
    y = sp.csr_matrix((np.concatenate(vals_y), (np.concatenate(rows_y), np.concatenate(cols_y))), shape=shape)
    return z, y


def frequent_items(inter: Interactions, min_ratings: int) -> np.ndarray:
    """Indices of the items with at least ``min_ratings`` ratings in ``inter`` (sorted)."""
    return np.flatnonzero(np.bincount(inter.item, minlength=inter.num_items) >= min_ratings)


def transition_filter(inter: Interactions, *, reg: float, half_life: float, window: int,
                      horizon: int, decay: float, items: np.ndarray | None = None) -> np.ndarray:
    """``T = (Z^T Z + reg I)^{-1} Z^T Y`` (float32; module docstring).

    With ``items`` (indices), contexts and targets are restricted to those items and ``T``
    is ``[len(items), len(items)]`` in their order: the cost is cubic in the items kept.
    """
    z, y = context_rows(inter, half_life, window, horizon, decay)
    if items is not None:
        z, y = z[:, items], y[:, items]
    zt = z.T.tocsr()
    return spd_solve((zt @ z).toarray(), reg, (zt @ y).toarray())
