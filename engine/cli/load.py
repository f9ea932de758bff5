"""``engine load``: MovieLens (or synthetic) data into Neo4j."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine import queries
from engine.cli.common import AppContext, driver_for, friendly_errors

if TYPE_CHECKING:
    from engine.db import LocalServer
    from engine.settings import Neo4jSettings

RELEASES = ("ml-latest-small", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m",
            "ml-latest", "synthetic")


def bundled_dataset() -> Path | None:
    """The ml-latest-small zip shipped in the repository (absent in a wheel install)."""
    path = Path(__file__).resolve().parents[2] / "data" / "ml-latest-small.zip"
    return path if path.is_file() else None


def resolve_source(name: str, path: Path | None) -> Path:
    """Where to read NAME from: --path, the bundled copy, the cache, or GroupLens."""
    if path is not None:
        return path
    if name == "ml-latest-small" and (bundled := bundled_dataset()) is not None:
        return bundled
    from engine.settings import default_cache_dir
    from loader.download import fetch

    return fetch(name, default_cache_dir() / "datasets")


def local_server_for(settings: Neo4jSettings) -> LocalServer | None:
    """The running `engine db` server that ``settings`` point at, if any (else remote)."""
    from engine.db import LocalServer
    from engine.settings import ServerSettings

    server = LocalServer(ServerSettings.from_env())
    from loader.bulk import marker_path

    if server.running_pid() is None and not marker_path(server).is_file():
        return None
    if server.client_settings().uri != settings.uri or settings.database != "neo4j":
        return None
    return server


def write_rejects(rejects: list, target: Path) -> None:  # type: ignore[type-arg]
    """The rejected lines as CSV: file, line, problem, expected, text."""
    with open(target, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["file", "line", "problem", "expected", "text"])
        for r in rejects:
            out.writerow([r.file, r.line, r.problem, r.expected, r.text])


@click.command()
@click.argument("name", type=click.Choice(RELEASES), default="ml-latest-small", required=False)
@click.option("--path", type=click.Path(exists=True, path_type=Path),
              help="A MovieLens zip or folder (layout auto-detected) instead of NAME's download.")
@click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
              help="fail: stop at the first bad line, write nothing; skip: drop bad lines, report them.")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="With --on-error skip: CSV of dropped lines [default NAME-rejects.csv].")
@click.option("--batch-size", default=50_000, show_default=True, type=click.IntRange(min=1),
              help="Rows per write transaction.")
@click.option("--replace", is_flag=True, help="Wipe a database holding another dataset first.")
@click.option("--bulk", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Offline neo4j-admin import for an empty database on the local `engine db` server "
                   "(stops and restarts it); auto: when the database is empty and there are >= 2M ratings.")
@click.option("--users", default=10_000, show_default=True, help="synthetic: number of users.")
@click.option("--movies", default=5_000, show_default=True, help="synthetic: number of movies.")
@click.option("--ratings", default=1_000_000, show_default=True, help="synthetic: number of ratings.")
@click.option("--seed", default=0, show_default=True, help="synthetic: random seed.")
@click.option("--progress/--no-progress", default=True, help="Progress bars.")
@click.pass_obj
@friendly_errors
def load(
    app: AppContext, name: str, path: Path | None, on_error: str, rejects: Path | None,
    batch_size: int, replace: bool, bulk: str, users: int, movies: int, ratings: int, seed: int,
    progress: bool,
) -> None:
    """Load a MovieLens release (default: the bundled ml-latest-small) into Neo4j.

    Validates every file first (file:line, offending text and expected form on error),
    then writes users, movies, genres, RATED, TAGGED and a :Dataset provenance node in
    batches. Re-running is safe: an interrupted load resumes after its last committed
    batch; a finished one is left with identical counts.

    \b
    Examples:
      engine load                                  # bundled ml-latest-small
      engine load ml-100k --path ../shared/data/movielens/ml-100k.zip
      engine load ml-25m                           # download from GroupLens (md5 checked)
      engine load synthetic --users 160000 --movies 60000 --ratings 25000000 --replace
      engine load --path my.zip --on-error skip --rejects bad-rows.csv
      engine load synthetic --ratings 10000000 --bulk always   # offline import, empty local db
    """
    from loader import LoadError, generate_synthetic, read_movielens
    from loader.ingest import LoadConflictError, LoadVerificationError, load_dataset

    t0 = time.perf_counter()
    try:
        if name == "synthetic" and path is None:
            data = generate_synthetic(users=users, movies=movies, ratings=ratings, seed=seed)
        else:
            source = resolve_source(name, path)
            explicit = name if (path is None or name != "ml-latest-small") else None
            data = read_movielens(source, on_error=on_error, name=explicit)  # type: ignore[arg-type]
    except LoadError as exc:
        raise click.ClickException(f"{exc}\nnothing was written.") from exc
    except OSError as exc:  # download / file problems
        raise click.ClickException(str(exc)) from exc
    parsed = time.perf_counter() - t0
    click.echo(f"read {data!r} in {parsed:.1f}s")
    if data.rejects:
        target = rejects or Path(f"{data.name}-rejects.csv")
        write_rejects(data.rejects, target)
        click.echo(f"skipped {len(data.rejects):,} bad line(s), listed in {target}; first ones:")
        for r in data.rejects[:5]:
            click.echo(f"  {r.message()}")

    settings = app.neo4j()
    server = local_server_for(settings)
    from loader.bulk import BulkImportError, bulk_load, decide, marker_path

    interrupted = server is not None and marker_path(server).is_file()
    try:
        if interrupted:
            use_bulk, reason = decide(bulk, local=True, empty=True, ratings=len(data.ratings),  # type: ignore[arg-type]
                                      interrupted=True)
        else:
            with driver_for(settings) as driver:
                empty = bool(driver.execute_query(queries.load("admin/is_empty"),
                                                  database_=settings.database).records[0]["empty"])
                use_bulk, reason = decide(bulk, local=server is not None,  # type: ignore[arg-type]
                                          empty=empty, ratings=len(data.ratings), interrupted=False)
                if not use_bulk:
                    click.echo(reason)
                    summary = load_dataset(driver, data, database=settings.database,
                                           batch_size=batch_size, replace=replace, progress=progress)
        if use_bulk:
            assert server is not None
            click.echo(f"{reason}: neo4j-admin import (the server restarts; log "
                       f"{server.home / 'logs' / 'import.log'})")
            summary = bulk_load(server, data, database=settings.database, progress=progress)
    except (LoadConflictError, LoadVerificationError, BulkImportError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary.table())
    click.echo(f"loaded {data.name} into {settings.redacted()} in {time.perf_counter() - t0:.1f}s")
