"""Issue 30 without a database: the bundled torch sampler's disjoint and temporal modes, and
batches that do not depend on which process draws them (DataLoader workers)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import torch
from torch_geometric.data import HeteroData
from torch_geometric.loader import LinkNeighborLoader, NeighborLoader
from torch_geometric.testing import MyFeatureStore, MyGraphStore

from engine.models.hetero.sampling import TorchNeighborSampler
from engine.schema import RATED_BY, RATES

GENRE_EDGES = (("movie", "in_genre", "genre"), ("genre", "rev_in_genre", "movie"))


@pytest.fixture(autouse=True)
def _threads() -> None:
    torch.set_num_threads(1)


def timed_graph(seed: int = 0, users: int = 50, movies: int = 30, edges: int = 600) -> HeteroData:
    g = torch.Generator().manual_seed(seed)
    u = torch.randint(0, users, (edges,), generator=g)
    m = (torch.rand(edges, generator=g) ** 2 * movies).long()
    ei = torch.unique(torch.stack([u, m]), dim=1)
    ts = torch.randint(10**9, 10**9 + 10**6, (ei.shape[1],), generator=g)
    d = HeteroData()
    d["user"].x = torch.randn(users, 3, generator=g)
    d["movie"].x = torch.randn(movies, 2, generator=g)
    d["genre"].num_nodes = 4
    d[RATES].edge_index, d[RATES].timestamp = ei, ts
    d[RATED_BY].edge_index, d[RATED_BY].timestamp = ei.flip(0), ts
    gm = torch.stack([torch.arange(movies), torch.arange(movies) % 4])
    d[GENRE_EDGES[0]].edge_index, d[GENRE_EDGES[1]].edge_index = gm, gm.flip(0)
    return d


def stores(d: HeteroData) -> tuple[MyFeatureStore, MyGraphStore]:
    """PyG's reference store pair; edge times as edge-level tensors in the store's edge order."""
    fs, gs = MyFeatureStore(), MyGraphStore()
    for t in ("user", "movie"):
        fs.put_tensor(d[t].x, group_name=t, attr_name="x", index=None)
    for et in d.edge_types:
        s, _, t = et
        gs.put_edge_index(tuple(d[et].edge_index), edge_type=et, layout="coo",
                          size=(d[s].num_nodes, d[t].num_nodes))
        if "timestamp" in d[et]:
            fs.put_tensor(d[et].timestamp, group_name=et, attr_name="timestamp", index=None)
    return fs, gs


def link_loader(data: Any, label_time: torch.Tensor | None, seed: int = 0, loader: Any = None,
                **kw: Any) -> LinkNeighborLoader:
    d = timed_graph()
    torch.manual_seed(seed)
    timed = {"time_attr": "timestamp"} if label_time is not None else {}
    sampler = TorchNeighborSampler(data, [4, 3], **timed, **kw)
    return LinkNeighborLoader(data, [4, 3], edge_label_index=(RATES, d[RATES].edge_index),
                              edge_label_time=label_time, batch_size=32, shuffle=True,
                              neg_sampling="triplet", neighbor_sampler=sampler, **timed, **(loader or {}))


def test_temporal_sampling_takes_no_neighbour_later_than_its_seed() -> None:
    d = timed_graph()
    label_time = d[RATES].timestamp - 1  # strictly earlier than the seed edge
    for strategy in ("uniform", "last"):
        for batch in link_loader(d, label_time, temporal_strategy=strategy):
            seed_time = label_time[batch[RATES].input_id]
            for et in (RATES, RATED_BY):
                ei = batch[et].edge_index
                root = batch[et[2]].batch[ei[1]]
                assert torch.equal(root, batch[et[0]].batch[ei[0]])  # one subgraph per edge
                assert bool((d[et].timestamp[batch[et].e_id] <= seed_time[root]).all()), (strategy, et)
                assert torch.equal(batch[et].timestamp, d[et].timestamp[batch[et].e_id])


def test_last_takes_the_most_recent_allowed_neighbours() -> None:
    d = timed_graph()
    far = torch.full_like(d[RATES].timestamp, 2 * 10**9)  # every edge allowed
    batch = next(iter(link_loader(d, far, temporal_strategy="last")))
    et = RATED_BY  # movie -> user: the seed users' first-hop neighbours
    ei, times = batch[et].edge_index, d[et].timestamp
    for dst in ei[1].unique()[:10]:
        user = int(batch["user"].n_id[dst])
        picked = times[batch[et].e_id[ei[1] == dst]].sort().values
        all_times = times[d[et].edge_index[1] == user].sort().values
        assert torch.equal(picked, all_times[-picked.numel():])


def test_disjoint_without_time_grows_one_subgraph_per_seed() -> None:
    d = timed_graph()
    torch.manual_seed(0)
    seeds = torch.tensor([1, 1, 7])
    loader = NeighborLoader(d, [3, 2], input_nodes=("user", seeds), batch_size=3,
                            neighbor_sampler=TorchNeighborSampler(d, [3, 2], disjoint=True))
    batch = next(iter(loader))
    assert torch.equal(batch["user"].n_id[:3], seeds)
    assert torch.equal(batch["user"].batch[:3], torch.arange(3))
    for et in batch.edge_types:
        ei = batch[et].edge_index
        assert torch.equal(batch[et[0]].batch[ei[0]], batch[et[2]].batch[ei[1]])
    for t in batch.node_types:
        key = batch[t].batch * 1000 + batch[t].n_id
        assert key.unique().numel() == key.numel()


def test_the_same_temporal_batches_from_heterodata_and_from_stores() -> None:
    d = timed_graph()
    label_time = d[RATES].timestamp
    a = next(iter(link_loader(d, label_time, seed=3)))
    b = next(iter(link_loader(stores(d), label_time, seed=3)))
    for t in ("user", "movie"):
        assert torch.equal(a[t].n_id, b[t].n_id) and torch.equal(a[t].batch, b[t].batch)
    for et in (RATES, RATED_BY):
        assert torch.equal(a[et].edge_index, b[et].edge_index)
        assert torch.equal(a[et].e_id, b[et].e_id)  # e_id: the store's own edge order


def test_a_batch_does_not_depend_on_the_global_rng_or_on_batch_order() -> None:
    d = timed_graph()
    loader = link_loader(d, None, seed=5)
    index = torch.arange(40, 72)
    torch.manual_seed(123)
    first = loader(index)
    torch.rand(1000)  # other draws in between (another worker's batches)
    loader(torch.arange(0, 32))
    again = loader(index)
    for t in first.node_types:
        assert torch.equal(first[t].n_id, again[t].n_id)
    assert torch.equal(first["movie"].dst_neg_index, again["movie"].dst_neg_index)  # negatives too
    other = link_loader(d, None, seed=6)(index)  # another base seed: other draws
    assert not all(torch.equal(first[t].n_id, other[t].n_id) for t in ("user", "movie"))


@pytest.mark.parametrize("persistent", [False, True])
def test_two_forked_workers_give_the_batches_of_one_process(persistent: bool) -> None:
    d = timed_graph()
    ref = list(link_loader(d, None, seed=9))
    got = list(link_loader(d, None, seed=9, loader={"num_workers": 2, "persistent_workers": persistent,
                                                    "multiprocessing_context": "fork"}))
    assert len(ref) == len(got) > 2
    for a, b in zip(ref, got, strict=True):
        for t in a.node_types:
            assert torch.equal(a[t].n_id, b[t].n_id)
        for et in a.edge_types:
            assert torch.equal(a[et].edge_index, b[et].edge_index)


def test_the_sampler_pickles_and_rejects_what_it_cannot_do() -> None:
    d = timed_graph()
    sampler = TorchNeighborSampler(d, [2], time_attr="timestamp")
    back = pickle.loads(pickle.dumps(sampler))
    assert back.base_seed == sampler.base_seed and back.is_temporal and back.disjoint
    with pytest.raises(ValueError, match="neither"):
        TorchNeighborSampler(d, [2], time_attr="nope")
    with pytest.raises(ValueError, match="temporal_strategy"):
        TorchNeighborSampler(d, [2], time_attr="timestamp", temporal_strategy="recent")
    with pytest.raises(NotImplementedError, match="pyg-lib"):
        loader = NeighborLoader(d, [2], input_nodes=("user", torch.arange(4)), batch_size=4,
                                neighbor_sampler=TorchNeighborSampler(d, [2], replace=True))
        next(iter(loader))
    timed = TorchNeighborSampler(d, [2], time_attr="timestamp")  # edge time: seeds need times
    with pytest.raises(ValueError, match="input_time"):
        next(iter(NeighborLoader(d, [2], input_nodes=("user", torch.arange(4)), batch_size=4,
                                 time_attr="timestamp", neighbor_sampler=timed)))
