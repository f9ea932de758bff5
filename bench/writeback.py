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

At the 25m shape the graph is exported first (timed: edges/s at that size), and the
write-back is handed what the export saw (``known``), as ``engine train`` does, so the
already-rated check runs in numpy (:mod:`engine.writeback.rated`).

``--before REV`` then writes the same two runs again with ``write_back`` as it was at git
revision ``REV`` (its own interpreter, same server and graph), alternating with today's,
and prints today's / REV's seconds per phase.

    python bench/writeback.py --shape ml-latest-small ml-100k
    python bench/writeback.py --shape 25m --fraction 0.1
    python bench/writeback.py --shape 25m --fraction 0.2 --writers 1 2
    python bench/writeback.py --shape 25m --before ad980fe
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

from bench._revision import at_revision, run_at  # noqa: E402
from engine.data import IdMap  # noqa: E402
from engine.db import LocalServer, free_port  # noqa: E402
from engine.graphdb import Runner, connect  # noqa: E402
from engine.graphdb.writeback import write_back  # noqa: E402
from engine.settings import Neo4jSettings, ServerSettings  # noqa: E402
from engine.writeback import RunOutput, save_run_output  # noqa: E402
from engine.writeback.rated import KnownRatings  # noqa: E402
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


def export_25m(driver) -> tuple[Any, KnownRatings, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The whole graph exported as ``engine train`` does, and what the export saw of its ratings."""
    from engine.graphdb.export import export_subgraph
    from engine.graphdb.live import now
    from engine.graphdb.recommended import unstamped_ratings

    as_of, unstamped = now(Runner(driver)), unstamped_ratings(Runner(driver))
    t0 = time.perf_counter()
    exp = export_subgraph(driver, progress=False)
    wall = time.perf_counter() - t0
    known = KnownRatings.from_interactions(exp.interactions, exp.idmap, as_of, unstamped)
    stats = {"edges": len(exp.interactions), "seconds": round(wall, 1),
             "edges_per_second": round(exp.stats["edges_per_second"])}
    print(f"  export: {stats['edges']:,} RATED edges in {wall:.1f}s "
          f"({stats['edges_per_second']:,} edges/s for the edges)", flush=True)
    return exp, known, stats


def runs_25m(idmap: IdMap, dim: int, seed: int) -> list[RunOutput]:
    """Two random top-20 runs with d=``dim`` vectors over every exported user and movie."""
    n_users, n_movies = idmap.num_users, idmap.num_movies
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


OLD_WRITEBACK = """
import json, sys, time
from pathlib import Path
from engine.graphdb import connect
from engine.graphdb.writeback import write_back
from engine.settings import Neo4jSettings
from engine.writeback import load_run_output
out = load_run_output(Path(sys.argv[1]))
driver = connect(Neo4jSettings.from_env())
t0 = time.perf_counter()
summary = write_back(driver, out, batch_size=int(sys.argv[2]), keep_runs=1, progress=False)
wall = time.perf_counter() - t0
print(json.dumps({"rows": summary.rows, "seconds": wall, "recommended": summary.recommended,
                  "phases": summary.seconds, "deleted_runs": summary.deleted_runs}))
"""


def measure_before(settings: Neo4jSettings, tree: Path, runs: list[RunOutput], batch_size: int,
                   rev: str) -> list[dict[str, Any]]:
    """The same runs (renamed) written by ``write_back`` as it was at ``rev``."""
    env = {"NEO4J_URI": settings.uri, "NEO4J_USER": settings.user,
           "NEO4J_PASSWORD": settings.password or ""}
    results = []
    with tempfile.TemporaryDirectory(prefix="rg-bench-runs-") as tmp:
        for i, out in enumerate(runs):
            folder = save_run_output(replace(out, run_id=f"{out.run_id}-{rev}"), Path(tmp) / str(i))
            got = run_at(tree, OLD_WRITEBACK, env, args=[str(folder), str(batch_size)])
            row = {"run": f"{out.run_id}-{rev}", "revision": rev,
                   "phase": "second run + switch + delete previous",
                   "recommended": got["recommended"], "rows": got["rows"],
                   "seconds": round(got["seconds"], 2),
                   "rows_per_second": round(got["rows"] / got["seconds"]),
                   "phases": {k: round(v, 2) for k, v in got["phases"].items()},
                   "deleted_runs": got["deleted_runs"]}
            phases = ", ".join(f"{k} {v:.1f}s" for k, v in row["phases"].items())
            print(f"  {'[' + rev + '] ' + row['phase']:<48} {row['rows']:>10,} rows in "
                  f"{row['seconds']:7.1f}s  ({phases})", flush=True)
            results.append(row)
    return results


def _print_before(now: list[dict[str, Any]], before: list[dict[str, Any]], rev: str) -> None:
    """Today's / REV's seconds, steady state (a second run that switches and deletes)."""
    a = [r for r in now if r["deleted_runs"]]
    b = [r for r in before if r["deleted_runs"]]
    if not a or not b:
        return
    def mean(rows: list[dict[str, Any]], key: str) -> float:
        return sum(r["phases"].get(key, 0.0) if key != "total" else r["seconds"] for r in rows) / len(rows)
    until = ("prepare", "vectors", "edges", "index", "switch")
    def to_switch(rows: list[dict[str, Any]]) -> float:
        return sum(sum(r["phases"].get(k, 0.0) for k in until) for r in rows) / len(rows)
    print(f"  steady state, today vs {rev} (seconds; ratio = {rev} / today):")
    for key in ("vectors", "edges", "prune", "total"):
        x, y = mean(a, key), mean(b, key)
        print(f"    {key:<14} {x:7.1f}  vs {y:7.1f}   x{y / max(x, 1e-9):.2f}")
    print(f"    {'until switch':<14} {to_switch(a):7.1f}  vs {to_switch(b):7.1f}   "
          f"x{to_switch(b) / max(to_switch(a), 1e-9):.2f}   (goal <= 60s)", flush=True)


def measure(driver, runs: list[RunOutput], batch_size: int,  # type: ignore[no-untyped-def]
            writers: int | None = None, known: KnownRatings | None = None,
            suffix: str = "") -> list[dict[str, Any]]:
    from engine.graphdb import runs as runs_module
    from engine.graphdb import writeback as writeback_module

    if writers is not None:  # the same constant in both modules (writeback imports it)
        runs_module.WRITERS = writeback_module.WRITERS = writers  # type: ignore[misc]
        runs = [replace(out, run_id=f"{out.run_id}-w{writers}") for out in runs]
    runs = [replace(out, run_id=out.run_id + suffix) for out in runs]
    results = []
    for out in runs:
        t0 = time.perf_counter()
        summary = write_back(driver, out, batch_size=batch_size, keep_runs=1, progress=False,
                             known=known)
        wall = time.perf_counter() - t0
        row = {
            "run": out.run_id,
            "phase": ("second run + switch + delete previous" if summary.deleted_runs
                      else "first run (empty graph)"),
            "users": out.idmap.num_users, "movies": out.idmap.num_movies,
            "recommended": summary.recommended, "similar": summary.similar,
            "vectors": summary.user_vectors + summary.movie_vectors,
            "rows": summary.rows, "seconds": round(wall, 2),
            "rows_per_second": round(summary.rows / wall),
            "phases": {k: round(v, 2) for k, v in summary.seconds.items()},
            "deleted_runs": summary.deleted_runs, "writers": writers,
            "rated_check": summary.rated_check,
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
    parser.add_argument("--before", metavar="REV",
                        help="also write the runs with write_back as it was at git revision REV")
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
            settings = client_settings(args, local)
            driver = connect(settings)
            known, export_stats, before_rows = None, None, []
            try:
                if shape == "25m":
                    exp, known, export_stats = export_25m(driver)
                    runs = runs_25m(exp.idmap, args.dim, args.seed)
                    del exp
                    label = (f"ML-25M shape x {args.fraction:g} (SYNTHETIC: users, movies, RATED; "
                             f"random top-20, d={args.dim}, no SIMILAR)")
                else:
                    exp, runs = prepare_real(driver, dataset(shape), args.dim, args.seed)
                    label = f"{shape} (real graph, BPR-MF d={args.dim}, top-20 + SIMILAR top-10)"
                print(f"{label}: prepared in {time.perf_counter() - t0:.1f}s", flush=True)
                if args.writers:
                    rows = [r for w in args.writers for r in measure(driver, runs, args.batch_size, w,
                                                                     known)]
                    _print_ratios(rows, args.writers)
                else:
                    rows = measure(driver, runs, args.batch_size, known=known)
                if args.before:  # alternate: REV's two runs, then today's again, same graph
                    with at_revision(args.before) as tree:
                        before_rows = measure_before(settings, tree, runs, args.batch_size, args.before)
                    rows += measure(driver, runs, args.batch_size, known=known, suffix="-again")
                    _print_before(rows, before_rows, args.before)
            finally:
                driver.close()
            entry: dict[str, Any] = {"label": label, "runs": rows}
            if export_stats:
                entry["export"] = export_stats
            if before_rows:
                entry["before"] = {"revision": args.before, "runs": before_rows}
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
