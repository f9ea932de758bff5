"""Bulk path for an empty database on the local server: ``neo4j-admin database import``.

The online loader (:mod:`loader.ingest`) goes through Bolt and Cypher and is bounded by
per-row transaction work. For a first load into an *empty* database on the ReelGraph
local server, Neo4j's own offline importer is an order of magnitude faster, so
``engine load --bulk auto`` (the default) picks it when all of these hold:

* the target is the local server this machine manages (``engine db``), not a remote one
  or Docker (the importer needs the store on disk and the database stopped);
* the database holds no node at all;
* the dataset has at least :data:`BULK_MIN_RATINGS` ratings (below that, the restart
  costs more than the online path takes).

Steps: write the validated data as import CSVs (typed headers; ids are the MovieLens
ids), stop the server cleanly, run ``neo4j-admin database import full
--overwrite-destination neo4j`` from the same jars, start the server with the settings it
had, create the uniqueness constraints, write the ``:Dataset`` node and verify every count
against the source, exactly like the online path. The graph is identical to an online
load's (same labels, types, properties and value types).

Crash safety: a marker file (``DATA_DIR/run/bulk-import.json``) is written before the
server is stopped and removed only after the counts verify. If anything dies in between
(this process, the importer, the machine), the database may be half-imported; re-running
the same command sees the marker and imports again over it -- the database held nothing
but this import, so nothing is lost.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from engine.errors import ReelGraphError
from engine.graphdb import Runner, connect
from engine.schema import Label, Rel
from engine.settings import Neo4jSettings
from loader.dataset import MovieLensData
from loader.ingest import LoadSummary, ensure_schema, expected_counts, graph_counts, verify
from loader.provenance import fingerprint, mark_failed

log = logging.getLogger(__name__)

BulkMode = Literal["auto", "always", "never"]
BULK_MIN_RATINGS = 2_000_000  # measured crossover: at 1M both paths take ~25 s
MARKER = "bulk-import.json"
_ROWS_PER_WRITE = 500_000


class BulkImportError(ReelGraphError):
    """The offline import could not run or failed; the message says why and where to look."""


class ImportTarget(Protocol):
    """The local server an offline import runs against (:class:`engine.db.LocalServer` is one)."""

    home: Path

    def running_pid(self) -> int | None: ...  # noqa: D102

    def stop(self) -> bool: ...  # noqa: D102

    def admin_command(self, *args: str) -> tuple[list[str], dict[str, str]]: ...  # noqa: D102

    def reopen(self, timeout: float) -> Neo4jSettings:
        """Start again with the settings it last ran with; how to connect."""
        ...


@dataclass(frozen=True)
class ImportFile:
    """One ``--nodes`` / ``--relationships`` source: a header file and a data file."""

    kind: Literal["nodes", "relationships"]
    name: str  # label or relationship type
    header: Path
    data: Path
    rows: int

    def arg(self) -> str:
        return f"--{self.kind}={self.name}={self.header},{self.data}"


def marker_path(server: ImportTarget) -> Path:
    """The file that exists while a bulk import of ``server``'s database is unfinished."""
    return server.home / "run" / MARKER


def decide(mode: BulkMode, *, local: bool, empty: bool, ratings: int, interrupted: bool) -> tuple[bool, str]:
    """Whether to use the bulk path, and a one-line reason (pure; see the module doc)."""
    if mode == "never":
        return False, "--bulk never"
    if interrupted:
        if not local:
            raise BulkImportError("an interrupted bulk import is pending but the server is not local")
        return True, "an interrupted bulk import is pending: importing again over it"
    problems = []
    if not local:
        problems.append("the server is not the local `engine db` server")
    if not empty:
        problems.append("the database is not empty")
    if mode == "always":
        if problems:
            raise BulkImportError(f"--bulk always is not possible: {'; '.join(problems)}")
        return True, "--bulk always"
    if ratings < BULK_MIN_RATINGS:
        problems.append(f"fewer than {BULK_MIN_RATINGS:,} ratings")
    if problems:
        return False, "online path: " + "; ".join(problems)
    return True, "bulk path: empty local database"


# -- CSV files ---------------------------------------------------------------------------
def _text(value: object) -> str:
    """A CSV field: '' for null (imported as absent with --ignore-empty-strings)."""
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _write_rows(path: Path, rows: Iterable[Iterable[object]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for row in rows:
            writer.writerow([_text(v) for v in row])
            n += 1
    return n


def _write_header(path: Path, columns: list[str]) -> Path:
    path.write_text(",".join(columns) + "\n", encoding="utf-8")
    return path


def _ints(col: pd.Series) -> list[object]:
    """An Int64 column as Python ints and None."""
    return [None if pd.isna(v) else int(v) for v in col.to_numpy(dtype=object)]


def _rating_lines(ratings: pd.DataFrame) -> Iterator[str]:
    users = ratings["userId"].to_numpy(np.int64)
    movies = ratings["movieId"].to_numpy(np.int64)
    values = ratings["rating"].to_numpy(np.float64)
    stamps = ratings["timestamp"].to_numpy(np.int64)
    for lo in range(0, len(ratings), _ROWS_PER_WRITE):
        part = slice(lo, lo + _ROWS_PER_WRITE)
        yield "".join(
            f"{u},{m},{r!r},{t}\n"
            for u, m, r, t in zip(users[part].tolist(), movies[part].tolist(),
                                  values[part].tolist(), stamps[part].tolist(), strict=True)
        )


def write_import_files(data: MovieLensData, folder: Path, progress: bool = False) -> list[ImportFile]:
    """Write ``data`` as neo4j-admin import CSVs under ``folder``; returns the sources.

    Headers carry the value types of the online path (INTEGER ids and years, FLOAT
    ratings); ``:ID`` spaces are per label so user and movie ids never collide.
    """
    folder.mkdir(parents=True, exist_ok=True)
    users, movies = data.users, data.movies
    genres = sorted({g for gs in movies["genres"] for g in gs})
    genre_index = {g: i for i, g in enumerate(genres)}
    tags = data.tags.drop_duplicates(["userId", "movieId", "tag"])
    files: list[ImportFile] = []

    def add(kind: str, name: str, stem: str, columns: list[str], rows: Iterable[Iterable[object]]) -> None:
        header = _write_header(folder / f"{stem}.header.csv", columns)
        body = folder / f"{stem}.csv"
        n = _write_rows(body, rows)
        files.append(ImportFile(kind, name, header, body, n))  # type: ignore[arg-type]

    add("nodes", Label.USER, "users",
        ["userId:ID(User)", "gender", "age:long", "occupation", "zip"],
        zip(users["userId"].tolist(), users["gender"], _ints(users["age"]), users["occupation"],
            users["zip"], strict=True))
    add("nodes", Label.MOVIE, "movies",
        ["movieId:ID(Movie)", "title", "year:long", "imdbId:long", "tmdbId:long"],
        zip(movies["movieId"].tolist(), movies["title"], _ints(movies["year"]),
            _ints(movies["imdbId"]), _ints(movies["tmdbId"]), strict=True))
    add("nodes", Label.GENRE, "genres", [":ID(Genre)", "name"], ((i, g) for g, i in genre_index.items()))
    add("relationships", Rel.IN_GENRE, "in_genre", [":START_ID(Movie)", ":END_ID(Genre)"],
        ((m, genre_index[g]) for m, gs in zip(movies["movieId"].tolist(), movies["genres"], strict=True)
         for g in gs))
    add("relationships", Rel.TAGGED, "tagged",
        [":START_ID(User)", ":END_ID(Movie)", "tag", "timestamp:long"],
        zip(tags["userId"].tolist(), tags["movieId"].tolist(), tags["tag"], tags["timestamp"].tolist(),
            strict=True))

    header = _write_header(folder / "rated.header.csv",
                           [":START_ID(User)", ":END_ID(Movie)", "rating:double", "timestamp:long"])
    body = folder / "rated.csv"
    with body.open("w", encoding="utf-8") as fh, tqdm(
        total=len(data.ratings), desc=f"{data.name} import files", unit="rows", unit_scale=True,
        disable=not progress, leave=False,
    ) as bar:
        for chunk in _rating_lines(data.ratings):
            fh.write(chunk)
            bar.update(chunk.count("\n"))
    files.append(ImportFile("relationships", Rel.RATED, header, body, len(data.ratings)))
    return files


def has_multiline_text(data: MovieLensData) -> bool:
    """Whether any text field holds a line break (the importer must then parse slower)."""
    texts = [data.movies["title"], data.tags["tag"], data.users["occupation"], data.users["zip"]]
    return any(col.dropna().astype(str).str.contains("[\r\n]", regex=True).any() for col in texts)


def import_args(files: list[ImportFile], *, database: str, threads: int, multiline: bool,
                report: Path) -> list[str]:
    """The ``neo4j-admin`` arguments of one full import (pure)."""
    return [
        "database", "import", "full", database,
        "--overwrite-destination=true",
        "--id-type=integer",
        "--ignore-empty-strings=true",
        f"--multiline-fields={'true' if multiline else 'false'}",
        f"--threads={threads}",
        "--max-off-heap-memory=50%",
        f"--report-file={report}",
        *(f.arg() for f in files),
    ]


# -- orchestration -----------------------------------------------------------------------
def bulk_load(server: ImportTarget, data: MovieLensData, *, database: str = "neo4j",
              threads: int = 2, progress: bool = True, keep_files: bool = False) -> LoadSummary:
    """Load ``data`` into the (empty) database of the running local ``server`` offline.

    The caller has decided the bulk path applies (:func:`decide`); this stops and
    restarts the server. Raises :class:`BulkImportError` with the importer's log tail.
    """
    marker = marker_path(server)
    running = server.running_pid() is not None
    if not running and not marker.is_file():
        raise BulkImportError(f"the local server on {server.home} is not running (engine db start)")
    seconds: dict[str, float] = {}
    expected = expected_counts(data)
    folder = server.home / "import" / f"bulk-{data.name}"

    t = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    files = write_import_files(data, folder, progress)
    seconds["files"] = time.perf_counter() - t

    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"dataset": data.name, "md5": data.md5, "startedAt": time.time()}))
    t = time.perf_counter()
    if running:
        server.stop()
    seconds["stop"] = time.perf_counter() - t

    t = time.perf_counter()
    log_file = server.home / "logs" / "import.log"
    args = import_args(files, database=database, threads=threads,
                       multiline=has_multiline_text(data), report=server.home / "logs" / "import.report")
    argv, env = server.admin_command(*args)
    try:
        importer_rss = _run_importer(argv, env, log_file, progress)
    finally:
        seconds["import"] = time.perf_counter() - t
        t = time.perf_counter()
        client = server.reopen(timeout=300)
        seconds["start"] = time.perf_counter() - t

    t = time.perf_counter()
    with connect(client) as driver:
        runner = Runner(driver, database)
        ensure_schema(runner)
        seconds["schema"] = time.perf_counter() - t
        t = time.perf_counter()
        runner.write("load/dataset_begin", name=data.name, source=data.source, md5=data.md5,
                     fingerprint=fingerprint(data), synthetic=bool(data.synthetic),
                     expected=json.dumps(expected))
        try:
            in_graph = graph_counts(runner)
            verify(expected, in_graph)
            runner.autocommit("load/movie_rating_counts")
            runner.write("load/dataset_finish", name=data.name, counts=json.dumps(in_graph))
        except BaseException as exc:
            mark_failed(runner, data.name, exc)
            raise
        seconds["verify"] = time.perf_counter() - t
    marker.unlink(missing_ok=True)
    if not keep_files:
        shutil.rmtree(folder, ignore_errors=True)
    summary = LoadSummary(data.name, expected, in_graph, "bulk", 0, seconds)
    summary.importer_peak_rss_mib = importer_rss
    return summary


def _run_importer(argv: list[str], env: dict[str, str], log_file: Path, progress: bool) -> float:
    """Run the importer (its output to ``log_file``); returns its peak RSS in MiB."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if progress:
                tqdm.write(line.rstrip("\n"))
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    code = os.waitstatus_to_exitcode(status)
    log.info("neo4j-admin import: exit %d, peak RSS %.0f MiB", code, usage.ru_maxrss / 1024)
    if code != 0:
        tail = "\n".join(log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-25:])
        raise BulkImportError(
            f"neo4j-admin database import failed (exit {code}); the server was restarted and a "
            f"re-run imports again. Full log: {log_file}\n{tail}"
        )
    return usage.ru_maxrss / 1024
