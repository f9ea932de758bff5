"""The local server's process and ports: status record, pid checks, free ports (no Neo4j IO)."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"

#: Environment variables that hold a Neo4j secret (NEO4J_PASSWORD, NEO4J_AUTH, ...): never
#: handed to a JVM (its environment is readable in /proc/PID/environ and in crash dumps).
SECRET_ENV = re.compile(r"NEO4J_(?:\w*_)?(?:PASSWORD|PASS|AUTH|SECRET|TOKEN|CREDENTIALS?)(?:_\w*)?",
                        re.IGNORECASE)

#: The umask of the neo4j-admin process that writes ``data/dbms/auth.ini`` (the password
#: hash): the file (and its temp copy) is created 0600, never readable by others.
PRIVATE_UMASK = 0o077


@dataclass(frozen=True)
class ServerStatus:
    """What ``engine db status`` reports."""

    running: bool
    data_dir: Path
    pid: int | None = None
    bolt_uri: str | None = None
    http_url: str | None = None
    version: str | None = None
    edition: str | None = None
    store_bytes: int = 0
    uptime_s: float | None = None
    plugins: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "data_dir": str(self.data_dir),
            "pid": self.pid,
            "bolt_uri": self.bolt_uri,
            "http_url": self.http_url,
            "browser_url": f"{self.http_url}/browser/" if self.http_url else None,
            "version": self.version,
            "edition": self.edition,
            "store_bytes": self.store_bytes,
            "uptime_s": None if self.uptime_s is None else round(self.uptime_s, 1),
            "plugins": list(self.plugins),
        }


def secret_free_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) less the variables :data:`SECRET_ENV` names: for any JVM we run."""
    return {k: v for k, v in (os.environ if base is None else base).items() if not SECRET_ENV.fullmatch(k)}


def jvm_env(home: Path, conf_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a Neo4j JVM: :func:`secret_free_env`, ``NEO4J_HOME``/``NEO4J_CONF`` this instance's.

    The password reaches Neo4j only through ``neo4j-admin``'s argument file
    (:func:`engine.db.server.password_argfile`).
    """
    env = secret_free_env(base)
    env.update(NEO4J_HOME=str(home), NEO4J_CONF=str(conf_dir))
    return env


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now (for tests and parallel instances)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dir_size(path: Path) -> int:
    """Bytes of every file under ``path`` (files that vanish meanwhile count 0)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                pass
    return total


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie of ours counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (ours, not yet reaped) is dead for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def pid_is_our_server(pid: int, home: Path) -> bool:
    """The pid runs Neo4j on this home (guards against a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return pid_alive(pid)  # no /proc (macOS): trust the pid file
    args = [a.decode(errors="replace") for a in cmdline]
    return ENTRY_POINT in args and f"--home-dir={home}" in args


def reap(pid: int) -> None:
    """Collect our own child's exit status so it leaves no zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
