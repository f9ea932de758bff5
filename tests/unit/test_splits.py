"""Splits are pure, seeded and leak-free: rows preserved once, no pair on both sides."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import Interactions
from engine.data.splits import (
    Split,
    per_user_random,
    temporal_global_cutoff,
    temporal_per_user_fraction,
    temporal_per_user_last_n,
)
from engine.training.selection import carve_validation


def _toy(seed: int = 0, n_users: int = 40, n_items: int = 30, n_rows: int = 600) -> Interactions:
    """Random interactions with re-ratings; ``timestamp`` doubles as a unique row id."""
    rng = np.random.default_rng(seed)
    user = rng.integers(0, n_users, n_rows)
    item = rng.integers(0, n_items, n_rows)
    # one user with a single row, one user with exactly two distinct items
    user[:1], item[:1] = n_users, 0
    user[1:3], item[1:3] = n_users + 1, [0, 1]
    return Interactions(
        user=user.astype(np.int64),
        item=item.astype(np.int64),
        rating=rng.integers(1, 6, n_rows).astype(np.float32),
        timestamp=rng.permutation(n_rows).astype(np.int64) * 10,
        num_users=n_users + 2,
        num_items=n_items,
    )


def _pairs(inter: Interactions) -> set[tuple[int, int]]:
    return set(zip(inter.user.tolist(), inter.item.tolist(), strict=True))


def _assert_partition(inter: Interactions, split: Split) -> None:
    # every row exactly once (timestamps are unique row ids)
    both = np.sort(np.r_[split.train.timestamp, split.test.timestamp])
    np.testing.assert_array_equal(both, np.sort(inter.timestamp))
    assert len(split.train) + len(split.test) == len(inter)
    # rows keep their content
    row = {int(t): (int(u), int(i), float(r)) for u, i, r, t in
           zip(inter.user, inter.item, inter.rating, inter.timestamp, strict=True)}
    for part in (split.train, split.test):
        for u, i, r, t in zip(part.user, part.item, part.rating, part.timestamp, strict=True):
            assert row[int(t)] == (int(u), int(i), float(r))
    # leak-free: no (user, item) pair on both sides
    assert not (_pairs(split.train) & _pairs(split.test))
    assert split.train.num_users == inter.num_users and split.test.num_items == inter.num_items


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_per_user_random_partition_and_leak_free(seed: int) -> None:
    inter = _toy(seed)
    split = per_user_random(inter, test_ratio=0.25, seed=seed)
    _assert_partition(inter, split)


def test_per_user_random_keeps_train_rows_and_ratio() -> None:
    inter = _toy(3)
    split = per_user_random(inter, test_ratio=0.25, seed=0)
    for u in range(inter.num_users):
        items = set(inter.item[inter.user == u].tolist())
        tr = set(split.train.item[split.train.user == u].tolist())
        te = set(split.test.item[split.test.user == u].tolist())
        if len(items) >= 2:
            assert tr and te, f"user {u} should keep train and give test"
            assert len(te) == max(1, min(len(items) - 1, round(0.25 * len(items))))
        elif items:
            assert tr == items and not te
    single = inter.num_users - 2
    assert (split.test.user == single).sum() == 0


def test_per_user_random_is_seeded() -> None:
    inter = _toy(5)
    a = per_user_random(inter, 0.25, seed=0)
    b = per_user_random(inter, 0.25, seed=0)
    c = per_user_random(inter, 0.25, seed=1)
    np.testing.assert_array_equal(a.test.timestamp, b.test.timestamp)
    assert not np.array_equal(np.sort(a.test.timestamp), np.sort(c.test.timestamp))


def test_per_user_random_rejects_bad_ratio() -> None:
    with pytest.raises(ValueError):
        per_user_random(_toy(), test_ratio=1.0)


def test_duplicate_pairs_move_together() -> None:
    inter = Interactions(
        user=np.array([0, 0, 0, 0, 0, 0]),
        item=np.array([1, 1, 2, 2, 3, 4]),
        rating=np.ones(6, np.float32),
        timestamp=np.array([1, 50, 2, 3, 4, 5]),
        num_users=1,
        num_items=5,
    )
    for seed in range(10):
        split = per_user_random(inter, test_ratio=0.5, seed=seed)
        _assert_partition(inter, split)
        assert len(_pairs(split.test)) == 2


def test_temporal_last_n_holds_out_latest() -> None:
    inter = _toy(2)
    split = temporal_per_user_last_n(inter, n=2)
    _assert_partition(inter, split)
    for u in range(inter.num_users):
        te = split.test.timestamp[split.test.user == u]
        tr = split.train.timestamp[split.train.user == u]
        n_pairs = len(set(inter.item[inter.user == u].tolist()))
        if n_pairs:
            assert len(tr) > 0
        if len(te):
            # pair times are first-seen times: every test pair starts after every train pair
            first_test = min(
                inter.timestamp[(inter.user == u) & (inter.item == i)].min()
                for i in set(split.test.item[split.test.user == u].tolist())
            )
            last_train_pair_start = max(
                inter.timestamp[(inter.user == u) & (inter.item == i)].min()
                for i in set(split.train.item[split.train.user == u].tolist())
            )
            assert first_test > last_train_pair_start
            assert len(set(split.test.item[split.test.user == u].tolist())) == min(2, n_pairs - 1)


def test_temporal_global_cutoff() -> None:
    inter = _toy(4)
    cutoff = int(np.median(inter.timestamp))
    split = temporal_global_cutoff(inter, cutoff)
    _assert_partition(inter, split)
    assert (split.test.timestamp >= cutoff).all()
    # train rows after the cutoff are only re-ratings of pairs first seen before it
    late = split.train.timestamp >= cutoff
    for u, i in zip(split.train.user[late], split.train.item[late], strict=True):
        assert inter.timestamp[(inter.user == u) & (inter.item == i)].min() < cutoff


def _first_time(inter: Interactions) -> dict[tuple[int, int], int]:
    out: dict[tuple[int, int], int] = {}
    for u, i, t in zip(inter.user.tolist(), inter.item.tolist(), inter.timestamp.tolist(), strict=True):
        out[(u, i)] = min(t, out.get((u, i), t))
    return out


@pytest.mark.parametrize("fraction", [0.2, 0.5])
def test_temporal_fraction_holds_out_each_users_latest(fraction: float) -> None:
    inter = _toy(7, n_rows=900)
    split = temporal_per_user_fraction(inter, fraction=fraction)
    _assert_partition(inter, split)
    first = _first_time(inter)
    for u in range(inter.num_users):
        train_t = [first[p] for p in _pairs(split.train) if p[0] == u]
        test_t = [first[p] for p in _pairs(split.test) if p[0] == u]
        n = len(train_t) + len(test_t)
        if n >= 2:
            assert train_t, "every user keeps a train pair"
            assert len(test_t) == min(max(round(fraction * n), 1), n - 1)
        if train_t and test_t:
            # no held-out rating is older than any training rating of the same user
            assert min(test_t) >= max(train_t)


def test_temporal_fraction_breaks_ties_by_movie() -> None:
    inter = Interactions(user=np.zeros(5, np.int64), item=np.array([4, 0, 3, 1, 2]),
                         rating=np.ones(5, np.float32), timestamp=np.array([1, 1, 1, 1, 1]),
                         num_users=1, num_items=5)
    split = temporal_per_user_fraction(inter, fraction=0.4)
    assert sorted(split.test.item.tolist()) == [3, 4]
    with pytest.raises(ValueError):
        temporal_per_user_fraction(inter, fraction=1.0)


@pytest.mark.parametrize("strategy", ["random", "temporal-last-n", "temporal-fraction"])
def test_carve_validation_from_train_only(strategy: str) -> None:
    inter = _toy(6)
    split = per_user_random(inter, 0.25, seed=0)
    val = carve_validation(split.train, strategy, ratio=0.25, seed=0)  # type: ignore[arg-type]
    _assert_partition(split.train, val)
    assert not (set(val.test.timestamp.tolist()) & set(split.test.timestamp.tolist()))
    assert not (_pairs(val.test) & _pairs(split.test))
