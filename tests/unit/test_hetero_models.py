"""Known-answer behaviour of the heterogeneous GNN models (issue 4).

Checkerboard toy (implicit's recommender_base_test): even users like even items, odd
users like odd items; one liked item per user is held out. A model that learns the
structure ranks the held-out item first among the unseen ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.data import IdMap, Interactions
from engine.data.features import NodeFeatures, node_features
from engine.data.hetero import to_hetero_data
from engine.errors import ParameterError
from engine.models.base import Recommender
from engine.models.hetero.gat import HeteroGATEncoder, HeteroGATRecommender
from engine.models.hetero.inputs import prepare_graph
from engine.models.hetero.rating import HeteroSAGERatingModel
from engine.models.hetero.sage import HeteroSAGEEncoder, HeteroSAGERecommender
from engine.models.rating import BiasedMF
from engine.schema import IN_GENRE, RATED_BY, RATES

N_USERS, N_ITEMS = 24, 20


@pytest.fixture(autouse=True)
def _threads() -> None:
    torch.set_num_threads(1)  # spin-waiting OMP threads crawl on a shared 2-core box


def _inter(user: np.ndarray, item: np.ndarray, rating: np.ndarray | None = None,
           shape: tuple[int, int] = (N_USERS, N_ITEMS)) -> Interactions:
    rating = np.full(len(user), 5.0, np.float32) if rating is None else rating
    return Interactions(user=user.astype(np.int64), item=item.astype(np.int64),
                        rating=rating.astype(np.float32), timestamp=np.arange(len(user)),
                        num_users=shape[0], num_items=shape[1])


def checkerboard() -> tuple[Interactions, Interactions]:
    """``(train, held_out)``: user u likes items of u's parity; item ``held[u]`` held out."""
    users, items, h_u, h_i = [], [], [], []
    for u in range(N_USERS):
        liked = [i for i in range(N_ITEMS) if i % 2 == u % 2]
        held = liked[(u // 2) % len(liked)]
        for i in liked:
            (h_u if i == held else users).append(u)
            (h_i if i == held else items).append(i)
    return _inter(np.array(users), np.array(items)), _inter(np.array(h_u), np.array(h_i))


def toy_graph(train: Interactions, users: int = N_USERS):  # type: ignore[no-untyped-def]
    """The HeteroData graph: random (uninformative) user/movie features + two genres."""
    import pandas as pd

    rng = np.random.default_rng(0)
    movies = pd.DataFrame({"genres": [["A"] if i % 3 else ["A", "B"] for i in range(N_ITEMS)]})
    feats = NodeFeatures(rng.normal(size=(users, 4)).astype(np.float32),
                         rng.normal(size=(N_ITEMS, 3)).astype(np.float32), [], [], ["A", "B"])
    return to_hetero_data(IdMap(np.arange(users), np.arange(N_ITEMS)), train, movies, feats)


# Small dim + fixed epochs: with 16 free dims per user BPR can memorise "my held-out item
# is a negative" on a 24-user toy; 4 dims keep the parity structure dominant.
FAST: dict[str, Any] = {"dim": 4, "reg": 1e-3, "lr": 0.02, "epochs": 30, "batch_size": 64,
                        "dropout": 0.1}
CASES = [
    pytest.param(HeteroSAGERecommender, FAST, True, id="sage-features"),
    pytest.param(HeteroSAGERecommender, FAST, False, id="sage-no-features"),
    pytest.param(HeteroGATRecommender, FAST, True, id="gat-features"),
    pytest.param(HeteroGATRecommender, {**FAST, "v2": True, "heads": 1}, False, id="gatv2"),
]


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple[Recommender, Interactions, Interactions]]:
    return {}


def _fit(cls: type[Recommender], kw: dict[str, Any], with_features: bool,
         cache: dict[str, tuple[Recommender, Interactions, Interactions]]
         ) -> tuple[Recommender, Interactions, Interactions]:
    key = f"{cls.name}-{sorted(kw.items())}-{with_features}"
    if key not in cache:
        train, held = checkerboard()
        model = cls(**kw)
        model.fit(train, None, toy_graph(train) if with_features else None)
        cache[key] = (model, train, held)
    return cache[key]


@pytest.mark.parametrize(("cls", "kw", "with_features"), CASES)
def test_checkerboard_top1_is_held_out(cls, kw, with_features, fitted) -> None:
    model, train, held = _fit(cls, kw, with_features, fitted)
    items, scores = model.recommend(np.arange(N_USERS), k=3)
    assert items.shape == (N_USERS, 3) and items.dtype == np.int64
    assert scores.shape == (N_USERS, 3) and scores.dtype == np.float32
    assert np.all(np.diff(scores, axis=1) <= 0)
    np.testing.assert_array_equal(items[:, 0], held.item[np.argsort(held.user)])


@pytest.mark.parametrize(("cls", "kw", "with_features"), CASES)
def test_never_recommends_seen_and_roundtrips(cls, kw, with_features, fitted,
                                              tmp_path: Path) -> None:
    model, train, _ = _fit(cls, kw, with_features, fitted)
    items, _ = model.recommend(np.arange(N_USERS), k=N_ITEMS // 2 - 1)
    seen = set(zip(train.user.tolist(), train.item.tolist(), strict=True))
    assert not any((u, i) in seen for u in range(N_USERS) for i in items[u])
    emb = model.embeddings()
    assert emb is not None and emb[0].shape == (N_USERS, kw["dim"])
    assert emb[1].shape == (N_ITEMS, kw["dim"])
    users = np.array([0, 3, 7])
    scores = model.score(users)
    assert scores.shape == (3, N_ITEMS) and scores.dtype == np.float32
    model.save(tmp_path / "ckpt")
    loaded = type(model).load(tmp_path / "ckpt")
    np.testing.assert_array_equal(loaded.score(users), scores)
    np.testing.assert_array_equal(loaded.recommend(users, k=4)[0], model.recommend(users, k=4)[0])


def test_early_stopping_restores_best_valid() -> None:
    train, held = checkerboard()
    model = HeteroSAGERecommender(**{**FAST, "epochs": 12, "eval_every": 2, "patience": 2})
    hist = model.fit(train, held, toy_graph(train))
    assert hist.valid and 1 <= hist.best_epoch <= hist.epochs_run <= 12
    assert hist.best_valid == max(v for _, v in hist.valid)


def test_prepared_graph_and_encoders() -> None:
    train, _ = checkerboard()
    g = prepare_graph(train, toy_graph(train))
    assert g["genre"].num_nodes == 2 and g["user"].x.shape == (N_USERS, 4)
    np.testing.assert_allclose(g["movie"].x.mean(0).numpy(), 0.0, atol=1e-5)
    assert g[RATES].edge_index.shape == (2, len(train)) and g[RATED_BY].edge_attr.shape == (len(train), 1)
    assert IN_GENRE in g.edge_types
    bare = prepare_graph(train, None)  # no graph: id embeddings only, no genres
    assert bare["user"].x.shape == (N_USERS, 0) and "genre" not in bare.node_types
    for enc in (HeteroSAGEEncoder(N_USERS, N_ITEMS, 2, 4, 3, dim=8, rating_levels=5),
                HeteroGATEncoder(N_USERS, N_ITEMS, 2, 4, 3, dim=8, heads=2)):
        assert enc.node_input.user_emb.weight.shape == (N_USERS, 8)
    with pytest.raises(ParameterError, match="user"):
        prepare_graph(train, toy_graph(train, users=N_USERS + 1))
    with pytest.raises(ValueError, match="divisible"):
        HeteroGATEncoder(N_USERS, N_ITEMS, 0, 0, 0, dim=10, heads=3)
    with pytest.raises(ParameterError, match="divisible"):
        HeteroGATRecommender(dim=10, heads=3)


def test_training_graph_is_heterodata_fitted_on_train() -> None:
    import pandas as pd

    train, _ = checkerboard()
    movies = pd.DataFrame({"movieId": np.arange(N_ITEMS), "year": [1990] * N_ITEMS,
                           "genres": [["Drama"] if i % 2 else ["Comedy", "Drama"]
                                      for i in range(N_ITEMS)]})
    feats = node_features(train, movies)
    g = to_hetero_data(IdMap(np.arange(N_USERS), np.arange(N_ITEMS)), train, movies, feats)
    assert g["movie"].x.shape[0] == N_ITEMS and g["user"].x.shape[0] == N_USERS
    assert g[IN_GENRE].edge_index.shape == (2, N_ITEMS + N_ITEMS // 2)
    assert g[RATED_BY].rating.shape == (len(train),)


def bias_toy(seed: int, n_users: int = 60, n_items: int = 40) -> tuple[Interactions, Interactions]:
    """``r = clip(3 + b_u + b_i + ε, 1, 5)`` on 60% of a 60x40 grid; ``(train, test)`` 80/20."""
    rng = np.random.default_rng(seed)
    bu, bi = rng.normal(0, 0.7, n_users), rng.normal(0, 0.7, n_items)
    u, i = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    keep = rng.random(u.size) < 0.6
    u, i = u.ravel()[keep], i.ravel()[keep]
    r = np.clip(3 + bu[u] + bi[i] + rng.normal(0, 0.25, len(u)), 1, 5)
    test = rng.random(len(u)) < 0.2
    shape = (n_users, n_items)
    return (_inter(u[~test], i[~test], r[~test], shape), _inter(u[test], i[test], r[test], shape))


@pytest.mark.parametrize("cls", [HeteroSAGERatingModel, BiasedMF])
def test_rating_model_learns_biases(cls, tmp_path: Path) -> None:
    train, test = bias_toy(0)
    kw: dict[str, Any] = {"mf_dim": 4, "lr": 0.03, "epochs": 40, "batch_size": 256,
                          "reg": 0.01, "patience": 5}
    if cls is HeteroSAGERatingModel:
        kw.update(dim=8, proj_dim=4)
    model = cls(**kw)
    fit, valid = train.subset(np.arange(len(train)) % 5 != 0), train.subset(
        np.arange(len(train)) % 5 == 0)
    hist = model.fit(fit, valid)
    assert 1 <= hist.best_epoch <= 40 and hist.metric == "rmse" and not hist.higher_is_better
    pred = model.predict(test.user, test.item)
    assert pred.shape == (len(test),) and pred.dtype == np.float32
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    assert np.corrcoef(pred, test.rating)[0, 1] > 0.85
    rmse = float(np.sqrt(np.mean((pred - test.rating) ** 2)))
    assert rmse < 0.5 * float(np.std(test.rating))
    scores = model.score(np.array([1, 2]))
    np.testing.assert_allclose(scores[0, test.item[test.user == 1]],
                               pred[test.user == 1], rtol=1e-5)
    model.save(tmp_path / "r")
    loaded = cls.load(tmp_path / "r")
    np.testing.assert_array_equal(loaded.predict(test.user, test.item), pred)
