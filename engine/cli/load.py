"""``engine load``: MovieLens (or synthetic) data into Neo4j."""

from __future__ import annotations

import time
from pathlib import Path

import click

from engine.cli.common import AppContext
from engine.jobs.load import RELEASES


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
@click.option("--users", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="synthetic: number of users.")
@click.option("--movies", default=5_000, show_default=True, type=click.IntRange(min=1),
              help="synthetic: number of movies.")
@click.option("--ratings", default=1_000_000, show_default=True, type=click.IntRange(min=1),
              help="synthetic: number of ratings.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0),
              help="synthetic: random seed.")
@click.option("--progress/--no-progress", default=True, help="Progress bars.")
@click.pass_obj
def load(app: AppContext, name: str, path: Path | None, on_error: str, rejects: Path | None,
         batch_size: int, replace: bool, bulk: str, users: int, movies: int, ratings: int,
         seed: int, progress: bool) -> None:
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
    from engine.jobs import load as job

    if rejects is not None and not rejects.parent.is_dir():
        raise click.BadParameter(f"folder {rejects.parent} does not exist", param_hint="--rejects")
    t0 = time.perf_counter()
    data = job.read_data(name, path, on_error=on_error,  # type: ignore[arg-type]
                         synthetic=job.SyntheticShape(users, movies, ratings, seed))
    click.echo(f"read {data!r} in {time.perf_counter() - t0:.1f}s")
    if data.rejects:
        target = rejects or Path(f"{data.name}-rejects.csv")
        job.write_rejects(data.rejects, target)
        click.echo(f"skipped {len(data.rejects):,} bad line(s), listed in {target}; first ones:")
        for r in data.rejects[:5]:
            click.echo(f"  {r.message()}")
    settings = app.neo4j()
    summary = job.load(settings, data, batch_size=batch_size, replace=replace,
                       bulk=bulk, progress=progress, report=click.echo)  # type: ignore[arg-type]
    click.echo(summary.table())
    click.echo(f"loaded {data.name} into {settings.redacted()} in {time.perf_counter() - t0:.1f}s")
