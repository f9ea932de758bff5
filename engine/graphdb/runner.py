"""The one query runner: every ``cypher/`` statement ReelGraph runs goes through :class:`Runner`.

Statements are loaded by name (:mod:`engine.graphdb.queries`) and values reach them only
as parameters. The ways to run one:

* :meth:`Runner.write` -- a managed write (``execute_query``: the driver retries
  transient failures, so every statement must be safe to run twice);
* :meth:`Runner.read` -- an auto-commit read in a short session: one round trip
  (RUN + PULL pipelined), measured 1.6 ms per trivial query against 2.9 ms for
  ``execute_query(routing=READ)``; rows keep the driver's values (nodes, paths);
* :meth:`Runner.column` -- the first column of a read as an int64 array (ids);
* :meth:`Runner.batches` -- one write per parameter dict, with a progress bar;
* :meth:`Runner.phases` -- the same, streams of a phase at once (lock-disjoint blocks);
* :meth:`Runner.chunked` -- one read per chunk of a long list parameter, rows concatenated;
* :meth:`Runner.transaction` -- several statements in ONE managed write transaction
  (a batch and its checkpoint commit together);
* :meth:`Runner.autocommit` -- statements with ``CALL { ... } IN TRANSACTIONS``, which
  Neo4j runs only in an auto-commit transaction.

:func:`spans` is the one chunking helper of the project.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import neo4j
import numpy as np
from tqdm.auto import tqdm

from engine.graphdb import queries

__all__ = ["Runner", "spans"]


def spans(n: int, size: int) -> Iterator[tuple[int, int]]:
    """``(lo, hi)`` bounds of consecutive chunks of at most ``size`` of ``range(n)``."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    for lo in range(0, n, size):
        yield lo, min(lo + size, n)


class Runner:
    """Runs named Cypher statements on one database through an injected driver."""

    def __init__(self, driver: neo4j.Driver, database: str = "neo4j") -> None:
        self.driver = driver
        self.database = database

    def write(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """Rows of statement ``name`` run as a managed write (retried on transient errors)."""
        records, _, _ = self.driver.execute_query(
            queries.load(name), parameters_=params, database_=self.database,
            routing_=neo4j.RoutingControl.WRITE,
        )
        return [dict(r.items()) for r in records]

    def read(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """Rows of statement ``name`` from one auto-commit read (driver values kept)."""
        with self.driver.session(database=self.database,
                                 default_access_mode=neo4j.READ_ACCESS) as session:
            return [dict(r.items()) for r in session.run(queries.load(name), params)]

    def column(self, name: str, /, **params: Any) -> np.ndarray:
        """The first column of every row of a read, as int64 (e.g. node ids)."""
        with self.driver.session(database=self.database,
                                 default_access_mode=neo4j.READ_ACCESS) as session:
            result = session.run(queries.load(name), params)
            return np.fromiter((r[0] for r in result), dtype=np.int64)

    def chunked(self, name: str, key: str, values: Sequence[Any], *, size: int = 20_000,
                **params: Any) -> list[dict[str, Any]]:
        """Rows of ``name`` run once per chunk of ``values`` (passed as parameter ``key``)."""
        rows: list[dict[str, Any]] = []
        for lo, hi in spans(len(values), size):
            rows.extend(self.read(name, **{key: list(values[lo:hi])}, **params))
        return rows

    def batches(self, name: str, chunks: Iterable[dict[str, Any]], *, total: int, desc: str,
                progress: bool, count: str, size_key: str, workers: int = 1) -> int:
        """Write ``name`` once per parameter dict; returns the sum of result column ``count``.

        The bar advances by ``len(params[size_key])`` per batch (rows, users, movies...).
        ``workers`` > 1 runs that many batches at once, each in its own transaction (for
        batches whose writes commute, e.g. edges of disjoint users; a deadlock is a
        transient error the driver retries). At most ``2 * workers`` batches are built ahead.
        """
        done = 0
        with tqdm(total=total, desc=desc, unit="rows", unit_scale=True, disable=not progress,
                  leave=False) as bar:
            if workers <= 1:
                for params in chunks:
                    rows = self.write(name, **params)
                    done += int(rows[0][count]) if rows else 0
                    bar.update(len(params[size_key]))
                return done
            with ThreadPoolExecutor(max_workers=workers) as pool:
                pending: deque[tuple[Future[list[dict[str, Any]]], int]] = deque()

                def settle() -> None:
                    nonlocal done
                    future, size = pending.popleft()
                    rows = future.result()
                    done += int(rows[0][count]) if rows else 0
                    bar.update(size)

                try:
                    for params in chunks:
                        pending.append((pool.submit(self.write, name, **params),
                                        len(params[size_key])))
                        if len(pending) >= 2 * workers:
                            settle()
                    while pending:
                        settle()
                finally:
                    for future, _ in pending:
                        future.cancel()
        return done

    def phases(self, name: str, phases: Sequence[Sequence[Iterable[dict[str, Any]]]], *, total: int,
               desc: str, progress: bool, count: str, size_key: str) -> int:
        """Write ``name`` once per parameter dict, phase by phase; returns the sum of ``count``.

        The parameter streams of one phase are written at once, one thread each, and the
        next phase starts when they have all finished: for streams whose writes share no
        node (lock-disjoint blocks), so their transactions never wait on each other. A
        failure stops the phase's other streams at their next batch and is raised.
        """
        lock, stop = threading.Lock(), threading.Event()
        done = 0

        def run(stream: Iterable[dict[str, Any]], bar: tqdm) -> int:
            n = 0
            try:
                for params in stream:
                    if stop.is_set():
                        break
                    rows = self.write(name, **params)
                    n += int(rows[0][count]) if rows else 0
                    with lock:
                        bar.update(len(params[size_key]))
            except BaseException:
                stop.set()
                raise
            return n

        width = max((len(p) for p in phases), default=1)
        with tqdm(total=total, desc=desc, unit="rows", unit_scale=True, disable=not progress,
                  leave=False) as bar, ThreadPoolExecutor(max_workers=max(width, 1)) as pool:
            for phase in phases:
                futures = [pool.submit(run, stream, bar) for stream in phase]
                done += sum(f.result() for f in futures)
        return done

    def transaction(self, statements: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Run ``(name, params)`` statements in one managed write transaction, in order."""
        texts = [(queries.load(name), params) for name, params in statements]

        def work(tx: neo4j.ManagedTransaction) -> None:
            for text, params in texts:
                tx.run(text, params).consume()

        with self.driver.session(database=self.database) as session:
            session.execute_write(work)

    def autocommit(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """Rows of ``name`` in an auto-commit transaction (for ``CALL {} IN TRANSACTIONS``)."""
        with self.driver.session(database=self.database) as session:
            return [dict(r.items()) for r in session.run(queries.load(name), params)]
