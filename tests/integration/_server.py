"""A private local Neo4j for tests that need their own server (small heap, kill -9, bulk import)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from engine.db import LocalServer, free_port
from engine.settings import ServerSettings


@contextmanager
def private_server(tmp_path_factory: pytest.TempPathFactory, name: str, *, heap: str = "1g",
                   pagecache: str = "256m", timeout: float = 240) -> Iterator[LocalServer]:
    """Start a fresh server in its own home under ``tmp_path_factory`` and stop it after use."""
    settings = ServerSettings(tmp_path_factory.mktemp(name), free_port(), free_port(), heap, pagecache)
    server = LocalServer(settings)
    server.start(timeout=timeout)
    try:
        yield server
    finally:
        server.stop()
