"""``engine demo``: the main job, end to end, on the bundled data."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.common import AppContext


@click.command()
@click.option("--keep-running/--stop-after", default=True, show_default=True,
              help="Leave the local server running afterwards (to explore in Neo4j Browser).")
@click.option("--model", default=None, help="Model to train [default: the default model].")
@click.option("--user", "user_id", type=click.IntRange(min=0), default=1, show_default=True,
              help="Whose recommendations to print at the end.")
@click.option("--out", "out_dir", default="runs", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Run checkpoints folder.")
@click.pass_obj
def demo(app: AppContext, keep_running: bool, model: str | None, user_id: int, out_dir: Path) -> None:
    """Run the whole pipeline on the bundled data and print where to look.

    Neo4j (the server named by NEO4J_URI, else the local `engine db` server, started if
    needed) -> load the bundled ml-latest-small -> train the default model -> write
    embeddings and top-K recommendations back -> print recommendations with
    explanations for one user and the Neo4j Browser URL.

    \b
    Examples:
      engine demo
      engine demo --user 42 --stop-after
    """
    from engine.jobs.demo import run_demo
    from engine.recommend import render

    result = run_demo(app.neo4j, uri_given=app.uri is not None, model=model, user_id=user_id,
                      runs_dir=out_dir, keep_running=keep_running, report=click.echo)
    click.echo(f"[4/5] recommendations with explanations for user {user_id}:")
    columns = ["rank", "movieId", "title", "year", "genres", "score", "source", "explanation"]
    click.echo(render(result.recommendations, columns, "table"))
    click.echo("[5/5] explore in Neo4j Browser:")
    if result.browser_url is not None:
        settings = app.neo4j()
        click.echo(f"      {result.browser_url}  (connect to {settings.uri} as {settings.user}; the "
                   "password is NEO4J_PASSWORD, or the generated one `engine` commands read from "
                   "the server's data directory)")
        if not keep_running:
            click.echo("      local server stopped (--stop-after)")
    else:
        click.echo(f"      your server at {app.neo4j().uri}")
    click.echo(f"demo finished in {result.seconds:.1f}s")
