"""Shared CLI plumbing: the context object and error translation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.settings import Neo4jSettings, ServerSettings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppContext:
    """Options of the ``engine`` group, resolved into settings on demand."""

    uri: str | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None

    def neo4j(self, server: ServerSettings | None = None) -> Neo4jSettings:
        return Neo4jSettings.from_env(
            uri=self.uri, user=self.user, password=self.password, database=self.database,
            server=server,
        )


def server_options(func: F) -> F:
    """``--data-dir``, ``--bolt-port``, ``--http-port`` (with their env vars)."""
    func = click.option(
        "--http-port", type=int, envvar="REELGRAPH_HTTP_PORT", show_envvar=True,
        help="HTTP port (Neo4j Browser) [default 7474].",
    )(func)
    func = click.option(
        "--bolt-port", type=int, envvar="REELGRAPH_BOLT_PORT", show_envvar=True,
        help="Bolt port [default 7687].",
    )(func)
    func = click.option(
        "--data-dir", type=click.Path(file_okay=False, path_type=Path),
        envvar="REELGRAPH_DB_DIR", show_envvar=True,
        help="Instance folder (store, logs, config) [default ~/.local/share/reelgraph/neo4j].",
    )(func)
    return func


def friendly_errors(func: F) -> F:
    """Turn the library's expected failures into one-line click errors (exit 1)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from engine.db import ServerError
        from engine.graphdb import GraphConnectionError

        try:
            return func(*args, **kwargs)
        except (ServerError, GraphConnectionError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@contextmanager
def driver_for(settings: Neo4jSettings) -> Iterator[Any]:
    """Open, verify and close a driver (errors become click errors via friendly_errors)."""
    from engine.graphdb import open_driver

    with open_driver(settings) as driver:
        yield driver
