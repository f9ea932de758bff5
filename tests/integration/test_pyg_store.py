"""Issue 14 on a real Neo4j: the Neo4j-backed PyG FeatureStore / GraphStore.

One graph for the module (ml-latest-small). PyG's stock ``NeighborLoader`` and
``LinkNeighborLoader`` take the ``(Neo4jFeatureStore, Neo4jGraphStore)`` pair; with one seed
a batch drawn from it equals one drawn from the in-memory ``HeteroData`` the engine builds
for the same train split (node ids, edge indices, features fetched from Neo4j, edge
attributes). Held-out ratings stay out of the store's topology; a missing edge type,
attribute or node property is one clear line. The README's "your own PyG code" block runs
as written, and ``engine train --model hetero_sage --store neo4j`` trains mini-batch through
the store, writes back and beats popularity on validation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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
from engine.graphdb.pyg_store import Neo4jFeatureStore, Neo4jGraphStore, StoreError
from engine.jobs.stores import neo4j_graph_for
from engine.models.hetero.inputs import prepare_graph
from engine.models.hetero.sampling import TorchNeighborSampler
from engine.schema import RATED_BY, RATES
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
    with pytest.raises(StoreError, match="genre"):
        Neo4jFeatureStore(driver, export.idmap, attrs={("genre", "x"): "x"})


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
