"""Write-back benchmark: RunOutput -> Neo4j (edges + vectors + index + switch), rows/s.

Two shapes, each on a private local Neo4j (temporary data directory) unless ``--uri``:

* ``small`` -- the bundled ml-latest-small loaded for real (610 users, 9,742 movies,
  100k RATED), top-20 from a BPR-MF (d=64) fitted on it, with SIMILAR top-10;
* ``25m``   -- ML-25M shape: 162,541 :User and 59,047 :Movie nodes created directly
  (SYNTHETIC, no RATED edges, so the "already rated?" check is cheaper than on real
  data), top-20 per user and d=64 vectors for every user and movie from a random
  generator. ``--fraction`` writes that share of users and movies and extrapolates.

Each shape writes two runs: the first into an empty graph (CREATE path), the second
beside it and then switches and deletes the first (``keep_runs=1``), the steady state
of retraining. Prints per-phase seconds, rows/s (rows = edges + vectors) and writes
``bench/results/writeback.json``.

    python bench/writeback.py --shape small
    python bench/writeback.py --shape 25m --fraction 0.1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.data import IdMap  # noqa: E402
from engine.db import LocalServer, free_port  # noqa: E402
from engine.graphdb import connect  # noqa: E402
from engine.settings import Neo4jSettings, ServerSettings  # noqa: E402
from engine.writeback import RunOutput, write_back  # noqa: E402
from loader.ingest import Writer, ensure_schema, wipe  # noqa: E402

USERS_25M, MOVIES_25M = 162_541, 59_047
RESULTS = ROOT / "bench" / "results" / "writeback.json"


@contextmanager
def server(args: argparse.Namespace) -> Iterator[Neo4jSettings]:
    """A private Neo4j for the benchmark (or the one named by --uri)."""
    if args.uri:
        yield Neo4jSettings(uri=args.uri, user=args.user, password=args.password)
        return
    with tempfile.TemporaryDirectory(prefix="reelgraph-bench-") as tmp:
        local = LocalServer(ServerSettings(Path(tmp), free_port(), free_port(),
                                           heap=args.heap, pagecache=args.pagecache))
        local.start(timeout=300)
        try:
            yield local.client_settings()
        finally:
            local.stop()


def prepare_real(driver, data, dim: int = 64, seed: int = 0) -> tuple[Any, list[RunOutput]]:  # type: ignore[no-untyped-def]
    """Load ``data`` for real; two BPR-MF runs (seeds) with top-20 and SIMILAR top-10."""
    from engine.export import export_subgraph
    from engine.models.bpr_mf import BPRMF
    from engine.writeback import build_run_output
    from loader.ingest import load_dataset

    wipe(Writer(driver), batch=2_000)  # small transactions: nodes may carry many edges
    load_dataset(driver, data, progress=False)
    exp = export_subgraph(driver, progress=False)
    runs = []
    for s in (seed, seed + 1):
        model = BPRMF(dim=dim, epochs=5, seed=s)
        model.fit(exp.interactions)
        config = {"runId": f"bench-{data.name}-{s}", "model": model.name, "params": model.get_params(),
                  "dataset": data.name}
        runs.append(build_run_output(model, exp.idmap, config, {}, k=20, similar_k=10))
    return exp, runs


def prepare_small(driver, dim: int = 64, seed: int = 0) -> tuple[Any, list[RunOutput]]:  # type: ignore[no-untyped-def]
    """The bundled ml-latest-small, see :func:`prepare_real`."""
    from loader import read_movielens

    return prepare_real(driver, read_movielens(ROOT / "data" / "ml-latest-small.zip"), dim, seed)


def prepare_25m(driver, fraction: float, dim: int, seed: int) -> list[RunOutput]:  # type: ignore[no-untyped-def]
    """Create the ML-25M-shaped nodes (SYNTHETIC) and two random runs over a fraction."""
    n_users, n_movies = int(USERS_25M * fraction), int(MOVIES_25M * fraction)
    writer = Writer(driver)
    wipe(writer, batch=2_000)
    ensure_schema(writer)
    for label, key, n in (("User", "userId", n_users), ("Movie", "movieId", n_movies)):
        for lo in range(1, n + 1, 50_000):
            # Benchmark set-up only (labels are constants here, ids are parameters).
            driver.execute_query(
                f"UNWIND range($lo, $hi) AS id CREATE (:{label} {{{key}: id}})",
                lo=lo, hi=min(lo + 49_999, n),
            )
    idmap = IdMap(users=np.arange(1, n_users + 1, dtype=np.int64),
                  movies=np.arange(1, n_movies + 1, dtype=np.int64))
    runs = []
    for s in (seed, seed + 1):
        rng = np.random.default_rng(s)
        step = max(n_movies // 20, 1)
        items = (rng.integers(0, n_movies, size=(n_users, 1)) + np.arange(20) * step) % n_movies
        user_emb = rng.normal(size=(n_users, dim)).astype(np.float32)
        item_emb = rng.normal(size=(n_movies, dim)).astype(np.float32)
        scores = np.sort(rng.random((n_users, 20)).astype(np.float32), axis=1)[:, ::-1]
        runs.append(RunOutput(
            run_id=f"bench-25m-{s}", model="random", params={"dim": dim}, metrics={},
            dataset="synthetic-25m-shape", git_sha=None, idmap=idmap, user_emb=user_emb,
            item_emb=item_emb, rec_items=items, rec_scores=np.ascontiguousarray(scores),
        ))
    return runs


def measure(driver, runs: list[RunOutput], batch_size: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    results = []
    for i, out in enumerate(runs):
        t0 = time.perf_counter()
        summary = write_back(driver, out, batch_size=batch_size, keep_runs=1, progress=False)
        wall = time.perf_counter() - t0
        row = {
            "run": out.run_id,
            "phase": "first run (empty graph)" if i == 0 else "second run + switch + delete first",
            "users": out.idmap.num_users, "movies": out.idmap.num_movies,
            "recommended": summary.recommended, "similar": summary.similar,
            "vectors": summary.user_vectors + summary.movie_vectors,
            "rows": summary.rows, "seconds": round(wall, 2),
            "rows_per_second": round(summary.rows / wall),
            "phases": {k: round(v, 2) for k, v in summary.seconds.items()},
            "deleted_runs": summary.deleted_runs,
        }
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in row["phases"].items())
        print(f"  {row['phase']:<36} {row['rows']:>10,} rows in {wall:7.1f}s = "
              f"{row['rows_per_second']:>8,} rows/s  ({phases})", flush=True)
        results.append(row)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=["small", "25m"], nargs="+", default=["small"])
    parser.add_argument("--fraction", type=float, default=1.0, help="25m: share of users/movies")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uri", help="use this server (it is WIPED) instead of a private one")
    parser.add_argument("--user", default="neo4j")
    parser.add_argument("--password", default=os.environ.get("NEO4J_PASSWORD"))
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_average": os.getloadavg(),
                              "heap": args.heap, "pagecache": args.pagecache, "shapes": {}}
    with server(args) as settings:
        driver = connect(settings)
        try:
            for shape in args.shape:
                t0 = time.perf_counter()
                if shape == "small":
                    _, runs = prepare_small(driver, args.dim, args.seed)
                    label = "ml-latest-small (real graph, BPR-MF d=64, top-20 + SIMILAR top-10)"
                else:
                    runs = prepare_25m(driver, args.fraction, args.dim, args.seed)
                    label = (f"ML-25M shape x {args.fraction:g} (SYNTHETIC nodes, no RATED; "
                             f"random top-20, d={args.dim})")
                print(f"{label}: prepared in {time.perf_counter() - t0:.1f}s", flush=True)
                rows = measure(driver, runs, args.batch_size)
                entry: dict[str, Any] = {"label": label, "runs": rows}
                if shape == "25m":
                    full = rows[-1]["seconds"] / args.fraction
                    entry["extrapolated_full_seconds"] = round(full, 1)
                    print(f"  extrapolated to the full ML-25M shape: ~{full:.0f}s per write-back "
                          f"(goal <= 60s)")
                report["shapes"][shape if shape == "small" else f"25m@{args.fraction:g}"] = entry
        finally:
            driver.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    previous.setdefault("shapes", {}).update(report.pop("shapes"))
    previous.update(report)
    args.out.write_text(json.dumps(previous, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
