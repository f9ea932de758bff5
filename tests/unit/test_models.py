"""One behavioural test suite run against every registered model (conventions §6).

Known-answer toy ("checkerboard", after implicit's recommender_base_test): even users
like even items, odd users like odd items; user ``u`` has seen every item of its parity
except item ``u``, so with seen items excluded its top-1 must be item ``u``.

Rating models get the same board with ratings: 5 stars for the items of the user's parity,
1 star for half of the items of the other parity (those with ``i // 2`` of the other parity
than ``u // 2``; so ``u ^ 1`` stays unrated by ``u``); of the unseen items the one of the
user's parity, ``u``, must come first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from engine.data import Interactions
from engine.data.features import NodeFeatures
from engine.data.hetero import to_hetero_data
from engine.models import (
    BPRMF,
    EASE,
    MODELS,
    BiasedMF,
    GdsFastRP,
    GraphFilterCF,
    HeteroGATRecommender,
    HeteroSAGERatingModel,
    HeteroSAGERecommender,
    ItemAutoRec,
    KernelAutoRec,
    LightGCNCSR,
    PopularityRecommender,
    PyGLightGCN,
    RatingBlend,
    Recommender,
    ScalableTemporalFilter,
    TemporalGraphFilter,
    load_model,
)
from engine.models.losses import NegativeSampler
from engine.models.ops import (
    DEFAULT_CACHE,
    bipartite_adjacency,
    sym_normalise,
    sym_spmm,
    temporal_cooccurrence,
    to_torch_csr,
)
from tests.unit._fastrp import NumpyFastRP

N = 16  # users == items

FACTORIES: dict[str, Callable[[], Recommender]] = {
    "popularity": PopularityRecommender,
    "ease": lambda: EASE(reg=1.0),
    "graph_filter": lambda: GraphFilterCF(reg=1.0, time_weight=1.0, time_scale=60.0, rank=2,
                                          lowpass_weight=0.5),
    "temporal_filter": lambda: TemporalGraphFilter(reg=1.0, time_weight=1.0, time_scale=60.0, rank=2,
                                                   lowpass_weight=0.5, recency=3.0, seq_weight=0.5,
                                                   seq_reg=1.0, seq_horizon=2),
    "scalable_filter": lambda: ScalableTemporalFilter(reg=1.0, time_weight=1.0, time_scale=60.0, rank=2,
                                                      lowpass_weight=0.5, recency=3.0, seq_weight=0.5,
                                                      seq_reg=1.0, seq_horizon=2, head_items=6),
    "bpr_mf": lambda: BPRMF(dim=8, lr=0.05, epochs=40, batch_size=32, reg=1e-4),
    "lightgcn_csr": lambda: LightGCNCSR(dim=8, num_layers=2, lr=0.05, epochs=40, batch_size=32),
    "pyg_lightgcn": lambda: PyGLightGCN(dim=8, num_layers=2, lr=0.05, epochs=40, batch_size=32),
    "hetero_sage": lambda: HeteroSAGERecommender(dim=4, reg=1e-3, lr=0.02, epochs=40,
                                                 batch_size=32, dropout=0.1),
    "hetero_gat": lambda: HeteroGATRecommender(dim=4, heads=1, reg=1e-3, lr=0.02, epochs=40,
                                               batch_size=32, dropout=0.1),
    "i_autorec": lambda: ItemAutoRec(hidden=8, epochs=200, batch_size=8, lr=0.01, reg=0.01),
    "kernel_autorec": lambda: KernelAutoRec(hidden=8, layers=1, epochs=30, reg=0.01),
    "rating_blend": lambda: RatingBlend(
        members="i_autorec,kernel_autorec", seeds=2,
        member_params={"i_autorec": {"hidden": 8, "epochs": 200, "batch_size": 8, "lr": 0.01,
                                     "reg": 0.01},
                       "kernel_autorec": {"hidden": 8, "layers": 1, "epochs": 30, "reg": 0.01}}),
    "biased_mf_rating": lambda: BiasedMF(mf_dim=4, reg=1e-3, lr=0.05, epochs=200, batch_size=64),
    "gds_fastrp": lambda: GdsFastRP(dim=32, iteration_weights="0,1"),
    "hetero_sage_rating": lambda: HeteroSAGERatingModel(dim=8, proj_dim=4, mf_dim=0, lr=0.02,
                                                        epochs=100, batch_size=64, reg=1e-3,
                                                        dropout=0.0, edge_dropout=0.0),
}
# popularity is not personalised
PERSONALISED = [name for name in FACTORIES if name != "popularity"]
RATING = [name for name, cls in MODELS.items() if cls.task == "rating"]


def checkerboard(rated: bool = False) -> Interactions:
    """The toy board; ``rated``: the rating models' board (see module docstring)."""
    users, items, ratings = [], [], []
    for u in range(N):
        for i in range(N):
            liked = i % 2 == u % 2
            if i == u or (not liked and (not rated or (i // 2) % 2 == (u // 2) % 2)):
                continue
            users.append(u)
            items.append(i)
            ratings.append(5.0 if liked and rated else 1.0 if rated else 4.0)
    n = len(users)
    return Interactions(
        user=np.array(users, dtype=np.int64),
        item=np.array(items, dtype=np.int64),
        rating=np.array(ratings, np.float32),
        timestamp=np.arange(n, dtype=np.int64) * 30,
        num_users=N,
        num_items=N,
    )


def toy_graph(train: Interactions) -> object:
    """The ``HeteroData`` training graph of the toy (uninformative features, two genres)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    movies = pd.DataFrame({"genres": [["A"] if i % 3 else ["A", "B"] for i in range(N)]})
    feats = NodeFeatures(rng.normal(size=(N, 4)).astype(np.float32),
                         rng.normal(size=(N, 3)).astype(np.float32), [], [], ["A", "B"])
    from engine.data import IdMap

    return to_hetero_data(IdMap(np.arange(N), np.arange(N)), train, movies, feats)


def board_for(name: str) -> Interactions:
    return checkerboard(rated=MODELS[name].task == "rating")


@pytest.fixture(scope="module", autouse=True)
def _threads() -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def fitted() -> dict[str, Recommender]:
    out = {}
    for name, make in FACTORIES.items():
        train = board_for(name)
        model = make()
        graph = (NumpyFastRP() if model.in_database
                 else toy_graph(train) if model.needs_graph else None)
        model.fit(train, None, graph)
        out[name] = model
    return out


def test_every_registered_model_is_under_test() -> None:
    assert set(FACTORIES) == set(MODELS)
    for name, cls in MODELS.items():
        assert cls.name == name and cls.task in ("ranking", "rating")


@pytest.mark.parametrize("name", list(FACTORIES))
def test_contract_shapes_and_dtypes(name: str, fitted: dict[str, Recommender]) -> None:
    model = fitted[name]
    users = np.array([0, 3, 5], dtype=np.int64)
    scores = model.score(users)
    assert scores.shape == (3, N) and scores.dtype == np.float32
    assert np.isfinite(scores).all()
    items, s = model.recommend(users, k=4)
    assert items.shape == (3, 4) and items.dtype == np.int64
    assert s.shape == (3, 4) and s.dtype == np.float32
    assert (np.diff(s, axis=1) <= 0).all(), "recommendations must be sorted best first"
    np.testing.assert_allclose(s, np.take_along_axis(scores, items, axis=1), rtol=1e-6)
    emb = model.embeddings()
    if emb is not None:
        ue, ie = emb
        assert ue.shape[0] == N and ie.shape[0] == N and ue.shape[1] == ie.shape[1]
        assert ue.dtype == np.float32 and ie.dtype == np.float32


@pytest.mark.parametrize("name", list(FACTORIES))
def test_recommend_never_returns_seen(name: str, fitted: dict[str, Recommender]) -> None:
    train = board_for(name)
    seen = {(int(u), int(i)) for u, i in zip(train.user, train.item, strict=True)}
    per_user = np.bincount(train.user, minlength=N)
    items, scores = fitted[name].recommend(np.arange(N), k=N)
    for u in range(N):
        finite = np.isfinite(scores[u])
        assert finite.sum() == N - per_user[u]
        assert not any((u, int(i)) in seen for i in items[u][finite])
    # without exclusion seen items come back
    items_all, _ = fitted[name].recommend(np.arange(N), k=N, exclude_seen=False)
    assert all(sorted(row) == list(range(N)) for row in items_all.tolist())


@pytest.mark.parametrize("name", PERSONALISED)
def test_checkerboard_top1_is_held_out_item(name: str, fitted: dict[str, Recommender]) -> None:
    items, _ = fitted[name].recommend(np.arange(N), k=1)
    np.testing.assert_array_equal(items[:, 0], np.arange(N))


@pytest.mark.parametrize("name", list(FACTORIES))
def test_save_load_roundtrip(name: str, fitted: dict[str, Recommender], tmp_path: Path) -> None:
    model = fitted[name]
    model.save(tmp_path / name)
    assert not list((tmp_path / name).glob("*.pkl"))
    same = type(model).load(tmp_path / name)
    again = load_model(tmp_path / name)
    users = np.arange(N)
    np.testing.assert_array_equal(same.score(users), model.score(users))
    np.testing.assert_array_equal(again.score(users), model.score(users))
    np.testing.assert_array_equal(same.recommend(users, k=3)[0], model.recommend(users, k=3)[0])
    assert same.get_params() == model.get_params()


def test_load_refuses_wrong_class(fitted: dict[str, Recommender], tmp_path: Path) -> None:
    fitted["ease"].save(tmp_path / "m")
    with pytest.raises(ValueError):
        PopularityRecommender.load(tmp_path / "m")


def test_unfitted_model_raises() -> None:
    with pytest.raises(RuntimeError):
        EASE().recommend(np.array([0]))


@pytest.mark.parametrize("name", RATING)
def test_rating_models_predict_ratings(name: str, fitted: dict[str, Recommender]) -> None:
    model = fitted[name]
    users = np.arange(N)
    pred = model.predict(users, users)  # item u: the user's parity, rated 5 by the others
    assert pred.dtype == np.float32 and (pred >= 1.0).all() and (pred <= 5.0).all()
    np.testing.assert_allclose(model.score(users)[users, users], pred, rtol=1e-5)
    other = model.predict(users, users ^ 1)
    assert (pred > other).mean() == 1.0


def test_early_stopping_on_valid_restores_best() -> None:
    train = checkerboard()
    valid = train.subset(np.arange(0, len(train), 7))
    fit_part = train.subset(np.setdiff1d(np.arange(len(train)), np.arange(0, len(train), 7)))
    model = LightGCNCSR(dim=8, num_layers=2, lr=0.05, epochs=20, batch_size=32, eval_every=2,
                        patience=2)
    hist = model.fit(fit_part, valid=valid)
    assert hist.valid and 1 <= hist.best_epoch <= hist.epochs_run <= 20
    assert hist.best_valid == max(v for _, v in hist.valid)
    assert hist.metric == "ndcg@10" and hist.iterative


def test_seeded_training_is_reproducible() -> None:
    a, b = (BPRMF(dim=4, epochs=3, batch_size=16, seed=3) for _ in range(2))
    a.fit(checkerboard())
    b.fit(checkerboard())
    np.testing.assert_array_equal(a.score(np.arange(N)), b.score(np.arange(N)))


def test_negative_sampler_avoids_seen() -> None:
    train = checkerboard()
    sampler = NegativeSampler(train, seed=0)
    users = np.repeat(np.arange(N), 50)
    neg = sampler.sample(users)
    seen = train.to_csr().toarray().astype(bool)
    assert not seen[users, neg].any()


def test_sym_spmm_matches_dense_forward_and_backward() -> None:
    DEFAULT_CACHE.clear()
    adj = sym_normalise(bipartite_adjacency(checkerboard().to_csr()))
    dense = torch.tensor(adj.toarray())
    assert np.allclose(adj.toarray(), adj.toarray().T)
    x = torch.randn(2 * N, 3, requires_grad=True)
    y = sym_spmm(to_torch_csr(adj), x)
    (y * torch.arange(3.0)).sum().backward()
    assert x.grad is not None
    grad_sparse = x.grad.clone()
    x.grad = None
    (dense @ x * torch.arange(3.0)).sum().backward()
    torch.testing.assert_close(y, dense @ x)
    torch.testing.assert_close(grad_sparse, x.grad)


def test_temporal_cooccurrence_limits() -> None:
    train = checkerboard()
    x = train.to_csr().astype(np.float64)
    plain = temporal_cooccurrence(train.user, train.item, train.timestamp, N, tau=float("inf"))
    np.testing.assert_allclose(plain, (x.T @ x).toarray())
    decayed = temporal_cooccurrence(train.user, train.item, train.timestamp, N, tau=30.0)
    np.testing.assert_allclose(np.diag(decayed), np.asarray(x.sum(0)).ravel())
    assert (decayed <= plain + 1e-12).all()
    assert np.linalg.eigvalsh(decayed).min() > -1e-9  # PSD
    assert isinstance(sp.csr_matrix(decayed), sp.csr_matrix)


# ---------------------------------------------------------------- fold-in (engine refresh)
#: Models whose user side is their seen rows, so fold-in of the train history is exact.
EXACT_FOLD_IN = ["popularity", "ease", "graph_filter", "temporal_filter", "scalable_filter"]


def _rows_of(train: Interactions, users: list[int]) -> Interactions:
    """``users``' rows of ``train`` as a history over users ``0..len(users)-1``."""
    keep = np.isin(train.user, users)
    remap = {u: j for j, u in enumerate(users)}
    return Interactions(np.array([remap[int(u)] for u in train.user[keep]], dtype=np.int64),
                        train.item[keep], train.rating[keep], train.timestamp[keep],
                        len(users), train.num_items)


@pytest.mark.parametrize("name", EXACT_FOLD_IN)
def test_fold_in_of_the_train_history_scores_exactly_as_the_model(
        name: str, fitted: dict[str, Recommender]) -> None:
    model = fitted[name]
    users = [5, 0, 11]
    folded = model.fold_in(_rows_of(board_for(name), users))
    assert folded.num_users == 3 and model.num_users == N  # the model itself is untouched
    np.testing.assert_allclose(folded.score(np.arange(3)), model.score(np.array(users)),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(folded.recommend(np.arange(3), k=4)[0],
                                  model.recommend(np.array(users), k=4)[0])


@pytest.mark.parametrize("name", PERSONALISED)
def test_fold_in_recovers_the_held_out_item_after_save_and_load(
        name: str, fitted: dict[str, Recommender], tmp_path: Path) -> None:
    """What engine refresh does: load the saved run, fold the users' histories in."""
    fitted[name].save(tmp_path / name)
    model = load_model(tmp_path / name)
    users = list(range(N))
    folded = model.fold_in(_rows_of(board_for(name), users))
    items, scores = folded.recommend(np.arange(N), k=1)
    hit = np.mean(items[:, 0] == np.arange(N))
    assert hit >= 0.75, f"{name}: fold-in top-1 is the held-out item for {hit:.0%} of users"
    emb = folded.embeddings()
    if emb is not None:
        assert emb[0].shape[0] == N and np.isfinite(emb[0]).all()


@pytest.mark.parametrize("name", PERSONALISED)
def test_fold_in_personalises_a_new_user_from_three_ratings(
        name: str, fitted: dict[str, Recommender]) -> None:
    model = fitted[name]
    rated = MODELS[name].task == "rating"
    for parity in (0, 1):
        liked = [parity, parity + 2, parity + 4]
        # a rating model learns from the stars: it also sees two 1-star movies of the other parity
        disliked = [parity + 7, parity + 9] if rated else []
        items = np.array(liked + disliked, dtype=np.int64)
        stars = np.array([5.0] * 3 + [1.0] * len(disliked), np.float32)
        history = Interactions(np.zeros(len(items), np.int64), items, stars,
                               np.arange(len(items), dtype=np.int64), 1, N)
        top, _ = model.fold_in(history).recommend(np.zeros(1, np.int64), k=3)
        assert not set(top[0].tolist()) & set(items.tolist()), "a rated movie was recommended"
        assert np.mean(top[0] % 2 == parity) >= 2 / 3, f"{name}: {top[0]} for parity {parity}"


def test_fold_in_refuses_a_history_over_another_catalogue(fitted: dict[str, Recommender]) -> None:
    history = Interactions(np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1, np.float32),
                           np.zeros(1, np.int64), 1, N + 1)
    with pytest.raises(ValueError, match="items"):
        fitted["ease"].fold_in(history)
