"""Issue 3 on a private local server that the tests may stop, kill and restart.

* the bulk path (neo4j-admin import) builds exactly the graph the online path builds;
* an interrupted bulk import is redone by re-running the same command;
* Neo4j itself killed (SIGKILL) mid-load: after a restart the same command completes
  with exact counts and no duplicates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.db import LocalServer
from engine.graphdb import Runner, connect
from loader import bundled_dataset, read_movielens
from loader.bulk import bulk_load, marker_path
from loader.ingest import load_dataset
from tests.integration._server import private_server
from tests.integration.test_load import _counts

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "movielens"
BUNDLED = bundled_dataset()
SMALL = {"users": 610, "movies": 9742, "genres": 19, "ratings": 100_836, "tags": 3683}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with private_server(tmp_path_factory, "neo4j-private", heap="1g", timeout=240) as srv:
        yield srv


@pytest.fixture()
def cli_env(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> LocalServer:
    """Point the `engine` CLI's default (local server) settings at the private server."""
    s = server.settings
    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REELGRAPH_DB_DIR", str(server.home))
    monkeypatch.setenv("REELGRAPH_BOLT_PORT", str(s.bolt_port))
    monkeypatch.setenv("REELGRAPH_HTTP_PORT", str(s.http_port))
    return server


def _wipe(server: LocalServer) -> None:
    with connect(server.client_settings()) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def _typed(props: dict[str, Any]) -> tuple:
    return tuple(sorted((k, type(v).__name__, v) for k, v in props.items()))


def signature(driver) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    """Every node and relationship (but :Dataset) with typed properties, sorted."""
    nodes, _, _ = driver.execute_query(
        "MATCH (n) WHERE NOT n:Dataset RETURN labels(n) AS labels, properties(n) AS props")
    rels, _, _ = driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN type(r) AS type, coalesce(a.userId, a.movieId) AS a, "
        "coalesce(b.movieId, b.name) AS b, properties(r) AS props")
    return (
        sorted((tuple(sorted(r["labels"])), _typed(r["props"])) for r in nodes),
        sorted((r["type"], r["a"], str(r["b"]), _typed(r["props"])) for r in rels),
    )


@pytest.mark.parametrize("layout", ["ml-1m", "ml-latest-small"])
def test_bulk_import_builds_the_same_graph_as_the_online_path(layout, server, clean_graph) -> None:  # type: ignore[no-untyped-def]
    data = read_movielens(FIXTURES / layout)
    load_dataset(Runner(clean_graph), data, progress=False)
    online = signature(clean_graph)

    _wipe(server)
    summary = bulk_load(server, data, progress=False)
    assert summary.ratings_mode == "bulk"
    assert not marker_path(server).exists()
    with connect(server.client_settings()) as driver:
        assert signature(driver) == online
        records, _, _ = driver.execute_query(
            "SHOW CONSTRAINTS YIELD labelsOrTypes, properties "
            "RETURN labelsOrTypes[0] AS l, properties[0] AS p")
        assert {("User", "userId"), ("Movie", "movieId"), ("Genre", "name")} <= {
            (r["l"], r["p"]) for r in records}
        records, _, _ = driver.execute_query("MATCH (d:Dataset) RETURN d.status AS s, d.name AS n")
        assert [(r["s"], r["n"]) for r in records] == [("complete", data.name)]


def test_interrupted_bulk_import_is_redone_by_the_same_command(cli_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server = cli_env
    _wipe(server)
    import loader.bulk as bulk

    real = bulk.import_args

    def broken(*args: Any, **kwargs: Any) -> list[str]:  # the importer dies half-way
        return [*real(*args, **kwargs), f"--nodes=Ghost={server.home / 'no-such-file.csv'}"]

    monkeypatch.setattr(bulk, "import_args", broken)
    result = CliRunner().invoke(cli, ["load", "--no-progress", "--bulk", "always"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "neo4j-admin database import failed" in result.output
    assert marker_path(server).exists()
    assert server.running_pid() is not None, "the server must be restarted after a failed import"

    monkeypatch.setattr(bulk, "import_args", real)
    result = CliRunner().invoke(cli, ["load", "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "interrupted bulk import is pending" in result.output
    assert not marker_path(server).exists()
    with connect(server.client_settings()) as driver:
        assert _counts(driver) == SMALL

    result = CliRunner().invoke(cli, ["load", "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output  # not empty any more: online, idempotent
    assert "online path" in result.output
    with connect(server.client_settings()) as driver:
        assert _counts(driver) == SMALL


def test_neo4j_killed_mid_load_then_rerun_completes_exactly(cli_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = cli_env
    _wipe(server)
    cmd = [sys.executable, "-m", "engine.cli", "load", "--no-progress", "--batch-size", "500",
           "--bulk", "never"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with connect(server.client_settings()) as driver:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if _counts(driver)["ratings"] >= 5_000:
                break
            time.sleep(0.05)
    assert proc.poll() is None, "loader finished before Neo4j could be killed"
    pid = server.running_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the database dies, not the loader
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out.decode()

    server.start(timeout=240)  # crash recovery of the store
    with connect(server.client_settings()) as driver:
        partial = _counts(driver)["ratings"]
        assert 0 < partial < SMALL["ratings"]
    result = CliRunner().invoke(cli, ["load", "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "resumed after" in result.output
    with connect(server.client_settings()) as driver:
        assert _counts(driver) == SMALL
        records, _, _ = driver.execute_query(
            "MATCH (u:User)-[r:RATED]->(m:Movie) WITH u, m, count(r) AS n WHERE n > 1 "
            "RETURN count(*) AS dups")
        assert records[0]["dups"] == 0
