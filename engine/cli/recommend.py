"""``engine recommend / similar / explain / writeback``: read and write model output in the graph.

Reads run the ``cypher/recommend/`` files through :class:`engine.recommend.Reader`;
``writeback`` re-does the write-back of a saved run directory (see
:func:`engine.writeback.save_run_output`). An unknown user or movie exits with code 2.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from engine.cli.common import AppContext, driver_for, friendly_errors

FORMATS = ("table", "json", "csv")
EXIT_UNKNOWN_ID = 2


class UnknownIdExit(click.ClickException):
    """An id that is not in the graph: one line on stderr, exit code 2."""

    exit_code = EXIT_UNKNOWN_ID


def parse_years(text: str | None) -> tuple[int | None, int | None]:
    """``"1990:1999"`` -> (1990, 1999); ``"1990:"``, ``":1999"``, ``"1995"`` work too."""
    if not text:
        return None, None
    lo, sep, hi = text.partition(":")
    try:
        first = int(lo) if lo.strip() else None
        last = (int(hi) if hi.strip() else None) if sep else first
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: expected YEAR, FROM:TO, FROM: or :TO") from exc
    if first is not None and last is not None and last < first:
        raise click.BadParameter(f"{text!r}: the range is empty")
    return first, last


def _cell(value: Any, width: int = 60) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        value = ", ".join(_cell(v, width) for v in value)
    if isinstance(value, dict):
        value = json.dumps(value, default=str)
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """Rows as an aligned table, JSON (all columns) or CSV (the given columns)."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2, default=str, ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["|".join(map(str, v)) if isinstance(v, list) else
                             ("" if v is None else v) for v in (row.get(c) for c in columns)])
        return buf.getvalue().rstrip("\n")
    if not rows:
        return "(no rows)"
    cells = [[_cell(row.get(c), 200 if c == "explanation" else 48) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _read(app: AppContext, call: Any) -> Any:
    """Open a driver, run ``call(reader)``, map unknown ids to exit code 2."""
    from engine.recommend import Reader, UnknownIdError

    settings = app.neo4j()
    with driver_for(settings) as driver:
        try:
            return call(Reader(driver, settings.database))
        except UnknownIdError as exc:
            raise UnknownIdExit(str(exc)) from exc


format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                             show_default=True, help="Output format.")


@click.command()
@click.option("--user", "user_id", type=int, required=True, help="userId to recommend for.")
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many movies.")
@click.option("--genre", "genres", multiple=True,
              help="Keep movies in this genre (repeat for any of several).")
@click.option("--year", "years", metavar="FROM:TO", help="Keep movies from these years, e.g. 1990:1999.")
@click.option("--min-score", type=float, help="Keep model rows scoring at least this.")
@click.option("--explain", "with_explanation", is_flag=True,
              help="Add the explanation column (why each movie).")
@click.option("--least", is_flag=True,
              help="The LEAST relevant unrated movies instead (lowest model affinity).")
@format_option
@click.pass_obj
@friendly_errors
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
    span = parse_years(years)
    if least:
        if genres or years or min_score is not None:
            raise click.UsageError("--least takes no --genre/--year/--min-score filters")
        rows = _read(app, lambda r: r.least_relevant(user_id, k))
        columns = ["rank", "movieId", "title", "year", "genres", "affinity", "source"]
    else:
        rows = _read(app, lambda r: r.recommend(user_id, k, genres=genres, years=span,
                                                min_score=min_score))
        columns = ["rank", "movieId", "title", "year", "genres", "score", "source"]
        if with_explanation:
            columns.append("explanation")
    click.echo(render(rows, columns, fmt))


@click.command()
@click.option("--movie", "movie_id", type=int, help="movieId: movies similar to this one.")
@click.option("--user", "user_id", type=int, help="userId: users similar to this one instead.")
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many rows.")
@format_option
@click.pass_obj
@friendly_errors
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
    if (movie_id is None) == (user_id is None):
        raise click.UsageError("give exactly one of --movie or --user")
    if movie_id is not None:
        rows = _read(app, lambda r: r.similar_movies(movie_id, k))
        columns = ["rank", "movieId", "title", "year", "genres", "score", "source"]
    else:
        rows = _read(app, lambda r: r.similar_users(user_id, k))
        columns = ["rank", "userId", "score", "source", "ratings", "sharedFavourites", "examples"]
    click.echo(render(rows, columns, fmt))


@click.command()
@click.option("--user", "user_id", type=int, required=True, help="userId.")
@click.option("--movie", "movie_id", type=int, required=True, help="movieId.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output format.")
@click.pass_obj
@friendly_errors
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
    row = _read(app, lambda r: r.explain(user_id, movie_id))
    if fmt == "json":
        click.echo(json.dumps(row, indent=2, default=str, ensure_ascii=False))
        return
    width = max(len(k) for k in row)
    for key, value in row.items():
        if isinstance(value, list) and value and isinstance(value[0], dict) or key == "paths":
            click.echo(f"{key.ljust(width)}  ")
            for item in value:
                click.echo(f"{'':{width}}  - {_cell(item, 200)}")
        else:
            click.echo(f"{key.ljust(width)}  {_cell(value, 300)}")


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--batch-size", default=20_000, show_default=True, type=click.IntRange(min=1),
              help="Edges per write transaction.")
@click.option("--keep-runs", default=3, show_default=True, type=click.IntRange(min=1),
              help="Runs (the new current one included) whose edges are kept.")
@click.option("--progress/--no-progress", default=True, help="Progress bars.")
@click.pass_obj
@friendly_errors
def writeback(app: AppContext, run_dir: Path, batch_size: int, keep_runs: int, progress: bool) -> None:
    """Write a saved run directory back into Neo4j and make it the current run.

    RUN_DIR holds run.json, arrays.npz and idmap.npz (engine.writeback.save_run_output).
    Readers switch atomically from the previous run; writing the same run again changes
    nothing, and writing an older kept run switches back to it.

    \b
    Examples:
      engine writeback runs/2024-05-01-lightgcn
      engine writeback runs/old-run --keep-runs 5 --no-progress
    """
    from engine.writeback import WritebackError, load_run_output, write_back

    try:
        out = load_run_output(run_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot read run directory {run_dir}: {exc}") from exc
    settings = app.neo4j()
    with driver_for(settings) as driver:
        try:
            summary = write_back(driver, out, database=settings.database, batch_size=batch_size,
                                 keep_runs=keep_runs, progress=progress)
        except WritebackError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(summary.table())
