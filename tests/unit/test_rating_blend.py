"""The validated rating blend and the kernel autoencoder: weights, replayed refits, guards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.data import Interactions
from engine.data.splits import per_user_random
from engine.errors import ParameterError
from engine.models import KernelAutoRec, RatingBlend, load_model
from engine.models.blend import ridge_blend
from engine.models.kernel_autorec import LocalKernelLayer
from engine.training.selection import select_on_validation
from tests.unit.test_protocols import toy_export

TINY = {"i_autorec": {"hidden": 8, "epochs": 40, "batch_size": 8, "lr": 0.01, "reg": 0.01},
        "kernel_autorec": {"hidden": 8, "layers": 1, "epochs": 15, "reg": 0.5}}


def low_rank(seed: int = 0, n_users: int = 60, n_items: int = 40) -> Interactions:
    """Ratings from a rank-2 model plus noise, 60% observed."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(n_users, 2)), rng.normal(size=(n_items, 2))
    u, i = np.nonzero(rng.random((n_users, n_items)) < 0.6)
    r = np.clip(np.rint(3 + (p[u] * q[i]).sum(1) + 0.3 * rng.normal(size=len(u))), 1, 5)
    return Interactions(u.astype(np.int64), i.astype(np.int64), r.astype(np.float32),
                        np.arange(len(u), dtype=np.int64), n_users, n_items)


def test_ridge_blend_recovers_known_weights_and_shrinks_with_reg() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    y = 0.5 + x @ np.array([0.2, 0.7, -0.1])
    np.testing.assert_allclose(ridge_blend(x, y, 0.0), [0.5, 0.2, 0.7, -0.1], atol=1e-9)
    shrunk = ridge_blend(x, y, 1e4)
    assert np.abs(shrunk[1:]).sum() < 0.5 * np.abs([0.2, 0.7, -0.1]).sum()


def test_blend_learns_weights_on_validation_and_the_refit_replays_them() -> None:
    split = per_user_random(low_rank(), test_ratio=0.2, seed=0)
    blend = RatingBlend(members="i_autorec,kernel_autorec", seeds=2, member_params=TINY,
                        blend_reg=0.0)
    history = blend.fit(split.train, split.test)
    learned = blend.learned_params()
    assert len(learned["weights"]) == 3 and np.isfinite(learned["weights"]).all()
    assert [len(row) for row in learned["epochs"]] == [2, 2]
    members = [history.info["valid_rmse_i_autorec"], history.info["valid_rmse_kernel_autorec"]]
    # least squares with an intercept contains each member alone: in-sample it beats both
    assert history.best_valid is not None and history.best_valid <= min(members) + 1e-6
    assert np.isfinite(history.info["valid_rmse_cv"])  # out-of-fold: no such guarantee
    refit = RatingBlend.create(blend.get_params())
    refit.fit(split.train, None)  # no validation: the learned epochs and weights are replayed
    assert refit.weights == learned["weights"] and refit.epochs == learned["epochs"]
    np.testing.assert_allclose(refit.predict(split.test.user, split.test.item),
                               blend.predict(split.test.user, split.test.item), atol=1e-4)


def test_blend_clips_to_the_training_range_unless_told() -> None:
    train = low_rank(5)
    half = Interactions(train.user, train.item, train.rating - 0.5, train.timestamp,
                        train.num_users, train.num_items)  # 0.5 .. 4.5 stars
    only = {"i_autorec": TINY["i_autorec"]}
    blend = RatingBlend(members="i_autorec", seeds=1, member_params=only, weights=[-3.0, 1.0])
    blend.fit(half, None)
    assert blend.predict(half.user, half.item).min() == pytest.approx(0.5)
    told = RatingBlend(members="i_autorec", seeds=1, member_params=only, weights=[-3.0, 1.0],
                       rating_min=1.0)
    told.fit(half, None)
    assert told.predict(half.user, half.item).min() == pytest.approx(1.0)


def test_blend_without_validation_averages_its_members() -> None:
    train = low_rank(1)
    blend = RatingBlend(members="i_autorec,kernel_autorec", seeds=1, member_params=TINY)
    blend.fit(train, None)
    assert blend.weights == [0.0, 0.5, 0.5]
    a, b = (row[0].predict(train.user, train.item) for row in blend._models)
    np.testing.assert_allclose(blend.predict(train.user, train.item),
                               np.clip(0.5 * a + 0.5 * b, 1, 5), atol=1e-5)


def test_selection_carries_the_learned_weights_into_the_refit_params() -> None:
    exp = toy_export(2)
    params = {"members": "i_autorec,kernel_autorec", "seeds": 1,
              "member_params": {"i_autorec": {"hidden": 8, "epochs": 3, "batch_size": 16},
                                "kernel_autorec": {"hidden": 8, "layers": 1, "epochs": 3}}}
    sel = select_on_validation(exp, exp.interactions, "rating_blend", params, valid_ratio=0.2,
                               seed=0, tune=False)
    refit = sel.refit_params()
    assert "epochs" not in params  # the caller's dict is untouched
    assert sel.split is not None
    again = RatingBlend.create(params)  # the same fit on the same carve learns the same values
    again.fit(sel.split.train, sel.split.test)
    np.testing.assert_allclose(refit["weights"], again.weights, atol=1e-5)
    assert refit["epochs"] == again.epochs
    sel.history.stopped = "patience"  # even a history that looks iterative keeps the lists
    sel.history.best_epoch = 7
    assert sel.refit_params()["epochs"] == again.epochs


def test_blend_save_load_and_fold_in_keep_its_scores(tmp_path: Path) -> None:
    split = per_user_random(low_rank(3), test_ratio=0.2, seed=0)
    blend = RatingBlend(members="i_autorec,kernel_autorec", seeds=2, member_params=TINY)
    blend.fit(split.train, split.test)
    blend.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    users = np.arange(5)
    np.testing.assert_allclose(back.score(users), blend.score(users), atol=1e-5)
    before = blend.score(users)
    folded = blend.fold_in(split.train)
    np.testing.assert_array_equal(blend.score(users), before)  # the original is untouched
    assert np.corrcoef(folded.score(users).ravel(), before.ravel())[0, 1] > 0.9


def test_blend_embeddings_stay_the_graph_members_after_fold_in() -> None:
    from tests.unit.test_models import N, checkerboard, toy_graph

    train = checkerboard(rated=True)
    blend = RatingBlend(members="hetero_sage_rating,i_autorec", seeds=1, member_params={
        "hetero_sage_rating": {"dim": 8, "proj_dim": 4, "epochs": 5, "batch_size": 64},
        "i_autorec": {"hidden": 12, "epochs": 5}})
    blend.fit(train, None, toy_graph(train))
    users, items = blend.embeddings()  # type: ignore[misc]
    assert users.shape == (N, 8) and items.shape == (N, 8)  # the GNN's, not I-AutoRec's 12-d
    # the GNN member gives no vectors for folded-in users; I-AutoRec's must not stand in
    assert blend.fold_in(train).embeddings() is None


@pytest.mark.parametrize(("params", "needle"), [
    ({"members": "ease"}, "must be another rating model"),
    ({"members": "rating_blend"}, "must be another rating model"),
    ({"members": "nosuch"}, "unknown model"),
    ({"members": ""}, "at least one member"),
    ({"members": "i_autorec", "member_params": {"kernel_autorec": {}}}, "not in members"),
    ({"members": "i_autorec", "member_params": {"i_autorec": {"hiden": 3}}}, "hiden"),
    ({"members": "i_autorec", "weights": [0.0]}, "weights must be 2"),
    ({"members": "i_autorec", "seeds": 2, "epochs": [[3]]}, "epochs must be 1 lists of 2"),
])
def test_blend_refuses_bad_parameters_at_once(params: dict, needle: str) -> None:
    with pytest.raises(ParameterError, match=needle):
        RatingBlend.create(params)


def test_local_kernel_has_finite_support() -> None:
    layer = LocalKernelLayer(2, 3, kernel_dim=2, activation=False)
    with torch.no_grad():
        layer.a.copy_(torch.tensor([[0.0, 0.0], [3.0, 0.0]]))
        layer.c.copy_(torch.tensor([[0.0, 0.0], [0.5, 0.0], [2.0, 0.0]]))
    k = layer.kernel().detach().numpy()
    np.testing.assert_allclose(k, [[1.0, 0.75, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)


def test_kernel_autorec_early_stops_and_refuses_a_catalogue_over_its_cells() -> None:
    split = per_user_random(low_rank(4), test_ratio=0.2, seed=0)
    model = KernelAutoRec(hidden=8, layers=1, epochs=15, reg=0.5)
    history = model.fit(split.train, split.test)
    assert history.best_epoch >= 1 and history.best_valid is not None
    mean = float(split.train.rating.mean())
    flat = float(np.sqrt(np.mean((split.test.rating - mean) ** 2)))
    assert history.best_valid < flat  # it learns the rank-2 structure
    with pytest.raises(ParameterError, match="max_cells"):
        KernelAutoRec(max_cells=100).fit(split.train, split.test)
    with pytest.raises(ParameterError, match="weight_decay"):
        KernelAutoRec(weight_decay=0.1)
