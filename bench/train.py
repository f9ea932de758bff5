"""Issue-4 benchmark: every recommender side by side on protocol P1 (docs/anchors.md).

P1: MovieLens-100K, per-user random 75/25 split (seed 0); every rating is an interaction
and every test rating relevant; full-catalogue ranking with train items excluded; mean
over users with test items. Hyper-parameters of EVERY system are chosen on a validation
split carved from train (per-user 75/25, seed 1) -- never on test -- then each system is
refitted on the full train split with the chosen values (iterative models: for the epoch
count chosen on validation) and evaluated once on test.

Usage::

    python bench/train.py                 # full P1 table -> bench/results/train_p1.json
    python bench/train.py --quick         # smoke run (tiny grids) -> train_p1_quick.json
    python bench/train.py --scale         # LightGCN-CSR vs PyG LightGCN step time, large graph
    python bench/train.py --rating        # RMSE on ML-100K u1.base/u1.test

Threads: ``--threads N`` (default 1) sets torch and BLAS threads before numpy loads; on a
shared 2-core box one thread per process gives the most stable timings.
"""

from __future__ import annotations

import os
import sys


def _early_threads() -> int:
    n = 1
    for j, a in enumerate(sys.argv):
        if a == "--threads" and j + 1 < len(sys.argv):
            n = int(sys.argv[j + 1])
        elif a.startswith("--threads="):
            n = int(a.split("=", 1)[1])
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    return n


_THREADS = _early_threads()

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._data import load_ml100k, load_ml100k_fold  # noqa: E402
from engine.data import Interactions  # noqa: E402
from engine.data.splits import Split, per_user_random  # noqa: E402
from engine.evaluate.metrics import evaluate_ranking, rating_metrics, summarise_by_segment  # noqa: E402
from engine.models import (  # noqa: E402
    BPRMF,
    EASE,
    GraphFilterCF,
    LightGCNCSR,
    PopularityRecommender,
    PyGLightGCN,
    Recommender,
)
from engine.models.history import FitHistory  # noqa: E402

RESULTS = ROOT / "bench" / "results"
log = logging.getLogger("bench.train")


# --------------------------------------------------------------------------- optional ALS
def _implicit_als() -> type[Recommender] | None:
    """An implicit ALS adapter if ``import implicit`` works, else ``None`` (row skipped)."""
    try:
        from implicit.cpu.als import AlternatingLeastSquares  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - any import problem means "not available"
        return None

    class ImplicitALS(Recommender):
        name = "implicit_als"

        def __init__(self, factors: int = 32, regularization: float = 10.0, alpha: float = 1.0,
                     iterations: int = 30, seed: int = 0) -> None:
            super().__init__()
            self.factors, self.regularization = factors, regularization
            self.alpha, self.iterations, self.seed = alpha, iterations, seed

        def _fit(self, train: Interactions, valid: Interactions | None,
                 graph: object) -> FitHistory:
            assert self._seen is not None
            self.m = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.seed)
            self.m.fit(self._seen.tocsr(), show_progress=False)
            return FitHistory()

        def score(self, users: np.ndarray) -> np.ndarray:
            uf = np.asarray(self.m.user_factors)[users]
            return (uf @ np.asarray(self.m.item_factors).T).astype(np.float32)

    return ImplicitALS


# --------------------------------------------------------------------------- systems
System = dict[str, Any]


def systems(quick: bool, pyg_budget: float, csr_budget: float) -> list[System]:
    """Each system: label, factory(**params), validation grid, iterative flag."""
    lrs = [5e-3] if quick else [5e-3, 1e-2]
    gf_grid = [
        dict(time_scale=t, time_weight=c, reg=lam, rank=k, lowpass_weight=a)
        for t, c, lam, k, a in itertools.product(
            [600.0] if quick else [180.0, 600.0],
            [4.0] if quick else [4.0, 8.0],
            [800.0] if quick else [800.0, 1600.0],
            [48] if quick else [32, 48, 64],
            [0.5] if quick else [0.25, 0.5],
        )
    ]
    gf0_grid = [
        dict(time_weight=0.0, reg=lam, rank=k, lowpass_weight=a)
        for lam, k, a in itertools.product(
            [400.0] if quick else [300.0, 400.0, 500.0, 700.0, 1000.0],
            [48] if quick else [32, 48, 64],
            [0.5] if quick else [0.25, 0.5, 0.75],
        )
    ]
    ep = 10 if quick else 400
    out: list[System] = [
        dict(label="popularity", make=PopularityRecommender, grid=[{}], iterative=False),
        dict(label="EASE", make=EASE, iterative=False,
             grid=[dict(reg=r) for r in ([400.0] if quick else
                                         [100.0, 200.0, 300.0, 400.0, 500.0, 700.0, 1000.0])]),
    ]
    als = _implicit_als()
    if als is not None:
        out.append(dict(label="implicit ALS", make=als, iterative=False,
                        grid=[dict(factors=f, regularization=r) for f in (32, 64)
                              for r in (1.0, 10.0)]))
    out += [
        dict(label="BPR-MF", make=BPRMF, iterative=True,
             grid=[dict(dim=64, lr=5e-3, reg=reg, epochs=ep, batch_size=4096, eval_every=5,
                        patience=3) for reg in ([1e-3] if quick else [1e-4, 1e-3, 1e-2])]),
        dict(label="PyG LightGCN", make=PyGLightGCN, iterative=True,
             grid=[dict(dim=64, num_layers=3, lr=lr, reg=1e-4, epochs=ep, batch_size=8192,
                        eval_every=10, patience=3, time_budget_s=pyg_budget) for lr in lrs]),
        dict(label="LightGCN-CSR", make=LightGCNCSR, iterative=True,
             grid=[dict(dim=64, num_layers=3, lr=lr, reg=1e-4, epochs=ep, batch_size=8192,
                        eval_every=10, patience=3, time_budget_s=csr_budget) for lr in lrs]),
        dict(label="GraphFilterCF w/o time (ablation)", make=GraphFilterCF, iterative=False,
             grid=gf0_grid),
        dict(label="GraphFilterCF (default)", make=GraphFilterCF, iterative=False,
             grid=gf_grid, default=True),
    ]
    return out


def _valid_ndcg(model: Recommender, split: Split) -> float:
    rep = evaluate_ranking(model.score, split.train, split.test, ks=(10,), with_auc=False)
    return rep.summary["ndcg@10"]


def run_system(sys_: System, split: Split, val: Split) -> dict[str, Any]:
    """Tune on ``val``, refit on ``split.train`` with the chosen params, test once."""
    make: Callable[..., Recommender] = sys_["make"]
    t_tune = time.perf_counter()
    trials = []
    for params in sys_["grid"]:
        model = make(**params)
        t0 = time.perf_counter()
        hist = model.fit(val.train, valid=val.test if sys_["iterative"] else None)
        fit_s = time.perf_counter() - t0
        if sys_["iterative"]:
            score, epoch = float(hist.best_valid or 0.0), int(hist.best_epoch)
            extra = {"epochs_run": hist.epochs_run, "stopped": hist.stopped,
                     "seconds_per_epoch": hist.seconds_per_epoch}
        else:
            score, epoch, extra = _valid_ndcg(model, val), 0, {}
        trials.append({"params": params, "valid_ndcg@10": score, "best_epoch": epoch,
                       "fit_seconds": fit_s, **extra})
        log.info("%s %s valid %.4f (epoch %d, %.1fs)", sys_["label"], params, score, epoch, fit_s)
    tune_s = time.perf_counter() - t_tune
    best = max(trials, key=lambda t: t["valid_ndcg@10"])
    params = dict(best["params"])
    if sys_["iterative"]:
        params.update(epochs=max(1, best["best_epoch"]), time_budget_s=None)
    model = make(**params)
    t0 = time.perf_counter()
    hist = model.fit(split.train)
    train_s = time.perf_counter() - t0
    rep = evaluate_ranking(model.score, split.train, split.test, ks=(10, 20))
    seg = summarise_by_segment(rep, split.train, thresholds=(20, 200))
    return {
        "label": sys_["label"],
        "model": model.name,
        "default": bool(sys_.get("default", False)),
        "chosen_params": params,
        "valid_ndcg@10": best["valid_ndcg@10"],
        "test": rep.summary,
        "segments": {k: {m: v[m] for m in ("n_users", "ndcg@10", "recall@10")}
                     for k, v in seg.items()},
        "train_seconds": train_s,
        "seconds_per_epoch": hist.seconds_per_epoch if hist.iterative else None,
        "epochs": hist.epochs_run if hist.iterative else None,
        "tune_seconds": tune_s,
        "trials": trials,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def print_table(rows: list[dict[str, Any]]) -> None:
    """Markdown table with quality and train-time ratios to EASE and PyG LightGCN."""
    ref = {r["label"]: r for r in rows}
    ease, pyg = ref.get("EASE"), ref.get("PyG LightGCN")
    head = ("| system | NDCG@10 | Recall@10 | P@10 | NDCG@20 | train s | s/epoch | "
            "NDCG÷EASE | NDCG÷PyG | time÷EASE | time÷PyG |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        t = r["test"]

        def fmt(x: float | None, spec: str = ".3f") -> str:
            return "–" if x is None else format(x, spec)

        q_e = _ratio(t["ndcg@10"], ease["test"]["ndcg@10"] if ease else None)
        q_p = _ratio(t["ndcg@10"], pyg["test"]["ndcg@10"] if pyg else None)
        s_e = _ratio(r["train_seconds"], ease["train_seconds"] if ease else None)
        s_p = _ratio(r["train_seconds"], pyg["train_seconds"] if pyg else None)
        spe = r.get("seconds_per_epoch")
        print(f"| {r['label']} | {t['ndcg@10']:.4f} | {t['recall@10']:.4f} | "
              f"{t['precision@10']:.4f} | {t['ndcg@20']:.4f} | {r['train_seconds']:.2f} | "
              f"{fmt(spe)} | {fmt(q_e)} | {fmt(q_p)} | {fmt(s_e, '.2f')} | {fmt(s_p, '.4f')} |")
    print()
    for r in rows:
        print(f"  {r['label']}: params {r['chosen_params']} valid NDCG@10 "
              f"{r['valid_ndcg@10']:.4f}, tuning {r['tune_seconds']:.1f}s "
              f"({len(r['trials'])} configs)")


def run_p1(args: argparse.Namespace) -> dict[str, Any]:
    """Protocol P1 end to end; returns the JSON document."""
    t_all = time.perf_counter()
    _, inter = load_ml100k()
    split = per_user_random(inter, test_ratio=0.25, seed=0)
    val = per_user_random(split.train, test_ratio=0.25, seed=1)
    print(f"P1: {len(inter)} ratings, {inter.num_users} users, {inter.num_items} items; "
          f"train {len(split.train)} / test {len(split.test)}; "
          f"validation fit {len(val.train)} / valid {len(val.test)}; threads {_THREADS}")
    rows = []
    wanted = set(args.systems.split(",")) if args.systems else None
    for sys_ in systems(args.quick, args.pyg_budget, args.csr_budget):
        if wanted and sys_["label"] not in wanted and sys_["make"].name not in wanted:
            continue
        row = run_system(sys_, split, val)
        rows.append(row)
        print(f"[{time.perf_counter() - t_all:6.0f}s] {row['label']}: test NDCG@10 "
              f"{row['test']['ndcg@10']:.4f}, train {row['train_seconds']:.2f}s", flush=True)
    if _implicit_als() is None:
        print("implicit ALS: `import implicit` failed -> row skipped")
    print()
    print_table(rows)
    return {
        "protocol": "P1",
        "dataset": "ml-100k u.data",
        "split": {"test": "per_user_random(0.25, seed=0)",
                  "valid": "per_user_random(train, 0.25, seed=1)"},
        "quick": args.quick,
        "threads": _THREADS,
        "env": {"python": platform.python_version(), "torch": torch.__version__,
                "numpy": np.__version__, "cpu_count": os.cpu_count(),
                "machine": platform.machine()},
        "total_seconds": time.perf_counter() - t_all,
        "rows": rows,
    }


# --------------------------------------------------------------------------- scale
def powerlaw_edges(n_users: int, n_items: int, n_edges: int, seed: int = 0,
                   exponent: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Random bipartite edges with Zipf-like user and item degrees (duplicates merged)."""
    rng = np.random.default_rng(seed)

    def draw(n: int, size: int) -> np.ndarray:
        w = 1.0 / np.arange(1, n + 1) ** exponent
        cdf = np.cumsum(w / w.sum())
        return rng.permutation(n)[np.searchsorted(cdf, rng.random(size), side="right").clip(0, n - 1)]

    key = np.unique(draw(n_users, n_edges).astype(np.int64) * n_items + draw(n_items, n_edges))
    return key // n_items, key % n_items


def scale_worker(kind: str, n_users: int, n_items: int, n_edges: int, steps: int,
                 batch: int, device: str) -> dict[str, Any]:
    """Time ``steps`` full training steps (3-layer propagation fwd + bwd + Adam) of one system."""
    from engine.models.lightgcn import LightGCNNet
    from engine.models.ops import DEFAULT_CACHE, to_torch_csr
    from engine.models.pyg_lightgcn import PyGLightGCNNet, bipartite_edge_index

    torch.manual_seed(0)
    u, i = powerlaw_edges(n_users, n_items, n_edges)
    inter = Interactions(u, i, np.ones(len(u), np.float32), np.zeros(len(u), np.int64),
                         n_users, n_items)
    t0 = time.perf_counter()
    if kind == "csr":
        adj = to_torch_csr(DEFAULT_CACHE.norm_adjacency(inter.to_csr()))
        net: torch.nn.Module = LightGCNNet(n_users, n_items, 64, 3, 1e-4, adj)
    else:
        net = PyGLightGCNNet(n_users, n_items, 64, 3, 1e-4, bipartite_edge_index(inter))
    net = net.to(device)
    prep_s = time.perf_counter() - t0
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(1)
    times = []
    for s in range(steps + 1):
        idx = rng.integers(0, len(u), batch)
        bu = torch.from_numpy(u[idx]).to(device)
        bp = torch.from_numpy(i[idx]).to(device)
        bn = torch.from_numpy(rng.integers(0, n_items, batch)).to(device)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        opt.zero_grad()
        loss = net.bpr_loss(bu, bp, bn)  # type: ignore[operator]
        loss.backward()
        opt.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if s > 0:  # first step is warm-up
            times.append(time.perf_counter() - t)
    out = {"kind": kind, "edges": int(len(u)), "step_seconds": float(np.median(times)),
           "step_seconds_all": times, "prep_seconds": prep_s,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.startswith("cuda"):
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def run_scale(args: argparse.Namespace) -> dict[str, Any]:
    """Both systems in separate processes (clean peak-RSS figures), same graph and batch."""
    res = {}
    for kind in ("csr", "pyg"):
        cmd = [sys.executable, __file__, "--scale-worker", kind, "--threads", str(_THREADS),
               "--scale-shape", args.scale_shape, "--scale-steps", str(args.scale_steps),
               "--scale-batch", str(args.scale_batch), "--device", args.device]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        res[kind] = json.loads(out.stdout.strip().splitlines()[-1])
        r = res[kind]
        print(f"{kind}: {r['edges']:,} edges, median step {r['step_seconds']:.3f}s "
              f"(prep {r['prep_seconds']:.1f}s), peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    ratio = res["pyg"]["step_seconds"] / res["csr"]["step_seconds"]
    mem = res["pyg"]["peak_rss_mb"] / res["csr"]["peak_rss_mb"]
    print(f"shape users x items x edges = {args.scale_shape}; batch {args.scale_batch}; "
          f"threads {_THREADS}; device {args.device}")
    print(f"step time PyG LightGCN / LightGCN-CSR = {ratio:.1f}x; peak RSS ratio = {mem:.2f}x")
    return {"shape": args.scale_shape, "batch": args.scale_batch, "threads": _THREADS,
            "device": args.device, "results": res, "step_ratio_pyg_over_csr": ratio,
            "rss_ratio_pyg_over_csr": mem}


# --------------------------------------------------------------------------- rating
def run_rating(args: argparse.Namespace) -> dict[str, Any]:
    """RMSE on u1.base/u1.test; epochs chosen on a validation split carved from u1.base."""
    from engine.models.autorec import ItemAutoRec

    _, base, test = load_ml100k_fold("u1")
    val = per_user_random(base, test_ratio=0.1, seed=1)
    grid = [dict(hidden=500, reg=r, epochs=20 if args.quick else 300, patience=15)
            for r in ([100.0] if args.quick else [30.0, 100.0, 300.0])]
    trials = []
    for params in grid:
        m = ItemAutoRec(**params)
        hist = m.fit(val.train, valid=val.test)
        trials.append({"params": params, "valid_rmse": hist.best_valid,
                       "best_epoch": hist.best_epoch})
        print(f"  {params}: valid RMSE {hist.best_valid:.4f} at epoch {hist.best_epoch}")
    best = min(trials, key=lambda t: t["valid_rmse"])
    params = dict(best["params"], epochs=best["best_epoch"])
    m = ItemAutoRec(**params)
    t0 = time.perf_counter()
    m.fit(base)
    train_s = time.perf_counter() - t0
    pred = m.predict(test.user, test.item)
    met = rating_metrics(test.rating, pred)
    print(f"u1.test: RMSE {met['rmse']:.4f} MAE {met['mae']:.4f} (params {params}, "
          f"train {train_s:.1f}s)")
    return {"split": "ml-100k u1.base/u1.test", "valid": "per_user_random(u1.base, 0.1, seed=1)",
            "chosen_params": params, "test": met, "train_seconds": train_s, "trials": trials}


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny grids, few epochs (smoke run)")
    p.add_argument("--threads", type=int, default=1, help="torch + BLAS threads")
    p.add_argument("--systems", default="", help="comma-separated labels/names to run")
    p.add_argument("--pyg-budget", type=float, default=100.0,
                   help="seconds per PyG LightGCN validation run")
    p.add_argument("--csr-budget", type=float, default=100.0,
                   help="seconds per LightGCN-CSR validation run")
    p.add_argument("--scale", action="store_true", help="large synthetic step-time comparison")
    p.add_argument("--scale-shape", default="160000x59000x5000000")
    p.add_argument("--scale-steps", type=int, default=3)
    p.add_argument("--scale-batch", type=int, default=65536)
    p.add_argument("--scale-worker", choices=["csr", "pyg"], help=argparse.SUPPRESS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--rating", action="store_true", help="rating RMSE on u1.base/u1.test")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(_THREADS)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.scale_worker:
        nu, ni, ne = (int(x) for x in args.scale_shape.split("x"))
        print(json.dumps(scale_worker(args.scale_worker, nu, ni, ne, args.scale_steps,
                                      args.scale_batch, args.device)))
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.scale:
        doc, name = run_scale(args), "train_scale.json"
    elif args.rating:
        doc, name = run_rating(args), "train_rating.json"
    else:
        doc, name = run_p1(args), "train_p1.json"
    if args.quick:
        name = name.replace(".json", "_quick.json")
    out = args.out or RESULTS / name
    out.write_text(json.dumps(doc, indent=2, default=float))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
