"""Settings from the environment (and ``.env``), never from code.

Precedence, highest first: command-line option, process environment, ``.env`` in the
current directory (or a parent), built-in default. The password of a local server
started by ``engine db start`` without ``NEO4J_PASSWORD`` is generated on first start
and kept (mode 0600) in that server's data directory; clients pick it up from there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BOLT_PORT = 7687
DEFAULT_HTTP_PORT = 7474
DEFAULT_DATABASE = "neo4j"
DEFAULT_USER = "neo4j"
CREDENTIALS_FILE = "reelgraph-credentials.json"


def load_dotenv_file() -> Path | None:
    """Load ``.env`` from the working directory or a parent; existing env vars win."""
    from dotenv import find_dotenv, load_dotenv

    found = find_dotenv(usecwd=True)
    if not found:
        return None
    load_dotenv(found, override=False)
    return Path(found)


def default_data_dir() -> Path:
    """``$REELGRAPH_DB_DIR`` or ``$XDG_DATA_HOME/reelgraph/neo4j`` (``~/.local/share/...``)."""
    env = os.environ.get("REELGRAPH_DB_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "reelgraph" / "neo4j"


def default_cache_dir() -> Path:
    """Where downloaded jars and datasets are cached (outside any repository)."""
    env = os.environ.get("REELGRAPH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reelgraph"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a port number") from exc


@dataclass(frozen=True)
class ServerSettings:
    """A local Neo4j started from Maven jars (``engine db``)."""

    data_dir: Path
    bolt_port: int = DEFAULT_BOLT_PORT
    http_port: int = DEFAULT_HTTP_PORT
    heap: str = "2g"
    pagecache: str = "512m"
    #: Optional plugins fetched on demand besides APOC core (``"gds"``: OpenGDS, GPLv3).
    plugins: tuple[str, ...] = ()

    @classmethod
    def from_env(
        cls,
        data_dir: Path | str | None = None,
        bolt_port: int | None = None,
        http_port: int | None = None,
        plugins: tuple[str, ...] | None = None,
    ) -> ServerSettings:
        if plugins is None:
            raw = os.environ.get("REELGRAPH_PLUGINS") or ""
            plugins = tuple(p.strip() for p in raw.split(",") if p.strip())
        return cls(
            data_dir=Path(data_dir).expanduser() if data_dir else default_data_dir(),
            bolt_port=bolt_port or _int_env("REELGRAPH_BOLT_PORT", DEFAULT_BOLT_PORT),
            http_port=http_port or _int_env("REELGRAPH_HTTP_PORT", DEFAULT_HTTP_PORT),
            heap=os.environ.get("REELGRAPH_HEAP") or "2g",
            pagecache=os.environ.get("REELGRAPH_PAGECACHE") or "512m",
            plugins=tuple(dict.fromkeys(plugins)),
        )

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / CREDENTIALS_FILE


def read_local_credentials(data_dir: Path) -> tuple[str, str] | None:
    """(user, password) a local server generated for itself, if any."""
    path = data_dir / CREDENTIALS_FILE
    if not path.is_file():
        return None
    obj = json.loads(path.read_text(encoding="utf-8"))
    return str(obj["user"]), str(obj["password"])


@dataclass(frozen=True)
class Neo4jSettings:
    """Where and how clients connect."""

    uri: str
    user: str
    password: str | None
    database: str = DEFAULT_DATABASE

    @classmethod
    def from_env(
        cls,
        uri: str | None = None,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        server: ServerSettings | None = None,
    ) -> Neo4jSettings:
        """Resolve settings; without a URI, point at the local ``engine db`` server."""
        server = server or ServerSettings.from_env()
        uri = uri or os.environ.get("NEO4J_URI") or server.bolt_uri
        user = user or os.environ.get("NEO4J_USER") or DEFAULT_USER
        password = password or os.environ.get("NEO4J_PASSWORD") or None
        if password is None and uri == server.bolt_uri:
            creds = read_local_credentials(server.data_dir)
            if creds is not None and creds[0] == user:
                password = creds[1]
        database = database or os.environ.get("NEO4J_DATABASE") or DEFAULT_DATABASE
        return cls(uri=uri, user=user, password=password, database=database)

    def redacted(self) -> str:
        return f"{self.user}@{self.uri} (database {self.database})"
