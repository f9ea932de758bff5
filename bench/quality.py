"""Quality benchmark: the engine's default beside tuned references on P1, T1, T2 and u1.

Protocols (every held-out rating relevant; full-catalogue ranking with train items
excluded; NDCG@10 averaged over users with test items):

* **P1** -- ML-100K, per-user random 75/25 (seed 0); validation: per-user random 75/25 of
  train (seed 1);
* **T1** -- ml-latest-small, each user's latest 20% (ties by movieId); validation: each
  user's latest 20% of train;
* **T2** -- ML-100K, each user's last 5 ratings; validation: the last 5 of train;
* **u1** -- ML-100K u1.base / u1.test rating prediction (RMSE); validation: a per-user
  random 10% of u1.base (seed 1).
* extra temporal cuts for robustness (``--protocols T3 T4``): T3 = ml-latest-small last 5,
  T4 = ML-100K latest 20%.

With ``--gds`` a private Neo4j with the OpenGDS plugin is started and ``gds_fastrp``
(FastRP computed in the database on each fit's train pairs) is measured beside the others.

Every system's hyper-parameters (and epochs, for iterative ones) are chosen on the
validation split only; each is then refitted on the whole train split and measured once
on test. The default goes through the engine's own selection code
(:func:`engine.training.protocols.evaluate_holdout`). Prints a table per protocol and the
ratio of the default to the best reference; writes ``bench/results/quality.json``.

    python bench/quality.py                               # everything (about an hour on 2 cores)
    python bench/quality.py --protocols T2 P1 --quick     # small grids, no PyG LightGCN
    python bench/quality.py --protocols u1
    python bench/quality.py --protocols P1 T1 T2 --gds --systems default gds_fastrp popularity EASE
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._data import export_of, load_ml100k_fold  # noqa: E402
from bench.references import (  # noqa: E402
    ImplicitALS,
    RecencyEASE,
    RecentPopularity,
    grid,
    implicit_available,
)
from engine.data import Interactions  # noqa: E402
from engine.data.splits import (  # noqa: E402
    Split,
    per_user_random,
    temporal_per_user_fraction,
    temporal_per_user_last_n,
)
from engine.evaluate.metrics import evaluate_ranking, rating_metrics  # noqa: E402
from engine.models import DEFAULT_MODEL, EASE, MODELS, PopularityRecommender, PyGLightGCN  # noqa: E402
from engine.models.base import Recommender  # noqa: E402
from engine.training.protocols import evaluate_holdout  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "quality.json"
log = logging.getLogger("bench.quality")

PROTOCOLS: dict[str, dict[str, Any]] = {
    "P1": {"release": "ml-100k", "split": ("random", 0.25), "what": "ML-100K, per-user random 75/25"},
    "T1": {"release": "ml-latest-small", "split": ("temporal-fraction", 0.2),
           "what": "ml-latest-small, each user's latest 20%"},
    "T2": {"release": "ml-100k", "split": ("temporal-last-n", 5), "what": "ML-100K, each user's last 5"},
    "T3": {"release": "ml-latest-small", "split": ("temporal-last-n", 5),
           "what": "ml-latest-small, each user's last 5"},
    "T4": {"release": "ml-100k", "split": ("temporal-fraction", 0.2),
           "what": "ML-100K, each user's latest 20%"},
}


def cut(inter: Interactions, how: str, arg: float, seed: int) -> Split:
    """Test split (``seed`` 0) or validation carve (``seed`` 1) by one rule."""
    if how == "random":
        return per_user_random(inter, test_ratio=arg, seed=seed)
    if how == "temporal-fraction":
        return temporal_per_user_fraction(inter, fraction=arg)
    return temporal_per_user_last_n(inter, n=int(arg))


def references(quick: bool, budget: float) -> list[dict[str, Any]]:
    """The tuned references: label, factory, grid, iterative."""
    out: list[dict[str, Any]] = [
        {"label": "popularity", "make": PopularityRecommender, "grid": [{}]},
        {"label": "recent popularity", "make": RecentPopularity,
         "grid": grid(window_days=[7.0, 30.0, 90.0, 365.0] if not quick else [30.0])},
        {"label": "EASE", "make": EASE,
         "grid": grid(reg=[50.0, 100.0, 200.0, 400.0, 800.0, 1600.0] if not quick else [200.0, 400.0])},
        {"label": "recency-weighted EASE", "make": RecencyEASE,
         "grid": grid(reg=[100.0, 200.0, 400.0], half_life=[2.0, 3.0, 5.0, 8.0, 13.0])
         if not quick else grid(reg=[200.0, 400.0], half_life=[2.0, 3.0])},
    ]
    if implicit_available():
        out.append({"label": "implicit ALS", "make": ImplicitALS,
                    "grid": grid(factors=[32, 64, 128], regularization=[1.0, 10.0, 50.0],
                                 iterations=[30]) if not quick else
                    grid(factors=[64, 128], regularization=[10.0], iterations=[30])})
    if not quick:
        out.append({"label": "PyG LightGCN", "make": PyGLightGCN, "iterative": True,
                    "grid": grid(lr=[5e-3, 1e-2], dim=[64], num_layers=[3], reg=[1e-4],
                                 epochs=[400], batch_size=[8192], eval_every=[10], patience=[3],
                                 time_budget_s=[budget])})
    return out


def _ndcg(model: Recommender, train: Interactions, test: Interactions) -> dict[str, float]:
    rep = evaluate_ranking(model.score, train, test, ks=(10, 20), with_auc=False)
    return {k: rep.summary[k] for k in ("ndcg@10", "recall@10", "ndcg@20", "n_users")}


def run_reference(ref: dict[str, Any], split: Split, valid: Split) -> dict[str, Any]:
    """Tune ``ref`` on ``valid``, refit on ``split.train``, measure on ``split.test``."""
    make: Callable[..., Recommender] = ref["make"]
    t0 = time.perf_counter()
    trials = []
    for params in ref["grid"]:
        model = make(**params)
        history = model.fit(valid.train, valid.test if ref.get("iterative") else None)
        score = (float(history.best_valid or 0.0) if ref.get("iterative")
                 else _ndcg(model, valid.train, valid.test)["ndcg@10"])
        trials.append({"params": params, "valid": score, "best_epoch": history.best_epoch})
        log.info("%s %s valid %.4f", ref["label"], params, score)
    best = max(trials, key=lambda t: t["valid"])
    params = dict(best["params"])
    if ref.get("iterative"):
        params.update(epochs=max(1, int(best["best_epoch"])), time_budget_s=None)
    model = make(**params)
    t1 = time.perf_counter()
    model.fit(split.train)
    fit_s = time.perf_counter() - t1
    return {"label": ref["label"], "params": params, "valid": best["valid"],
            "test": _ndcg(model, split.train, split.test), "fit_seconds": fit_s,
            "tune_seconds": t1 - t0, "trials": trials}


def protocol_split(proto: str) -> tuple[dict[str, Any], Any, str, float, Split]:
    """``(spec, export, rule, argument, test split)`` of a protocol of :data:`PROTOCOLS`."""
    spec = PROTOCOLS[proto]
    export = export_of(spec["release"])
    how, arg = spec["split"]
    return spec, export, how, arg, cut(export.interactions, how, arg, seed=0)


def run_default(name: str, export: Any, split: Split, how: str, arg: float,
                params: dict[str, Any] | None = None, graph_for: Any = None) -> dict[str, Any]:
    """An engine model (``params`` or its defaults) through the engine's own selection and
    evaluation code; also the popularity row measured beside it."""
    t0 = time.perf_counter()
    ev = evaluate_holdout(export, name, params, split, protocol={}, ks=(10, 20),
                          valid_ratio=arg if how != "temporal-last-n" else 0.25, seed=0,
                          carve=how, last_n=int(arg) if how == "temporal-last-n" else 1,  # type: ignore[arg-type]
                          graph_for=graph_for)
    row = ev.rows[name]
    return {"label": f"{name} (default)" if name == DEFAULT_MODEL else name,
            "params": ev.selected["params"], "valid": ev.selected["valid"].get("ndcg@10"),
            "test": {k: row[k] for k in ("ndcg@10", "recall@10", "ndcg@20", "n_users")},
            "fit_seconds": row["fit_seconds"], "tune_seconds": time.perf_counter() - t0 - row["fit_seconds"],
            "trials": ev.selected["trials"], "popularity": ev.rows["popularity"]["ndcg@10"]}


def run_ranking(proto: str, args: argparse.Namespace) -> dict[str, Any]:
    spec, export, how, arg, split = protocol_split(proto)
    valid = cut(split.train, how, arg, seed=1)
    print(f"\n{proto}: {spec['what']}; train {len(split.train):,} / test {len(split.test):,}; "
          f"validation fit {len(valid.train):,} / valid {len(valid.test):,}", flush=True)
    rows = []
    for ref in references(args.quick, args.budget):
        if args.systems and ref["label"] not in args.systems:
            continue
        rows.append(run_reference(ref, split, valid))
        print(f"  {rows[-1]['label']:<24} test NDCG@10 {rows[-1]['test']['ndcg@10']:.4f}", flush=True)
    ours = [DEFAULT_MODEL, "graph_filter", *(["gds_fastrp"] if args.gds_graph_for else [])]
    if args.systems:
        ours = [n for n in ours if n in args.systems or (n == DEFAULT_MODEL and "default" in args.systems)]
    for name in ours:
        rows.append(run_default(name, export, split, how, arg,
                                graph_for=args.gds_graph_for if name == "gds_fastrp" else None))
        print(f"  {rows[-1]['label']:<24} test NDCG@10 {rows[-1]['test']['ndcg@10']:.4f}", flush=True)
    return {"protocol": proto, "what": spec["what"], "rows": rows, **_ratios(rows)}


def _ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    refs = [r for r in rows
            if r["label"] not in (f"{DEFAULT_MODEL} (default)", "graph_filter", "gds_fastrp")]
    default = next((r for r in rows if r["label"].endswith("(default)")), None)
    if not refs or default is None:
        return {}
    best = max(refs, key=lambda r: r["test"]["ndcg@10"])
    return {"best_reference": best["label"], "best_reference_ndcg@10": best["test"]["ndcg@10"],
            "default_ndcg@10": default["test"]["ndcg@10"],
            "ratio_to_best_reference": default["test"]["ndcg@10"] / best["test"]["ndcg@10"]}


# ----------------------------------------------------------------------------- u1 ratings
def run_u1(args: argparse.Namespace) -> dict[str, Any]:
    """ML-100K u1.base/u1.test RMSE: global mean and every rating model, epochs on validation."""
    from bench.rating import side_frames

    idmap, base, test = load_ml100k_fold("u1")
    valid = per_user_random(base, test_ratio=0.1, seed=1)
    frames = side_frames(idmap, ROOT.parent / "shared" / "data" / "movielens" / "ml-100k.zip")
    print(f"\nu1: ML-100K u1.base {len(base):,} / u1.test {len(test):,}; validation {len(valid.test):,}",
          flush=True)
    mean = float(base.rating.mean())
    flat = rating_metrics(test.rating, np.full(len(test), mean))["rmse"]
    rows = [{"label": "global mean", "test_rmse": flat,
             "test_mae": rating_metrics(test.rating, np.full(len(test), mean))["mae"]}]
    names = [n for n, c in MODELS.items() if c.task == "rating"]
    for name in names:
        if args.systems and name not in args.systems:
            continue
        rows.append(_rating_row(name, base, valid, test, frames))
        print(f"  {name:<24} test RMSE {rows[-1]['test_rmse']:.4f}", flush=True)
    return {"protocol": "u1", "rows": rows}


def _rating_row(name: str, base: Interactions, valid: Split, test: Interactions,
                frames: dict[str, Any]) -> dict[str, Any]:
    from bench.rating import graph

    cls = MODELS[name]
    t0 = time.perf_counter()
    model = cls()
    g = graph(valid.train, frames) if model.needs_graph else None
    history = model.fit(valid.train, valid.test, g)
    params = model.get_params()
    if history.iterative:
        params["epochs"] = max(1, history.best_epoch)
    model = cls.create(params)
    model.fit(base, None, graph(base, frames) if model.needs_graph else None)
    pred = model.predict(test.user, test.item)
    m = rating_metrics(test.rating, pred)
    return {"label": name, "params": params, "valid_rmse": history.best_valid,
            "test_rmse": m["rmse"], "test_mae": m["mae"], "seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------------- output
def print_tables(results: list[dict[str, Any]]) -> None:
    for res in results:
        if res["protocol"] == "u1":
            print("\n| u1 system | test RMSE | test MAE | validation RMSE | seconds |\n|---|---|---|---|---|")
            for r in res["rows"]:
                valid = f"{r['valid_rmse']:.4f}" if r.get("valid_rmse") is not None else "-"
                mae = f"{r['test_mae']:.4f}" if "test_mae" in r else "-"
                secs = f"{r['seconds']:.0f}" if "seconds" in r else "-"
                print(f"| {r['label']} | {r['test_rmse']:.4f} | {mae} | {valid} | {secs} |")
            best = min(res["rows"], key=lambda r: r["test_rmse"])
            print(f"best: {best['label']} {best['test_rmse']:.4f} (goal <= 0.885; published on u1: "
                  "GLocal-K 0.8889, IGMC 0.905, GC-MC 0.910)")
            continue
        best = res.get("best_reference_ndcg@10")
        print(f"\n| {res['protocol']} system | NDCG@10 | Recall@10 | ÷ best reference "
              "| chosen on validation |")
        print("|---|---|---|---|---|")
        for r in res["rows"]:
            ratio = f"{r['test']['ndcg@10'] / best:.3f}" if best else "–"
            params = ", ".join(f"{k}={v}" for k, v in r["params"].items()
                               if k not in ("epochs", "batch_size", "eval_every", "patience", "time_budget_s",
                                            "dim", "num_layers", "iterations", "device", "seed"))
            t = r["test"]
            print(f"| {r['label']} | {t['ndcg@10']:.4f} | {t['recall@10']:.4f} | {ratio} | {params} |")
    print("\n| protocol | default NDCG@10 | best reference | its NDCG@10 | ratio |\n|---|---|---|---|---|")
    for res in results:
        if "ratio_to_best_reference" in res:
            print(f"| {res['protocol']} | {res['default_ndcg@10']:.4f} | {res['best_reference']} | "
                  f"{res['best_reference_ndcg@10']:.4f} | {res['ratio_to_best_reference']:.3f} |")


@contextmanager
def gds_graph(args: argparse.Namespace) -> Iterator[Any]:
    """The ``graph_for`` of ``gds_fastrp`` on a private Neo4j running OpenGDS."""
    from bench.writeback import server
    from engine.graphdb import connect
    from engine.jobs.gds import gds_graph_for

    opts = argparse.Namespace(uri=None, heap="2g", pagecache="256m", plugins=("gds",))
    with server(opts) as settings:
        driver = connect(settings)
        try:
            yield gds_graph_for(driver)
        finally:
            driver.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocols", nargs="+", default=["P1", "T1", "T2", "u1"],
                        choices=[*PROTOCOLS, "u1"])
    parser.add_argument("--systems", nargs="+", help="only these systems (labels; 'default' = the default)")
    parser.add_argument("--quick", action="store_true", help="small grids, no PyG LightGCN")
    parser.add_argument("--budget", type=float, default=300.0, help="PyG LightGCN: seconds per grid point")
    parser.add_argument("--gds", action="store_true",
                        help="start a private Neo4j with OpenGDS and measure gds_fastrp too")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    results = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        args.gds_graph_for = None
        if args.gds:
            args.gds_graph_for = stack.enter_context(gds_graph(args))
        for proto in args.protocols:  # saved after each protocol: a long run keeps what it measured
            results.append(run_u1(args) if proto == "u1" else run_ranking(proto, args))
            previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
            previous[proto] = results[-1]
            args.out.write_text(json.dumps(previous, indent=1, default=float))
    print_tables(results)
    print(f"\nwrote {args.out} in {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
