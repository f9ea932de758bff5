"""``engine db``: run a real local Neo4j 5.26 Community from Maven Central jars."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from engine.cli.common import server_options


def _server(data_dir: Path | None, bolt_port: int | None, http_port: int | None,
            plugins: tuple[str, ...] | None = None):
    from engine.db import LocalServer
    from engine.settings import ServerSettings

    return LocalServer(ServerSettings.from_env(data_dir, bolt_port, http_port, plugins))


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{n} B"


@click.group()
def db() -> None:
    """Run a local Neo4j without Docker (jars from Maven Central, bound to 127.0.0.1).

    \b
    Examples:
      engine db start                         # default: ports 7687/7474
      engine db start --data-dir /tmp/n2 --bolt-port 7688 --http-port 7475
      engine db start --plugins gds           # + OpenGDS (GPLv3, fetched on first use)
      engine db status --json
      engine db logs -n 100
      engine db stop
    """


@db.command()
@server_options
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for Bolt.")
@click.option(
    "--plugins", "plugins", multiple=True, metavar="NAME", envvar="REELGRAPH_PLUGINS",
    show_envvar=True,
    help="Also load an optional plugin (repeatable; comma-separated in the env var). "
    "gds: OpenGDS 2.13.9, Neo4j's open-source Graph Data Science library (GPLv3, "
    "at most 4 threads), fetched from Maven Central on first use, never bundled.",
)
def start(data_dir: Path | None, bolt_port: int | None, http_port: int | None, timeout: float,
          plugins: tuple[str, ...]) -> None:
    """Start the server and wait until Bolt answers.

    The first start fetches the jars with Maven (cached in ~/.cache/reelgraph) and sets
    the password: NEO4J_PASSWORD if set, else a generated one kept (mode 0600) in the
    data directory, which `engine` commands then use automatically.

    \b
    Examples:
      engine db start && open http://127.0.0.1:7474/browser/
      engine db start --plugins gds           # then: engine train --model gds_fastrp
    """
    names = tuple(p.strip() for raw in plugins for p in raw.split(",") if p.strip())
    server = _server(data_dir, bolt_port, http_port, names)
    t0 = time.monotonic()
    status = server.start(timeout=timeout)
    click.echo(
        f"Neo4j {status.version} ({status.edition or 'community'}) ready in "
        f"{time.monotonic() - t0:.1f}s\n"
        f"  bolt:    {status.bolt_uri}\n"
        f"  browser: {status.http_url}/browser/\n"
        f"  data:    {status.data_dir}\n"
        f"  pid:     {status.pid}"
        + (f"\n  plugins: {', '.join(status.plugins)}" if status.plugins else "")
    )


@db.command()
@server_options
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for a clean shutdown.")
def stop(data_dir: Path | None, bolt_port: int | None, http_port: int | None, timeout: float) -> None:
    """Stop the server cleanly (committed transactions are flushed to the store).

    \b
    Example:
      engine db stop --data-dir /tmp/n2
    """
    server = _server(data_dir, bolt_port, http_port)
    t0 = time.monotonic()
    if server.stop(timeout=timeout):
        click.echo(f"stopped Neo4j on {server.home} in {time.monotonic() - t0:.1f}s")
    else:
        click.echo(f"no Neo4j server is running on {server.home}")


@db.command()
@server_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(data_dir: Path | None, bolt_port: int | None, http_port: int | None, as_json: bool) -> None:
    """Report whether the server runs, its version, URIs, pid and store size.

    Exit code 0 when running, 3 when not (like `systemctl status`).

    \b
    Example:
      engine db status --json
    """
    st = _server(data_dir, bolt_port, http_port).status()
    if as_json:
        click.echo(json.dumps(st.as_dict(), indent=2))
    elif st.running:
        click.echo(
            f"running: Neo4j {st.version} {st.edition or ''}\n"
            f"  bolt:    {st.bolt_uri}\n"
            f"  browser: {st.http_url}/browser/\n"
            f"  pid:     {st.pid}   uptime: {st.uptime_s:.0f}s\n"
            f"  data:    {st.data_dir} ({_human_bytes(st.store_bytes)})"
        )
    else:
        click.echo(f"not running (data dir {st.data_dir}, store {_human_bytes(st.store_bytes)})")
    if not st.running:
        raise SystemExit(3)


@db.command()
@server_options
@click.option("-n", "--lines", default=50, show_default=True, help="How many lines.")
def logs(data_dir: Path | None, bolt_port: int | None, http_port: int | None, lines: int) -> None:
    """Print the end of the server's console log.

    \b
    Example:
      engine db logs -n 200
    """
    click.echo(_server(data_dir, bolt_port, http_port).logs(lines))
