"""``engine recommend / similar / explain / writeback``: read and write model output in the graph.

Reads run the ``cypher/recommend/`` files through :class:`engine.graphdb.reader.Reader`;
``writeback`` re-does the write-back of a saved run directory. An unknown user or movie
exits with code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from engine.cli.common import FINITE, AppContext

FORMATS = ("table", "json", "csv")
#: Ids are Neo4j integers (64-bit); larger values are refused by click, not by the driver.
ID = click.IntRange(-(2**63), 2**63 - 1)


def read(app: AppContext, call: Callable[[Any], Any]) -> Any:
    """Open a driver, run ``call(reader)``."""
    from engine.graphdb import open_driver
    from engine.graphdb.reader import Reader

    settings = app.neo4j()
    with open_driver(settings) as driver:
        return call(Reader(driver, settings.database))


format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                             show_default=True, help="Output format.")


@click.command()
@click.option("--user", "user_id", type=ID, required=True, help="userId to recommend for.")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many movies.")
@click.option("--genre", "genres", multiple=True,
              help="Keep movies in this genre (repeat for any of several).")
@click.option("--year", "years", metavar="FROM:TO", help="Keep movies from these years, e.g. 1990:1999.")
@click.option("--min-score", type=FINITE, help="Keep model rows scoring at least this.")
@click.option("--explain", "with_explanation", is_flag=True,
              help="Add the explanation column (why each movie).")
@click.option("--least", is_flag=True,
              help="The LEAST relevant unrated movies instead (lowest model affinity).")
@format_option
@click.pass_obj
def recommend(app: AppContext, user_id: int, k: int, genres: tuple[str, ...], years: str | None,
              min_score: float | None, with_explanation: bool, least: bool, fmt: str) -> None:
    """Top-K movies for a user from the current model run (cypher/recommend/for_user.cypher).

    Each row says where it came from (source): 'model' (the run's RECOMMENDED edges),
    'model:vector' (next best by the run's embeddings), or for users the model has not
    seen, 'cold-start:genre-popularity' / 'cold-start:popularity'. An unknown user exits
    with code 2.

    \b
    Examples:
      engine recommend --user 1
      engine recommend --user 1 -k 5 --genre Comedy --genre Drama --year 1990:1999 --explain
      engine recommend --user 1 --min-score 0.5 --format json
      engine recommend --user 1 --least -k 5          # what the model thinks you'd hate
    """
    from engine.recommend import parse_years, render

    span = parse_years(years)
    if least:
        if genres or years or min_score is not None:
            raise click.UsageError("--least takes no --genre/--year/--min-score filters")
        rows = read(app, lambda r: r.least_relevant(user_id, k))
        columns = ["rank", "movieId", "title", "year", "genres", "affinity", "source"]
    else:
        rows = read(app, lambda r: r.recommend(user_id, k, genres=genres, years=span,
                                               min_score=min_score))
        columns = ["rank", "movieId", "title", "year", "genres", "score", "source"]
        if with_explanation:
            columns.append("explanation")
    click.echo(render(rows, columns, fmt))  # type: ignore[arg-type]
    if not rows and (genres or years or min_score is not None):
        click.echo("hint: no movie passes --genre/--year/--min-score together; loosen them",
                   err=True)


@click.command()
@click.option("--movie", "movie_id", type=ID, help="movieId: movies similar to this one.")
@click.option("--user", "user_id", type=ID, help="userId: users similar to this one instead.")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many rows.")
@format_option
@click.pass_obj
def similar(app: AppContext, movie_id: int | None, user_id: int | None, k: int, fmt: str) -> None:
    """Movies similar to a movie (or users similar to a user) by the current run's vectors.

    Uses the run's vector index (db.index.vector.queryNodes); a run without embeddings
    falls back to its SIMILAR edges, else to co-rating. Unknown ids exit with code 2.

    \b
    Examples:
      engine similar --movie 1                 # like Toy Story (1995)
      engine similar --movie 2571 -k 5 --format csv
      engine similar --user 1 -k 5
    """
    from engine.recommend import render

    if (movie_id is None) == (user_id is None):
        raise click.UsageError("give exactly one of --movie or --user")
    if movie_id is not None:
        rows = read(app, lambda r: r.similar_movies(movie_id, k))
        columns = ["rank", "movieId", "title", "year", "genres", "score", "source"]
    else:
        rows = read(app, lambda r: r.similar_users(user_id, k))
        columns = ["rank", "userId", "score", "source", "ratings", "sharedFavourites", "examples"]
    click.echo(render(rows, columns, fmt))  # type: ignore[arg-type]


@click.command()
@click.option("--user", "user_id", type=ID, required=True, help="userId.")
@click.option("--movie", "movie_id", type=ID, required=True, help="movieId.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output format.")
@click.pass_obj
def explain(app: AppContext, user_id: int, movie_id: int, fmt: str) -> None:
    """Why a movie is (or is not) recommended to a user (cypher/recommend/explain.cypher).

    Shows the model's score and rank, the user's favourites closest to the movie in
    embedding space, favourites that fans of the movie also loved (with example paths),
    how many of the user's most similar users loved it, and shared genres.

    \b
    Examples:
      engine explain --user 1 --movie 1196
      engine explain --user 1 --movie 1196 --format json
    """
    from engine.recommend import render_record

    row = read(app, lambda r: r.explain(user_id, movie_id))
    if fmt == "json":
        click.echo(json.dumps(row, indent=2, default=str, ensure_ascii=False))
    else:
        click.echo(render_record(row))


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--batch-size", default=20_000, show_default=True, type=click.IntRange(min=1),
              help="Edges per write transaction.")
@click.option("--keep-runs", default=3, show_default=True, type=click.IntRange(min=1),
              help="Runs (the new current one included) whose edges are kept.")
@click.option("--wait", is_flag=True,
              help="If another write-back is running, wait for it (up to an hour) instead of failing.")
@click.option("--force", is_flag=True,
              help="Write even if the run fails its quality gate or was trained on another dataset "
                   "than the graph holds (an explicit override; see README 'Failure modes').")
@click.option("--progress/--no-progress", default=True, help="Progress bars.")
@click.pass_obj
def writeback(app: AppContext, run_dir: Path, batch_size: int, keep_runs: int, wait: bool,
              force: bool, progress: bool) -> None:
    """Write a saved run back into Neo4j and make it the current run.

    RUN_DIR is a run (runs/RUN_ID) or its writeback/ folder (run.json, arrays.npz,
    idmap.npz). Readers switch atomically from the previous run; writing the same run
    again changes nothing, and writing an older kept run switches back to it. One
    write-back runs at a time (a lease in the database): a second one fails at once, or
    queues behind the first with --wait. A run trained on another dataset than the graph
    holds, or one that failed its quality gate, is refused (exit 2 / 1) unless --force.

    \b
    Examples:
      engine writeback runs/RUN_ID
      engine writeback runs/RUN_ID/writeback --keep-runs 5 --no-progress
      engine writeback runs/RUN_ID --wait           # queue behind a running write-back
    """
    from engine.graphdb import open_driver
    from engine.graphdb.lease import WAIT_MAX_S
    from engine.graphdb.writeback import write_back
    from engine.writeback import load_run_output

    folder = run_dir / "writeback" if (run_dir / "writeback").is_dir() else run_dir
    out = load_run_output(folder)
    settings = app.neo4j()
    with open_driver(settings) as driver:
        summary = write_back(driver, out, database=settings.database, batch_size=batch_size,
                             keep_runs=keep_runs, progress=progress,
                             wait_s=WAIT_MAX_S if wait else None, force=force)
    click.echo(summary.table())
