"""Load benchmark: synthetic MovieLens-shaped ratings into a real local Neo4j.

Side by side in one run, on the same server and data:

* ``reelgraph``  -- ``loader.ingest.load_dataset`` on an empty database (first load:
  CREATE path with per-batch checkpoints, i.e. resumable and idempotent);
* ``reelgraph-reload`` -- the same command again on the loaded database (MERGE path);
* ``reference`` -- the textbook batched ``UNWIND $rows MATCH .. MATCH .. MERGE`` from
  Python with one map per row (the "≈70k rows/s" approach), on the same nodes;
* ``bulk`` -- ``loader.bulk.bulk_load`` (what ``engine load`` picks for an empty local
  database): import CSVs, stop, ``neo4j-admin database import``, start, constraints,
  verify. Its rate is ratings / the whole wall time of all those steps.

* ``server bound`` -- what the server alone does: the first-load CREATE statement with
  every edge's endpoints and values computed in the server (nothing per edge is sent or
  encoded), on two sessions over lock-disjoint blocks as the loader runs. The loader
  cannot beat this with Cypher over Bolt on the same machine;
* ``--before REV`` -- ``load_dataset`` as it was at git revision ``REV``, in its own
  interpreter, on the same server and data, right after today's.

Prints RATED edges/s, the ratio to the reference, and peak memory (RSS high-water mark)
of this process and of the Neo4j JVM. The data is SYNTHETIC (loader.synthetic).

    python bench/load.py --sizes 1000000 10000000
    python bench/load.py --sizes 1000000 --before ad980fe --no-bulk
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._revision import at_revision, run_at  # noqa: E402
from engine.db import LocalServer, free_port  # noqa: E402
from engine.graphdb import Runner, connect  # noqa: E402
from engine.settings import ServerSettings  # noqa: E402
from loader import generate_synthetic  # noqa: E402
from loader.bulk import bulk_load  # noqa: E402
from loader.ingest import load_dataset, wipe  # noqa: E402

REFERENCE = """
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (m:Movie {movieId: row.movieId})
MERGE (u)-[r:RATED]->(m)
SET r.rating = row.rating, r.timestamp = row.timestamp
"""


SERVER_BOUND = """
UNWIND range($lo, $hi - 1) AS i
WITH i, $users[i % size($users)] AS uid, $movies[(i * 7919 + i / size($users)) % size($movies)] AS mid
MATCH (u) WHERE id(u) = uid
MATCH (m) WHERE id(m) = mid
CREATE (u)-[:RATED {rating: toFloat(i % 10) / 2.0 + 0.5, timestamp: 1000000000 + i}]->(m)
"""

OLD_LOAD = """
import json, sys
from engine.graphdb import Runner, connect
from engine.settings import Neo4jSettings
from loader import generate_synthetic
from loader.ingest import load_dataset, wipe
users, movies, n, batch = (int(a) for a in sys.argv[1:5])
data = generate_synthetic(users=users, movies=movies, ratings=n, seed=0)
driver = connect(Neo4jSettings.from_env())
wipe(Runner(driver))
summary = load_dataset(Runner(driver), data, batch_size=batch, progress=False)
print(json.dumps({"edges_per_s": summary.rated_per_second(), "seconds": summary.elapsed}))
"""


def server_bound(driver, n: int, batch: int) -> float:  # type: ignore[no-untyped-def]
    """Delete RATED, then CREATE ``n`` edges computed in the server, 2 sessions; edges/s."""
    from concurrent.futures import ThreadPoolExecutor

    with driver.session() as s:
        s.run("MATCH ()-[r:RATED]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 50000 ROWS").consume()
    ids = {label: [r[0] for r in driver.execute_query(query).records] for label, query in (
        ("User", "MATCH (n:User) RETURN id(n) ORDER BY id(n)"),
        ("Movie", "MATCH (n:Movie) RETURN id(n) ORDER BY id(n)"))}
    # Two lock-disjoint halves: even and odd users/movies, as the loader's parity blocks.
    halves = [(ids["User"][p::2], ids["Movie"][p::2]) for p in (0, 1)]

    def half(p: int) -> None:
        users, movies = halves[p]
        for lo in range(0, n // 2, batch):
            driver.execute_query(SERVER_BOUND, lo=lo, hi=min(lo + batch, n // 2), users=users,
                                 movies=movies)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(half, (0, 1)))
    return (n // 2) * 2 / (time.perf_counter() - t0)


def jvm_peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def self_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def shape(n: int) -> tuple[int, int]:
    """Users and movies for n ratings, MovieLens-25M-like proportions (25M: 162k x 59k)."""
    users = max(100, int(162_541 * n / 25_000_095))
    movies = max(200, int(59_047 * (n / 25_000_095) ** 0.6))
    return users, movies


def reference_load(driver, data, batch: int) -> float:  # type: ignore[no-untyped-def]
    """Delete RATED, then reload them the textbook way; returns edges/s."""
    with driver.session() as s:
        s.run("MATCH ()-[r:RATED]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 50000 ROWS").consume()
    ratings = data.ratings
    t0 = time.perf_counter()
    for lo in range(0, len(ratings), batch):
        chunk = ratings.iloc[lo : lo + batch]
        rows = [
            {"userId": int(u), "movieId": int(m), "rating": float(r), "timestamp": int(t)}
            for u, m, r, t in zip(chunk.userId, chunk.movieId, chunk.rating, chunk.timestamp,
                                  strict=True)
        ]
        driver.execute_query(REFERENCE, rows=rows)
    return len(ratings) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--batch-size", type=int, default=50_000)
    ap.add_argument("--reference-max", type=int, default=2_000_000,
                    help="run the reference on at most this many ratings (it is slow)")
    ap.add_argument("--before", metavar="REV", help="also load with load_dataset as it was at REV")
    ap.add_argument("--no-bulk", action="store_true", help="skip the bulk (neo4j-admin import) path")
    ap.add_argument("--heap", default="4g")
    ap.add_argument("--pagecache", default="4g")
    ap.add_argument("--out", type=Path, help="results file [bench/results/load.json; with "
                    "--no-bulk, load_online.json]")
    args = ap.parse_args()
    args.out = args.out or ROOT / "bench" / "results" / ("load_online.json" if args.no_bulk else "load.json")

    results = []
    with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
        server = LocalServer(ServerSettings(Path(tmp), free_port(), free_port(), args.heap,
                                            args.pagecache))
        t0 = time.perf_counter()
        server.start(timeout=300)
        print(f"Neo4j started in {time.perf_counter() - t0:.1f}s (heap {args.heap}, "
              f"page cache {args.pagecache})", flush=True)
        pid = server.running_pid()
        assert pid is not None
        driver = connect(server.client_settings())
        try:
            for n in args.sizes:
                users, movies = shape(n)
                t = time.perf_counter()
                data = generate_synthetic(users=users, movies=movies, ratings=n, seed=0)
                gen_s = time.perf_counter() - t
                wipe(Runner(driver))
                first = load_dataset(Runner(driver), data, batch_size=args.batch_size, progress=False)
                second = load_dataset(Runner(driver), data, batch_size=args.batch_size, progress=False)
                ref = None
                if n <= args.reference_max:
                    ref = reference_load(driver, data, 10_000)
                bound = server_bound(driver, n, args.batch_size)
                before = None
                if args.before:
                    client = server.client_settings()
                    env = {"NEO4J_URI": client.uri, "NEO4J_USER": client.user,
                           "NEO4J_PASSWORD": client.password or ""}
                    with at_revision(args.before) as tree:
                        before = run_at(tree, OLD_LOAD, env,
                                        args=[str(users), str(movies), str(n), str(args.batch_size)])
                    wipe(Runner(driver))  # and today's once more, after REV's
                    again = load_dataset(Runner(driver), data, batch_size=args.batch_size, progress=False)
                neo4j_rss = jvm_peak_rss_mib(pid)
                bulk = None
                if not args.no_bulk:
                    driver.close()
                    bulk = bulk_load(server, data, progress=False)  # overwrites the database
                    pid = server.running_pid()
                    assert pid is not None
                    driver = connect(server.client_settings())
                row = {
                    "ratings": n, "users": users, "movies": movies, "synthetic": True,
                    "generate_s": round(gen_s, 1),
                    "reelgraph_edges_per_s": round(first.rated_per_second()),
                    "reelgraph_total_s": round(first.elapsed, 1),
                    "reload_edges_per_s": round(second.rated_per_second()),
                    "reference_edges_per_s": None if ref is None else round(ref),
                    "server_bound_edges_per_s": round(bound),
                    "bulk_edges_per_s": None if bulk is None else round(bulk.rated_per_second()),
                    "bulk_seconds": None if bulk is None else {
                        k: round(v, 1) for k, v in bulk.seconds.items()},
                    "python_peak_rss_mib": round(self_peak_rss_mib()),
                    "neo4j_peak_rss_mib": round(neo4j_rss),
                    "importer_peak_rss_mib": None if bulk is None else round(
                        bulk.importer_peak_rss_mib or 0),
                }
                if before is not None:
                    row[f"before_{args.before}_edges_per_s"] = round(before["edges_per_s"])
                    row["reelgraph_again_edges_per_s"] = round(again.rated_per_second())
                results.append(row)
                print(json.dumps(row), flush=True)
        finally:
            driver.close()
            server.stop()

    for r in results:
        print(f"{r['ratings']:,} ratings: first load {r['reelgraph_edges_per_s']:,} edges/s = "
              f"{r['reelgraph_edges_per_s'] / r['server_bound_edges_per_s']:.2f} of the server bound "
              f"({r['server_bound_edges_per_s']:,} edges/s: CREATE with nothing sent per edge)")
        if args.before:
            old_rate = r[f"before_{args.before}_edges_per_s"]
            mean_now = (r["reelgraph_edges_per_s"] + r["reelgraph_again_edges_per_s"]) / 2
            print(f"  today {r['reelgraph_edges_per_s']:,} and {r['reelgraph_again_edges_per_s']:,} "
                  f"edges/s, at {args.before} {old_rate:,}: x{mean_now / old_rate:.2f}")
    if args.no_bulk:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"cpu_count": os.cpu_count(), "results": results}, indent=2))
        return
    print("\nRATED edges/s into a local Neo4j 5.26 (SYNTHETIC data, one run, same server)")
    print(f"{'ratings':>11} {'first load':>11} {'reload':>9} {'reference':>10} {'x ref':>6}"
          f" {'x 70k pub.':>10} {'bulk':>9} {'bulk x ref':>10} {'py MiB':>7} {'neo4j MiB':>9}")
    for r in results:
        ref = r["reference_edges_per_s"]
        ratio = f"{r['reelgraph_edges_per_s'] / ref:.2f}" if ref else "-"
        print(f"{r['ratings']:>11,} {r['reelgraph_edges_per_s']:>11,} {r['reload_edges_per_s']:>9,}"
              f" {ref or '-':>10} {ratio:>6} {r['reelgraph_edges_per_s'] / 70_000:>10.2f}"
              f" {r['bulk_edges_per_s']:>9,} {r['bulk_edges_per_s'] / (ref or 70_000):>10.2f}"
              f" {r['python_peak_rss_mib']:>7} {r['neo4j_peak_rss_mib']:>9}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"cpu_count": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
