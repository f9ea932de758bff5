"""``engine explore``: a local web app over the current run, with live what-if ratings."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from engine.cli.common import AppContext, CommandError


@click.command()
@click.option("--port", default=8050, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--runs", "runs_dir", default="runs", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of run directories (engine train --out): what-if ratings are folded into the "
                   "current run's model read there.")
@click.pass_obj
def explore(app: AppContext, port: int, runs_dir: Path) -> None:
    """Serve an interactive page over the current model run, on 127.0.0.1 only.

    Pick a user (by userId, or 'a new user'), filter by genres, a year range and a minimum
    score, set K, and read the top and least relevant lists with the Cypher library's
    explanation of each row, beside a graph of the user, the recommendations and their
    reasons (recent ratings, favourites, similar users); click a movie for its SIMILAR
    neighbours and why it is recommended. Rate a movie in the page: the rating is checked
    and written like `engine rate`, the user's list is refreshed by fold-in (like
    `engine refresh`, inside this process, or by a running `engine refresh --watch`) and
    every row is marked moved up, moved down, new or gone. All reads run the
    cypher/recommend files Neo4j Browser users run; the page needs no Internet access and
    never sees the database credentials. Ctrl-C stops it.

    \b
    Examples:
      engine explore                        # then open http://127.0.0.1:8050/
      engine explore --port 8060 --runs runs
    """
    try:
        from engine.explore.app import open_app
    except ImportError as exc:  # the explore extra is not installed
        raise CommandError(f"engine explore needs Dash and dash-cytoscape ({exc.name} is missing): "
                           "pip install 'reelgraph[explore]'", 1) from None

    with open_app(app.neo4j(), runs_dir, port=port) as served:
        click.echo(f"ReelGraph explore on {served.url} (Ctrl-C stops it)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopped")
