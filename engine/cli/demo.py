"""``engine demo``: the main job, end to end, on the bundled data."""

from __future__ import annotations

import time

import click

from engine.cli.common import AppContext, friendly_errors


@click.command()
@click.option("--keep-running/--stop-after", default=True, show_default=True,
              help="Leave the local server running afterwards (to explore in Neo4j Browser).")
@click.pass_obj
@friendly_errors
def demo(app: AppContext, keep_running: bool) -> None:
    """Run the whole pipeline on the bundled data and print where to look.

    Uses the server named by NEO4J_URI if set; otherwise starts (or reuses) the local
    `engine db` server.

    \b
    Example:
      engine demo
    """
    import os

    from engine.db import LocalServer
    from engine.graphdb import open_driver
    from engine.settings import ServerSettings

    t0 = time.monotonic()
    server_settings = ServerSettings.from_env()
    local = None
    if not (app.uri or os.environ.get("NEO4J_URI")):
        local = LocalServer(server_settings)
        if local.running_pid() is None:
            click.echo(f"starting local Neo4j in {local.home} ...")
            local.start()
        else:
            click.echo(f"reusing the local Neo4j already running on {local.home}")
    settings = app.neo4j(server_settings)
    with open_driver(settings) as driver:
        records, _, _ = driver.execute_query(
            "CALL dbms.components() YIELD name, versions, edition "
            "RETURN name, versions[0] AS version, edition",
            database_="system",
        )
        comp = records[0]
        click.echo(f"Neo4j {comp['version']} {comp['edition']} is ready at {settings.uri}")
    if local is not None:
        click.echo(f"Neo4j Browser: {local.status().http_url}/browser/")
        if not keep_running:
            local.stop()
    click.echo(f"demo finished in {time.monotonic() - t0:.1f}s")
