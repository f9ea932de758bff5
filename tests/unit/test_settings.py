from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.settings import Neo4jSettings, ServerSettings, load_dotenv_file


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE",
                 "REELGRAPH_DB_DIR", "REELGRAPH_BOLT_PORT", "REELGRAPH_HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_point_at_local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = Neo4jSettings.from_env()
    assert s.uri == "bolt://127.0.0.1:7687"
    assert s.user == "neo4j" and s.database == "neo4j" and s.password is None
    assert ServerSettings.from_env().data_dir == tmp_path / "reelgraph" / "neo4j"


def test_env_and_ports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REELGRAPH_BOLT_PORT", "7999")
    monkeypatch.setenv("REELGRAPH_DB_DIR", str(tmp_path / "d"))
    server = ServerSettings.from_env()
    assert server.bolt_port == 7999 and server.data_dir == tmp_path / "d"
    assert Neo4jSettings.from_env(server=server).uri == "bolt://127.0.0.1:7999"
    monkeypatch.setenv("NEO4J_URI", "neo4j+s://example.databases.neo4j.io")
    monkeypatch.setenv("NEO4J_PASSWORD", "pw")
    s = Neo4jSettings.from_env(server=server)
    assert s.uri.startswith("neo4j+s://") and s.password == "pw"
    assert "pw" not in s.redacted()


def test_bad_port_env_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELGRAPH_HTTP_PORT", "http")
    with pytest.raises(ValueError, match="REELGRAPH_HTTP_PORT='http' is not a port"):
        ServerSettings.from_env()


def test_generated_local_password_is_used(tmp_path: Path) -> None:
    (tmp_path / "reelgraph-credentials.json").write_text(json.dumps({"user": "neo4j", "password": "gen"}))
    server = ServerSettings(data_dir=tmp_path, bolt_port=7001)
    assert Neo4jSettings.from_env(server=server).password == "gen"
    # ...but never sent to another server
    other = Neo4jSettings.from_env(uri="bolt://elsewhere:7687", server=server)
    assert other.password is None


def test_dotenv_loaded_but_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("NEO4J_USER=from_dotenv\nNEO4J_DATABASE=films\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEO4J_DATABASE", "from_env")
    assert load_dotenv_file() == tmp_path / ".env"
    s = Neo4jSettings.from_env()
    assert s.user == "from_dotenv" and s.database == "from_env"
