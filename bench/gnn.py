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
* ``workers`` -- loader throughput with DataLoader workers: the same training
  ``LinkNeighborLoader`` (1024 triplets a batch by default) over the Neo4j-backed stores
  (built from settings, so each worker opens its own driver) and over the in-memory
  ``HeteroData``, each with ``num_workers`` 0, 1 and 2 (``fork``; one torch thread in every
  process, as the DataLoader gives its workers), memory and store interleaved, in one run:
  batches/s and seed (positive) edges/s after the first batch, the first batch's latency
  (worker start), and the ratios store / memory and N workers / none. Written under
  ``loader_workers``; ``--quick`` stops each configuration after 40 batches.
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
    python bench/gnn.py --parts workers --quick      # loader throughput, 0/1/2 workers (~1 min)

Writes ``bench/results/gnn.json``. The scale graph is SYNTHETIC.
"""

from __future__ import annotations

import argparse
import gc
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


# --------------------------------------------------------------------------- workers
WORKER_COUNTS = (0, 1, 2)
MEMORY, STORE = "in-memory HeteroData", "Neo4j FeatureStore/GraphStore"


def _triplet_labels(train: Any) -> tuple[Any, Any]:
    """The engine's training pairs (u, p), (u, n) interleaved and their labels (one epoch)."""
    import torch

    from engine.data.hetero import rated_pairs
    from engine.models.losses import NegativeSampler

    users, movies, _ = rated_pairs(train)
    order = np.random.default_rng(0).permutation(len(users))
    u, p = users[order], movies[order]
    n = NegativeSampler(train, seed=1).sample(u)
    index = torch.from_numpy(np.stack([np.repeat(u, 2), np.column_stack([p, n]).reshape(-1)]))
    label = torch.from_numpy(np.tile(np.array([1.0, 0.0], np.float32), len(u)))
    return index, label


def _time_loader(source: Any, index: Any, label: Any, workers: int, batch_size: int,
                 max_batches: int | None) -> dict[str, Any]:
    import torch
    from torch_geometric.loader import LinkNeighborLoader

    from engine.models.hetero.sampling import neighbor_sampler
    from engine.schema import RATES

    nn_ = [10, 5]
    torch.manual_seed(0)
    extra: dict[str, Any] = ({"num_workers": workers, "multiprocessing_context": "fork",
                              "timeout": 300} if workers else {})
    ld = LinkNeighborLoader(source, nn_, edge_label_index=(RATES, index), edge_label=label,
                            batch_size=2 * batch_size, shuffle=False,
                            neighbor_sampler=neighbor_sampler(source, nn_), **extra)
    t0 = time.perf_counter()
    it = iter(ld)
    next(it)  # worker start, each worker's first driver and batch
    first_s = time.perf_counter() - t0
    batches = edges = 0
    t0 = time.perf_counter()
    for batch in it:
        batches += 1
        edges += int(batch[RATES].edge_label.sum())
        if max_batches is not None and batches >= max_batches:
            break
    dt = time.perf_counter() - t0
    del it, ld  # the workers stop here, before the next configuration forks
    gc.collect()
    return {"workers": workers, "batches": batches, "seed_edges": edges, "seconds": dt,
            "first_batch_s": first_s, "batches_per_s": batches / dt, "seed_edges_per_s": edges / dt}


def loader_workers(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from bench.writeback import client_settings, local_server
    from engine.graphdb import Runner, open_driver
    from engine.graphdb.export import export_subgraph
    from engine.jobs.stores import neo4j_graph_for
    from engine.models.hetero.inputs import prepare_graph
    from engine.training.selection import training_graph
    from loader import bundled_dataset, read_movielens
    from loader.ingest import load_dataset, wipe

    max_batches = 40 if args.quick else None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the DataLoader sets in its workers: tiny ops, no thread fight
    out: dict[str, Any] = {"batch_size": args.worker_batch_size, "fanouts": [10, 5],
                           "max_batches": max_batches, "start_method": "fork", "torch_threads": 1,
                           "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
                           MEMORY: {}, STORE: {}}
    with local_server(args) as local:
        settings = client_settings(args, local)
        with open_driver(settings) as driver:
            wipe(Runner(driver), batch=10_000)
            load_dataset(Runner(driver), read_movielens(bundled_dataset()), progress=False)
            export = export_subgraph(driver, progress=False)
        train = export.interactions
        memory = prepare_graph(train, training_graph(export, train))
        stores = neo4j_graph_for(settings, export)(train)  # settings: each worker its own driver
        index, label = _triplet_labels(train)
        for w in WORKER_COUNTS:  # memory and store interleaved: the same load on the machine
            for name, source in ((MEMORY, memory), (STORE, stores)):
                r = _time_loader(source, index, label, w, args.worker_batch_size, max_batches)
                out[name][str(w)] = r
                print(f"  {name:<30} num_workers={w}: {r['batches']} batches in {r['seconds']:.2f}s "
                      f"({r['batches_per_s']:.1f}/s, {r['seed_edges_per_s']:,.0f} seed edges/s; "
                      f"first batch {r['first_batch_s']:.2f}s)", flush=True)
        stores[0].close()
    torch.set_num_threads(threads)
    out["store_over_memory"] = {str(w): out[STORE][str(w)]["seed_edges_per_s"]
                                / out[MEMORY][str(w)]["seed_edges_per_s"] for w in WORKER_COUNTS}
    out["store_over_store_0_workers"] = {str(w): out[STORE][str(w)]["seed_edges_per_s"]
                                         / out[STORE]["0"]["seed_edges_per_s"] for w in WORKER_COUNTS}
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
    if "loader_workers" in res:
        lw = res["loader_workers"]
        cap = f", first {lw['max_batches']} batches" if lw.get("max_batches") else ""
        print(f"\n| ml-latest-small, LinkNeighborLoader ({lw['batch_size']} triplets, fanouts 10,5{cap}) "
              "| num_workers | batches/s | seed edges/s | first batch s | store / memory | "
              "vs 0 workers |\n|---|---|---|---|---|---|---|")
        for name in (MEMORY, STORE):
            for w in WORKER_COUNTS:
                r = lw[name][str(w)]
                ratio = f"{lw['store_over_memory'][str(w)]:.2f}x" if name == STORE else ""
                base = lw[name]["0"]["seed_edges_per_s"]
                print(f"| {name} | {w} | {r['batches_per_s']:.1f} | {r['seed_edges_per_s']:,.0f} | "
                      f"{r['first_batch_s']:.2f} | {ratio} | {r['seed_edges_per_s'] / base:.2f}x |")
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
    parser.add_argument("--parts", nargs="+", default=["loader", "workers", "scale", "quality", "lightgcn"],
                        choices=["quality", "loader", "workers", "scale", "lightgcn"])
    parser.add_argument("--protocols", nargs="+", default=["P1", "T1", "T2"])
    parser.add_argument("--budget", type=float, default=300.0, help="quality: seconds per fit")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="quality: model seeds (the mean over them is reported)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--fanouts", default="10,5", help="mini-batch in-neighbours per hop")
    parser.add_argument("--worker-batch-size", type=int, default=1024,
                        help="workers: triplets per batch")
    parser.add_argument("--quick", action="store_true",
                        help="workers: 40 batches per configuration (a check that it runs)")
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
        key = "loader_workers" if part == "workers" else part
        res[key] = {"quality": quality, "loader": loader, "workers": loader_workers, "scale": scale,
                    "lightgcn": lightgcn}[part](args)
        previous.update(res)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(previous, indent=1, default=float))
    print_tables({**previous, **res})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
