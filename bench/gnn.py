"""GNN benchmark (issue 14): full-graph vs mini-batch, Neo4j-backed store vs in-memory loader, CPU vs GPU.

Parts (``--parts``), each with its reference in the same run:

* ``quality`` -- ``hetero_sage`` trained full-graph and mini-batch (PyG
  ``LinkNeighborLoader``, fanouts 10,5, BPR) on P1, T1 and T2 of ``bench/quality.py``,
  both through the engine's own selection (early stopping on a validation carve of train
  made by the test split's rule; the same time budget per fit), measured once on test:
  NDCG@10 and the ratio mini-batch / full-graph (goal: >= 0.98).
* ``loader`` -- the training ``LinkNeighborLoader`` (triplets with unrated negatives,
  fanouts 10,5) over ml-latest-small from the in-memory ``HeteroData`` and from the
  Neo4j-backed ``(FeatureStore, GraphStore)`` on a private local Neo4j 5.26 (features
  fetched per batch): batches/s and positive edges/s, and the ratio; then one mini-batch
  training epoch through each.
* ``scale`` -- mini-batch ``hetero_sage`` at the SYNTHETIC ML-25M shape (162,541 users,
  59,047 movies, 25M ratings) in a child process: graph preparation, training under an
  edge budget (edges trained per second), layer-wise inference of every node, peak RSS
  (goal <= 8 GB). The full-graph path is not run at this shape: one full-graph SAGE step
  holds ``[E, d]`` messages for 50M directed edges (about 13 GB at d = 64).
* ``lightgcn`` -- a LightGCN-CSR training step against PyG ``LightGCN`` on the same graph
  and device (``bench/train.py --scale``): the ML-25M shape on a GPU; on a CPU-only machine
  a 5M-edge graph (PyG's step needs 6 GB there and would not fit at 25M).

``--device cuda`` runs ``quality``/``scale``/``lightgcn`` on the GPU (``auto``: when one is
present). Without a GPU every figure is a CPU figure, and the run says so.

    python bench/gnn.py                              # all parts (~40 min on 2 cores)
    python bench/gnn.py --parts loader scale --scale-edges 1000000
    python bench/gnn.py --parts quality --protocols T1

Writes ``bench/results/gnn.json``. The scale graph is SYNTHETIC.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "gnn.json"
USERS_25M, MOVIES_25M, RATINGS_25M = 162_541, 59_047, 25_000_000
PARAMS = {"dim": 64, "num_layers": 2, "dropout": 0.7, "reg": 1e-4}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pick_device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


# --------------------------------------------------------------------------- quality
def _earlier_runs(args: argparse.Namespace, proto: str, label: str) -> list[dict[str, Any]]:
    """Per-seed runs of ``proto`` saved in ``--out`` with the same fanouts and budget."""
    if not args.out.is_file():
        return []
    for row in json.loads(args.out.read_text()).get("quality", []):
        if (row.get("protocol") == proto and row.get("fanouts") == args.fanouts
                and row.get("budget", args.budget) == args.budget):
            runs = row.get(label, {}).get("runs")
            if runs is None and label in row:  # a single-seed row
                runs = [{"seed": 0, **{k: v for k, v in row[label].items() if k != "runs"}}]
            return list(runs or [])
    return []


def quality(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench.quality import protocol_split, run_default

    rows = []
    for proto in args.protocols:
        spec, export, how, arg, split = protocol_split(proto)
        row: dict[str, Any] = {"protocol": proto, "what": spec["what"], "fanouts": args.fanouts,
                               "budget": args.budget}
        for label, mode in (("full-graph", False), ("mini-batch", True)):
            runs = []
            for seed in args.seeds:  # the model's seed; the splits stay fixed
                params = {**PARAMS, "minibatch": mode, "time_budget_s": args.budget, "seed": seed,
                          "device": args.device, **({"fanouts": args.fanouts} if mode else {})}
                t0 = time.perf_counter()
                res = run_default("hetero_sage", export, split, how, arg, params)
                runs.append({"seed": seed, "ndcg@10": res["test"]["ndcg@10"], "valid": res["valid"],
                             "epochs": res["params"].get("epochs"),
                             "fit_seconds": res["fit_seconds"], "seconds": time.perf_counter() - t0})
                row["popularity"] = res["popularity"]
                r = runs[-1]
                print(f"  {proto} {label:<10} seed {seed} test NDCG@10 {r['ndcg@10']:.4f} "
                      f"(valid {r['valid']:.4f}, {r['epochs']} epochs, {r['seconds']:.0f}s)", flush=True)
            earlier = [r for r in _earlier_runs(args, proto, label) if r["seed"] not in args.seeds]
            runs = sorted(earlier + runs, key=lambda r: r["seed"])  # --seeds adds to a saved run
            row[label] = {"ndcg@10": float(np.mean([r["ndcg@10"] for r in runs])),
                          "sd": float(np.std([r["ndcg@10"] for r in runs])), "runs": runs}
        row["ratio"] = row["mini-batch"]["ndcg@10"] / row["full-graph"]["ndcg@10"]
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- loader
def loader(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from bench.writeback import client_settings, local_server
    from engine.data.hetero import rated_pairs
    from engine.graphdb import Runner, open_driver
    from engine.graphdb.export import export_subgraph
    from engine.jobs.stores import neo4j_graph_for
    from engine.models.hetero.inputs import prepare_graph
    from engine.models.hetero.minibatch import Sampling, link_loader
    from engine.models.hetero.sage import HeteroSAGERecommender
    from engine.models.losses import NegativeSampler
    from engine.schema import RATES
    from engine.training.selection import training_graph
    from loader import bundled_dataset, read_movielens
    from loader.ingest import load_dataset, wipe

    out: dict[str, Any] = {}
    with local_server(args) as local:
        settings = client_settings(args, local)
        with open_driver(settings) as driver:
            wipe(Runner(driver), batch=10_000)
            load_dataset(Runner(driver), read_movielens(bundled_dataset()), progress=False)
            export = export_subgraph(driver, progress=False)
            train = export.interactions
            memory = prepare_graph(train, training_graph(export, train))
            t0 = time.perf_counter()
            stores = neo4j_graph_for(driver, export)(train)
            out["store_setup_s"] = time.perf_counter() - t0
            users, movies, _ = rated_pairs(train)
            for name, source in (("in-memory HeteroData", memory), ("Neo4j FeatureStore/GraphStore", stores)):
                torch.manual_seed(0)  # the loader engine train uses: triplets, unrated negatives
                ld = link_loader(source, (users, movies), NegativeSampler(train, seed=1),
                                 Sampling(fanouts=(10, 5)), batch_size=args.batch_size, seed=0)
                t0 = time.perf_counter()
                batches = edges = 0
                for batch in ld:
                    batches += 1
                    edges += int(batch[RATES].edge_label.sum())
                dt = time.perf_counter() - t0
                model = HeteroSAGERecommender(**PARAMS, minibatch=True, epochs=1,
                                              batch_size=args.batch_size)
                fit_s = model.fit(train, None, source).seconds_per_epoch  # the epoch alone
                out[name] = {"batches": batches, "edges": edges, "seconds": dt,
                             "batches_per_s": batches / dt, "edges_per_s": edges / dt,
                             "epoch_seconds": fit_s}
                print(f"  {name:<30} {batches} batches in {dt:.2f}s ({batches / dt:.1f}/s, "
                      f"{edges / dt:,.0f} seed edges/s); one training epoch {fit_s:.1f}s", flush=True)
            out["fetches"] = int(stores[0].fetches)
    a, b = out["in-memory HeteroData"], out["Neo4j FeatureStore/GraphStore"]
    out["throughput_ratio_store_over_memory"] = b["edges_per_s"] / a["edges_per_s"]
    out["epoch_ratio_store_over_memory"] = b["epoch_seconds"] / a["epoch_seconds"]
    print(f"  store / memory: loader throughput {out['throughput_ratio_store_over_memory']:.2f}x, "
          f"training epoch time {out['epoch_ratio_store_over_memory']:.2f}x", flush=True)
    return out


# --------------------------------------------------------------------------- scale
def scale_child(users: int, movies: int, ratings: int, edges: int, batch: int, device: str) -> None:
    import torch

    from bench._data import export_from
    from engine.models.hetero.inputs import prepare_graph
    from engine.models.hetero.minibatch import layerwise_states
    from engine.models.hetero.sage import HeteroSAGERecommender
    from engine.training.selection import training_graph
    from loader import generate_synthetic

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    export = export_from(generate_synthetic(users=users, movies=movies, ratings=ratings, seed=0),
                         "SYNTHETIC")
    stages["generate_s"] = time.perf_counter() - t0
    train = export.interactions
    t0 = time.perf_counter()
    graph = training_graph(export, train)  # features fitted on train, as engine train builds it
    stages["features_s"] = time.perf_counter() - t0
    model = HeteroSAGERecommender(**PARAMS, minibatch=True, epochs=10**6, max_edges=edges,
                                  batch_size=batch, device=device)
    t0 = time.perf_counter()
    history = model.fit(train, None, graph)  # prepares the relations, samples, trains, infers
    fit_s = time.perf_counter() - t0
    assert model.module is not None
    t0 = time.perf_counter()
    prepared = prepare_graph(train, graph)
    stages["prepare_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    layerwise_states(model.module.encoder, prepared, device=device)  # what fit ends with, alone
    stages["inference_s"] = time.perf_counter() - t0
    stages["train_s"] = history.fit_seconds
    stages["fit_total_s"] = fit_s
    out = {"users": users, "movies": movies, "ratings": len(train), "device": device,
           "edges_trained": history.info["edges_trained"], "batch_size": batch, **stages,
           "edges_per_s": history.info["edges_trained"] / history.fit_seconds,
           "peak_rss_mib": peak_rss_mib()}
    if device.startswith("cuda"):
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(out))


def scale(args: argparse.Namespace) -> dict[str, Any]:
    f = args.fraction
    cmd = [sys.executable, __file__, "--scale-child", str(int(USERS_25M * f ** 0.5)),
           str(int(MOVIES_25M * f ** 0.5)), str(int(RATINGS_25M * f)), str(args.scale_edges),
           str(args.batch_size), args.device]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"scale child failed: {done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  SYNTHETIC {out['users']:,} x {out['movies']:,}, {out['ratings']:,} ratings on "
          f"{out['device']}: generate {out['generate_s']:.0f}s, prepare {out['prepare_s']:.0f}s, "
          f"mini-batch train {out['edges_trained']:,.0f} edges in {out['train_s']:.0f}s "
          f"({out['edges_per_s']:,.0f} edges/s), layer-wise inference {out['inference_s']:.0f}s, "
          f"peak RSS {out['peak_rss_mib']:,.0f} MiB", flush=True)
    return out


# --------------------------------------------------------------------------- lightgcn
def lightgcn(args: argparse.Namespace) -> dict[str, Any]:
    shape = (f"{USERS_25M}x{MOVIES_25M}x{RATINGS_25M}" if args.device.startswith("cuda")
             else "160000x59000x5000000")
    out_file = ROOT / "bench" / "results" / "gnn_lightgcn_step.json"
    cmd = [sys.executable, str(ROOT / "bench" / "train.py"), "--scale", "--scale-shape", shape,
           "--device", args.device, "--threads", str(os.cpu_count() or 1), "--out", str(out_file)]
    subprocess.run(cmd, check=True)
    return json.loads(out_file.read_text())


def print_tables(res: dict[str, Any]) -> None:
    print(f"\ndevice: {res['device']}" + ("" if res["gpu"] else " (no GPU on this machine: every "
                                                                  "figure below is a CPU figure)"))
    if "quality" in res:
        print("\n| protocol | popularity | hetero_sage full-graph | hetero_sage mini-batch | "
              "mini / full |\n|---|---|---|---|---|")
        for r in res["quality"]:
            seeds = len(r["full-graph"].get("runs", [0]))
            print(f"| {r['protocol']} ({r['what']}; {seeds} seed{'s' if seeds > 1 else ''}) | "
                  f"{r['popularity']:.4f} | {r['full-graph']['ndcg@10']:.4f} | "
                  f"{r['mini-batch']['ndcg@10']:.4f} | {r['ratio']:.3f} |")
    if "loader" in res:
        lo = res["loader"]
        print("\n| ml-latest-small, LinkNeighborLoader (fanouts 10,5) | batches/s | seed edges/s | "
              "one training epoch s |\n|---|---|---|---|")
        for name in ("in-memory HeteroData", "Neo4j FeatureStore/GraphStore"):
            r = lo[name]
            print(f"| {name} | {r['batches_per_s']:.1f} | {r['edges_per_s']:,.0f} | "
                  f"{r['epoch_seconds']:.1f} |")
        print(f"| store / memory | | {lo['throughput_ratio_store_over_memory']:.2f}x | "
              f"{lo['epoch_ratio_store_over_memory']:.2f}x |")
    if "scale" in res:
        s = res["scale"]
        print(f"\n| SYNTHETIC {s['users']:,} x {s['movies']:,}, {s['ratings']:,} ratings ({s['device']}) "
              "| value |\n|---|---|")
        print(f"| mini-batch hetero_sage: edges trained | {s['edges_trained']:,.0f} |")
        print(f"| edges trained per second | {s['edges_per_s']:,.0f} |")
        print(f"| layer-wise inference, every node | {s['inference_s']:.0f} s |")
        print(f"| features fitted on train / relations prepared | {s['features_s']:.0f} s / "
              f"{s['prepare_s']:.0f} s |")
        print(f"| whole fit (prepare, sample, train, infer) | {s['fit_total_s']:.0f} s |")
        print(f"| Python peak RSS | {s['peak_rss_mib']:,.0f} MiB |")
    if "lightgcn" in res:
        lg = res["lightgcn"]
        c, p = lg["results"]["csr"], lg["results"]["pyg"]
        print(f"\n| LightGCN step, {lg['shape']} ({lg['device']}) | step s | peak RSS MiB |\n|---|---|---|")
        print(f"| LightGCN-CSR | {c['step_seconds']:.3f} | {c['peak_rss_mb']:,.0f} |")
        print(f"| PyG LightGCN | {p['step_seconds']:.3f} | {p['peak_rss_mb']:,.0f} |")
        print(f"| PyG / CSR | {lg['step_ratio_pyg_over_csr']:.1f}x | {lg['rss_ratio_pyg_over_csr']:.2f}x |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["loader", "scale", "quality", "lightgcn"],
                        choices=["quality", "loader", "scale", "lightgcn"])
    parser.add_argument("--protocols", nargs="+", default=["P1", "T1", "T2"])
    parser.add_argument("--budget", type=float, default=300.0, help="quality: seconds per fit")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="quality: model seeds (the mean over them is reported)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--fanouts", default="10,5", help="mini-batch in-neighbours per hop")
    parser.add_argument("--fraction", type=float, default=1.0, help="scale: share of the 25M shape")
    parser.add_argument("--scale-edges", type=int, default=1_000_000,
                        help="scale: the edge budget of the mini-batch run")
    parser.add_argument("--uri", help="loader: use this server (it is WIPED) instead of a private one")
    parser.add_argument("--user", default="neo4j")
    parser.add_argument("--heap", default="1g")
    parser.add_argument("--pagecache", default="512m")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--scale-child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.device = pick_device(args.device)
    if args.scale_child:
        u, m, r, e, b, dev = args.scale_child
        scale_child(int(u), int(m), int(r), int(e), int(b), dev)
        return 0
    import logging
    import warnings

    import torch

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    res: dict[str, Any] = {"cpu_count": os.cpu_count(), "device": args.device,
                           "gpu": torch.cuda.is_available()}
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for part in args.parts:
        print(f"\n== {part}", flush=True)
        res[part] = {"quality": quality, "loader": loader, "scale": scale, "lightgcn": lightgcn}[part](args)
        previous.update(res)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(previous, indent=1, default=float))
    print_tables({**previous, **res})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
