"""Write-back benchmark: RunOutput -> Neo4j (edges + vectors + index + switch), rows/s.

Two shapes, each on a private local Neo4j (temporary data directory) unless ``--uri``:

* ``small`` -- the bundled ml-latest-small loaded for real (610 users, 9,742 movies,
  100k RATED), top-20 from a BPR-MF (d=64) fitted on it, with SIMILAR top-10;
* ``ml-100k`` -- ML-100K from ../shared, loaded for real, the same two BPR-MF runs;
* ``25m``   -- ML-25M shape, SYNTHETIC: 162,541 users, 59,047 movies and 25M RATED edges
  (``loader.synthetic``, bulk-imported), top-20 per user and d=64 vectors for every user
  and movie from a random generator (the already-rated check runs against the real
  RATED edges). ``--fraction`` scales users, ratings (and movies^0.6) and extrapolates.

Each shape writes two runs: the first into an empty graph (CREATE path), the second
beside it and then switches and deletes the first (``keep_runs=1``), the steady state
of retraining. Prints per-phase seconds, rows/s (rows = edges + vectors) and writes
``bench/results/writeback.json``.

``--writers 1 2`` repeats the two runs once per number of concurrent edge-writing (and
deleting) transactions, on the same graph in the same run, and prints the ratio of the
edges and prune phases to the first setting's.

    python bench/writeback.py --shape ml-latest-small ml-100k
    python bench/writeback.py --shape 25m --fraction 0.1
    python bench/writeback.py --shape 25m --fraction 0.2 --writers 1 2
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
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.data import IdMap  # noqa: E402
from engine.db import LocalServer, free_port  # noqa: E402
from engine.graphdb import Runner, connect  # noqa: E402
from engine.graphdb.writeback import write_back  # noqa: E402
from engine.settings import Neo4jSettings, ServerSettings  # noqa: E402
from engine.writeback import RunOutput  # noqa: E402
from loader import bundled_dataset  # noqa: E402
from loader.bulk import bulk_load  # noqa: E402
from loader.ingest import wipe  # noqa: E402

USERS_25M, MOVIES_25M, RATINGS_25M = 162_541, 59_047, 25_000_095
RESULTS = ROOT / "bench" / "results" / "writeback.json"


def add_server_args(parser: argparse.ArgumentParser) -> None:
    """--uri/--user (an external server, WIPED; password from NEO4J_PASSWORD) or --heap/--pagecache."""
    parser.add_argument("--uri", help="use this server (it is WIPED) instead of a private one")
    parser.add_argument("--user", default="neo4j")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")


@contextmanager
def local_server(args: argparse.Namespace) -> Iterator[LocalServer | None]:
    """A private Neo4j for the benchmark (None: use the one named by --uri)."""
    if args.uri:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="reelgraph-bench-") as tmp:
        local = LocalServer(ServerSettings(Path(tmp), free_port(), free_port(),
                                           heap=args.heap, pagecache=args.pagecache,
                                           plugins=tuple(getattr(args, "plugins", ()))))
        local.start(timeout=300)
        try:
            yield local
        finally:
            local.stop()


def client_settings(args: argparse.Namespace, local: LocalServer | None) -> Neo4jSettings:
    if local is not None:
        return local.client_settings()
    return Neo4jSettings(uri=args.uri, user=args.user, password=os.environ.get("NEO4J_PASSWORD"))


@contextmanager
def server(args: argparse.Namespace) -> Iterator[Neo4jSettings]:
    """Settings of a private Neo4j for the benchmark (or of the one named by --uri)."""
    with local_server(args) as local:
        yield client_settings(args, local)


SHARED = Path(os.environ.get("REELGRAPH_SHARED_DATA", ROOT.parent / "shared" / "data" / "movielens"))


def dataset(name: str):  # type: ignore[no-untyped-def]
    """The MovieLensData of a benchmark graph: a real release, or SYNTHETIC 1M ratings."""
    from loader import generate_synthetic, read_movielens

    if name == "ml-latest-small":
        return read_movielens(bundled_dataset())
    if name == "ml-100k":
        return read_movielens(SHARED / "ml-100k.zip")
    if name == "synthetic-1m":
        return generate_synthetic(users=6_501, movies=8_559, ratings=1_000_000, seed=0)
    raise ValueError(f"unknown benchmark graph {name!r}")


def prepare_real(driver, data, dim: int = 64, seed: int = 0) -> tuple[Any, list[RunOutput]]:  # type: ignore[no-untyped-def]
    """Load ``data`` for real; two BPR-MF runs (seeds) with top-20 and SIMILAR top-10."""
    from engine.graphdb.export import export_subgraph
    from engine.models.bpr_mf import BPRMF
    from engine.writeback import build_run_output
    from loader.ingest import load_dataset

    wipe(Runner(driver), batch=2_000)  # small transactions: nodes may carry many edges
    load_dataset(Runner(driver), data, progress=False)
    exp = export_subgraph(driver, progress=False)
    runs = []
    for s in (seed, seed + 1):
        model = BPRMF(dim=dim, epochs=5, seed=s)
        model.fit(exp.interactions)
        config = {"runId": f"bench-{data.name}-{s}", "model": model.name, "params": model.get_params(),
                  "dataset": data.name}
        runs.append(build_run_output(model, exp.idmap, config, {}, k=20, similar_k=10))
    return exp, runs


def synthetic_25m(fraction: float, seed: int):  # type: ignore[no-untyped-def]
    """SYNTHETIC MovieLens-25M-shaped data (all of it at fraction 1)."""
    from loader import generate_synthetic

    return generate_synthetic(users=int(USERS_25M * fraction), movies=int(MOVIES_25M * fraction ** 0.6),
                              ratings=int(RATINGS_25M * fraction), seed=seed)


def runs_25m(driver, dim: int, seed: int) -> list[RunOutput]:  # type: ignore[no-untyped-def]
    """Two random top-20 runs with d=``dim`` vectors over every user and movie in the graph."""
    users = np.array(sorted(r["id"] for r in driver.execute_query(
        "MATCH (u:User) RETURN u.userId AS id").records), dtype=np.int64)
    movies = np.array(sorted(r["id"] for r in driver.execute_query(
        "MATCH (m:Movie) RETURN m.movieId AS id").records), dtype=np.int64)
    idmap = IdMap(users=users, movies=movies)
    n_users, n_movies = len(users), len(movies)
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
            dataset="synthetic", git_sha=None, idmap=idmap, user_emb=user_emb,
            item_emb=item_emb, rec_items=items, rec_scores=np.ascontiguousarray(scores),
        ))
    return runs


def measure(driver, runs: list[RunOutput], batch_size: int,  # type: ignore[no-untyped-def]
            writers: int | None = None) -> list[dict[str, Any]]:
    from engine.graphdb import runs as runs_module
    from engine.graphdb import writeback as writeback_module

    if writers is not None:  # the same constant in both modules (writeback imports it)
        runs_module.WRITERS = writeback_module.WRITERS = writers  # type: ignore[misc]
        runs = [replace(out, run_id=f"{out.run_id}-w{writers}") for out in runs]
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
            "deleted_runs": summary.deleted_runs, "writers": writers,
        }
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in row["phases"].items())
        label = row["phase"] if writers is None else f"{row['phase']} [{writers} writers]"
        print(f"  {label:<48} {row['rows']:>10,} rows in {wall:7.1f}s = "
              f"{row['rows_per_second']:>8,} rows/s  ({phases})", flush=True)
        results.append(row)
    return results


def _print_ratios(rows: list[dict[str, Any]], writers: list[int]) -> None:
    """Mean edges and prune phase seconds of each writers setting, as a ratio to the first's."""
    def phase(w: int, name: str) -> float:  # mean over the write-backs that ran the phase
        times = [r["phases"].get(name, 0.0) for r in rows if r["writers"] == w]
        times = [t for t in times if t > 0.05] or [0.0]
        return sum(times) / len(times)

    for w in writers[1:]:
        for name in ("edges", "prune"):
            base, now = phase(writers[0], name), phase(w, name)
            print(f"  {name}: {writers[0]} writer(s) {base:.1f}s, {w} writers {now:.1f}s: "
                  f"x{base / max(now, 1e-9):.2f} faster", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=["ml-latest-small", "ml-100k", "25m"], nargs="+",
                        default=["ml-latest-small"])
    parser.add_argument("--fraction", type=float, default=1.0, help="25m: share of users/movies")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--writers", type=int, nargs="+",
                        help="compare these numbers of concurrent edge transactions")
    add_server_args(parser)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_average": os.getloadavg(),
                              "heap": args.heap, "pagecache": args.pagecache, "shapes": {}}
    with local_server(args) as local:
        for shape in args.shape:
            t0 = time.perf_counter()
            if shape == "25m":
                if local is None:
                    raise SystemExit("--shape 25m bulk-imports its RATED edges: run it without --uri")
                data = synthetic_25m(args.fraction, args.seed)
                bulk_load(local, data, progress=False)  # restarts the server: connect after
                del data
            driver = connect(client_settings(args, local))
            try:
                if shape == "25m":
                    runs = runs_25m(driver, args.dim, args.seed)
                    label = (f"ML-25M shape x {args.fraction:g} (SYNTHETIC: users, movies, RATED; "
                             f"random top-20, d={args.dim}, no SIMILAR)")
                else:
                    _, runs = prepare_real(driver, dataset(shape), args.dim, args.seed)
                    label = f"{shape} (real graph, BPR-MF d={args.dim}, top-20 + SIMILAR top-10)"
                print(f"{label}: prepared in {time.perf_counter() - t0:.1f}s", flush=True)
                if args.writers:
                    rows = [r for w in args.writers for r in measure(driver, runs, args.batch_size, w)]
                    _print_ratios(rows, args.writers)
                else:
                    rows = measure(driver, runs, args.batch_size)
            finally:
                driver.close()
            entry: dict[str, Any] = {"label": label, "runs": rows}
            if shape == "25m":
                full = rows[-1]["seconds"] / args.fraction
                entry["extrapolated_full_seconds"] = round(full, 1)
                print(f"  {'' if args.fraction == 1 else 'extrapolated to '}the full ML-25M shape: "
                      f"~{full:.0f}s per write-back (goal <= 60s)")
            report["shapes"][shape if shape != "25m" else f"25m@{args.fraction:g}"] = entry
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    previous.setdefault("shapes", {}).update(report.pop("shapes"))
    previous.update(report)
    args.out.write_text(json.dumps(previous, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
