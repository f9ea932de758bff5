"""Issue 11 item 8: the initial password of a new local server never appears on a command line."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.db.runtime import Runtime
from engine.db.server import LocalServer, password_argfile
from engine.settings import ServerSettings

SECRET = '-pa ss"wo\\rd#\n2'


def test_password_goes_through_a_private_file_never_argv(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_PASSWORD", SECRET)
    server = LocalServer(ServerSettings(tmp_path / "inst", 7687, 7474, "1g", "128m"))
    seen: dict[str, Any] = {}

    def fake_run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        seen["argv"] = argv
        (arg,) = [a for a in argv if a.startswith("@")]
        path = Path(arg[1:])
        seen["mode"] = stat.S_IMODE(path.stat().st_mode)
        seen["text"] = path.read_text(encoding="utf-8")
        seen["path"] = path
        return subprocess.CompletedProcess(argv, 0, "ok", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    runtime = Runtime(java="java", java_version=17, lib=tmp_path, plugins=tmp_path)
    server._set_initial_password(runtime)
    assert not any(SECRET in a or 'ss"wo' in a for a in seen["argv"]), seen["argv"]
    assert seen["argv"][-3:-1] == ["dbms", "set-initial-password"]
    assert seen["mode"] == 0o600
    assert seen["text"] == password_argfile(SECRET)
    assert not seen["path"].exists(), "the password file must be deleted after use"


def test_argfile_quotes_every_special_character() -> None:
    assert password_argfile("abc") == '-- "abc"\n'
    assert password_argfile('a"b\\c\nd\re') == '-- "a\\"b\\\\c\\nd\\re"\n'
    assert "\n" not in password_argfile("x\ny")[:-1], "one line: a newline would end the token"


# -- issue 29 item 10: no secret in the JVM's environment, auth.ini never readable by others ------------

SECRETS = {"NEO4J_PASSWORD": "hunter2", "NEO4J_AUTH": "neo4j/hunter2", "NEO4J_ADMIN_PASSWORD": "x"}


def test_the_jvm_environment_drops_every_neo4j_secret(tmp_path: Path) -> None:
    from engine.db.process import jvm_env

    base = {"PATH": "/usr/bin", "JAVA_HOME": "/jdk", "NEO4J_URI": "bolt://x", "NEO4J_USER": "neo4j",
            **SECRETS}
    env = jvm_env(tmp_path / "home", tmp_path / "home" / "conf", base)
    assert not set(SECRETS) & set(env), env
    assert "hunter2" not in " ".join(env.values())
    assert env["PATH"] == "/usr/bin" and env["JAVA_HOME"] == "/jdk" and env["NEO4J_USER"] == "neo4j"
    home = tmp_path / "home"
    assert env["NEO4J_HOME"] == str(home) and env["NEO4J_CONF"] == str(home / "conf")
    assert base["NEO4J_PASSWORD"] == "hunter2", "the caller's mapping is left alone"


def test_the_server_jvm_and_neo4j_admin_get_no_password(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.db import server as srv

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    server = LocalServer(ServerSettings(tmp_path / "inst", 7687, 7474, "1g", "128m"))
    runtime = Runtime(java="java", java_version=17, lib=tmp_path, plugins=tmp_path)
    seen: dict[str, Any] = {}

    class FakeProc:
        pid = 4242

        def poll(self) -> None:
            return None

    def fake_popen(argv: list[str], **kw: Any) -> FakeProc:
        seen["server"] = kw["env"]
        return FakeProc()

    monkeypatch.setattr(srv.LocalServer, "_runtime", lambda self: runtime)
    monkeypatch.setattr(srv.LocalServer, "_set_initial_password", lambda self, rt: None)
    monkeypatch.setattr(srv.LocalServer, "running_pid", lambda self: None)
    monkeypatch.setattr(srv.LocalServer, "status", lambda self: None)
    monkeypatch.setattr(srv, "port_in_use", lambda port: False)
    monkeypatch.setattr(srv, "wait_until_ready", lambda *a, **kw: None)
    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    server.start()
    _, admin_env = server.admin_command("database", "info")
    for env in (seen["server"], admin_env):
        assert not set(SECRETS) & set(env) and env["NEO4J_HOME"] == str(server.home)


def test_auth_ini_is_created_private_and_set_initial_password_env_has_no_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_PASSWORD", SECRET)
    server = LocalServer(ServerSettings(tmp_path / "inst", 7687, 7474, "1g", "128m"))
    seen: dict[str, Any] = {}

    def fake_run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        """Like neo4j-admin: creates data/dbms/auth.ini with mode 0666 less the child's umask."""
        seen["env"] = kw["env"]
        umask = kw.get("umask", -1)
        if umask < 0:  # not set: the child inherits ours
            umask = os.umask(0)
            os.umask(umask)
        auth = server.home / "data" / "dbms" / "auth.ini"
        auth.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o666 & ~umask)  # the mode it is created with, whatever our own umask is
        seen["created"] = stat.S_IMODE(os.fstat(fd).st_mode)
        os.write(fd, b"neo4j:SHA-256,x,y,1024:\n")
        os.close(fd)
        return subprocess.CompletedProcess(argv, 0, "ok", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    old = os.umask(0o022)  # the usual umask: without care auth.ini would be 0644
    try:
        server._set_initial_password(Runtime(java="java", java_version=17, lib=tmp_path, plugins=tmp_path))
    finally:
        os.umask(old)
    assert "NEO4J_PASSWORD" not in seen["env"] and SECRET not in seen["env"].values()
    assert seen["created"] == 0o600, oct(seen["created"])
    assert stat.S_IMODE((server.home / "data" / "dbms" / "auth.ini").stat().st_mode) == 0o600


def test_a_generated_password_file_is_private_even_if_it_existed(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    server = LocalServer(ServerSettings(tmp_path / "inst", 7687, 7474, "1g", "128m"))
    creds = server.settings.credentials_path
    creds.parent.mkdir(parents=True, exist_ok=True)
    creds.write_text("{}")
    creds.chmod(0o644)
    monkeypatch.setattr(subprocess, "run",
                        lambda argv, **kw: subprocess.CompletedProcess(argv, 0, "ok", ""))
    server._set_initial_password(Runtime(java="java", java_version=17, lib=tmp_path, plugins=tmp_path))
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
