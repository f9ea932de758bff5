"""The ``engine`` command line: a thin click layer over the library.

Settings come from options, the environment and ``.env``; this package is the only
place that wires settings, the Neo4j driver and the pure functions together. Heavy
imports (torch, the driver) happen inside commands so ``engine --help`` is instant.
"""

from __future__ import annotations

import logging
import sys

import click

from engine import __version__
from engine.cli.common import AppContext
from engine.cli.db import db
from engine.cli.demo import demo
from engine.cli.load import load
from engine.cli.recommend import explain, recommend, similar, writeback
from engine.cli.train import evaluate, models, train
from engine.cli.viz import viz


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--uri", envvar="NEO4J_URI", help="Bolt URI of Neo4j [env NEO4J_URI; default: the local `engine db` server].")
@click.option("--user", envvar="NEO4J_USER", help="Neo4j user [env NEO4J_USER; default neo4j].")
@click.option("--password", envvar="NEO4J_PASSWORD", help="Neo4j password [env NEO4J_PASSWORD].")
@click.option("--database", envvar="NEO4J_DATABASE", help="Database name [env NEO4J_DATABASE; default neo4j].")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.version_option(__version__, prog_name="engine (reelgraph)")
@click.pass_context
def cli(
    ctx: click.Context,
    uri: str | None,
    user: str | None,
    password: str | None,
    database: str | None,
    verbose: int,
) -> None:
    """ReelGraph: MovieLens -> Neo4j -> GNN -> explainable recommendations in Cypher.

    \b
    Examples:
      engine db start                 # local Neo4j 5.26 from Maven jars (127.0.0.1)
      engine demo                     # the whole pipeline on the bundled data
      NEO4J_URI=bolt://host:7687 engine demo   # use an existing server instead
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(uri=uri, user=user, password=password, database=database)


cli.add_command(db)
cli.add_command(demo)
cli.add_command(load)
cli.add_command(recommend)
cli.add_command(similar)
cli.add_command(explain)
cli.add_command(writeback)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(models)
cli.add_command(viz)


def main() -> None:
    """Console-script entry point: load ``.env`` first, then run the click group."""
    from engine.settings import load_dotenv_file

    load_dotenv_file()
    cli(prog_name="engine")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
