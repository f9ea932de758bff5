"""Issues 14 and 30 on a real Neo4j: the Neo4j-backed PyG FeatureStore / GraphStore.

One graph for the module (ml-latest-small). PyG's stock ``NeighborLoader`` and
``LinkNeighborLoader`` take the ``(Neo4jFeatureStore, Neo4jGraphStore)`` pair; with one seed
a batch drawn from it equals one drawn from the in-memory ``HeteroData`` the engine builds
for the same train split (node ids, edge indices, features fetched from Neo4j, edge
attributes). Held-out ratings stay out of the store's topology; a missing edge type,
attribute or node property is one clear line. The README's "your own PyG code" block runs
as written, and ``engine train --model hetero_sage --store neo4j`` trains mini-batch through
the store, writes back and beats popularity on validation.

Issue 30, written from PyG's documented ``FeatureStore`` / loader interface: the stores
pickle and DataLoader workers (``fork``, ``spawn``, persistent) give the batches of
``num_workers=0``; every index kind, dtype and shape; genres; only existing attributes
listed; edge time for temporal sampling that never looks ahead; disjoint subgraphs.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch_geometric.data import EdgeAttr, TensorAttr
from torch_geometric.loader import LinkNeighborLoader, NeighborLoader
from torch_geometric.sampler import NegativeSampling

from engine.data.splits import per_user_random
from engine.graphdb import Runner
from engine.graphdb.export import export_subgraph
from engine.graphdb.pyg_store import Neo4jFeatureStore, Neo4jGraphStore, StoreError, connect
from engine.jobs.stores import neo4j_graph_for
from engine.models.hetero.inputs import prepare_graph
from engine.models.hetero.sampling import TorchNeighborSampler, neighbor_sampler
from engine.schema import HAS_MOVIE, IN_GENRE, RATED_BY, RATES
from engine.settings import Neo4jSettings
from engine.training.selection import training_graph
from loader import bundled_dataset, read_movielens
from loader.ingest import load_dataset
from tests.integration._cli import engine
from tests.integration._writeback import assert_written_back, count

ROOT = Path(__file__).resolve().parents[2]


def _wipe(driver: Any) -> None:
    with driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture(scope="module")
def small(neo4j_server, driver):  # type: ignore[no-untyped-def]
    if not neo4j_server.owned and os.environ.get("REELGRAPH_TEST_ALLOW_WIPE") != "1":
        pytest.fail("refusing to wipe an external server: set REELGRAPH_TEST_ALLOW_WIPE=1")
    _wipe(driver)
    load_dataset(Runner(driver), read_movielens(bundled_dataset()), progress=False)
    export = export_subgraph(driver, progress=False)
    split = per_user_random(export.interactions, test_ratio=0.2, seed=3)
    yield export, split
    _wipe(driver)


@pytest.fixture(scope="module")
def pair(small, driver):  # type: ignore[no-untyped-def]
    """The job's own path: features fitted on the split's train written to Neo4j, then the stores."""
    export, split = small
    return neo4j_graph_for(driver, export)(split.train)


def _batches(source: Any, link: bool, seed: int, edge_index: torch.Tensor, n: int = 2) -> list[Any]:
    nn_ = {et: [10, 5] for et in (RATES, RATED_BY, ("movie", "in_genre", "genre"),
                                  ("genre", "rev_in_genre", "movie"))}
    torch.manual_seed(seed)
    sampler = TorchNeighborSampler(source, nn_)  # one sampler for both kinds of source
    if link:
        loader: Any = LinkNeighborLoader(
            source, nn_, edge_label_index=(RATES, edge_index), batch_size=128, shuffle=True,
            neg_sampling=NegativeSampling("triplet"), neighbor_sampler=sampler)
    else:
        loader = NeighborLoader(source, nn_, input_nodes=("user", torch.arange(200)), batch_size=64,
                                shuffle=True, neighbor_sampler=sampler)
    out = []
    for batch, _ in zip(loader, range(n), strict=False):
        out.append(batch)
    return out


@pytest.mark.parametrize("link", [False, True], ids=["NeighborLoader", "LinkNeighborLoader"])
def test_a_batch_from_neo4j_equals_one_from_heterodata(small, pair, link: bool) -> None:  # type: ignore[no-untyped-def]
    export, split = small
    memory = prepare_graph(split.train, training_graph(export, split.train))
    fs, gs = pair
    label = memory[RATES].edge_index
    fetches = fs.fetches
    for a, b in zip(_batches(memory, link, 11, label), _batches(pair, link, 11, label), strict=True):
        for t in ("user", "movie", "genre"):
            assert torch.equal(a[t].n_id, b[t].n_id), t
        assert torch.equal(a["user"].x, b["user"].x)  # fetched from Neo4j for this batch only
        assert torch.equal(a["movie"].x, b["movie"].x)
        assert b["movie"].x.shape[0] == b["movie"].n_id.numel() < export.idmap.num_movies
        for et in memory.edge_types:
            assert torch.equal(a[et].edge_index, b[et].edge_index), et
        for et in (RATES, RATED_BY):
            assert torch.equal(a[et].edge_attr, gs.edge_attr(et)[b[et].e_id]), et
        if link:
            assert torch.equal(a["user"].src_index, b["user"].src_index)
            assert torch.equal(a["movie"].dst_neg_index, b["movie"].dst_neg_index)
    assert fs.fetches > fetches  # features came from the server, per batch


def test_held_out_ratings_stay_out_of_the_store(small, pair) -> None:  # type: ignore[no-untyped-def]
    export, split = small
    _, gs = pair
    row, col = gs.get_edge_index(EdgeAttr(RATES, "coo", size=None))
    stored = set((row * export.idmap.num_movies + col).tolist())
    held = set((split.test.user * export.idmap.num_movies + split.test.item).tolist())
    train = set((split.train.user * export.idmap.num_movies + split.train.item).tolist())
    assert stored == train and not stored & held


def test_missing_edge_types_attributes_and_properties_are_one_line(small, driver) -> None:  # type: ignore[no-untyped-def]
    export, split = small
    gs = Neo4jGraphStore.from_export(export, split.train)
    with pytest.raises(StoreError, match=r"no edge type \('user', 'tagged', 'movie'\)"):
        gs.get_edge_index(EdgeAttr(("user", "tagged", "movie"), "coo"))
    with pytest.raises(StoreError, match="no edge attribute"):
        gs.edge_attr(("movie", "in_genre", "genre"))
    fs = Neo4jFeatureStore(driver, export.idmap, attrs={("movie", "x"): "noSuchProperty"})
    with pytest.raises(StoreError, match="user.x"):
        fs.get_tensor(TensorAttr("user", "x", torch.arange(3)))
    with pytest.raises(StoreError, match="noSuchProperty") as err:
        fs.get_tensor(TensorAttr("movie", "x", torch.arange(3)))
    assert "\n" not in str(err.value)
    with pytest.raises(StoreError, match="tag"):  # genres have features since issue 30
        Neo4jFeatureStore(driver, export.idmap, attrs={("tag", "x"): "x"})


def test_feature_requests_with_repeats_and_none(small, pair) -> None:  # type: ignore[no-untyped-def]
    fs, _ = pair
    x = fs.get_tensor(TensorAttr("movie", "x", torch.tensor([5, 3, 5, 0])))
    single = [fs.get_tensor(TensorAttr("movie", "x", torch.tensor([i]))) for i in (5, 3, 0)]
    assert torch.equal(x, torch.cat([single[0], single[1], single[0], single[2]]))
    assert fs.get_tensor(TensorAttr("movie", "x", torch.zeros(0, dtype=torch.long))).shape[0] == 0


def test_the_readme_pyg_example_runs(small, neo4j_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- pyg-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "README lost its PyG example block"
    script = tmp_path / "example.py"
    script.write_text(match.group(1))
    env = {**os.environ, "NEO4J_URI": neo4j_server.settings.uri,
           "NEO4J_PASSWORD": neo4j_server.settings.password or "", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-W", "ignore", str(script)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    losses = [float(v) for v in re.findall(r"BPR loss ([0-9.]+)", done.stdout)]
    assert len(losses) == 3 and all(np.isfinite(losses)), done.stdout


def test_engine_train_hetero_sage_minibatch_through_the_neo4j_store(  # type: ignore[no-untyped-def]
        small, neo4j_server, driver, tmp_path) -> None:
    runs = tmp_path / "runs"
    result = engine(neo4j_server.settings, "train", "--model", "hetero_sage", "--store", "neo4j",
                    "--param", "epochs=12", "--param", "eval_every=3", "--top-k", "10",
                    "--no-progress", "--out", str(runs), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    config = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    assert config["model"] == "hetero_sage" and config["graphStore"] == "neo4j"
    assert history["info"]["edges_trained"] > 0  # it trained on sampled mini-batches
    gate = metrics["gate"]
    assert gate["passed"] and metrics["valid"]["ndcg@10"] > gate["baselineValue"], gate
    users = count(driver, "MATCH (u:User) RETURN count(u) AS n")
    assert_written_back(driver, config["runId"], users=users, k=10)
    assert count(driver, "MATCH (m:Movie) WHERE m.trainFeatures IS NOT NULL RETURN count(m) AS n") > 9000


def test_hetero_gat_trains_through_the_store_with_rating_attention(small, pair) -> None:  # type: ignore[no-untyped-def]
    from engine.models.hetero import minibatch
    from engine.models.hetero.gat import HeteroGATRecommender

    export, split = small
    model = HeteroGATRecommender(dim=16, heads=2, epochs=1, batch_size=8192, minibatch=True,
                                 epoch_edges=20_000)
    seen_attrs: list[bool] = []
    attach = minibatch._attach_edge_attr

    def spy(source: Any, batch: Any) -> None:
        attach(source, batch)
        seen_attrs.append("edge_attr" in batch[RATES] and "edge_attr" in batch[RATED_BY])

    minibatch._attach_edge_attr = spy
    try:
        history = model.fit(split.train, None, pair)
    finally:
        minibatch._attach_edge_attr = attach
    assert seen_attrs and all(seen_attrs)  # the ratings the attention reads came from the store
    assert history.info["edges_trained"] == 20_000
    assert model.user_emb.shape == (export.idmap.num_users, 16)
    assert np.isfinite(model.item_emb).all()
    items, _ = model.recommend(np.arange(5), k=10)
    seen = split.train.to_csr()
    assert not any(seen[u, items[u]].toarray().any() for u in range(5))


# ------------------------------------------------------------------ issue 30: PyG conventions
@pytest.fixture(scope="module")
def spair(pair, neo4j_server):  # type: ignore[no-untyped-def]
    """The pair as a PyG user builds it for workers: from settings (trainFeatures written by ``pair``)."""
    fs, gs = connect(neo4j_server.settings)
    yield fs, gs
    fs.close()


def _names(fs: Any) -> set[tuple[Any, str]]:
    return {(a.group_name, a.attr_name) for a in fs.get_all_tensor_attrs()}


def _loader(data: Any, link: bool, workers: int = 0, **kw: Any) -> Any:
    torch.manual_seed(21)  # decides the shuffle and the sampler's base seed
    nn_ = [6, 3]
    sampler = neighbor_sampler(data, nn_)
    if workers:
        kw["num_workers"] = workers
    if link:
        label = torch.stack(data[1].get_edge_index(EdgeAttr(RATES, "coo")))
        return LinkNeighborLoader(data, nn_, edge_label_index=(RATES, label), batch_size=256,
                                  shuffle=True, neg_sampling="triplet", neighbor_sampler=sampler, **kw)
    return NeighborLoader(data, nn_, input_nodes=("user", torch.arange(400)), batch_size=64,
                          shuffle=True, neighbor_sampler=sampler, **kw)


def _first(loader: Any, n: int = 4) -> list[Any]:
    return [b for b, _ in zip(loader, range(n), strict=False)]


def _assert_same_batch(a: Any, b: Any) -> None:
    assert set(a.node_types) == set(b.node_types) and set(a.edge_types) == set(b.edge_types)
    for t in a.node_types:
        assert torch.equal(a[t].n_id, b[t].n_id), t
        for key in ("x", "src_index", "dst_pos_index", "dst_neg_index", "input_id"):
            if key in a[t]:
                assert torch.equal(a[t][key], b[t][key]), (t, key)
    for et in a.edge_types:
        assert torch.equal(a[et].edge_index, b[et].edge_index), et
        assert torch.equal(a[et].e_id, b[et].e_id), et


def _input_index(batch: Any, link: bool) -> torch.Tensor:
    return batch[RATES].input_id if link else batch["user"].input_id


def test_the_stores_pickle_with_settings_and_no_driver(spair, neo4j_server) -> None:  # type: ignore[no-untyped-def]
    fs, gs = spair
    blob = pickle.dumps((fs, gs))
    assert b"bolt" in blob  # the URI travels (in the settings) ...
    state = fs.handle.__getstate__()
    assert set(state) == {"settings", "database"} and isinstance(state["settings"], Neo4jSettings)
    fs2, gs2 = pickle.loads(blob)
    assert fs2.handle._driver is None  # ... a driver does not: opened on first use
    idx = torch.tensor([3, 1, 4, 1])
    assert torch.equal(fs2.get_tensor("movie", "x", idx), fs.get_tensor("movie", "x", idx))
    assert fs2.handle.owns_driver and fs2.handle._driver is not fs.handle._driver
    assert torch.equal(gs2.edge_time(RATES), gs.edge_time(RATES))
    fs2.close()


@pytest.mark.parametrize(("link", "context", "persistent"), [
    (False, "fork", False), (True, "fork", True), (True, "spawn", True),
], ids=["NeighborLoader-fork", "LinkNeighborLoader-fork-persistent", "LinkNeighborLoader-spawn-persistent"])
def test_two_workers_give_the_batches_of_one_process(spair, link: bool, context: str,  # type: ignore[no-untyped-def]
                                                     persistent: bool) -> None:
    ref = _first(_loader(spair, link))
    workers = _loader(spair, link, 2, multiprocessing_context=context, persistent_workers=persistent,
                      timeout=120)
    got = _first(workers)
    for a, b in zip(ref, got, strict=True):  # the same shuffle, the same draws, the same features
        _assert_same_batch(a, b)
    if persistent:  # a second epoch on the same workers (and drivers): each batch is the one
        in_process = _loader(spair, link)  # this process draws for the same input ids
        for b in _first(workers):
            _assert_same_batch(in_process(_input_index(b, link)), b)
    fs, _ = spair  # the parent's driver was left alone: it still answers
    assert fs.get_tensor("user", "x", torch.arange(3)).shape[0] == 3


def test_a_store_on_a_bare_driver_connects_its_workers_from_the_environment(  # type: ignore[no-untyped-def]
        pair, neo4j_server, monkeypatch) -> None:
    settings = neo4j_server.settings
    monkeypatch.setenv("NEO4J_URI", settings.uri)
    monkeypatch.setenv("NEO4J_USER", settings.user)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.password or "")
    ref = _first(_loader(pair, True), 3)
    got = _first(_loader(pair, True, 2, multiprocessing_context="fork", timeout=120), 3)
    for a, b in zip(ref, got, strict=True):
        _assert_same_batch(a, b)
    assert pair[0].get_tensor("movie", "x", torch.arange(2)).shape[0] == 2  # the parent's driver works


def test_every_pyg_index_kind(spair) -> None:  # type: ignore[no-untyped-def]
    fs, gs = spair
    n = gs.sizes["movie"]
    x = fs.get_tensor("movie", "x", None)
    assert x.shape == (n, fs.get_tensor_size("movie", "x")[1]) and x.dtype == torch.float32
    mask = torch.zeros(n, dtype=torch.bool)
    mask[[0, 5, n - 1]] = True
    cases: list[tuple[Any, torch.Tensor]] = [
        (mask, x[mask]), (mask.numpy(), x[mask]), (7, x[7]), (-1, x[-1]), (torch.tensor(7), x[7]),
        (slice(None), x), (slice(10, 40, 7), x[10:40:7]), (slice(-3, None), x[-3:]),
        (torch.tensor([4, 2, 4]), x[[4, 2, 4]]), (np.array([4, 2, 4]), x[[4, 2, 4]]),
        (np.array([[1, 2], [3, 1]]), x[torch.tensor([[1, 2], [3, 1]])]), ([9, 8], x[[9, 8]]),
        (torch.zeros(0, dtype=torch.long), x[:0]), (np.zeros(0, dtype=np.int64), x[:0]),
    ]
    for index, want in cases:
        got = fs.get_tensor("movie", "x", index)
        assert got.shape == want.shape and torch.equal(got, want), type(index)
        assert fs.get_tensor_size("movie", "x", index) == tuple(want.shape), type(index)
    assert fs.get_tensor(TensorAttr("movie", "x", np.array([4, 2]))).shape[0] == 2  # PyG's own attr
    assert isinstance(fs.get_tensor("movie", "x", np.array([1, 2]), convert_type=True), np.ndarray)
    fresh = Neo4jFeatureStore(fs.handle, fs.idmap)  # nothing known yet: the width from the graph
    assert fresh.get_tensor("movie", "x", torch.zeros(0, dtype=torch.long)).shape == (0, x.shape[1])
    for bad in (torch.tensor([n]), torch.zeros(3, dtype=torch.bool), torch.tensor([0.5])):
        with pytest.raises(StoreError) as err:
            fs.get_tensor("movie", "x", bad)
        assert "\n" not in str(err.value)


def test_get_tensor_size_follows_the_index_and_is_none_when_missing(spair) -> None:  # type: ignore[no-untyped-def]
    fs, gs = spair
    width = fs.get_tensor("user", "x", torch.arange(1)).shape[1]
    assert fs.get_tensor_size("user", "x") == (gs.sizes["user"], width)
    assert fs.get_tensor_size("user", "x", torch.arange(5)) == (5, width)
    assert fs.get_tensor_size("user", "x", 3) == (width,)
    assert fs.get_tensor_size("user", "noSuchAttr") is None
    assert fs.get_tensor_size("tag", "x") is None
    assert fs.get_tensor_size(RATES, "timestamp") == (gs.edge_time(RATES).numel(),)
    assert fs.get_tensor_size("genre", "x") == (gs.sizes["genre"], gs.sizes["genre"])


def test_dtypes_and_shapes_round_trip(spair, neo4j_server) -> None:  # type: ignore[no-untyped-def]
    fs, gs = spair
    n = gs.sizes["movie"]
    first_rated = torch.full((n,), 2**40, dtype=torch.int64)  # epoch seconds: no float rounding
    row, col = gs.get_edge_index(EdgeAttr(RATES, "coo"))
    first_rated.scatter_reduce_(0, col, gs.edge_time(RATES), reduce="amin")
    g = torch.Generator().manual_seed(0)
    tensors = {"firstRated": first_rated, "flag": torch.rand(n, generator=g) > 0.5,
               "exact": torch.randn(n, 3, generator=g, dtype=torch.float64),
               "cube": torch.randn(n, 2, 3, generator=g),
               "small": torch.randint(-9, 9, (n, 2), generator=g).to(torch.int16),
               "half": torch.randn(n, 2, generator=g).to(torch.float16)}
    try:
        for name, t in tensors.items():
            fs.put_tensor(t, group_name="movie", attr_name=name, index=None)
            back = fs.get_tensor("movie", name, None)
            assert back.dtype == t.dtype and back.shape == t.shape and torch.equal(back, t), name
            assert torch.equal(fs.get_tensor("movie", name, torch.tensor([2, 0])), t[[2, 0]]), name
        # a store that did not write them reads integers as int64 [N], floats as float32
        reader, _ = connect(neo4j_server.settings, attrs={("movie", k): k for k in tensors})
        assert torch.equal(reader.get_tensor("movie", "firstRated", None), first_rated)
        assert reader.get_tensor("movie", "flag", None).dtype == torch.bool
        assert reader.get_tensor("movie", "small", None).dtype == torch.int64
        assert reader.get_tensor("movie", "cube", None).shape == (n, 6)  # flat without the writer
        reader.close()
    finally:
        for name in tensors:
            fs.remove_tensor("movie", name, None)
    assert not {("movie", name) for name in tensors} & _names(fs)


def test_only_existing_attributes_are_listed(small, neo4j_server, driver) -> None:  # type: ignore[no-untyped-def]
    fs, gs = connect(neo4j_server.settings, attrs={("user", "x"): "notWrittenYet",
                                                   ("movie", "x"): "notWrittenYet"})
    try:
        names = _names(fs)
        assert ("user", "x") not in names and ("movie", "x") not in names  # nothing to fetch yet
        assert ("genre", "x") in names and (RATES, "timestamp") in names
        with pytest.raises(KeyError):
            fs.get_tensor("user", "x", torch.arange(2))
        assert fs.get_tensor_size("user", "x") is None
        x = torch.randn(gs.sizes["user"], 2)
        fs["user", "x", None] = x  # PyG's __setitem__
        assert ("user", "x") in _names(fs) and torch.equal(fs["user", "x", None], x)
        assert fs.remove_tensor("user", "x", None)
        assert ("user", "x") not in _names(fs)
        with pytest.raises(KeyError):
            fs.get_tensor("user", "x", torch.arange(2))
        assert fs.remove_tensor("user", "x", None) is False  # nothing left to remove
        with pytest.raises(StoreError, match="needs an attribute name") as err:
            fs["movie", None, None] = torch.zeros(gs.sizes["movie"], 2)
        assert "\n" not in str(err.value)
        with pytest.raises(StoreError, match="read-only"):
            fs.put_tensor(torch.zeros(3), group_name=RATES, attr_name="timestamp", index=None)
        # the graph's own properties are never overwritten or removed through the store
        def user_ids() -> list[int]:
            rows, _, _ = driver.execute_query("MATCH (u:User) RETURN u.userId AS u ORDER BY u")
            return [r["u"] for r in rows]

        ids = user_ids()
        for name in ("userId", "liveDigest", "ratingCount"):
            with pytest.raises(StoreError, match="graph's own property"):
                fs["user", name, None] = torch.zeros(gs.sizes["user"], dtype=torch.long)
        assert user_ids() == ids and None not in ids
    finally:
        fs.close()


def test_pyg_feature_store_protocol(spair) -> None:  # type: ignore[no-untyped-def]
    """PyG's FeatureStore interface as its docs and reference store define it, on movies."""
    from torch_geometric.data.feature_store import AttrView

    fs, _ = spair
    tensor = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    group, name, index = "movie", "feat", torch.tensor([0, 1, 2])
    attr = TensorAttr(group, name, index)
    try:
        assert fs.put_tensor(tensor, attr)
        assert torch.equal(fs.get_tensor(attr), tensor)
        assert torch.equal(fs.get_tensor(group, name, index=torch.tensor([0, 2])), tensor[[0, 2]])
        assert fs.update_tensor(tensor + 1, attr)
        assert torch.equal(fs.get_tensor(attr), tensor + 1)
        fs.remove_tensor(attr)
        with pytest.raises(KeyError):
            fs.get_tensor(attr)
        view = fs.view(group_name=group)
        view.attr_name = name
        view["index"] = index
        assert view == AttrView(fs, TensorAttr(group, name, index))
        fs[group, name, index] = tensor
        for got in (fs[group, name, index], fs[group, name, None], fs[group, name, :],
                    fs[group][name][:], fs[group].feat[:], fs.view().movie.feat[:]):
            assert torch.equal(got, tensor)  # None: the rows of every node holding it
        assert fs.get_tensor_size(group, name) == (3, 3)
        assert fs[group] == fs.view(TensorAttr(group_name=group))
        with pytest.raises(StoreError):
            fs[group, None, None] = tensor
        del fs[group, name, index]
        with pytest.raises(KeyError):
            _ = fs[group, name, index]
        del fs[group]  # names no attribute: nothing removed, no error
        with pytest.raises(KeyError):
            _ = fs[group]()
    finally:
        fs.remove_tensor(group, name, None)


def test_genres_are_a_feature_and_reach_the_batches(spair, small) -> None:  # type: ignore[no-untyped-def]
    fs, gs = spair
    export, _ = small
    assert ("genre", "x") in _names(fs)
    genres = gs.sizes["genre"]
    assert genres == len(export.genres) and torch.equal(fs["genre", "x", None], torch.eye(genres))
    batch = _first(_loader(spair, False), 1)[0]
    assert torch.equal(batch["genre"].x, torch.eye(genres)[batch["genre"].n_id])
    assert batch[HAS_MOVIE].edge_index.numel()  # genre -> movie in-edges of hop 2
    assert IN_GENRE in batch.edge_types


def _times_are_not_later(batch: Any, gs: Any, seed_time: torch.Tensor) -> int:
    """Checks every sampled timed edge against its subgraph's seed time; the edges checked."""
    checked = 0
    for et in (RATES, RATED_BY):
        if et not in batch.edge_types:
            continue
        times = gs.edge_time(et)[batch[et].e_id]
        root = batch[et[2]].batch[batch[et].edge_index[1]]  # each edge's subgraph
        assert torch.equal(root, batch[et[0]].batch[batch[et].edge_index[0]])  # both ends in it
        assert bool((times <= seed_time[root]).all()), et
        checked += times.numel()
    return checked


def test_temporal_link_sampling_never_looks_ahead(spair) -> None:  # type: ignore[no-untyped-def]
    fs, gs = spair
    row, col = gs.get_edge_index(EdgeAttr(RATES, "coo"))
    when = gs.edge_time(RATES)
    assert when.dtype == torch.int64 and int(when.min()) > 8 * 10**8  # epoch seconds, exact
    assert ((RATES, "timestamp") in _names(fs)) and ((RATED_BY, "timestamp") in _names(fs))
    pick = torch.randperm(row.numel(), generator=torch.Generator().manual_seed(1))[:1024]
    label, label_time = torch.stack([row, col])[:, pick], when[pick] - 1  # strictly earlier
    data = (fs, gs)
    torch.manual_seed(3)
    sampler = neighbor_sampler(data, [8, 4], time_attr="timestamp")
    assert sampler.disjoint  # temporal sampling is disjoint, as in PyG
    loader = LinkNeighborLoader(data, [8, 4], edge_label_index=(RATES, label), edge_label_time=label_time,
                                time_attr="timestamp", batch_size=256, neg_sampling="triplet",
                                neighbor_sampler=sampler)
    checked = 0
    for batch in loader:
        seed_time = label_time[batch[RATES].input_id]
        checked += _times_are_not_later(batch, gs, seed_time)
        # the seed edge itself (its time is > seed time) is never among its own neighbours
        users, movies = batch["user"].n_id, batch["movie"].n_id
        ei, root = batch[RATES].edge_index, batch["movie"].batch[batch[RATES].edge_index[1]]
        pos = batch["movie"].dst_pos_index
        src = batch["user"].src_index
        seen = set(zip((root * 10**7 + users[ei[0]]).tolist(), movies[ei[1]].tolist(), strict=True))
        label_pairs = zip((torch.arange(len(src)) * 10**7 + users[src]).tolist(), movies[pos].tolist(),
                          strict=True)
        assert not seen & set(label_pairs)
    assert checked > 10_000
    untimed = neighbor_sampler(data, [8, 4])  # without time: later neighbours are sampled too
    later = 0
    for batch in LinkNeighborLoader(data, [8, 4], edge_label_index=(RATES, label), batch_size=256,
                                    neighbor_sampler=untimed, neg_sampling="triplet"):
        earliest_seed = label_time[batch[RATES].input_id].min()
        later += int((gs.edge_time(RATES)[batch[RATES].e_id] > earliest_seed).sum())
    assert later > 0


def test_node_level_time_with_the_seeds_own_times(spair) -> None:  # type: ignore[no-untyped-def]
    fs, gs = spair
    row, col = gs.get_edge_index(EdgeAttr(RATES, "coo"))
    when = gs.edge_time(RATES)
    first = {}
    for t, idx in (("user", row), ("movie", col)):
        first[t] = torch.full((gs.sizes[t],), 2**40, dtype=torch.int64).scatter_reduce(
            0, idx, when, reduce="amin")
        fs.put_tensor(first[t], group_name=t, attr_name="since", index=None)
    try:
        data = (fs, gs)
        torch.manual_seed(4)
        sampler = neighbor_sampler(data, [8, 4], time_attr="since", temporal_strategy="last")
        loader = NeighborLoader(data, [8, 4], input_nodes=("user", torch.arange(300)), batch_size=50,
                                time_attr="since", neighbor_sampler=sampler)
        for batch in loader:
            root_time = first["user"][batch["user"].n_id[:batch["user"].batch_size]]
            for t in ("user", "movie"):
                assert torch.equal(batch[t].since, first[t][batch[t].n_id])
                assert bool((batch[t].since <= root_time[batch[t].batch]).all()), t
    finally:
        for t in ("user", "movie"):
            fs.remove_tensor(t, "since", None)


def test_disjoint_subgraphs_hold_one_tree_per_seed(spair) -> None:  # type: ignore[no-untyped-def]
    data = spair
    torch.manual_seed(5)
    seeds = torch.tensor([3, 3, 10, 42])
    loader = NeighborLoader(data, [4, 2], input_nodes=("user", seeds), batch_size=4, disjoint=True,
                            neighbor_sampler=neighbor_sampler(data, [4, 2], disjoint=True))
    batch = next(iter(loader))
    assert torch.equal(batch["user"].n_id[:4], seeds)  # a repeated seed is two subgraphs
    assert torch.equal(batch["user"].batch[:4], torch.arange(4))
    for et in batch.edge_types:
        s, _, t = et
        ei = batch[et].edge_index
        assert torch.equal(batch[s].batch[ei[0]], batch[t].batch[ei[1]]), et  # never across
    for t in batch.node_types:
        keys = batch[t].batch * 10**7 + batch[t].n_id
        assert keys.unique().numel() == keys.numel(), t  # a node once per subgraph
    same = [batch["movie"].n_id[batch["movie"].batch == b].sort().values for b in (0, 1)]
    assert same[0].numel() and same[1].numel()


def test_the_module_docstring_example_runs(spair, neo4j_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import engine.graphdb.pyg_store as module

    code = re.search(r"::\n\n(.*?)\n\n", module.__doc__ or "", re.S)
    assert code, "the module docstring lost its example"
    settings = neo4j_server.settings
    for key, value in (("NEO4J_URI", settings.uri), ("NEO4J_USER", settings.user),
                       ("NEO4J_PASSWORD", settings.password or "")):
        monkeypatch.setenv(key, value)
    scope: dict[str, Any] = {"Neo4jSettings": Neo4jSettings, "connect": connect,
                             "NeighborLoader": NeighborLoader, "neighbor_sampler": neighbor_sampler}
    exec(textwrap.dedent(code.group(1)), scope)  # our own docstring's example
    batch = next(iter(scope["loader"]))
    assert batch["user"].batch_size == 512 and batch["movie"].x.shape[0] == batch["movie"].n_id.numel()
    scope["feature_store"].close()
