"""``engine rate`` / ``engine refresh``: new ratings in, refreshed recommendations out, no retraining."""

from __future__ import annotations

import time
from pathlib import Path

import click

from engine.cli.common import FINITE, INT64_MAX, AppContext
from engine.schema import MAX_TIMESTAMP

ID = click.IntRange(-(2**63), INT64_MAX)


@click.command()
@click.option("--user", "user_id", type=ID, help="userId (a new one creates the user).")
@click.option("--movie", "movie_id", type=ID, help="movieId (must be in the graph).")
@click.option("--rating", type=FINITE, help="The rating, on the loaded release's scale.")
@click.option("--timestamp", type=click.IntRange(0, MAX_TIMESTAMP),
              help="When it was given, epoch seconds (0 to 2^35) [default: now].")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
              help="A UTF-8 CSV of ratings instead: header userId,movieId,rating[,timestamp].")
@click.option("--batch-size", default=50_000, show_default=True, type=click.IntRange(1, 10_000_000),
              help="Ratings per transaction; the batches commit one by one.")
@click.pass_obj
def rate(app: AppContext, user_id: int | None, movie_id: int | None, rating: float | None,
         timestamp: int | None, file: Path | None, batch_size: int) -> None:
    """Write ratings into the graph (RATED edges) for `engine refresh` to fold in.

    Every rating is checked before anything is written: on the loaded release's scale
    (0.5-5.0 in half stars; whole stars 1-5 for ml-100k and ml-1m), of a movie the graph
    has, a timestamp in epoch seconds, each (user, movie) pair once per file. Any bad
    rating exits with code 2 and nothing is written. Then the ratings are written in
    batches of --batch-size, each batch one transaction: the batches commit one by one,
    so if one fails the batches before it stay written (writing them again is harmless).
    A rating of a pair already rated replaces it. The edge carries rating,
    timestamp (epoch seconds) and ratedAt (when written): any Cypher client that writes
    those is picked up by `engine refresh` too (README "Live updates").

    \b
    Examples:
      engine rate --user 1 --movie 1 --rating 4.5
      engine rate --user 900001 --movie 1 --rating 5 --timestamp 1700000000   # a new user
      engine rate --file tests/fixtures/live/new_ratings.csv
    """
    from engine.data.new_ratings import NewRating, read_ratings_csv
    from engine.jobs.rate import rate as run

    single = (user_id, movie_id, rating)
    if file is not None:
        if any(v is not None for v in (*single, timestamp)):
            raise click.UsageError("--file takes no --user/--movie/--rating/--timestamp")
        ratings = read_ratings_csv(file)
    elif None in single:
        raise click.UsageError("give --user, --movie and --rating (or --file)")
    else:
        assert user_id is not None and movie_id is not None and rating is not None
        ratings = [NewRating(user_id, movie_id, rating,
                             int(time.time()) if timestamp is None else timestamp)]
    written = run(app.neo4j(), ratings, batch_size=batch_size)
    users = len({r.user_id for r in ratings})
    click.echo(f"wrote {written} rating{'s' if written != 1 else ''} of {users} "
               f"user{'s' if users != 1 else ''}; `engine refresh` makes them count")


@click.command()
@click.option("--runs", "runs_dir", default="runs", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of run directories (engine train --out): the current run's model is read there.")
@click.option("--watch", is_flag=True, help="Keep the model in memory and refresh every --interval seconds.")
@click.option("--interval", "interval_s", default=1.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds between polls with --watch.")
@click.option("--for", "duration_s", type=click.FloatRange(0, None),
              help="With --watch: stop after this many seconds [default: until Ctrl-C].")
@click.option("--batch-users", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="Users per set (each set switches to its new lists in one transaction).")
@click.option("--wait", is_flag=True, help="If another refresh is running, wait for it (up to an hour).")
@click.pass_obj
def refresh(app: AppContext, runs_dir: Path, watch: bool, interval_s: float, duration_s: float | None,
            batch_users: int, wait: bool) -> None:
    """Recompute the top-K of users whose ratings changed since the current run, without retraining.

    The current run's saved model (RUNS/RUN_ID) folds each changed user's whole history in:
    item-item and graph-filter models pass the new rating row through their filter, factor
    and GNN models solve a least-squares user vector on the frozen item vectors, rating
    models the same on their decoder. The users' RECOMMENDED edges are replaced inside the
    current run (source 'model:live'): each set of users (--batch-users) switches to its
    new lists in one transaction, so a reader sees the old list or the new one, never a
    mix. Models with user vectors (not the rating models) update them in the vector index.
    A new user is personalised from their first rating.

    \b
    Examples:
      engine refresh                        # once, for every user changed since training
      engine refresh --watch                # poll every second until Ctrl-C
      engine refresh --watch --for 60 --interval 0.5 --runs runs
    """
    from engine.jobs.live import RefreshSummary
    from engine.jobs.live import refresh as run

    if duration_s is not None and not watch:
        raise click.UsageError("--for needs --watch")
    result = run(app.neo4j(), runs_dir, watch=watch, interval_s=interval_s, duration_s=duration_s,
                 batch_users=batch_users, wait_s=3600.0 if wait else None, report=click.echo)
    if isinstance(result, RefreshSummary):
        click.echo(f"refreshed {result.users} users of run {result.run_id} "
                   f"({result.personalised} personalised, {result.edges} RECOMMENDED edges) in "
                   f"{result.seconds:.1f}s (visible after {result.visible_seconds:.2f}s)")
        if result.skipped:
            click.echo(f"kept the lists of {len(result.skipped)} user(s) whose ratings could not be "
                       f"folded in (e.g. user {result.skipped[0]}; see the warnings above)")
    else:
        click.echo(f"stopped watching; refreshed {result} users")
