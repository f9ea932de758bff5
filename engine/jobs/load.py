"""``engine load``: read a release (bundled, cached, downloaded, or generated), then write it.

The online path (:func:`loader.ingest.load_dataset`) works against any server; the bulk
path (:func:`loader.bulk.bulk_load`) is taken for an empty database on the local
``engine db`` server when :func:`loader.bulk.decide` says so.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.db import LocalServer
from engine.graphdb import Runner, open_driver
from engine.settings import Neo4jSettings, ServerSettings, default_cache_dir
from loader import MovieLensData, Reject, bundled_dataset, generate_synthetic, read_movielens
from loader.bulk import BulkMode, bulk_load, decide, marker_path
from loader.ingest import DEFAULT_BATCH_SIZE, LoadSummary, load_dataset

log = logging.getLogger(__name__)

Report = Callable[[str], None]

#: Release names ``engine load NAME`` accepts.
RELEASES = ("ml-latest-small", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m",
            "ml-latest", "synthetic")


@dataclass(frozen=True)
class SyntheticShape:
    """Size of a SYNTHETIC MovieLens-shaped dataset (``engine load synthetic``)."""

    users: int = 10_000
    movies: int = 5_000
    ratings: int = 1_000_000
    seed: int = 0


def resolve_source(name: str, path: Path | None) -> Path:
    """Where to read NAME from: ``--path``, the bundled copy, the cache, or GroupLens."""
    if path is not None:
        return path
    if name == "ml-latest-small":
        return bundled_dataset()
    from loader.download import fetch

    return fetch(name, default_cache_dir() / "datasets")


def read_data(name: str, path: Path | None, *, on_error: Literal["fail", "skip"] = "fail",
              synthetic: SyntheticShape = SyntheticShape()) -> MovieLensData:
    """The validated release (or SYNTHETIC data when ``name == "synthetic"`` without a path)."""
    if name == "synthetic" and path is None:
        return generate_synthetic(users=synthetic.users, movies=synthetic.movies,
                                  ratings=synthetic.ratings, seed=synthetic.seed)
    source = resolve_source(name, path)
    explicit = name if (path is None or name != "ml-latest-small") else None
    return read_movielens(source, on_error=on_error, name=explicit)


def write_rejects(rejects: list[Reject], target: Path) -> None:
    """The rejected lines as CSV: file, line, problem, expected, text."""
    with open(target, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["file", "line", "problem", "expected", "text"])
        for r in rejects:
            out.writerow([r.file, r.line, r.problem, r.expected, r.text])


def local_server_for(settings: Neo4jSettings) -> LocalServer | None:
    """The `engine db` server that ``settings`` point at, if any (``None``: a remote server)."""
    server = LocalServer(ServerSettings.from_env())
    if server.running_pid() is None and not marker_path(server).is_file():
        return None
    if server.client_settings().uri != settings.uri or settings.database != "neo4j":
        return None
    return server


def load(settings: Neo4jSettings, data: MovieLensData, *, batch_size: int = DEFAULT_BATCH_SIZE,
         replace: bool = False, bulk: BulkMode = "auto", progress: bool = True,
         report: Report = log.info) -> LoadSummary:
    """Write ``data`` into the database ``settings`` name (online, or bulk when it applies)."""
    server = local_server_for(settings)
    if server is not None and marker_path(server).is_file():
        use_bulk, reason = decide(bulk, local=True, empty=True, ratings=len(data.ratings),
                                  interrupted=True)
    else:
        with open_driver(settings) as driver:
            runner = Runner(driver, settings.database)
            empty = bool(runner.read("admin/is_empty")[0]["empty"])
            use_bulk, reason = decide(bulk, local=server is not None, empty=empty,
                                      ratings=len(data.ratings), interrupted=False)
            if not use_bulk:
                report(reason)
                return load_dataset(runner, data, batch_size=batch_size, replace=replace,
                                    progress=progress)
    assert server is not None
    report(f"{reason}: neo4j-admin import (the server restarts; log "
           f"{server.home / 'logs' / 'import.log'})")
    return bulk_load(server, data, database=settings.database, progress=progress)
