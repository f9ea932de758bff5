"""Issue 5: write-back of real model output into a real Neo4j, and the atomic run switch.

The graph is the bundled ml-latest-small cut to its first 80 users (12.7k ratings, all
9,742 movies), loaded once per module; runs come from models fitted on what
``engine.export`` reads back (BPR-MF with embeddings, EASE and popularity without).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from engine.data import Interactions
from engine.data.selection import Export
from engine.graphdb import Runner
from engine.graphdb.export import export_subgraph
from engine.graphdb.reader import Reader
from engine.graphdb.writeback import WritebackError, write_back
from engine.models.bpr_mf import BPRMF
from engine.models.ease import EASE
from engine.models.popularity import PopularityRecommender
from engine.writeback import RunOutput, build_run_output
from loader import bundled_dataset, read_movielens
from loader.dataset import MovieLensData
from loader.ingest import load_dataset, wipe

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = bundled_dataset()
N_USERS = 80


def subset(n_users: int = N_USERS) -> MovieLensData:
    full = read_movielens(BUNDLED)
    keep = full.ratings["userId"] <= n_users
    return MovieLensData(
        name=f"ml-latest-small-{n_users}u", layout=full.layout, source=full.source, md5=None,
        users=full.users[full.users["userId"] <= n_users].reset_index(drop=True),
        movies=full.movies,
        ratings=full.ratings[keep].reset_index(drop=True),
        tags=full.tags[full.tags["userId"] <= n_users].reset_index(drop=True),
    )


def load_test_graph(neo4j_server, driver) -> Export:  # type: ignore[no-untyped-def]
    if not neo4j_server.owned and os.environ.get("REELGRAPH_TEST_ALLOW_WIPE") != "1":
        pytest.fail("refusing to wipe an external server: set REELGRAPH_TEST_ALLOW_WIPE=1")
    db = neo4j_server.settings.database
    wipe(Runner(driver, db))
    for name in ("user_embedding", "movie_embedding", "user_embedding_b", "movie_embedding_b"):
        driver.execute_query("DROP INDEX $name IF EXISTS", name=name, database_=db)
    load_dataset(Runner(driver, db), subset(), progress=False)
    return export_subgraph(driver, database=db, progress=False)


def bpr_run(exp: Export, run_id: str, *, seed: int = 0, dim: int = 16, k: int = 20,
            similar_k: int = 0, train: Interactions | None = None) -> RunOutput:
    model = BPRMF(dim=dim, epochs=4, seed=seed, batch_size=2048)
    model.fit(train if train is not None else exp.interactions)
    config = {"runId": run_id, "model": model.name, "params": model.get_params(),
              "dataset": "ml-latest-small-80u", "gitSha": "test"}
    return build_run_output(model, exp.idmap, config, {"note": "test"}, k=k, similar_k=similar_k)


def ease_run(exp: Export, run_id: str, *, k: int = 20, similar_k: int = 5) -> RunOutput:
    model = EASE(reg=200.0)
    model.fit(exp.interactions)
    out = build_run_output(model, exp.idmap, {"runId": run_id, "model": "ease", "params": {"reg": 200.0},
                                              "dataset": "ml-latest-small-80u"}, {}, k=k)
    weights = model.weights.copy()
    np.fill_diagonal(weights, -np.inf)
    out.similar_items = np.argsort(-weights, axis=1)[:, :similar_k]
    out.similar_scores = np.take_along_axis(weights, out.similar_items, 1)
    out.validate()
    return out


def popularity_run(exp: Export, run_id: str, k: int = 20) -> RunOutput:
    model = PopularityRecommender()
    model.fit(exp.interactions)
    return build_run_output(model, exp.idmap, {"runId": run_id, "model": "popularity", "params": {},
                                               "dataset": "ml-latest-small-80u"}, {}, k=k)


def q(driver, text: str, **params):  # type: ignore[no-untyped-def]
    records, _, _ = driver.execute_query(text, parameters_=params)
    return [r.data() for r in records]


def runs(driver) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {r["runId"]: r for r in Runner(driver, "neo4j").write("writeback/runs")}


def snapshot(driver) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """Everything write-back writes, in a canonical order."""
    return {
        "recommended": q(driver, "MATCH (u:User)-[r:RECOMMENDED]->(m:Movie) RETURN u.userId AS u, "
                         "m.movieId AS m, properties(r) AS p ORDER BY u, r.runId, r.rank"),
        "similar": q(driver, "MATCH (a:Movie)-[s:SIMILAR]->(b:Movie) RETURN a.movieId AS a, "
                     "b.movieId AS b, properties(s) AS p ORDER BY a, s.runId, b"),
        "vectors": q(driver, "MATCH (n) WHERE n.embedding IS NOT NULL OR n.embeddingB IS NOT NULL "
                     "RETURN labels(n) AS l, coalesce(n.userId, n.movieId) AS id, n.embedding AS a, "
                     "n.embeddingB AS b ORDER BY l[0], id"),
        "runs": q(driver, "MATCH (r:ModelRun) RETURN properties(r) AS p ORDER BY r.runId"),
        "indexes": q(driver, "SHOW VECTOR INDEXES YIELD name, state, options RETURN * ORDER BY name"),
    }


@pytest.fixture(scope="module")
def graph(neo4j_server, driver):  # type: ignore[no-untyped-def]
    exp = load_test_graph(neo4j_server, driver)
    yield SimpleNamespace(driver=driver, exp=exp)
    wipe(Runner(driver, neo4j_server.settings.database))


def test_write_back_counts_indexes_and_never_a_rated_movie(graph) -> None:  # type: ignore[no-untyped-def]
    exp, driver = graph.exp, graph.driver
    # Train on 80% of each user's ratings: the other 20% are RATED in the graph, and the
    # model may well rank them; write-back must skip them.
    rng = np.random.default_rng(0)
    train = exp.interactions.subset(rng.random(len(exp.interactions)) < 0.8)
    out = bpr_run(exp, "w-split", train=train, similar_k=3)
    summary = write_back(driver, out, progress=False)
    assert summary.action == "written" and summary.slot == "a"
    assert summary.dropped_rated > 0
    assert summary.recommended == N_USERS * 20 - summary.dropped_rated
    rated_and_recommended = "MATCH (u:User)-[:RATED]->(m:Movie)<-[r:RECOMMENDED]-(u) RETURN count(r) AS n"
    assert q(driver, rated_and_recommended)[0]["n"] == 0

    per_user = q(driver, "MATCH (u:User)-[r:RECOMMENDED {runId: 'w-split'}]->() "
                 "WITH u, collect(r.rank) AS ranks RETURN u.userId AS u, ranks")
    assert len(per_user) == N_USERS
    for row in per_user:  # ranks renumbered 1..n after skipping rated movies
        assert sorted(row["ranks"]) == list(range(1, len(row["ranks"]) + 1)) and len(row["ranks"]) <= 20
    counts = Runner(driver, "neo4j").write("writeback/run_counts", runId="w-split")[0]
    assert counts["users"] == N_USERS and counts["recommended"] == summary.recommended
    assert counts["userVectors"] == N_USERS and counts["movieVectors"] == exp.idmap.num_movies
    assert counts["similar"] == summary.similar == exp.idmap.num_movies * 3

    indexes = {r["name"]: r for r in q(driver, "SHOW VECTOR INDEXES YIELD name, state, options "
                                       "RETURN name, state, options")}
    for name in ("user_embedding", "movie_embedding"):
        assert indexes[name]["state"] == "ONLINE"
        assert indexes[name]["options"]["indexConfig"]["vector.dimensions"] == 16
        assert indexes[name]["options"]["indexConfig"]["vector.similarity_function"] == "COSINE"
    run = q(driver, "MATCH (r:ModelRun {current: true}) RETURN r")
    assert len(run) == 1
    props = run[0]["r"]
    assert props["runId"] == "w-split" and props["model"] == "bpr_mf" and props["status"] == "complete"
    import json
    assert json.loads(props["params"])["dim"] == 16 and json.loads(props["metrics"]) == {"note": "test"}
    assert props["gitSha"] == "test" and props["trainedAt"] is not None and props["dotScores"] is True


def test_rewriting_the_same_run_changes_nothing(graph) -> None:  # type: ignore[no-untyped-def]
    out = bpr_run(graph.exp, "w-idem", seed=3)
    first = write_back(graph.driver, out, progress=False)
    before = snapshot(graph.driver)
    again = write_back(graph.driver, out, progress=False)
    assert first.action == "written" and again.action == "unchanged"
    assert snapshot(graph.driver) == before
    # Same run id, different output: refused, nothing changes.
    other = bpr_run(graph.exp, "w-idem", seed=4)
    with pytest.raises(WritebackError, match="already in the graph with different output"):
        write_back(graph.driver, other, progress=False)
    assert snapshot(graph.driver) == before


def test_switching_runs_slots_and_keep_n(graph) -> None:  # type: ignore[no-untyped-def]
    driver, exp = graph.driver, graph.exp
    # keep_runs=1 first: earlier tests' runs go, and with them their embedding slots.
    a = write_back(driver, bpr_run(exp, "k-1", seed=1), keep_runs=1, progress=False)
    assert set(runs(driver)) == {"k-1"}
    b = write_back(driver, popularity_run(exp, "k-2"), keep_runs=10, progress=False)
    c = write_back(driver, bpr_run(exp, "k-3", seed=2), keep_runs=10, progress=False)
    assert b.slot is None and {a.slot, c.slot} == {"a", "b"}  # k-1 keeps its slot
    state = runs(driver)
    assert [r for r, s in state.items() if s["current"]] == ["k-3"]
    assert state["k-1"]["embeddingSlot"] == a.slot

    # Re-activating a kept run is an instant switch: nothing rewritten.
    back = write_back(driver, bpr_run(exp, "k-1", seed=1), keep_runs=10, progress=False)
    assert back.action == "switched" and back.recommended == 0 and back.user_vectors == 0
    rows = Reader(driver).recommend(1, k=5)
    assert {r["runId"] for r in rows} == {"k-1"} and all(r["source"] == "model" for r in rows)

    # A new run whose dimension differs reuses the free slot and recreates its indexes.
    d = write_back(driver, bpr_run(exp, "k-4", seed=5, dim=8), keep_runs=2, progress=False)
    assert d.slot == c.slot
    dims = {r["name"]: r["options"]["indexConfig"]["vector.dimensions"]
            for r in q(driver, "SHOW VECTOR INDEXES YIELD name, options RETURN name, options")}
    suffix = "" if d.slot == "a" else "_b"
    assert dims[f"movie_embedding{suffix}"] == 8 and dims[f"user_embedding{suffix}"] == 8
    assert Reader(driver).similar_movies(1, k=5)[0]["source"] == "vector"

    # keep_runs=2: only k-4 (current) and k-1 (switched to last) remain, edges of the rest gone.
    assert set(runs(driver)) == {"k-4", "k-1"}
    left = {r["run"] for r in q(driver, "MATCH ()-[r:RECOMMENDED]->() RETURN DISTINCT r.runId AS run")}
    assert left == {"k-4", "k-1"}
    assert q(driver, "MATCH (r:ModelRun {current: true}) RETURN count(r) AS n")[0]["n"] == 1


def test_interrupted_write_back_is_invisible_then_resumed(graph, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    driver, exp = graph.driver, graph.exp
    write_back(driver, bpr_run(exp, "i-old", seed=6), progress=False)
    before = Reader(driver).recommend(2, k=10)
    calls = {"n": 0}
    original = Runner.write

    def flaky(self, name, /, **params):  # type: ignore[no-untyped-def]
        if name in ("writeback/recommended_create", "writeback/recommended_batch"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("simulated crash")
        return original(self, name, **params)

    monkeypatch.setattr(Runner, "write", flaky)
    new = bpr_run(exp, "i-new", seed=7)
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_back(driver, new, batch_size=400, progress=False)
    monkeypatch.setattr(Runner, "write", original)
    assert runs(driver)["i-new"]["status"] == "writing" and not runs(driver)["i-new"]["current"]
    assert Reader(driver).recommend(2, k=10) == before  # readers still see the old run

    resumed = write_back(driver, new, batch_size=400, progress=False)
    assert resumed.action == "resumed" and resumed.recommended == N_USERS * 20
    counts = Runner(driver, "neo4j").write("writeback/run_counts", runId="i-new")[0]
    assert counts["recommended"] == N_USERS * 20 and counts["current"]


def test_readers_never_see_an_empty_or_mixed_run_during_a_switch(graph) -> None:  # type: ignore[no-untyped-def]
    driver, exp = graph.driver, graph.exp
    old = bpr_run(exp, "c-old", seed=11)
    write_back(driver, old, progress=False)
    new = bpr_run(exp, "c-new", seed=12)
    reader = Reader(driver)
    users, movie, k = [1, 7, 33, 64], 1, 10
    similar_old = [r["movieId"] for r in reader.similar_movies(movie, k=5)]

    done = threading.Event()
    seen: list[tuple[str, ...]] = []
    similar_seen: list[tuple[int, ...]] = []
    problems: list[str] = []

    def read_loop() -> None:
        extra = 0
        while extra < 5:
            for user in users:
                rows = reader.recommend(user, k=k)
                run_ids = {r["runId"] for r in rows}
                if len(rows) != k or len(run_ids) != 1 or any(r["source"] != "model" for r in rows):
                    problems.append(f"user {user}: {len(rows)} rows, runs {run_ids}")
                seen.append(tuple(sorted(run_ids)))
            similar_seen.append(tuple(r["movieId"] for r in reader.similar_movies(movie, k=5)))
            if done.is_set():
                extra += 1

    thread = threading.Thread(target=read_loop)
    thread.start()
    try:
        time.sleep(0.3)
        # Small batches stretch the write; keep_runs=1 also deletes the old run right after.
        summary = write_back(driver, new, batch_size=200, keep_runs=1, progress=False)
    finally:
        done.set()
        thread.join(timeout=120)
    similar_new = [r["movieId"] for r in reader.similar_movies(movie, k=5)]
    assert summary.deleted_runs and "c-old" in summary.deleted_runs
    assert not problems, problems[:5]
    assert {s[0] for s in seen} == {"c-old", "c-new"}, "the reader must have run across the switch"
    assert len(seen) > 20
    assert set(similar_seen) <= {tuple(similar_old), tuple(similar_new)}
    assert set(runs(driver)) == {"c-new"}
