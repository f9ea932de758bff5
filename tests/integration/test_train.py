"""Issue 4 on a real Neo4j: export -> train -> checkpoint; evaluate beats popularity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.data.selection import Selection
from engine.graphdb import Runner
from engine.graphdb.export import export_subgraph
from engine.training.checkpoint import load_run
from loader import bundled_dataset, read_movielens
from loader.ingest import load_dataset
from tests.integration._cli import engine

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = bundled_dataset()


def test_export_selection_matches_direct_cypher(neo4j_server, clean_graph) -> None:  # type: ignore[no-untyped-def]
    load_dataset(Runner(clean_graph), read_movielens(BUNDLED), progress=False)
    full = export_subgraph(clean_graph, progress=False)
    assert len(full.interactions) == 100_836 and full.idmap.num_users == 610
    # raw ids round-trip through the IdMap
    u = full.idmap.users[full.interactions.user[:5]]
    m = full.idmap.movies[full.interactions.item[:5]]
    for uid, mid, r in zip(u, m, full.interactions.rating[:5], strict=True):
        rec, _, _ = clean_graph.execute_query(
            "MATCH (:User {userId: $u})-[x:RATED]->(:Movie {movieId: $m}) RETURN x.rating AS r",
            u=int(uid), m=int(mid))
        assert rec[0]["r"] == r

    sel = Selection(max_ratings=200, min_rating=4.0, genres=("Comedy",))
    part = export_subgraph(clean_graph, sel, progress=False)
    rec, _, _ = clean_graph.execute_query(
        "MATCH (u:User) WHERE COUNT { (u)-[:RATED]->() } <= 200 "
        "MATCH (u)-[r:RATED]->(m:Movie) WHERE r.rating >= 4.0 "
        "AND EXISTS { (m)-[:IN_GENRE]->(:Genre {name: 'Comedy'}) } RETURN count(r) AS n")
    assert len(part.interactions) == rec[0]["n"] > 0
    assert part.interactions.rating.min() >= 4.0
    sample = export_subgraph(clean_graph, Selection(sample_users=50, seed=3), progress=False)
    again = export_subgraph(clean_graph, Selection(sample_users=50, seed=3), progress=False)
    assert sample.idmap.num_users == 50
    assert np.array_equal(sample.idmap.users, again.idmap.users)


def test_train_then_evaluate_beats_popularity(neo4j_server, clean_graph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load_dataset(Runner(clean_graph), read_movielens(BUNDLED), progress=False)
    runs = tmp_path / "runs"
    result = engine(neo4j_server.settings, *[
        "train", "--model", "bpr_mf", "--param", "epochs=10",
        "--no-writeback", "--no-progress", "--out", str(runs)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = list(runs.iterdir())
    for name in ("config.json", "idmap.npz", "metrics.json", "history.json", "curves.png",
                 "model/config.json", "model/state.npz"):
        assert (run_dir / name).is_file(), name
    config, model, idmap = load_run(run_dir)
    assert config["model"] == "bpr_mf" and config["dataset"] == "ml-latest-small"
    assert idmap.num_users == 610
    # production model saw ALL ratings: user 1's rated movies are never recommended
    user = idmap.user_index(np.array([1]))
    items, _ = model.recommend(user, k=20)
    rec, _, _ = clean_graph.execute_query(
        "MATCH (:User {userId: 1})-[:RATED]->(m) RETURN collect(m.movieId) AS ids")
    assert not set(idmap.movies[items[0]].tolist()) & set(rec[0]["ids"])

    report = tmp_path / "eval.json"
    result = engine(neo4j_server.settings, *[
        "evaluate", "--model", "bpr_mf", "--param", "epochs=20",
        "--no-progress", "--out", str(report)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "popularity" in result.output and "per segment" in result.output
    rows = json.loads(report.read_text())["rows"]
    assert rows["bpr_mf"]["ndcg@10"] > rows["popularity"]["ndcg@10"] > 0
    assert json.loads(report.read_text())["protocol"]["split"] == "random"


def test_bad_model_and_empty_selection_are_explained(neo4j_server, clean_graph) -> None:  # type: ignore[no-untyped-def]
    load_dataset(Runner(clean_graph), read_movielens(BUNDLED), progress=False)
    result = engine(neo4j_server.settings, "train", "--model", "nope")
    assert result.exit_code == 2 and "unknown model 'nope'" in result.output
    result = engine(neo4j_server.settings, "train", "--genre", "No Such Genre",
                                      "--no-progress")
    assert result.exit_code == 2 and "matched no ratings" in result.output
    result = engine(neo4j_server.settings, "train", "--since", "last week")
    assert result.exit_code == 2 and "is not a date" in result.output
