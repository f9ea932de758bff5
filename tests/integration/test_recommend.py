"""Issue 5: the Cypher recommendation library and `engine recommend / similar / explain / writeback`.

CLI output is checked against the same ``cypher/recommend`` file run directly; ids and
strings a user types are parameters (injection strings are data); unknown ids exit 2.
"""

from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

from engine.errors import InputError
from engine.evaluate.segments import Thresholds, segment_users
from engine.graphdb import Runner, queries
from engine.graphdb.reader import Reader, UnknownGenreError, UnknownIdError
from engine.graphdb.writeback import write_back
from engine.writeback import save_run_output
from loader.ingest import wipe
from tests.integration._cli import engine
from tests.integration.test_cypher_examples import example_params
from tests.integration.test_writeback import N_USERS, bpr_run, ease_run, load_test_graph, q

INJECTIONS = ["' OR 1=1 //", "}) DETACH DELETE n //", "\" OR true RETURN 1 //",
              "x'}) MATCH (n) DETACH DELETE n //", "`; DROP INDEX user_embedding"]
NEW_USER, EMPTY_USER = 900_001, 900_002


@pytest.fixture(scope="module")
def graph(neo4j_server, driver, tmp_path_factory):  # type: ignore[no-untyped-def]
    exp = load_test_graph(neo4j_server, driver)
    out = bpr_run(exp, "r-bpr", seed=0, similar_k=5)
    run_dir = save_run_output(out, tmp_path_factory.mktemp("runs") / "r-bpr")
    write_back(driver, out, progress=False)
    s = neo4j_server.settings
    yield SimpleNamespace(driver=driver, exp=exp, settings=s, run_dir=run_dir, out=out)
    wipe(Runner(driver, s.database))


def invoke(graph, *args: str):  # type: ignore[no-untyped-def]
    return engine(graph.settings, *args, catch_exceptions=False)


def direct(graph, name: str, **params):  # type: ignore[no-untyped-def]
    return q(graph.driver, queries.load(name), **params)


def counts(driver) -> dict:  # type: ignore[no-untyped-def]
    return q(driver, "MATCH (n) WITH count(n) AS nodes MATCH ()-[r]->() "
             "RETURN nodes, count(r) AS rels")[0]


def for_user(graph, user: int, k: int = 10, **filters):  # type: ignore[no-untyped-def]
    params = {"genres": None, "yearMin": None, "yearMax": None, "minScore": None, **filters}
    return direct(graph, "recommend/for_user", userId=user, k=k, **params)


def test_recommend_cli_matches_the_cypher_file(graph) -> None:  # type: ignore[no-untyped-def]
    result = invoke(graph, "recommend", "--user", "1", "-k", "7", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows == for_user(graph, 1, 7)
    assert [r["rank"] for r in rows] == list(range(1, 8))
    assert all(r["source"] == "model" and r["runId"] == "r-bpr" for r in rows)
    # The model's own top-7 for user 1, in order, with its scores.
    idx = int(graph.exp.idmap.user_index([1])[0])
    expected = graph.exp.idmap.movies[graph.out.rec_items[idx, :7]].tolist()
    assert [r["movieId"] for r in rows] == expected
    # the file rounds scores to 4 decimals
    assert [r["score"] for r in rows] == pytest.approx(graph.out.rec_scores[idx, :7].tolist(), abs=5e-5)
    rated = {r["m"] for r in q(graph.driver, "MATCH (:User {userId: 1})-[:RATED]->(m) RETURN m.movieId AS m")}
    assert not rated & {r["movieId"] for r in rows}
    assert all(r["explanation"].startswith("bpr_mf rank ") for r in rows)

    table = invoke(graph, "recommend", "--user", "1", "-k", "3", "--explain")
    assert table.exit_code == 0 and "explanation" in table.output.splitlines()[0]
    assert rows[0]["title"][:40] in table.output
    csv_out = invoke(graph, "recommend", "--user", "1", "-k", "3", "--format", "csv").output
    assert csv_out.splitlines()[0] == "rank,movieId,title,year,genres,score,source"


def test_k_beyond_the_stored_top_k_continues_by_embeddings(graph) -> None:  # type: ignore[no-untyped-def]
    rows = Reader(graph.driver).recommend(1, k=30)
    assert len(rows) == 30 and len({r["movieId"] for r in rows}) == 30
    assert [r["source"] for r in rows] == ["model"] * 20 + ["model:vector"] * 10
    assert rows[20]["score"] <= rows[19]["score"] + 1e-6  # the same dot-product scale


def test_filters_apply(graph) -> None:  # type: ignore[no-untyped-def]
    reader = Reader(graph.driver)
    rows = reader.recommend(1, k=10, genres=["Comedy", "Drama"], years=(1990, 1999))
    assert len(rows) == 10
    assert all({"Comedy", "Drama"} & set(r["genres"]) and 1990 <= r["year"] <= 1999 for r in rows)
    model_rows = [r for r in rows if r["source"].startswith("model")]
    scores = [r["score"] for r in model_rows]
    assert model_rows and scores == sorted(scores, reverse=True)
    top = reader.recommend(1, k=20)
    cut = top[4]["score"]
    high = reader.recommend(1, k=20, min_score=cut)
    assert all(r["score"] >= cut for r in high if r["source"].startswith("model"))
    assert [r["movieId"] for r in high if r["source"] == "model"] == [r["movieId"] for r in top[:5]]
    result = invoke(graph, "recommend", "--user", "1", "--genre", "Horror", "--year", "2000:",
                    "--format", "json")
    assert result.exit_code == 0
    assert all("Horror" in r["genres"] and r["year"] >= 2000 for r in json.loads(result.output))


def test_injection_strings_are_data(graph) -> None:  # type: ignore[no-untyped-def]
    before = counts(graph.driver)
    reader = Reader(graph.driver)
    for text in INJECTIONS:
        assert for_user(graph, 1, 5, genres=[text]) == []  # the statement matches no genre
        with pytest.raises(UnknownGenreError):  # the reader names it (issue 11)
            reader.recommend(1, k=5, genres=[text])
        result = invoke(graph, "recommend", "--user", "1", "--genre", text, "--format", "json")
        assert result.exit_code == 2 and f"unknown genre {text!r}" in result.output
    rows = for_user(graph, 1, 5, genres=["Comedy", *INJECTIONS])
    assert len(rows) == 5 and all("Comedy" in r["genres"] for r in rows)
    for bad in ("1 OR 1=1", "1}) DETACH DELETE n //"):
        result = invoke(graph, "recommend", "--user", bad)
        assert result.exit_code == 2 and "is not a valid integer" in result.output
    assert counts(graph.driver) == before
    assert direct(graph, "recommend/lookup", userId=1, movieId=1)[0]["runId"] == "r-bpr"


def test_unknown_ids_exit_2(graph) -> None:  # type: ignore[no-untyped-def]
    for args, what in ((["recommend", "--user", "424242"], "unknown user 424242"),
                       (["recommend", "--user", "424242", "--least"], "unknown user 424242"),
                       (["similar", "--movie", "424242"], "unknown movie 424242"),
                       (["similar", "--user", "424242"], "unknown user 424242"),
                       (["explain", "--user", "1", "--movie", "424242"], "unknown movie 424242"),
                       (["explain", "--user", "424242", "--movie", "1"], "unknown user 424242")):
        result = invoke(graph, *args)
        assert result.exit_code == 2, (args, result.output)
        assert what in result.output
    with pytest.raises(UnknownIdError):
        Reader(graph.driver).recommend(424242)


def test_explain_cli_matches_the_cypher_file(graph) -> None:  # type: ignore[no-untyped-def]
    top = for_user(graph, 1, 1)[0]
    result = invoke(graph, "explain", "--user", "1", "--movie", str(top["movieId"]), "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    raw = direct(graph, "recommend/explain", userId=1, movieId=top["movieId"])[0]
    for key in ("source", "score", "rank", "runId", "nearestFavourites", "coRatedFavourites",
                "similarUsersWhoLovedIt", "sharedGenres", "explanation"):
        assert row[key] == raw[key], key
    assert row["source"] == "model" and row["rank"] == 1 and row["score"] == pytest.approx(top["score"])
    assert row["embeddingDot"] == pytest.approx(top["score"], rel=1e-4, abs=1e-4)  # u . m, 4 decimals
    assert row["nearestFavourites"] and row["coRatedFavourites"]
    assert len(row["paths"]) == len(raw["paths"]) and row["paths"][0].startswith("(user 1)-[:RATED")
    assert "recommends it at rank 1" in row["explanation"]
    table = invoke(graph, "explain", "--user", "1", "--movie", str(top["movieId"]))
    assert table.exit_code == 0 and "coRatedFavourites" in table.output
    rated = q(graph.driver, "MATCH (:User {userId: 1})-[r:RATED]->(m) "
              "RETURN m.movieId AS m, r.rating AS r LIMIT 1")[0]
    row = Reader(graph.driver).explain(1, rated["m"])
    assert row["source"] == "already rated" and row["yourRating"] == rated["r"]


def test_similar_cli_matches_the_cypher_file(graph) -> None:  # type: ignore[no-untyped-def]
    result = invoke(graph, "similar", "--movie", "1", "-k", "5", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows == direct(graph, "recommend/similar_movies", movieId=1, k=5)
    assert len(rows) == 5 and all(r["source"] == "vector" and r["movieId"] != 1 for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    users = json.loads(invoke(graph, "similar", "--user", "1", "-k", "4", "--format", "json").output)
    assert users == direct(graph, "recommend/similar_users", userId=1, k=4)
    assert len(users) == 4 and 1 not in {u["userId"] for u in users}
    assert invoke(graph, "similar", "-k", "3").exit_code == 2  # neither --movie nor --user


def test_least_relevant(graph) -> None:  # type: ignore[no-untyped-def]
    result = invoke(graph, "recommend", "--user", "1", "--least", "-k", "5", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows == direct(graph, "recommend/least_relevant", userId=1, k=5)
    assert len(rows) == 5 and all(r["source"] == "model:vector" for r in rows)
    assert [r["affinity"] for r in rows] == sorted(r["affinity"] for r in rows)
    best = Reader(graph.driver).recommend(1, k=1)[0]["score"]
    assert rows[0]["affinity"] < best


def test_cold_start_for_a_user_added_after_write_back(graph) -> None:  # type: ignore[no-untyped-def]
    q(graph.driver, "CREATE (u:User {userId: $u}) WITH u MATCH (m:Movie) WHERE m.movieId IN [1, 2] "
      "CREATE (u)-[:RATED {rating: 5.0, timestamp: 1700000000}]->(m)", u=NEW_USER)
    q(graph.driver, "CREATE (:User {userId: $u})", u=EMPTY_USER)
    try:
        result = invoke(graph, "recommend", "--user", str(NEW_USER), "-k", "8", "--format", "json")
        assert result.exit_code == 0, result.output
        rows = json.loads(result.output)
        assert len(rows) == 8 and {1, 2}.isdisjoint(r["movieId"] for r in rows)
        assert all(r["source"] == "cold-start:genre-popularity" and r["runId"] is None for r in rows)
        assert all(r["sharedGenres"] for r in rows)  # Toy Story / Jumanji genres
        assert rows[0]["explanation"].startswith("popular in your genres")
        rows = Reader(graph.driver).recommend(EMPTY_USER, k=5)
        assert len(rows) == 5 and {r["source"] for r in rows} == {"cold-start:popularity"}
        assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
        top = q(graph.driver, "MATCH (m:Movie) WITH m, COUNT { (m)<-[:RATED]-() } AS n "
                "RETURN m.movieId AS m, n ORDER BY n DESC, m LIMIT 5")  # ratingCount == the real count
        assert [(r["movieId"], r["score"]) for r in rows] == [(t["m"], t["n"]) for t in top]
        assert Reader(graph.driver).explain(NEW_USER, rows[0]["movieId"])["source"] == "not recommended"
    finally:
        q(graph.driver, "MATCH (u:User) WHERE u.userId IN [$a, $b] DETACH DELETE u", a=NEW_USER, b=EMPTY_USER)


def test_segments_genre_affinity_and_current_run(graph) -> None:  # type: ignore[no-untyped-def]
    reader = Reader(graph.driver)
    rows = reader.by_segment(k=3, thresholds=Thresholds(50, 200))
    assert {r["segment"] for r in rows} == {"very-low", "normal", "power"}
    assert sum({r["segment"]: r["segmentUsers"] for r in rows}.values()) == N_USERS
    assert all(r["runId"] == "r-bpr" for r in rows)
    assert all(len([x for x in rows if x["segment"] == r["segment"]]) == 3 for r in rows)
    genres = reader.genre_affinity(1)
    assert genres and [g["affinity"] for g in genres] == sorted((g["affinity"] for g in genres), reverse=True)
    assert sum(g["recommended"] for g in genres) >= 20  # each of the 20 movies in >= 1 genre
    run = reader.current_run()
    assert run["runId"] == "r-bpr" and run["embeddingProperty"] == "embedding"


def test_cypher_segments_are_the_python_segments_on_each_threshold(graph) -> None:  # type: ignore[no-untyped-def]
    counts = [r["n"] for r in q(graph.driver, "MATCH (u:User) RETURN COUNT { (u)-[:RATED]->() } AS n")]
    values = sorted(set(counts))
    low, power = values[len(values) // 3], values[2 * len(values) // 3]  # users sit exactly on both
    thresholds = Thresholds(low, power)
    expected = Counter(segment_users(np.array(counts), thresholds).tolist())
    for name, params in (("recommend/by_segment", {"k": 1}), ("viz/genre_by_segment", {})):
        rows = Reader(graph.driver).run(name, **thresholds.cypher_params(), **params)
        if name == "recommend/by_segment":
            got = {r["segment"]: r["segmentUsers"] for r in rows}
            assert got == dict(expected), (got, expected)
        else:
            assert {r["segment"] for r in rows} == set(expected)


def test_a_run_without_embeddings_explains_by_similar_edges(graph) -> None:  # type: ignore[no-untyped-def]
    out = ease_run(graph.exp, "r-ease")
    write_back(graph.driver, out, progress=False)
    try:
        reader = Reader(graph.driver)
        rows = reader.recommend(1, k=20)
        assert {r["runId"] for r in rows} == {"r-ease"} and all(r["source"] == "model" for r in rows)
        assert any(r["because"] for r in rows), "EASE's SIMILAR edges should explain some rows"
        similar = reader.similar_movies(1, k=5)
        assert similar and {r["source"] for r in similar} == {"similar-edge"}
        assert reader.recommend(1, k=25)[20]["source"].startswith("cold-start")  # no vectors to go on
        assert reader.least_relevant(1, k=3)[0]["source"] == "genre-affinity"
        assert reader.similar_users(1, k=3)[0]["source"] == "co-rating"
    finally:
        # `engine writeback RUN_DIR` switches back to the saved BPR run (kept, so instant).
        result = invoke(graph, "writeback", str(graph.run_dir), "--no-progress")
        assert result.exit_code == 0, result.output
        assert "r-bpr: switched" in result.output
    assert Reader(graph.driver).current_run()["runId"] == "r-bpr"
    again = invoke(graph, "writeback", str(graph.run_dir), "--no-progress")
    assert "r-bpr: unchanged" in again.output


def test_writeback_cli_reports_a_bad_directory(graph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = invoke(graph, "writeback", str(tmp_path))
    assert result.exit_code == 2 and "missing run.json" in result.output


def test_run_id_with_injection_text_is_data(graph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = counts(graph.driver)
    out = bpr_run(graph.exp, INJECTIONS[1], seed=9)
    summary = write_back(graph.driver, out, keep_runs=5, progress=False)
    try:
        assert summary.recommended == N_USERS * 20
        assert Reader(graph.driver).recommend(1, k=3)[0]["runId"] == INJECTIONS[1]
        after = counts(graph.driver)
        assert after["nodes"] == before["nodes"] + 1  # the :ModelRun
    finally:
        write_back(graph.driver, graph.out, keep_runs=5, progress=False)


def test_unknown_genre_is_named_with_a_hint_and_nan_score_refused(graph) -> None:  # type: ignore[no-untyped-def]
    result = engine(graph.settings, "recommend", "--user", "1", "--genre", "Comdy")
    assert result.exit_code == 2, result.output
    assert "unknown genre 'Comdy' (did you mean 'Comedy'?)" in result.output
    assert "Drama" in result.output  # the genres the graph holds are listed
    result = engine(graph.settings, "recommend", "--user", "1", "--genre", "comedy")
    assert result.exit_code == 2 and "did you mean 'Comedy'?" in result.output
    assert "(no rows)" not in result.output
    # A known genre whose filters leave nothing: "(no rows)" and a hint, exit 0.
    result = engine(graph.settings, "recommend", "--user", "1", "--genre", "Comedy",
                    "--year", "1000:1001")
    assert result.exit_code == 0 and "(no rows)" in result.output
    assert "hint: no movie passes --genre/--year/--min-score together" in result.output
    result = engine(graph.settings, "recommend", "--user", "1", "--min-score", "nan")
    assert result.exit_code == 2 and "not a finite number" in result.output
    with pytest.raises(InputError, match="finite"):
        Reader(graph.driver).recommend(1, min_score=float("nan"))


#: The statements a serving client runs per request (engine recommend / similar / explain and
#: the Browser's recommendation guide). by_segment (every user, by design) and current_run
#: (it lists every run) are whole-graph reports, not per-request reads.
HOT = ("recommend/for_user", "recommend/explain", "recommend/similar_movies",
       "recommend/similar_users", "recommend/genre_affinity", "recommend/least_relevant",
       "recommend/lookup")
SCANS = ("NodeByLabelScan", "AllNodesScan", "NodeIndexScan", "DirectedRelationshipTypeScan",
         "UndirectedRelationshipTypeScan")


def _operators(plan) -> list[str]:  # type: ignore[no-untyped-def]
    found = [f"{plan.get('operatorType', '')} {plan.get('args', {}).get('Details', '')}"]
    for child in plan.get("children", []):
        found += _operators(child)
    return found


@pytest.mark.parametrize("name", HOT)
def test_hot_queries_start_from_index_seeks(graph, name: str) -> None:  # type: ignore[no-untyped-def]
    """PROFILE of each hot statement with the parameters of its header example: every node it
    starts from is an index seek (user, movie, genre, current run, popularity order), never a
    scan of a label, of all nodes or of a whole index."""
    example = example_params(graph.driver, queries.load(name))
    with graph.driver.session(database=graph.settings.database) as session:
        summary = session.run("PROFILE " + queries.load(name), example).consume()
    ops = _operators(summary.profile)
    assert any("Seek" in op for op in ops), ops
    assert not [op for op in ops if op.split("@")[0].split(" ")[0] in SCANS], ops


def test_engine_rate_keeps_rating_counts_current(graph) -> None:  # type: ignore[no-untyped-def]
    db = Runner(graph.driver, graph.settings.database)

    def rating_count(movie: int) -> int:
        return q(graph.driver, "MATCH (m:Movie {movieId: $m}) RETURN m.ratingCount AS n", m=movie)[0]["n"]

    before = rating_count(50)
    try:
        db.write("live/rate", userIds=[NEW_USER], movieIds=[50], ratings=[4.0], timestamps=[1700000000])
        assert rating_count(50) == before + 1
        db.write("live/rate", userIds=[NEW_USER], movieIds=[50], ratings=[2.0], timestamps=[1700000001])
        assert rating_count(50) == before + 1  # a re-rating is not a new rating
    finally:
        q(graph.driver, "MATCH (u:User {userId: $u}) DETACH DELETE u", u=NEW_USER)
        db.autocommit("load/movie_rating_counts")
    assert rating_count(50) == before
