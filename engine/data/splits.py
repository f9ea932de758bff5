"""Pure, seeded, leak-free train/test splits of an :class:`~engine.data.Interactions` table.

Every function returns a :class:`Split` whose ``train`` and ``test`` partition the input
rows exactly once (row order inside each part follows the input order). Splitting is done
on distinct ``(user, item)`` *pairs*: if a pair occurs in several rows (re-ratings), all of
its rows go to the same side, so no pair is ever in both train and test.

The graph a model propagates over is built from ``train`` only, so the reverse
``('movie', 'rev_rated', 'user')`` edge of a test rating never leaks into message passing
(conventions §4). Validation is carved from ``train`` by the same functions and the same
rule as the test split (:func:`engine.training.selection.carve_validation`), so
hyper-parameters are never chosen on test.

Temporal splits hold out each user's latest ratings: the question a recommender answers
in production ("what will this user rate next?"). Ties in time are broken by movie index
(a higher movieId counts as later), so the split is deterministic.

Example::

    split = temporal_per_user_fraction(inter, fraction=0.2)     # protocol T1
    fit_part = temporal_per_user_fraction(split.train, fraction=0.2)
    model.fit(fit_part.train, valid=fit_part.test)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.interactions import Interactions

__all__ = [
    "Split",
    "per_user_random",
    "temporal_global_cutoff",
    "temporal_per_user_fraction",
    "temporal_per_user_last_n",
]


@dataclass(frozen=True)
class Split:
    """A train/test pair over the same id space (``test`` may be empty)."""

    train: Interactions
    test: Interactions


def _pairs(inter: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs: ``(pair_user, pair_item, row -> pair index)``."""
    key = inter.user.astype(np.int64) * np.int64(max(inter.num_items, 1)) + inter.item.astype(
        np.int64
    )
    uniq, inverse = np.unique(key, return_inverse=True)
    n_items = np.int64(max(inter.num_items, 1))
    return uniq // n_items, uniq % n_items, inverse.reshape(-1)


def _rank_within_user(pair_user: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """0-based rank of each pair inside its user when sorted by ``order_key`` ascending."""
    order = np.lexsort((order_key, pair_user))
    sorted_user = pair_user[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_user)) + 1]
    counts = np.diff(np.r_[starts, len(sorted_user)])
    rank_sorted = np.arange(len(sorted_user)) - np.repeat(starts, counts)
    rank = np.empty_like(rank_sorted)
    rank[order] = rank_sorted
    return rank


def _split_by_pair_mask(inter: Interactions, inverse: np.ndarray, pair_test: np.ndarray) -> Split:
    row_test = pair_test[inverse]
    return Split(train=inter.subset(~row_test), test=inter.subset(row_test))


def per_user_random(inter: Interactions, test_ratio: float = 0.25, seed: int = 0) -> Split:
    """Hold out ``round(test_ratio * n_u)`` random pairs of every user (stratified by user).

    A user with ``n_u >= 2`` distinct items keeps at least one train pair and, when
    ``test_ratio > 0``, gives at least one test pair; a user with one item stays in train.

    Args:
        inter: the interactions to split.
        test_ratio: fraction of each user's distinct items held out, in ``[0, 1)``.
        seed: seed of the ``numpy.random.default_rng`` that orders each user's pairs.
    """
    if not 0.0 <= test_ratio < 1.0:
        raise ValueError(f"test_ratio must be in [0, 1), got {test_ratio}")
    pair_user, _, inverse = _pairs(inter)
    rng = np.random.default_rng(seed)
    rank = _rank_within_user(pair_user, rng.random(len(pair_user)))
    n_user = np.bincount(pair_user, minlength=inter.num_users)
    n_test = np.rint(test_ratio * n_user).astype(np.int64)
    if test_ratio > 0:
        n_test = np.maximum(n_test, (n_user >= 2).astype(np.int64))
    n_test = np.minimum(n_test, np.maximum(n_user - 1, 0))
    return _split_by_pair_mask(inter, inverse, rank < n_test[pair_user])


def _pair_time(inter: Interactions, inverse: np.ndarray, n_pairs: int) -> np.ndarray:
    """First timestamp of each pair (a re-rating is dated by the first time it was seen)."""
    first = np.full(n_pairs, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, inverse, inter.timestamp.astype(np.int64))
    return first


def _recency_rank(inter: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pair_user, rank from the newest (0 = latest), row -> pair)`` of each distinct pair."""
    pair_user, pair_item, inverse = _pairs(inter)
    t = _pair_time(inter, inverse, len(pair_user))
    # rank by descending time; the secondary key keeps ties deterministic
    order_key = -(t.astype(np.float64)) - pair_item / (inter.num_items + 1.0)
    return pair_user, _rank_within_user(pair_user, order_key), inverse


def temporal_per_user_last_n(inter: Interactions, n: int = 1) -> Split:
    """Hold out each user's ``n`` most recent pairs (ties broken by item index).

    Users keep at least one train pair: a user with ``k <= n`` pairs gives ``k - 1``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    pair_user, rank_desc, inverse = _recency_rank(inter)
    n_user = np.bincount(pair_user, minlength=inter.num_users)
    n_test = np.minimum(n, np.maximum(n_user - 1, 0))
    return _split_by_pair_mask(inter, inverse, rank_desc < n_test[pair_user])


def temporal_per_user_fraction(inter: Interactions, fraction: float = 0.2) -> Split:
    """Hold out each user's latest ``round(fraction * n_u)`` pairs (at least one, if ``n_u >= 2``).

    Every held-out rating of a user is at least as new as each of their train ratings;
    users keep at least one train pair (ties broken by item index, as in
    :func:`temporal_per_user_last_n`).
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    pair_user, rank_desc, inverse = _recency_rank(inter)
    n_user = np.bincount(pair_user, minlength=inter.num_users)
    n_test = np.maximum(np.rint(fraction * n_user).astype(np.int64), (n_user >= 2).astype(np.int64))
    n_test = np.minimum(n_test, np.maximum(n_user - 1, 0))
    return _split_by_pair_mask(inter, inverse, rank_desc < n_test[pair_user])


def temporal_global_cutoff(inter: Interactions, cutoff: int) -> Split:
    """Pairs first seen at ``timestamp >= cutoff`` go to test, the rest to train.

    A later re-rating of a pair first seen before ``cutoff`` stays in train with it, so
    the pair sets stay disjoint. Users that only appear after the cutoff are cold-start
    users in test (a model cannot rank for them; metrics skip users without train rows
    only if the caller asks).
    """
    pair_user, _, inverse = _pairs(inter)
    t = _pair_time(inter, inverse, len(pair_user))
    return _split_by_pair_mask(inter, inverse, t >= np.int64(cutoff))
