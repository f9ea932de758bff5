"""GPU benchmark (issue 33): one prepared script for a GPU machine, each figure beside its reference.

All data is SYNTHETIC (``loader.synthetic``, seed 0): the ML-25M shape (162,541 users x
59,047 movies, 25M ratings) by default, ``--small`` 2,000 x 1,000 x 50,000 (what CI runs on
CPU). Parts (``--parts``), in this order:

* ``lightgcn`` -- one LightGCN training step (BPR batch of 65,536 triplets, full 3-layer
  propagation, d = 64; forward + backward + Adam) of ``lightgcn_csr``'s propagation
  (:class:`engine.models.lightgcn.LightGCNNet`, cached CSR ``torch.sparse.mm``) against PyG's
  ``LightGCN`` (:class:`engine.models.pyg_lightgcn.PyGLightGCNNet`) on the same graph and
  device: median step ms, peak GPU memory, PyG / CSR, and the H100 anchors (PyG 426 ms,
  cached CSR 47.6 ms; goal <= 40 ms). On a CPU-only machine at the full shape the graph is
  cut to 5M ratings (PyG's step would need about 30 GB there), as ``bench/gnn.py`` does.
* ``sage`` -- mini-batch ``hetero_sage`` (fanouts 10,5, batch 4,096): one epoch -- at the
  full shape its first ``--sage-edges`` (GPU, 1M) / ``--sage-cpu-edges`` (CPU, 500k) seed
  edges, the whole epoch with ``--small`` -- in a child process (``bench/gnn.py
  --scale-child``) on the GPU and on this machine's CPU cores: edges/s, layer-wise
  inference of every node, peak GPU memory, peak RSS, GPU / CPU edges/s.
* ``score`` -- top-20 for every user with the default model (the size rule's choice,
  default parameters): ``Recommender.recommend`` on the CPU (what ``engine train``'s score
  stage runs) against the same scores with the seen-mask and the top-20 selection on the
  GPU. The default models score with numpy and take no ``device`` parameter, so
  ``score()`` itself runs on the CPU in both columns; the JSON says so.
* ``pipeline`` -- the default pipeline's train (validation selection + refit,
  ``engine.training.protocols.fit_production`` as ``engine train`` calls it) and score
  (``build_run_output``: top-20, vectors, SIMILAR) stages with ``--device cuda`` and
  ``--device cpu``. A model without a ``device`` parameter runs the same CPU code for both,
  so the cuda run is not repeated and the JSON says why.

Without a GPU every GPU column reads "no GPU" and no ratio is printed. ``--budget-s``
(default 480) skips a part whose rough time estimate would overrun the budget; a skipped
part is recorded with the reason.

    python bench/gpu.py                          # on the GPU machine (~8 min)
    python bench/gpu.py --parts lightgcn sage    # the GNN figures only
    python bench/gpu.py --small --device cpu     # CI smoke run (< 1 min on 2 cores)

Writes ``bench/results/gpu.json`` (``--small``: ``gpu_small.json``), a fresh document per run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.gnn import MOVIES_25M, RATINGS_25M, USERS_25M, peak_rss_mib, pick_device  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "gpu.json"
RESULTS_SMALL = ROOT / "bench" / "results" / "gpu_small.json"
PARTS = ("lightgcn", "sage", "score", "pipeline")
SMALL = (2_000, 1_000, 50_000)
CPU_LIGHTGCN_RATINGS = 5_000_000  # full-shape LightGCN part on a CPU-only machine
#: H100 figures of issue 33 (ms per LightGCN step at the ML-25M shape).
ANCHORS_MS = {"pyg": 426.0, "csr": 47.6, "goal": 40.0}
#: Rough seconds per part at the full shape on the GPU machine (scaled by ratings for
#: other shapes); only the --budget-s guard reads them.
ESTIMATE_S = {"lightgcn": 60.0, "sage": 180.0, "score": 120.0, "pipeline": 300.0}
NO_GPU = "no GPU"


# --------------------------------------------------------------------------- helpers
class Bench:
    """The run's arguments, clock and SYNTHETIC data (one generated export held at a time)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.perf_counter()
        self.cuda = args.device.startswith("cuda")
        self._export: tuple[tuple[int, int, int], Any, float] | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.args.budget_s - self.elapsed()

    def export(self, users: int, movies: int, ratings: int) -> Any:
        """The SYNTHETIC release of that shape as an engine ``Export`` (no database)."""
        from bench._data import export_from
        from loader import generate_synthetic

        key = (users, movies, ratings)
        if self._export is None or self._export[0] != key:
            self._export = None  # GBs at 25M: drop the old one first
            t = time.perf_counter()
            data = generate_synthetic(users=users, movies=movies, ratings=ratings, seed=0)
            exp = export_from(data, "SYNTHETIC")
            self._export = (key, exp, time.perf_counter() - t)
            print(f"  generated SYNTHETIC {users:,} x {movies:,}, {ratings:,} ratings in "
                  f"{self._export[2]:.1f}s", flush=True)
        return self._export[1]


def shape_of(users: int, movies: int, ratings: int) -> dict[str, Any]:
    return {"users": users, "movies": movies, "ratings": ratings, "synthetic": True,
            "label": f"SYNTHETIC {users:,} users x {movies:,} movies, {ratings:,} ratings"}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def reset_gpu_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def gpu_peak_mib(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.cuda.max_memory_allocated() / 2**20


def ratio(a: Any, b: Any) -> float | None:
    ok = all(isinstance(x, int | float) and math.isfinite(x) and x > 0 for x in (a, b))
    return a / b if ok else None


# --------------------------------------------------------------------------- 1. lightgcn
def step_times(net: Any, users: np.ndarray, items: np.ndarray, num_items: int, batch: int,
               steps: int, device: str) -> list[float]:
    """Seconds of ``steps`` training steps (after one warm-up): BPR batch, fwd + bwd + Adam."""
    import torch

    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(1)
    times = []
    for s in range(steps + 1):
        idx = rng.integers(0, len(users), batch)
        bu = torch.from_numpy(users[idx]).to(device)
        bp = torch.from_numpy(items[idx]).to(device)
        bn = torch.from_numpy(rng.integers(0, num_items, batch)).to(device)
        sync(device)
        t = time.perf_counter()
        opt.zero_grad()
        loss = net.bpr_loss(bu, bp, bn)
        loss.backward()
        opt.step()
        sync(device)
        if s > 0:
            times.append(time.perf_counter() - t)
    return times


def lightgcn(bench: Bench) -> dict[str, Any]:
    import torch

    from engine.models.lightgcn import LightGCNNet
    from engine.models.ops import DEFAULT_CACHE, to_torch_csr
    from engine.models.pyg_lightgcn import PyGLightGCNNet, bipartite_edge_index

    a, dev = bench.args, bench.args.device
    users, movies, ratings = a.shape
    if not bench.cuda and not a.small:
        ratings = min(ratings, CPU_LIGHTGCN_RATINGS)
    inter = bench.export(users, movies, ratings).interactions
    u, i = inter.user.astype(np.int64), inter.item.astype(np.int64)
    out: dict[str, Any] = {"shape": shape_of(inter.num_users, inter.num_items, len(inter)),
                           "device": dev, "layers": 3, "dim": 64, "batch": a.batch, "steps": a.steps,
                           "step": "one BPR batch: full propagation, forward + backward + Adam"}
    for kind in ("csr", "pyg"):
        torch.manual_seed(0)
        reset_gpu_peak(dev)
        t = time.perf_counter()
        net: Any
        if kind == "csr":  # what lightgcn_csr builds (LightGCNCSR._build)
            adj = to_torch_csr(DEFAULT_CACHE.norm_adjacency(inter.to_csr(binary=True)))
            net = LightGCNNet(inter.num_users, inter.num_items, 64, 3, 1e-4, adj)
            del adj
        else:
            net = PyGLightGCNNet(inter.num_users, inter.num_items, 64, 3, 1e-4,
                                 bipartite_edge_index(inter))
        row: dict[str, Any] = {}
        try:
            net = net.to(dev)
            sync(dev)
            row["prep_s"] = time.perf_counter() - t
            times = step_times(net, u, i, inter.num_items, a.batch, a.steps, dev)
            row.update(step_s=float(np.median(times)), step_s_all=times)
            row["step_ms"] = 1000 * row["step_s"]
            if bench.cuda:
                row["peak_gpu_mib"] = gpu_peak_mib(dev)
        except torch.cuda.OutOfMemoryError as exc:  # a fact to report, not a number to invent
            row["error"] = f"out of GPU memory: {str(exc).splitlines()[0]}"
        row["peak_rss_mib"] = peak_rss_mib()
        del net
        DEFAULT_CACHE.clear()
        out[kind] = row
        shown = f"{row['step_ms']:.1f} ms" if "step_ms" in row else row["error"]
        print(f"  {kind}: median step {shown}", flush=True)
    out["ratio_pyg_over_csr"] = ratio(out["pyg"].get("step_s"), out["csr"].get("step_s"))
    if bench.cuda:
        out["anchors_h100_ms"] = ANCHORS_MS
        if "step_ms" in out["csr"]:
            out["goal_met"] = out["csr"]["step_ms"] <= ANCHORS_MS["goal"]
    return out


# --------------------------------------------------------------------------- 2. sage
def sage(bench: Bench) -> dict[str, Any]:
    a = bench.args
    users, movies, ratings = a.shape
    budgets = {"cuda": min(a.sage_edges, ratings), "cpu": min(a.sage_cpu_edges, ratings)}
    out: dict[str, Any] = {"shape": shape_of(users, movies, ratings), "fanouts": "10,5",
                           "batch": a.sage_batch, "edge_budget": budgets,
                           "full_epoch": min(budgets.values()) >= ratings,
                           "child": "bench/gnn.py --scale-child"}
    for dev in ("cuda", "cpu") if bench.cuda else ("cpu",):
        edges = budgets[dev]
        cmd = [sys.executable, str(ROOT / "bench" / "gnn.py"), "--scale-child", str(users), str(movies),
               str(ratings), str(edges), str(a.sage_batch), dev]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                                  timeout=max(60.0, bench.left()))
        except subprocess.TimeoutExpired:
            out[dev] = {"error": "timed out (--budget-s)"}
            continue
        if done.returncode != 0:
            out[dev] = {"error": done.stderr.strip()[-2000:]}
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["peak_gpu_mib"] = row.pop("peak_cuda_mib", None)
        out[dev] = row
        print(f"  {dev}: {row['edges_trained']:,.0f} edges in {row['train_s']:.1f}s "
              f"({row['edges_per_s']:,.0f} edges/s); inference {row['inference_s']:.1f}s", flush=True)
    if not bench.cuda:
        out["cuda"] = {"absent": NO_GPU}
    out["ratio_edges_per_s_gpu_over_cpu"] = ratio(out["cuda"].get("edges_per_s"),
                                                  out["cpu"].get("edges_per_s"))
    return out


# --------------------------------------------------------------------------- 3. score
def torch_top_k(model: Any, seen: Any, users: np.ndarray, k: int, device: str,
                batch_size: int = 1024) -> np.ndarray:
    """``model.score`` per batch (on the CPU), seen items masked and top-``k`` on ``device``."""
    import torch

    items = np.empty((len(users), k), dtype=np.int64)
    for lo in range(0, len(users), batch_size):
        b = users[lo : lo + batch_size]
        s = torch.from_numpy(np.ascontiguousarray(model.score(b), dtype=np.float32)).to(device)
        rows = seen[b]
        r = np.repeat(np.arange(len(b)), np.diff(rows.indptr))
        s[torch.from_numpy(r).to(device), torch.from_numpy(rows.indices.astype(np.int64)).to(device)] = (
            -math.inf)
        items[lo : lo + len(b)] = torch.topk(s, k, dim=1).indices.cpu().numpy()
    return items


def agreement(x: np.ndarray, y: np.ndarray) -> float:
    """Mean share of each user's top-k that both lists hold (ties may order differently)."""
    hits = sum(len(np.intersect1d(p, q, assume_unique=True)) for p, q in zip(x, y, strict=True))
    return hits / max(x.size, 1)


def score(bench: Bench) -> dict[str, Any]:
    from engine.jobs.train import choose_model
    from engine.models import make_model
    from engine.models.ops import DEFAULT_CACHE

    a = bench.args
    exp = bench.export(*a.shape)
    inter = exp.interactions
    name = choose_model(None, exp, {}, lambda _: None)  # the size rule, memory checked
    model = make_model(name)
    has_device = "device" in model.get_params()
    t = time.perf_counter()
    model.fit(inter)
    fit_s = time.perf_counter() - t
    users = np.arange(inter.num_users, dtype=np.int64)
    out: dict[str, Any] = {"shape": shape_of(inter.num_users, inter.num_items, len(inter)),
                           "model": name, "k": 20, "users": int(len(users)), "fit_s": fit_s,
                           "model_has_device": has_device,
                           "cpu_path": "Recommender.recommend (engine train's score stage)",
                           "gpu_path": ("model.score on the CPU (no device parameter), seen-mask and "
                                        "top-20 on the GPU" if not has_device else
                                        "model.score, seen-mask and top-20 on the GPU")}
    t = time.perf_counter()
    cpu_items, _ = model.recommend(users, k=20)
    cpu_s = time.perf_counter() - t
    out["cpu"] = {"seconds": cpu_s, "users_per_s": len(users) / cpu_s}
    print(f"  {name}: fit {fit_s:.1f}s; CPU top-20 for {len(users):,} users in {cpu_s:.1f}s", flush=True)
    seen = inter.to_csr(binary=True)
    check_dev = a.device if bench.cuda else "cpu"
    torch_top_k(model, seen, users[:64], 20, check_dev)  # warm-up (CUDA context, kernels)
    sync(check_dev)
    reset_gpu_peak(check_dev)
    t = time.perf_counter()
    items = torch_top_k(model, seen, users, 20, check_dev)
    sync(check_dev)
    dt = time.perf_counter() - t
    row = {"device": check_dev, "seconds": dt, "users_per_s": len(users) / dt,
           "agreement_with_cpu": agreement(items, cpu_items)}
    if bench.cuda:
        row["peak_gpu_mib"] = gpu_peak_mib(check_dev)
        out["cuda"] = row
        out["ratio_cpu_over_gpu_seconds"] = ratio(cpu_s, dt)
        print(f"  GPU top-20 in {dt:.1f}s (agreement {row['agreement_with_cpu']:.4f})", flush=True)
    else:  # the GPU path's code, run on the CPU only to check it agrees; not a GPU figure
        out["cuda"] = {"absent": NO_GPU}
        out["torch_path_check_on_cpu"] = row
        out["ratio_cpu_over_gpu_seconds"] = None
    DEFAULT_CACHE.clear()
    return out


# --------------------------------------------------------------------------- 4. pipeline
def pipeline(bench: Bench) -> dict[str, Any]:
    from engine.jobs.train import choose_model, resolve_device
    from engine.models.ops import DEFAULT_CACHE
    from engine.training.protocols import fit_production
    from engine.writeback import build_run_output

    a = bench.args
    exp = bench.export(*a.shape)
    name = choose_model(None, exp, {}, lambda _: None)
    out: dict[str, Any] = {"shape": shape_of(*a.shape), "model": name,
                           "train": "fit_production (engine train: temporal-fraction 0.1 carve, tuning, "
                                    "refit on all ratings)",
                           "score": "build_run_output (top-20 every user, vectors, SIMILAR)"}
    for dev in ("cuda", "cpu"):
        if dev == "cuda" and not bench.cuda:
            out[dev] = {"absent": NO_GPU}
            continue
        params = resolve_device(dev, name, {})  # as engine train --device does
        if dev == "cuda" and "device" not in params:
            out[dev] = {"same_as_cpu": f"{name} has no device parameter: engine train --device cuda "
                                       "runs the same CPU code (not repeated)"}
            continue
        DEFAULT_CACHE.clear()  # no operator cached by an earlier run
        t = time.perf_counter()
        prod = fit_production(exp, name, params, valid_ratio=0.1, seed=0, carve="temporal-fraction")
        train_s = time.perf_counter() - t
        config = {"runId": "bench-gpu", "model": name, "params": prod.selected.refit_params(),
                  "dataset": "SYNTHETIC"}
        t = time.perf_counter()
        build_run_output(prod.model, exp.idmap, config, {}, k=20)
        score_s = time.perf_counter() - t
        out[dev] = {"params": params, "train_s": train_s, "refit_s": prod.fit_seconds, "score_s": score_s,
                    "total_s": train_s + score_s}
        print(f"  --device {dev}: train {train_s:.1f}s (refit {prod.fit_seconds:.1f}s), "
              f"score {score_s:.1f}s", flush=True)
    DEFAULT_CACHE.clear()
    out["ratio_cpu_over_gpu_total"] = ratio(out["cpu"].get("total_s"), out["cuda"].get("total_s"))
    return out


# --------------------------------------------------------------------------- table
def _f(x: Any, spec: str = "s") -> str:
    """``x`` formatted (``"s"``: seconds, 2 decimals below 10), or a dash."""
    if not (isinstance(x, int | float) and math.isfinite(x)):
        return "–"
    return format(x, (".2f" if abs(x) < 10 else ",.1f") if spec == "s" else spec)


def _gpu(row: dict[str, Any], key: str, spec: str = "s") -> str:
    if "absent" in row:
        return NO_GPU
    if "same_as_cpu" in row:
        return "same CPU code"
    if "error" in row:
        return "error"
    return _f(row.get(key), spec)


def _x(r: float | None) -> str:
    return "–" if r is None else f"{r:.2f}x"


def print_tables(doc: dict[str, Any]) -> None:
    gpu = doc["gpu_name"] or NO_GPU
    print(f"\n{doc['shape']['label']} (loader.synthetic, seed 0)")
    print(f"device: {doc['device']} ({gpu}); {doc['cpu_count']} CPU cores; torch {doc['torch']}"
          + ("" if doc["gpu"] else " -- no GPU on this machine: GPU columns are absent, no ratios"))
    parts = doc["parts"]
    for name, row in parts.items():
        if "skipped" in row:
            print(f"\n{name}: skipped ({row['skipped']})")
    lg = parts.get("lightgcn", {})
    if "csr" in lg:
        dev = "GPU" if lg["device"].startswith("cuda") else "CPU"
        print(f"\n| 1. LightGCN step, {lg['shape']['label']}, 3 layers, d=64, batch {lg['batch']:,} "
              f"({dev}) | step ms | peak GPU MiB | H100 anchor ms |\n|---|---|---|---|")
        anch = lg.get("anchors_h100_ms")
        for kind, label in (("csr", "lightgcn_csr propagation (cached CSR)"), ("pyg", "PyG LightGCN")):
            r = lg[kind]
            ref = "–" if anch is None else (f"{anch['csr']} (goal <= {anch['goal']})" if kind == "csr"
                                             else f"{anch['pyg']}")
            print(f"| {label} | {_f(r.get('step_ms'), ',.1f') if 'error' not in r else r['error']} | "
                  f"{_f(r.get('peak_gpu_mib'), ',.0f') if anch else NO_GPU} | {ref} |")
        anchor_ratio = "–" if anch is None else _x(anch["pyg"] / anch["csr"])
        print(f"| PyG / CSR | {_x(lg['ratio_pyg_over_csr'])} | | {anchor_ratio} |")
        if "goal_met" in lg:
            print(f"| goal <= {ANCHORS_MS['goal']:.0f} ms | {'met' if lg['goal_met'] else 'not met'} | | |")
    sg = parts.get("sage", {})
    if "cpu" in sg:
        c, g = sg["cpu"], sg["cuda"]
        epoch = "whole epoch" if sg["full_epoch"] else "the epoch's first seed edges, as trained below"
        print(f"\n| 2. hetero_sage mini-batch, fanouts 10,5, batch {sg['batch']:,} ({epoch}) | GPU | "
              f"CPU ({doc['cpu_count']} cores) | GPU / CPU |\n|---|---|---|---|")
        for label, key, spec in (("edges trained", "edges_trained", ",.0f"),
                                 ("edges/s", "edges_per_s", ",.0f"), ("train s", "train_s", "s"),
                                 ("layer-wise inference s", "inference_s", "s"),
                                 ("peak GPU memory MiB", "peak_gpu_mib", ",.0f"),
                                 ("peak RSS MiB", "peak_rss_mib", ",.0f")):
            cpu = "–" if key == "peak_gpu_mib" else _f(c.get(key), spec)
            r = _x(sg["ratio_edges_per_s_gpu_over_cpu"]) if key == "edges_per_s" else ""
            print(f"| {label} | {_gpu(g, key, spec)} | {cpu} | {r} |")
    sc = parts.get("score", {})
    if "cpu" in sc:
        g = sc["cuda"]
        print(f"\n| 3. top-20 for all {sc['users']:,} users, default model {sc['model']} "
              f"(fit {sc['fit_s']:.1f}s) | GPU | CPU | CPU / GPU |\n|---|---|---|---|")
        print(f"| seconds | {_gpu(g, 'seconds')} | {_f(sc['cpu']['seconds'])} | "
              f"{_x(sc['ratio_cpu_over_gpu_seconds'])} |")
        print(f"| users/s | {_gpu(g, 'users_per_s', ',.0f')} | {_f(sc['cpu']['users_per_s'], ',.0f')} | |")
        print(f"| top-20 agreement with CPU | {_gpu(g, 'agreement_with_cpu', '.4f')} | 1 | |")
        print(f"(GPU path: {sc['gpu_path']})")
        chk = sc.get("torch_path_check_on_cpu")
        if chk:
            print(f"(that path's code, checked on the CPU: {chk['seconds']:.2f}s, agreement "
                  f"{chk['agreement_with_cpu']:.4f})")
    pl = parts.get("pipeline", {})
    if "cpu" in pl:
        c, g = pl["cpu"], pl["cuda"]
        print(f"\n| 4. default pipeline, {pl['model']} | --device cuda | --device cpu | cpu / cuda |"
              "\n|---|---|---|---|")
        for label, key in (("train stage s (selection + refit)", "train_s"),
                           ("score stage s", "score_s"), ("total s", "total_s")):
            r = _x(pl["ratio_cpu_over_gpu_total"]) if key == "total_s" else ""
            print(f"| {label} | {_gpu(g, key)} | {_f(c[key])} | {r} |")
        if "same_as_cpu" in g:
            print(f"({g['same_as_cpu']})")
    print(f"\nwall {doc['elapsed_s']:.0f}s of a {doc['budget_s']:.0f}s budget")


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--small", action="store_true",
                        help=f"SYNTHETIC {SMALL[0]:,} x {SMALL[1]:,} x {SMALL[2]:,} (CI, CPU)")
    parser.add_argument("--budget-s", type=float, default=480.0,
                        help="skip a part that would end past this many seconds")
    parser.add_argument("--batch", type=int, help="lightgcn: triplets per step (65,536; --small 8,192)")
    parser.add_argument("--steps", type=int, help="lightgcn: timed steps after a warm-up (5; --small 3)")
    parser.add_argument("--sage-edges", type=int, default=1_000_000,
                        help="sage: seed edges trained on the GPU (capped at the ratings: a whole epoch)")
    parser.add_argument("--sage-cpu-edges", type=int, default=500_000,
                        help="sage: seed edges trained on the CPU (edges/s is the figure compared)")
    parser.add_argument("--sage-batch", type=int, default=4096)
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/gpu.json; "
                                                 "--small: gpu_small.json)")
    args = parser.parse_args(argv)
    import logging
    import warnings

    import torch

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    args.device = pick_device(args.device)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device here")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    args.shape = SMALL if args.small else (USERS_25M, MOVIES_25M, RATINGS_25M)
    args.batch = args.batch or (8192 if args.small else 65_536)
    args.steps = args.steps or (3 if args.small else 5)
    out = args.out or (RESULTS_SMALL if args.small else RESULTS)
    bench = Bench(args)
    doc: dict[str, Any] = {
        "issue": 33, "shape": shape_of(*args.shape), "small": args.small, "device": args.device,
        "gpu": bench.cuda, "gpu_name": torch.cuda.get_device_name() if bench.cuda else None,
        "cpu_count": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
        "budget_s": args.budget_s, "parts": {}}
    scale = args.shape[2] / RATINGS_25M
    for part in args.parts:
        estimate = ESTIMATE_S[part] * scale
        if bench.elapsed() + estimate > args.budget_s:
            doc["parts"][part] = {"skipped": f"--budget-s {args.budget_s:.0f}: {bench.elapsed():.0f}s "
                                             f"spent, about {estimate:.0f}s more needed"}
            print(f"\n== {part}: skipped ({doc['parts'][part]['skipped']})", flush=True)
            continue
        print(f"\n== {part}", flush=True)
        t = time.perf_counter()
        doc["parts"][part] = {"lightgcn": lightgcn, "sage": sage, "score": score,
                              "pipeline": pipeline}[part](bench)
        doc["parts"][part]["part_s"] = time.perf_counter() - t
        doc["elapsed_s"] = bench.elapsed()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=1, default=float))
    doc["elapsed_s"] = bench.elapsed()
    doc["peak_rss_mib"] = peak_rss_mib()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, default=float))
    print_tables(doc)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
