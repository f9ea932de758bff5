"""Run ``engine`` commands against the test server the way a user does: password from the env."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner, Result

from engine.cli import cli
from engine.settings import Neo4jSettings


def env_for(settings: Neo4jSettings) -> dict[str, str]:
    """The environment a user sets for ``settings`` (credentials never go on a command line)."""
    return {"NEO4J_PASSWORD": settings.password or ""}


def conn_args(settings: Neo4jSettings) -> list[str]:
    """``--uri`` / ``--user`` of ``settings``."""
    return ["--uri", settings.uri, "--user", settings.user]


def engine(settings: Neo4jSettings, *args: str, **kw: Any) -> Result:
    """``engine --uri .. --user .. ARGS`` with ``NEO4J_PASSWORD`` in the environment."""
    return CliRunner(env=env_for(settings)).invoke(cli, [*conn_args(settings), *args], **kw)
