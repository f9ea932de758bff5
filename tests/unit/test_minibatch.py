"""Mini-batch GNNs the PyG way (issue 14), without a database.

* the torch neighbour sampler behind PyG's stock loaders: real edges only, at most
  ``fanout`` in-edges per node and hop, no edge twice, reproducible from the seed, and the
  same batch from a ``HeteroData`` as from a ``(FeatureStore, GraphStore)`` pair holding it;
* chunked layer-wise inference equals the full-graph forward pass (so full-catalogue
  scoring never needs the whole graph in one step);
* mini-batch training (BPR and BCE) learns the checkerboard, honours its edge budget, and
  small graphs keep the full-graph path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch_geometric.data import HeteroData
from torch_geometric.loader import LinkNeighborLoader, NeighborLoader
from torch_geometric.sampler import NegativeSampling
from torch_geometric.testing import MyFeatureStore, MyGraphStore

from engine.errors import ParameterError
from engine.models.hetero.gat import HeteroGATRecommender
from engine.models.hetero.inputs import prepare_graph
from engine.models.hetero.minibatch import layerwise_states, parse_fanouts
from engine.models.hetero.rating import HeteroSAGERatingModel
from engine.models.hetero.sage import HeteroSAGERecommender
from engine.models.hetero.sampling import (
    TorchNeighborSampler,
    draw_without_replacement,
    neighbor_sampler,
)
from engine.schema import RATES
from tests.unit.test_hetero_models import FAST, N_USERS, checkerboard, toy_graph


@pytest.fixture(autouse=True)
def _threads() -> None:
    torch.set_num_threads(1)


def random_graph(seed: int = 0, users: int = 60, movies: int = 40, edges: int = 700) -> HeteroData:
    """A prepared-style hetero graph with skewed degrees (some nodes above any fanout)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randint(0, users, (edges,), generator=g)
    m = (torch.rand(edges, generator=g) ** 2 * movies).long()  # popular movies: high degree
    ei = torch.unique(torch.stack([u, m]), dim=1)
    d = HeteroData()
    d["user"].x = torch.randn(users, 3, generator=g)
    d["movie"].x = torch.randn(movies, 2, generator=g)
    d["genre"].num_nodes = 4
    d["user", "rated", "movie"].edge_index = ei
    d["user", "rated", "movie"].edge_attr = torch.randn(ei.shape[1], 1, generator=g)
    d["movie", "rev_rated", "user"].edge_index = ei.flip(0)
    gm = torch.stack([torch.arange(movies), torch.arange(movies) % 4])
    d["movie", "in_genre", "genre"].edge_index = gm
    d["genre", "rev_in_genre", "movie"].edge_index = gm.flip(0)
    return d


def as_stores(d: HeteroData) -> tuple[MyFeatureStore, MyGraphStore]:
    """PyG's reference in-memory store pair holding ``d``."""
    fs, gs = MyFeatureStore(), MyGraphStore()
    for t in ("user", "movie"):
        fs.put_tensor(d[t].x, group_name=t, attr_name="x", index=None)
    for et in d.edge_types:
        s, _, t = et
        gs.put_edge_index(tuple(d[et].edge_index), edge_type=et, layout="coo",
                          size=(d[s].num_nodes, d[t].num_nodes))
    return fs, gs


def test_draw_without_replacement_is_distinct_and_in_range() -> None:
    torch.manual_seed(0)
    deg = torch.tensor([5, 9, 100, 5])
    picks = draw_without_replacement(deg, 5)
    assert picks.shape == (4, 5)
    for row, d in zip(picks, deg, strict=True):
        assert len(set(row.tolist())) == 5 and int(row.min()) >= 0 and int(row.max()) < int(d)
    assert sorted(picks[0].tolist()) == [0, 1, 2, 3, 4]  # deg == k: every neighbour
    # roughly uniform: each of 10 offsets drawn about 30% of the time when picking 3
    counts = np.bincount(draw_without_replacement(torch.full((4000,), 10), 3).reshape(-1), minlength=10)
    assert counts.min() > 0.25 * 4000 and counts.max() < 0.35 * 4000


def test_sampled_batches_hold_real_edges_within_the_fanout() -> None:
    d = random_graph()
    fanouts = [4, 3]
    nn_ = {et: fanouts for et in d.edge_types}
    torch.manual_seed(1)
    loader = NeighborLoader(d, nn_, input_nodes=("user", torch.arange(20)), batch_size=10,
                            neighbor_sampler=neighbor_sampler(d, nn_))
    real = {et: set(map(tuple, d[et].edge_index.t().tolist())) for et in d.edge_types}
    for batch in loader:
        for et in batch.edge_types:
            s, _, t = et
            ei = batch[et].edge_index
            glob = torch.stack([batch[s].n_id[ei[0]], batch[t].n_id[ei[1]]])
            pairs = list(map(tuple, glob.t().tolist()))
            assert set(pairs) <= real[et], et
            assert len(pairs) == len(set(pairs)), f"{et}: an edge sampled twice"
            assert torch.equal(d[et].edge_index[:, batch[et].e_id], glob)  # e_id points at it
            per_hop = batch[et].num_sampled_edges
            assert sum(per_hop) == ei.shape[1]
            if ei.shape[1]:  # no destination gets more than the fanout in one hop
                assert int(torch.bincount(ei[1]).max()) <= max(fanouts)  # one hop per node
        assert torch.equal(batch["user"].x, d["user"].x[batch["user"].n_id])
        assert torch.equal(batch["user"].n_id[:batch["user"].batch_size],
                           batch["user"].input_id)


def _batch(source: Any, seed: int, link: bool) -> HeteroData:
    nn_ = {et: [5, 3] for et in random_graph().edge_types}
    torch.manual_seed(seed)
    sampler = TorchNeighborSampler(source, nn_)  # the same sampler for both kinds of source
    if link:
        ei = random_graph()[RATES].edge_index
        loader = LinkNeighborLoader(source, nn_, edge_label_index=(RATES, ei), batch_size=32,
                                    shuffle=True, neg_sampling=NegativeSampling("triplet"),
                                    neighbor_sampler=sampler)
    else:
        loader = NeighborLoader(source, nn_, input_nodes=("user", torch.arange(60)), batch_size=16,
                                shuffle=True, neighbor_sampler=sampler)
    return next(iter(loader))


@pytest.mark.parametrize("link", [False, True], ids=["NeighborLoader", "LinkNeighborLoader"])
def test_same_seed_same_batch_from_heterodata_and_from_stores(link: bool) -> None:
    d = random_graph()
    a, b = _batch(d, 7, link), _batch(as_stores(d), 7, link)
    again = _batch(d, 7, link)
    other = _batch(d, 8, link)
    for t in ("user", "movie", "genre"):
        assert torch.equal(a[t].n_id, b[t].n_id), t
        assert torch.equal(a[t].n_id, again[t].n_id), t
    assert not torch.equal(a["movie"].n_id, other["movie"].n_id) or \
        not torch.equal(a["user"].n_id, other["user"].n_id)
    for t in ("user", "movie"):
        assert torch.equal(a[t].x, b[t].x)
    for et in d.edge_types:
        assert torch.equal(a[et].edge_index, b[et].edge_index), et


@pytest.mark.parametrize("cls", [HeteroSAGERecommender, HeteroGATRecommender])
@pytest.mark.parametrize(("chunk", "edge_chunk"), [(3, 10**6), (7, 10**6), (1000, 10**6), (1000, 25)])
def test_chunked_layerwise_inference_equals_the_full_graph_pass(cls, chunk: int, edge_chunk: int) -> None:
    train, _ = checkerboard()
    model = cls(**{**FAST, "epochs": 3}, minibatch=False)
    model.fit(train, None, toy_graph(train))
    assert model.module is not None
    full_users, full_movies = model.user_emb, model.item_emb  # the full-graph forward pass
    states = layerwise_states(model.module.encoder, prepare_graph(train, toy_graph(train)),
                              chunk=chunk, edge_chunk=edge_chunk)
    np.testing.assert_allclose(states["user"].numpy(), full_users, atol=1e-5)
    np.testing.assert_allclose(states["movie"].numpy(), full_movies, atol=1e-5)
    users = np.arange(N_USERS)
    chunked = states["user"].numpy()[users] @ states["movie"].numpy().T
    np.testing.assert_allclose(chunked, model.score(users), atol=1e-4)
    assert (np.argsort(-chunked, 1)[:, :3] == np.argsort(-model.score(users), 1)[:, :3]).mean() > 0.95


@pytest.mark.parametrize(("cls", "kw"), [
    (HeteroSAGERecommender, {"loss": "bpr"}),
    (HeteroSAGERecommender, {"loss": "bce"}),
    (HeteroGATRecommender, {"loss": "bpr"}),
], ids=["sage-bpr", "sage-bce", "gat-bpr"])
def test_minibatch_training_learns_the_checkerboard(cls, kw: dict[str, Any]) -> None:
    train, held = checkerboard()
    model = cls(**FAST, **kw, minibatch=True, fanouts="5,5")
    history = model.fit(train, None, toy_graph(train))
    assert history.info["edges_trained"] == history.epochs_run * len(train)
    items, _ = model.recommend(np.arange(N_USERS), k=3)
    assert (items[:, 0] == held.item).mean() >= 0.9


def test_edge_budget_and_epoch_edges_bound_the_run() -> None:
    train, _ = checkerboard()
    model = HeteroSAGERecommender(**{**FAST, "epochs": 50}, minibatch=True, epoch_edges=100,
                                  max_edges=450)
    history = model.fit(train, None, toy_graph(train))
    assert history.epochs_run == 5  # ceil(450 / 100), the last one with what is left
    assert history.info["edges_trained"] == 450
    one = HeteroSAGERecommender(**{**FAST, "epochs": 50}, minibatch=True, max_edges=150)
    assert one.fit(train, None, toy_graph(train)).info["edges_trained"] == 150  # within an epoch


def test_the_training_loader_pairs_each_positive_with_an_unrated_negative() -> None:
    from engine.data.hetero import rated_pairs
    from engine.models.hetero.minibatch import Sampling, link_loader
    from engine.models.losses import NegativeSampler

    train, _ = checkerboard()
    graph = prepare_graph(train, toy_graph(train))
    users, movies, _ = rated_pairs(train)
    seen = set(zip(users.tolist(), movies.tolist(), strict=True))
    loader = link_loader(graph, (users, movies), NegativeSampler(train, seed=1),
                         Sampling(fanouts=(5, 5)), batch_size=16, seed=0)
    positives = []
    for batch in loader:
        eli, label = batch[RATES].edge_label_index, batch[RATES].edge_label
        u = batch["user"].n_id[eli[0]]
        m = batch["movie"].n_id[eli[1]]
        assert torch.equal(label, torch.tensor([1.0, 0.0]).repeat(len(label) // 2))
        assert torch.equal(u[0::2], u[1::2])  # (u, p), (u, n): one user per triplet
        for a, p, n in zip(u[0::2].tolist(), m[0::2].tolist(), m[1::2].tolist(), strict=True):
            assert (a, p) in seen and (a, n) not in seen
            positives.append((a, p))
    assert sorted(positives) == sorted(seen)  # every train pair once per epoch


def test_fanouts_must_match_the_layers() -> None:
    train, _ = checkerboard()
    model = HeteroSAGERecommender(**FAST, num_layers=3, minibatch=True, fanouts="10,5")
    with pytest.raises(ParameterError, match="one per layer"):
        model.fit(train, None, toy_graph(train))


def test_small_graphs_keep_the_full_graph_path() -> None:
    train, _ = checkerboard()
    auto = HeteroSAGERecommender(**FAST)
    assert not auto.uses_minibatch(train, toy_graph(train))
    assert auto.uses_minibatch(train, as_stores(random_graph()))  # a store pair samples
    auto.fit(train, None, toy_graph(train))
    assert "edges_trained" not in auto.fit(train, None, None).info


def test_sampling_parameters_fail_with_the_name() -> None:
    assert parse_fanouts("10,5") == (10, 5) and parse_fanouts([15]) == (15,)
    assert parse_fanouts(-1) == (-1,)
    for bad in ("10,x", "0", "-2", ""):
        with pytest.raises(ParameterError, match="fanouts"):
            HeteroSAGERecommender(fanouts=bad)
    with pytest.raises(ParameterError, match="loss"):
        HeteroSAGERecommender(loss="mse")
    with pytest.raises(ParameterError, match="minibatch"):
        HeteroGATRecommender(minibatch="sometimes")


def test_models_without_store_support_refuse_a_store_pair() -> None:
    train, _ = checkerboard()
    with pytest.raises(ParameterError, match="in-memory"):
        HeteroSAGERatingModel(epochs=1).fit(train, None, as_stores(random_graph()))
    assert HeteroSAGERecommender.reads_stores and not HeteroSAGERatingModel.reads_stores


def test_inference_chunks_bound_rows_and_edges() -> None:
    from engine.models.hetero.minibatch import _chunks, inference_inputs

    d = random_graph()
    _, csc, _ = inference_inputs(d)
    for t, n in (("movie", 40), ("user", 60)):
        ranges = _chunks(csc, t, n, rows=8, edges=30)
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
        indeg = sum(c[1].diff() for (_, _, dst), c in csc.items() if dst == t)
        for lo, hi in ranges:
            assert hi - lo <= 8
            assert hi - lo == 1 or int(indeg[lo:hi].sum()) <= 30
