"""Issue 11 item 4: wipes of any size, in bounded transactions, resumable.

A private server with a 1 GB heap (transaction memory limit ~717 MiB) holds 2,000 nodes
carrying 1,000,000 relationships: the old wipe (20,000 nodes per ``DETACH DELETE``) puts
all of them in one transaction and fails with ``MemoryPoolOutOfMemoryError``; the wipe
(relationships first, ``CALL { ... } IN TRANSACTIONS`` of 10,000) empties it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from neo4j.exceptions import ServiceUnavailable, TransientError

from engine.db import LocalServer
from engine.graphdb import Runner, connect
from loader import read_movielens
from loader.ingest import LoadConflictError, load_dataset
from loader.wipe import WipeError, wipe
from tests.integration._server import private_server
from tests.integration.test_load import FIXTURES, _counts

USERS = MOVIES = 1000  # complete bipartite: 1M RATED edges on 2,000 nodes


@pytest.fixture(scope="module")
def small_heap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with private_server(tmp_path_factory, "neo4j-1g", heap="1g", timeout=300) as server:
        yield server


def test_dense_graph_wipes_on_a_1g_heap_where_node_batches_run_out_of_memory(small_heap) -> None:  # type: ignore[no-untyped-def]
    with connect(small_heap.client_settings()) as driver, driver.session() as session:
        session.run("UNWIND range(1, $n) AS i CREATE (:User {userId: i})", n=USERS).consume()
        session.run("UNWIND range(1, $n) AS i CREATE (:Movie {movieId: i})", n=MOVIES).consume()
        session.run("CREATE (:Dataset {name: 'dense', status: 'complete'})").consume()
        session.run("MATCH (u:User) CALL (u) { MATCH (m:Movie) "
                    "CREATE (u)-[:RATED {rating: 4.0, timestamp: 0}]->(m) } "
                    "IN TRANSACTIONS OF 10 ROWS").consume()
        assert session.run("MATCH ()-[r]->() RETURN count(r) AS n").single()["n"] == USERS * MOVIES

        # The old wipe: one batch of up to 20,000 nodes holds every relationship.
        with pytest.raises(TransientError, match="MemoryPoolOutOfMemoryError"):
            session.run("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n").consume()
        assert session.run("MATCH ()-[r]->() RETURN count(r) AS n").single()["n"] == USERS * MOVIES

        deleted = wipe(Runner(driver))
        assert deleted == USERS + MOVIES + 1
        assert session.run("MATCH (n) RETURN count(n) AS n").single()["n"] == 0
        assert session.run("MATCH ()-[r]->() RETURN count(r) AS n").single()["n"] == 0


def test_an_interrupted_wipe_is_named_then_finished_by_replace(neo4j_server, clean_graph,  # type: ignore[no-untyped-def]
                                                               monkeypatch) -> None:
    small = read_movielens(FIXTURES / "ml-latest-small")
    other = read_movielens(FIXTURES / "ml-1m")
    load_dataset(Runner(clean_graph), small, progress=False)
    real = Runner.autocommit

    def dies_on_nodes(self, name, /, **params):  # type: ignore[no-untyped-def]
        if name == "admin/wipe_nodes":
            raise ServiceUnavailable("the server went away")
        return real(self, name, **params)

    monkeypatch.setattr(Runner, "autocommit", dies_on_nodes)
    with pytest.raises(WipeError, match=r"the wipe stopped .* re-run the same command \(with --replace\)"):
        load_dataset(Runner(clean_graph), other, replace=True, progress=False)
    monkeypatch.setattr(Runner, "autocommit", real)
    records, _, _ = clean_graph.execute_query("MATCH (d:Dataset) RETURN d.status AS s")
    assert [r["s"] for r in records] == ["wiping"]
    assert _counts(clean_graph)["ratings"] == 0 and _counts(clean_graph)["users"] > 0

    for data in (small, other):  # the same or another release: never loaded over half a wipe
        with pytest.raises(LoadConflictError, match="half-wiped dataset .* --replace"):
            load_dataset(Runner(clean_graph), data, progress=False)
    load_dataset(Runner(clean_graph), other, replace=True, progress=False)
    got = _counts(clean_graph)
    assert (got["users"], got["movies"], got["ratings"]) == (
        len(other.users), len(other.movies), len(other.ratings))
    records, _, _ = clean_graph.execute_query("MATCH (d:Dataset) RETURN d.name AS n, d.status AS s")
    assert [(r["n"], r["s"]) for r in records] == [(other.name, "complete")]
