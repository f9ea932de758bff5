"""What every write-back must leave in the graph for a run (shared by the integration tests)."""

from __future__ import annotations

from typing import Any


def count(driver: Any, query: str, **params: object) -> int:
    """The ``n`` column of a one-row count query."""
    rec, _, _ = driver.execute_query(query, **params)
    return int(rec[0]["n"])


def assert_written_back(driver: Any, run: str, *, users: int, k: int, movies: int | None = None) -> None:
    """Top-``k`` RECOMMENDED edges of ``run`` for every one of ``users`` users, none on a movie the
    user rated, and a vector on every user (and on every one of ``movies`` movies if given)."""
    assert count(driver, "MATCH (u:User) WHERE NOT EXISTS { (u)-[:RECOMMENDED {runId: $run}]->() } "
                 "RETURN count(u) AS n", run=run) == 0
    assert count(driver, "MATCH (:User)-[r:RECOMMENDED {runId: $run}]->() RETURN count(r) AS n",
                 run=run) == users * k
    assert count(driver, "MATCH (u:User)-[r:RECOMMENDED {runId: $run}]->(m:Movie) "
                 "WHERE EXISTS { (u)-[:RATED]->(m) } RETURN count(r) AS n", run=run) == 0
    assert count(driver, "MATCH (u:User) WHERE u.embedding IS NOT NULL OR u.embeddingB IS NOT NULL "
                 "RETURN count(u) AS n") == users
    if movies is not None:
        assert count(driver, "MATCH (m:Movie) WHERE m.embedding IS NOT NULL OR "
                     "m.embeddingB IS NOT NULL RETURN count(m) AS n") == movies
