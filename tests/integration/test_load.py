"""Issue 3: MovieLens into a real Neo4j — exact counts, idempotent, resumable, all-or-nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.graphdb import Runner
from loader import bundled_dataset, read_movielens
from loader.ingest import LoadConflictError, load_dataset
from tests.integration._cli import conn_args, engine, env_for

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = bundled_dataset()
SHARED = Path(os.environ.get("REELGRAPH_SHARED_DATA", ROOT.parent / "shared" / "data" / "movielens"))
FIXTURES = ROOT / "tests" / "fixtures" / "movielens"




def _counts(driver) -> dict[str, int]:  # type: ignore[no-untyped-def]
    records, _, _ = driver.execute_query(
        "CALL () { MATCH (u:User) RETURN count(u) AS users } "
        "CALL () { MATCH (m:Movie) RETURN count(m) AS movies } "
        "CALL () { MATCH (g:Genre) RETURN count(g) AS genres } "
        "CALL () { MATCH ()-[r:RATED]->() RETURN count(r) AS ratings } "
        "CALL () { MATCH ()-[t:TAGGED]->() RETURN count(t) AS tags } "
        "RETURN users, movies, genres, ratings, tags"
    )
    return dict(records[0])


def test_bundled_ml_latest_small_exact_counts_and_idempotent(neo4j_server, clean_graph) -> None:  # type: ignore[no-untyped-def]
    args = ["load", "--no-progress"]
    result = engine(neo4j_server.settings, *args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    first = _counts(clean_graph)
    assert first == {"users": 610, "movies": 9742, "genres": 19, "ratings": 100_836, "tags": 3683}
    assert "create path" in result.output

    result = engine(neo4j_server.settings, *args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "merge path" in result.output
    assert _counts(clean_graph) == first

    records, _, _ = clean_graph.execute_query(
        "MATCH (d:Dataset) RETURN d.name AS name, d.status AS status, d.md5 AS md5, "
        "d.synthetic AS synthetic, d.loadedAt IS NOT NULL AS stamped"
    )
    assert [dict(r) for r in records] == [{
        "name": "ml-latest-small", "status": "complete",
        "md5": "31a303aabbc519bd33d025e44d6c2570", "synthetic": False, "stamped": True,
    }]
    records, _, _ = clean_graph.execute_query(
        "MATCH (m:Movie {movieId: 1})-[:IN_GENRE]->(g:Genre) "
        "RETURN m.title AS title, m.year AS year, m.imdbId AS imdb, collect(g.name) AS genres"
    )
    toy = records[0]
    assert toy["title"] == "Toy Story (1995)" and toy["year"] == 1995 and toy["imdb"] == 114709
    assert sorted(toy["genres"]) == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    records, _, _ = clean_graph.execute_query(
        "MATCH (:User {userId: 1})-[r:RATED]->(:Movie {movieId: 1}) RETURN r.rating AS r, r.timestamp AS t"
    )
    assert records[0]["r"] == 4.0 and records[0]["t"] == 964982703


def test_ml_100k_from_shared_exact_counts(neo4j_server, clean_graph) -> None:  # type: ignore[no-untyped-def]
    zip_path = SHARED / "ml-100k.zip"
    if not zip_path.is_file():
        pytest.skip(f"{zip_path} absent (ml-100k may not be redistributed, so it is not bundled)")
    summary = load_dataset(Runner(clean_graph), read_movielens(zip_path), progress=False)
    got = _counts(clean_graph)
    assert (got["ratings"], got["users"], got["movies"]) == (100_000, 943, 1682)
    assert summary.in_graph["RATED"] == 100_000
    records, _, _ = clean_graph.execute_query(
        "MATCH (u:User {userId: 1}) RETURN u.age AS age, u.gender AS g, u.occupation AS o, u.zip AS z"
    )
    assert dict(records[0]) == {"age": 24, "g": "M", "o": "technician", "z": "85711"}


def test_loading_a_second_release_needs_replace(neo4j_server, clean_graph) -> None:  # type: ignore[no-untyped-def]
    small = read_movielens(FIXTURES / "ml-latest-small")
    other = read_movielens(FIXTURES / "ml-1m")
    load_dataset(Runner(clean_graph), small, progress=False)
    with pytest.raises(LoadConflictError, match="already holds dataset"):
        load_dataset(Runner(clean_graph), other, progress=False)
    load_dataset(Runner(clean_graph), other, replace=True, progress=False)
    records, _, _ = clean_graph.execute_query("MATCH (d:Dataset) RETURN collect(d.name) AS names")
    assert records[0]["names"] == [other.name]
    assert _counts(clean_graph)["ratings"] == len(other.ratings)


@pytest.mark.parametrize("layout", ["ml-100k", "ml-1m", "ml-10m", "ml-latest-small"])
def test_every_layout_fixture_loads_with_exact_counts(layout, neo4j_server, clean_graph) -> None:  # type: ignore[no-untyped-def]
    data = read_movielens(FIXTURES / layout)
    summary = load_dataset(Runner(clean_graph), data, progress=False, batch_size=7)
    got = _counts(clean_graph)
    assert got["ratings"] == len(data.ratings) > 0
    assert got["users"] == len(data.users) and got["movies"] == len(data.movies)
    assert summary.in_graph["TAGGED"] == summary.expected["tags"]


def test_kill_mid_load_then_rerun_completes_exactly(neo4j_server, clean_graph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cmd = [sys.executable, "-m", "engine.cli", *conn_args(neo4j_server.settings), "load",
           "--no-progress", "--batch-size", "500"]
    env = dict(os.environ, PYTHONUNBUFFERED="1", **env_for(neo4j_server.settings))
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    partial = 0
    while time.monotonic() < deadline:
        partial = _counts(clean_graph)["ratings"]
        if partial >= 5_000 or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "loader finished before it could be killed: " + proc.stdout.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    partial = _counts(clean_graph)["ratings"]
    assert 0 < partial < 100_836, partial
    records, _, _ = clean_graph.execute_query(
        "MATCH (d:Dataset) RETURN d.status AS status, "
        "coalesce(d.ratingsDone00, 0) + coalesce(d.ratingsDone11, 0) + "
        "coalesce(d.ratingsDone01, 0) + coalesce(d.ratingsDone10, 0) AS done"
    )
    assert records[0]["status"] == "loading"
    assert records[0]["done"] == partial, "checkpoints must commit with their batches"

    result = engine(neo4j_server.settings, "load", "--no-progress",
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"resumed after {partial:,} rows" in result.output
    assert _counts(clean_graph) == {"users": 610, "movies": 9742, "genres": 19,
                                    "ratings": 100_836, "tags": 3683}
    records, _, _ = clean_graph.execute_query(
        "MATCH (u:User)-[r:RATED]->(m:Movie) WITH u, m, count(r) AS n WHERE n > 1 RETURN count(*) AS dups"
    )
    assert records[0]["dups"] == 0


def test_malformed_corpus_gives_documented_error_and_writes_nothing(
    neo4j_server, clean_graph, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    from tests.unit.test_loader_malformed import CASES, damaged_copy

    assert len(CASES) >= 15
    load_dataset(Runner(clean_graph), read_movielens(FIXTURES / "ml-latest-small"), progress=False)
    before = _counts(clean_graph)
    for case in CASES:
        path, text = damaged_copy(tmp_path / case.id, case.release, case.member, case.line,
                                  case.damage)
        result = engine(neo4j_server.settings, "load", "--replace", "--no-progress", "--path", str(path)
        )
        assert result.exit_code == 2, (case.id, result.output)
        assert f"{case.member}:{case.line}: {case.problem}" in result.output, (case.id, result.output)
        assert "nothing was written" in result.output
        assert "Traceback" not in result.output
        assert _counts(clean_graph) == before, case.id  # not even --replace's wipe ran


def _dataset(driver) -> list[dict]:  # type: ignore[no-untyped-def]
    records, _, _ = driver.execute_query(
        "MATCH (d:Dataset) RETURN d.name AS name, d.status AS status, d.failure AS failure, "
        "d.fingerprint AS fingerprint")
    return [dict(r) for r in records]


def test_an_edited_release_is_named_before_anything_is_written(neo4j_server, clean_graph,  # type: ignore[no-untyped-def]
                                                               tmp_path) -> None:
    import shutil

    result = engine(neo4j_server.settings, "load", "--no-progress", "--path",
                    str(FIXTURES / "ml-latest-small"))
    assert result.exit_code == 0, result.output
    before, dataset = _counts(clean_graph), _dataset(clean_graph)
    assert dataset[0]["status"] == "complete" and dataset[0]["fingerprint"]

    edited = tmp_path / "ml-latest-small"
    shutil.copytree(FIXTURES / "ml-latest-small", edited)
    movies = edited / "movies.csv"
    movies.write_text(movies.read_text().replace("Salt Road (1994)", "Salt Road Revised (1994)")
                      + "999,A New Movie (2001),Drama\n")
    result = engine(neo4j_server.settings, "load", "--no-progress", "--path", str(edited))
    assert result.exit_code == 2, result.output
    assert "edited release" in result.output and "--replace" in result.output
    assert "Traceback" not in result.output
    assert _counts(clean_graph) == before and _dataset(clean_graph) == dataset  # nothing written

    result = engine(neo4j_server.settings, "load", "--no-progress", "--replace", "--path",
                    str(edited))
    assert result.exit_code == 0, result.output
    got = _counts(clean_graph)
    assert got["movies"] == before["movies"] + 1 and got["ratings"] == before["ratings"]
    records, _, _ = clean_graph.execute_query("MATCH (m:Movie {movieId: 11}) RETURN m.title AS t")
    assert records[0]["t"] == "Salt Road Revised (1994)"
    (now,) = _dataset(clean_graph)
    assert now["status"] == "complete" and now["fingerprint"] != dataset[0]["fingerprint"]


def test_a_failed_load_marks_its_dataset_failed_with_the_reason(neo4j_server, clean_graph,  # type: ignore[no-untyped-def]
                                                                monkeypatch) -> None:
    import loader.ingest as ingest

    data = read_movielens(FIXTURES / "ml-latest-small")
    real = ingest._load_tags

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ingest.LoadVerificationError("tags went missing")

    monkeypatch.setattr(ingest, "_load_tags", broken)
    with pytest.raises(ingest.LoadVerificationError):
        load_dataset(Runner(clean_graph), data, progress=False)
    (state,) = _dataset(clean_graph)
    assert state["status"] == "failed"
    assert state["failure"] == "LoadVerificationError: tags went missing"

    monkeypatch.setattr(ingest, "_load_tags", real)
    summary = load_dataset(Runner(clean_graph), data, progress=False)  # resumes, completes
    assert summary.resumed_from == len(data.ratings)
    (state,) = _dataset(clean_graph)
    assert state["status"] == "complete" and state["failure"] is None
    assert _counts(clean_graph)["ratings"] == len(data.ratings)
