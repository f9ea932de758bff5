"""Metrics against values worked out by hand on tiny cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from engine.data import Interactions
from engine.errors import InputError
from engine.evaluate.metrics import (
    auc_per_user,
    evaluate_ranking,
    mask_seen,
    ranking_metrics_at_k,
    rating_metrics,
    summarise_by_segment,
    top_k,
)
from engine.evaluate.segments import THRESHOLDS, Thresholds, segment_users


def _csr(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    data = [(r, i) for r, items in enumerate(rows) for i in items]
    r = [d[0] for d in data]
    c = [d[1] for d in data]
    return sp.csr_matrix((np.ones(len(data), np.float32), (r, c)), shape=(len(rows), n_items))


def _inter(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    u = np.array([p[0] for p in pairs], dtype=np.int64)
    i = np.array([p[1] for p in pairs], dtype=np.int64)
    return Interactions(u, i, np.ones(len(u), np.float32), np.zeros(len(u), np.int64),
                        n_users, n_items)


def test_ranking_metrics_by_hand_5_item_toy() -> None:
    # user 0: relevant {1, 3}; ranking 3, 0, 1 -> hits at ranks 0 and 2
    # user 1: relevant {2};    ranking 0, 1, 3 -> no hit
    # user 2: no relevant items -> NaN (skipped by the evaluator)
    topk = np.array([[3, 0, 1, 4, 2], [0, 1, 3, 4, 2], [0, 1, 2, 3, 4]])
    rel = _csr([[1, 3], [2], []], 5)
    m = ranking_metrics_at_k(topk, rel, k=3)
    dcg = 1 / math.log2(2) + 1 / math.log2(4)  # = 1.5
    idcg = 1 / math.log2(2) + 1 / math.log2(3)  # = 1.6309
    assert m["precision"][0] == pytest.approx(2 / 3)
    assert m["recall"][0] == pytest.approx(1.0)
    assert m["f1"][0] == pytest.approx(0.8)  # 2 * (2/3 * 1) / (2/3 + 1)
    assert m["ndcg"][0] == pytest.approx(dcg / idcg)
    assert m["ndcg"][0] == pytest.approx(0.919721, abs=1e-6)
    assert m["map"][0] == pytest.approx((1 / 1 + 2 / 3) / 2)  # precision at each hit / min(K, |R|)
    assert m["hit"][0] == 1.0
    for name in ("precision", "recall", "f1", "ndcg", "map", "hit"):
        assert m[name][1] == 0.0
        assert np.isnan(m[name][2])


def test_ndcg_uses_min_k_relevant_for_ideal() -> None:
    # 4 relevant items, K = 2, both top-2 relevant -> NDCG 1, recall 2/4, AP 1
    m = ranking_metrics_at_k(np.array([[0, 1, 2, 3, 4]]), _csr([[0, 1, 2, 3]], 5), k=2)
    assert m["ndcg"][0] == pytest.approx(1.0)
    assert m["recall"][0] == pytest.approx(0.5)
    assert m["map"][0] == pytest.approx(1.0)
    # single relevant item at rank 2 (0-based 1): NDCG = 1/log2(3)
    m = ranking_metrics_at_k(np.array([[4, 2, 0]]), _csr([[2]], 5), k=3)
    assert m["ndcg"][0] == pytest.approx(1 / math.log2(3))
    assert m["map"][0] == pytest.approx(0.5)


def test_top_k_and_mask_seen() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [1.0, 0.0, 2.0, 3.0]], dtype=np.float32)
    mask_seen(scores, np.array([0, 1]), _csr([[1], [3, 2]], 4))
    items, s = top_k(scores, 2)
    np.testing.assert_array_equal(items, [[3, 2], [0, 1]])
    np.testing.assert_allclose(s, [[0.7, 0.5], [1.0, 0.0]])
    assert items.dtype == np.int64 and s.dtype == np.float32


def test_auc_by_hand() -> None:
    # positives {0, 3}, negatives {1, 2}, item 4 seen (-inf, not a candidate)
    # pairs: (0>1) (0>2) (3>1) win, (3<2) lose -> 3/4
    scores = np.array([[0.9, 0.1, 0.5, 0.3, -np.inf]])
    assert auc_per_user(scores, _csr([[0, 3]], 5))[0] == pytest.approx(0.75)
    # a tie counts 1/2: pos 0 ties neg 1, beats neg 2 -> (0.5 + 1) / 2
    assert auc_per_user(np.array([[0.5, 0.5, 0.1]]), _csr([[0]], 3))[0] == pytest.approx(0.75)


def test_evaluate_ranking_end_to_end() -> None:
    # 3 users, 4 items. train: u0 {0}, u1 {0, 1}, u2 {2}; test: u0 {1}, u1 {3}; u2 has none
    train = _inter([(0, 0), (1, 0), (1, 1), (2, 2)], 3, 4)
    test = _inter([(0, 1), (1, 3)], 3, 4)
    fixed = np.array([[9.0, 1.0, 3.0, 2.0], [9.0, 8.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
    rep = evaluate_ranking(lambda u: fixed[u], train, test, ks=(1, 2))
    np.testing.assert_array_equal(rep.users, [0, 1])  # user 2 skipped
    # u0 ranks (seen 0 removed) 2, 3, 1 -> hit at rank 2 (0-based) only
    # u1 ranks 3, 2 -> hit at rank 0
    assert rep.per_user["hit@1"].tolist() == [0.0, 1.0]
    assert rep.summary["precision@1"] == pytest.approx(0.5)
    assert rep.summary["ndcg@2"] == pytest.approx(0.5)  # u0: 0, u1: 1
    assert rep.summary["recall@2"] == pytest.approx(0.5)
    # AUC: u0 pos 1 (score 1) vs negs 2 (3), 3 (2) -> 0; u1 pos 3 (2) vs neg 2 (1) -> 1
    assert rep.summary["auc"] == pytest.approx(0.5)
    # coverage@1: items {2, 3} of 4; coverage@2: {2, 3} -> both 0.5
    assert rep.summary["coverage@1"] == pytest.approx(0.5)
    assert rep.summary["coverage@2"] == pytest.approx(0.5)
    # novelty@1: train users per item: item2 -> 1/3, item3 -> 0 users (counted as 1) -> 1/3
    assert rep.summary["novelty@1"] == pytest.approx(-math.log2(1 / 3))
    assert rep.summary["n_users"] == 2


def test_rating_metrics_by_hand() -> None:
    m = rating_metrics(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 4.0]))
    assert m["rmse"] == pytest.approx(math.sqrt(2 / 3))
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["r2"] == pytest.approx(0.0)  # SSE 2, SST 2
    assert m["mape"] == pytest.approx(100 * (1 + 0 + 1 / 3) / 3)


def test_segments_one_definition_on_each_threshold() -> None:
    # exactly on a threshold: 20 ratings is normal, 200 is power -- in metrics, Cypher and plots
    labels = segment_users(np.array([5, 19, 20, 199, 200, 1000]), Thresholds(20, 200))
    assert labels.tolist() == ["very-low", "very-low", "normal", "normal", "power", "power"]
    assert Thresholds.parse("20:200") == THRESHOLDS and THRESHOLDS.cypher_params() == {
        "lowThreshold": 20, "powerThreshold": 200}
    with pytest.raises(InputError, match="LOW:POWER"):
        Thresholds.parse("x:y")
    with pytest.raises(InputError):
        Thresholds(50, 10)
    train = _inter([(0, 0)] + [(1, i) for i in range(3)], 2, 4)
    test = _inter([(0, 1), (1, 3)], 2, 4)
    scores = np.array([[0, 5, 0, 0], [0, 0, 0, 5]], np.float32)
    rep = evaluate_ranking(lambda u: scores[u], train, test, ks=(1,), with_auc=False)
    seg = summarise_by_segment(rep, train, thresholds=Thresholds(2, 3))
    assert seg["very-low"]["n_users"] == 1 and seg["power"]["n_users"] == 1
    assert seg["normal"]["n_users"] == 0 and np.isnan(seg["normal"]["ndcg@1"])
    assert seg["power"]["ndcg@1"] == 1.0
