"""``engine train`` and ``engine evaluate``: Neo4j subgraph -> model -> checkpoint / report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.cli.common import AppContext, driver_for, friendly_errors

F = TypeVar("F", bound=Callable[..., Any])


def _parse_date(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date like 2015-01-31") from exc


def _parse_params(items: tuple[str, ...]) -> dict[str, Any]:
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
        click.option("--min-user-ratings", default=1, show_default=True, type=click.IntRange(min=0),
                     help="Keep users with at least this many ratings."),
        click.option("--max-user-ratings", type=click.IntRange(min=1),
                     help="Drop users with more ratings (e.g. 200: 'bulk raters')."),
        click.option("--since", help="Keep ratings on/after this date (YYYY-MM-DD, UTC)."),
        click.option("--until", help="Keep ratings before this date (YYYY-MM-DD, UTC)."),
        click.option("--min-rating", type=float, help="Keep only ratings >= this (implicit feedback)."),
        click.option("--genre", "genres", multiple=True,
                     help="Keep ratings of movies in these genres (repeatable)."),
        click.option("--sample-users", type=click.IntRange(min=1), help="Seeded random sample of N users."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _selection(kw: dict[str, Any], seed: int):  # type: ignore[no-untyped-def]
    from engine.export import Selection

    try:
        return Selection(
            min_ratings=kw["min_user_ratings"], max_ratings=kw["max_user_ratings"],
            min_ts=_parse_date(kw["since"]), max_ts=_parse_date(kw["until"]),
            min_rating=kw["min_rating"], genres=tuple(kw["genres"]) or None,
            sample_users=kw["sample_users"], seed=seed,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _device(choice: str, model: str, params: dict[str, Any]) -> dict[str, Any]:
    from engine.pipeline import make_model

    if "device" not in make_model(model).get_params() or "device" in params:
        return params
    if choice == "auto":
        import torch

        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return {**params, "device": choice}


def _export(app: AppContext, selection, progress: bool):  # type: ignore[no-untyped-def]
    from engine.export import EmptySelectionError, export_subgraph

    settings = app.neo4j()
    with driver_for(settings) as driver:
        try:
            exp = export_subgraph(driver, selection, database=settings.database, progress=progress)
        except EmptySelectionError as exc:
            raise click.ClickException(str(exc)) from exc
        dataset = [r["name"] for r in driver.execute_query(
            "MATCH (d:Dataset) RETURN d.name AS name", database_=settings.database).records]
    click.echo(f"exported {int(exp.stats['edges']):,} ratings of {int(exp.stats['users']):,} users "
               f"on {int(exp.stats['movies']):,} movies in {exp.stats['seconds']:.1f}s "
               f"({exp.stats['edges_per_second']:,.0f} edges/s)")
    return exp, ",".join(dataset) or "unknown"


def model_option(func: F) -> F:
    """``--model`` and ``--param KEY=VALUE``."""
    func = click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
                        help="Model hyper-parameter (repeatable), e.g. --param reg=500.")(func)
    return click.option("--model", default=None,
                        help="Model name (see `engine models`) [default: the benchmark's winner].")(func)


def _model_name(model: str | None) -> str:
    from engine.models import DEFAULT_MODEL, MODELS

    name = model or DEFAULT_MODEL
    if name not in MODELS:
        raise click.BadParameter(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}",
                                 param_hint="--model")
    return name


@click.command()
def models() -> None:
    """List the models `engine train --model` accepts (the default is marked).

    \b
    Example:
      engine models
    """
    from engine.models import DEFAULT_MODEL, MODELS

    for name, cls in sorted(MODELS.items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        click.echo(f"{'*' if name == DEFAULT_MODEL else ' '} {name:<16} {doc}")


@click.command()
@model_option
@selection_options
@click.option("--valid-ratio", default=0.1, show_default=True, type=click.FloatRange(0.01, 0.5),
              help="Share of each user's ratings held out for early stopping / tuning.")
@click.option("--tune/--no-tune", default=True, show_default=True,
              help="Grid-search closed-form models' params on the validation split.")
@click.option("--seed", default=0, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("-k", "--top-k", default=20, show_default=True, help="Recommendations per user to write back.")
@click.option("--out", "out_dir", default="runs", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for run checkpoints.")
@click.option("--writeback/--no-writeback", default=True, show_default=True,
              help="Write embeddings and top-K RECOMMENDED edges back into Neo4j.")
@click.option("--keep-runs", default=3, show_default=True, help="Write-back keeps this many runs.")
@click.option("--progress/--no-progress", default=True)
@click.pass_obj
@friendly_errors
def train(app: AppContext, model: str | None, params: tuple[str, ...], valid_ratio: float, tune: bool,
          seed: int, device: str, top_k: int, out_dir: Path, writeback: bool, keep_runs: int,
          progress: bool, **selection_kw: Any) -> None:
    """Train a recommender on a Cypher-selected subgraph and save a checkpoint.

    A validation split (per user) drives early stopping and tuning; the chosen
    configuration is then refitted on ALL selected ratings, so what is written back
    reflects users' newest ratings. Held-out test metrics are `engine evaluate`'s job.

    \b
    Examples:
      engine train                                  # default model, whole graph
      engine train --model lightgcn --param epochs=50 --device cuda
      engine train --max-user-ratings 200 --since 2000-01-01 --min-rating 3.5
    """
    from engine.checkpoint import git_sha, new_run_id, save_run
    from engine.pipeline import fit_production

    t0 = time.perf_counter()
    model = _model_name(model)
    selection = _selection(selection_kw, seed)
    model_params = _device(device, model, _parse_params(params))
    exp, dataset = _export(app, selection, progress)
    try:
        prod = fit_production(exp, model, model_params, valid_ratio=valid_ratio, seed=seed, tune=tune)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    sel = prod.selected
    run_id = new_run_id(model)
    config = {
        "runId": run_id, "model": model, "params": sel.refit_params(), "dataset": dataset,
        "selection": selection.as_dict(), "validRatio": valid_ratio, "seed": seed,
        "trainedAt": datetime.now(UTC).isoformat(), "gitSha": git_sha(),
        "exportStats": exp.stats, "fitSeconds": prod.fit_seconds,
    }
    metrics = {"valid": sel.valid, "trials": sel.trials}
    run_dir = save_run(out_dir / run_id, model=prod.model, idmap=exp.idmap, config=config,
                       metrics=metrics, history=sel.history, trials=sel.trials)
    click.echo(f"model {model} {sel.refit_params()}")
    click.echo(f"validation NDCG@10 {sel.valid.get('ndcg@10', float('nan')):.4f}  "
               f"Recall@10 {sel.valid.get('recall@10', float('nan')):.4f}  "
               f"(refit on all {len(exp.interactions):,} ratings in {prod.fit_seconds:.1f}s)")
    click.echo(f"checkpoint: {run_dir}")
    if writeback:
        _write_back(app, run_dir, prod.model, exp, config, metrics, top_k, keep_runs, progress)
    click.echo(f"train finished in {time.perf_counter() - t0:.1f}s")


def _write_back(app: AppContext, run_dir: Path, model, exp, config: dict[str, Any],  # type: ignore[no-untyped-def]
                metrics: dict[str, Any], top_k: int, keep_runs: int, progress: bool) -> None:
    try:
        from engine.writeback import build_run_output, save_run_output, write_back
    except ImportError:  # pragma: no cover - write-back module not installed
        click.echo("write-back is not available in this build; skipped")
        return
    out = build_run_output(model, exp.idmap, config, metrics, k=top_k)
    save_run_output(out, run_dir / "writeback")
    settings = app.neo4j()
    with driver_for(settings) as driver:
        summary = write_back(driver, out, database=settings.database, keep_runs=keep_runs,
                             progress=progress)
    click.echo(f"write-back: {summary}")


@click.command()
@model_option
@selection_options
@click.option("--split", "split_name",
              type=click.Choice(["random", "temporal-last-n", "temporal-cutoff", "ml100k-u1"]),
              default="random", show_default=True, help="Test protocol.")
@click.option("--test-ratio", default=0.25, show_default=True, type=click.FloatRange(0.01, 0.9))
@click.option("--last-n", default=1, show_default=True, help="temporal-last-n: test ratings per user.")
@click.option("--cutoff", help="temporal-cutoff: ratings from this date on are test (YYYY-MM-DD).")
@click.option("--u1", "u1_path", type=click.Path(exists=True, path_type=Path),
              help="ml100k-u1: the ml-100k zip or folder holding u1.test.")
@click.option("--valid-ratio", default=0.25, show_default=True, type=click.FloatRange(0.01, 0.5),
              help="Validation carved from train (model selection only).")
@click.option("--tune/--no-tune", default=True, show_default=True)
@click.option("-k", "ks", multiple=True, type=int, default=(10, 20), show_default=True)
@click.option("--segments", default="20:200", show_default=True,
              help="Activity thresholds LO:HI: very-low < LO <= normal < HI <= power.")
@click.option("--seed", default=0, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              default="evaluation.json", show_default=True, help="JSON report.")
@click.option("--progress/--no-progress", default=True)
@click.pass_obj
@friendly_errors
def evaluate(app: AppContext, model: str | None, params: tuple[str, ...], split_name: str,
             test_ratio: float, last_n: int, cutoff: str | None, u1_path: Path | None,
             valid_ratio: float, tune: bool, ks: tuple[int, ...], segments: str, seed: int,
             device: str, out_file: Path, progress: bool, **selection_kw: Any) -> None:
    """Held-out evaluation beside a popularity baseline (table + JSON).

    Full-catalogue ranking with training items excluded, batched over users:
    Precision/Recall/F1/NDCG/MAP/Hit@K, coverage, novelty, AUC; rating metrics for rating
    models; the same metrics per activity segment. Hyper-parameters and epochs are chosen
    on a validation split carved from train; the test split is used only for the report.

    \b
    Examples:
      engine evaluate                                    # default model, 75/25 per user
      engine evaluate --model lightgcn -k 10 -k 50
      engine evaluate --split temporal-last-n --last-n 5
      engine evaluate --split ml100k-u1 --u1 ../shared/data/movielens/ml-100k.zip
    """
    from engine.pipeline import evaluate_holdout, make_split

    lo, _, hi = segments.partition(":")
    try:
        seg = (int(lo), int(hi))
    except ValueError as exc:
        raise click.BadParameter("use LO:HI, e.g. 20:200", param_hint="--segments") from exc
    model = _model_name(model)
    selection = _selection(selection_kw, seed)
    model_params = _device(device, model, _parse_params(params))
    exp, dataset = _export(app, selection, progress)
    test_pairs = None
    if split_name == "ml100k-u1":
        if u1_path is None:
            raise click.UsageError("--split ml100k-u1 needs --u1 PATH (the ml-100k zip or folder)")
        test_pairs = _u1_pairs(u1_path, exp)
    how = "pairs" if split_name == "ml100k-u1" else split_name
    try:
        split = make_split(exp.interactions, how, ratio=test_ratio, seed=seed,  # type: ignore[arg-type]
                           last_n=last_n, cutoff=_parse_date(cutoff), test_pairs=test_pairs)
        protocol = {"split": split_name, "test_ratio": test_ratio, "seed": seed, "ks": list(ks),
                    "dataset": dataset, "selection": selection.as_dict(),
                    "train_rows": len(split.train), "test_rows": len(split.test)}
        result = evaluate_holdout(exp, model, model_params, split, protocol=protocol, ks=tuple(ks),
                                  valid_ratio=valid_ratio, seed=seed, tune=tune, segments=seg)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_table(result.rows, ks))
    click.echo(f"\nper segment (NDCG@{ks[0]}):")
    for sys_name, by_seg in result.segments.items():
        cells = "  ".join(f"{s} {v.get(f'ndcg@{ks[0]}', float('nan')):.4f} (n={int(v['n_users'])})"
                          for s, v in by_seg.items())
        click.echo(f"  {sys_name:<14} {cells}")
    out_file.write_text(json.dumps(result.as_dict(), indent=2, default=float))
    click.echo(f"\nreport: {out_file}")


def format_table(rows: dict[str, dict[str, float]], ks: tuple[int, ...]) -> str:
    """Metrics table, one row per system."""
    cols = [f"{m}@{k}" for k in ks for m in ("precision", "recall", "ndcg", "map", "hit")]
    cols += ["auc", f"coverage@{ks[0]}", f"novelty@{ks[0]}"]
    if any("rating_rmse" in r for r in rows.values()):
        cols += ["rating_rmse", "rating_mae"]
    head = f"{'system':<14}" + "".join(f"{c:>13}" for c in cols)
    lines = [head, "-" * len(head)]
    for name, row in rows.items():
        lines.append(f"{name:<14}" + "".join(f"{row.get(c, float('nan')):>13.4f}" for c in cols))
    return "\n".join(lines)


def _u1_pairs(path: Path, exp) -> Any:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    import numpy as np
    import pandas as pd

    if path.is_dir():
        candidates = list(path.rglob("u1.test"))
        if not candidates:
            raise click.UsageError(f"no u1.test under {path}")
        raw = candidates[0].read_bytes()
    else:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("u1.test")]
            if not names:
                raise click.UsageError(f"no u1.test in {path}")
            raw = zf.read(names[0])
    frame = pd.read_csv(io.BytesIO(raw), sep="\t", header=None, names=["u", "m", "r", "t"])
    try:
        users = exp.idmap.user_index(frame["u"].to_numpy())
        movies = exp.idmap.movie_index(frame["m"].to_numpy())
    except KeyError as exc:
        raise click.ClickException(f"u1.test does not match the loaded graph: {exc}") from exc
    return np.column_stack([users, movies])
