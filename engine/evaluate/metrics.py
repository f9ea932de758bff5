"""Recommender metrics in pure numpy, batched over users (conventions §5).

Top-K protocol: every model scores the **full catalogue**, the user's training items are
excluded (score ``-inf``), users without test items are skipped, and per-user values are
averaged over the remaining users. Definitions (``hit_j`` = 1 if the item at rank ``j`` is
relevant, ``R_u`` = the user's relevant test items)::

    P@K     = sum_{j<K} hit_j / K
    R@K     = sum_{j<K} hit_j / |R_u|
    F1@K    = 2 P R / (P + R)                 (0 when both are 0)
    DCG@K   = sum_{j<K} hit_j / log2(j + 2)   (j 0-based)
    NDCG@K  = DCG@K / sum_{j<min(K,|R_u|)} 1 / log2(j + 2)
    AP@K    = sum_{j<K} P@(j+1) hit_j / min(K, |R_u|)      (MAP = mean AP)
    Hit@K   = 1 if any hit
    AUC     = P(score(pos) > score(neg)), neg = not seen in train and not relevant, ties 1/2

Catalogue coverage@K is the fraction of items appearing in any top-K list; novelty@K is
the mean self-information ``-log2(p_i)`` of recommended items with ``p_i`` the fraction of
users who interacted with ``i`` in *train* (``max(count, 1)`` so unseen items stay finite).
Rating metrics: RMSE, MAE, R², MAPE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata

from engine.data.interactions import Interactions
from engine.evaluate.segments import SEGMENTS, THRESHOLDS, Thresholds, segment_users

__all__ = [
    "RankingReport",
    "auc_per_user",
    "evaluate_ranking",
    "interaction_csr",
    "mask_seen",
    "ranking_metrics_at_k",
    "rating_metrics",
    "summarise_by_segment",
    "top_k",
]

def interaction_csr(inter: Interactions) -> sp.csr_matrix:
    """Binary user x item CSR of ``inter`` (see :meth:`Interactions.to_csr`)."""
    return inter.to_csr(binary=True)


def mask_seen(scores: np.ndarray, users: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    """Set ``scores[r, i] = -inf`` for every item ``i`` seen by ``users[r]`` (in place)."""
    indptr, indices = seen.indptr, seen.indices
    starts, ends = indptr[users], indptr[users + 1]
    counts = ends - starts
    if counts.sum() == 0:
        return scores
    rows = np.repeat(np.arange(len(users)), counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = indices[np.repeat(starts, counts) + offs]
    scores[rows, cols] = -np.inf
    return scores


_TORCH_TOPK_MIN = 20_000  # columns from which torch.topk does the selection


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-``k`` ``(items int64 [n,k], scores float32 [n,k])``, best first.

    Ties at the cut are broken arbitrarily (but deterministically for the same input).
    """
    n, m = scores.shape
    k = min(k, m)
    if k == 0:
        return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32)
    if k < m and m >= _TORCH_TOPK_MIN:  # large catalogues: torch's multi-threaded top-k, ~6x faster
        import torch

        values, idx = torch.topk(torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32)), k, dim=1)
        return idx.numpy().astype(np.int64), values.numpy()
    if k < m:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(m), (n, 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    items = np.take_along_axis(part, order, axis=1).astype(np.int64)
    return items, np.take_along_axis(part_scores, order, axis=1).astype(np.float32)


def _hits(topk: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean ``[n, K]``: is ``topk[r, j]`` in row ``r`` of ``relevant``."""
    n_items = np.int64(relevant.shape[1])
    rel = relevant.tocoo()
    rel_keys = np.sort(rel.row.astype(np.int64) * n_items + rel.col)
    keys = np.arange(topk.shape[0], dtype=np.int64)[:, None] * n_items + topk
    pos = np.searchsorted(rel_keys, keys)
    pos = np.minimum(pos, max(len(rel_keys) - 1, 0))
    return (rel_keys[pos] == keys) if len(rel_keys) else np.zeros(keys.shape, bool)


def ranking_metrics_at_k(
    topk: np.ndarray, relevant: sp.csr_matrix, k: int
) -> dict[str, np.ndarray]:
    """Per-user P/R/F1/NDCG/AP/Hit at ``k`` (float64 ``[n]``; NaN where no relevant items).

    Args:
        topk: ``[n, >=k]`` ranked item indices (best first) for ``n`` users.
        relevant: ``[n, num_items]`` CSR whose row ``r`` holds user ``r``'s relevant items.
        k: cut-off.
    """
    hits = _hits(topk[:, :k], relevant).astype(np.float64)
    n_rel = np.diff(relevant.indptr).astype(np.float64)
    kk = hits.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, kk + 2))
    n_hit = hits.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = n_hit / k
        recall = n_hit / n_rel
        f1 = np.where(n_hit > 0, 2 * precision * recall / (precision + recall), 0.0)
        dcg = hits @ discounts
        ideal_cum = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))]
        idcg = ideal_cum[np.minimum(n_rel, k).astype(np.int64)]
        ndcg = dcg / idcg
        prec_at_j = np.cumsum(hits, 1) / np.arange(1, kk + 1)
        ap = (prec_at_j * hits).sum(1) / np.minimum(n_rel, k)
    out = {"precision": precision, "recall": recall, "f1": f1, "ndcg": ndcg, "map": ap,
           "hit": (n_hit > 0).astype(np.float64)}
    empty = n_rel == 0
    for v in out.values():
        v[empty] = np.nan
    return out


def auc_per_user(scores: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Per-user AUC of relevant vs other candidate items (float64 ``[n]``).

    ``scores`` must already hold ``-inf`` for excluded (seen) items; those are not
    candidates. Ties count 1/2 (average ranks). NaN if a user has no positive or no negative.
    """
    ranks = rankdata(scores, axis=1, method="average")
    n_excl = np.isneginf(scores).sum(1).astype(np.float64)
    pos = _dense_rows(relevant)
    n_pos = pos.sum(1).astype(np.float64)
    n_neg = scores.shape[1] - n_excl - n_pos
    pos_rank_sum = np.where(pos, ranks - n_excl[:, None], 0.0).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos_rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg <= 0)] = np.nan
    return auc


def _dense_rows(m: sp.csr_matrix) -> np.ndarray:
    """A *batch* of CSR rows as a dense boolean block (callers keep batches small)."""
    out = np.zeros(m.shape, dtype=bool)
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    out[rows, m.indices] = True
    return out


@dataclass
class RankingReport:
    """Result of :func:`evaluate_ranking`.

    ``users`` are the evaluated users (those with test items); ``per_user[name]`` is aligned
    with them (names like ``"ndcg@10"``, ``"auc"``); ``summary`` holds the means plus
    ``coverage@K``, ``novelty@K`` and ``n_users``.
    """

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    summary: dict[str, float] = field(default_factory=dict)


def evaluate_ranking(
    score_fn: Callable[[np.ndarray], np.ndarray],
    train: Interactions,
    test: Interactions,
    ks: Sequence[int] = (10, 20),
    batch_size: int = 1024,
    with_auc: bool = True,
    seen: sp.csr_matrix | None = None,
    relevant: sp.csr_matrix | None = None,
) -> RankingReport:
    """Full-catalogue top-K evaluation of ``score_fn`` (e.g. ``model.score``).

    Args:
        score_fn: ``users int64 [n] -> float32 [n, num_items]`` scores, higher is better.
        train: the interactions the model was fitted on (excluded from rankings; also the
            popularity used for novelty).
        test: held-out interactions; every test pair is relevant.
        ks: cut-offs; the ranking is computed once at ``max(ks)``.
        batch_size: users scored per call.
        with_auc: also compute per-user AUC (needs the full score rows, still batched).
        seen: ``interaction_csr(train)`` when the caller has it (a grid measures many
            score functions on one split).
        relevant: ``interaction_csr(test)``, likewise.
    """
    seen = interaction_csr(train) if seen is None else seen
    rel_all = interaction_csr(test) if relevant is None else relevant
    users = np.flatnonzero(np.diff(rel_all.indptr) > 0).astype(np.int64)
    kmax = max(ks)
    chunks: dict[str, list[np.ndarray]] = {}
    recommended: dict[int, list[np.ndarray]] = {k: [] for k in ks}
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = np.asarray(score_fn(batch), dtype=np.float32).copy()
        mask_seen(scores, batch, seen)
        items, _ = top_k(scores, kmax)
        rel = rel_all[batch]
        for k in ks:
            for name, vals in ranking_metrics_at_k(items, rel, k).items():
                chunks.setdefault(f"{name}@{k}", []).append(vals)
            recommended[k].append(items[:, :k])
        if with_auc:
            chunks.setdefault("auc", []).append(auc_per_user(scores, rel))
    per_user = {name: np.concatenate(v) for name, v in chunks.items()}
    summary: dict[str, float] = {name: float(np.nanmean(v)) for name, v in per_user.items()}
    summary["n_users"] = float(len(users))
    item_users = np.bincount(seen.indices, minlength=seen.shape[1]).astype(np.float64)
    self_info = -np.log2(np.maximum(item_users, 1.0) / max(train.num_users, 1))
    for k in ks:
        rec = np.concatenate(recommended[k]) if recommended[k] else np.zeros((0, k), np.int64)
        summary[f"coverage@{k}"] = float(len(np.unique(rec)) / max(train.num_items, 1))
        summary[f"novelty@{k}"] = float(self_info[rec].mean()) if rec.size else float("nan")
    return RankingReport(users=users, per_user=per_user, summary=summary)


def summarise_by_segment(
    report: RankingReport, train: Interactions, thresholds: Thresholds = THRESHOLDS
) -> dict[str, dict[str, float]]:
    """Mean of every per-user metric inside each activity segment (plus ``n_users``)."""
    counts = np.bincount(train.user, minlength=train.num_users)
    labels = segment_users(counts, thresholds)[report.users]
    out: dict[str, dict[str, float]] = {}
    for seg in SEGMENTS:
        sel = labels == seg
        row = {"n_users": float(sel.sum())}
        for name, vals in report.per_user.items():
            row[name] = float(np.nanmean(vals[sel])) if sel.any() else float("nan")
        out[seg] = row
    return out


def rating_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, R² and MAPE (in %, over non-zero targets) of rating predictions."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    err = p - y
    ss_tot = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    nz = y != 0
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": float(1.0 - (err**2).sum() / ss_tot) if ss_tot > 0 else float("nan"),
        "mape": float(100.0 * np.mean(np.abs(err[nz]) / np.abs(y[nz])))
        if nz.any()
        else float("nan"),
    }
