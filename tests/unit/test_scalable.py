"""The large-catalogue default: the size rule, the memory check, and a fit without [I, I] matrices."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import Interactions
from engine.data.splits import Split, temporal_per_user_fraction
from engine.evaluate.metrics import mask_seen, top_k
from engine.models import ScalableTemporalFilter, TemporalGraphFilter
from engine.models.linalg import randomized_svd
from engine.models.ops import temporal_cooccurrence
from engine.models.sequence import positions_within, windowed_cooccurrence
from engine.models.sizing import (
    DENSE_MAX_ITEMS,
    MemoryBudgetError,
    check_memory,
    default_model_for,
    estimate_fit_bytes,
)
from engine.training.selection import sample_validation


def graph(n_users: int = 150, n_items: int = 400, per_user: int = 25, seed: int = 0) -> Interactions:
    """Users with popularity-skewed, clustered ratings spread over a few sessions."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    users, items, stamps = [], [], []
    for u in range(n_users):
        centre = rng.integers(n_items)
        w = pop * np.exp(-np.minimum(np.abs(np.arange(n_items) - centre), 40) / 20.0)
        chosen = rng.choice(n_items, size=per_user, replace=False, p=w / w.sum())
        users += [u] * per_user
        items += chosen.tolist()
        stamps += (1_000_000 + 60 * np.arange(per_user) + 3600 * rng.integers(0, 3, per_user)).tolist()
    n = len(users)
    return Interactions(np.array(users), np.array(items), np.full(n, 4.0, np.float32),
                        np.array(stamps, dtype=np.int64), n_users, n_items)


def test_size_rule_switches_above_the_dense_limit() -> None:
    assert default_model_for(1) == "temporal_filter"
    assert default_model_for(DENSE_MAX_ITEMS) == "temporal_filter"
    assert default_model_for(DENSE_MAX_ITEMS + 1) == "scalable_filter"
    assert default_model_for(59_047) == "scalable_filter"


def test_memory_estimate_grows_quadratically_for_dense_models_only() -> None:
    dense = [estimate_fit_bytes("temporal_filter", 100_000, i, 10_000_000) for i in (10_000, 20_000)]
    scal = [estimate_fit_bytes("scalable_filter", 100_000, i, 10_000_000) for i in (10_000, 20_000)]
    assert dense[1] - dense[0] > 3 * (scal[1] - scal[0])
    # the ML-25M shape: the dense filter would need tens of GiB, the scalable one a few
    assert estimate_fit_bytes("temporal_filter", 162_541, 59_047, 25_000_000) > 100 * 2**30
    assert estimate_fit_bytes("scalable_filter", 162_541, 59_047, 25_000_000) < 8 * 2**30


def test_memory_check_fails_in_one_line_before_the_fit() -> None:
    with pytest.raises(MemoryBudgetError) as err:
        check_memory("temporal_filter", 162_541, 59_047, 25_000_000, available=16 * 2**30)
    msg = str(err.value)
    assert "\n" not in msg and "59,047 movies" in msg and "GiB" in msg and "scalable_filter" in msg
    assert check_memory("scalable_filter", 162_541, 59_047, 25_000_000, available=16 * 2**30) > 0


def test_fit_keeps_no_catalogue_square_matrix() -> None:
    inter = graph()
    model = ScalableTemporalFilter(head_items=60, rank=8, seq_min_ratings=2, seq_reg=10.0, reg=20.0)
    model.fit(inter)
    assert model.filter.shape == (60, 60)
    assert model.basis.shape == (400, 8)
    assert model.transition.shape[0] <= 60 and set(model.seq_items) <= set(model.head)
    state = model._state()
    assert all(a.size < 400 * 400 for a in state.values()), {k: a.shape for k, a in state.items()}
    tail = np.setdiff1d(np.arange(400), model.head)
    assert model.score(np.arange(150))[:, tail].std(axis=1).min() > 0  # the low-rank part ranks the tail


def test_chunked_top_k_equals_the_unchunked_result() -> None:
    inter = graph()
    model = ScalableTemporalFilter(head_items=80, rank=8, seq_min_ratings=2, seq_reg=10.0, reg=20.0)
    model.fit(inter)
    users = np.arange(inter.num_users)
    chunked = model.recommend(users, k=20, batch_size=7)
    whole = model.recommend(users, k=20, batch_size=len(users))
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-6)
    s = model.score(users)
    assert model._seen is not None
    mask_seen(s, users, model._seen)
    ref_items, ref_scores = top_k(s, 20)
    np.testing.assert_allclose(chunked[1], ref_scores, rtol=1e-5, atol=1e-6)
    seen = model._seen.toarray() > 0
    assert not seen[users[:, None], chunked[0]].any()


def test_with_the_whole_catalogue_as_head_it_is_the_dense_filter() -> None:
    """head = every item, an unbounded co-occurrence window, every regression row, no low-pass
    part: the scalable model scores exactly what the dense temporal filter scores."""
    inter = graph(n_items=120)
    common = dict(reg=30.0, lowpass_weight=0.0, recency=3.0, seq_weight=0.5, seq_reg=10.0,
                  seq_min_ratings=1, time_weight=2.0, time_scale=600.0)
    dense = TemporalGraphFilter(**common)
    scal = ScalableTemporalFilter(**common, head_items=120, time_window=1000, seq_rows=10**9)
    dense.fit(inter)
    scal.fit(inter)
    users = np.arange(inter.num_users)
    np.testing.assert_allclose(scal.score(users), dense.score(users), atol=2e-4)


def test_windowed_cooccurrence_is_the_exact_kernel_when_the_window_covers_every_pair() -> None:
    inter = graph(n_items=50, per_user=12)
    items = np.arange(50)
    exact = temporal_cooccurrence(inter.user, inter.item, inter.timestamp, 50, 600.0)
    np.testing.assert_allclose(windowed_cooccurrence(inter, items, 600.0, 100), exact, rtol=1e-5, atol=1e-6)
    near = windowed_cooccurrence(inter, items, 600.0, 2)
    assert near.sum() < exact.sum()  # a short window drops the far pairs
    head = np.array([3, 7, 11])
    sub = windowed_cooccurrence(inter, head, float("inf"), 100)
    x = inter.to_csr().toarray()[:, head]
    np.testing.assert_allclose(sub, x.T @ x)  # tau = inf: plain co-occurrence of the head


def test_positions_budget_takes_the_largest_cap_that_fits() -> None:
    inter = graph(n_users=10, per_user=25)
    assert positions_within(inter, 10**6) is None
    cap = positions_within(inter, 100)
    assert cap is not None
    rows = np.maximum(np.bincount(inter.user) - 1, 0)
    assert np.minimum(rows, cap).sum() <= 100 < np.minimum(rows, cap + 1).sum()


def test_randomized_svd_finds_the_top_singular_pairs() -> None:
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.standard_normal((300, 6)))
    v, _ = np.linalg.qr(rng.standard_normal((200, 6)))
    low = (u * np.array([50.0, 30.0, 20.0, 12.0, 5.0, 2.0])) @ v.T
    m = sp.csr_matrix(low + 0.01 * rng.standard_normal((300, 200)) * (rng.random((300, 200)) < 0.1))
    s, v = randomized_svd(m, 4, niter=4)
    ref = np.linalg.svd(m.toarray())
    np.testing.assert_allclose(s, ref[1][:4], rtol=1e-3)
    np.testing.assert_allclose(np.abs(v.T @ ref[2][:4].T), np.eye(4), atol=1e-2)


def test_tuning_samples_validation_users_and_keeps_train() -> None:
    inter = graph()
    split = temporal_per_user_fraction(inter, fraction=0.2)
    small, n = sample_validation(split, max_users=40, seed=0)
    assert n == inter.num_users
    assert len(np.unique(small.test.user)) == 40 and small.train is split.train
    again, _ = sample_validation(split, max_users=40, seed=0)
    np.testing.assert_array_equal(again.test.user, small.test.user)
    same, _ = sample_validation(Split(split.train, split.test), max_users=10**6)
    assert len(same.test) == len(split.test)


def test_engine_models_states_the_size_rule() -> None:
    from click.testing import CliRunner

    from engine.cli import cli

    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("* temporal_filter") for line in lines)
    assert any(line.startswith("* scalable_filter") for line in lines)
    assert f"up to {DENSE_MAX_ITEMS:,} movies" in lines[-1] and "scalable_filter above" in lines[-1]
    help_text = CliRunner().invoke(cli, ["train", "--help"]).output
    assert "scalable_filter" in help_text and "10,000 movies" in help_text


def test_default_parameters_may_suit_either_default_model() -> None:
    from engine.errors import ParameterError
    from engine.jobs.train import check_params

    check_params(None, {"reg": 500.0})  # both defaults take it
    check_params(None, {"head_items": 2000})  # only the scalable one: fine, the rule may pick it
    with pytest.raises(ParameterError, match="no parameter bogus"):
        check_params(None, {"bogus": 1})
    with pytest.raises(ParameterError):
        check_params("temporal_filter", {"head_items": 2000})
