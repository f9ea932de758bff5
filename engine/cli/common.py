"""Shared CLI plumbing: the context object, common options, and the one error edge.

:class:`EngineGroup` catches every exception of a command once: a
:class:`~engine.errors.ReelGraphError` (or a Neo4j driver error, translated by
:func:`engine.graphdb.translate`) becomes one line on stderr with its exit code (1: the
operation failed, 2: the input was wrong); anything else one line naming the exception.
``-vv`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.errors import ReelGraphError
from engine.settings import Neo4jSettings, ServerSettings

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("engine.cli")


@dataclass
class AppContext:
    """Options of the ``engine`` group, resolved into settings on demand."""

    uri: str | None = None
    user: str | None = None
    database: str | None = None
    verbose: int = 0

    def neo4j(self, server: ServerSettings | None = None) -> Neo4jSettings:
        """Client settings: options, then environment / ``.env``, then the local server."""
        return Neo4jSettings.from_env(uri=self.uri, user=self.user, database=self.database,
                                      server=server)


class CommandError(click.ClickException):
    """A library error shown as one line, with the library's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]


def _one_line(exc: BaseException) -> CommandError:
    if isinstance(exc, ReelGraphError):
        return CommandError(str(exc), exc.exit_code)
    from engine.graphdb import translate  # imports the driver: only when something failed

    translated = translate(exc)
    if translated is not None:
        return CommandError(str(translated), translated.exit_code)
    if isinstance(exc, OverflowError):
        return CommandError(f"a number is out of range ({_first_line(exc)}): ids and counts are "
                            f"64-bit integers, at most {2**63 - 1}", 2)
    if isinstance(exc, zipfile.BadZipFile):
        return CommandError(f"a zip file is damaged ({_first_line(exc)}); download or copy it "
                            "again", 2)
    if isinstance(exc, MemoryError):
        return CommandError("out of memory: try a smaller selection (--sample-users, "
                            "--max-user-ratings) or a smaller model", 1)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return CommandError(f"{exc.strerror or exc}{where}", 1)
    return CommandError(f"unexpected error ({type(exc).__name__}: {_first_line(exc)}); run with "
                        "-vv for the traceback", 1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


class EngineGroup(click.Group):
    """A click group whose commands' errors become one-line messages (see module docstring)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            raise CommandError("interrupted; re-running the same command resumes or redoes it "
                               "safely", 130) from None
        except Exception as exc:  # noqa: BLE001 - the one edge where every error is shown
            obj = ctx.find_object(AppContext)
            if obj is not None and obj.verbose >= 2:
                raise
            raise _one_line(exc) from exc


class FiniteFloat(click.ParamType):
    """A float that is a number: ``nan`` and ``inf`` are refused at once (exit 2)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


#: ``--min-score`` / ``--min-rating``: finite numbers only.
FINITE = FiniteFloat()
#: The largest id or count Neo4j stores (a 64-bit integer).
INT64_MAX = 2**63 - 1


def server_options(func: F) -> F:
    """``--data-dir``, ``--bolt-port``, ``--http-port`` (with their env vars)."""
    func = click.option(
        "--http-port", type=click.IntRange(1, 65535), envvar="REELGRAPH_HTTP_PORT", show_envvar=True,
        help="HTTP port (Neo4j Browser) [default 7474].",
    )(func)
    func = click.option(
        "--bolt-port", type=click.IntRange(1, 65535), envvar="REELGRAPH_BOLT_PORT", show_envvar=True,
        help="Bolt port [default 7687].",
    )(func)
    func = click.option(
        "--data-dir", type=click.Path(file_okay=False, path_type=Path),
        envvar="REELGRAPH_DB_DIR", show_envvar=True,
        help="Instance folder (store, logs, config) [default ~/.local/share/reelgraph/neo4j].",
    )(func)
    return func
