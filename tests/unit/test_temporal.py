"""The temporal graph filter: sequence signals, its fast tuning path, and its explanations."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import Interactions
from engine.data.splits import temporal_per_user_fraction
from engine.evaluate.metrics import evaluate_ranking
from engine.models import GraphFilterCF, TemporalGraphFilter
from engine.models.sequence import context_rows, latest_context, recency_profile, transition_filter


def _inter(rows: list[tuple[int, int, int]], n_users: int, n_items: int) -> Interactions:
    u, i, t = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    return Interactions(u, i, np.full(len(u), 4.0, np.float32), t, n_users, n_items)


def sessions(seed: int = 0, n_users: int = 60, n_items: int = 24) -> Interactions:
    """Users walk a ring of items in order (i -> i + 1), from a random start, one step a minute."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start, length = int(rng.integers(n_items)), int(rng.integers(6, 12))
        for step in range(length):
            rows.append((u, (start + step) % n_items, 1_000_000 + 60 * step + u))
    return _inter(rows, n_users, n_items)


def test_profile_and_context_weights() -> None:
    inter = _inter([(0, 3, 10), (0, 1, 20), (0, 2, 30), (1, 0, 5)], 2, 4)
    p = recency_profile(inter, half_life=1.0, floor=0.1).toarray()
    np.testing.assert_allclose(p[0], [0.0, 0.5 + 0.1, 1.0 + 0.1, 0.25 + 0.1])
    z = latest_context(inter, half_life=1.0, window=2).toarray()
    np.testing.assert_allclose(z[0], [0.0, 0.5, 1.0, 0.0])  # item 3 is outside the window
    zr, yr = context_rows(inter, half_life=1.0, window=5, horizon=2, decay=0.5)
    assert zr.shape == (2, 4) and yr.shape == (2, 4)  # one row per position k >= 1: items 1, 2 of user 0
    # position 2 of user 0 (item 2): context items 1 (weight 1) and 3 (0.5); targets item 2
    k = 1
    np.testing.assert_allclose(zr[k].toarray()[0], [0.0, 1.0, 0.0, 0.5])
    np.testing.assert_allclose(yr[k].toarray()[0], [0.0, 0.0, 1.0, 0.0])


def test_transition_learns_what_comes_next() -> None:
    inter = sessions()
    t = transition_filter(inter, reg=1.0, half_life=2.0, window=4, horizon=1, decay=1.0)
    assert t.shape == (24, 24)
    assert (t.argmax(axis=1) == (np.arange(24) + 1) % 24).mean() > 0.9


def test_next_item_comes_first_and_reasons_name_the_latest_rating() -> None:
    inter = sessions()
    model = TemporalGraphFilter(reg=5.0, rank=4, recency=2.0, seq_weight=2.0, seq_reg=1.0,
                                seq_horizon=1, seq_window=4, seq_min_ratings=1)
    model.fit(inter)
    users = np.arange(inter.num_users)
    items, _ = model.recommend(users, k=3)
    last = np.array([inter.item[inter.user == u][np.argmax(inter.timestamp[inter.user == u])] for u in users])
    assert (items[:, 0] == (last + 1) % 24).mean() > 0.9
    reasons = model.reasons(users, items[:, :1])
    hit = items[:, 0] == (last + 1) % 24
    assert (reasons[hit, 0] == last[hit]).mean() > 0.9


def test_without_recency_and_sequence_it_ranks_like_graph_filter() -> None:
    inter = sessions(1)
    params = {"reg": 5.0, "rank": 4}
    gf = GraphFilterCF(**params)
    gf.fit(inter)
    tf = TemporalGraphFilter(**params, recency=float("inf"), seq_weight=0.0)
    tf.fit(inter)
    users = np.arange(inter.num_users)
    np.testing.assert_array_equal(gf.recommend(users, k=5)[0], tf.recommend(users, k=5)[0])


@pytest.mark.parametrize("point", [
    {"reg": 5.0, "recency": 2.0, "seq_weight": 0.0},
    {"reg": 10.0, "recency": float("inf"), "seq_weight": 0.5, "seq_reg": 2.0, "seq_horizon": 2},
])
def test_fast_tuning_measures_what_a_fitted_model_scores(point: dict) -> None:
    inter = sessions(2)
    split = temporal_per_user_fraction(inter, fraction=0.2)
    base = {"rank": 4, "seq_window": 4, "seq_min_ratings": 1}

    def measure(score_fn):  # type: ignore[no-untyped-def]
        return evaluate_ranking(score_fn, split.train, split.test, ks=(10,), with_auc=False).summary

    grid = {k: [v] for k, v in point.items()}
    (trial,) = [t for t in TemporalGraphFilter.tune(base, grid, split.train, split.test, measure)
                if all(t["params"].get(k) == v for k, v in point.items())]
    model = TemporalGraphFilter(**base, **point)
    model.fit(split.train)
    assert trial["summary"]["ndcg@10"] == pytest.approx(measure(model.score)["ndcg@10"], abs=1e-6)
