"""Issue 2: a real local Neo4j from Maven jars — lifecycle, persistence, Browser, errors."""

from __future__ import annotations

import json
import socket
import stat
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli
from engine.db import LocalServer, free_port
from engine.graphdb import connect
from engine.settings import ServerSettings


def _invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_start_write_stop_start_data_persists(tmp_path: Path) -> None:
    """engine db start -> driver write -> engine db stop -> start -> data still there."""
    data_dir, bolt, http = tmp_path / "inst", free_port(), free_port()
    flags = ["--data-dir", str(data_dir), "--bolt-port", str(bolt), "--http-port", str(http)]
    env = {"NEO4J_PASSWORD": "", "NEO4J_URI": "", "REELGRAPH_HEAP": "1g", "REELGRAPH_PAGECACHE": "128m"}
    result = _invoke("db", "start", *flags, env=env)
    assert result.exit_code == 0, result.output
    assert f"bolt://127.0.0.1:{bolt}" in result.output
    server = LocalServer(ServerSettings(data_dir=data_dir, bolt_port=bolt, http_port=http))
    try:
        creds = (data_dir / "reelgraph-credentials.json")
        assert creds.stat().st_mode & 0o077 == 0, "generated password must be private"
        driver = connect(server.client_settings())
        try:
            driver.execute_query(
                "UNWIND range(1, $n) AS i CREATE (:PersistProbe {i: i})", n=1000, database_="neo4j"
            )
        finally:
            driver.close()
        result = _invoke("db", "stop", *flags, env=env)
        assert result.exit_code == 0 and "stopped" in result.output, result.output
        assert server.running_pid() is None

        result = _invoke("db", "start", *flags, env=env)
        assert result.exit_code == 0, result.output
        driver = connect(server.client_settings())
        try:
            records, _, _ = driver.execute_query(
                "MATCH (p:PersistProbe) RETURN count(p) AS n, sum(p.i) AS s", database_="neo4j"
            )
        finally:
            driver.close()
        assert records[0]["n"] == 1000
        assert records[0]["s"] == 1000 * 1001 // 2
    finally:
        server.stop()
    assert server.running_pid() is None


def test_browser_page_is_served(neo4j_server) -> None:  # type: ignore[no-untyped-def]
    if neo4j_server.local is None:
        import pytest

        pytest.skip("Browser check needs the local server (NEO4J_URI points elsewhere)")
    url = f"{neo4j_server.local.status().http_url}/browser/"
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback only
        body = resp.read().decode("utf-8", errors="replace")
        assert resp.status == 200
    assert "<title>Neo4j Browser</title>" in body


def test_status_json_reports_version_pid_store(neo4j_server) -> None:  # type: ignore[no-untyped-def]
    local = neo4j_server.local
    assert local is not None
    s = local.settings
    result = _invoke(
        "db", "status", "--json", "--data-dir", str(s.data_dir),
        "--bolt-port", str(s.bolt_port), "--http-port", str(s.http_port),
    )
    assert result.exit_code == 0, result.output
    st = json.loads(result.output)
    assert st["running"] is True
    assert st["version"].startswith("5.26.")
    assert st["edition"] == "community"
    assert st["pid"] == local.running_pid()
    assert st["bolt_uri"] == f"bolt://127.0.0.1:{s.bolt_port}"
    assert st["store_bytes"] > 0
    human = _invoke("db", "status", "--data-dir", str(s.data_dir))
    assert human.exit_code == 0 and "running: Neo4j 5.26." in human.output


def test_status_of_a_stopped_instance_exits_3(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["db", "status", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 3
    assert "not running" in result.output


def test_bound_to_loopback_only(neo4j_server) -> None:  # type: ignore[no-untyped-def]
    conf = (neo4j_server.local.conf_dir / "neo4j.conf").read_text()
    assert "server.default_listen_address=127.0.0.1" in conf
    port = neo4j_server.local.settings.bolt_port
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def test_second_start_on_same_data_dir_is_refused(neo4j_server) -> None:  # type: ignore[no-untyped-def]
    s = neo4j_server.local.settings
    result = CliRunner().invoke(
        cli, ["db", "start", "--data-dir", str(s.data_dir), "--bolt-port", str(free_port()),
              "--http-port", str(free_port())],
    )
    assert result.exit_code == 1
    assert "already runs on" in result.output
    assert "Traceback" not in result.output


def test_busy_port_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["db", "start", "--data-dir", str(tmp_path / "x"), "--bolt-port", str(port),
                  "--http-port", str(free_port())],
        )
    assert result.exit_code == 1
    assert f"Bolt port {port} is already in use" in result.output
    assert "--bolt-port" in result.output
    assert "Traceback" not in result.output


def test_bad_credentials_give_a_clear_message(neo4j_server) -> None:  # type: ignore[no-untyped-def]
    uri = neo4j_server.settings.uri
    result = CliRunner(env={"NEO4J_PASSWORD": "definitely-wrong"}).invoke(
        cli, ["--uri", uri, "--user", "neo4j", "demo"],
    )
    assert result.exit_code == 1
    assert "refused the credentials for user 'neo4j'" in result.output
    assert "Traceback" not in result.output


def test_unreachable_server_gives_a_clear_message() -> None:
    port = free_port()  # nothing listens there
    result = CliRunner(env={"NEO4J_PASSWORD": "x"}).invoke(cli, ["--uri", f"bolt://127.0.0.1:{port}", "demo"])
    assert result.exit_code == 1
    assert f"cannot reach Neo4j at bolt://127.0.0.1:{port}" in result.output
    assert "engine db start" in result.output


def test_initial_password_reaches_neo4j_admin_exactly_through_the_argfile(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The real neo4j-admin reads the @file: the stored hash is that of the exact password."""
    import hashlib

    from engine.db.runtime import ensure_runtime

    secret = '-pä ss"wo\\rd#🎬\n\tend'
    monkeypatch.setenv("NEO4J_PASSWORD", secret)
    monkeypatch.setenv("LC_ALL", "C")  # Java must still read the file as UTF-8
    server = LocalServer(ServerSettings(tmp_path / "inst", free_port(), free_port(), "1g", "128m"))
    runtime = ensure_runtime(server.cache_dir)
    server._write_conf(runtime)
    server._set_initial_password(runtime)
    auth = server.home / "data" / "dbms" / "auth.ini"
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600, "issue 29: the password hash is private"
    line = auth.read_text().strip()
    user, credential, _ = line.split(":")
    algorithm, digest, salt, iterations = credential.split(",")
    assert (user, algorithm) == ("neo4j", "SHA-256")
    value = hashlib.sha256(bytes.fromhex(salt) + secret.encode()).digest()
    for _ in range(int(iterations) - 1):
        value = hashlib.sha256(value).digest()
    assert value.hex() == digest
    assert not list((server.home / "run").glob("*password*")), "the argfile must be gone"
