"""``engine demo``: the main job, end to end, on the bundled data."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from engine.cli.common import AppContext, friendly_errors


@click.command()
@click.option("--keep-running/--stop-after", default=True, show_default=True,
              help="Leave the local server running afterwards (to explore in Neo4j Browser).")
@click.option("--model", default=None, help="Model to train [default: the benchmark's winner].")
@click.option("--user", "user_id", type=int, default=1, show_default=True,
              help="Whose recommendations to print at the end.")
@click.option("--out", "out_dir", default="runs", show_default=True, help="Run checkpoints folder.")
@click.pass_context
@friendly_errors
def demo(ctx: click.Context, keep_running: bool, model: str | None, user_id: int, out_dir: str) -> None:
    """Run the whole pipeline on the bundled data and print where to look.

    Neo4j (the server named by NEO4J_URI, else the local `engine db` server, started if
    needed) -> load the bundled ml-latest-small -> train the default model -> write
    embeddings and top-K recommendations back -> print recommendations with
    explanations for one user and the Neo4j Browser URL.

    \b
    Example:
      engine demo
      engine demo --user 42 --stop-after
    """
    from engine.cli.load import load
    from engine.cli.train import train
    from engine.db import LocalServer
    from engine.graphdb import open_driver
    from engine.settings import ServerSettings

    app: AppContext = ctx.obj
    t0 = time.monotonic()
    local = None
    if not (app.uri or os.environ.get("NEO4J_URI")):
        local = LocalServer(ServerSettings.from_env())
        if local.running_pid() is None:
            click.echo(f"[1/5] starting local Neo4j in {local.home} ...")
            local.start()
        else:
            click.echo(f"[1/5] reusing the local Neo4j already running on {local.home}")
    else:
        click.echo("[1/5] using the Neo4j server named by NEO4J_URI / --uri")
    settings = app.neo4j()
    with open_driver(settings) as driver:
        records, _, _ = driver.execute_query(
            "CALL dbms.components() YIELD versions, edition RETURN versions[0] AS v, edition",
            database_="system",
        )
        click.echo(f"      Neo4j {records[0]['v']} {records[0]['edition']} ready at {settings.uri}"
                   f" ({time.monotonic() - t0:.0f}s)")

    click.echo("[2/5] loading the bundled ml-latest-small ...")
    ctx.invoke(load, name="ml-latest-small", replace=True, progress=False)
    click.echo(f"      ({time.monotonic() - t0:.0f}s)")

    click.echo("[3/5] training the default model and writing it back ...")
    ctx.invoke(train, model=model, out_dir=Path(out_dir), progress=False)
    click.echo(f"      ({time.monotonic() - t0:.0f}s)")

    click.echo(f"[4/5] recommendations with explanations for user {user_id}:")
    root = ctx.find_root().command
    recommend_cmd = root.commands.get("recommend") if isinstance(root, click.Group) else None
    if recommend_cmd is not None:
        ctx.invoke(recommend_cmd, user_id=user_id, k=10, with_explanation=True)
    else:
        click.echo("      (engine recommend is not part of this build yet)")

    click.echo("[5/5] explore in Neo4j Browser:")
    if local is not None:
        st = local.status()
        click.echo(f"      {st.http_url}/browser/  (connect to {st.bolt_uri} as neo4j; password in "
                   f"{local.settings.credentials_path} unless NEO4J_PASSWORD is set)")
        if not keep_running:
            local.stop()
            click.echo("      local server stopped (--stop-after)")
    else:
        click.echo(f"      your server at {settings.uri}")
    click.echo(f"demo finished in {time.monotonic() - t0:.1f}s")
