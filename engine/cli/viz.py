"""``engine viz``: figures and an interactive recommendation graph from Neo4j and a run directory."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.common import FINITE, AppContext


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="reports/latest",
              show_default=True, help="Folder for the PNGs, subgraph.html and index.html.")
@click.option("--user", "user_id", type=click.IntRange(-(2**63), 2**63 - 1), default=1, show_default=True,
              help="userId whose recommendation subgraph is drawn.")
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Run directory (runs/RUN_ID) for training curves and rating-model evaluation plots.")
@click.option("--genre", "genres", multiple=True, help="Keep recommendations in this genre (repeatable).")
@click.option("--year", "years", help="Keep recommendations from these years: YEAR, FROM:TO, FROM: or :TO.")
@click.option("--min-score", type=FINITE, help="Keep recommendations scoring at least this.")
@click.option("-k", type=click.IntRange(1, 100), default=10, show_default=True, help="Recommendations drawn.")
@click.option("--segments", default="20:200", show_default=True,
              help="Activity thresholds LOW:POWER: very-low < LOW <= normal < POWER <= power.")
@click.option("--projection", type=click.Choice(["auto", "pca", "tsne"]), default="auto", show_default=True,
              help="2-D projection of the embedding map; auto: PCA when the clusters separate in it, "
                   "else t-SNE (index.html says which and why).")
@click.option("--clusters", type=click.IntRange(1, 30), default=8, show_default=True, help="KMeans clusters.")
@click.pass_obj
def viz(app: AppContext, out_dir: Path, user_id: int, run_dir: Path | None, genres: tuple[str, ...],
        years: str | None, min_score: float | None, k: int, segments: str, projection: str,
        clusters: int) -> None:
    """Draw the graph and the current run: embedding map, clusters, activity, curves, a user's subgraph.

    Writes PNGs, subgraph.html (interactive, works offline) and index.html into --out.

    \b
    Examples:
      engine viz --out reports/latest --user 1 --run runs/RUN_ID
      engine viz --user 42 --genre Comedy --year 1990:1999 --min-score 0.5
      engine viz --projection tsne --clusters 10 --segments 20:200
    """
    from engine.evaluate.segments import Thresholds
    from engine.graphdb import open_driver
    from engine.graphdb.reader import Reader
    from engine.recommend import parse_years
    from engine.viz import report

    year_min, year_max = parse_years(years)
    settings = app.neo4j()
    opts = report.Options(out=out_dir, user_id=user_id, run_dir=run_dir, genres=list(genres) or None,
                          year_min=year_min, year_max=year_max, min_score=min_score, k=k,
                          segments=Thresholds.parse(segments), projection=projection,  # type: ignore[arg-type]
                          clusters=clusters)
    with open_driver(settings) as driver:
        reader = Reader(driver, settings.database)
        reader.check_genres(genres)
        sections = report.build(reader, opts)
    for s in sections:
        click.echo(f"{s.title}: {', '.join(s.files) if s.files else 'skipped (' + s.skipped + ')'}")
    click.echo(f"open {out_dir / 'index.html'}")
