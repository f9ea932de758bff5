"""Clear errors when Java or Maven is missing; jar-cache bookkeeping."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.db import runtime
from engine.db.process import port_in_use
from engine.db.server import LocalServer, ServerError, min_heap
from engine.settings import ServerSettings


def test_missing_java_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(runtime.shutil, "which", lambda _name: None)
    with pytest.raises(runtime.RuntimeSetupError, match="Java not found.*Java 17 or 21"):
        runtime.find_java()


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(runtime.RuntimeSetupError, match="Java 11; Neo4j 5.26 needs Java 17 or 21"):
        runtime.find_java()


def test_missing_maven_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAVEN", raising=False)
    monkeypatch.setattr(runtime.shutil, "which", lambda _name: None)
    with pytest.raises(runtime.RuntimeSetupError, match="Maven not found.*apt-get install maven"):
        runtime.find_maven()


def test_start_without_maven_fails_cleanly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MAVEN", raising=False)
    real_which = runtime.shutil.which
    monkeypatch.setattr(runtime.shutil, "which", lambda n: None if n == "mvn" else real_which(n))
    server = LocalServer(ServerSettings(data_dir=tmp_path / "d", bolt_port=1, http_port=2),
                         cache_dir=tmp_path / "cache")
    monkeypatch.setattr("engine.db.server.port_in_use", lambda _p: False)
    with pytest.raises(ServerError, match="Maven not found"):
        server.start()
    assert not (tmp_path / "d" / "run" / "server.json").exists()


def test_artifact_names_strip_versions() -> None:
    assert runtime._artifact(Path("slf4j-api-2.0.16.jar")) == "slf4j-api"
    assert runtime._artifact(Path("apoc-core-5.26.19.jar")) == "apoc-core"
    assert runtime._artifact(Path("RoaringBitmap-0.9.0.jar")) == "RoaringBitmap"


def test_min_heap() -> None:
    assert min_heap("256m") == "256m"
    assert min_heap("4g") == "512m"
    with pytest.raises(ServerError, match="not like"):
        min_heap("lots")


def test_port_in_use_detects_listener() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        assert port_in_use(s.getsockname()[1])


def test_poms_ship_as_package_data() -> None:
    text = runtime._pom_text("pom.xml")
    assert "<artifactId>neo4j</artifactId>" in text and "neo4j-browser" in text
    assert "apoc-core" in runtime._pom_text("apoc-pom.xml")
    assert runtime.NEO4J_VERSION in text


def test_java_and_maven_run_without_neo4j_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue 29 item 10: no JVM ReelGraph starts (java -version, Maven) sees NEO4J_PASSWORD/NEO4J_AUTH."""
    import subprocess

    monkeypatch.setenv("NEO4J_PASSWORD", "hunter2")
    monkeypatch.setenv("NEO4J_AUTH", "neo4j/hunter2")
    envs: list[dict[str, str]] = []

    def fake_run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        envs.append(kw.get("env"))  # type: ignore[arg-type]
        return subprocess.CompletedProcess(argv, 0, "", 'openjdk version "17.0.2"')

    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    monkeypatch.setattr(runtime.subprocess, "run", fake_run)
    assert runtime.find_java() == (str(java), 17)
    runtime._mvn_copy("mvn", "<project/>", tmp_path / "out", tmp_path)
    assert len(envs) == 2
    for env in envs:
        assert env is not None and "PATH" in env
        assert "NEO4J_PASSWORD" not in env and "NEO4J_AUTH" not in env
