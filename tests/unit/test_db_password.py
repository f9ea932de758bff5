"""Issue 11 item 8: the initial password of a new local server never appears on a command line."""

from __future__ import annotations

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
