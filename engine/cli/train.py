"""``engine train``, ``engine evaluate`` and ``engine models``: subgraph -> model -> run / report."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.cli.common import FINITE, INT64_MAX, AppContext

F = TypeVar("F", bound=Callable[..., Any])


def parse_date(value: str | None, option: str) -> int | None:
    """``YYYY-MM-DD`` (UTC) -> epoch seconds."""
    if value is None:
        return None
    try:
        return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date like 2015-01-31", param_hint=option) from exc


def parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are JSON where they parse (numbers, true, null), else text."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def selection_options(func: F) -> F:
    """Subgraph selection options (compile to parameterised Cypher in cypher/export)."""
    opts = [
        click.option("--min-user-ratings", default=1, show_default=True,
                     type=click.IntRange(0, INT64_MAX), help="Keep users with at least this many ratings."),
        click.option("--max-user-ratings", type=click.IntRange(1, INT64_MAX),
                     help="Drop users with more ratings (e.g. 200: 'bulk raters')."),
        click.option("--since", help="Keep ratings on/after this date (YYYY-MM-DD, UTC)."),
        click.option("--until", help="Keep ratings before this date (YYYY-MM-DD, UTC)."),
        click.option("--min-rating", type=FINITE, help="Keep only ratings >= this (implicit feedback)."),
        click.option("--genre", "genres", multiple=True,
                     help="Keep ratings of movies in these genres (repeatable)."),
        click.option("--sample-users", type=click.IntRange(1, INT64_MAX),
                     help="Seeded random sample of N users."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def selection_from(kw: dict[str, Any], seed: int):
    """The :class:`~engine.data.selection.Selection` of the selection options."""
    from engine.data.selection import Selection

    return Selection(
        min_ratings=kw["min_user_ratings"], max_ratings=kw["max_user_ratings"],
        min_ts=parse_date(kw["since"], "--since"), max_ts=parse_date(kw["until"], "--until"),
        min_rating=kw["min_rating"], genres=tuple(kw["genres"]) or None,
        sample_users=kw["sample_users"], seed=seed,
    )


def model_option(func: F) -> F:
    """``--model`` and ``--param KEY=VALUE``."""
    func = click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
                        help="Model or training parameter (repeatable), e.g. --param reg=500.")(func)
    return click.option("--model", default=None,
                        help="Model name (see `engine models`) [default: the default model].")(func)


@click.command()
def models() -> None:
    """List the models `engine train --model` accepts (the defaults are marked *).

    The default depends on the catalogue's size (the size rule, printed last).

    \b
    Example:
      engine models
    """
    from engine.models import MODELS
    from engine.models.sizing import DENSE, SCALABLE, size_rule

    for name, cls in sorted(MODELS.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        click.echo(f"{'*' if name in (DENSE, SCALABLE) else ' '} {name:<18} {cls.task:<8} {doc}")
    click.echo(f"* {size_rule()}")


_FASTRP_HELP = ("Append this many FastRP dimensions, computed by Neo4j Graph Data Science on "
                "each fit's train pairs, to the user and movie features of a graph model "
                "(hetero_sage, hetero_gat, hetero_sage_rating); needs `engine db start --plugins gds`.")


@click.command()
@model_option
@selection_options
@click.option("--valid-ratio", default=0.1, show_default=True, type=click.FloatRange(0.01, 0.5),
              help="Share of each user's ratings held out for early stopping / tuning.")
@click.option("--valid-split", type=click.Choice(["temporal-fraction", "random"]),
              default="temporal-fraction", show_default=True,
              help="How the validation ratings are chosen: each user's latest --valid-ratio (the "
                   "question production answers: what will they rate next?), or at random per user.")
@click.option("--tune/--no-tune", default=True, show_default=True,
              help="Grid-search closed-form models' params on the validation split.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("-k", "--top-k", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="Recommendations per user to write back.")
@click.option("--out", "out_dir", default="runs", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for run checkpoints.")
@click.option("--writeback/--no-writeback", default=True, show_default=True,
              help="Write embeddings and top-K RECOMMENDED edges back into Neo4j.")
@click.option("--keep-runs", default=3, show_default=True, type=click.IntRange(min=1),
              help="Write-back keeps this many runs.")
@click.option("--wait", is_flag=True,
              help="If another write-back is running, wait for it (up to an hour) instead of failing.")
@click.option("--force", is_flag=True,
              help="Write back even if the run fails its quality gate or the graph's dataset check "
                   "(an explicit override; see README 'Failure modes').")
@click.option("--store", type=click.Choice(["memory", "neo4j"]), default="memory",
              show_default=True,
              help="Where a GNN that reads PyG stores (hetero_sage, hetero_gat) gets its graph: an "
                   "in-memory HeteroData, or the Neo4j-backed FeatureStore/GraphStore (topology "
                   "pulled once, train-fitted features written as trainFeatures and read per "
                   "mini-batch).")
@click.option("--fastrp-features", default=0, show_default=True, type=click.IntRange(0, 4096),
              help=_FASTRP_HELP)
@click.option("--progress/--no-progress", default=True)
@click.pass_obj
def train(app: AppContext, model: str | None, params: tuple[str, ...], valid_ratio: float,
          valid_split: str, tune: bool, seed: int, device: str, top_k: int, out_dir: Path,
          writeback: bool, keep_runs: int, wait: bool, force: bool, store: str,
          fastrp_features: int, progress: bool, **selection_kw: Any) -> None:
    """Train a recommender on a Cypher-selected subgraph, save a run and write it back.

    A validation split of each user's latest ratings drives early stopping and tuning
    (--valid-split random for a random one); the chosen configuration is then refitted on
    ALL selected ratings, so what is written back reflects users' newest ratings. The
    default model follows the catalogue's size: the temporal graph filter
    (temporal_filter, dense [I, I] filters) up to 10,000 movies, and above that its
    scalable form (scalable_filter: dense on the 3,000 most-rated movies, low-rank
    factors on every movie), which trains at MovieLens-25M shape (bench/scale.py; see
    `engine models`). On large graphs the grid is tuned on a seeded sample of 2,000
    validation users. Held-out test metrics are `engine evaluate`'s job.
    The run becomes current only if its validation NDCG@10 beats popularity's on the same
    split (a rating model's RMSE the global mean's) and the graph still holds the dataset
    it was trained on; --force overrides both. gds_fastrp and --fastrp-features compute
    FastRP in Neo4j with the Graph Data Science plugin (`engine db start --plugins gds`).

    \b
    Examples:
      engine train                                  # default model, whole graph
      engine train --model lightgcn_csr --param epochs=50 --device cuda
      engine train --max-user-ratings 200 --since 2000-01-01 --min-rating 3.5
      engine train --model hetero_sage --store neo4j --param fanouts=10,5 --param max_edges=500000
      engine train --model gds_fastrp --param dim=256   # FastRP in Neo4j (GDS plugin)
      engine train --model hetero_sage --fastrp-features 64
    """
    from engine.jobs.train import train as run

    result = run(app.neo4j(), model=model, params=parse_params(params),
                 selection=selection_from(selection_kw, seed), valid_ratio=valid_ratio,
                 carve=valid_split, seed=seed, tune=tune, device=device,  # type: ignore[arg-type]
                 top_k=top_k, runs_dir=out_dir, writeback=writeback, keep_runs=keep_runs,
                 wait=wait, force=force, progress=progress, store=store,  # type: ignore[arg-type]
                 fastrp_features=fastrp_features, report=click.echo)
    click.echo(f"model {result.model} {result.params}")
    click.echo(f"validation NDCG@10 {result.valid.get('ndcg@10', float('nan')):.4f}  "
               f"Recall@10 {result.valid.get('recall@10', float('nan')):.4f}  "
               f"(refit on all {result.rows:,} ratings in {result.fit_seconds:.1f}s)")
    click.echo(f"checkpoint: {result.run_dir}")
    if result.writeback is not None:
        click.echo(f"write-back: {result.writeback}")
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in (result.stages or {}).items())
    click.echo(f"train finished in {result.seconds:.1f}s ({stages})")


@click.command()
@model_option
@selection_options
@click.option("--split", "split_name",
              type=click.Choice(["random", "temporal-last-n", "temporal-fraction", "temporal-cutoff",
                                 "ml100k-u1"]),
              default="random", show_default=True, help="Test protocol.")
@click.option("--test-ratio", default=0.25, show_default=True, type=click.FloatRange(0.01, 0.9),
              help="random: share of each user's ratings held out.")
@click.option("--last-n", default=1, show_default=True, type=click.IntRange(min=1),
              help="temporal-last-n: test ratings per user.")
@click.option("--fraction", default=0.2, show_default=True, type=click.FloatRange(0.01, 0.9),
              help="temporal-fraction: share of each user's latest ratings held out.")
@click.option("--cutoff", help="temporal-cutoff: ratings from this date on are test (YYYY-MM-DD).")
@click.option("--u1", "u1_path", type=click.Path(exists=True, path_type=Path),
              help="ml100k-u1: the ml-100k zip or folder holding u1.test.")
@click.option("--valid-ratio", default=0.25, show_default=True, type=click.FloatRange(0.01, 0.5),
              help="Validation carved from train (model selection only; temporal splits carve "
                   "by their own rule).")
@click.option("--tune/--no-tune", default=True, show_default=True)
@click.option("-k", "ks", multiple=True, type=click.IntRange(1, 1000), default=(10, 20),
              show_default=True)
@click.option("--segments", default="20:200", show_default=True,
              help="Activity thresholds LOW:POWER: very-low < LOW <= normal < POWER <= power.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON report [default: runs/eval-TIMESTAMP-MODEL/evaluation.json].")
@click.option("--runs", "runs_dir", default="runs", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder of runs and reports.")
@click.option("--fastrp-features", default=0, show_default=True, type=click.IntRange(0, 4096),
              help=_FASTRP_HELP)
@click.option("--progress/--no-progress", default=True)
@click.pass_obj
def evaluate(app: AppContext, model: str | None, params: tuple[str, ...], split_name: str,
             test_ratio: float, last_n: int, fraction: float, cutoff: str | None,
             u1_path: Path | None, valid_ratio: float, tune: bool, ks: tuple[int, ...],
             segments: str, seed: int, device: str, out_file: Path | None, runs_dir: Path,
             fastrp_features: int, progress: bool, **selection_kw: Any) -> None:
    """Held-out evaluation beside a popularity baseline (table + JSON).

    Full-catalogue ranking with training items excluded, batched over users:
    Precision/Recall/F1/NDCG/MAP/Hit@K, coverage, novelty, AUC; RMSE/MAE for rating
    models; the same metrics per activity segment. Hyper-parameters and epochs are chosen
    on a validation split carved from train by the test split's rule; the test split is
    used only for the report.

    \b
    Examples:
      engine evaluate                                    # default model, 75/25 per user
      engine evaluate --model lightgcn_csr -k 10 -k 50
      engine evaluate --split temporal-last-n --last-n 5
      engine evaluate --split temporal-fraction --fraction 0.2
      engine evaluate --split ml100k-u1 --u1 ../shared/data/movielens/ml-100k.zip --model i_autorec
      engine evaluate --split ml100k-u1 --u1 ../shared/data/movielens/ml-100k.zip --model rating_blend
      engine evaluate --model gds_fastrp --split temporal-fraction
    """
    from engine.evaluate.segments import Thresholds
    from engine.jobs.evaluate import Protocol
    from engine.jobs.evaluate import evaluate as run

    protocol = Protocol(how=split_name, test_ratio=test_ratio, last_n=last_n, fraction=fraction,
                        cutoff=parse_date(cutoff, "--cutoff"), u1_path=u1_path, seed=seed)
    result, path = run(app.neo4j(), model=model, params=parse_params(params),
                       selection=selection_from(selection_kw, seed), protocol=protocol,
                       valid_ratio=valid_ratio, tune=tune, ks=tuple(ks),
                       segments=Thresholds.parse(segments), device=device,  # type: ignore[arg-type]
                       out=out_file, runs_dir=runs_dir, progress=progress,
                       fastrp_features=fastrp_features, report=click.echo)
    click.echo(format_table(result.rows, tuple(ks)))
    click.echo(f"\nper segment (NDCG@{ks[0]}):")
    for sys_name, by_seg in result.segments.items():
        cells = "  ".join(f"{s} {v.get(f'ndcg@{ks[0]}', float('nan')):.4f} (n={int(v['n_users'])})"
                          for s, v in by_seg.items())
        click.echo(f"  {sys_name:<18} {cells}")
    click.echo(f"\nreport: {path}")


def format_table(rows: dict[str, dict[str, float]], ks: tuple[int, ...]) -> str:
    """Metrics table, one row per system."""
    cols = [f"{m}@{k}" for k in ks for m in ("precision", "recall", "ndcg", "map", "hit")]
    cols += ["auc", f"coverage@{ks[0]}", f"novelty@{ks[0]}"]
    if any("rating_rmse" in r for r in rows.values()):
        cols += ["rating_rmse", "rating_mae"]
    head = f"{'system':<18}" + "".join(f"{c:>13}" for c in cols)
    lines = [head, "-" * len(head)]
    for name, row in rows.items():
        lines.append(f"{name:<18}" + "".join(f"{row.get(c, float('nan')):>13.4f}" for c in cols))
    return "\n".join(lines)
