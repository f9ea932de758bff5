"""Creating the Neo4j driver, waiting for a server, and naming what went wrong.

A driver is created once (by a job, the CLI or a test fixture) and injected into the IO
modules (loader, export, write-back, reader). Connection problems become a
:class:`GraphConnectionError` with a message a person can act on; :func:`translate`
turns any other driver exception into a :class:`~engine.errors.ReelGraphError` for the
CLI's one-line error output.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import (
    AuthError,
    ClientError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from engine import __version__
from engine.errors import ReelGraphError
from engine.graphdb import queries
from engine.settings import Neo4jSettings

log = logging.getLogger(__name__)


class GraphConnectionError(ReelGraphError):
    """Neo4j could not be reached or refused the credentials."""


class GraphQueryError(ReelGraphError):
    """The server refused or failed a statement (the message names which and why)."""


#: The server's answer to too many failed logins (a ClientError, not an AuthError).
RATE_LIMIT = "Neo.ClientError.Security.AuthenticationRateLimit"


def is_rate_limited(exc: BaseException) -> bool:
    """Whether ``exc`` is the server's authentication rate limit."""
    return getattr(exc, "code", None) == RATE_LIMIT


def _rate_limited(uri: str) -> GraphConnectionError:
    return GraphConnectionError(
        f"Neo4j at {uri} refused the login for now (AuthenticationRateLimit: too many failed "
        "attempts); fix NEO4J_USER / NEO4J_PASSWORD (environment or .env), wait a few seconds, "
        "then retry"
    )


def _explain(settings: Neo4jSettings, exc: Exception) -> GraphConnectionError:
    if is_rate_limited(exc):
        return _rate_limited(settings.uri)
    if isinstance(exc, AuthError):
        return GraphConnectionError(
            f"Neo4j at {settings.uri} refused the credentials for user {settings.user!r}. "
            "Check NEO4J_USER / NEO4J_PASSWORD (environment or .env); a local server started "
            "by `engine db start` keeps its generated password in its data directory."
        )
    return GraphConnectionError(
        f"cannot reach Neo4j at {settings.uri} ({exc.__class__.__name__}: {exc}). "
        "Start the local server with `engine db start`, run `docker compose up --wait`, "
        "or point NEO4J_URI at a running server."
    )


#: What the server raises for a statement it refused on the data it met (a type error, an
#: arithmetic overflow): callers that isolate one bad row catch these without importing neo4j.
STATEMENT_ERRORS: tuple[type[Exception], ...] = (ClientError,)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is the server's or the connection's (retrying the work may succeed)."""
    return isinstance(exc, TransientError | ServiceUnavailable | SessionExpired | IncompleteCommit)


class RetryNotice(logging.Filter):
    """The driver's multi-line "Transaction failed and will be retried" warning, as one calm line.

    Managed transactions that meet a transient error (a ``DeadlockDetected`` between two
    lock-disjoint writers that still touch a shared index page, a leader switch) are
    retried by the driver, and succeed; the user has nothing to do. The record becomes one
    INFO line of :mod:`engine.graphdb.driver` (shown with ``-v``) naming the error code.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        if "ransaction failed and will be retried" not in text:  # managed and auto-commit retries
            return True
        cause = record.args[-1] if isinstance(record.args, tuple) and record.args else None
        code = getattr(cause, "code", None) or type(cause).__name__
        log.info("Neo4j: a transaction met a transient error (%s); the driver retried it", code)
        return False


_RETRY_NOTICE = RetryNotice()


def calm_retry_warnings() -> None:
    """Install :class:`RetryNotice` on the driver's session logger (idempotent)."""
    session_log = logging.getLogger("neo4j.session")
    if _RETRY_NOTICE not in session_log.filters:
        session_log.addFilter(_RETRY_NOTICE)


def connect(settings: Neo4jSettings, *, verify: bool = True) -> neo4j.Driver:
    """A driver for ``settings``; with ``verify``, fail fast with a clear message."""
    calm_retry_warnings()
    auth = (settings.user, settings.password) if settings.password is not None else None
    # Our statements are reviewed and tested; server notifications (e.g. "property key
    # does not exist" on a fresh database) would only be noise in the user's terminal.
    driver = GraphDatabase.driver(
        settings.uri, auth=auth, user_agent=f"reelgraph/{__version__}",
        notifications_min_severity="OFF",
    )
    if verify:
        try:
            driver.verify_connectivity()
            driver.execute_query(queries.load("admin/ping"), database_=settings.database)
        except (AuthError, ServiceUnavailable, SessionExpired, OSError, ValueError) as exc:
            driver.close()
            raise _explain(settings, exc) from exc
        except ClientError as exc:
            driver.close()
            if is_rate_limited(exc):
                raise _rate_limited(settings.uri) from exc
            raise
    return driver


@contextmanager
def open_driver(settings: Neo4jSettings) -> Iterator[neo4j.Driver]:
    """Connect, verify, and always close the driver (a context manager)."""
    driver = connect(settings)
    try:
        yield driver
    finally:
        driver.close()


def wait_until_ready(
    settings: Neo4jSettings, timeout: float, *, alive: Any = None, interval: float = 0.5
) -> float:
    """Poll until Bolt answers ``RETURN 1``; returns seconds waited.

    ``alive`` is an optional callable returning ``False`` once the server process died,
    so a crash is reported at once rather than after the timeout. Auth errors are not
    retried: a wrong password will not fix itself.
    """
    start = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - start < timeout:
        if alive is not None and not alive():
            raise GraphConnectionError("the Neo4j process exited before Bolt answered")
        try:
            driver = connect(settings, verify=False)
            try:
                # session.run: one attempt, no managed-transaction retry back-off.
                with driver.session(database=settings.database) as session:
                    session.run(queries.load("admin/ping")).consume()
                return time.monotonic() - start
            finally:
                driver.close()
        except AuthError as exc:
            raise _explain(settings, exc) from exc
        except ClientError as exc:
            if is_rate_limited(exc):  # retrying would only extend the lock-out
                raise _explain(settings, exc) from exc
            last = exc
            time.sleep(interval)
        except Exception as exc:  # noqa: BLE001 - any failure here means "not ready yet"
            last = exc
            time.sleep(interval)
    raise GraphConnectionError(
        f"Neo4j at {settings.uri} did not answer within {timeout:.0f}s (last error: {last})"
    )


_RESUME = ("re-run the same command once the server is back: a load resumes after its last "
           "committed batch, a write-back resumes its run, and readers keep the previous run")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


def translate(exc: BaseException) -> ReelGraphError | None:
    """A one-line :class:`ReelGraphError` for a Neo4j driver exception, else ``None``.

    Called by the CLI for exceptions the library did not translate itself: a server that
    died mid-command (``IncompleteCommit``, ``ServiceUnavailable``), the authentication
    rate limit, a transient failure, or a statement the server refused.
    """
    name = type(exc).__name__
    if isinstance(exc, ReelGraphError):
        return exc
    if isinstance(exc, IncompleteCommit):
        return GraphConnectionError(
            "Neo4j went away while a transaction was committing (IncompleteCommit); "
            f"check the server (`engine db status`, `engine db logs`) -- {_RESUME}"
        )
    if isinstance(exc, ServiceUnavailable | SessionExpired):
        return GraphConnectionError(
            f"lost the connection to Neo4j ({name}: {_first_line(exc)}); start or check the server "
            f"(`engine db start`, `engine db logs`) -- {_RESUME}"
        )
    if is_rate_limited(exc):
        return _rate_limited("the configured URI (NEO4J_URI)")
    if isinstance(exc, AuthError):
        return GraphConnectionError(
            f"Neo4j refused the login ({getattr(exc, 'code', name)}): wrong credentials; fix "
            "NEO4J_USER / NEO4J_PASSWORD (environment or .env) and retry"
        )
    if isinstance(exc, Neo4jError):
        message = (getattr(exc, "message", None) or str(exc)).splitlines()[0]
        if "MemoryPoolOutOfMemoryError" in str(exc) or "memory" in (exc.code or "").lower():
            return GraphQueryError(
                f"Neo4j ran out of transaction memory ({exc.code}): {message}; raise REELGRAPH_HEAP "
                f"or use smaller batches -- {_RESUME}"
            )
        if isinstance(exc, TransientError):
            return GraphQueryError(f"Neo4j reported a transient failure ({exc.code}); {_RESUME}")
        return GraphQueryError(f"Neo4j refused a statement ({exc.code}): {message}")
    if isinstance(exc, DriverError):
        return GraphConnectionError(f"Neo4j driver error ({name}): {_first_line(exc)}")
    return None
