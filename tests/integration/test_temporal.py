"""Issue 17 on a real Neo4j: the default model under T1 (each user's latest 20% held out).

``engine evaluate`` of the default beats the popularity row; the default's write-back, read
back through Cypher, is exactly the model's top-K; and the recency explanation path
(``RECOMMENDED.becauseOf``) names a movie the user really rated, as ``for_user`` shows it.
"""

from __future__ import annotations

import json

import numpy as np

from engine.graphdb import Runner, queries
from engine.models import DEFAULT_MODEL
from engine.training.checkpoint import load_run
from loader import bundled_dataset, read_movielens
from loader.ingest import load_dataset
from tests.integration._cli import engine


def test_t1_default_beats_popularity_and_writeback_is_its_top_k(  # type: ignore[no-untyped-def]
        neo4j_server, clean_graph, tmp_path) -> None:
    load_dataset(Runner(clean_graph), read_movielens(bundled_dataset()), progress=False)
    report = tmp_path / "t1.json"
    result = engine(neo4j_server.settings, *[
        "evaluate", "--split", "temporal-fraction", "--fraction", "0.2", "--no-tune",
        "--no-progress", "--out", str(report)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    assert doc["protocol"]["split"] == "temporal-fraction"
    rows = doc["rows"]
    assert rows[DEFAULT_MODEL]["ndcg@10"] > 1.3 * rows["popularity"]["ndcg@10"] > 0, rows

    runs = tmp_path / "runs"
    result = engine(neo4j_server.settings, *[
        "train", "--no-tune", "--top-k", "10", "--no-progress", "--out", str(runs)],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    config, model, idmap = load_run(run_dir)
    assert config["model"] == DEFAULT_MODEL
    users = idmap.users[::61]
    items, _ = model.recommend(idmap.user_index(users), k=10)
    with_reason = 0
    for uid, row in zip(users.tolist(), items, strict=True):
        rec, _, _ = clean_graph.execute_query(
            "MATCH (:User {userId: $u})-[r:RECOMMENDED]->(m:Movie) WHERE r.runId = $run "
            "RETURN m.movieId AS movieId, r.becauseOf AS because ORDER BY r.rank",
            u=uid, run=config["runId"])
        assert [r["movieId"] for r in rec] == idmap.movies[row].tolist(), uid
        reasons = [r["because"] for r in rec if r["because"] is not None]
        with_reason += len(reasons)
        if reasons:
            rated, _, _ = clean_graph.execute_query(
                "MATCH (:User {userId: $u})-[:RATED]->(m:Movie) WHERE m.movieId IN $ids "
                "RETURN count(DISTINCT m) AS n", u=uid, ids=reasons)
            assert rated[0]["n"] == len(set(reasons)), "becauseOf must be a movie the user rated"
    assert with_reason > 0, "the default's transitions explain none of the sampled lists"

    # for_user reads the recency path and says it
    uid = next(int(u) for u in users
               if clean_graph.execute_query(
                   "MATCH (:User {userId: $u})-[r:RECOMMENDED]->() WHERE r.becauseOf IS NOT NULL "
                   "RETURN count(r) AS n", u=int(u))[0][0]["n"] > 0)
    rows_fu, _, _ = clean_graph.execute_query(
        queries.get("recommend/for_user").text,
        userId=uid, k=10, genres=None, yearMin=None, yearMax=None, minScore=None)
    recent = [r for r in rows_fu if r["becauseYouRecentlyRated"]]
    assert recent and all("because you recently rated" in r["explanation"] for r in recent)
    assert np.all([r["source"] == "model" for r in recent])
