"""The ``engine`` command line: a thin click layer over the library's jobs (:mod:`engine.jobs`).

Options, the environment and ``.env`` give the settings; each command parses its options,
calls one library entry point and prints the result. Errors are caught once, at
:class:`~engine.cli.common.EngineGroup`. Heavy imports (torch, the driver) happen inside
commands so ``engine --help`` is instant. Credentials come from the environment or
``.env`` only (``NEO4J_PASSWORD``), never from the command line.
"""

from __future__ import annotations

import logging
import sys
import warnings

import click

from engine import __version__
from engine.cli.common import AppContext, EngineGroup
from engine.cli.db import db
from engine.cli.demo import demo
from engine.cli.explore import explore
from engine.cli.live import rate, refresh
from engine.cli.load import load
from engine.cli.recommend import explain, recommend, similar, writeback
from engine.cli.train import evaluate, models, train
from engine.cli.viz import viz


@click.group(cls=EngineGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--uri", envvar="NEO4J_URI",
              help="Bolt URI of Neo4j [env NEO4J_URI; default: the local `engine db` server].")
@click.option("--user", envvar="NEO4J_USER",
              help="Neo4j user [env NEO4J_USER; default neo4j]; the password comes from "
                   "NEO4J_PASSWORD or .env, never from the command line.")
@click.option("--database", envvar="NEO4J_DATABASE",
              help="Database name [env NEO4J_DATABASE; default neo4j].")
@click.option("-v", "--verbose", count=True, help="More logging (-vv: debug, and tracebacks on errors).")
@click.version_option(__version__, prog_name="engine (reelgraph)")
@click.pass_context
def cli(ctx: click.Context, uri: str | None, user: str | None, database: str | None,
        verbose: int) -> None:
    """ReelGraph: MovieLens -> Neo4j -> GNN -> explainable recommendations in Cypher.

    \b
    Examples:
      engine db start                 # local Neo4j 5.26 from Maven jars (127.0.0.1)
      engine demo                     # the whole pipeline on the bundled data
      NEO4J_URI=bolt://127.0.0.1:7687 engine demo   # use an existing server instead
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(uri=uri, user=user, database=database, verbose=verbose)


for command in (db, demo, load, recommend, similar, explain, writeback, train, evaluate, models, viz,
                rate, refresh, explore):
    cli.add_command(command)


def quiet_library_warnings() -> None:
    """Deprecation notices of dependencies that users cannot act on stay out of normal output."""
    # torch_geometric 2.8 on torch >= 2.10 calls torch.jit.script at import time
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated",
                            category=FutureWarning)


def main() -> None:
    """Console-script entry point: load ``.env`` first, then run the click group."""
    from engine.settings import load_dotenv_file

    quiet_library_warnings()
    load_dotenv_file()
    cli(prog_name="engine")


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
