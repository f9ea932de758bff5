"""Write-back that drops already-rated movies itself (engine.writeback.rated) on a real Neo4j.

The fast path must write exactly what the checking statements write, drop a rating written
after the export through the live-update contract (ratedAt), and fall back to the checking
statements when a rating appears without ratedAt.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.graphdb import Runner
from engine.graphdb.live import now, write_ratings
from engine.graphdb.recommended import unstamped_ratings
from engine.graphdb.writeback import write_back
from engine.writeback.rated import KnownRatings
from tests.integration.test_writeback import N_USERS, bpr_run, load_test_graph, q

EDGES = ("MATCH (u:User)-[r:RECOMMENDED {runId: $run}]->(m:Movie) "
         "RETURN u.userId AS u, m.movieId AS m, r.rank AS rank, r.score AS score ORDER BY u, rank")
RATED_AND_RECOMMENDED = ("MATCH (u:User)-[:RATED]->(m:Movie)<-[r:RECOMMENDED {runId: $run}]-(u) "
                         "RETURN count(r) AS n")


@pytest.fixture(scope="module")
def known_graph(neo4j_server, driver):  # type: ignore[no-untyped-def]
    db = Runner(driver, neo4j_server.settings.database)
    exp = load_test_graph(neo4j_server, driver)
    inter = exp.interactions
    # as engine train reads them: the clock and the unstamped count before the export
    known = KnownRatings.from_interactions(inter, exp.idmap, now(db), unstamped_ratings(db))
    assert known.unstamped == len(inter)  # loaded ratings carry no ratedAt
    # Trained on 80% of each user's ratings: the other 20% are rated in the graph and the
    # model ranks some of them, so there is something to drop.
    train = inter.subset(np.random.default_rng(0).random(len(inter)) < 0.8)
    yield exp, known, train, db


def test_dropping_rated_movies_here_writes_what_the_statements_write(known_graph, driver) -> None:  # type: ignore[no-untyped-def]
    exp, known, train, _ = known_graph
    checked = write_back(driver, bpr_run(exp, "k-checked", train=train), progress=False, keep_runs=3)
    fast = write_back(driver, bpr_run(exp, "k-fast", train=train), progress=False, keep_runs=3,
                      known=known)
    assert (checked.rated_check, fast.rated_check) == ("statement", "writer")
    assert fast.dropped_rated == checked.dropped_rated > 0
    assert fast.recommended == checked.recommended == N_USERS * 20 - fast.dropped_rated
    a, b = q(driver, EDGES, run="k-checked"), q(driver, EDGES, run="k-fast")
    assert [(r["u"], r["m"], r["rank"]) for r in a] == [(r["u"], r["m"], r["rank"]) for r in b]
    assert np.allclose([r["score"] for r in a], [r["score"] for r in b])
    assert q(driver, RATED_AND_RECOMMENDED, run="k-fast")[0]["n"] == 0


def test_a_rating_written_after_the_export_is_dropped(known_graph, driver) -> None:  # type: ignore[no-untyped-def]
    exp, known, train, db = known_graph
    out = bpr_run(exp, "k-live", train=exp.interactions)  # trained on everything: nothing to drop
    user, movie = int(exp.idmap.users[0]), int(exp.idmap.movies[out.rec_items[0, 0]])
    write_ratings(db, [user], [movie], [4.5], [1_700_000_000])  # what `engine rate` writes
    summary = write_back(driver, out, progress=False, keep_runs=3, known=known)
    assert summary.rated_check == "writer" and summary.dropped_rated == 1
    rows = q(driver, EDGES, run="k-live")
    assert movie not in [r["m"] for r in rows if r["u"] == user]
    assert [r["rank"] for r in rows if r["u"] == user] == list(range(1, 20))
    assert q(driver, RATED_AND_RECOMMENDED, run="k-live")[0]["n"] == 0


def test_a_rating_without_rated_at_makes_the_statements_check(known_graph, driver) -> None:  # type: ignore[no-untyped-def]
    exp, known, _, _ = known_graph
    out = bpr_run(exp, "k-direct", train=exp.interactions, seed=3)
    user, movie = int(exp.idmap.users[1]), int(exp.idmap.movies[out.rec_items[1, 0]])
    q(driver, "MATCH (u:User {userId: $u}), (m:Movie {movieId: $m}) "
      "CREATE (u)-[:RATED {rating: 5.0, timestamp: 1700000000, direct: true}]->(m)", u=user, m=movie)
    try:
        summary = write_back(driver, out, progress=False, keep_runs=3, known=known)
        # >= 1: a live rating of another test may be ranked too
        assert summary.rated_check == "statement" and summary.dropped_rated >= 1
        assert movie not in [r["m"] for r in q(driver, EDGES, run="k-direct") if r["u"] == user]
        assert q(driver, RATED_AND_RECOMMENDED, run="k-direct")[0]["n"] == 0
    finally:  # the other tests expect no unstamped rating beyond the load's
        q(driver, "MATCH ()-[r:RATED {direct: true}]->() DELETE r")
