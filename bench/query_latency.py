"""Query latency benchmark: the Cypher recommendation library under 1 and 8 concurrent clients.

On a private Neo4j (or ``--uri``, which is WIPED) holding, in turn, each ``--graphs``
(the bundled ml-latest-small; ML-100K from ../shared; a SYNTHETIC 1M-rating graph) and a
written-back BPR-MF run (d=64, top-20, SIMILAR top-10), measures client-side latency
(``engine.recommend.Reader.run``: driver call to last record, i.e. what ``engine
recommend`` waits for) of:

* ``recommend/for_user``      -- top-10 with explanations (the model path), random users;
* ``recommend/similar_movies`` -- top-10 by the movie vector index, random movies;
* ``recommend/explain``        -- one (user, recommended movie) explanation (informative).

Each query runs ``--requests`` times per concurrency level after a warm-up; prints
p50/p90/p99 and throughput, writes ``bench/results/query_latency.json``. Goal: p50 <= 15
ms, p99 <= 60 ms (``explain``: p50 <= 100 ms at 8 clients).

``--before REV`` also runs each statement as it was at git revision ``REV`` (the same
parameters, alternating with today's statement at each concurrency level) and prints the
ratio before / after of p50 and p99.

    python bench/query_latency.py --graphs ml-100k synthetic-1m
    python bench/query_latency.py --requests 2000 --clients 1 8 16
    python bench/query_latency.py --graphs synthetic-1m --before 3132f6e
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.writeback import add_server_args, dataset, prepare_real, server  # noqa: E402
from engine.graphdb import connect, queries  # noqa: E402
from engine.graphdb.reader import Reader  # noqa: E402
from engine.graphdb.writeback import write_back  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "query_latency.json"
GRAPHS = ("ml-latest-small", "ml-100k", "synthetic-1m")


def statement_at(rev: str, name: str) -> str:
    """The text of ``cypher/<name>.cypher`` at git revision ``rev``."""
    return subprocess.run(["git", "show", f"{rev}:cypher/{name}.cypher"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def run_load(driver, name: str, params: list[dict[str, Any]], clients: int,  # type: ignore[no-untyped-def]
             text: str | None = None) -> dict[str, float]:
    """Run ``name`` (or the statement ``text``) once per params dict over ``clients`` threads."""
    reader = Reader(driver)

    def call(p: dict[str, Any]) -> list[Any]:
        if text is None:
            return reader.run(name, **p)  # what `engine recommend` / `similar` / `explain` call
        with driver.session(default_access_mode="READ") as session:
            return list(session.run(text, p))

    latencies: list[float] = []
    lock = threading.Lock()
    parts = [params[i::clients] for i in range(clients)]

    def client(mine: list[dict[str, Any]]) -> None:
        local = []
        for p in mine:
            t0 = time.perf_counter()
            rows = call(p)
            local.append((time.perf_counter() - t0) * 1000)
            assert rows, (name, p)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=client, args=(part,)) for part in parts]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.array(latencies)
    return {"requests": len(lat), "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p90_ms": round(float(np.percentile(lat, 90)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "mean_ms": round(float(lat.mean()), 1), "per_second": round(len(lat) / wall, 1)}


def measure_graph(driver, args: argparse.Namespace) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Latency of each workload at each concurrency on the graph the server holds now."""
    rng = np.random.default_rng(args.seed)
    results: dict[str, Any] = {}
    users = [r["u"] for r in driver.execute_query(
        "MATCH (u:User)-[:RECOMMENDED]->() RETURN DISTINCT u.userId AS u")[0]]
    movies = [r["m"] for r in driver.execute_query(
        "MATCH (m:Movie) WHERE m.embedding IS NOT NULL OR m.embeddingB IS NOT NULL "
        "RETURN m.movieId AS m")[0]]
    pairs = [(r["u"], r["m"]) for r in driver.execute_query(
        "MATCH (u:User)-[r:RECOMMENDED]->(m) WHERE r.rank = 1 "
        "RETURN u.userId AS u, m.movieId AS m")[0]]
    n = args.requests
    workloads = {
        "recommend/for_user": [
            {"userId": int(u), "k": 10, "genres": None, "yearMin": None, "yearMax": None,
             "minScore": None} for u in rng.choice(users, n)],
        "recommend/similar_movies": [{"movieId": int(m), "k": 10} for m in rng.choice(movies, n)],
        "recommend/explain": [{"userId": int(pairs[i][0]), "movieId": int(pairs[i][1])}
                              for i in rng.integers(0, len(pairs), max(n // 4, 20))],
    }
    for name, params in workloads.items():
        before = statement_at(args.before, name) if args.before else None
        # Compared, both sides run the raw statement the same way (no Reader conversions).
        now = queries.load(name) if before is not None else None
        run_load(driver, name, params[:50], 1, now)  # warm-up: plans, page cache
        if before is not None:
            run_load(driver, name, params[:50], 1, before)
        for clients in args.clients:
            stats = run_load(driver, name, params, clients, now)
            results[f"{name} x{clients}"] = stats
            _print(name, clients, stats)
            if before is not None:
                old = run_load(driver, name, params, clients, before)
                results[f"{name} x{clients} before {args.before}"] = old
                _print(f"{name} @{args.before}", clients, old)
                ratio = {k: round(old[k] / max(stats[k], 1e-9), 2) for k in ("p50_ms", "p99_ms")}
                results[f"{name} x{clients} ratio before/after"] = ratio
                print(f"  {'':<26} before / after: p50 x{ratio['p50_ms']}, p99 x{ratio['p99_ms']}",
                      flush=True)
    return results


def _print(label: str, clients: int, stats: dict[str, float]) -> None:
    print(f"  {label:<26} clients {clients:>2}: p50 {stats['p50_ms']:6.1f} ms  "
          f"p90 {stats['p90_ms']:6.1f}  p99 {stats['p99_ms']:6.1f}  "
          f"{stats['per_second']:7.1f} req/s  ({stats['requests']} requests)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graphs", nargs="+", choices=GRAPHS, default=list(GRAPHS))
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before", metavar="REV",
                        help="also run each statement as at this git revision; print ratios")
    add_server_args(parser)
    parser.add_argument("--skip-prepare", action="store_true",
                        help="the server already holds the (one) graph and a current run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg(),
                              "graphs": {}}
    with server(args) as settings:
        driver = connect(settings)
        try:
            for graph in args.graphs:
                t0 = time.perf_counter()
                if not args.skip_prepare:
                    _, runs = prepare_real(driver, dataset(graph))
                    write_back(driver, runs[0], progress=False)
                print(f"{graph}: prepared in {time.perf_counter() - t0:.0f}s", flush=True)
                report["graphs"][graph] = measure_graph(driver, args)
        finally:
            driver.close()
    report["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
