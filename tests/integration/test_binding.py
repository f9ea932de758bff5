"""Issue 11 items 1 and 3 on a real server: runs are bound to their dataset; the quality gate.

* A run trained on one dataset is refused (exit 2, nothing written) by a graph that holds
  another one, the same one with other content, or where ids the run knows are gone;
  ``--force`` is the documented override. Users who arrive after the export (live
  traffic) do not unbind a run (issue 29 item 2). ``engine train``'s own write-back is checked the same way.
* A run whose validation metric does not beat popularity's on the same split is saved but
  not made current; ``engine writeback RUN --force`` still switches to it.
* ``--no-writeback`` saves ``runs/RUN/writeback/``, which ``engine writeback`` writes later.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import engine.jobs.train as train_job
from engine.graphdb import Runner
from engine.graphdb.binding import read_binding
from engine.graphdb.export import export_subgraph
from engine.graphdb.writeback import write_back
from engine.models.popularity import PopularityRecommender
from engine.writeback import RunOutput, build_run_output, save_run_output
from loader import read_movielens
from loader.ingest import load_dataset
from tests.integration._cli import engine
from tests.integration.test_load import FIXTURES
from tests.integration.test_writeback import load_test_graph, popularity_run, q


def trained_here(driver, run_id: str) -> RunOutput:  # type: ignore[no-untyped-def]
    """A popularity run of the graph as it is now, bound to it (as `engine train` binds runs)."""
    exp = export_subgraph(driver, progress=False)
    binding = read_binding(Runner(driver))
    model = PopularityRecommender()
    model.fit(exp.interactions)
    config = {"runId": run_id, "model": model.name, "params": {}, "dataset": binding["name"],
              "datasetBinding": binding}
    return build_run_output(model, exp.idmap, config, {}, k=3)


def nothing_written(driver) -> bool:  # type: ignore[no-untyped-def]
    return q(driver, "CALL () { MATCH (r:ModelRun) RETURN count(r) AS runs } "
             "CALL () { MATCH ()-[e:RECOMMENDED]->() RETURN count(e) AS edges } "
             "RETURN runs + edges AS n")[0]["n"] == 0


def test_a_run_is_refused_by_a_graph_holding_another_dataset(neo4j_server, clean_graph,  # type: ignore[no-untyped-def]
                                                              tmp_path: Path) -> None:
    load_dataset(Runner(clean_graph), read_movielens(FIXTURES / "ml-100k"), progress=False)
    run_dir = save_run_output(trained_here(clean_graph, "b-100k"), tmp_path / "b-100k")
    assert json.loads((run_dir / "run.json").read_text())["dataset_binding"]["name"] == "ml-100k"

    result = engine(neo4j_server.settings, "load", "--replace", "--no-progress", "--path",
                    str(FIXTURES / "ml-latest-small"))
    assert result.exit_code == 0, result.output
    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress")
    assert result.exit_code == 2, result.output
    assert "trained on ml-100k" in result.output and "holds ml-latest-small" in result.output
    assert "Nothing was written" in result.output and "--force" in result.output
    assert nothing_written(clean_graph)

    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress", "--force")
    assert result.exit_code == 0, result.output
    assert q(clean_graph, "MATCH (r:ModelRun {current: true}) RETURN r.runId AS id")[0]["id"] == "b-100k"


def test_same_name_other_content_or_unknown_ids_are_refused(neo4j_server, clean_graph,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    load_dataset(Runner(clean_graph), read_movielens(FIXTURES / "ml-latest-small"), progress=False)
    out = trained_here(clean_graph, "b-small")
    run_dir = save_run_output(out, tmp_path / "b-small")

    movie = int(out.idmap.movies[0])
    clean_graph.execute_query("MATCH (m:Movie {movieId: $m}) DETACH DELETE m", m=movie)
    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress")
    assert result.exit_code == 2, result.output
    assert f"of its movies are not in the graph (e.g. movie {movie})" in result.output
    assert nothing_written(clean_graph)

    edited = tmp_path / "ml-latest-small"
    shutil.copytree(FIXTURES / "ml-latest-small", edited)
    (edited / "movies.csv").write_text((edited / "movies.csv").read_text().replace(
        "Salt Road (1994)", "Salt Road II (1994)"))
    load_dataset(Runner(clean_graph), read_movielens(edited), replace=True, progress=False)
    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress")
    assert result.exit_code == 2, result.output
    assert "has other content than the one it was trained on" in result.output
    assert nothing_written(clean_graph)

    load_dataset(Runner(clean_graph), read_movielens(FIXTURES / "ml-latest-small"), replace=True,
                 progress=False)  # the release it was trained on, reloaded: the same ids again
    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress")
    assert result.exit_code == 0, result.output

    # Issue 29 item 2: a user who signed up after the run was trained (engine rate creates
    # users) does not unbind it: re-activating the run still works.
    result = engine(neo4j_server.settings, "rate", "--user", "777777", "--movie", str(movie),
                    "--rating", "4")
    assert result.exit_code == 0, result.output
    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress")
    assert result.exit_code == 0, result.output


def test_train_write_back_refuses_a_graph_that_changed_and_the_quality_gate(  # type: ignore[no-untyped-def]
        neo4j_server, clean_graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exp = load_test_graph(neo4j_server, clean_graph)
    write_back(clean_graph, popularity_run(exp, "g-good"), progress=False)
    runs = tmp_path / "runs"

    # A model no better than random (one epoch at lr 1e-9) is saved, not made current.
    result = engine(neo4j_server.settings, "train", "--model", "bpr_mf", "--param", "epochs=1",
                    "--param", "lr=1e-9", "--no-progress", "--out", str(runs), "--device", "cpu")
    assert result.exit_code == 1, result.output
    assert "quality gate: ndcg@10" in result.output and "FAILED" in result.output
    assert "was not made current" in result.output and "does not beat popularity's" in result.output
    assert "Traceback" not in result.output
    (run_dir,) = list(runs.iterdir())
    assert f"The run is in {run_dir}" in result.output
    assert q(clean_graph, "MATCH (r:ModelRun {current: true}) RETURN r.runId AS id")[0]["id"] == "g-good"
    assert json.loads((run_dir / "metrics.json").read_text())["gate"]["passed"] is False
    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress")
    assert result.exit_code == 1 and "was not made current" in result.output
    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress", "--force")
    assert result.exit_code == 0, result.output
    assert q(clean_graph, "MATCH (r:ModelRun {current: true}) RETURN r.runId AS id")[0]["id"] == run_dir.name

    # The graph changes while the model trains: a movie the run knows is deleted, so
    # train's write-back refuses ...
    real = train_job.fit_production
    change = [("MATCH (m:Movie) WITH m ORDER BY m.movieId LIMIT 1 DETACH DELETE m", {})]

    def meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        prod = real(*args, **kwargs)
        clean_graph.execute_query(change[0][0], change[0][1])
        return prod

    monkeypatch.setattr(train_job, "fit_production", meanwhile)
    shutil.rmtree(runs)
    result = engine(neo4j_server.settings, "train", "--model", "popularity", "--no-progress",
                    "--out", str(runs))
    assert result.exit_code == 2, result.output
    assert "of its movies are not in the graph" in result.output and "The run is in" in result.output
    assert q(clean_graph, "MATCH (r:ModelRun {current: true}) RETURN r.runId AS id")[0]["id"] == run_dir.name

    # ... while live traffic (issue 29 item 2: a new user rates after the export) does not.
    movie = q(clean_graph, "MATCH (m:Movie) RETURN min(m.movieId) AS m")[0]["m"]
    change[0] = ("MATCH (m:Movie {movieId: $m}) MERGE (u:User {userId: 900001}) "
                 "MERGE (u)-[:RATED {rating: 5.0, timestamp: 1700000000, ratedAt: datetime()}]->(m)",
                 {"m": movie})
    shutil.rmtree(runs)
    result = engine(neo4j_server.settings, "train", "--model", "popularity", "--no-progress",
                    "--out", str(runs))
    assert result.exit_code == 0, result.output
    (new_run,) = list(runs.iterdir())
    assert q(clean_graph, "MATCH (r:ModelRun {current: true}) RETURN r.runId AS id")[0]["id"] == new_run.name


def test_no_writeback_saves_a_run_that_can_be_written_later(neo4j_server, clean_graph,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    load_test_graph(neo4j_server, clean_graph)
    runs = tmp_path / "runs"
    result = engine(neo4j_server.settings, "train", "--model", "popularity", "--no-writeback",
                    "--no-progress", "--out", str(runs))
    assert result.exit_code == 0, result.output
    (run_dir,) = list(runs.iterdir())
    for name in ("run.json", "arrays.npz", "idmap.npz"):
        assert (run_dir / "writeback" / name).is_file(), name
    meta = json.loads((run_dir / "writeback" / "run.json").read_text())
    assert meta["dataset_binding"]["name"] == "ml-latest-small-80u"
    assert meta["dataset_binding"]["counts"]["users"] == 80
    assert nothing_written(clean_graph)
    result = engine(neo4j_server.settings, "writeback", str(run_dir), "--no-progress")
    assert result.exit_code == 0, result.output
    assert q(clean_graph, "MATCH (r:ModelRun {current: true}) RETURN r.runId AS id, "
             "r.datasetBinding AS b")[0]["id"] == run_dir.name
