"""A real Neo4j for the integration tier, started once per test session.

With ``NEO4J_URI`` set, the tests use that server (docker compose, Aura, ...). Otherwise
they start a private local server through the same machinery as ``engine db start``:
its own temporary data directory and free ports, so it never touches a user's instance.
Tests that need an empty graph use ``clean_graph``; on a server the tests did not start
that fixture refuses to wipe unless ``REELGRAPH_TEST_ALLOW_WIPE=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.db import LocalServer, free_port
from engine.graphdb import connect
from engine.settings import Neo4jSettings, ServerSettings


@dataclass
class Neo4jUnderTest:
    settings: Neo4jSettings
    local: LocalServer | None  # None when NEO4J_URI named an external server

    @property
    def owned(self) -> bool:
        return self.local is not None


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jUnderTest]:
    if os.environ.get("NEO4J_URI"):
        yield Neo4jUnderTest(Neo4jSettings.from_env(), None)
        return
    data_dir = tmp_path_factory.mktemp("neo4j-session")
    settings = ServerSettings(
        data_dir=data_dir, bolt_port=free_port(), http_port=free_port(),
        heap=os.environ.get("REELGRAPH_TEST_HEAP", "1g"),
        pagecache=os.environ.get("REELGRAPH_TEST_PAGECACHE", "256m"),
        # OpenGDS for tests/integration/test_gds.py (fetched from Maven Central on first use).
        plugins=tuple(p for p in os.environ.get("REELGRAPH_TEST_PLUGINS", "gds").split(",") if p),
    )
    server = LocalServer(settings)
    server.start(timeout=240)
    try:
        yield Neo4jUnderTest(server.client_settings(), server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def driver(neo4j_server: Neo4jUnderTest):  # type: ignore[no-untyped-def]
    drv = connect(neo4j_server.settings)
    yield drv
    drv.close()


@pytest.fixture()
def clean_graph(neo4j_server: Neo4jUnderTest, driver):  # type: ignore[no-untyped-def]
    """An empty graph before the test (and after it), on a server we may wipe."""
    if not neo4j_server.owned and os.environ.get("REELGRAPH_TEST_ALLOW_WIPE") != "1":
        pytest.fail("refusing to wipe an external server: set REELGRAPH_TEST_ALLOW_WIPE=1")

    def wipe() -> None:
        # CALL {} IN TRANSACTIONS needs an auto-commit transaction: session.run.
        with driver.session(database=neo4j_server.settings.database) as session:
            session.run(
                "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
            ).consume()

    wipe()
    yield driver
    wipe()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.neo4j)
